"""Movella (Xsens) DOT: real-time streaming payloads, device control and sync messages.

Follows "Xsens DOT BLE Services Specifications" (XD0506P rev F) and Xsens' own bleHandler.js
(xsens/xsens_dot_server). Every payload is little-endian and starts with a uint32 µs timestamp
(SampleTimeFine) that wraps after 2^32 µs ≈ 71.6 min; there is no packet counter. One notification
holds one sample; short-payload modes are zero-padded to 20 bytes.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from firmware_protocol.base import (
    G_MPS2,
    BadResponse,
    ClockUnwrapper,
    Decoder,
    Encoder,
    PacketDiagnostics,
    SampleBlock,
    SensorModel,
    UnsupportedPayload,
    count_time_gaps,
    euler_to_quat_wxyz,
    quantise_int16,
)


def dot_uuid(short: int) -> str:
    """A DOT characteristic UUID from its 16-bit short form (base 1517xxxx-4947-11E9-8646-D663BD873D93)."""
    return f"1517{short:04x}-4947-11e9-8646-d663bd873d93"


SERVICE_UUID = dot_uuid(0x2000)
INFO_UUID = dot_uuid(0x1001)
DEVICE_CONTROL_UUID = dot_uuid(0x1002)
CONTROL_UUID = dot_uuid(0x2001)
LONG_UUID, MEDIUM_UUID, SHORT_UUID = dot_uuid(0x2002), dot_uuid(0x2003), dot_uuid(0x2004)
BATTERY_UUID = dot_uuid(0x3001)
MESSAGE_CONTROL_UUID, MESSAGE_ACK_UUID, MESSAGE_NOTIFY_UUID = dot_uuid(0x7001), dot_uuid(0x7002), dot_uuid(0x7003)

SHORT_PAYLOAD_BYTES = 20
#: Status bits of the extended modes: accelerometer x/y/z clipped, gyroscope x/y/z clipped.
STATUS_ACC_CLIPPED, STATUS_GYR_CLIPPED = 0x0007, 0x0038
#: The manual gives 1 a.u. of the normalised magnetic field as about 40 µT; the server divides raw by 2^12.
MAG_UT_PER_AU = 40.0
MAG_RAW_PER_AU = 4096.0

_T = [("time_us", "<u4")]
_QUAT = [("quat_wxyz", "<f4", 4)]
_EULER = [("euler_deg", "<f4", 3)]
_FREE = [("free_acc_mps2", "<f4", 3)]
_STATUS = [("status", "<u2"), ("clip_acc", "u1"), ("clip_gyr", "u1")]
_MAG = [("mag_raw", "<i2", 3)]
_DELTA = [("dq_wxyz", "<f4", 4), ("dv_mps", "<f4", 3)]
_RATE = [("acc_mps2", "<f4", 3), ("gyr_dps", "<f4", 3)]

#: Payload mode -> (name, structured dtype). Modes 1, 17 and 25 (high fidelity) need Movella's SDK.
MODES: dict[int, tuple[str, np.dtype]] = {
    2: ("extended_quaternion", np.dtype(_T + _QUAT + _FREE + _STATUS)),
    3: ("complete_quaternion", np.dtype(_T + _QUAT + _FREE)),
    4: ("orientation_euler", np.dtype(_T + _EULER)),
    5: ("orientation_quaternion", np.dtype(_T + _QUAT)),
    6: ("free_acceleration", np.dtype(_T + _FREE)),
    7: ("extended_euler", np.dtype(_T + _EULER + _FREE + _STATUS)),
    16: ("complete_euler", np.dtype(_T + _EULER + _FREE)),
    18: ("delta_quantities_mag", np.dtype(_T + _DELTA + _MAG)),
    19: ("delta_quantities", np.dtype(_T + _DELTA)),
    20: ("rate_quantities_mag", np.dtype(_T + _RATE + _MAG)),
    21: ("rate_quantities", np.dtype(_T + _RATE)),
    22: ("custom_1", np.dtype(_T + _EULER + _FREE + [("gyr_dps", "<f4", 3)])),
    23: ("custom_2", np.dtype(_T + _EULER + _FREE + _MAG)),
    24: ("custom_3", np.dtype(_T + _QUAT + [("gyr_dps", "<f4", 3)])),
}
MODE_BY_NAME = {name: mode for mode, (name, _) in MODES.items()}

#: Message-service ids (MID 2 = sync) and the sync sub-ids (SyID).
MID_SYNC = 0x02
SYNC_START, SYNC_STOP, SYNC_ACK, SYNC_GET_STATUS, SYNC_STOP_RESULT, SYNC_STATUS = 0x01, 0x02, 0x03, 0x08, 0x50, 0x51
SYNC_STATUS_NAMES = {4: "synced", 9: "un-synced"}


def mode_number(mode: int | str) -> int:
    """A payload mode by number or name (e.g. 21 or "rate_quantities"); raises UnsupportedPayload."""
    number = MODE_BY_NAME.get(mode, mode) if isinstance(mode, str) else mode
    if isinstance(number, str) and number.isdigit():
        number = int(number)
    if number not in MODES:
        names = ", ".join(f"{m} {n}" for m, (n, _) in MODES.items())
        raise UnsupportedPayload(f"DOT payload mode {mode!r} is not supported; choose one of {names}")
    return number


def payload_char(mode: int) -> str:
    """The characteristic a payload mode streams on: short (≤20 B), medium (21–40 B) or long."""
    size = MODES[mode][1].itemsize
    return SHORT_UUID if size <= 20 else MEDIUM_UUID if size <= 40 else LONG_UUID


def _float_view(dtype: np.dtype) -> np.dtype:
    """An overlay of a payload's float32 fields, which in every mode sit together right after the timestamp."""
    count = sum(int(np.prod(dtype[name].shape or (1,))) for name in dtype.names if dtype[name].base.kind == "f")
    return np.dtype({"names": ["f"], "formats": [("<f4", (count,))], "offsets": [4], "itemsize": dtype.itemsize})


def _plausible(payload: bytes, n: int, float_view: np.dtype, rec: np.ndarray) -> np.ndarray:
    """Records whose floats are finite and whose quaternions have unit norm (corrupt bytes rarely do)."""
    ok = np.isfinite(np.frombuffer(payload, dtype=float_view, count=n)["f"]).all(axis=1)
    for name in ("quat_wxyz", "dq_wxyz"):
        if name in rec.dtype.names:
            with np.errstate(invalid="ignore", over="ignore"):
                ok &= np.abs(np.einsum("ij,ij->i", rec[name], rec[name]) - 1.0) < 0.02
    return ok


class DotDecoder(Decoder):
    """Decoder of one DOT payload mode into samples with an unwrapped device clock.

    Parameters
    ----------
    mode
        Payload mode (number or name); 21 "rate_quantities" gives acc and gyro.
    rate_hz
        Output rate: the interval of delta quantities (modes 18/19) and for gap detection.

    Notes
    -----
    Orientation modes give ``quat_wxyz`` (Euler converted). Where they also carry free acceleration
    (earth frame, gravity removed) the sensor-frame acceleration including gravity is rebuilt as
    ``R_world_sensorᵀ (free_acc + g·z)``. Delta quantities become rates: dv/dt and the rotation vector of
    dq over dt.
    """

    def __init__(self, mode: int | str = 21, rate_hz: float = 60.0) -> None:
        self.mode = mode_number(mode)
        self.dtype = MODES[self.mode][1]
        self.float_view = _float_view(self.dtype)
        self.rate_hz = rate_hz
        self.clock = ClockUnwrapper(32, 1e-6)
        self.reset()

    def reset(self) -> None:
        """Forget the clock unwrapping and the last sample time."""
        self.clock.reset()
        self.last_time_s: float | None = None

    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode one notification (or several same-mode payloads back to back)."""
        diag = PacketDiagnostics()
        size = self.dtype.itemsize
        if len(payload) == SHORT_PAYLOAD_BYTES and size < SHORT_PAYLOAD_BYTES:
            n = 1  # short payloads are zero-padded to 20 bytes
        elif payload and len(payload) % size == 0:
            n = len(payload) // size
        else:
            diag.skip(len(payload), f"{len(payload)} B is not a whole number of {size}-byte mode-{self.mode} payloads")
            return SampleBlock.empty(), diag
        rec = np.frombuffer(payload, dtype=self.dtype, count=n)
        valid = _plausible(payload, n, self.float_view, rec)
        if not valid.all():
            diag.skip(size * int(np.count_nonzero(~valid)), "non-finite values or a non-unit quaternion")
            rec = rec[valid]
        diag.frames = n
        if not len(rec):
            return SampleBlock.empty(), diag
        block = self._convert(rec, diag)
        diag.samples = block.n
        return block, diag

    def _convert(self, rec: np.ndarray, diag: PacketDiagnostics) -> SampleBlock:
        names = rec.dtype.names
        time_s = self.clock.unwrap(rec["time_us"])
        diag.time_gaps += count_time_gaps(time_s, 1.0 / self.rate_hz, self.last_time_s)
        self.last_time_s = float(time_s[-1])
        out: dict[str, np.ndarray] = {"device_time_s": time_s}
        if "status" in names:
            # Clipped samples under-read the motion: worth a note for whoever reviews the reps.
            for mask, what in ((STATUS_ACC_CLIPPED, "accelerometer"), (STATUS_GYR_CLIPPED, "gyroscope")):
                clipped = int(np.count_nonzero(rec["status"] & mask))
                if clipped:
                    diag.notes.append(f"{what} clipped in {clipped} sample(s)")
        if "quat_wxyz" in names:
            out["quat_wxyz"] = rec["quat_wxyz"].astype(np.float64)
        elif "euler_deg" in names:
            # DOT Euler angles are roll (x), pitch (y), yaw (z) of R = Rz(yaw)·Ry(pitch)·Rx(roll).
            out["quat_wxyz"] = euler_to_quat_wxyz(rec["euler_deg"])
        if "acc_mps2" in names:
            out["acc_mps2"] = rec["acc_mps2"].astype(np.float64)
            out["gyr_dps"] = rec["gyr_dps"].astype(np.float64)
        elif "gyr_dps" in names:
            out["gyr_dps"] = rec["gyr_dps"].astype(np.float64)
        if "free_acc_mps2" in names and "quat_wxyz" in out:
            rot = Rotation.from_quat(out["quat_wxyz"], scalar_first=True)
            out["acc_mps2"] = rot.inv().apply(rec["free_acc_mps2"].astype(np.float64) + [0.0, 0.0, G_MPS2])
        if "dq_wxyz" in names:
            dt_s = 1.0 / self.rate_hz
            dq = Rotation.from_quat(rec["dq_wxyz"].astype(np.float64), scalar_first=True)
            out["gyr_dps"] = np.degrees(dq.as_rotvec()) / dt_s
            out["acc_mps2"] = rec["dv_mps"].astype(np.float64) / dt_s
        if "mag_raw" in names:
            out["mag_uT"] = rec["mag_raw"].astype(np.float64) * (MAG_UT_PER_AU / MAG_RAW_PER_AU)
        return SampleBlock(**out)


class DotEncoder(Encoder):
    """Encodes samples as DOT payloads of one mode (one sample per notification).

    Supports the modes whose fields come straight from a SampleBlock: 5 orientation quaternion,
    20/21 rate quantities, 24 custom 3 (quaternion + gyro). Device time wraps like the sensor's.
    """

    ENCODABLE = (5, 20, 21, 24)

    def __init__(self, mode: int | str = 21, rate_hz: float = 60.0, max_payload: int = 244) -> None:
        super().__init__(max_payload)
        self.mode = mode_number(mode)
        if self.mode not in self.ENCODABLE:
            raise UnsupportedPayload(f"the DOT encoder writes modes {self.ENCODABLE}, not {self.mode}")
        self.dtype = MODES[self.mode][1]
        if max(self.dtype.itemsize, SHORT_PAYLOAD_BYTES) > max_payload:
            raise UnsupportedPayload(f"DOT mode {self.mode} needs {self.dtype.itemsize} B notifications; raise the MTU")
        self.rate_hz = rate_hz
        self.samples_sent = 0

    def encode(self, block: SampleBlock) -> list[bytes]:
        """One payload per sample; missing fields raise UnsupportedPayload."""
        if block.n == 0:
            return []
        rec = np.zeros(block.n, dtype=self.dtype)
        if block.device_time_s is not None:
            time_us = np.rint(np.asarray(block.device_time_s) * 1e6).astype(np.int64)
        else:
            time_us = np.rint((self.samples_sent + np.arange(block.n)) * 1e6 / self.rate_hz).astype(np.int64)
        self.samples_sent += block.n
        rec["time_us"] = time_us % (1 << 32)
        fields = self.dtype.names[1:]
        block.require(tuple("mag_uT" if name == "mag_raw" else name for name in fields), f"DOT mode {self.mode}")
        for name in fields:
            if name == "mag_raw":
                rec[name] = quantise_int16(np.asarray(block.mag_uT) * (MAG_RAW_PER_AU / MAG_UT_PER_AU))
            else:
                rec[name] = getattr(block, name)
        pad = b"\0" * (SHORT_PAYLOAD_BYTES - self.dtype.itemsize) if self.dtype.itemsize < SHORT_PAYLOAD_BYTES else b""
        raw_bytes = rec.tobytes()
        size = self.dtype.itemsize
        return [raw_bytes[i : i + size] + pad for i in range(0, len(raw_bytes), size)]


def build_message(mid: int, data: bytes) -> bytes:
    """A DOT message ``MID LEN DATA CHECKSUM`` whose bytes sum to 0 mod 256."""
    body = bytes([mid, len(data)]) + bytes(data)
    return body + bytes([-sum(body) & 0xFF])


def parse_message(message: bytes) -> dict:
    """Parse a DOT message (sync service): checks length and checksum.

    Returns
    -------
    dict
        ``mid``, ``syid`` and, by kind, ``status`` ("synced"/"un-synced"), ``result`` (0 = success) or
        ``root_mac``.

    Raises
    ------
    BadResponse
        On a bad length or checksum, or a non-zero result code.
    """
    message = bytes(message)
    if len(message) < 3 or len(message) != message[1] + 3:
        raise BadResponse(f"DOT message {message.hex(' ')} does not match its length byte")
    if sum(message) & 0xFF:
        raise BadResponse(f"DOT message {message.hex(' ')} has a bad checksum")
    mid, data = message[0], message[2:-1]
    out: dict = {"mid": mid, "syid": data[0] if data else None}
    if mid != MID_SYNC or not data:
        return out
    if data[0] == SYNC_STATUS and len(data) > 1:
        out["status"] = SYNC_STATUS_NAMES.get(data[1], f"status {data[1]}")
    elif data[0] in (SYNC_ACK, SYNC_STOP_RESULT) and len(data) > 1:
        out["result"] = data[1]
        if data[1]:
            raise BadResponse(f"DOT sync message 0x{data[0]:02x} reports failure code {data[1]}")
    elif data[0] == SYNC_START and len(data) == 7:
        out["root_mac"] = ":".join(f"{b:02X}" for b in reversed(data[1:7]))
    return out


class DotModel(SensorModel):
    """Movella (Xsens) DOT."""

    kind = "movella-dot"
    name = "Movella DOT"
    vendor = "Movella (Xsens)"
    service_uuid = SERVICE_UUID
    characteristics = {
        "notify": MEDIUM_UUID,
        "notify_short": SHORT_UUID,
        "notify_long": LONG_UUID,
        "control": CONTROL_UUID,
        "device_control": DEVICE_CONTROL_UUID,
        "info": INFO_UUID,
        "battery": BATTERY_UUID,
        "message_control": MESSAGE_CONTROL_UUID,
        "message_ack": MESSAGE_ACK_UUID,
        "message_notify": MESSAGE_NOTIFY_UUID,
    }
    rates_hz = (1.0, 4.0, 10.0, 12.0, 15.0, 20.0, 30.0, 60.0)
    default_rate_hz = 60.0
    has_device_clock = True
    has_fusion = True
    has_magnetometer = True
    name_pattern = r"(Xsens|Movella) DOT"
    notes = "Stream on the characteristic payload_char(mode) gives; mode 21 (acc + gyro) or 24 (quat + gyro)."

    def configure_commands(self, rate_hz: float | None = None, filter_profile: int | None = None, **options):
        """Device-control write (32 B): visit bit 0x10 sets the rate (u16 at byte 24), 0x20 the filter profile."""
        data = bytearray(32)
        if rate_hz is not None:
            data[0] |= 0x10
            data[24:26] = int(self.check_rate(rate_hz)).to_bytes(2, "little")
        if filter_profile is not None:
            data[0] |= 0x20
            data[26] = filter_profile
        return [(DEVICE_CONTROL_UUID, bytes(data))] if data[0] else []

    def start_commands(self, mode: int | str = 21, **options) -> list[tuple[str, bytes]]:
        """Control write ``01 01 mode`` (subscribe to ``payload_char(mode)`` first)."""
        return [(CONTROL_UUID, bytes([1, 1, mode_number(mode)]))]

    def stop_commands(self, mode: int | str = 21) -> list[tuple[str, bytes]]:
        """Control write ``01 00 mode``."""
        return [(CONTROL_UUID, bytes([1, 0, mode_number(mode)]))]

    def start_sync_command(self, root_mac: str) -> tuple[str, bytes]:
        """StartSync with the root sensor's MAC ("D4:CA:6E:F1:69:3D"), sent to every sensor."""
        mac = bytes.fromhex(root_mac.replace(":", ""))
        if len(mac) != 6:
            raise UnsupportedPayload(f"root MAC {root_mac!r} is not six hex bytes")
        return MESSAGE_CONTROL_UUID, build_message(MID_SYNC, bytes([SYNC_START]) + mac[::-1])

    def stop_sync_command(self) -> tuple[str, bytes]:
        """StopSync."""
        return MESSAGE_CONTROL_UUID, build_message(MID_SYNC, bytes([SYNC_STOP]))

    def sync_status_command(self) -> tuple[str, bytes]:
        """GetSyncStatus (answer on the message notify characteristic)."""
        return MESSAGE_CONTROL_UUID, build_message(MID_SYNC, bytes([SYNC_GET_STATUS]))

    def parse_response(self, data: bytes) -> dict:
        """Parse a message-service notification or acknowledge read (see ``parse_message``)."""
        return parse_message(data)

    def battery_request(self) -> tuple[str, bytes | None]:
        """Read the DOT battery characteristic."""
        return BATTERY_UUID, None

    def parse_battery(self, data: bytes) -> dict[str, float | None]:
        """``[level %, charging]``."""
        if len(data) < 2 or data[0] > 100:
            raise BadResponse(f"DOT battery reading {bytes(data).hex(' ')} is not [level 0..100, charging]")
        return {"percent": float(data[0]), "voltage_v": None, "charging": float(bool(data[1]))}

    def firmware_request(self) -> tuple[str, bytes | None]:
        """Read device info (34 B)."""
        return INFO_UUID, None

    def parse_firmware(self, data: bytes) -> str:
        """Firmware version major.minor.revision from device info bytes 6–8 (after the MAC)."""
        if len(data) < 9:
            raise BadResponse(f"DOT device info of {len(data)} B is too short for a firmware version")
        return f"{data[6]}.{data[7]}.{data[8]}"

    def decoder(self, mode: int | str = 21, rate_hz: float = 60.0, **context) -> DotDecoder:
        """A decoder of payload ``mode`` at ``rate_hz``."""
        return DotDecoder(mode=mode, rate_hz=rate_hz)

    def encoder(self, mode: int | str = 21, rate_hz: float = 60.0, max_payload: int = 244, **context) -> DotEncoder:
        """An encoder of payload ``mode``."""
        return DotEncoder(mode=mode, rate_hz=rate_hz, max_payload=max_payload)
