"""The progress page: where a lifter's form breaks as the load grows, how it changed over the weeks, and their
range of motion. One offline HTML page (the report's look and lazy chart drawing), readable on a phone.

Inputs are `analysis.progress`'s: per exercise an `ExerciseProgress`, the `SetRecord` of every loaded set and the
`RomProgress`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from analysis.display import fmt_num
from analysis.progress import DEFAULT_PROGRESS_CONFIG, ExerciseProgress, RomProgress, SetRecord, week_number
from dashboards.report import PAGE, _plot_div
from dashboards.style import (
    CLEAN_COLOR,
    FLEXION_COLOR,
    LUMBAR_COLOR,
    PELVIS_COLOR,
    PLOT_CONFIG,
    base_layout,
    palette_css,
)

#: Chart height on the page, px (two rows of panels share it where a chart has two).
CHART_HEIGHT_PX = 360
#: Matched loads drawn week by week: those with the most weeks (heavier first on ties); more lines would
#: tangle on a phone.
MAX_TREND_LOADS = 3


def _broke_at_load(r: SetRecord, broke_by_rep: int) -> bool:
    return r.broke_at_rep is not None and r.broke_at_rep <= broke_by_rep


def load_figure(
    progress: ExerciseProgress,
    records: Sequence[SetRecord],
    broke_by_rep: int = DEFAULT_PROGRESS_CONFIG.break_by_rep,
) -> go.Figure:
    """Peak lumbar flexion and lumbar share of every set against its load; the breaking load as a line.

    A set is marked broken when form broke by rep ``broke_by_rep`` (`analysis.progress.ProgressConfig`).
    """
    from plotly.subplots import make_subplots

    sets = [r for r in records if r.exercise == progress.exercise]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for broke, name, color in ((False, "form held", CLEAN_COLOR), (True, "form broke early in the set", FLEXION_COLOR)):
        group = [r for r in sets if _broke_at_load(r, broke_by_rep) == broke]
        text = [f"{r.date:%d %b}: {fmt_num(r.load_kg, 1)} kg, set {r.set_index}" for r in group]
        for row, values in ((1, [r.peak_lumbar_flexion_deg for r in group]), (2, [r.lumbar_share for r in group])):
            fig.add_trace(
                go.Scatter(
                    x=[r.load_kg for r in group],
                    y=values,
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    marker=dict(color=color, size=8, opacity=0.8),
                    text=text,
                    hovertemplate="%{text}<br>%{y:.1f}<extra></extra>"
                    if row == 1
                    else "%{text}<br>%{y:.2f}<extra></extra>",
                ),
                row=row,
                col=1,
            )
    load = progress.breaking_load.load_kg
    if load is not None:
        for row in (1, 2):
            # the label on the line, not in the title: a title that long is cut off on a phone
            label = {"annotation_text": f"breaks {fmt_num(load, 1)} kg", "annotation_position": "top left"}
            fig.add_vline(
                x=load,
                line=dict(color=FLEXION_COLOR, dash="dash", width=1.5),
                row=row,
                col=1,
                **(label if row == 1 else {}),
            )
    title = f"{progress.exercise.replace('_', ' ').capitalize()}: form against load"
    fig.update_layout(**base_layout(title, CHART_HEIGHT_PX + 80))
    fig.update_yaxes(title_text="peak flexion °", row=1, col=1)
    fig.update_yaxes(title_text="lumbar share", row=2, col=1)
    fig.update_xaxes(title_text="load kg", row=2, col=1)
    return fig


def trend_figure(progress: ExerciseProgress) -> go.Figure:
    """Weekly peak lumbar flexion at the matched loads with the most weeks (`MAX_TREND_LOADS`): the same weight,
    week after week."""
    fig = go.Figure()
    shown = sorted(progress.trends, key=lambda t: (len(t.weeks), t.load_kg), reverse=True)[:MAX_TREND_LOADS]
    for trend in sorted(shown, key=lambda t: t.load_kg):
        fig.add_trace(
            go.Scatter(
                x=list(trend.weeks),
                y=list(trend.peak_lumbar_flexion_deg),
                mode="lines+markers",
                name=f"{fmt_num(trend.load_kg, 1)} kg ({_signed_slope(trend.flexion_slope_deg_per_week)}°/week)",
            )
        )
    fig.update_layout(
        **base_layout(f"{progress.exercise.replace('_', ' ').capitalize()}: same load, week by week", CHART_HEIGHT_PX)
    )
    fig.update_xaxes(title_text="week", dtick=1)
    fig.update_yaxes(title_text="peak flexion °")
    return fig


def flagged_figure(records: Sequence[SetRecord]) -> go.Figure:
    """Share of flagged reps per week, per exercise."""
    first = min(r.date for r in records)
    fig = go.Figure()
    for exercise in dict.fromkeys(r.exercise for r in records):
        weekly: dict[int, list[float]] = {}
        for r in records:
            if r.exercise == exercise and math.isfinite(r.flagged_rep_share):
                weekly.setdefault(week_number(r.date, first), []).append(r.flagged_rep_share)
        weeks = sorted(weekly)
        fig.add_trace(
            go.Bar(x=weeks, y=[100 * sum(weekly[w]) / len(weekly[w]) for w in weeks], name=exercise.replace("_", " "))
        )
    fig.update_layout(**base_layout("Flagged reps per week", CHART_HEIGHT_PX), barmode="group")
    fig.update_xaxes(title_text="week", dtick=1)
    fig.update_yaxes(title_text="% of reps", rangemode="tozero")
    return fig


def rom_figure(rom: RomProgress) -> go.Figure:
    """Maximal flexion and extension of each range-of-motion test: the pain-free range over time."""
    fig = go.Figure()
    dates = [t.date.isoformat() for t in rom.tests]
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=[t.max_flexion_deg for t in rom.tests],
            mode="lines+markers",
            name="max flexion",
            line=dict(color=LUMBAR_COLOR),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=dates,
            y=[t.max_extension_deg for t in rom.tests],
            mode="lines+markers",
            name="max extension",
            line=dict(color=PELVIS_COLOR),
        )
    )
    fig.update_layout(**base_layout("Range of motion", CHART_HEIGHT_PX))
    fig.update_yaxes(title_text="degrees from neutral", rangemode="tozero")
    return fig


def _signed_slope(value: float) -> str:
    return fmt_num(value, 1, signed=True)


def progress_summary(
    exercises: Sequence[ExerciseProgress], records: Sequence[SetRecord], rom: RomProgress
) -> list[str]:
    """The page's plain-language lines: per exercise where form breaks and the trend; the range's change."""
    lines = []
    for ex in exercises:
        text = f"{ex.exercise.replace('_', ' ').capitalize()}: {ex.breaking_load.reason}."
        heaviest = max(ex.trends, key=lambda t: t.load_kg, default=None)
        if heaviest is not None and math.isfinite(heaviest.flexion_slope_deg_per_week):
            text += (
                f" At {fmt_num(heaviest.load_kg, 1)} kg your peak flexion changed "
                f"{_signed_slope(heaviest.flexion_slope_deg_per_week)}° a week over weeks "
                f"{heaviest.weeks[0]}-{heaviest.weeks[-1]}."
            )
        lines.append(text)
    if len(rom.tests) >= 2:
        lines.append(
            f"Your range of motion: flexion {fmt_num(rom.tests[0].max_flexion_deg)}° to "
            f"{fmt_num(rom.tests[-1].max_flexion_deg)}° ({_signed_slope(rom.flexion_change_deg)}°) over "
            f"{len(rom.tests)} tests."
        )
    if not records:
        lines.append("No sets with a load yet: annotate them or import your Strong or Hevy log.")
    return lines


def progress_figures(
    exercises: Sequence[ExerciseProgress], records: Sequence[SetRecord], rom: RomProgress
) -> dict[str, go.Figure]:
    """The page's charts in page order, keyed ``<exercise>_load``, ``<exercise>_trend``, ``flagged``, ``rom``."""
    out = {}
    for ex in exercises:
        out[f"{ex.exercise}_load"] = load_figure(ex, records)
        if ex.trends:
            out[f"{ex.exercise}_trend"] = trend_figure(ex)
    if records:
        out["flagged"] = flagged_figure(records)
    if rom.tests:
        out["rom"] = rom_figure(rom)
    return out


def render_progress_page(
    person: str, exercises: Sequence[ExerciseProgress], records: Sequence[SetRecord], rom: RomProgress
) -> str:
    """The progress page as one self-contained HTML document (plotly.js inline, no network needed)."""
    divs, data = {}, []
    for key, fig in progress_figures(exercises, records, rom).items():
        divs[key], blob = _plot_div(key, fig)
        data.append(blob)
    sections = []
    for ex in exercises:
        sections.append(f"<h2 id='{ex.exercise}'>{html.escape(ex.exercise.replace('_', ' ').capitalize())}</h2>")
        sections += [divs[k] for k in (f"{ex.exercise}_load", f"{ex.exercise}_trend") if k in divs]
    if "flagged" in divs:
        sections.append("<h2 id='flagged'>Flagged reps</h2>" + divs["flagged"])
    if "rom" in divs:
        sections.append("<h2 id='rom'>Range of motion</h2>" + divs["rom"])
    summary = "".join(f"<p>{html.escape(line)}</p>" for line in progress_summary(exercises, records, rom))
    first = min((r.date for r in records), default=None)
    last = max((r.date for r in records), default=None)
    span = f"{first:%d %b %Y} – {last:%d %b %Y} · {len(records)} sets with a load" if first else ""
    here = files("dashboards")
    return PAGE.substitute(
        title=html.escape(f"{person}: progress"),
        subtitle=html.escape(span),
        css=palette_css() + "\n" + here.joinpath("page.css").read_text(encoding="utf-8"),
        plotlyjs=get_plotlyjs(),
        summary=summary,
        nav="",
        sections="\n".join(sections),
        config=json.dumps(PLOT_CONFIG),
        data="\n".join(data),
        js=here.joinpath("report.js").read_text(encoding="utf-8"),
    )


def write_progress_page(
    path: Path, person: str, exercises: Sequence[ExerciseProgress], records: Sequence[SetRecord], rom: RomProgress
) -> Path:
    """Render the progress page (`render_progress_page`) and write it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_progress_page(person, exercises, records, rom), encoding="utf-8")
    return path


def people_page(names: Sequence[str], note: str = "Whose progress?") -> str:
    """A page linking to each person's progress page (``progress?person=NAME``), for a store of several people."""
    from urllib.parse import quote

    links = "".join(f"<li><a href='progress?person={quote(n)}'>{html.escape(n)}</a></li>" for n in names)
    css = files("dashboards").joinpath("page.css").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>imuform: progress</title>"
        f"<style>{css}</style></head><body><main><header class='top'><h1>Progress over weeks</h1></header>"
        f"<section class='card summary'><p>{html.escape(note)}</p><ul>{links}</ul></section></main></body></html>"
    )
