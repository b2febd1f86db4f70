"""`imuform report SESSION --out report.html`: one offline HTML report, optionally PNG images too."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import click

from analysis.limits import PROFILES
from dashboards.history import history_table
from dashboards.reference_band import set_band_figure
from dashboards.report import export_pngs, report_figures, write_report
from dashboards.summary import session_summary
from imuform.cli.calibrations import calibration_option
from imuform.cli.common import echo_json, json_option, open_store, started_at_time, started_label
from imuform.errors import ImuformError
from imuform.reference_reps import set_bands
from imuform.session_analysis import run_analysis
from imuform.store import Store
from imuform.store_people import person_of_session


def analysed_history(store: Store) -> list[tuple[datetime, dict]]:
    """``(start time, cached analysis document)`` of every session analysed so far, oldest first.

    Sessions whose start is no date have no place on the history's time axis and are left out.
    """
    entries = []
    for info in store.sessions():
        when = started_at_time(info["started_at"])
        doc = store.analysis(info["id"]) if when else None
        if doc is not None:
            entries.append((when, doc))
    return entries[::-1]


def png_problem() -> str | None:
    """Why PNG export cannot run here (no kaleido, no Chrome or Chromium), or ``None`` when it can."""
    if importlib.util.find_spec("kaleido") is None:
        return "PNG export needs kaleido: pip install kaleido"
    from choreographer.browsers.chromium import Chromium

    if Chromium.find_browser(skip_local=False) is None:
        return "PNG export needs Chrome or Chromium: apt-get install chromium (or set BROWSER_PATH to one)"
    return None


@click.command()
@click.argument("session")
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False), help="HTML file to write (default: report-<id>.html)."
)
@click.option(
    "--png", "png_dir", type=click.Path(file_okay=False), help="Also write every chart as a PNG into this directory."
)
@click.option(
    "--profile",
    "profile_name",
    type=click.Choice(sorted(PROFILES)),
    help="Judge flags against this built-in profile instead of your stored limits.",
)
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Chart the trends over all analysed sessions at the end.",
)
@calibration_option
@json_option
@click.pass_context
def report(
    ctx: click.Context,
    session: str,
    out_path: str | None,
    png_dir: str | None,
    profile_name: str | None,
    history: bool,
    calibration: str | int,
    as_json: bool,
) -> None:
    """Write SESSION (an id or a unique prefix) as one self-contained HTML report.

    The file holds everything (plotly.js included), so it opens offline on a phone at the gym. A plain-
    language summary comes first, then the session timeline and, per set, the rep-by-rep bars, the
    spine charts and a rep table.
    """
    problem = png_problem() if png_dir else None
    with open_store(ctx) as store:
        session_id = store.resolve(session)
        info = store.session(session_id)
        analysis = run_analysis(
            store, session_id, profile_name=profile_name, show_progress=not as_json, calibration=calibration
        )
        store.person_id = person_of_session(store, session_id).id  # the history is of the session's person
        past = history_table(analysed_history(store)) if history else None
        bands = set_bands(store, analysis)
    sensors = ", ".join(s["placement"] for s in info["sensors"])
    subtitle = f"{started_label(info['started_at'], seconds=False)} · session {session_id} · sensors: {sensors}"
    figures = report_figures(analysis, past)
    for set_index, band in bands.items():
        figures[f"set{set_index}_reference"] = set_band_figure(analysis, set_index, band.reference, band.curves)
    path = write_report(
        Path(out_path or f"report-{session_id}.html"),
        analysis,
        title=info["name"] or "imuform session report",
        subtitle=subtitle,
        figures=figures,
    )
    pngs = export_pngs(figures, png_dir) if png_dir and problem is None else []
    if as_json:
        echo_json(
            {
                "session_id": session_id,
                "html": str(path),
                "html_bytes": path.stat().st_size,
                "png": [str(p) for p in pngs],
                "png_skipped": problem,
                "summary": session_summary(analysis),
            }
        )
    else:
        for line in session_summary(analysis):
            click.echo(line)
        click.echo(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB)")
        if pngs:
            click.echo(f"{len(pngs)} PNG images written to {png_dir}")
    if problem:
        raise ImuformError(f"{problem}; the HTML report was written to {path}")
