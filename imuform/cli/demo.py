"""`imuform demo`: the whole product without hardware.

A simulated lifter does a clean set and a faulty set; two virtual sensors stream it over a virtual BLE
radio (Bumble's controllers, real HCI/L2CAP/ATT/GATT bytes) into bleak and the recorder, which stores
the session; the analysis finds the sets and reps, the rep table is printed, the result is compared
with the simulator's ground truth, and an offline HTML report is written.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from dashboards.report import write_report
from firmware_protocol import MODELS
from imuform.ble.virtual_rig import record_virtual, virtual_streams
from imuform.cli.analyze import print_analysis
from imuform.cli.common import console, open_store
from imuform.session_analysis import run_analysis
from imuform.simulator import EXERCISES, FAULTS, SessionSpec, SetSpec, simulate_session


def demo_spec(exercise: str, fault: str, reps: int, rate_hz: float, seed: int) -> SessionSpec:
    """A short session: quiet standing to calibrate, a clean set, a rest, then a set with ``fault``."""
    return SessionSpec(
        sets=[SetSpec(exercise, reps, "none"), SetSpec(exercise, reps, fault)],
        rate_hz=rate_hz,
        seed=seed,
        rest_s=(25.0, 35.0),
    )


def truth_line(truth: dict) -> str:
    """What the simulated lifter really did, in one line."""
    parts = []
    for i, s in enumerate(truth["sets"], 1):
        flagged = sum(1 for r in s["reps"] if r["faults"])
        parts.append(f"set {i}: {len(s['reps'])} {s['exercise'].replace('_', ' ')} reps, {flagged} with faults")
    return "; ".join(parts)


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
@click.pass_context
def demo(
    ctx: click.Context, exercise: str, fault: str, reps: int, kind: str, seed: int, report_path: str | None
) -> None:
    """Run the no-hardware demo: virtual sensors over a virtual BLE radio, recorded, analysed, reported.

    Prints the rep table, how it compares with the simulator's ground truth, and where the report is.
    The session stays in the store: try 'imuform sessions', 'imuform dashboard' afterwards.
    """
    out = console()
    model = MODELS[kind]
    rate_hz = 60.0 if 60.0 in model.rates_hz else float(min(100.0, max(model.rates_hz)))
    session = simulate_session(demo_spec(exercise, fault, reps, rate_hz, seed))
    out.print(
        f"[bold]imuform demo[/]: two virtual {model.name} sensors (lumbar, thoracic) at {rate_hz:g} Hz stream a "
        f"simulated session over a virtual BLE radio …"
    )
    with open_store(ctx) as store:
        report = asyncio.run(
            record_virtual(
                store,
                exercise,
                kind=kind,
                rate_hz=rate_hz,
                seed=seed,
                streams=virtual_streams(session),
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
        out.print(f"ground truth: {truth_line(session.truth)}")
        info = store.session(report.session_id)
        path = Path(report_path) if report_path else store.home / f"demo-report-{report.session_id}.html"
    write_report(
        path, analysis, title=info["name"], subtitle=f"session {report.session_id} · virtual {model.name} sensors"
    )
    out.print(f"report: {path}")
    out.print("next: 'imuform sessions', 'imuform report SESSION', 'imuform dashboard'")
    click.echo(report.session_id)
