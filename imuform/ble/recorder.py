"""Record sensors over BLE into the session store, with reconnects, de-duplication and time sync.

Built only on bleak's public API: the recorder never knows which backend runs underneath (the
operating system's stack, or Bumble's virtual radio); ``BleKwargs`` are passed through to bleak.

For each sensor a :class:`SensorLink` connects (one connection attempt at a time across sensors),
configures the sensor with its ``firmware_protocol`` commands, subscribes, and hands every
notification, stamped with the host's monotonic clock, to its
:class:`~imuform.ble.stream_assembler.StreamAssembler` (de-duplication, decoding, clock sync, gaps).
Samples go to the store (``SessionWriter``: incremental and transactional, raw payloads too) and to an
optional live callback. When a link drops it reconnects with exponential backoff and re-subscribes.
When the recording ends, every sensor's stored samples are re-timed by the clock fitted over the whole
recording (`SensorLink.finish`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from firmware_protocol import ProtocolError, SampleBlock, SensorModel, get_model
from firmware_protocol.movella_dot import DotModel
from imuform.ble.discovery import BleKwargs, find_sensor, read_battery
from imuform.ble.dot_sync import sync_dots
from imuform.ble.stream_assembler import AssemblerConfig, FinalTimes, StreamAssembler
from imuform.ble.timesync import ClockSync
from imuform.errors import ImuformError
from imuform.store import SessionWriter, Store

logger = logging.getLogger(__name__)

#: Called with (placement, time_s, block) for every block of new samples, on the event loop.
SampleCallback = Callable[[str, np.ndarray, SampleBlock], None]


class SensorUnreachable(ImuformError):
    """A sensor did not answer within the connection timeout."""


@dataclass
class SensorTarget:
    """A sensor to record.

    Attributes
    ----------
    placement
        Where it is strapped: ``lumbar``, ``thoracic``, ``upper_thoracic`` or ``thigh``.
    address
        Its Bluetooth address (or a bleak ``BLEDevice`` from a scan).
    kind
        Its ``firmware_protocol`` kind; None identifies it from its advertisement.
    rate_hz
        Sample rate to configure; None uses the model's default.
    """

    placement: str
    address: str | BLEDevice
    kind: str | None = None
    rate_hz: float | None = None


@dataclass
class SensorReport:
    """What one sensor delivered.

    Attributes
    ----------
    placement, kind, address
        Which sensor.
    packets
        Notifications received (duplicates included).
    samples
        Samples stored.
    lost
        Samples missing by the device clock while connected (frames by sequence counter for sensors
        without a clock); dropouts are counted in ``gaps_s`` instead.
    duplicates
        Samples (or payloads) dropped as already received.
    reconnects
        Links re-established after a drop.
    gaps_s
        Total length of the recorded gaps, in s.
    effective_rate_hz
        Samples per second of streaming time (gaps excluded).
    battery_percent
        Battery at connection, when readable.
    drift_ppm
        Device clock drift against the host clock, positive when the sensor's clock runs fast.
    clock
        How its clock was put on the session clock (`imuform.ble.timesync.ClockFitSummary.to_dict`).
    undecodable
        Payloads the decoder refused.
    """

    placement: str
    kind: str
    address: str
    packets: int = 0
    samples: int = 0
    lost: int = 0
    duplicates: int = 0
    reconnects: int = 0
    gaps_s: float = 0.0
    effective_rate_hz: float = 0.0
    battery_percent: float | None = None
    drift_ppm: float = 0.0
    clock: dict = field(default_factory=dict)
    undecodable: int = 0


@dataclass
class RecordingReport:
    """The outcome of a recording: the session, a report per sensor, and where its clock started.

    Attributes
    ----------
    session_id
        The new session.
    duration_s
        Recording length in s.
    sensors
        Per-sensor reports.
    clock_start_s
        Host clock reading at session time 0; for virtual sensors (`imuform.ble.virtual_rig.record_virtual`)
        the simulation's true time at session time 0.
    """

    session_id: str
    duration_s: float
    sensors: list[SensorReport] = field(default_factory=list)
    clock_start_s: float = 0.0

    def to_dict(self) -> dict:
        """The JSON of ``imuform record --json``."""
        return {
            "session_id": self.session_id,
            "duration_s": self.duration_s,
            "sensors": [asdict(s) for s in self.sensors],
        }


class SensorLink:
    """One sensor's connection, decoding and bookkeeping during a recording.

    Parameters
    ----------
    target
        The sensor.
    model
        Its model.
    sensor_id
        Its id in the store.
    writer
        The session's writer.
    clock
        Host monotonic clock in s.
    t0
        Host time of the session's time 0, in s.
    ble
        Keyword arguments for bleak.
    connect_lock
        Shared by all sensors of a recording: one connection attempt at a time.
    on_samples
        Live callback, or None.
    connect_timeout_s
        Timeout of the first connection; failing it raises :class:`SensorUnreachable`.
    reconnect_backoff_s
        First and largest wait between reconnection attempts.
    """

    def __init__(
        self,
        target: SensorTarget,
        model: SensorModel,
        sensor_id: int,
        writer: SessionWriter,
        clock: Callable[[], float],
        t0: float,
        ble: BleKwargs,
        connect_lock: asyncio.Lock,
        on_samples: SampleCallback | None = None,
        connect_timeout_s: float = 10.0,
        reconnect_backoff_s: tuple[float, float] = (0.1, 1.0),
    ) -> None:
        self.target = target
        self.model = model
        self.sensor_id = sensor_id
        self.writer = writer
        self.clock = clock
        self.t0 = t0
        self.ble = ble
        self.connect_lock = connect_lock
        self.on_samples = on_samples
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_backoff_s = reconnect_backoff_s
        self.rate_hz = float(target.rate_hz or model.default_rate_hz)
        address = target.address if isinstance(target.address, str) else target.address.address
        self.report = SensorReport(target.placement, model.kind, address)
        self.assembler = StreamAssembler(model, AssemblerConfig(rate_hz=self.rate_hz))
        self.client: BleakClient | None = None
        self.connected = asyncio.Event()
        self._lost_link = asyncio.Event()
        self._closing = False
        self._battery_pending = False
        self._context: dict = {}

    # -- connection ----------------------------------------------------------------------------

    async def connect(self, timeout_s: float, start: bool = True) -> None:
        """Connect, configure and subscribe; then start streaming unless ``start`` is False."""
        client = BleakClient(
            self.target.address, disconnected_callback=self._on_disconnected, timeout=timeout_s, **self.ble.client
        )
        async with self.connect_lock:
            await client.connect()
        self.client = client
        try:
            if self.report.battery_percent is None:
                self.report.battery_percent = await read_battery(client, self.model)
            control = self.model.characteristics.get("control")
            control_char = client.services.get_characteristic(control) if control else None
            if control_char is not None and "notify" in control_char.properties:
                await client.start_notify(control_char, self._on_control)
            for char_uuid, data in self.model.configure_commands(rate_hz=self.rate_hz):
                await client.write_gatt_char(char_uuid, data, response=True)
            self.assembler.link_restored()
            await client.start_notify(self.model.notify_uuid, self._on_notify)
            if self.report.battery_percent is None and self.model.battery_request()[1] is not None:
                # Some sensors answer a battery request on the data stream (see _on_notify).
                char_uuid, request = self.model.battery_request()
                self._battery_pending = True
                await client.write_gatt_char(char_uuid, request, response=True)
            if start:
                await self.start()
        except BleakError:
            await client.disconnect()
            raise

    async def start(self) -> None:
        """Write the start commands and mark the link as streaming."""
        for char_uuid, data in self.model.start_commands(rate_hz=self.rate_hz):
            await self.client.write_gatt_char(char_uuid, data, response=True)
        self._lost_link.clear()
        self.connected.set()

    async def open(self) -> None:
        """The first connection (without starting); raises :class:`SensorUnreachable` on failure."""
        try:
            await self.connect(self.connect_timeout_s, start=False)
        except (TimeoutError, BleakError) as exc:
            raise SensorUnreachable(
                f"{self.target.placement} sensor {self.report.address} not reachable within "
                f"{self.connect_timeout_s:g} s ({exc}); switch it on, bring it closer, or check the address with 'imuform scan'"
            ) from exc

    def _on_disconnected(self, client: BleakClient) -> None:
        if self._closing:
            return
        self.connected.clear()
        self._lost_link.set()
        self.assembler.link_lost(self.clock() - self.t0)
        self.writer.add_event(self.clock() - self.t0, "disconnected", {"placement": self.target.placement})

    async def run(self, stop: asyncio.Event) -> None:
        """Stream (after :meth:`open` and :meth:`start`) until ``stop`` is set, reconnecting on drops."""
        while not stop.is_set():
            await _first(stop.wait(), self._lost_link.wait())
            if stop.is_set():
                break
            await self._reconnect(stop)
        await self.close()

    async def _reconnect(self, stop: asyncio.Event) -> None:
        wait_s, max_wait_s = self.reconnect_backoff_s
        while not stop.is_set():
            try:
                await self.connect(min(2.0, self.connect_timeout_s))
            except (TimeoutError, BleakError) as exc:
                logger.info("%s: reconnect failed (%s); retrying in %.2f s", self.target.placement, exc, wait_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait_s)
                wait_s = min(2 * wait_s, max_wait_s)
                continue
            self.report.reconnects += 1
            self.writer.add_event(self.clock() - self.t0, "reconnected", {"placement": self.target.placement})
            return

    async def close(self) -> None:
        """Stop streaming and disconnect (best effort: the link may already be gone)."""
        client = self.client
        if client is None or not client.is_connected:
            return
        try:
            async with asyncio.timeout(2.0):
                for char_uuid, data in self.model.stop_commands():
                    await client.write_gatt_char(char_uuid, data, response=True)
                await client.stop_notify(self.model.notify_uuid)
        except (BleakError, TimeoutError) as exc:
            logger.info("%s: stopping the stream failed: %s", self.target.placement, exc)
        self._closing = True
        await client.disconnect()
        self.connected.clear()

    # -- data ----------------------------------------------------------------------------------

    def _on_control(self, sender: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            response = self.model.parse_response(bytes(data))
        except ProtocolError as exc:
            logger.warning("%s sensor refused a command: %s", self.target.placement, exc)
            self.writer.add_event(
                self.clock() - self.t0, "sensor_error", {"placement": self.target.placement, "error": str(exc)}
            )
            return
        factor = response.get("settings", {}).get("factor")
        if factor:
            # Polar's start answer carries the scale of its delta frames, per measurement type.
            factors = {**self._context.get("factor", {}), response["measurement_type"]: factor[0]}
            self._context["factor"] = factors
            self.assembler.set_decoder_context(**self._context)

    def _on_notify(self, sender: BleakGATTCharacteristic, data: bytearray) -> None:
        host_s = self.clock() - self.t0
        payload = bytes(data)
        self.report.packets += 1
        self.writer.add_raw(self.sensor_id, host_s, payload)
        if self._battery_pending:
            try:
                self.report.battery_percent = self.model.parse_battery(payload)["percent"]
                self._battery_pending = False
                return
            except ProtocolError:
                pass
        assembled = self.assembler.feed(payload, host_s)
        # the assembler keeps the counts; the report (shown live) reads them
        self.report.samples, self.report.duplicates = self.assembler.counts.samples, self.assembler.counts.duplicates
        if assembled is None:
            return
        for gap in assembled.gaps:
            self.writer.add_gap(self.sensor_id, gap.start_s, gap.end_s, gap.reason)
        block = assembled.block
        nan3 = np.full((block.n, 3), np.nan)
        self.writer.add_samples(
            self.sensor_id,
            assembled.time_s,
            block.acc_mps2 if block.acc_mps2 is not None else nan3,
            block.gyr_dps if block.gyr_dps is not None else nan3,
            mag_uT=block.mag_uT,
            quat_wxyz=block.quat_wxyz,
            device_time_s=assembled.device_time_s,
        )
        if self.on_samples is not None:
            self.on_samples(self.target.placement, assembled.time_s, block)

    def finish(self, end_s: float, shared: ClockSync | None = None) -> FinalTimes:
        """Re-time the stored samples over the whole recording and fill in the report.

        The samples stored while recording carry the online clock map; the map fitted on every arrival is
        better (the first packets' latency is known only later), so it replaces theirs, with the gaps and
        losses found on the final times. ``shared`` is the pooled sync of sensors on one clock.
        """
        final = self.assembler.finalize(end_s, shared)
        self.writer.store.retime_sensor(
            self.sensor_id, final.time_s, [(g.start_s, g.end_s, g.reason) for g in final.gaps]
        )
        report = self.report
        report.undecodable = self.assembler.counts.undecodable
        report.lost = final.lost
        report.gaps_s = float(sum(g.end_s - g.start_s for g in final.gaps))
        report.drift_ppm, report.clock = final.clock.drift_ppm, final.clock.to_dict()
        if len(final.time_s) > 1:
            streaming_s = float(final.time_s[-1] - final.time_s[0]) - report.gaps_s
            if streaming_s > 0:
                report.effective_rate_hz = report.samples / streaming_s
        return final


async def _first(*awaitables) -> None:
    """Wait until the first of ``awaitables`` finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def identify_targets(targets: list[SensorTarget], ble: BleKwargs, scan_timeout_s: float) -> list[SensorModel]:
    """The model of each target; a target without a kind is scanned for and identified (its ``kind``
    and ``address`` are filled in, so a second call costs nothing).

    Raises
    ------
    SensorUnreachable
        When a sensor is not seen advertising within ``scan_timeout_s`` or is not a supported model.
    """
    models = []
    for target in targets:
        if target.kind is None:
            address = target.address if isinstance(target.address, str) else target.address.address
            found = await find_sensor(address, scan_timeout_s, ble)
            if found is None:
                raise SensorUnreachable(
                    f"no supported sensor at {address} seen within {scan_timeout_s:g} s; "
                    "switch it on and check the address with 'imuform scan'"
                )
            target.address, target.kind = found.device, found.model.kind
        models.append(get_model(target.kind))
    return models


async def record(
    store: Store,
    targets: list[SensorTarget],
    *,
    ble: BleKwargs | None = None,
    name: str = "",
    source: str = "record",
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    until: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_samples: SampleCallback | None = None,
    on_start: Callable[[str, list[SensorLink]], None] | None = None,
    on_finish: Callable[[SensorLink], None] | None = None,
    connect_timeout_s: float = 10.0,
    scan_timeout_s: float = 10.0,
) -> RecordingReport:
    """Record sensors into a new session until ``stop`` is set, ``duration_s`` passes or ``until()`` holds.

    Parameters
    ----------
    store
        The session store.
    targets
        The sensors (2–4), each with its placement.
    ble
        Keyword arguments passed to bleak (backend and its options); None for the OS stack.
    name, source
        Session name and source tag.
    duration_s
        Recording length on ``clock``, in s; None records until stopped.
    stop
        Set it (e.g. on Ctrl-C) to stop cleanly; the session is complete on disk afterwards.
    until
        Polled ten times a second; the recording stops when it returns True.
    clock
        Host monotonic clock in s (the virtual clock for virtual sensors).
    on_samples
        Live callback ``(placement, time_s, block)``.
    on_start
        Called with the session id and the sensor links once all are streaming (e.g. to draw a display).
    on_finish
        Called with each sensor's link when the recording has stopped, just before its samples are re-timed
        over the whole recording (`SensorLink.finish`; for a sensor without a clock about a second per hour
        of data), so that the wait can be shown.
    connect_timeout_s
        Per-sensor first-connection timeout.
    scan_timeout_s
        Scan time to identify sensors given without a kind.

    Returns
    -------
    RecordingReport
        The session id and a report per sensor.

    Raises
    ------
    SensorUnreachable
        When a sensor cannot be found or connected within its timeout.
    """
    ble = ble or BleKwargs()
    stop = stop or asyncio.Event()
    placements = [t.placement for t in targets]
    if len(set(placements)) != len(placements):
        raise ImuformError(f"each placement may be used once; got {', '.join(placements)}")
    models = await identify_targets(targets, ble, scan_timeout_s)
    session_id = store.create_session(name, source=source)
    links: list[SensorLink] = []
    lock = asyncio.Lock()
    t0 = clock()
    writer = store.writer(session_id)
    with writer:
        # names this process: a store opened after a kill -9 before any sample removes the empty session
        writer.add_event(0.0, "recording", {"pid": os.getpid()})
        for target, model in zip(targets, models):
            sensor_id = store.add_sensor(
                session_id,
                target.placement,
                kind=model.kind,
                model=model.name,
                address=target.address if isinstance(target.address, str) else target.address.address,
                rate_hz=float(target.rate_hz or model.default_rate_hz),
            )
            links.append(
                SensorLink(target, model, sensor_id, writer, clock, t0, ble, lock, on_samples, connect_timeout_s)
            )
        shared_clock = False
        try:
            for link in links:  # one at a time: one connection attempt per central
                await link.open()
            if len(links) > 1 and all(isinstance(link.model, DotModel) for link in links):
                status = await sync_dots([link.client for link in links], links[0].model)
                writer.add_event(clock() - t0, "dot_sync", status)
                shared_clock = all(value == "synced" for value in status.values())
            for link in links:
                await link.start()
        except BaseException:
            await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
            writer.close()
            store.delete(session_id)  # nothing was recorded: leave no empty session behind
            raise
        tasks = [asyncio.ensure_future(link.run(stop)) for link in links]
        watcher = asyncio.ensure_future(_stop_when(stop, clock, t0, duration_s, until, links, on_start, session_id))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    stop.set()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    raise task.exception()
        finally:
            watcher.cancel()
            if not all(t.done() for t in tasks):
                # Cancelled from outside (e.g. Ctrl-C without a stop event): still close the links.
                stop.set()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
            end_s = clock() - t0
            writer.flush()
            syncs = [link.assembler.sync for link in links]
            # Synchronised DOTs stamp one clock: one map for all, unless a sensor's clock restarted.
            shared = ClockSync.pooled(syncs) if shared_clock and all(s.epoch == 0 for s in syncs) else None
            for link in links:
                if on_finish is not None:
                    on_finish(link)
                link.finish(end_s, shared)
                writer.add_event(end_s, "clock", {"placement": link.target.placement, **link.report.clock})
    if not any(link.report.samples for link in links):
        store.delete(session_id)  # stopped before any sensor streamed: leave no empty session behind
        raise ImuformError("the recording stopped before any sensor sent a sample; nothing was saved")
    return RecordingReport(session_id, end_s, [link.report for link in links], t0)


async def _stop_when(stop, clock, t0, duration_s, until, links, on_start, session_id) -> None:
    """Set ``stop`` when the duration has passed or ``until()`` holds; call ``on_start`` once streaming."""
    started = False
    while not stop.is_set():
        if not started and all(link.connected.is_set() for link in links):
            started = True
            if on_start is not None:
                on_start(session_id, links)
        if (duration_s is not None and clock() - t0 >= duration_s) or (until is not None and until()):
            stop.set()
            return
        await asyncio.sleep(0.1)
