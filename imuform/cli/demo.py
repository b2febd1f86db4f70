"""`imuform demo`: the whole product without hardware.

A simulated lifter does a clean set and a faulty set; two virtual sensors stream it over a virtual BLE
radio (Bumble's controllers, real HCI/L2CAP/ATT/GATT bytes) into bleak and the recorder, which stores
the session (with its simulation, so 'imuform export' writes the truth too); the analysis finds the sets
and reps, the rep table is printed, every rep is compared with the simulator's ground truth (peak
flexion, lockout angle, flags; `imuform.truth_check`, as the recorded-accuracy benchmark does), the
demo says plainly whether it meets its targets, and an offline HTML report is written. The seed is
fixed (``--seed`` varies it), so the simulated lifter and sensors are the same on every run.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import click
from rich.table import Table

from dashboards.report import write_report
from firmware_protocol import MODELS
from imuform.ble.virtual_rig import record_virtual
from imuform.cli.analyze import print_analysis
from imuform.cli.common import console, open_store, person_name, person_option
from imuform.session_analysis import run_analysis
from imuform.simulator import EXERCISES, FAULTS, SessionSpec, SetSpec, simulate_session
from imuform.truth_check import ComparisonSummary, TruthComparison, TruthTargets, compare_with_truth, summarize
from imuform.virtual_truth import on_session_clock


def demo_spec(exercise: str, fault: str, reps: int, rate_hz: float, seed: int) -> SessionSpec:
    """A short session: quiet standing to calibrate, a clean set, a rest, then a set with ``fault``."""
    return SessionSpec(
        sets=[SetSpec(exercise, reps, "none"), SetSpec(exercise, reps, fault)],
        rate_hz=rate_hz,
        seed=seed,
        rest_s=(25.0, 35.0),
    )


def _deg(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def _flags(flags: tuple[str, ...] | None) -> str:
    if flags is None:
        return "not found"
    return ", ".join(f.replace("_", " ") for f in flags) or "ok"


def comparison_table(comparison: TruthComparison) -> Table:
    """Per true rep: measured against true peak flexion, lockout angle and flags."""
    table = Table(title="measured vs the simulator's truth, per rep", title_justify="left")
    for col in ("set", "rep", "peak°", "true", "Δ", "lockout°", "true", "Δ", "flags", "true flags", "agree"):
        table.add_column(col, justify="left" if "flags" in col or col == "agree" else "right")
    for r in comparison.reps:
        table.add_row(
            str(r.set_index),
            str(r.rep_index),
            _deg(r.found_peak_deg),
            _deg(r.true_peak_deg),
            _deg(r.peak_error_deg),
            _deg(r.found_lockout_deg),
            _deg(r.true_lockout_deg),
            _deg(r.lockout_error_deg),
            _flags(r.found_flags),
            _flags(r.true_flags),
            "[green]yes[/]" if r.flags_agree else "[red]no[/]",
        )
    return table


def summary_lines(summary: ComparisonSummary, targets: TruthTargets) -> list[str]:
    """The error summary and the verdict against ``targets``, as console lines."""
    lines = [
        f"errors against the truth ({summary.matched_reps} of {summary.true_reps} reps found): "
        f"peak flexion max {_deg(summary.peak_error_max_deg)}°, p95 {_deg(summary.peak_error_p95_deg)}°; "
        f"lockout angle max {_deg(summary.lockout_error_max_deg)}°, p95 {_deg(summary.lockout_error_p95_deg)}°",
        f"reps counted: {summary.counted_reps} (true {summary.true_reps}; "
        f"{summary.exact_sets} of {summary.true_sets} sets exact); "
        f"flags agree on {summary.flags_agreeing} of {summary.true_reps} reps",
    ]
    misses = summary.misses(targets)
    if misses:
        lines.append("[bold red]the demo misses its targets:[/] " + "; ".join(misses))
    else:
        lines.append(
            f"[bold green]within the targets[/]: every rep within {targets.max_rep_error_deg:g}° of the truth, "
            "rep count exact, flags agree"
        )
    return lines


@click.command()
@click.option(
    "--exercise", type=click.Choice(EXERCISES), default="deadlift", show_default=True, help="Exercise of both sets."
)
@click.option(
    "--fault",
    type=click.Choice([f for f in FAULTS if f != "none"]),
    default="lockout_hyperextension",
    show_default=True,
    help="Fault of the second set.",
)
@click.option("--reps", type=int, default=6, show_default=True, help="Reps per set.")
@click.option(
    "--kind",
    type=click.Choice(sorted(MODELS)),
    default="movella-dot",
    show_default=True,
    help="Sensor model the virtual sensors emulate.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulated lifter and sensors.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Where to write the HTML report (default: demo-report-<id>.html in the imuform home).",
)
@click.option(
    "--weeks",
    type=click.IntRange(1, 12),
    default=None,
    help="Instead: N weeks of one lifter with their Strong log, written as a progress page (--report names it).",
)
@person_option
@click.pass_context
def demo(
    ctx: click.Context,
    exercise: str,
    fault: str,
    reps: int,
    kind: str,
    seed: int,
    report_path: str | None,
    weeks: int | None,
) -> None:
    """Run the no-hardware demo: virtual sensors over a virtual BLE radio, recorded, analysed, reported.

    Prints the rep table, each rep's measured and true peak flexion, lockout angle and flags, an error
    summary with a plain verdict against the targets (every rep within 2°, rep count exact, flags
    agree), and where the report is. The simulated data are the same on every run for a given --seed.
    The session stays in the store: try 'imuform sessions', 'imuform dashboard' afterwards.

    With --weeks N: N weeks (three sessions a week) of one simulated lifter (--person, default 'demo lifter'),
    labelled from their Strong log, compared with their proposed reference reps, checked against the truth
    and written as a progress page that shows where their form breaks and how it changed.
    """
    if weeks is not None:
        from imuform.cli.demo_weeks import run_weeks_demo

        with open_store(ctx) as store:
            run_weeks_demo(store, console(), weeks, seed, person_name(ctx), Path(report_path) if report_path else None)
        return
    out = console()
    model = MODELS[kind]
    rate_hz = 60.0 if 60.0 in model.rates_hz else float(min(100.0, max(model.rates_hz)))
    session = simulate_session(demo_spec(exercise, fault, reps, rate_hz, seed))
    out.print(
        f"[bold]imuform demo[/]: two virtual {model.name} sensors (lumbar, thoracic) at {rate_hz:g} Hz stream a "
        f"simulated session over a virtual BLE radio …"
    )
    with open_store(ctx, for_person=True) as store:
        report = asyncio.run(
            record_virtual(
                store,
                exercise,
                kind=kind,
                rate_hz=rate_hz,
                seed=seed,
                simulated=session,
                speed=40.0,
                name=f"demo: {exercise}, {fault}",
            )
        )
        for s in report.sensors:
            out.print(
                f"  {s.placement}: {s.samples:,} samples, {s.packets:,} notifications, {s.lost} lost, "
                f"{s.reconnects} reconnects"
            )
        analysis = run_analysis(store, report.session_id)
        print_analysis(analysis, out)
        truth, _ = on_session_clock(session.truth, session.truth_angles, report.clock_start_s)
        comparison = compare_with_truth(truth["sets"], analysis.sets, analysis.reps)
        out.print(comparison_table(comparison))
        for line in summary_lines(summarize(comparison, len(analysis.reps)), TruthTargets()):
            out.print(line)
        info = store.session(report.session_id)
        path = Path(report_path) if report_path else store.home / f"demo-report-{report.session_id}.html"
    write_report(
        path, analysis, title=info["name"], subtitle=f"session {report.session_id} · virtual {model.name} sensors"
    )
    out.print(f"report: {path}")
    out.print("next: 'imuform sessions', 'imuform report SESSION', 'imuform dashboard'")
    click.echo(report.session_id)
