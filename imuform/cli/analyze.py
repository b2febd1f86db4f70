"""`imuform analyze SESSION`: sets, reps, metrics and flags of a stored session."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.table import Table

from analysis.classify import EXERCISES
from analysis.limits import PROFILES
from imuform.cli.batch import BatchOptions, analyze_all
from imuform.cli.calibrations import calibration_option
from imuform.cli.common import console
from imuform.session_analysis import analyze_stored
from imuform.store import Store

if TYPE_CHECKING:
    from rich.console import Console

    from analysis.session import SessionAnalysis


def _num(value: float, fmt: str = ".0f", unit: str = "") -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:{fmt}}{unit}"


def print_analysis(result: SessionAnalysis, console: Console) -> None:
    """One summary line and one rep table per set."""
    limits = result.limits
    console.print(
        f"session [bold]{result.session_id}[/]: {len(result.sets)} set(s), {len(result.reps)} rep(s); "
        f"limits ({limits.profile}): flexion {limits.flexion_limit_deg:.0f}°, extension {limits.extension_limit_deg:.0f}°"
    )
    if result.calibration_source is not None:
        console.print(f"calibration: {result.calibration_source.reason}", markup=False)
    from analysis.timebase import describe_sync  # the pipeline's module: loaded once an analysis exists

    console.print(describe_sync(result.sync), markup=False, style="dim")
    for note in result.notes:
        console.print(f"note: {note}", markup=False, style="yellow")
    for s in result.sets.itertuples():
        table = Table(
            title=(
                f"Set {s.index}: {s.exercise.replace('_', ' ')}, {s.rep_count} reps, {s.start_s:.1f}–{s.end_s:.1f} s · "
                f"exercise {s.exercise_confidence:.0%} sure · "
                f"peak flexion mean {_num(s.mean_peak_lumbar_flexion_deg, unit='°')} max {_num(s.max_peak_lumbar_flexion_deg, unit='°')} "
                f"(SD {_num(s.peak_lumbar_flexion_sd_deg, '.1f', '°')}, trend {_num(s.flexion_trend_deg_per_rep, '+.1f', '°/rep')}) · "
                f"movement time SD {_num(s.movement_sd_s, '.2f', ' s')}"
            ),
            title_justify="left",
        )
        for col in (
            "rep",
            "start s",
            "dur s",
            "ecc/pause/con s",
            "trunk°",
            "hip°",
            "lumbar peak°",
            "% range",
            "lockout°",
            "share",
            "bend°",
            "twist°",
            "flags",
        ):
            table.add_column(col, overflow="fold")
        for r in result.reps_of(s.index).itertuples():
            table.add_row(
                str(r.index),
                _num(r.start_s, ".1f"),
                _num(r.duration_s, ".1f"),
                f"{_num(r.eccentric_s, '.1f')}/{_num(r.bottom_pause_s, '.1f')}/{_num(r.concentric_s, '.1f')}",
                _num(r.peak_trunk_inclination_deg),
                _num(r.pelvis_inclination_range_deg),
                _num(r.peak_lumbar_flexion_deg),
                _num(r.peak_lumbar_flexion_pct),
                _num(r.lockout_lumbar_angle_deg),
                _num(r.lumbar_share, ".2f"),
                _num(r.peak_lateral_bend_deg, "+.0f"),
                _num(r.peak_twist_deg, "+.0f"),
                "[red]" + ", ".join(f.replace("_", " ") for f in r.flags) + "[/]" if r.flags else "[green]ok[/]",
            )
        console.print(table)
        for r in result.reps_of(s.index).itertuples():
            if r.flags:
                console.print(f"  [red]rep {r.index}[/]: " + "; ".join(r.flag_reasons))
        for note in s.notes:
            console.print(f"  [yellow]note[/]: {note}")
    if result.sets.empty:
        console.print(
            "no sets found: a rep is a forward bend of the trunk of at least 25° and back, two or more make a set"
        )


@click.command()
@click.argument("session", required=False)
@click.option(
    "--all",
    "all_sessions",
    is_flag=True,
    help="Re-analyse every stored session (or those picked by --since/--until) on all cores, with one start-up.",
)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="With --all: sessions started on or after this day.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="With --all: sessions started on or before this day.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="With --all: sessions analysed at once (default: the cores this process may use).",
)
@click.option(
    "--profile",
    "profile_name",
    type=click.Choice(sorted(PROFILES)),
    help="Judge flags against this built-in profile instead of your stored limits.",
)
@click.option("--use-mag", is_flag=True, help="Use the magnetometers (9D orientation) where the sensors have them.")
@click.option(
    "--exercise",
    type=click.Choice(EXERCISES),
    help="The exercise of every set, when you know it (instead of classifying each set).",
)
@calibration_option
@click.option("--json", "as_json", is_flag=True, help="Print the analysis (with --all: each session's counts) as JSON.")
@click.pass_context
def analyze(
    ctx: click.Context,
    session: str | None,
    all_sessions: bool,
    since: datetime | None,
    until: datetime | None,
    jobs: int | None,
    profile_name: str | None,
    use_mag: bool,
    exercise: str | None,
    calibration: str | int,
    as_json: bool,
) -> None:
    """Find the sets and reps of SESSION (an id or a unique prefix), with per-rep metrics and flags.

    The result is also saved in the store, where the dashboards and exports find it. With --all, every
    stored session (of one person: one --home each) is analysed and saved again, e.g. after an update.
    """
    if all_sessions == (session is not None):
        raise click.UsageError("give one SESSION, or --all (with --since/--until to pick sessions by day)")
    if not all_sessions and (since or until or jobs):
        raise click.UsageError("--since, --until and --jobs go with --all")
    if all_sessions:
        options = BatchOptions(profile_name, use_mag, exercise, calibration)
        dates = (since.date() if since else None, until.date() if until else None)
        analyze_all(ctx.obj["home"], *dates, options=options, jobs=jobs, as_json=as_json)
        return
    with Store(ctx.obj["home"]) as store:
        session_id = store.resolve(session)
        result, doc = analyze_stored(
            store, session_id, profile_name=profile_name, use_mag=use_mag, exercise=exercise, calibration=calibration
        )
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_analysis(result, console())
