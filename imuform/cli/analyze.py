"""`imuform analyze SESSION`: sets, reps, metrics and flags of a stored session."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.measure import Measurement
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from analysis.classify import EXERCISES
from analysis.display import fmt_num
from analysis.lifter_labels import NAMED_BY_YOU, label_text
from analysis.limits import PROFILES
from imuform.cli.batch import BatchOptions, analyze_all
from imuform.cli.calibrations import calibration_option
from imuform.cli.common import console, person_name, person_option
from imuform.session_analysis import analyze_stored
from imuform.store import Store
from imuform.store_people import check_owner

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from analysis.session import SessionAnalysis


#: Below this console width the rep table drops the columns marked wide-only.
COMPACT_BELOW_COLUMNS = 120


@dataclass(frozen=True)
class RepColumn:
    """One column of the rep table: its header, its cell text for a rep, and whether it is for --wide only."""

    header: str
    cell: Callable[[Any], str]
    wide_only: bool = False


REP_COLUMNS = (
    RepColumn("rep", lambda r: str(r.index)),
    RepColumn("start s", lambda r: fmt_num(r.start_s, 1), wide_only=True),
    RepColumn("dur s", lambda r: fmt_num(r.duration_s, 1)),
    RepColumn(
        "down/pause/up s",
        lambda r: f"{fmt_num(r.eccentric_s, 1)}/{fmt_num(r.bottom_pause_s, 1)}/{fmt_num(r.concentric_s, 1)}",
    ),
    RepColumn("trunk°", lambda r: fmt_num(r.peak_trunk_inclination_deg)),
    RepColumn("hip°", lambda r: fmt_num(r.pelvis_inclination_range_deg), wide_only=True),
    RepColumn("flex°", lambda r: fmt_num(r.peak_lumbar_flexion_deg, signed=True)),
    RepColumn("% range", lambda r: fmt_num(r.peak_lumbar_flexion_pct)),
    RepColumn("lockout°", lambda r: fmt_num(r.lockout_lumbar_angle_deg, signed=True)),
    RepColumn("share", lambda r: fmt_num(r.lumbar_share, 2)),
    # against the lifter's reference reps (`imuform.reference_reps`), when they have one for the exercise
    RepColumn("vs ref°", lambda r: fmt_num(getattr(r, "ref_peak_flexion_diff_deg", None), signed=True)),
    RepColumn("bend°", lambda r: fmt_num(r.peak_lateral_bend_deg, signed=True), wide_only=True),
    RepColumn("twist°", lambda r: fmt_num(r.peak_twist_deg, signed=True), wide_only=True),
)

#: Flag names in the compact table (the reasons below the table say them in full).
SHORT_FLAGS = {
    "lumbar_flexion": "flexion",
    "lockout_hyperextension": "lockout",
    "overarching": "arched",
    "flexion_drift": "drift",
    "asymmetry": "asymmetry",
}


def _rep_table(title: str, reps: pd.DataFrame, wide: bool) -> Table:
    """The rep table: numbers never wrap, empty columns (all "–") are left out, flags are cut with "…"."""
    rows = list(reps.itertuples())
    columns = [c for c in REP_COLUMNS if wide or not c.wide_only]
    cells = {c.header: [c.cell(r) for r in rows] for c in columns}
    columns = [c for c in columns if any(v != "–" for v in cells[c.header])]
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in columns:  # a number column is never narrower than its widest number or its header
        widest = max(len(v) for v in [c.header, *cells[c.header]])
        table.add_column(c.header, no_wrap=True, justify="right", min_width=widest)
    table.add_column("flags", overflow="ellipsis", min_width=6)  # the one column that gives way
    for i, r in enumerate(rows):
        flags = ", ".join(f.replace("_", " ") if wide else SHORT_FLAGS.get(f, f) for f in r.flags)
        table.add_row(
            *(cells[c.header][i] for c in columns),
            Text(flags or "ok", style="red" if flags else "green", overflow="ellipsis", no_wrap=True),
        )
    return table


def print_analysis(result: SessionAnalysis, console: Console, *, wide: bool | None = None) -> None:
    """One summary line and one rep table per set.

    The table fits the console: below `COMPACT_BELOW_COLUMNS` columns it leaves out the wide-only
    columns unless ``wide`` is True; numbers never wrap.
    """
    if wide is None:
        wide = console.width >= COMPACT_BELOW_COLUMNS
    limits = result.limits
    console.print(
        f"session [bold]{result.session_id}[/]: {len(result.sets)} set(s), {len(result.reps)} rep(s); "
        f"limits ({limits.profile}): flexion {fmt_num(limits.flexion_limit_deg)}°, "
        f"extension {fmt_num(limits.extension_limit_deg)}°"
    )
    if result.calibration_source is not None:
        console.print(f"calibration: {result.calibration_source.reason}", markup=False)
    from analysis.timebase import describe_sync  # the pipeline's module: loaded once an analysis exists

    console.print(describe_sync(result.sync), markup=False, style="dim")
    for note in result.notes:
        console.print(f"note: {note}", markup=False, style="yellow")
    for s in result.sets.itertuples():
        # the lifter's own words (exercise named, load, effort) replace the classifier's confidence
        said = label_text(s) if getattr(s, "exercise_named_by", None) == NAMED_BY_YOU else ""
        said = said or " · ".join(
            filter(None, [f"exercise {fmt_num(100 * s.exercise_confidence)}% sure", label_text(s)])
        )
        title = (
            f"Set {s.index}: {s.exercise.replace('_', ' ')}, {s.rep_count} reps, "
            f"{fmt_num(s.start_s, 1)}–{fmt_num(s.end_s, 1)} s · {said} · "
            f"peak flexion mean {fmt_num(s.mean_peak_lumbar_flexion_deg, unit='°')} "
            f"max {fmt_num(s.max_peak_lumbar_flexion_deg, unit='°')} "
            f"(SD {fmt_num(s.peak_lumbar_flexion_sd_deg, 1, '°')}, "
            f"trend {fmt_num(s.flexion_trend_deg_per_rep, 1, '°/rep', signed=True)}) · "
            f"movement time SD {fmt_num(s.movement_sd_s, 2, ' s')}"
        )
        table = _rep_table(title, result.reps_of(s.index), wide)
        if wide:  # every column whole, wider than the terminal if need be
            width = Measurement.get(console, console.options.update_width(10_000), table).maximum
            for line in console.render_lines(table, console.options.update_width(max(console.width, width))):
                console.print(Segments([*line, Segment.line()]), crop=False, soft_wrap=True, end="")
        else:
            console.print(table)
        if isinstance(getattr(s, "ref_verdict", None), str):
            console.print(f"  against your reference: {s.ref_verdict}", markup=False)
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
@click.option("--wide", is_flag=True, help="Show every column of the rep table, however narrow the terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis (with --all: each session's counts) as JSON.")
@person_option
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
    wide: bool,
    as_json: bool,
) -> None:
    """Find the sets and reps of SESSION (an id or a unique prefix), with per-rep metrics and flags.

    The result is also saved in the store, where the dashboards and exports find it. With --all, every
    stored session (of everyone in the store, or of --person) is analysed and saved again, e.g. after an update.
    A session is always judged by its own person's limits and calibrations.
    """
    if all_sessions == (session is not None):
        raise click.UsageError("give one SESSION, or --all (with --since/--until to pick sessions by day)")
    if not all_sessions and (since or until or jobs):
        raise click.UsageError("--since, --until and --jobs go with --all")
    if all_sessions:
        options = BatchOptions(profile_name, use_mag, exercise, calibration)
        dates = (since.date() if since else None, until.date() if until else None)
        analyze_all(ctx.obj["home"], *dates, options=options, jobs=jobs, as_json=as_json, person=person_name(ctx))
        return
    with Store(ctx.obj["home"]) as store:
        session_id = store.resolve(session)
        check_owner(store, session_id, person_name(ctx))
        result, doc = analyze_stored(
            store, session_id, profile_name=profile_name, use_mag=use_mag, exercise=exercise, calibration=calibration
        )
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_analysis(result, console(), wide=wide or None)
