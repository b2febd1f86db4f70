"""WitMotion WT901BLECL5.0 / BWT901BLECL5.0 / WT9011DCL over BLE 5.0.

Follows WitMotion's own SDK (WITMOTION/WitBluetooth_BWT901BLE5_0, Python device_model.py and the
Android/iOS examples) and the JY901 register map (WitStandardProtocol_JY901 REG.h). The notify
characteristic is a byte stream of 20-byte frames without a checksum: ``55 61`` + 9 × int16 LE (acc,
gyro, Euler angles) and ``55 71 RegL RegH`` + 8 × int16 register-read replies. Frames may share a
notification (80 B = 4 frames is common) or, in principle, span two; the decoder resynchronises on
the ``55 61``/``55 71`` headers. Samples carry no timestamp or counter: the host stamps them.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from firmware_protocol.base import (
    G_MPS2,
    BadResponse,
    ByteStream,
    Decoder,
    Encoder,
    PacketDiagnostics,
    SampleBlock,
    SensorModel,
    half_euler_to_quat_wxyz,
    quantise_int16,
    sig_uuid,
)

SERVICE_UUID = sig_uuid(0xFFE5)
NOTIFY_UUID = sig_uuid(0xFFE4)
WRITE_UUID = sig_uuid(0xFFE9)

FRAME_BYTES = 20
DATA_HEADER = b"\x55\x61"
REGISTER_HEADER = b"\x55\x71"
ACC_G_PER_LSB = 16.0 / 32768.0
GYR_DPS_PER_LSB = 2000.0 / 32768.0
ANGLE_DEG_PER_LSB = 180.0 / 32768.0
QUAT_PER_LSB = 1.0 / 32768.0
#: The datasheet calls raw magnetometer counts mG; WitMotion's own Python and Android SDKs divide them
#: by 120 and show µT. We follow the vendor SDK, as the project rule says, and flag it as unverified.
MAG_UT_PER_LSB = 1.0 / 120.0

#: Registers (REG.h).
REG_SAVE, REG_CALSW, REG_RRATE, REG_VERSION, REG_MAG, REG_TEMP, REG_QUAT, REG_BATTERY, REG_KEY = (
    0x00, 0x01, 0x03, 0x2E, 0x3A, 0x40, 0x51, 0x64, 0x69,
)  # fmt: skip
UNLOCK_KEY = 0xB588
#: Output rate (Hz) -> code of register 0x03 (0x0A is model-specific, so it is not offered).
RATE_CODES = {0.2: 0x01, 0.5: 0x02, 1.0: 0x03, 2.0: 0x04, 5.0: 0x05, 10.0: 0x06, 20.0: 0x07, 50.0: 0x08,
              100.0: 0x09, 200.0: 0x0B}  # fmt: skip
RATE_NONE = 0x0D

_FRAME = np.dtype([("head", "u1", 2), ("acc", "<i2", 3), ("gyr", "<i2", 3), ("angle", "<i2", 3)])
#: The data header ``55 61`` read as a little-endian int16, and the units of the nine words after it:
#: m/s², deg/s and half angles in rad (what `half_euler_to_quat_wxyz` takes).
_DATA_WORD = int.from_bytes(DATA_HEADER, "little")
_FRAME_SCALE = np.repeat([ACC_G_PER_LSB * G_MPS2, GYR_DPS_PER_LSB, ANGLE_DEG_PER_LSB * np.pi / 360.0], 3)
_REPLY = np.dtype([("head", "u1", 2), ("reg", "<u2"), ("values", "<i2", 8)])


def write_register(register: int, value: int) -> bytes:
    """The write command ``FF AA reg valueL valueH``."""
    return bytes([0xFF, 0xAA, register]) + (value & 0xFFFF).to_bytes(2, "little")


def read_registers(register: int) -> bytes:
    """The read command ``FF AA 27 reg 00``: the sensor replies with ``55 71`` and 8 registers from ``reg``."""
    return write_register(0x27, register)


def parse_register_reply(frame: bytes) -> dict[int, int]:
    """Parse a ``55 71`` reply into ``{register: signed 16-bit value}`` for its 8 registers."""
    if len(frame) < FRAME_BYTES or bytes(frame[:2]) != REGISTER_HEADER:
        raise BadResponse(f"WitMotion reply {bytes(frame).hex(' ')} is not a 20-byte 55 71 frame")
    rec = np.frombuffer(bytes(frame[:FRAME_BYTES]), dtype=_REPLY)[0]
    return {int(rec["reg"]) + i: int(v) for i, v in enumerate(rec["values"])}


class WitMotionDecoder(Decoder):
    """Stream decoder of ``55 61`` data frames; ``55 71`` register replies go to ``registers``.

    Attributes
    ----------
    registers
        The latest value of every register read back (signed 16-bit), e.g. 0x64 battery in 10 mV.
    """

    def __init__(self) -> None:
        self.stream = ByteStream(FRAME_BYTES)
        self.reset()

    def reset(self) -> None:
        """Forget buffered bytes and register values."""
        self.stream.clear()
        self.registers: dict[int, int] = {}

    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame in the reassembly buffer."""
        return len(self.stream.buf)

    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode the complete frames in the buffer; garbage up to the next header is skipped."""
        diag = PacketDiagnostics()
        self.stream.push(payload)
        buf = self.stream.buf
        frames = []
        while len(buf) >= FRAME_BYTES:
            run = _header_run(buf)
            if run:
                # a run of back-to-back frames (the usual case) is decoded at once
                frames.append(bytes(buf[: run * FRAME_BYTES]))
                del buf[: run * FRAME_BYTES]
                continue
            starts = [p for p in (buf.find(DATA_HEADER, 1), buf.find(REGISTER_HEADER, 1)) if p >= 0]
            skip = min(starts) if starts else len(buf) - (1 if buf[-1:] == b"\x55" else 0)
            diag.skip(skip, "bytes before a frame header" if starts else "no 55 61/55 71 header")
            del buf[:skip]
            if not starts:
                break
        self.stream.bound(diag)
        block = SampleBlock.concat([self._decode(chunk, diag) for chunk in frames])
        diag.samples = block.n
        return block, diag

    def _decode(self, chunk: bytes, diag: PacketDiagnostics) -> SampleBlock:
        # each frame as 10 little-endian words: the header, then acc, gyro and angles (3 each)
        words = np.frombuffer(chunk, dtype="<i2").reshape(-1, FRAME_BYTES // 2)
        diag.frames += len(words)
        if REGISTER_HEADER[1] in chunk[1::FRAME_BYTES]:
            is_data = words[:, 0] == _DATA_WORD
            for i in np.flatnonzero(~is_data):
                regs = parse_register_reply(chunk[i * FRAME_BYTES : (i + 1) * FRAME_BYTES])
                self.registers.update(regs)
                diag.notes.append(f"register reply from 0x{min(regs) & 0xFFFF:02x}")
            words = words[is_data]
        if not len(words):
            return SampleBlock.empty()
        values = words[:, 1:] * _FRAME_SCALE
        return SampleBlock(
            acc_mps2=values[:, 0:3], gyr_dps=values[:, 3:6], quat_wxyz=half_euler_to_quat_wxyz(values[:, 6:9])
        )


def _header_run(buf: bytearray) -> int:
    """How many whole frames at the start of ``buf`` begin with a ``55 61`` or ``55 71`` header."""
    n = len(buf) // FRAME_BYTES
    first, second = buf[0 : n * FRAME_BYTES : FRAME_BYTES], buf[1 : n * FRAME_BYTES : FRAME_BYTES]
    # bytes operations: on a dozen frames they cost a fraction of one numpy call
    if first.count(0x55) == n and not second.translate(None, b"\x61\x71"):
        return n
    heads = np.frombuffer(bytes(first), dtype=np.uint8), np.frombuffer(bytes(second), dtype=np.uint8)
    ok = (heads[0] == 0x55) & ((heads[1] == 0x61) | (heads[1] == 0x71))
    return int(np.argmin(ok))


class WitMotionEncoder(Encoder):
    """Encodes samples as ``55 61`` frames, packed several to a notification (as the module does)."""

    def encode(self, block: SampleBlock) -> list[bytes]:
        """Needs acc and gyro; Euler angles come from ``quat_wxyz`` (zero without it)."""
        if block.n == 0:
            return []
        block.require(("acc_mps2", "gyr_dps"), "a WitMotion frame")
        rec = np.zeros(block.n, dtype=_FRAME)
        rec["head"] = (0x55, 0x61)
        rec["acc"] = quantise_int16(np.asarray(block.acc_mps2) / (ACC_G_PER_LSB * G_MPS2))
        rec["gyr"] = quantise_int16(np.asarray(block.gyr_dps) / GYR_DPS_PER_LSB)
        if block.quat_wxyz is not None:
            ypr = Rotation.from_quat(np.asarray(block.quat_wxyz), scalar_first=True).as_euler("ZYX", degrees=True)
            rec["angle"] = quantise_int16(ypr[:, ::-1] / ANGLE_DEG_PER_LSB)
        raw = rec.tobytes()
        step = (self.max_payload // FRAME_BYTES) * FRAME_BYTES
        return [raw[i : i + step] for i in range(0, len(raw), step)]


class WitMotionModel(SensorModel):
    """WitMotion WT901BLECL5.0 / BWT901BLECL5.0 / WT9011DCL."""

    kind = "witmotion"
    name = "WitMotion WT901BLECL / WT9011DCL"
    vendor = "WitMotion"
    service_uuid = SERVICE_UUID
    characteristics = {"notify": NOTIFY_UUID, "control": WRITE_UUID}
    rates_hz = tuple(RATE_CODES)
    default_rate_hz = 100.0
    has_device_clock = False
    has_fusion = True
    has_magnetometer = True
    name_pattern = r"^(WT|BWT)9\d\d"
    notes = "Streams on subscribe; no timestamps; magnetometer and quaternion only by register reads."

    def configure_commands(self, rate_hz: float | None = None, save: bool = False, **options):
        """Unlock, set the output rate (register 0x03) and optionally save to flash."""
        if rate_hz is None:
            return []
        cmds = [(WRITE_UUID, write_register(REG_KEY, UNLOCK_KEY)),
                (WRITE_UUID, write_register(REG_RRATE, RATE_CODES[self.check_rate(rate_hz)]))]  # fmt: skip
        if save:
            cmds.append((WRITE_UUID, write_register(REG_SAVE, 0)))
        return cmds

    def start_commands(self, **options) -> list[tuple[str, bytes]]:
        """None: the module streams once notifications are enabled."""
        return []

    def stop_commands(self) -> list[tuple[str, bytes]]:
        """Unlock and set the output rate to 'none' (not saved, so a power cycle restores it)."""
        return [(WRITE_UUID, write_register(REG_KEY, UNLOCK_KEY)), (WRITE_UUID, write_register(REG_RRATE, RATE_NONE))]

    def read_command(self, register: int) -> tuple[str, bytes]:
        """Ask for 8 registers from ``register`` (0x3A magnetometer, 0x51 quaternion, 0x40 temperature)."""
        return WRITE_UUID, read_registers(register)

    def battery_request(self) -> tuple[str, bytes | None]:
        """Read register 0x64; the reply arrives on the notify stream."""
        return self.read_command(REG_BATTERY)

    def parse_battery(self, data: bytes) -> dict[str, float | None]:
        """Battery voltage from the 0x64 reply (register in 10 mV); no percentage is defined."""
        regs = parse_register_reply(data)
        if REG_BATTERY not in regs:
            raise BadResponse("this register reply does not hold the battery register 0x64")
        return {"percent": None, "voltage_v": regs[REG_BATTERY] / 100.0}

    def firmware_request(self) -> tuple[str, bytes | None]:
        """Read the version registers 0x2E/0x2F."""
        return self.read_command(REG_VERSION)

    def parse_firmware(self, data: bytes) -> str:
        """The version registers as ``hi.lo`` (unsigned)."""
        regs = parse_register_reply(data)
        if REG_VERSION not in regs:
            raise BadResponse("this register reply does not start at the version register 0x2E")
        return f"{regs[REG_VERSION + 1] & 0xFFFF}.{regs[REG_VERSION] & 0xFFFF}"

    def parse_response(self, data: bytes) -> dict:
        """A register reply as ``{"registers": {reg: value}}``, with ``mag_uT``, ``quat_wxyz`` and
        ``temperature_c`` when it holds them."""
        regs = parse_register_reply(data)
        out: dict = {"registers": regs}
        if all(r in regs for r in range(REG_MAG, REG_MAG + 3)):
            out["mag_uT"] = [regs[r] * MAG_UT_PER_LSB for r in range(REG_MAG, REG_MAG + 3)]
        if all(r in regs for r in range(REG_QUAT, REG_QUAT + 4)):
            out["quat_wxyz"] = [regs[r] * QUAT_PER_LSB for r in range(REG_QUAT, REG_QUAT + 4)]
        if REG_TEMP in regs:
            out["temperature_c"] = regs[REG_TEMP] / 100.0
        return out

    def decoder(self, **context) -> WitMotionDecoder:
        """A stream decoder (the frames need no context)."""
        return WitMotionDecoder()

    def encoder(self, max_payload: int = 244, **context) -> WitMotionEncoder:
        """An encoder packing as many frames as fit in ``max_payload``."""
        return WitMotionEncoder(max_payload)
