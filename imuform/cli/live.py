"""`imuform live`: the live lumbar angle, rep counter and peaks, with a cue past your limit."""

from __future__ import annotations

import asyncio
import contextlib

import click
from rich.live import Live

from analysis.calibration import calibrate_standing
from analysis.limits import Limits, resolve_limits
from firmware_protocol import MODELS
from imuform.ble.discovery import BleKwargs
from imuform.ble.live import Cue, LiveView
from imuform.ble.recorder import SensorTarget, identify_targets, record
from imuform.ble.virtual_rig import placement_address, record_virtual, simulate, virtual_streams
from imuform.cli.common import POSITIVE, console, echo_json, json_option, open_store, person_option
from imuform.cli.record import echo_finishing, parse_sensors, stop_on_ctrl_c, virtual_kind_option
from imuform.cli.web import serving, until_ctrl_c, wait_for_viewer, web_options
from imuform.diagnostics import bluetooth_problem
from imuform.errors import ImuformError
from imuform.session_analysis import calibration_for_sensors


@contextlib.contextmanager
def _screen(view: LiveView, enabled: bool):
    """Redraw the live panel ten times a second while recording (only on a terminal)."""
    out = console()
    if not enabled or not out.is_terminal:
        yield
        return
    with Live(view.render(), console=out, refresh_per_second=10, get_renderable=view.render):
        yield


#: How often the live view counts reps, in s (`LiveView.refresh_reps`).
REP_REFRESH_S = 0.25


@contextlib.contextmanager
def counting_reps(view: LiveView):
    """Count reps every `REP_REFRESH_S` on the event loop while recording, and once more at the end."""

    async def refresh() -> None:
        while True:
            await asyncio.sleep(REP_REFRESH_S)
            view.refresh_reps()

    task = asyncio.get_running_loop().create_task(refresh())
    try:
        yield
    finally:
        task.cancel()
    # only after a recording that ended normally: an error is reported as it is
    view.refresh_reps(final=True)


def summary(report, view: LiveView, limit_deg: float, as_json: bool) -> None:
    """The set's outcome on stdout: JSON, or one line and the session id."""
    result = {
        "session_id": report.session_id,
        "limit_deg": limit_deg,
        "sets": [r["peak_lumbar_flexion_deg"].tolist() for r in view.reps.sets],
        "reps": len(view.reps.peaks_deg),
        "peaks_deg": view.reps.peaks_deg,
        "cues": [{"time_s": c.time_s, "angle_deg": c.angle_deg, "latency_s": c.latency_s} for c in view.cues],
    }
    if as_json:
        echo_json(result)
        return
    peaks = ", ".join(f"{p:.0f}°" for p in view.reps.peaks_deg) or "none"
    click.echo(
        f"{len(view.reps.sets)} set(s), {result['reps']} reps, peaks {peaks}; {len(view.cues)} cue(s) past {limit_deg:.0f}°"
    )
    click.echo(report.session_id)


@click.command()
@click.option(
    "--sensor",
    "sensors",
    multiple=True,
    metavar="PLACEMENT=ADDRESS",
    callback=parse_sensors,
    help="As for 'imuform record'.",
)
@click.option(
    "--kind", type=click.Choice(sorted(MODELS)), help="Sensor kind of all sensors (default: identify by scanning)."
)
@click.option("--rate-hz", type=POSITIVE, help="Sample rate (default: the model's).")
@click.option("--duration", "duration_s", type=POSITIVE, help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--limit", "limit_deg", type=POSITIVE, help="Lumbar flexion limit in degrees (default: your profile's).")
@click.option(
    "--virtual", "exercise", metavar="EXERCISE", help="A simulated person does a set of EXERCISE on virtual sensors."
)
@virtual_kind_option
@click.option(
    "--virtual-fault", "fault", default="lumbar_flexion", show_default=True, help="The simulated person's fault."
)
@click.option("--reps", type=click.IntRange(1, 50), default=5, show_default=True, help="Virtual reps.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated person (--virtual).")
@click.option("--realtime", is_flag=True, help="Pace the virtual set in real time (default: 5× faster).")
@web_options
@json_option
@person_option
@click.pass_context
def live(
    ctx,
    sensors,
    kind,
    rate_hz,
    duration_s,
    limit_deg,
    exercise,
    virtual_kind,
    fault,
    reps,
    seed,
    realtime,
    web,
    lan,
    port,
    as_json,
) -> None:
    """Follow a set live: lumbar angle, rep count and each rep's peak; bell and red past your limit.

    Needs a calibration of these sensors ('imuform calibrate' before the set); the set is recorded as a
    session too. With --web (or --lan) a page for your phone shows the same; with --virtual the simulated
    person starts once the page is open, and the page stays up after the set until Ctrl-C.
    """
    if exercise is None and not sensors:
        raise click.UsageError("give --sensor lumbar=ADDRESS --sensor thoracic=ADDRESS, or --virtual EXERCISE")
    if exercise is None and (problem := bluetooth_problem()):
        raise ImuformError(f"{problem}; or follow virtual sensors with --virtual EXERCISE")
    out = console()
    addresses = dict(sensors) if sensors else {p: placement_address(p) for p in ("lumbar", "thoracic")}
    with open_store(ctx, for_person=True) as store:
        stored = calibration_for_sensors(store, addresses)
        calibration = None if stored is None else stored.calibration
        session = None
        if exercise is not None:
            rate_hz = rate_hz or min(100.0, max(MODELS[virtual_kind].rates_hz))
            session = simulate(
                exercise,
                sets=1,
                reps=reps,
                rate_hz=rate_hz,
                seed=seed,
                fault=fault,
                calibration_s=5.0,
                rom_calibration=False,
                between_sets=False,
            )
            if calibration is None:
                # The simulated person stands still for 5 s first: calibrate on that.
                calibration = calibrate_standing(session.samples, 1.0, 5.0)
        if calibration is None:
            raise ImuformError("no calibration of these sensors yet: run 'imuform calibrate' with them on first")
        limits: Limits = resolve_limits(store.profile(), store.range_of_motion())
        if limit_deg is None:
            limit_deg = limits.flexion_limit_deg

        def cue(c: Cue) -> None:
            if not as_json:
                out.bell()

        async def run() -> None:
            stop = asyncio.Event()
            if session is not None:
                rates = rate_hz
            else:
                targets = [SensorTarget(p, a, kind, rate_hz) for p, a in sensors]
                # The online orientation filters need each sensor's rate before the first sample.
                models = await identify_targets(targets, BleKwargs(), scan_timeout_s=10.0)
                rates = {t.placement: float(t.rate_hz or m.default_rate_hz) for t, m in zip(targets, models)}
            view = LiveView(calibration, rates, limit_deg, on_cue=cue, extension_limit_deg=limits.extension_limit_deg)
            async with serving(lambda: view.state().to_dict(), web, lan, port) as server:
                if server is not None:
                    view.listeners.append(server.notify)
                    if session is not None:
                        await wait_for_viewer(server)
                with stop_on_ctrl_c(stop), _screen(view, not as_json), counting_reps(view):
                    if session is not None:
                        report = await record_virtual(
                            store,
                            exercise,
                            kind=virtual_kind,
                            streams=virtual_streams(session),
                            rate_hz=rate_hz,
                            name=f"live {exercise}",
                            speed=1.0 if realtime else 5.0,
                            on_samples=view.on_samples,
                            on_start=view.on_start,
                            on_finish=echo_finishing,
                            stop=stop,
                        )
                    else:
                        report = await record(
                            store,
                            targets,
                            ble=BleKwargs(),
                            name="live",
                            source="live",
                            duration_s=duration_s,
                            stop=stop,
                            on_samples=view.on_samples,
                            on_start=view.on_start,
                            on_finish=echo_finishing,
                        )
                summary(report, view, limit_deg, as_json)
                if server is not None:
                    await until_ctrl_c("the set is saved; the page stays up until Ctrl-C")

        asyncio.run(run())
