"""Record sensors over BLE into the session store, with reconnects, de-duplication and time sync.

Built only on bleak's public API: the recorder never knows which backend runs underneath (the
operating system's stack, or Bumble's virtual radio); ``BleKwargs`` are passed through to bleak.

For each sensor a :class:`SensorLink` connects (one connection attempt at a time across sensors),
configures the sensor with its ``firmware_protocol`` commands, subscribes, and decodes every
notification as it arrives, stamped with the host's monotonic clock. Samples go to the store
(``SessionWriter``: incremental and transactional, raw payloads too) and to an optional live callback.
When a link drops it reconnects with exponential backoff, re-subscribes, drops notifications it has
already seen, and records the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
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
from imuform.ble.timesync import ClockSync
from imuform.errors import ImuformError
from imuform.store import SessionWriter, Store

logger = logging.getLogger(__name__)

#: Called with (placement, time_s, block) for every block of new samples, on the event loop.
SampleCallback = Callable[[str, np.ndarray, SampleBlock], None]

#: Payloads remembered around a reconnect to recognise re-sent ones (sensors without a clock).
_DEDUPE_WINDOW = 64


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
        Estimated device clock drift against the host clock.
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
        Host clock reading at session time 0 (the virtual clock's for virtual sensors).
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


class ChannelJoiner:
    """Pairs acceleration and angular rate that a sensor sends in separate packets (MetaWear, Polar).

    Blocks holding both pass through. A block with only one of the two is queued until the other
    arrives; samples are paired in arrival order and keep the acceleration's device time. Blocks with
    neither (a quaternion or magnetometer packet alone) carry no row for the samples table and are
    dropped.
    """

    def __init__(self) -> None:
        self._acc: list[np.ndarray] = []
        self._acc_time: list[np.ndarray] = []
        self._gyr: list[np.ndarray] = []

    def push(self, block: SampleBlock) -> SampleBlock:
        """Return the complete samples available after ``block`` (possibly none)."""
        has_acc, has_gyr = block.acc_mps2 is not None, block.gyr_dps is not None
        if has_acc and has_gyr:
            return block
        if has_acc:
            self._acc.append(np.asarray(block.acc_mps2))
            times = block.device_time_s if block.device_time_s is not None else np.full(block.n, np.nan)
            self._acc_time.append(np.asarray(times, dtype=float))
        elif has_gyr:
            self._gyr.append(np.asarray(block.gyr_dps))
        else:
            return SampleBlock.empty()
        acc = np.concatenate(self._acc) if self._acc else np.empty((0, 3))
        acc_time = np.concatenate(self._acc_time) if self._acc_time else np.empty(0)
        gyr = np.concatenate(self._gyr) if self._gyr else np.empty((0, 3))
        n = min(len(acc), len(gyr))
        if not n:
            return SampleBlock.empty()
        self._acc, self._acc_time, self._gyr = [acc[n:]], [acc_time[n:]], [gyr[n:]]
        device = acc_time[:n] if not np.isnan(acc_time[:n]).any() else None
        return SampleBlock(device_time_s=device, acc_mps2=acc[:n], gyr_dps=gyr[:n])


def _subset(block: SampleBlock, keep: np.ndarray) -> SampleBlock:
    return SampleBlock(**{name: getattr(block, name)[keep] for name in block.channels()})


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
        self.period_s = 1.0 / self.rate_hz
        #: Holes in the device clock at least this long are gaps; shorter ones count as lost samples.
        self.gap_threshold_s = max(0.25, 10 * self.period_s)
        address = target.address if isinstance(target.address, str) else target.address.address
        self.report = SensorReport(target.placement, model.kind, address)
        # A sample count at a nominal rate may be off by a few percent; a crystal clock by 10⁻⁴.
        self.sync = ClockSync(max_drift=1e-3 if model.has_device_clock else 0.05)
        self.decoder = model.decoder(rate_hz=self.rate_hz)
        self.client: BleakClient | None = None
        self.connected = asyncio.Event()
        self._lost_link = asyncio.Event()
        self._last_device_s: float | None = None
        self._last_time_s: float | None = None
        self._first_time_s: float | None = None
        self._count = 0
        self._gap_start_s: float | None = None
        self._recent = deque(maxlen=_DEDUPE_WINDOW)
        self._before_drop: set[bytes] = set()
        self._after_drop = 0
        self._closing = False
        self._battery_pending = False
        self._context: dict = {}
        self._joiner = ChannelJoiner()

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
            self.decoder.reset()
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
        self._gap_start_s = self._last_time_s
        self._before_drop = set(self._recent)
        self._after_drop = _DEDUPE_WINDOW
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
        if self._gap_start_s is not None and not self.connected.is_set():
            self._add_gap(self._gap_start_s, self.clock() - self.t0, "link lost; not reconnected before the end")
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
            self.decoder = self.model.decoder(rate_hz=self.rate_hz, **self._context)

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
        if not self.model.has_device_clock:
            # Without a device clock only the bytes tell a re-sent payload from a new one.
            if self._after_drop:
                self._after_drop -= 1
                if payload in self._before_drop:
                    self.report.duplicates += 1
                    return
            self._recent.append(payload)
        try:
            block, diag = self.decoder.feed(payload)
        except ProtocolError as exc:
            logger.warning("%s: undecodable payload %s: %s", self.target.placement, payload[:8].hex(), exc)
            return
        if not self.model.has_device_clock:
            self.report.lost += diag.lost_frames
        block = self._joiner.push(block)
        if block.n:
            self._on_block(block, host_s)

    def _on_block(self, block: SampleBlock, host_s: float) -> None:
        reconnected = self._gap_start_s is not None
        if block.device_time_s is None:
            if reconnected:
                self.sync.new_epoch()
                self._count = 0
            # No device clock: count samples at the nominal rate; the sync absorbs the rate error.
            device_s = (self._count + np.arange(block.n)) * self.period_s
            self._count += block.n
            time_s = self._sync(device_s, host_s)
            if reconnected:
                self._add_gap(self._gap_start_s, float(time_s[0]), "link lost; reconnected")
                self._gap_start_s = None
        else:
            device_s = np.asarray(block.device_time_s, dtype=float)
            previous_s = self._last_device_s
            if previous_s is not None and device_s[0] < previous_s - 10.0:
                # The device clock restarted (power cycle, or a wrap the reset decoder missed).
                self.sync.new_epoch()
                previous_s = None
            if previous_s is not None:
                keep = device_s > previous_s + 0.5 * self.period_s
                if not keep.all():
                    self.report.duplicates += int((~keep).sum())
                    block, device_s = _subset(block, keep), device_s[keep]
                    if not block.n:
                        return
            self._last_device_s = float(device_s[-1])
            time_s = self._sync(device_s, host_s)
            if previous_s is not None:
                self._account_holes(np.r_[previous_s, device_s], np.r_[self._last_time_s, time_s])
        if self._first_time_s is None:
            self._first_time_s = float(time_s[0])
        self._last_time_s = float(time_s[-1])
        n = block.n
        nan3 = np.full((n, 3), np.nan)
        self.writer.add_samples(
            self.sensor_id,
            time_s,
            block.acc_mps2 if block.acc_mps2 is not None else nan3,
            block.gyr_dps if block.gyr_dps is not None else nan3,
            mag_uT=block.mag_uT,
            quat_wxyz=block.quat_wxyz,
            device_time_s=block.device_time_s if self.model.has_device_clock else None,
        )
        self.report.samples += n
        if self.on_samples is not None:
            self.on_samples(self.target.placement, time_s, block)

    def _sync(self, device_s: np.ndarray, host_s: float) -> np.ndarray:
        self.sync.add(float(device_s[-1]), host_s)
        return self.sync.to_host(device_s)

    def _account_holes(self, device_s: np.ndarray, time_s: np.ndarray) -> None:
        """Count short holes in the device clock as lost samples; record long ones as gaps."""
        steps = np.diff(device_s)
        for i in np.flatnonzero(steps > 1.5 * self.period_s):
            if steps[i] < self.gap_threshold_s:
                self.report.lost += int(np.rint(steps[i] / self.period_s)) - 1
                continue
            reason = "link lost; reconnected" if self._gap_start_s is not None else "samples missing"
            self._add_gap(float(time_s[i]), float(time_s[i + 1]), reason)
            self._gap_start_s = None

    def _add_gap(self, start_s: float, end_s: float, reason: str) -> None:
        self.writer.add_gap(self.sensor_id, start_s, end_s, reason)
        self.report.gaps_s += end_s - start_s

    def finish_report(self) -> SensorReport:
        """The report, with the effective rate and drift filled in."""
        if self._first_time_s is not None and self._last_time_s is not None:
            streaming_s = self._last_time_s - self._first_time_s - self.report.gaps_s
            if streaming_s > 0:
                self.report.effective_rate_hz = self.report.samples / streaming_s
        self.report.drift_ppm = self.sync.drift_ppm
        return self.report


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
        try:
            for link in links:  # one at a time: one connection attempt per central
                await link.open()
            if len(links) > 1 and all(isinstance(link.model, DotModel) for link in links):
                status = await sync_dots([link.client for link in links], links[0].model)
                writer.add_event(clock() - t0, "dot_sync", status)
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
    return RecordingReport(session_id, clock() - t0, [link.finish_report() for link in links], t0)


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
