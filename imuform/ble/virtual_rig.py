"""The no-hardware rig: virtual sensors on a virtual radio, recorded through bleak like real ones.

:func:`open_rig` builds a :class:`~imuform.ble.virtual_radio.VirtualRadio`, a central Bumble device
and one :class:`~imuform.ble.virtual_sensor.VirtualSensor` per placement, fed by simulated streams.
:func:`record_virtual` records such a rig into the store with :func:`imuform.ble.recorder.record`,
the same code path as real sensors (only the bleak backend keyword arguments differ): it serves
``imuform record --virtual``, ``imuform demo``, the tests and the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from imuform.ble.bumble_backend import BumbleClient, BumbleScanner
from imuform.ble.discovery import BleKwargs
from imuform.ble.recorder import RecordingReport, SampleCallback, SensorTarget, record
from imuform.ble.virtual_clock import VirtualClock
from imuform.ble.virtual_radio import VirtualRadio
from imuform.ble.virtual_sensor import SensorStream, VirtualSensor
from imuform.store import PLACEMENTS, Store

if TYPE_CHECKING:
    from imuform.simulator import SimulatedSession

CENTRAL_ADDRESS = "F0:F0:F0:F0:F0:F0"


def sensor_address(index: int) -> str:
    """The address of the ``index``-th virtual sensor (0-based)."""
    return f"F0:00:00:00:00:{index + 1:02X}"


def placement_address(placement: str) -> str:
    """The address of the virtual sensor strapped at ``placement``: the same in every rig, as one person's
    own sensors would be, so a virtual calibration applies to the next virtual recording."""
    return sensor_address(PLACEMENTS.index(placement))


@dataclass
class VirtualRig:
    """A running virtual radio with a central and its sensors.

    Attributes
    ----------
    radio
        The virtual air (faults are set on it).
    clock
        The virtual clock shared by the sensors and, as host clock, by the recorder.
    sensors
        Virtual sensors by placement.
    ble
        Keyword arguments that point bleak at the central through the Bumble backend.
    """

    radio: VirtualRadio
    clock: VirtualClock
    sensors: dict[str, VirtualSensor]
    ble: BleKwargs
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _begun: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def stream_start_s(self) -> float:
        """Virtual time at which the simulated streams' time 0 falls."""
        return next(iter(self.sensors.values())).start_s

    def wait_for_recording(self) -> None:
        """Hold the simulated person until :meth:`begin`: sensors connect, nothing happens yet."""
        for sensor in self.sensors.values():
            sensor.start_s = float("inf")
        self._begun.clear()

    def begin(self) -> None:
        """The simulated person starts now (the app says it is recording): stream time 0 is this instant."""
        for sensor in self.sensors.values():
            sensor.start_s = self.clock()
        self._begun.set()

    def targets(self, rate_hz: float | None = None, identify: bool = False) -> list[SensorTarget]:
        """Recording targets for every sensor (``identify`` leaves the kind to the scan)."""
        return [
            SensorTarget(placement, s.address, None if identify else s.model.kind, rate_hz)
            for placement, s in self.sensors.items()
        ]

    def finished(self) -> bool:
        """Whether every sensor has streamed its whole simulated session."""
        return all(s.finished for s in self.sensors.values())

    def schedule_dropout(self, placement: str, at_s: float, duration_s: float) -> None:
        """Take one sensor out of range at stream time ``at_s`` for ``duration_s`` virtual seconds."""

        async def dropout() -> None:
            if not np.isfinite(self.stream_start_s):
                await self._begun.wait()
            await self.clock.sleep_until(self.stream_start_s + at_s)
            await self.radio.blackout(self.sensors[placement].device, duration_s)

        self._tasks.append(asyncio.get_running_loop().create_task(dropout()))


@contextlib.asynccontextmanager
async def open_rig(
    streams: dict[str, SensorStream],
    *,
    kind: str | dict[str, str] = "imuform",
    speed: float = 10.0,
    connection_interval_s: float = 0.0075,
    jitter_s: float = 0.0,
    loss: float = 0.0,
    supervision_timeout_s: float = 0.4,
    resend_after_reconnect_s: float = 1.0,
    notify_interval_s: float = 0.02,
    seed: int = 0,
    late_start_s: dict[str, float] | None = None,
) -> AsyncIterator[VirtualRig]:
    """Build, power on and finally tear down a virtual rig (inside the running event loop).

    Parameters
    ----------
    streams
        Simulated data by placement (true time starting near 0 on the virtual clock); a sensor at a placement
        has that placement's address (`placement_address`), others are numbered (`sensor_address`).
    kind
        Sensor kind of every virtual sensor, or a kind for each key of ``streams``.
    speed
        Most virtual seconds per real second (1 = real time; see :class:`VirtualClock`).
    connection_interval_s, jitter_s
        Link timing in virtual seconds (see :class:`VirtualRadio`).
    loss
        Probability of losing each notification on the air.
    supervision_timeout_s
        Virtual seconds from losing the link until both ends notice.
    resend_after_reconnect_s
        Each sensor re-sends the payloads of this many virtual seconds before a link drop after a
        reconnect (to exercise de-duplication; `VirtualSensor`).
    notify_interval_s
        Virtual seconds between each sensor's notification bursts.
    seed
        Seed for loss and jitter.
    late_start_s
        Virtual time at which a sensor is switched on, by placement (the others are on at once): it
        advertises, connects and streams only from then on.
    """
    clock = VirtualClock(speed)
    radio = VirtualRadio(
        connection_interval_s=connection_interval_s,
        jitter_s=jitter_s,
        loss=loss,
        supervision_timeout_s=supervision_timeout_s,
        seed=seed,
        clock=clock,
    )
    central = radio.create_device("imuform-central", CENTRAL_ADDRESS)
    sensors = {
        key: VirtualSensor(
            radio,
            kind if isinstance(kind, str) else kind[key],
            placement_address(key) if key in PLACEMENTS else sensor_address(i),
            stream,
            clock,
            notify_interval_s=notify_interval_s,
            resend_after_reconnect_s=resend_after_reconnect_s,
            sensor_id=i,
        )
        for i, (key, stream) in enumerate(streams.items())
    }
    await central.power_on()
    ble = BleKwargs(
        scanner={"backend": BumbleScanner, "bumble_device": central},
        client={
            "backend": BumbleClient,
            "bumble_device": central,
            "notification_context": functools.partial(radio.arrival, central),
        },
    )
    rig = VirtualRig(radio, clock, sensors, ble)

    async def start_late(sensor: VirtualSensor, at_s: float) -> None:
        await clock.sleep_until(at_s)
        await sensor.start()

    for placement, sensor in sensors.items():
        at_s = (late_start_s or {}).get(placement, 0.0)
        if at_s > 0:
            rig._tasks.append(asyncio.get_running_loop().create_task(start_late(sensor, at_s)))
        else:
            await sensor.start()
    if speed > 1.0:
        rig._tasks.append(asyncio.get_running_loop().create_task(clock.regulate()))
    try:
        yield rig
    finally:
        for task in rig._tasks:
            task.cancel()
        for sensor in sensors.values():
            with contextlib.suppress(Exception):
                await sensor.stop()
        for device in [central, *(s.device for s in sensors.values())]:
            with contextlib.suppress(Exception):
                await device.host.reset()


def simulate(exercise: str, *, sets: int, reps: int, rate_hz: float, seed: int, fault: str = "none", **spec):
    """Simulate a session with ``imuform.simulator`` (returns its ``SimulatedSession``: streams and truth).

    Parameters
    ----------
    exercise, sets, reps, fault
        ``sets`` sets of ``reps`` reps of ``exercise`` with ``fault``.
    rate_hz, seed
        Sample rate and seed.
    **spec
        Further ``SessionSpec`` fields (``rest_s``, ``calibration_s``, ``between_sets``, ...).
    """
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    return simulate_session(
        SessionSpec(sets=[SetSpec(exercise, reps, fault) for _ in range(sets)], rate_hz=rate_hz, seed=seed, **spec)
    )


def virtual_streams(session) -> dict[str, SensorStream]:
    """The streams of a ``SimulatedSession`` by placement, for virtual sensors."""
    return {placement: SensorStream.from_simulated(stream) for placement, stream in session.streams.items()}


async def record_virtual(
    store: Store,
    exercise: str = "deadlift",
    *,
    kind: str = "imuform",
    sets: int = 2,
    reps: int = 5,
    rate_hz: float = 100.0,
    dropout_s: float = 0.0,
    dropout_at_s: float | None = None,
    dropout_placement: str = "lumbar",
    loss: float = 0.0,
    seed: int = 0,
    speed: float = 10.0,
    name: str = "",
    streams: dict[str, SensorStream] | None = None,
    spec: dict | None = None,
    connection_interval_s: float = 0.0075,
    on_samples: SampleCallback | None = None,
    on_start: Callable | None = None,
    on_finish: Callable | None = None,
    stop: asyncio.Event | None = None,
    simulated: SimulatedSession | None = None,
    jitter_s: float = 0.0,
    late_start_s: dict[str, float] | None = None,
    on_rig: Callable[[VirtualRig], None] | None = None,
) -> RecordingReport:
    """Simulate a session, stream it from virtual sensors over the virtual radio and record it.

    Parameters
    ----------
    store
        Where the session goes.
    exercise, sets, reps, seed
        What the simulator performs (ignored when ``streams`` are given).
    kind
        Sensor kind of the virtual sensors.
    rate_hz
        Sample rate (simulated and configured).
    dropout_s
        Length of one radio dropout of ``dropout_placement`` in virtual seconds (0: none), starting
        at ``dropout_at_s`` (default: halfway through).
    loss
        Probability of losing each notification.
    speed
        Most virtual seconds per real second (the clock slows down by itself when the machine cannot
        keep up); 1 paces in real time.
    name
        Session name (default: ``virtual <exercise>``).
    streams
        Ready streams by placement instead of a simulation (no truth is kept with them).
    spec
        Further ``imuform.simulator.SessionSpec`` fields, e.g. ``{"rest_s": (20, 30)}``.
    connection_interval_s
        BLE connection interval (virtual seconds).
    on_samples, on_start, on_finish, stop
        As for :func:`imuform.ble.recorder.record`.
    simulated
        A ready simulation to stream instead of simulating ``exercise``.
    jitter_s
        Largest delay of a notification on the air (link-layer retries), virtual seconds.
    late_start_s
        Virtual time at which a sensor is switched on, by placement (see :func:`open_rig`).
    on_rig
        Called with the rig once it is up, e.g. to read back what each sensor streamed
        (``rig.sensors[placement].stream``, resampled when the configured rate differs from the data's).

    Whenever the session is simulated (``simulated``, or neither it nor ``streams`` given), the
    simulation is kept with the recording in a ``simulation`` event (`imuform.virtual_truth`), so its
    truth can be rebuilt on the session clock.

    Returns
    -------
    RecordingReport
        Session id and per-sensor report (packets, samples, lost, duplicates, reconnects, gaps).
    """
    if simulated is None and streams is None:
        simulated = simulate(exercise, sets=sets, reps=reps, rate_hz=rate_hz, seed=seed, **(spec or {}))
    if simulated is not None:
        streams = virtual_streams(simulated)
    async with open_rig(
        streams,
        kind=kind,
        speed=speed,
        connection_interval_s=connection_interval_s,
        jitter_s=jitter_s,
        loss=loss,
        seed=seed,
        late_start_s=late_start_s,
    ) as rig:
        if on_rig is not None:
            on_rig(rig)
        # The simulated person starts once every sensor streams, as a lifter starts when the app says so:
        # connecting (and a DOT sync) takes virtual seconds that would otherwise cut the first standing short.
        rig.wait_for_recording()

        def started(session_id: str, links: list) -> None:
            rig.begin()
            if on_start is not None:
                on_start(session_id, links)

        if dropout_s > 0:
            end_s = float(np.max([s.time_s[-1] for s in streams.values()]))
            rig.schedule_dropout(dropout_placement, end_s / 2 if dropout_at_s is None else dropout_at_s, dropout_s)
        report = await record(
            store,
            rig.targets(rate_hz),
            ble=rig.ble,
            name=name or f"virtual {exercise}",
            source="virtual",
            until=rig.finished,
            stop=stop,
            clock=rig.clock,
            on_samples=on_samples,
            on_start=started,
            on_finish=on_finish,
            connect_timeout_s=5.0,
        )
        # for virtual sensors the report's clock start is the simulation's true time at session time 0
        report.clock_start_s -= rig.stream_start_s
    if simulated is not None:
        # imported here, as the simulator above: recording real sensors never loads it
        from imuform.virtual_truth import SIMULATION_EVENT, simulation_event

        with store.writer(report.session_id) as writer:
            writer.add_event(0.0, SIMULATION_EVENT, simulation_event(simulated, report.clock_start_s))
    return report
