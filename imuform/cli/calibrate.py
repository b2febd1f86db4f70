"""`imuform calibrate`: a guided calibration of your neutral posture (and range), stored for analysis."""

from __future__ import annotations

import asyncio

import click

from firmware_protocol import MODELS
from imuform.ble.calibration_guide import calibrate, run_steps, steps_for
from imuform.ble.discovery import BleKwargs
from imuform.ble.recorder import SensorTarget, record
from imuform.ble.virtual_rig import record_virtual, simulate, virtual_streams
from imuform.cli.common import echo_json, json_option, open_store, person_option
from imuform.cli.record import parse_sensor, stop_on_ctrl_c, virtual_kind_option
from imuform.errors import ImuformError, InputError


async def _guided(store, targets, steps, connect_timeout_s: float) -> tuple[str, dict]:
    """Record real sensors while prompting the steps; return the session and the steps' windows."""
    stop = asyncio.Event()
    windows: dict = {}
    guide: list[asyncio.Task] = []

    def on_start(session_id, links) -> None:
        link = links[0]

        async def prompt() -> None:
            windows.update(await run_steps(steps, lambda: link.clock() - link.t0, asyncio.sleep, click.echo))
            stop.set()

        guide.append(asyncio.ensure_future(prompt()))

    with stop_on_ctrl_c(stop):
        report = await record(
            store,
            targets,
            ble=BleKwargs(),
            name="calibration",
            source="calibration",
            stop=stop,
            on_start=on_start,
            connect_timeout_s=connect_timeout_s,
        )
    if len(windows) < len(steps):
        raise ImuformError("calibration interrupted before all steps were done; run 'imuform calibrate' again")
    return report.session_id, windows


async def _virtual(store, kind: str, bends: bool, range_of_motion: bool, seed: int) -> tuple[str, dict]:
    """A simulated person follows the steps; the windows are when they did them (session clock)."""
    rate_hz = min(100.0, max(MODELS[kind].rates_hz))
    session = simulate(
        "good_morning",
        sets=1,
        reps=3,
        rate_hz=rate_hz,
        seed=seed,
        calibration_s=10.0,
        rom_calibration=range_of_motion,
        between_sets=False,
    )
    report = await record_virtual(
        store, kind=kind, rate_hz=rate_hz, streams=virtual_streams(session), name="calibration", speed=20.0
    )
    truth, shift = session.truth, report.clock_start_s
    # The first virtual seconds pass while the sensors connect: use the standing that was recorded.
    windows = {"standing": (3.0 - shift, truth["calibration"]["quiet_standing"]["end_s"] - shift)}
    if bends:
        windows["bends"] = (truth["sets"][0]["start_s"] - shift, truth["sets"][0]["end_s"] - shift)
    if range_of_motion:
        for name in ("max_flexion", "max_extension"):
            windows[name] = (truth["calibration"][name]["start_s"] - shift, truth["calibration"][name]["end_s"] - shift)
    return report.session_id, windows


@click.command()
@click.option(
    "--sensor",
    "sensors",
    multiple=True,
    metavar="PLACEMENT=ADDRESS",
    help="The lumbar and thoracic sensors (as for 'imuform record').",
)
@click.option(
    "--kind", type=click.Choice(sorted(MODELS)), help="Sensor kind of all sensors (default: identify by scanning)."
)
@click.option(
    "--bends/--no-bends",
    default=False,
    show_default=True,
    help="Also do slow forward bends (measures each sensor's flexion axis).",
)
@click.option(
    "--range/--no-range",
    "range_of_motion",
    default=False,
    show_default=True,
    help="Also bend fully forward and back (your range of motion, for limits in percent).",
)
@click.option(
    "--connect-timeout",
    "connect_timeout_s",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds to wait for each sensor before giving up.",
)
@click.option("--virtual", is_flag=True, help="A simulated person with virtual sensors does the steps (for tests).")
@virtual_kind_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated person (--virtual).")
@json_option
@person_option
@click.pass_context
def calibrate_cmd(
    ctx, sensors, kind, bends, range_of_motion, connect_timeout_s, virtual, virtual_kind, seed, as_json
) -> None:
    """Calibrate your neutral posture: stand still when told (optionally bend, and bend fully), and save it.

    The calibration is kept with the calibration session and applies to what you record next with the same
    sensors at the same places, for one gym visit ('imuform calibrations' lists them). The range of motion
    (--range) stays yours for limits in percent until you measure it again.
    """
    steps = steps_for(bends, range_of_motion)
    if not virtual:
        parsed = [parse_sensor(s) for s in sensors]
        if {p for p, _ in parsed} < {"lumbar", "thoracic"} or not parsed:
            raise InputError("calibrate needs --sensor lumbar=ADDRESS and --sensor thoracic=ADDRESS (or --virtual)")
        targets = [SensorTarget(p, a, kind) for p, a in parsed]
    with open_store(ctx, for_person=True) as store:
        if virtual:
            session_id, windows = asyncio.run(_virtual(store, virtual_kind, bends, range_of_motion, seed))
        else:
            session_id, windows = asyncio.run(_guided(store, targets, steps, connect_timeout_s))
        calibration = calibrate(store.samples(session_id), windows)
        cal_id = store.save_calibration(session_id, calibration)
    if as_json:
        echo_json({"session_id": session_id, "calibration_id": cal_id, "calibration": calibration.to_dict()})
        return
    rom = calibration.range_of_motion
    click.echo(
        f"Calibration #{cal_id} saved: neutral"
        + (", flexion axes" if bends else "")
        + (f", range {rom.max_flexion_deg:.0f}° flexion / {rom.max_extension_deg:.0f}° extension" if rom else "")
    )
    click.echo(session_id)
