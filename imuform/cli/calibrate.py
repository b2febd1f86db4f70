"""`imuform calibrate`: a guided calibration of your neutral posture (and range), stored for analysis."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import click

from analysis.limits import resolve_limits
from firmware_protocol import MODELS
from imuform.ble.calibration_guide import (
    GuideState,
    SampleBuffer,
    Step,
    calibrate,
    check_step,
    outcome,
    run_steps,
    steps_for,
)
from imuform.ble.discovery import BleKwargs
from imuform.ble.recorder import SensorTarget, record
from imuform.ble.virtual_rig import record_virtual, simulate, virtual_streams
from imuform.cli.common import echo_json, json_option, open_store, person_option
from imuform.cli.record import parse_sensor, stop_on_ctrl_c, virtual_kind_option
from imuform.cli.web import serving, until_ctrl_c, wait_for_viewer, web_options
from imuform.errors import ImuformError, InputError


class Guide:
    """The guide's state for the ``--web`` page, and its lines for the terminal (unless ``quiet``)."""

    def __init__(self, steps: list[Step], quiet: bool):
        self.state = GuideState(1, len(steps), steps[0].prompt)
        self.quiet = quiet
        self.recording = True
        self.listeners: list = []

    def say(self, line: str) -> None:
        if not self.quiet:
            click.echo(line)

    def show(self, state: GuideState) -> None:
        self.state = GuideState(**state.to_dict())  # a copy: the guide goes on changing its own
        for listener in self.listeners:
            listener()

    def page_state(self) -> dict:
        return {"guide": self.state.to_dict(), "recording": self.recording}


async def _guided(store, targets, steps, connect_timeout_s: float, guide: Guide) -> tuple[str, dict, SampleBuffer]:
    """Record real sensors while guiding the steps; return the session, the steps' windows and the samples."""
    stop = asyncio.Event()
    windows: dict = {}
    tasks: list[asyncio.Task] = []
    buffer = SampleBuffer()

    def on_start(session_id, links) -> None:
        link = links[0]

        async def prompt() -> None:
            try:
                windows.update(
                    await run_steps(
                        steps,
                        lambda: link.clock() - link.t0,
                        asyncio.sleep,
                        guide.say,
                        lambda step, w: check_step(step, buffer.table(), w),
                        show=guide.show,
                        arrived_s=buffer.arrived_s,
                    )
                )
            finally:
                stop.set()

        tasks.append(asyncio.ensure_future(prompt()))

    with stop_on_ctrl_c(stop):
        report = await record(
            store,
            targets,
            ble=BleKwargs(),
            name="calibration",
            source="calibration",
            stop=stop,
            on_start=on_start,
            on_samples=buffer.on_samples,
            connect_timeout_s=connect_timeout_s,
        )
    if tasks and tasks[0].done() and tasks[0].exception() is not None:
        raise tasks[0].exception()
    if len(windows) < len(steps):
        raise ImuformError("calibration interrupted before all steps were done; run 'imuform calibrate' again")
    return report.session_id, windows, buffer


async def _virtual(
    store, kind: str, steps: list[Step], seed: int, guide: Guide
) -> tuple[str, dict[str, tuple[float, float]], SampleBuffer]:
    """A simulated person follows the steps, prompted and checked at the virtual pace as a person would be."""
    rate_hz = min(100.0, max(MODELS[kind].rates_hz))
    names = {s.name for s in steps}
    session = simulate(
        "good_morning",
        sets=1,
        reps=3,
        rate_hz=rate_hz,
        seed=seed,
        calibration_s=10.0,
        rom_calibration="max_flexion" in names,
        between_sets=False,
    )
    truth = session.truth
    # when the simulated person does each step, on their own clock (s)
    plan = {
        "standing": (truth["calibration"]["quiet_standing"]["start_s"], truth["calibration"]["quiet_standing"]["end_s"])
    }
    if "bends" in names:
        plan["bends"] = (truth["sets"][0]["start_s"], truth["sets"][0]["end_s"])
    for name in ("max_flexion", "max_extension"):
        if name in names:
            plan[name] = (truth["calibration"][name]["start_s"], truth["calibration"][name]["end_s"])
    # the simulated person keeps their own order (range of motion before the bends)
    steps = sorted(steps, key=lambda s: plan[s.name][0])
    windows: dict = {}
    tasks: list[asyncio.Task] = []
    buffer = SampleBuffer()

    def on_start(session_id, links) -> None:
        shift_s = links[0].clock() - links[0].t0  # the simulated person starts now: their time 0

        def now_s() -> float:
            # the person's now is what their sensors have sent: on a loaded machine the virtual clock runs
            # ahead of the streams, and a guide on it would judge windows not yet recorded
            return max(buffer.arrived_s(), shift_s)

        async def sleep(duration_s: float) -> None:
            until_s = now_s() + duration_s
            while now_s() < until_s:
                await asyncio.sleep(0.01)

        # the first prompt's countdown runs while they already stand: only the standing after it counts
        starts = {s.name: max(plan[s.name][0], 3.0 if i == 0 else plan[s.name][0]) for i, s in enumerate(steps)}
        timed = [replace(s, duration_s=plan[s.name][1] - starts[s.name]) for s in steps]
        starts_s = {name: shift_s + start for name, start in starts.items()}

        async def prompt() -> None:
            windows.update(
                await run_steps(
                    timed,
                    now_s,
                    sleep,
                    guide.say,
                    lambda step, w: check_step(step, buffer.table(), w),
                    show=guide.show,
                    starts_s=starts_s,
                )
            )

        tasks.append(asyncio.ensure_future(prompt()))

    report = await record_virtual(
        store,
        kind=kind,
        rate_hz=rate_hz,
        streams=virtual_streams(session),
        name="calibration",
        speed=20.0,
        on_start=on_start,
        on_samples=buffer.on_samples,
    )
    if not tasks or not tasks[0].done():
        raise ImuformError("the simulated person finished before the guide did; run 'imuform calibrate' again")
    tasks[0].result()  # a step not done raises here
    return report.session_id, windows, buffer


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
@web_options
@json_option
@person_option
@click.pass_context
def calibrate_cmd(
    ctx, sensors, kind, bends, range_of_motion, connect_timeout_s, virtual, virtual_kind, seed, web, lan, port, as_json
) -> None:
    """Calibrate your neutral posture: stand still when told (optionally bend, and bend fully), and save it.

    Each step is prompted with a countdown and checked (still enough, bent far enough); a step not done is
    asked for again. With --web (or --lan) a page for your phone shows the same prompts (with --virtual the
    simulated person starts once the page is open, and the page stays up until Ctrl-C). The calibration is
    kept with the calibration session and applies to what you record next with the same sensors at the same
    places, for one gym visit ('imuform calibrations' lists them). The range of motion (--range) stays yours
    for limits in percent until you measure it again.
    """
    steps = steps_for(bends, range_of_motion)
    if not virtual:
        parsed = [parse_sensor(s) for s in sensors]
        if {p for p, _ in parsed} < {"lumbar", "thoracic"} or not parsed:
            raise InputError("calibrate needs --sensor lumbar=ADDRESS and --sensor thoracic=ADDRESS (or --virtual)")
        targets = [SensorTarget(p, a, kind) for p, a in parsed]
    guide = Guide(steps, quiet=as_json)
    with open_store(ctx, for_person=True) as store:

        async def run() -> dict:
            async with serving(guide.page_state, web, lan, port) as server:
                if server is not None:
                    guide.listeners.append(server.notify)
                    if virtual:
                        await wait_for_viewer(server)
                if virtual:
                    session_id, windows, _ = await _virtual(store, virtual_kind, steps, seed, guide)
                else:
                    session_id, windows, _ = await _guided(store, targets, steps, connect_timeout_s, guide)
                calibration = calibrate(store.samples(session_id), windows)
                cal_id = store.save_calibration(session_id, calibration)
                limits = resolve_limits(store.profile(), calibration.range_of_motion or store.range_of_motion())
                closing = outcome(calibration, limits)
                guide.recording = False
                guide.show(
                    GuideState(
                        len(steps), len(steps), "Calibration saved", "finished", message=closing, done=guide.state.done
                    )
                )
                result = {
                    "session_id": session_id,
                    "calibration_id": cal_id,
                    "calibration": calibration.to_dict(),
                    "limits": limits.to_dict(),
                }
                if as_json:
                    echo_json(result)
                else:
                    click.echo(
                        f"Calibration #{cal_id} saved: neutral"
                        + (", flexion axes" if bends else "")
                        + (", range of motion" if calibration.range_of_motion else "")
                        + f". {closing}"
                    )
                    click.echo(session_id)
                if server is not None:
                    await until_ctrl_c("the page stays up until Ctrl-C")
            return result

        asyncio.run(run())
