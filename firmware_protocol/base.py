"""The contract every sensor protocol follows: sample blocks, diagnostics, errors, decoders, encoders, models.

Units are the project's (docs/conventions.md): acc in m/s², gyro in deg/s, magnetic field in µT, the
device quaternion ``q_world_sensor`` scalar first, device time in s (unwrapped).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

#: Gravity in m/s², as in docs/conventions.md (vendor "g" units convert with this).
G_MPS2 = 9.81
#: 1 Gauss in µT.
GAUSS_UT = 100.0

#: The Bluetooth SIG base UUID, for expanding 16-bit UUIDs.
_SIG_BASE = "-0000-1000-8000-00805f9b34fb"


def sig_uuid(short: int) -> str:
    """Expand a 16-bit Bluetooth SIG UUID (e.g. ``0x180F``) to its 128-bit lower-case string."""
    return f"{short:08x}{_SIG_BASE}"


#: Standard Battery Service and Battery Level characteristic (one byte, percent).
BATTERY_SERVICE_UUID = sig_uuid(0x180F)
BATTERY_LEVEL_UUID = sig_uuid(0x2A19)
#: Standard Device Information service and Firmware Revision String characteristic (UTF-8).
DEVICE_INFO_SERVICE_UUID = sig_uuid(0x180A)
FIRMWARE_REVISION_UUID = sig_uuid(0x2A26)


class ProtocolError(Exception):
    """Base of every error a protocol module raises."""


class CorruptPacket(ProtocolError):
    """Bytes that cannot be a valid packet of the protocol (bad length, header or checksum)."""


class UnsupportedPayload(ProtocolError):
    """A well-formed packet of a kind this decoder does not handle (another measurement, mode or frame type)."""


class BadResponse(ProtocolError):
    """A control-point response that is malformed or reports an error status."""


class UnknownSensor(ProtocolError):
    """A sensor kind that is not in the registry."""


@dataclass
class SampleBlock:
    """A block of ``n`` samples in project units; a channel the packet does not carry is ``None``.

    Attributes
    ----------
    device_time_s
        (n,) the sensor's own clock in s, unwrapped; ``None`` when the sensor has no clock.
    acc_mps2
        (n, 3) acceleration in m/s², sensor frame, including gravity.
    gyr_dps
        (n, 3) angular rate in deg/s, sensor frame.
    mag_uT
        (n, 3) magnetic field in µT, sensor frame.
    quat_wxyz
        (n, 4) the device's fused orientation ``q_world_sensor``, scalar first.
    """

    device_time_s: np.ndarray | None = None
    acc_mps2: np.ndarray | None = None
    gyr_dps: np.ndarray | None = None
    mag_uT: np.ndarray | None = None
    quat_wxyz: np.ndarray | None = None

    CHANNELS: ClassVar[tuple[str, ...]] = ("device_time_s", "acc_mps2", "gyr_dps", "mag_uT", "quat_wxyz")

    @property
    def n(self) -> int:
        """Number of samples (0 for a block with no channels)."""
        for name in self.CHANNELS:
            value = getattr(self, name)
            if value is not None:
                return len(value)
        return 0

    @classmethod
    def empty(cls) -> SampleBlock:
        """A block with no samples and no channels."""
        return cls()

    @classmethod
    def concat(cls, blocks: list[SampleBlock]) -> SampleBlock:
        """Concatenate blocks in order, skipping empty ones.

        A channel present in some non-empty blocks but missing in others is filled with NaN there, so
        the rows stay aligned.
        """
        if len(blocks) == 1 and blocks[0].n:
            return blocks[0]  # the usual case of a decoder's feed: nothing to copy or filter
        blocks = [b for b in blocks if b.n]
        if not blocks:
            return cls.empty()
        if len(blocks) == 1:
            return blocks[0]
        out = {}
        for name in cls.CHANNELS:
            parts = [getattr(b, name) for b in blocks]
            if all(p is None for p in parts):
                out[name] = None
                continue
            width = next(p.shape[1:] for p in parts if p is not None)
            out[name] = np.concatenate(
                [p if p is not None else np.full((b.n, *width), np.nan) for p, b in zip(parts, blocks)]
            )
        return cls(**out)

    def channels(self) -> list[str]:
        """Names of the channels this block carries."""
        return [name for name in self.CHANNELS if getattr(self, name) is not None]

    def require(self, channels: tuple[str, ...], what: str) -> None:
        """Raise `UnsupportedPayload` when the block lacks any of ``channels`` that ``what`` must carry."""
        missing = [name for name in channels if getattr(self, name) is None]
        if missing:
            raise UnsupportedPayload(f"{what} needs {' and '.join(missing)}")


@dataclass
class PacketDiagnostics:
    """What one ``Decoder.feed`` call saw.

    Attributes
    ----------
    frames
        Frames decoded.
    samples
        Samples decoded.
    bytes_skipped
        Bytes discarded as garbage, corrupt frames or buffer overflow.
    lost_frames
        Frames missing according to a sequence counter (0 where the protocol has none).
    time_gaps
        Gaps in the device clock longer than 1.5 sample periods (0 where there is no clock).
    notes
        Human-readable remarks (why bytes were skipped, what was ignored).
    """

    frames: int = 0
    samples: int = 0
    bytes_skipped: int = 0
    lost_frames: int = 0
    time_gaps: int = 0
    notes: list[str] = field(default_factory=list)

    def skip(self, n_bytes: int, why: str) -> None:
        """Record ``n_bytes`` discarded bytes and the reason."""
        if n_bytes > 0:
            self.bytes_skipped += n_bytes
            self.notes.append(f"skipped {n_bytes} B: {why}")


class Decoder(ABC):
    """A stateful decoder of one sensor's notification payloads.

    ``feed`` does not raise on bad bytes: it skips them and says how many and why in the diagnostics,
    so one corrupt notification never stops a recording. Only a ``ProtocolError`` subclass may escape
    it (never any other exception).
    """

    @abstractmethod
    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode one notification payload into samples and diagnostics."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all state (buffers, counters, clock unwrapping), as after a reconnect."""

    def pending_bytes(self) -> int:
        """Bytes held back waiting for the rest of a frame (0 for one-frame-per-notification protocols)."""
        return 0


class Encoder(ABC):
    """Turns samples into notification payloads of a sensor, for the virtual sensors and tests.

    Parameters
    ----------
    max_payload
        Largest notification payload in bytes (ATT MTU − 3).
    """

    def __init__(self, max_payload: int = 244) -> None:
        if max_payload < 20:
            raise ProtocolError(f"max_payload {max_payload} B is below the BLE minimum of 20 B")
        self.max_payload = max_payload

    @abstractmethod
    def encode(self, block: SampleBlock) -> list[bytes]:
        """Encode samples as notification payloads, each at most ``max_payload`` bytes."""


class ClockUnwrapper:
    """Unwraps a wrapping device counter into monotonic seconds.

    Parameters
    ----------
    bits
        Width of the counter (32 for a µs counter that wraps every ~71.6 min).
    tick_s
        Duration of one count in s.
    """

    def __init__(self, bits: int, tick_s: float) -> None:
        self.modulus = 1 << bits
        self.tick_s = tick_s
        self.reset()

    def reset(self) -> None:
        """Forget the last count and the wrap offset."""
        self._last: int | None = None
        self._offset = 0

    def unwrap_count(self, count: int) -> float:
        """Unwrap one raw count (the scalar form of ``unwrap``, for once-per-frame stamps)."""
        if self._last is not None and count - self._last < -(self.modulus // 2):
            self._offset += self.modulus
        self._last = count
        return (self._offset + count) * self.tick_s

    def unwrap(self, counts: np.ndarray) -> np.ndarray:
        """Unwrap raw counts (in arrival order) and return device time in s.

        A step backwards by more than half the range is taken as a wrap; a smaller step backwards (a
        reordered or repeated sample) is left as it is.
        """
        counts = np.asarray(counts, dtype=np.int64)
        if counts.size <= 1:  # one sample per notification is common: skip the vector machinery
            return np.array([self.unwrap_count(int(c)) for c in counts])
        prev = np.concatenate([[counts[0] if self._last is None else self._last], counts[:-1]])
        wraps = np.cumsum((counts - prev) < -(self.modulus // 2))
        total = self._offset + wraps * self.modulus + counts
        self._offset += int(wraps[-1]) * self.modulus
        self._last = int(counts[-1])
        return total * self.tick_s


#: Quaternion w, x, y, z as signed sums of the eight products c/s(roll)·c/s(pitch)·c/s(yaw) of half-angle
#: cosines (c) and sines (s), indexed roll·4 + pitch·2 + yaw with 0 = cos, 1 = sin.
_EULER_ZYX_SIGNS = np.array([
    [1, 0, 0, 0, 0, 0, 0, 1],  # w = ccc + sss
    [0, 0, 0, -1, 1, 0, 0, 0],  # x = scc − css
    [0, 0, 1, 0, 0, 1, 0, 0],  # y = csc + scs
    [0, 1, 0, 0, 0, 0, -1, 0],  # z = ccs − ssc
], dtype=np.float64).T  # fmt: skip
_COS_SIN_SHIFT = np.array([0.0, np.pi / 2])[:, None, None]


def euler_to_quat_wxyz(angle_deg: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (about x, y, z, in deg) of R = Rz(yaw)·Ry(pitch)·Rx(roll) as (n, 4) quaternions w,x,y,z.

    The closed form (the same as scipy's ``from_euler("ZYX", ...)``) in a handful of array operations,
    because scipy's per-call overhead is several times the whole decode of a notification.
    """
    return half_euler_to_quat_wxyz(np.multiply(angle_deg, np.pi / 360.0))


def half_euler_to_quat_wxyz(half_rad: np.ndarray) -> np.ndarray:
    """`euler_to_quat_wxyz` of half the angles in radians (``angle_deg · π / 360``), for decoders that
    fold that factor into their unit scale."""
    # cosines and sines of the half angles in one call: sin(x) = cos(x - 90°); (cos|sin, n, roll|pitch|yaw)
    cs = np.cos(half_rad[None] - _COS_SIN_SHIFT)
    products = np.einsum("in,jn,kn->nijk", cs[:, :, 0], cs[:, :, 1], cs[:, :, 2]).reshape(-1, 8)
    return products @ _EULER_ZYX_SIGNS


def quantise_int16(x: np.ndarray) -> np.ndarray:
    """Round to the nearest integer and saturate to int16 (as a sensor's ADC does), for the encoders."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def count_time_gaps(time_s: np.ndarray, period_s: float, last_time_s: float | None) -> int:
    """Count steps in device time longer than 1.5 sample periods (lost samples).

    Parameters
    ----------
    time_s
        Device times of the new samples in s.
    period_s
        Nominal sample period in s.
    last_time_s
        Device time of the previous sample, or None at the start of a stream.
    """
    if time_s.size == 0 or period_s <= 0:
        return 0
    if time_s.size == 1:
        return int(last_time_s is not None and time_s[0] - last_time_s > 1.5 * period_s)
    t = time_s if last_time_s is None else np.concatenate([[last_time_s], time_s])
    return int(np.count_nonzero(np.diff(t) > 1.5 * period_s))


class ByteStream:
    """A bounded reassembly buffer for protocols whose frames may span notifications.

    A decoder appends each payload with ``push``, consumes the complete frames from ``buf`` and then
    calls ``bound``, so only an incomplete tail is carried over and it never exceeds ``max_bytes``.

    Parameters
    ----------
    max_bytes
        Capacity of the carried-over tail; beyond it the oldest bytes are dropped (and counted).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buf = bytearray()

    def push(self, payload: bytes) -> None:
        """Append a payload."""
        self.buf += payload

    def bound(self, diag: PacketDiagnostics) -> None:
        """Drop the oldest bytes beyond capacity."""
        excess = len(self.buf) - self.max_bytes
        if excess > 0:
            del self.buf[:excess]
            diag.skip(excess, "reassembly buffer full")

    def clear(self) -> None:
        """Drop everything buffered."""
        self.buf.clear()


class SensorModel(ABC):
    """Everything about one sensor model: GATT layout, recognition, commands, responses, codecs.

    Subclasses fill in the class attributes and the methods. Characteristic UUIDs are lower-case
    128-bit strings. Command builders return ``(char_uuid, bytes)`` pairs to write in order.
    """

    kind: ClassVar[str]
    name: ClassVar[str]
    vendor: ClassVar[str]
    service_uuid: ClassVar[str]
    #: Characteristic UUIDs by role: "notify" (samples) always; "control", "battery", "firmware", ... as the
    #: model has them.
    characteristics: ClassVar[dict[str, str]]
    rates_hz: ClassVar[tuple[float, ...]]
    default_rate_hz: ClassVar[float]
    has_device_clock: ClassVar[bool]
    has_fusion: ClassVar[bool]
    has_magnetometer: ClassVar[bool]
    #: Where on the body the sensor fits best, or "" for anywhere.
    placement_hint: ClassVar[str] = ""
    #: Regular expression matched against the advertised local name.
    name_pattern: ClassVar[str | None] = None
    #: Company identifiers (Bluetooth SIG) seen in the manufacturer data.
    company_ids: ClassVar[tuple[int, ...]] = ()
    #: Service UUIDs the sensor advertises besides ``service_uuid`` (some advertise another service).
    advertised_uuids: ClassVar[tuple[str, ...]] = ()
    notes: ClassVar[str] = ""

    @property
    def notify_uuid(self) -> str:
        """The characteristic that streams samples."""
        return self.characteristics["notify"]

    def matches(self, name: str | None, service_uuids: list[str], manufacturer_data: dict[int, bytes]) -> bool:
        """Whether an advertisement comes from this model (by service UUID, company id or name)."""
        wanted = {self.service_uuid, *self.advertised_uuids}
        if any(u.lower() in wanted for u in service_uuids):
            return True
        if name and self.name_pattern and re.search(self.name_pattern, name):
            return True
        return any(cid in manufacturer_data for cid in self.company_ids) and bool(
            name is None or self.name_pattern is None or re.search(self.name_pattern, name)
        )

    def check_rate(self, rate_hz: float) -> float:
        """Return ``rate_hz`` if the model supports it, else raise UnsupportedPayload naming the valid rates."""
        if rate_hz not in self.rates_hz:
            valid = ", ".join(f"{r:g}" for r in self.rates_hz)
            raise UnsupportedPayload(f"{self.name} cannot stream at {rate_hz:g} Hz; choose one of {valid} Hz")
        return rate_hz

    def configure_commands(self, rate_hz: float | None = None, **options) -> list[tuple[str, bytes]]:
        """Writes that configure the sensor before streaming (rate, ranges, mode)."""
        return []

    @abstractmethod
    def start_commands(self, **options) -> list[tuple[str, bytes]]:
        """Writes that start streaming (after subscribing to ``notify``)."""

    @abstractmethod
    def stop_commands(self) -> list[tuple[str, bytes]]:
        """Writes that stop streaming."""

    def battery_request(self) -> tuple[str, bytes | None]:
        """Where to read the battery: ``(char_uuid, bytes to write first or None for a plain read)``."""
        return BATTERY_LEVEL_UUID, None

    def parse_battery(self, data: bytes) -> dict[str, float | None]:
        """Parse a battery reading into ``{"percent": ..., "voltage_v": ...}`` (None where unknown)."""
        if len(data) < 1 or data[0] > 100:
            raise BadResponse(f"battery level {data.hex(' ')} is not one byte of 0..100 %")
        return {"percent": float(data[0]), "voltage_v": None}

    def firmware_request(self) -> tuple[str, bytes | None]:
        """Where to read the firmware version: ``(char_uuid, bytes to write first or None)``."""
        return FIRMWARE_REVISION_UUID, None

    def parse_firmware(self, data: bytes) -> str:
        """Parse a firmware-version reading into a string."""
        return bytes(data).split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def parse_response(self, data: bytes) -> dict:
        """Parse a control-point response; raise BadResponse for an error status or malformed bytes."""
        raise UnsupportedPayload(f"{self.name} has no control-point responses")

    @abstractmethod
    def decoder(self, **context) -> Decoder:
        """A fresh decoder; ``context`` holds what the protocol needs (rate, ranges, mode, scale factor)."""

    @abstractmethod
    def encoder(self, **context) -> Encoder:
        """A fresh encoder for the virtual sensor of this model."""

    def describe(self) -> dict:
        """A JSON-able summary for ``imuform decode --sensor list --json``."""
        return {
            "kind": self.kind,
            "name": self.name,
            "vendor": self.vendor,
            "service_uuid": self.service_uuid,
            "characteristics": dict(self.characteristics),
            "rates_hz": list(self.rates_hz),
            "has_device_clock": self.has_device_clock,
            "has_fusion": self.has_fusion,
            "has_magnetometer": self.has_magnetometer,
            "placement_hint": self.placement_hint,
        }
