"""The open ``imuform`` packet format for DIY sensors (nRF52840, ESP32 with an IMU), version 1.

The specification, with byte tables and a worked example, is in firmware_protocol/README.md. In short,
every frame is little-endian::

    magic "IF" | version 1 | content flags | sensor id | count n | seq u16 | t0 µs u32 | period ns u32
    | n records of int16 channels | CRC-16/CCITT-FALSE u16 over everything before it

Records hold, in this order and only if flagged: acc (3 × int16, 1/2048 g), gyro (3 × int16, 1/16 deg/s),
mag (3 × int16, 1/16 µT), quaternion w,x,y,z (4 × int16, 1/16384). The data characteristic is a byte
stream: a frame may span notifications and one notification may hold several frames; the decoder
resynchronises on the magic and the CRC.
"""

from __future__ import annotations

import binascii
import struct

import numpy as np

from firmware_protocol.base import (
    BATTERY_LEVEL_UUID,
    FIRMWARE_REVISION_UUID,
    G_MPS2,
    BadResponse,
    ByteStream,
    ClockUnwrapper,
    Decoder,
    Encoder,
    PacketDiagnostics,
    SampleBlock,
    SensorModel,
    UnsupportedPayload,
    quantise_int16,
)

MAGIC = b"IF"
VERSION = 1
HEADER = struct.Struct("<2sBBBBHII")
CRC_SIZE = 2
MAX_SAMPLES = 255

#: Content flag bits, channel names, int16 count per sample and the project unit of one LSB.
CHANNELS: tuple[tuple[int, str, int, float], ...] = (
    (0x01, "acc_mps2", 3, G_MPS2 / 2048.0),
    (0x02, "gyr_dps", 3, 1.0 / 16.0),
    (0x04, "mag_uT", 3, 1.0 / 16.0),
    (0x08, "quat_wxyz", 4, 1.0 / 16384.0),
)
ALL_CONTENT = 0x0F
MAX_FRAME = HEADER.size + MAX_SAMPLES * 13 * 2 + CRC_SIZE

_BASE = "-9472-4ec2-a1d0-50f0e04a67d8"
SERVICE_UUID = f"2f970100{_BASE}"
DATA_UUID = f"2f970101{_BASE}"
CONTROL_UUID = f"2f970102{_BASE}"

#: Control-point opcodes (write to CONTROL_UUID; the sensor answers with a notification on it).
OP_START, OP_STOP, OP_SET_RATE, OP_SET_CONTENT, OP_GET_CONFIG = 0x01, 0x02, 0x03, 0x04, 0x05
RESPONSE_BIT = 0x80
STATUS = {0: "success", 1: "unknown opcode", 2: "invalid parameter", 3: "invalid state", 4: "internal error"}


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor); check("123456789") = 0x29B1."""
    return binascii.crc_hqx(data, 0xFFFF)


def record_layout(content: int) -> list[tuple[str, int, float]]:
    """The channels of a record for a content byte: ``(name, int16 count, unit per LSB)`` in wire order."""
    return [(name, width, lsb) for bit, name, width, lsb in CHANNELS if content & bit]


def record_size(content: int) -> int:
    """Bytes per sample record for a content byte."""
    return 2 * sum(width for _, width, _ in record_layout(content))


def _decode_table(content: int) -> tuple[int, np.ndarray, list[tuple[str, slice]]]:
    """Record size, the unit of every int16 column, and each channel's column slice."""
    layout = record_layout(content)
    units = np.concatenate([np.full(width, lsb) for _, width, lsb in layout])
    starts = np.cumsum([0] + [width for _, width, _ in layout]).tolist()
    return record_size(content), units, [(name, slice(s, s + w)) for (name, w, _), s in zip(layout, starts)]


#: Decode tables of every valid content byte, precomputed for the decoder's hot path.
_LAYOUTS = {c: _decode_table(c) for c in range(1, ALL_CONTENT + 1)}


class ImuformDecoder(Decoder):
    """Stream decoder of the imuform format: reassembles, checks the CRC, unwraps the µs clock."""

    def __init__(self) -> None:
        self.stream = ByteStream(2 * MAX_FRAME)
        self.clock = ClockUnwrapper(32, 1e-6)
        self.reset()

    def reset(self) -> None:
        """Forget buffered bytes, the sequence counter and the clock."""
        self.stream.clear()
        self.clock.reset()
        self.last_seq: int | None = None
        self.last_time_s: float | None = None
        self.sensor_id: int | None = None
        self._offsets_key: tuple[int, int] | None = None

    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame in the reassembly buffer."""
        return len(self.stream.buf)

    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode the frames completed by this payload."""
        diag = PacketDiagnostics()
        self.stream.push(payload)
        blocks = [self._decode_frame(header, frame, diag) for header, frame in self._frames(diag)]
        self.stream.bound(diag)
        block = SampleBlock.concat(blocks)
        diag.samples = block.n
        return block, diag

    def _frames(self, diag: PacketDiagnostics):
        """Yield complete frames with a good CRC, consuming them and any garbage before them."""
        buf = self.stream.buf
        while True:
            start = buf.find(MAGIC)
            if start < 0:
                # Keep a trailing "I" that may begin the next magic.
                keep = 1 if buf[-1:] == MAGIC[:1] else 0
                diag.skip(len(buf) - keep, "no frame start")
                del buf[: len(buf) - keep]
                return
            diag.skip(start, "garbage before frame start")
            del buf[:start]
            if len(buf) < HEADER.size:
                return
            header = HEADER.unpack_from(buf)
            _, version, content, _, count, _, _, _ = header
            if version != VERSION or content not in _LAYOUTS or not count:
                diag.skip(1, f"bad header (version {version}, content 0x{content:02x}, count {count})")
                del buf[:1]
                continue
            size = HEADER.size + count * _LAYOUTS[content][0] + CRC_SIZE
            if len(buf) < size:
                return
            frame = bytes(buf[:size])
            if crc16_ccitt_false(frame[:-CRC_SIZE]) != int.from_bytes(frame[-CRC_SIZE:], "little"):
                diag.skip(1, "CRC mismatch")
                del buf[:1]
                continue
            del buf[:size]
            yield header, frame

    def _decode_frame(self, header: tuple, frame: bytes, diag: PacketDiagnostics) -> SampleBlock:
        _, _, content, sensor_id, count, seq, t0_us, period_ns = header
        if self.sensor_id is not None and sensor_id != self.sensor_id:
            diag.notes.append(f"sensor id changed from {self.sensor_id} to {sensor_id}")
        self.sensor_id = sensor_id
        if self.last_seq is not None:
            diag.lost_frames += (seq - self.last_seq - 1) % 65536
        self.last_seq = seq
        size, units, columns = _LAYOUTS[content]
        values = (
            np.frombuffer(frame, dtype="<i2", count=count * size // 2, offset=HEADER.size).reshape(count, -1) * units
        )
        out = {name: values[:, cols] for name, cols in columns}
        # Samples inside a frame are evenly spaced by construction: only the step between frames can gap.
        period_s = period_ns * 1e-9
        t0_s = self.clock.unwrap_count(t0_us)
        if self.last_time_s is not None and t0_s - self.last_time_s > 1.5 * period_s:
            diag.time_gaps += 1
        if self._offsets_key != (count, period_ns):
            # Frames of one stream share count and period: reuse the sample offsets (a hot-path saving).
            self._offsets_key, self._offsets_s = (count, period_ns), np.arange(count) * period_s
        time_s = t0_s + self._offsets_s
        self.last_time_s = t0_s + (count - 1) * period_s
        diag.frames += 1
        return SampleBlock(device_time_s=time_s, **out)


class ImuformEncoder(Encoder):
    """Encodes samples as imuform frames, one frame per notification.

    Parameters
    ----------
    sensor_id
        The id written into every frame (0–255).
    rate_hz
        Sample rate; sets the period field and the clock when a block has no device time.
    max_payload
        Largest notification payload in bytes (ATT MTU − 3).
    """

    def __init__(self, sensor_id: int = 0, rate_hz: float = 100.0, max_payload: int = 244) -> None:
        super().__init__(max_payload)
        if not 0 <= sensor_id <= 255:
            raise UnsupportedPayload(f"sensor id {sensor_id} is outside 0..255")
        if rate_hz <= 0:
            raise UnsupportedPayload(f"rate {rate_hz} Hz must be positive")
        self.sensor_id = sensor_id
        self.period_ns = round(1e9 / rate_hz)
        self.seq = 0
        self.samples_sent = 0

    def encode(self, block: SampleBlock) -> list[bytes]:
        """Encode a block; channels are the block's, device time its own or counted at ``rate_hz``."""
        content = sum(bit for bit, name, _, _ in CHANNELS if getattr(block, name) is not None)
        if block.n == 0:
            return []
        if not content:
            raise UnsupportedPayload("the block has no acc, gyro, mag or quaternion channel to encode")
        columns = [quantise_int16(np.asarray(getattr(block, name)) / lsb) for name, _, lsb in record_layout(content)]
        records = np.hstack(columns).astype("<i2")
        if block.device_time_s is not None:
            time_us = np.rint(np.asarray(block.device_time_s) * 1e6).astype(np.int64)
        else:
            time_us = (self.samples_sent + np.arange(block.n)) * self.period_ns // 1000
        per_frame = min(MAX_SAMPLES, (self.max_payload - HEADER.size - CRC_SIZE) // record_size(content))
        if per_frame < 1:
            raise UnsupportedPayload(f"a {self.max_payload} B payload cannot hold one sample; raise the MTU")
        out = []
        for start in range(0, block.n, per_frame):
            chunk = records[start : start + per_frame]
            head = HEADER.pack(
                MAGIC,
                VERSION,
                content,
                self.sensor_id,
                len(chunk),
                self.seq,
                int(time_us[start]) % (1 << 32),
                self.period_ns,
            )
            body = head + chunk.tobytes()
            out.append(body + crc16_ccitt_false(body).to_bytes(2, "little"))
            self.seq = (self.seq + 1) % 65536
        self.samples_sent += block.n
        return out


class ImuformModel(SensorModel):
    """A DIY sensor speaking the open imuform format."""

    kind = "imuform"
    name = "imuform DIY sensor"
    vendor = "imuform (open format)"
    service_uuid = SERVICE_UUID
    characteristics = {"notify": DATA_UUID, "control": CONTROL_UUID, "battery": BATTERY_LEVEL_UUID,
                       "firmware": FIRMWARE_REVISION_UUID}  # fmt: skip
    rates_hz = (25.0, 50.0, 100.0, 200.0, 400.0)
    default_rate_hz = 100.0
    has_device_clock = True
    has_fusion = False
    has_magnetometer = False
    placement_hint = ""
    name_pattern = r"^imuform"
    notes = "Content is chosen with SET_CONTENT; fusion and magnetometer depend on the build."

    def check_rate(self, rate_hz: float) -> float:
        """Any whole rate of 1–1000 Hz (the firmware picks the nearest its IMU supports)."""
        if rate_hz != int(rate_hz) or not 1 <= rate_hz <= 1000:
            raise UnsupportedPayload(f"rate {rate_hz:g} Hz: choose a whole number of 1 to 1000 Hz")
        return rate_hz

    def configure_commands(
        self, rate_hz: float | None = None, content: int = 0x03, **options
    ) -> list[tuple[str, bytes]]:
        """SET_RATE (when given) and SET_CONTENT (default acc + gyro)."""
        cmds = []
        if rate_hz is not None:
            cmds.append((CONTROL_UUID, bytes([OP_SET_RATE]) + int(self.check_rate(rate_hz)).to_bytes(2, "little")))
        if not content or content & ~ALL_CONTENT:
            raise UnsupportedPayload(
                f"content flags 0x{content:02x}: use bits 0x01 acc, 0x02 gyro, 0x04 mag, 0x08 quat"
            )
        cmds.append((CONTROL_UUID, bytes([OP_SET_CONTENT, content])))
        return cmds

    def start_commands(self, **options) -> list[tuple[str, bytes]]:
        """START."""
        return [(CONTROL_UUID, bytes([OP_START]))]

    def stop_commands(self) -> list[tuple[str, bytes]]:
        """STOP."""
        return [(CONTROL_UUID, bytes([OP_STOP]))]

    def config_request(self) -> tuple[str, bytes]:
        """GET_CONFIG: the sensor answers with version, sensor id, rate and content."""
        return CONTROL_UUID, bytes([OP_GET_CONFIG])

    def parse_response(self, data: bytes) -> dict:
        """Parse ``[0x80|opcode][status][payload]``; GET_CONFIG's payload is version, id, rate u16, content."""
        if len(data) < 2 or not data[0] & RESPONSE_BIT:
            raise BadResponse(f"control response {bytes(data).hex(' ')} is not [0x80|opcode][status]...")
        opcode, status = data[0] & ~RESPONSE_BIT, data[1]
        if status:
            raise BadResponse(f"opcode 0x{opcode:02x} failed: {STATUS.get(status, f'status {status}')}")
        out: dict = {"opcode": opcode, "status": STATUS[0]}
        if opcode == OP_GET_CONFIG:
            if len(data) != 7:
                raise BadResponse(f"GET_CONFIG response has {len(data)} B, expected 7")
            version, sensor_id, rate_hz, content = struct.unpack_from("<BBHB", data, 2)
            out.update(version=version, sensor_id=sensor_id, rate_hz=rate_hz, content=content)
        return out

    def decoder(self, **context) -> ImuformDecoder:
        """A stream decoder (the frames carry everything it needs)."""
        return ImuformDecoder()

    def encoder(self, sensor_id: int = 0, rate_hz: float = 100.0, max_payload: int = 244, **context) -> ImuformEncoder:
        """An encoder writing ``sensor_id`` at ``rate_hz``."""
        return ImuformEncoder(sensor_id=sensor_id, rate_hz=rate_hz, max_payload=max_payload)
