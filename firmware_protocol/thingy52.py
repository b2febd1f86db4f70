"""Nordic Thingy:52 motion service (TMS).

Follows Nordic's own firmware (NordicSemiconductor/Nordic-Thingy52-FW: ble_tms.h, m_motion.c and the
firmware architecture documentation). Raw data (0406, 18 B) is int16 LE: acc in 6Q10 g, gyro 11Q5
deg/s, compass 12Q4 µT; the quaternion (0404, 16 B) is int32 LE Q2.30 w,x,y,z. Nordic's Thingy.js
divides the raw values by 64/2048/4096 instead; we follow the firmware documentation, which a DevZone
reading (``FA FF F4 FF F6 03`` → 0.99 g lying flat) confirms. No timestamps: the host stamps samples.
"""

from __future__ import annotations

import numpy as np

from firmware_protocol.base import (
    BATTERY_LEVEL_UUID,
    G_MPS2,
    BadResponse,
    Decoder,
    Encoder,
    PacketDiagnostics,
    SampleBlock,
    SensorModel,
    UnsupportedPayload,
    quantise_int16,
)


def tms_uuid(short: int) -> str:
    """A Thingy characteristic UUID from its 16-bit short form (base EF68xxxx-9B35-4933-9B10-52FFA9740042)."""
    return f"ef68{short:04x}-9b35-4933-9b10-52ffa9740042"


SERVICE_UUID = tms_uuid(0x0400)
CONFIG_UUID = tms_uuid(0x0401)
QUATERNION_UUID = tms_uuid(0x0404)
RAW_UUID = tms_uuid(0x0406)
FIRMWARE_UUID = tms_uuid(0x0107)  # configuration service: firmware version major, minor, patch

ACC_G_PER_LSB = 1.0 / 1024.0  # 6Q10
GYR_DPS_PER_LSB = 1.0 / 32.0  # 11Q5
MAG_UT_PER_LSB = 1.0 / 16.0  # 12Q4
QUAT_PER_LSB = 1.0 / (1 << 30)  # Q2.30

_RAW = np.dtype([("acc", "<i2", 3), ("gyr", "<i2", 3), ("mag", "<i2", 3)])
_QUAT = np.dtype([("quat", "<i4", 4)])
STREAMS = {"raw": _RAW, "quaternion": _QUAT}


class ThingyDecoder(Decoder):
    """Decoder of one Thingy motion characteristic: ``stream="raw"`` (0406) or ``"quaternion"`` (0404)."""

    def __init__(self, stream: str = "raw") -> None:
        if stream not in STREAMS:
            raise UnsupportedPayload(f"Thingy stream {stream!r}: choose raw or quaternion")
        self.dtype = STREAMS[stream]

    def reset(self) -> None:
        """Nothing to forget: every notification stands alone."""

    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode one notification (one sample, or several back to back)."""
        diag = PacketDiagnostics()
        size = self.dtype.itemsize
        if not payload or len(payload) % size:
            diag.skip(len(payload), f"{len(payload)} B is not a whole number of {size}-byte Thingy records")
            return SampleBlock.empty(), diag
        rec = np.frombuffer(payload, dtype=self.dtype)
        if self.dtype is _RAW:
            block = SampleBlock(
                acc_mps2=rec["acc"] * (ACC_G_PER_LSB * G_MPS2),
                gyr_dps=rec["gyr"] * GYR_DPS_PER_LSB,
                mag_uT=rec["mag"] * MAG_UT_PER_LSB,
            )
        else:
            block = SampleBlock(quat_wxyz=rec["quat"] * QUAT_PER_LSB)
        diag.frames = diag.samples = len(rec)
        return block, diag


class ThingyEncoder(Encoder):
    """Encodes samples as raw-data notifications (18 B each); a block without mag sends zero field."""

    def encode(self, block: SampleBlock) -> list[bytes]:
        """One 18-byte notification per sample (acc and gyro required)."""
        if block.n == 0:
            return []
        block.require(("acc_mps2", "gyr_dps"), "a Thingy raw-data notification")
        rec = np.zeros(block.n, dtype=_RAW)
        rec["acc"] = quantise_int16(np.asarray(block.acc_mps2) / (ACC_G_PER_LSB * G_MPS2))
        rec["gyr"] = quantise_int16(np.asarray(block.gyr_dps) / GYR_DPS_PER_LSB)
        if block.mag_uT is not None:
            rec["mag"] = quantise_int16(np.asarray(block.mag_uT) / MAG_UT_PER_LSB)
        raw = rec.tobytes()
        return [raw[i : i + _RAW.itemsize] for i in range(0, len(raw), _RAW.itemsize)]


class ThingyModel(SensorModel):
    """Nordic Thingy:52."""

    kind = "thingy52"
    name = "Nordic Thingy:52"
    vendor = "Nordic Semiconductor"
    service_uuid = SERVICE_UUID
    characteristics = {"notify": RAW_UUID, "quaternion": QUATERNION_UUID, "config": CONFIG_UUID,
                       "firmware": FIRMWARE_UUID, "battery": BATTERY_LEVEL_UUID}  # fmt: skip
    rates_hz = (5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0)
    default_rate_hz = 100.0
    has_device_clock = False
    has_fusion = True
    has_magnetometer = True
    name_pattern = r"^Thingy"
    advertised_uuids = (tms_uuid(0x0100),)  # the Thingy configuration service
    notes = "Start = enable notifications on raw (and quaternion); motion rate 5–200 Hz."

    def check_rate(self, rate_hz: float) -> float:
        """Any whole rate of 5–200 Hz (config field ``motion processing frequency``)."""
        if rate_hz != int(rate_hz) or not 5 <= rate_hz <= 200:
            raise UnsupportedPayload(f"Thingy motion rate {rate_hz:g} Hz: choose a whole number of 5 to 200 Hz")
        return rate_hz

    def configure_commands(
        self,
        rate_hz: float | None = None,
        pedometer_interval_ms: int = 1000,
        temperature_compensation_ms: int = 500,
        magnetometer_compensation_ms: int = 500,
        wake_on_motion: bool = True,
        **options,
    ) -> list[tuple[str, bytes]]:
        """Write the 9-byte motion config (the other fields at the firmware defaults unless given)."""
        if rate_hz is None:
            return []
        fields = (
            pedometer_interval_ms,
            temperature_compensation_ms,
            magnetometer_compensation_ms,
            int(self.check_rate(rate_hz)),
        )
        data = b"".join(int(v).to_bytes(2, "little") for v in fields) + bytes([wake_on_motion])
        return [(CONFIG_UUID, data)]

    def parse_config(self, data: bytes) -> dict:
        """Parse the 9-byte motion config read back from 0401."""
        if len(data) != 9:
            raise BadResponse(f"Thingy motion config is 9 B, got {len(data)} B")
        ped, temp, mag, rate = np.frombuffer(bytes(data[:8]), dtype="<u2").tolist()
        return {"pedometer_interval_ms": ped, "temperature_compensation_ms": temp,
                "magnetometer_compensation_ms": mag, "rate_hz": rate, "wake_on_motion": bool(data[8])}  # fmt: skip

    def start_commands(self, **options) -> list[tuple[str, bytes]]:
        """None: streaming starts when notifications are enabled."""
        return []

    def stop_commands(self) -> list[tuple[str, bytes]]:
        """None: streaming stops when notifications are disabled."""
        return []

    def firmware_request(self) -> tuple[str, bytes | None]:
        """Read the configuration service's firmware version."""
        return FIRMWARE_UUID, None

    def parse_firmware(self, data: bytes) -> str:
        """``major.minor.patch``."""
        if len(data) < 3:
            raise BadResponse(f"Thingy firmware version is 3 B, got {len(data)} B")
        return f"{data[0]}.{data[1]}.{data[2]}"

    def decoder(self, stream: str = "raw", **context) -> ThingyDecoder:
        """A decoder of the ``raw`` or ``quaternion`` characteristic."""
        return ThingyDecoder(stream)

    def encoder(self, max_payload: int = 244, **context) -> ThingyEncoder:
        """An encoder of raw-data notifications."""
        return ThingyEncoder(max_payload)
