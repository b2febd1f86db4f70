"""Virtual BLE sensors: Bumble GATT peripherals that run a sensor model's profile, fed by simulated data.

A :class:`VirtualSensor` is one Bumble device on a :class:`~imuform.ble.virtual_radio.VirtualRadio`. It
advertises like the real sensor (name, service UUID, manufacturer data), exposes its GATT services and
characteristics, answers its commands through a per-model :class:`VirtualFirmware`, and, while
streaming, notifies the payloads of the model's ``firmware_protocol`` encoder for the samples whose
true time has passed on a shared :class:`VirtualClock`.

The clock can run faster than real time (``speed``), so tests and the demo replay minutes in seconds;
the recorder is handed the same clock as its host clock, so time stays consistent end to end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from firmware_protocol import SampleBlock, get_model
from imuform.ble.virtual_clock import VirtualClock
from imuform.ble.virtual_firmware import FIRMWARES
from imuform.ble.virtual_radio import VirtualRadio


@dataclass
class SensorStream:
    """What a sensor measures over the whole virtual session.

    Attributes
    ----------
    time_s
        (n,) true time of each sample on the virtual clock, increasing.
    acc_mps2, gyr_dps
        (n, 3) acceleration (m/s², with gravity) and angular rate (deg/s) in the sensor frame.
    device_time_s
        (n,) the sensor's own clock in s (offset and drift against true time), or None to use ``time_s``.
    mag_uT
        (n, 3) magnetic field in µT, or None.
    quat_wxyz
        (n, 4) fused orientation ``q_world_sensor``, or None.
    """

    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray
    device_time_s: np.ndarray | None = None
    mag_uT: np.ndarray | None = None
    quat_wxyz: np.ndarray | None = None

    @classmethod
    def from_simulated(cls, stream) -> SensorStream:
        """Adopt a stream of ``imuform.simulator``: every sample on its true time, device clock and all.

        The simulator's own packet loss is ignored: the virtual radio loses packets instead. The true
        orientation stands in for the fused orientation of sensors that fuse on board.
        """
        return cls(
            time_s=stream.true_time_s,
            acc_mps2=stream.acc_mps2,
            gyr_dps=stream.gyr_dps,
            device_time_s=stream.device_time_s,
            mag_uT=stream.mag_uT,
            quat_wxyz=stream.quat_world_sensor_wxyz,
        )

    def block(self, start: int, stop: int, channels: tuple[str, ...], time_base: str = "device") -> SampleBlock:
        """Samples ``start:stop`` as a ``SampleBlock`` holding ``channels`` (those this stream has).

        ``time_base`` ``"common"`` stamps true time (a synchronised sensor network's shared clock).
        """
        device = self.device_time_s if self.device_time_s is not None and time_base == "device" else self.time_s
        out = {"device_time_s": device[start:stop]}
        for name in channels:
            value = getattr(self, name)
            if value is not None:
                out[name] = value[start:stop]
        return SampleBlock(**out)


def resample(stream: SensorStream, rate_hz: float) -> SensorStream:
    """Linearly resample a stream to ``rate_hz`` (quaternions renormalised), for a sensor set to another rate.

    Parameters
    ----------
    stream
        The simulated stream.
    rate_hz
        The sensor's configured rate.
    """
    t = np.arange(stream.time_s[0], stream.time_s[-1], 1.0 / rate_hz)

    def interp(x: np.ndarray | None) -> np.ndarray | None:
        if x is None:
            return None
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            return np.interp(t, stream.time_s, x)
        return np.column_stack([np.interp(t, stream.time_s, x[:, k]) for k in range(x.shape[1])])

    quat = interp(stream.quat_wxyz)
    if quat is not None:
        quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    return SensorStream(
        t, interp(stream.acc_mps2), interp(stream.gyr_dps), interp(stream.device_time_s), interp(stream.mag_uT), quat
    )


class VirtualSensor:
    """A virtual sensor of one model on a virtual radio.

    Parameters
    ----------
    radio
        The virtual radio the sensor's controller joins.
    kind
        Sensor kind (a ``firmware_protocol.MODELS`` key).
    address
        Its static random address, e.g. ``"F0:00:00:00:00:01"``.
    stream
        What it measures (true time on ``clock``).
    clock
        The shared virtual clock.
    name
        Advertised local name (default: as the real model's, with the address's last bytes).
    notify_interval_s
        Virtual seconds between notification bursts while streaming.
    resend_after_reconnect_s
        Payloads sent in this many virtual seconds before a link drop are sent again after the next
        subscription, as firmware that retransmits unacknowledged data does (exercises de-duplication);
        0 resends nothing. Longer than the supervision timeout plus the replay's allowed lateness, some
        of them were received before the drop: those are the duplicates. A count of payloads would not
        do: how many went out into the void before the drop depends on the kind's notification rate and
        on how late the replay was.
    sensor_id
        Id written into payloads where the protocol has one.
    """

    def __init__(
        self,
        radio: VirtualRadio,
        kind: str,
        address: str,
        stream: SensorStream,
        clock: VirtualClock,
        *,
        name: str | None = None,
        notify_interval_s: float = 0.02,
        resend_after_reconnect_s: float = 0.0,
        sensor_id: int = 0,
    ) -> None:
        self.model = get_model(kind)
        self.address = address
        self.clock = clock
        self.notify_interval_s = notify_interval_s
        self.resend_after_reconnect_s = resend_after_reconnect_s
        self.source = stream
        rate_hz = float(1.0 / np.median(np.diff(stream.time_s)))
        self.firmware = FIRMWARES[kind](self.model, round(rate_hz, 3), sensor_id)
        self.name = name or f"{self.firmware.name_prefix} {address[-5:].replace(':', '')}"
        self.stream = stream
        self.device = radio.create_device(self.name, address)
        self.radio = radio
        self._chars: dict[str, Characteristic] = {}
        self._connection: Connection | None = None
        self._recent: list[tuple[float, bytes]] = []  # (virtual time sent, payload)
        self._resend: list[bytes] = []
        self._task: asyncio.Task | None = None
        #: Virtual time at which the stream's time 0 falls (infinite: the simulated person has not begun).
        self.start_s = 0.0
        #: Notifications the firmware's transmit buffer holds (nRF52 SoftDevices queue 6–20 per link).
        self.tx_buffer_packets = 16
        #: Payloads notified, for tests and benchmarks.
        self.payloads_sent = 0
        self._build_gatt()

    def _build_gatt(self) -> None:
        services = []
        for service_uuid, chars in self.firmware.layout().items():
            members = []
            for char_uuid, props in chars.items():
                value = CharacteristicValue(
                    read=lambda conn, u=char_uuid: self.firmware.read(u),
                    write=lambda conn, data, u=char_uuid: self._on_write(u, bytes(data)),
                )
                char = Characteristic(UUID(char_uuid), props, Characteristic.READABLE | Characteristic.WRITEABLE, value)
                char.on(
                    Characteristic.EVENT_SUBSCRIPTION,
                    lambda conn, notify, indicate, u=char_uuid: self.firmware.on_subscribe(u, notify or indicate),
                )
                self._chars[char_uuid] = char
                members.append(char)
            services.append(Service(UUID(service_uuid), members))
        for service in services:
            self.device.add_service(service)
        ad = [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
            (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(self.model.service_uuid))),
        ]
        if self.model.company_ids:
            ad.append((AdvertisingData.MANUFACTURER_SPECIFIC_DATA, self.model.company_ids[0].to_bytes(2, "little")))
        self.device.advertising_data = bytes(AdvertisingData(ad))

    def _on_write(self, char_uuid: str, data: bytes) -> None:
        rate_before = self.firmware.rate_hz
        answers = self.firmware.on_write(char_uuid, data)
        if self.firmware.rate_hz != rate_before:
            self.stream = resample(self.source, self.firmware.rate_hz)
        for uuid, payload in answers:
            asyncio.get_running_loop().create_task(self.device.notify_subscribers(self._chars[uuid], payload))

    async def start(self) -> None:
        """Power on, advertise (restarting after every disconnection) and start the streaming task."""
        await self.device.power_on()
        self.device.on("connection", self._on_connection)
        await self.device.start_advertising(auto_restart=True, advertising_interval_min=20, advertising_interval_max=20)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self.firmware.on_disconnect()
        since_s = self.clock() - self.resend_after_reconnect_s
        self._resend = [payload for sent_s, payload in self._recent if sent_s >= since_s]

    @property
    def finished(self) -> bool:
        """Whether the whole stream has been sent (or its time has passed unsent)."""
        return self._task is not None and self._task.done()

    async def _run(self) -> None:
        """Notify the samples that came due since the last burst, while streaming."""
        notify_char = self._chars[self.model.notify_uuid]
        sent_until_s = -np.inf  # true time of the last sample sent or skipped
        while sent_until_s < self.stream.time_s[-1]:
            await self.clock.sleep(self.notify_interval_s)
            if not np.isfinite(self.start_s):
                continue
            now_s = min(self.clock() - self.start_s, float(self.stream.time_s[-1]))
            # Search by time: a rate change resamples the stream and moves the indices.
            start, due = np.searchsorted(self.stream.time_s, [sent_until_s, now_s], side="right")
            # a loop that woke late (a busy event loop) holds samples back as surely as a slow send
            woke_late_s = now_s - sent_until_s - self.notify_interval_s if np.isfinite(sent_until_s) else 0.0
            sent_until_s = now_s
            if not self.firmware.streaming or self._connection is None:
                continue  # samples taken while not streaming are never sent
            bursts = [(self._resend, self.clock())] if self._resend else []  # sent again after a reconnect: now
            self._resend = []
            # The sensor notifies on its own clock: each burst holds the samples of one notify interval and
            # is ready when its last sample is taken, whenever the replay gets round to sending it.
            times = self.stream.time_s[start:due]
            cuts = np.flatnonzero(np.diff(np.floor(times / self.notify_interval_s))) + 1
            for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(times)]):
                if b > a:
                    block = self.stream.block(
                        int(start + a), int(start + b), self.firmware.channels, self.firmware.device_time_base()
                    )
                    bursts.append((self.firmware.encode(block), self.start_s + float(times[b - 1])))
            for payloads, ready_s in bursts:
                for payload in payloads:
                    if self._connection is None:
                        break
                    self.radio.ready(self.device, payload, ready_s)
                    await self.device.notify_subscribers(notify_char, payload)
                    self.payloads_sent += 1
                    await self._wait_for_room(ready_s)
            if self.resend_after_reconnect_s > 0:
                now = self.clock()
                kept = [
                    (sent_s, payload)
                    for sent_s, payload in self._recent
                    if sent_s >= now - self.resend_after_reconnect_s
                ]
                self._recent = kept + [(now, payload) for burst, _ in bursts for payload in burst]
            self.clock.report_lateness(max(woke_late_s, 0.0) + self.clock() - self.start_s - now_s)

    async def _wait_for_room(self, ready_s: float) -> None:
        """Hold the stream while the transmit buffer is full, as firmware does.

        Bumble's host queues every notification it cannot hand to the controller yet; unbounded, a replay
        faster than the machine can carry would pile seconds of data there (all lost at a dropout). Held
        here instead, the sensor falls behind its clock and reports how far (its burst was ready at
        ``ready_s``), so the virtual clock slows down.
        """
        queue = self.device.host.le_acl_packet_queue
        while queue is not None and queue.pending > self.tx_buffer_packets and self._connection is not None:
            self.clock.report_lateness(self.clock() - ready_s)
            await asyncio.sleep(0.001)

    async def stop(self) -> None:
        """Stop streaming and power off the device's advertising."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._connection is not None:
            await self._connection.disconnect()
        await self.device.stop_advertising()
