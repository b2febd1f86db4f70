"""`imuform record`: record sensors over BLE (or virtual sensors) into a new session."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal

import click

from firmware_protocol import MODELS
from imuform.ble.discovery import BleKwargs
from imuform.ble.display import finishing_line, live_status
from imuform.ble.recorder import RecordingReport, SensorLink, SensorTarget, record
from imuform.ble.virtual_rig import record_virtual
from imuform.cli.common import POSITIVE, FiniteRange, console, echo_json, json_option, open_store, person_option
from imuform.diagnostics import bluetooth_problem
from imuform.errors import ImuformError
from imuform.store import PLACEMENTS

#: A BLE address: a MAC (Linux, Windows) or a CoreBluetooth UUID (macOS), as 'imuform scan' lists them.
BLE_ADDRESS = re.compile(
    r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)


def echo_finishing(link: SensorLink) -> None:
    """The recorder's ``on_finish``: a line on stderr per sensor being re-timed (stdout ends with the session id)."""
    click.echo(finishing_line(link), err=True)


def parse_sensor(text: str) -> tuple[str, str]:
    """Parse ``PLACEMENT=ADDRESS`` (e.g. ``lumbar=D4:CA:6E:F1:69:3D``).

    Raises
    ------
    click.BadParameter
        A usage error (exit 2) that says how to write it.
    """
    placement, sep, address = text.partition("=")
    placement, address = placement.strip(), address.strip()
    if not sep or not address:
        raise click.BadParameter(
            f"{text!r}: write PLACEMENT=ADDRESS, e.g. lumbar=D4:CA:6E:F1:69:3D", param_hint="--sensor"
        )
    if placement not in PLACEMENTS:
        raise click.BadParameter(f"{text!r}: placement must be one of {', '.join(PLACEMENTS)}", param_hint="--sensor")
    if not BLE_ADDRESS.fullmatch(address):
        raise click.BadParameter(
            f"{address!r} is not a BLE address; give one as 'imuform scan' lists it, e.g. D4:CA:6E:F1:69:3D",
            param_hint="--sensor",
        )
    return placement, address


def parse_sensors(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    """Click callback of ``--sensor``: ``(placement, address)`` pairs, one sensor per placement."""
    parsed = [parse_sensor(text) for text in values]
    placements = [placement for placement, _ in parsed]
    twice = sorted({p for p in placements if placements.count(p) > 1})
    if twice:
        raise click.BadParameter(f"{', '.join(twice)} given more than once: one sensor per placement", param=param)
    return parsed


@contextlib.contextmanager
def stop_on_ctrl_c(stop: asyncio.Event):
    """The first Ctrl-C, ``kill`` (SIGTERM) or hang-up (SIGHUP) sets ``stop``: the recording ends cleanly and
    is saved, with its summary and id. A second one aborts."""
    loop = asyncio.get_running_loop()
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])

    def first() -> None:
        stop.set()
        for sig in signals:
            loop.remove_signal_handler(sig)

    try:
        for sig in signals:
            loop.add_signal_handler(sig, first)
    except (NotImplementedError, RuntimeError):
        # No signal handlers here (Windows, or not the main thread): Ctrl-C cancels, and the
        # recorder still closes the links and commits what it has.
        yield
        return
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


#: ``--virtual-kind``, shared by the commands that can drive virtual sensors (record, live, calibrate).
virtual_kind_option = click.option(
    "--virtual-kind",
    type=click.Choice(sorted(MODELS)),
    default="imuform",
    show_default=True,
    help="Sensor kind the virtual sensors emulate.",
)


@click.command()
@click.option(
    "--sensor",
    "sensors",
    multiple=True,
    metavar="PLACEMENT=ADDRESS",
    callback=parse_sensors,
    help="A sensor and where it is strapped (1–4 times; lumbar and thoracic for analysis).",
)
@click.option(
    "--kind", type=click.Choice(sorted(MODELS)), help="Sensor kind of all sensors (default: identify by scanning)."
)
@click.option("--rate-hz", type=POSITIVE, help="Sample rate (default: the model's, 100 Hz for virtual sensors).")
@click.option(
    "--duration", "duration_s", type=POSITIVE, help="Stop after this many seconds (default: Ctrl-C; real sensors)."
)
@click.option("--name", default="", help="Session name.")
@click.option(
    "--connect-timeout",
    "connect_timeout_s",
    type=POSITIVE,
    default=10.0,
    show_default=True,
    help="Seconds to wait for each sensor before giving up.",
)
@click.option(
    "--virtual",
    "exercise",
    metavar="EXERCISE",
    help="Record virtual sensors performing EXERCISE (deadlift, romanian_deadlift, good_morning, ...).",
)
@virtual_kind_option
@click.option(
    "--virtual-dropout",
    "dropout_s",
    type=FiniteRange(0.0, 60.0),
    default=0.0,
    help="A radio dropout of this many seconds halfway through.",
)
@click.option(
    "--virtual-loss",
    "loss",
    type=FiniteRange(0.0, 0.5),
    default=0.0,
    help="Probability of losing each notification (0–0.5).",
)
@click.option("--sets", type=click.IntRange(1, 20), default=2, show_default=True, help="Virtual sets.")
@click.option("--reps", type=click.IntRange(1, 50), default=5, show_default=True, help="Virtual reps per set.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulation and the radio faults.")
@click.option("--realtime", is_flag=True, help="Pace the virtual replay in real time (default: 10× faster).")
@json_option
@person_option
@click.pass_context
def record_cmd(
    ctx: click.Context,
    sensors,
    kind,
    rate_hz,
    duration_s,
    name,
    connect_timeout_s,
    exercise,
    virtual_kind,
    dropout_s,
    loss,
    sets,
    reps,
    seed,
    realtime,
    as_json,
) -> None:
    """Record sensors into a new session and print its id (last line).

    Real sensors: give each with --sensor PLACEMENT=ADDRESS ('imuform scan' lists them). Virtual
    sensors: --virtual EXERCISE streams a simulated session from virtual BLE sensors through the
    same BLE code path. Ctrl-C stops and saves.
    """
    if exercise is None and not sensors:
        raise click.UsageError(
            "give the sensors with --sensor lumbar=ADDRESS --sensor thoracic=ADDRESS, or use --virtual EXERCISE"
        )
    if exercise is not None and sensors:
        raise click.UsageError("--virtual replaces --sensor: use one or the other")
    if exercise is not None and duration_s is not None:
        raise click.UsageError("--duration is for real sensors; a --virtual recording lasts its --sets and --reps")
    targets = [SensorTarget(p, a, kind, rate_hz) for p, a in sensors]
    if targets and (problem := bluetooth_problem()):
        raise ImuformError(f"{problem}; or record virtual sensors with --virtual EXERCISE")
    out = console()

    async def run() -> RecordingReport:
        stop = asyncio.Event()
        with open_store(ctx, for_person=True) as store, stop_on_ctrl_c(stop):
            async with live_status(out, enabled=not as_json) as on_start:
                if exercise is not None:
                    return await record_virtual(
                        store,
                        exercise,
                        kind=virtual_kind,
                        sets=sets,
                        reps=reps,
                        rate_hz=rate_hz or min(100.0, max(MODELS[virtual_kind].rates_hz)),
                        dropout_s=dropout_s,
                        loss=loss,
                        seed=seed,
                        speed=1.0 if realtime else 10.0,
                        name=name,
                        on_start=on_start,
                        on_finish=echo_finishing,
                        stop=stop,
                    )
                return await record(
                    store,
                    targets,
                    ble=BleKwargs(),
                    name=name,
                    duration_s=duration_s,
                    stop=stop,
                    on_start=on_start,
                    on_finish=echo_finishing,
                    connect_timeout_s=connect_timeout_s,
                )

    report = asyncio.run(run())
    if as_json:
        echo_json(report.to_dict())
        return
    for s in report.sensors:
        click.echo(
            f"{s.placement}: {s.kind}, {s.samples:,} samples at {s.effective_rate_hz:.1f} Hz, {s.lost} lost, "
            f"{s.duplicates} duplicates dropped, {s.reconnects} reconnects, gaps {s.gaps_s:.1f} s"
            + (f", battery {s.battery_percent:.0f} %" if s.battery_percent is not None else "")
        )
    click.echo(report.session_id)
