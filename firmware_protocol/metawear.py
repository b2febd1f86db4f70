"""MbientLab MetaWear / MetaMotion (BMI160 accelerometer and gyroscope, BMM150 magnetometer, fusion).

Follows MbientLab's own SDK (mbientlab/MetaWear-SDK-Cpp, its Python tests test_accelerometer_bmi160.py,
test_gyro_bmi160.py, test_magnetometer_bmm150.py, test_sensor_fusion.py). Every notification on
326a9006 is one packet ``[module][register][data]``. Streams carry no timestamp: the host stamps them.
"""

from __future__ import annotations

import numpy as np

from firmware_protocol.base import (
    G_MPS2,
    BadResponse,
    CorruptPacket,
    Decoder,
    Encoder,
    PacketDiagnostics,
    ProtocolError,
    SampleBlock,
    SensorModel,
    UnsupportedPayload,
    quantise_int16,
)

SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"

ACC, GYRO, MAG, FUSION, SETTINGS = 0x03, 0x13, 0x15, 0x19, 0x11
ACC_DATA, ACC_PACKED = 0x04, 0x1C
GYRO_DATA, GYRO_PACKED = 0x05, 0x07
MAG_DATA, MAG_PACKED = 0x05, 0x09
BATTERY_READ = 0x8C  # settings register 0x0C with the read bit

#: BMI160 accelerometer range (g) -> (range code, LSB per g); gyroscope range (deg/s) -> (code, LSB per deg/s).
ACC_RANGES = {2: (0x03, 16384.0), 4: (0x05, 8192.0), 8: (0x08, 4096.0), 16: (0x0C, 2048.0)}
GYR_RANGES = {2000: (0x00, 16.4), 1000: (0x01, 32.8), 500: (0x02, 65.6), 250: (0x03, 131.2), 125: (0x04, 262.4)}
#: BMI160 output data rate (Hz) -> ODR code (the same table for acc and gyro).
ODR_CODES = {25.0: 0x06, 50.0: 0x07, 100.0: 0x08, 200.0: 0x09, 400.0: 0x0A, 800.0: 0x0B}
BMM150_UT_PER_LSB = 1.0 / 16.0

#: Fusion outputs: register -> (name, float32 count, vendor unit). Corrected acc is in mg, gravity and linear
#: acceleration are m/s² on the wire (the SDK reports them in g).
FUSION_OUTPUTS = {0x04: ("corrected_acc_mg", 3), 0x05: ("corrected_gyr_dps", 3), 0x06: ("corrected_mag_uT", 3),
                  0x07: ("quat_wxyz", 4), 0x08: ("euler_deg", 4), 0x09: ("gravity_mps2", 3),
                  0x0A: ("linear_acc_mps2", 3)}  # fmt: skip


def parse_packet(packet: bytes, acc_range_g: int = 16, gyr_range_dps: int = 2000) -> tuple[str, np.ndarray]:
    """Decode one packet to ``(quantity, values)`` in the SDK's units.

    Quantities: ``acc_g`` (n, 3), ``gyr_dps`` (n, 3), ``mag_uT`` (n, 3), and the fusion outputs of
    ``FUSION_OUTPUTS`` (1, k) (corrected values carry an accuracy byte, dropped here).

    Raises
    ------
    CorruptPacket
        When the data length does not fit the packet type.
    UnsupportedPayload
        For a module/register that carries no IMU data, or an unknown range.
    """
    packet = bytes(packet)
    if len(packet) < 2:
        raise CorruptPacket(f"MetaWear packet {packet.hex(' ')} is shorter than module + register")
    module, register, data = packet[0], packet[1], packet[2:]
    if module == FUSION and register in FUSION_OUTPUTS:
        name, count = FUSION_OUTPUTS[register]
        if len(data) < 4 * count:
            raise CorruptPacket(f"fusion {name} needs {4 * count} B, got {len(data)} B")
        values = np.frombuffer(data, dtype="<f4", count=count)[None, :]
        if not np.isfinite(values).all():
            raise CorruptPacket(f"fusion {name} holds NaN or infinite floats")
        return name, values.astype(np.float64)
    kinds = {(ACC, ACC_DATA): "acc", (ACC, ACC_PACKED): "acc", (GYRO, GYRO_DATA): "gyr",
             (GYRO, GYRO_PACKED): "gyr", (MAG, MAG_DATA): "mag", (MAG, MAG_PACKED): "mag"}  # fmt: skip
    kind = kinds.get((module, register))
    if kind is None:
        raise UnsupportedPayload(f"MetaWear module 0x{module:02x} register 0x{register:02x} carries no IMU samples")
    packed = register in (ACC_PACKED, GYRO_PACKED, MAG_PACKED)
    if len(data) != (18 if packed else 6):
        raise CorruptPacket(f"MetaWear {kind} packet has {len(data)} B of data, expected {18 if packed else 6}")
    raw = np.frombuffer(data, dtype="<i2").reshape(-1, 3).astype(np.float64)
    if kind == "acc":
        return "acc_g", raw / _range(ACC_RANGES, acc_range_g, "acc range (g)")[1]
    if kind == "gyr":
        return "gyr_dps", raw / _range(GYR_RANGES, gyr_range_dps, "gyro range (deg/s)")[1]
    return "mag_uT", raw * BMM150_UT_PER_LSB


def _range(table: dict, key: int, what: str) -> tuple[int, float]:
    if key not in table:
        raise UnsupportedPayload(f"MetaWear {what} {key} is not one of {', '.join(map(str, table))}")
    return table[key]


class MetaWearDecoder(Decoder):
    """Decoder of MetaWear data packets into samples (acc, gyro, mag, fusion quaternion and corrected values).

    Parameters
    ----------
    acc_range_g, gyr_range_dps
        The ranges configured on the BMI160 (they set the LSB size).
    """

    def __init__(self, acc_range_g: int = 16, gyr_range_dps: int = 2000) -> None:
        _range(ACC_RANGES, acc_range_g, "acc range (g)")
        _range(GYR_RANGES, gyr_range_dps, "gyro range (deg/s)")
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps

    def reset(self) -> None:
        """Nothing to forget: every packet stands alone."""

    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode one notification; other modules' packets (Euler, gravity, settings) are skipped with a note."""
        diag = PacketDiagnostics()
        try:
            name, values = parse_packet(payload, self.acc_range_g, self.gyr_range_dps)
        except ProtocolError as exc:
            diag.skip(len(payload), str(exc))
            return SampleBlock.empty(), diag
        channel = {"acc_g": "acc_mps2", "corrected_acc_mg": "acc_mps2", "gyr_dps": "gyr_dps",
                   "corrected_gyr_dps": "gyr_dps", "mag_uT": "mag_uT", "corrected_mag_uT": "mag_uT",
                   "quat_wxyz": "quat_wxyz"}.get(name)  # fmt: skip
        if channel is None:
            diag.notes.append(f"fusion output {name} is not a sample channel")
            return SampleBlock.empty(), diag
        scale = {"acc_g": G_MPS2, "corrected_acc_mg": G_MPS2 / 1000.0}.get(name, 1.0)
        block = SampleBlock(**{channel: values * scale})
        diag.frames, diag.samples = 1, block.n
        return block, diag


class MetaWearEncoder(Encoder):
    """Encodes samples as BMI160 acc (03 04) and gyro (13 05) packets, and fusion quaternions (19 07)."""

    def __init__(self, acc_range_g: int = 16, gyr_range_dps: int = 2000, max_payload: int = 244) -> None:
        super().__init__(max_payload)
        self.acc_lsb_per_g = _range(ACC_RANGES, acc_range_g, "acc range (g)")[1]
        self.gyr_lsb_per_dps = _range(GYR_RANGES, gyr_range_dps, "gyro range (deg/s)")[1]

    def encode(self, block: SampleBlock) -> list[bytes]:
        """Per sample: an acc packet, a gyro packet and a quaternion packet, for the channels present."""
        parts = []
        if block.acc_mps2 is not None:
            raw = quantise_int16(np.asarray(block.acc_mps2) / G_MPS2 * self.acc_lsb_per_g)
            parts.append([bytes([ACC, ACC_DATA]) + r.tobytes() for r in raw.astype("<i2")])
        if block.gyr_dps is not None:
            raw = quantise_int16(np.asarray(block.gyr_dps) * self.gyr_lsb_per_dps)
            parts.append([bytes([GYRO, GYRO_DATA]) + r.tobytes() for r in raw.astype("<i2")])
        if block.mag_uT is not None:
            raw = quantise_int16(np.asarray(block.mag_uT) / BMM150_UT_PER_LSB)
            parts.append([bytes([MAG, MAG_DATA]) + r.tobytes() for r in raw.astype("<i2")])
        if block.quat_wxyz is not None:
            q = np.asarray(block.quat_wxyz, dtype="<f4")
            parts.append([bytes([FUSION, 0x07]) + r.tobytes() for r in q])
        if block.n and not parts:
            raise UnsupportedPayload("nothing to encode: MetaWear packets carry acc, gyro, mag or quaternion")
        return [p for sample in zip(*parts) for p in sample]


class MetaWearModel(SensorModel):
    """MbientLab MetaMotion / MetaWear with a BMI160."""

    kind = "metawear"
    name = "MbientLab MetaMotion (BMI160)"
    vendor = "MbientLab"
    service_uuid = SERVICE_UUID
    characteristics = {"notify": NOTIFY_UUID, "control": COMMAND_UUID}
    rates_hz = tuple(ODR_CODES)
    default_rate_hz = 100.0
    has_device_clock = False
    has_fusion = True
    has_magnetometer = True
    name_pattern = r"^(MetaWear|MetaMotion)"
    notes = "Raw BMI160 streams need their range in the decoder: --acc-range-g, --gyr-range-dps."

    def configure_commands(self, rate_hz: float | None = None, acc_range_g: int = 16, gyr_range_dps: int = 2000,
                           **options) -> list[tuple[str, bytes]]:  # fmt: skip
        """BMI160 acc and gyro config ``[mod 03 odr|bwp<<4 range]`` (normal bandwidth)."""
        odr = ODR_CODES[self.check_rate(rate_hz if rate_hz is not None else self.default_rate_hz)]
        return [(COMMAND_UUID, bytes([ACC, 0x03, 0x20 | odr, _range(ACC_RANGES, acc_range_g, "acc range (g)")[0]])),
                (COMMAND_UUID, bytes([GYRO, 0x03, 0x20 | odr, _range(GYR_RANGES, gyr_range_dps, "gyro range (deg/s)")[0]]))]  # fmt: skip

    def start_commands(self, **options) -> list[tuple[str, bytes]]:
        """Subscribe to the data registers, enable sampling, then start acc and gyro."""
        return [(COMMAND_UUID, bytes(cmd)) for cmd in (
            [ACC, ACC_DATA, 1], [GYRO, GYRO_DATA, 1], [ACC, 0x02, 1, 0], [GYRO, 0x02, 1, 0], [ACC, 0x01, 1], [GYRO, 0x01, 1])]  # fmt: skip

    def stop_commands(self) -> list[tuple[str, bytes]]:
        """Stop, disable sampling and unsubscribe, in the reverse order."""
        return [(COMMAND_UUID, bytes(cmd)) for cmd in (
            [ACC, 0x01, 0], [GYRO, 0x01, 0], [ACC, 0x02, 0, 1], [GYRO, 0x02, 0, 1], [ACC, ACC_DATA, 0], [GYRO, GYRO_DATA, 0])]  # fmt: skip

    def battery_request(self) -> tuple[str, bytes | None]:
        """Write the settings battery read; the answer ``11 8C percent mV u16`` arrives on notify."""
        return COMMAND_UUID, bytes([SETTINGS, BATTERY_READ])

    def parse_battery(self, data: bytes) -> dict[str, float | None]:
        """``11 8C <percent> <voltage mV u16 LE>``."""
        if len(data) != 5 or data[0] != SETTINGS or data[1] != BATTERY_READ:
            raise BadResponse(f"MetaWear battery answer {bytes(data).hex(' ')} is not 11 8C pct mV mV")
        return {"percent": float(data[2]), "voltage_v": int.from_bytes(data[3:5], "little") / 1000.0}

    def parse_response(self, data: bytes) -> dict:
        """Any data packet decoded in the SDK's units: ``{"quantity": name, "values": [...]}``."""
        name, values = parse_packet(data)
        return {"quantity": name, "values": values.tolist()}

    def decoder(self, acc_range_g: int = 16, gyr_range_dps: int = 2000, **context) -> MetaWearDecoder:
        """A decoder for the configured ranges."""
        return MetaWearDecoder(acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps)

    def encoder(self, acc_range_g: int = 16, gyr_range_dps: int = 2000, max_payload: int = 244, **context):
        """An encoder for the configured ranges."""
        return MetaWearEncoder(acc_range_g=acc_range_g, gyr_range_dps=gyr_range_dps, max_payload=max_payload)
