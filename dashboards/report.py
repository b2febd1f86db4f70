"""The session report: one self-contained HTML file that works offline and reads well on a phone.

plotly.js is embedded once; each chart is stored as JSON and drawn when it scrolls into view.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path
from string import Template

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from analysis.display import fmt_num
from analysis.lifter_labels import label_text
from analysis.session import SessionAnalysis
from dashboards.history import has_trend, history_figure
from dashboards.rep_cards import rep_cards, rep_cards_html
from dashboards.rep_charts import rep_lumbar_figure, rhythm_figure, stick_figure
from dashboards.set_summary import set_summary_figure
from dashboards.style import PLOT_CONFIG, palette_css
from dashboards.summary import session_summary, set_flagged
from dashboards.timeline import timeline_figure

#: The page; ``$name`` fields are filled by `render_report`.
PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="imuform">
<title>$title</title>
<style>
$css
</style>
<script>
$plotlyjs
</script>
</head>
<body>
<main>
<header class="top">
<h1>$title</h1>
<div class="meta">$subtitle</div>
</header>
<section class="card summary" id="summary">
$summary
</section>
$nav
$sections
<footer>Made by imuform. Angles in degrees from your calibrated standing neutral: + is flexion (rounding), − is extension (arching). This file works offline.</footer>
</main>
<script type="application/json" id="plot-config">$config</script>
$data
<script>
$js
</script>
</body>
</html>
""")

#: Per-set charts, in page order: key suffix -> builder.
SET_CHARTS = {
    "summary": set_summary_figure,
    "lumbar": rep_lumbar_figure,
    "rhythm": rhythm_figure,
    "stick": stick_figure,
}


def set_figures(analysis: SessionAnalysis, set_index: int) -> dict[str, go.Figure]:
    """The charts of one set, keyed ``summary``, ``lumbar``, ``rhythm`` and ``stick``."""
    return {name: build(analysis, set_index) for name, build in SET_CHARTS.items()}


def report_figures(analysis: SessionAnalysis, history: pd.DataFrame | None = None) -> dict[str, go.Figure]:
    """Every chart of the report, keyed ``timeline``, ``set<N>_<chart>`` and ``history``.

    Parameters
    ----------
    analysis
        The analysed session.
    history
        A `dashboards.history.history_table` to chart at the end (when it spans two sessions or more),
        or ``None``.

    Returns
    -------
    dict
        Figures in page order; the keys double as file names for static exports.
    """
    out = {"timeline": timeline_figure(analysis)}
    for set_index in analysis.sets["index"].astype(int):
        for name, fig in set_figures(analysis, set_index).items():
            out[f"set{set_index}_{name}"] = fig
    if history is not None and has_trend(history):
        out["history"] = history_figure(history, analysis.limits)
    return out


def summary_html(analysis: SessionAnalysis) -> str:
    """The plain-language summary as HTML: headline, one bullet per set, the limits used and the sync."""
    from analysis.timebase import describe_sync  # scipy behind it: loaded when a report is drawn, not at import

    lines = session_summary(analysis)
    items = []
    for row, text in zip(analysis.sets.itertuples(), lines[1:]):
        items.append(
            f"<li class='{'flagged' if set_flagged(analysis, row.index) else 'clean'}'>{html.escape(text)}</li>"
        )
    limits = analysis.limits
    return (
        f"<p class='headline'>{html.escape(lines[0])}</p>"
        + (f"<ul>{''.join(items)}</ul>" if items else "")
        + f"<div class='limits'>Your limits ({html.escape(limits.profile.replace('_', ' '))}): flexion "
        f"{fmt_num(limits.flexion_limit_deg)}°, extension {fmt_num(limits.extension_limit_deg)}° from neutral.</div>"
        + f"<div class='limits sync'>{html.escape(describe_sync(analysis.sync))}</div>"
    )


def _plot_div(key: str, fig: go.Figure) -> tuple[str, str]:
    """A placeholder div sized like the chart, and the chart's JSON in a script tag."""
    height_px = fig.layout.height or 340
    div = f"<div class='card'><div class='plot' id='plot-{key}' style='min-height:{height_px}px'></div></div>"
    # "</" inside a script element would end it early
    data = pio.to_json(fig, validate=False).replace("</", "<\\/")
    return div, f"<script type='application/json' id='plot-{key}-data'>{data}</script>"


def set_title(analysis: SessionAnalysis, set_index: int) -> str:
    """ "Set 2: deadlift, 8 reps", and the lifter's own label when they gave one (``· named by you · 140 kg``)."""
    row = analysis.sets[analysis.sets["index"] == set_index].iloc[0]
    n_reps = len(analysis.reps_of(set_index))
    title = f"Set {set_index}: {str(row['exercise']).replace('_', ' ')}, {n_reps} rep{'s' if n_reps != 1 else ''}"
    label = label_text(row)
    return f"{title} · {label}" if label else title


def set_section(analysis: SessionAnalysis, set_index: int, divs: dict[str, str]) -> str:
    """One set's part of the page: its heading, rep-by-rep chart, the three rep charts and a card per rep."""
    cards = rep_cards(analysis, set_index)
    return (
        f"<h2 id='set{set_index}'>{html.escape(set_title(analysis, set_index))}</h2>"
        + divs[f"set{set_index}_summary"]
        + "<div class='grid'>"
        + "".join(divs.get(f"set{set_index}_{name}", "") for name in ("lumbar", "rhythm", "stick", "reference"))
        + "</div>"
        + (f"<h3>Set {set_index}, rep by rep</h3>{rep_cards_html(cards)}" if cards else "")
    )


def nav_html(analysis: SessionAnalysis, history: bool) -> str:
    """Links to each set (and the history), big enough to tap on a phone."""
    links = [
        f"<a href='#set{s.index}' class='{'flagged' if set_flagged(analysis, s.index) else 'clean'}'>Set {s.index}</a>"
        for s in analysis.sets.itertuples()
    ]
    if history:
        links.append("<a href='#history'>History</a>")
    return f"<nav class='jump'>{''.join(links)}</nav>" if links else ""


def render_report(
    analysis: SessionAnalysis,
    *,
    title: str = "imuform session report",
    subtitle: str = "",
    history: pd.DataFrame | None = None,
    figures: dict[str, go.Figure] | None = None,
) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    analysis
        The analysed session.
    title
        Page title and heading.
    subtitle
        A line under the heading (date, session id, sensors).
    history
        A `dashboards.history.history_table` to chart at the end, or ``None``.
    figures
        The charts from `report_figures`, when the caller already built them (e.g. for PNG export).

    Returns
    -------
    str
        Self-contained HTML: plotly.js, styles and chart data inline, no network access needed.
    """
    figures = figures if figures is not None else report_figures(analysis, history)
    divs, data = {}, []
    for key, fig in figures.items():
        divs[key], blob = _plot_div(key, fig)
        data.append(blob)

    sections = [divs["timeline"]]
    sections += [set_section(analysis, int(s.index), divs) for s in analysis.sets.itertuples()]
    if "history" in divs:
        sections.append("<h2 id='history'>History</h2>" + divs["history"])

    here = files("dashboards")
    return PAGE.substitute(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        css=palette_css() + "\n" + here.joinpath("page.css").read_text(encoding="utf-8"),
        plotlyjs=get_plotlyjs(),
        summary=summary_html(analysis),
        nav=nav_html(analysis, history="history" in divs),
        sections="\n".join(sections),
        config=json.dumps(PLOT_CONFIG),
        data="\n".join(data),
        js=here.joinpath("report.js").read_text(encoding="utf-8"),
    )


def write_report(path: str | Path, analysis: SessionAnalysis, **kwargs) -> Path:
    """Render the report (`render_report`, same keyword arguments) and write it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(analysis, **kwargs), encoding="utf-8")
    return path


def export_pngs(
    figures: dict[str, go.Figure], directory: str | Path, width_px: int = 1000, scale: float = 2.0
) -> list[Path]:
    """Write each figure as ``<key>.png`` (needs kaleido and a Chrome or Chromium).

    Parameters
    ----------
    figures
        Figures keyed by file stem (see `report_figures`).
    directory
        Output directory, created when missing.
    width_px, scale
        Image width in CSS pixels and the pixel ratio.

    Returns
    -------
    list of Path
        The files written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{key}.png" for key in figures]
    pio.write_images(
        list(figures.values()),
        paths,
        format="png",
        width=width_px,
        height=[fig.layout.height or 340 for fig in figures.values()],
        scale=scale,
    )
    return paths
