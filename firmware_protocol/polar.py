"""Polar Measurement Data (PMD): Polar H10 and Verity Sense accelerometer, gyroscope and magnetometer.

Follows Polar's own SDK (polarofficial/polar-ble-sdk, Android ``pmd`` package: BlePMDClient,
PmdDataFrame, PmdSetting, Acc/Gyr/MagData). A data notification is one frame::

    [measurement type u8][timestamp u64 LE, ns since 2000-01-01, of the LAST sample][frame type u8][content]

Frame type bit 7 marks delta compression: a reference sample (ceil(resolution/8) signed LE bytes per
channel), then blocks ``[bit width][count]`` of count × channels signed deltas packed LSB-first,
accumulated onto the previous sample. Compressed accelerometer frames come in g (0x80) or in mG (0x81),
both times the factor. Frame type 1 of the gyroscope carries float32 bit patterns; the SDK adds the
deltas to the 32-bit patterns as integers (with wrap-around) and reinterprets them.
"""

from __future__ import annotations

import struct

import numpy as np

from firmware_protocol.base import (
    BATTERY_LEVEL_UUID,
    FIRMWARE_REVISION_UUID,
    G_MPS2,
    GAUSS_UT,
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

SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Measurement types on the wire (bit 7 of the type byte marks offline recordings).
ECG, PPG, ACC, PPI, GYRO, MAG = 0, 1, 2, 3, 5, 6
MEASUREMENTS = {"acc": ACC, "gyro": GYRO, "mag": MAG}
SDK_MODE = 9
HEADER = struct.Struct("<BQB")
COMPRESSED = 0x80

#: Control-point opcodes and response status names (PmdControlPointCommand / PmdControlPointResponse).
OP_GET_SETTINGS, OP_START, OP_STOP, OP_GET_SDK_SETTINGS = 0x01, 0x02, 0x03, 0x04
RESPONSE_CODE = 0xF0
FEATURES_CODE = 0x0F
STOPPED_NOTIFICATION = 0x01
STATUS = (
    "SUCCESS", "ERROR_INVALID_OP_CODE", "ERROR_INVALID_MEASUREMENT_TYPE", "ERROR_NOT_SUPPORTED",
    "ERROR_INVALID_LENGTH", "ERROR_INVALID_PARAMETER", "ERROR_ALREADY_IN_STATE", "ERROR_INVALID_RESOLUTION",
    "ERROR_INVALID_SAMPLE_RATE", "ERROR_INVALID_RANGE", "ERROR_INVALID_MTU", "ERROR_INVALID_NUMBER_OF_CHANNELS",
    "ERROR_INVALID_STATE", "ERROR_DEVICE_IN_CHARGER",
)  # fmt: skip
#: Setting TLV types: name and value size in bytes (PmdSetting.PmdSettingType).
SETTINGS = {0: ("sample_rate", 2), 1: ("resolution", 2), 2: ("range", 2), 3: ("range_milliunit", 4),
            4: ("channels", 1), 5: ("factor", 4)}  # fmt: skip
FEATURE_BITS = {0: "ecg", 1: "ppg", 2: "acc", 3: "ppi", 5: "gyro", 6: "mag", 7: "skin_temperature"}

#: (measurement, frame type) -> (output channel, channels on the wire, reference resolution bits, float
#: patterns, project units per raw unit before the scale factor).
FRAMES: dict[tuple[int, int], tuple[str, int, int, bool, float]] = {
    (ACC, 0x00): ("acc_mps2", 3, 8, False, G_MPS2 / 1000.0),  # int8 mG
    (ACC, 0x01): ("acc_mps2", 3, 16, False, G_MPS2 / 1000.0),  # int16 mG (H10)
    (ACC, 0x02): ("acc_mps2", 3, 24, False, G_MPS2 / 1000.0),  # int24 mG
    (ACC, 0x80): ("acc_mps2", 3, 16, False, G_MPS2),  # raw × factor = g (the SDK's ×1000 gives mG)
    (ACC, 0x81): ("acc_mps2", 3, 16, False, G_MPS2 / 1000.0),  # raw × factor = mG
    (GYRO, 0x80): ("gyr_dps", 3, 16, False, 1.0),  # raw × factor = deg/s
    (GYRO, 0x81): ("gyr_dps", 3, 32, True, 1.0),  # float32 deg/s × factor
    (MAG, 0x80): ("mag_uT", 3, 16, False, GAUSS_UT),  # raw × factor = Gauss
    (MAG, 0x81): ("mag_uT", 4, 16, False, 0.1),  # mG × factor, 4th channel = calibration status
}


def parse_header(packet: bytes) -> tuple[int, int, int, bytes]:
    """Split a data notification into ``(measurement type, timestamp ns, frame type byte, content)``.

    Raises
    ------
    CorruptPacket
        When the packet is shorter than the 10-byte header.
    """
    if len(packet) < HEADER.size:
        raise CorruptPacket(f"PMD frame of {len(packet)} B is shorter than its {HEADER.size}-byte header")
    mtype, ts_ns, ftype = HEADER.unpack_from(packet)
    return mtype, ts_ns, ftype, bytes(packet[HEADER.size :])


def parse_reference(content: bytes, channels: int, resolution_bits: int) -> np.ndarray:
    """The reference sample of a delta frame: ``channels`` signed little-endian integers (int64)."""
    width = (resolution_bits + 7) // 8
    if len(content) < width * channels:
        raise CorruptPacket(f"delta frame of {len(content)} B cannot hold its {width * channels}-byte reference")
    return _le_signed(content, channels, width)


def _le_signed(data: bytes, count: int, width: int) -> np.ndarray:
    """``count`` signed little-endian integers of ``width`` bytes each, as int64."""
    if width in _SIGNED:
        return np.frombuffer(data, dtype=_SIGNED[width], count=count).astype(np.int64)
    raw = np.frombuffer(data, dtype=np.uint8, count=count * width).reshape(count, width).astype(np.int64)
    return _sign_extend(raw @ (1 << (8 * np.arange(width, dtype=np.int64))), 8 * width)


_SIGNED = {1: np.dtype("i1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}


def _sign_extend(value: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement reading of the low ``bits`` bits of non-negative integers."""
    sign = 1 << (bits - 1)
    return (value ^ sign) - sign


def parse_deltas(content: bytes, channels: int, resolution_bits: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Decode a delta frame's content to raw integer samples.

    Parameters
    ----------
    content
        The frame content after the 10-byte header.
    channels
        Channels per sample.
    resolution_bits
        Reference sample resolution (16 for int16, 32 for float32 patterns).

    Returns
    -------
    samples
        (n, channels) int64 raw samples, the reference first; 32-bit resolutions wrap like the SDK's Int.
    blocks
        ``(bit width, sample count)`` of each delta block.
    """
    ref = parse_reference(content, channels, resolution_bits)
    offset = (resolution_bits + 7) // 8 * channels
    deltas, blocks = [], []
    bits_all = np.unpackbits(np.frombuffer(content, dtype=np.uint8), bitorder="little")
    while offset < len(content):
        if offset + 2 > len(content):
            raise CorruptPacket(f"delta block header cut off at byte {offset}")
        width, count = content[offset], content[offset + 1]
        offset += 2
        if not 1 <= width <= 32:
            raise CorruptPacket(f"delta width {width} bits is outside 1..32")
        n_bits = width * count * channels
        size = (n_bits + 7) // 8
        if offset + size > len(content):
            raise CorruptPacket(f"delta block of {count} × {width} bit needs {size} B, {len(content) - offset} left")
        bits = bits_all[8 * offset : 8 * offset + n_bits].reshape(count * channels, width)
        values = _sign_extend(bits.astype(np.int64) @ (1 << np.arange(width, dtype=np.int64)), width)
        deltas.append(values.reshape(count, channels))
        blocks.append((width, count))
        offset += size
    samples = np.cumsum(np.vstack([ref[None, :], *deltas]), axis=0)
    if resolution_bits == 32:
        samples = (samples & 0xFFFFFFFF).astype(np.uint32).view(np.int32).astype(np.int64)
    return samples, blocks


def parse_settings(data: bytes) -> dict[str, list[float]]:
    """Parse measurement-setting TLVs (``type, count, count × LE value``) into lists by setting name."""
    out: dict[str, list[float]] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data) or data[i] not in SETTINGS:
            raise BadResponse(f"bad PMD setting at byte {i} of {bytes(data).hex(' ')}")
        name, size = SETTINGS[data[i]]
        count = data[i + 1]
        i += 2
        if i + count * size > len(data):
            raise BadResponse(f"PMD setting {name} is cut off in {bytes(data).hex(' ')}")
        fmt = "<f" if name == "factor" else {1: "<B", 2: "<H", 4: "<I"}[size]
        out[name] = [struct.unpack_from(fmt, data, i + k * size)[0] for k in range(count)]
        i += count * size
    return out


def serialize_settings(settings: dict[str, float]) -> bytes:
    """Serialise single-valued settings (sample_rate, resolution, range, channels) as TLVs."""
    by_name = {name: (code, size) for code, (name, size) in SETTINGS.items()}
    out = b""
    for name, value in settings.items():
        code, size = by_name[name]
        packed = struct.pack("<f", value) if name == "factor" else int(value).to_bytes(size, "little")
        out += bytes([code, 1]) + packed
    return out


class PolarDecoder(Decoder):
    """Decoder of PMD data notifications (ACC, GYRO, MAG) into samples with device time.

    Parameters
    ----------
    factor
        Scale factor returned in the start response (``factor`` setting); one for all measurements or a
        dict by measurement type. Uncompressed H10 ACC frames ignore it (they are in mG).
    rate_hz
        Sample rate, used to time the samples of the first frame and to detect gaps.
    """

    def __init__(self, factor: float | dict[int, float] = 1.0, rate_hz: float | None = None) -> None:
        self.factors = factor if isinstance(factor, dict) else {m: float(factor) for m in (ACC, GYRO, MAG)}
        self.rate_hz = rate_hz
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame timestamps."""
        self.last_ts_ns: dict[int, int] = {}

    def feed(self, payload: bytes) -> tuple[SampleBlock, PacketDiagnostics]:
        """Decode one PMD data notification; a bad or foreign frame is skipped with a note."""
        diag = PacketDiagnostics()
        try:
            block = self._decode(bytes(payload), diag)
        except ProtocolError as exc:
            diag.skip(len(payload), str(exc))
            return SampleBlock.empty(), diag
        diag.frames, diag.samples = 1, block.n
        return block, diag

    def _decode(self, payload: bytes, diag: PacketDiagnostics) -> SampleBlock:
        mtype, ts_ns, ftype, content = parse_header(payload)
        spec = FRAMES.get((mtype, ftype))
        if spec is None:
            raise UnsupportedPayload(f"PMD measurement type {mtype} frame type 0x{ftype:02x} is not an IMU frame")
        name, channels, resolution, is_float, unit = spec
        if ftype & COMPRESSED:
            raw, _ = parse_deltas(content, channels, resolution)
            factor = self.factors.get(mtype, 1.0)
        else:
            raw = _parse_plain(content, channels, resolution)
            factor = 1.0
        values = raw[:, :3].astype(np.uint32).view(np.float32) if is_float else raw[:, :3]
        if is_float and not np.isfinite(values).all():
            raise CorruptPacket("float32 samples that are NaN or infinite")
        data = values.astype(np.float64) * (factor * unit)
        time_s = self._sample_times_s(mtype, ts_ns, len(data), diag)
        return SampleBlock(device_time_s=time_s, **{name: data})

    def _sample_times_s(self, mtype: int, ts_ns: int, n: int, diag: PacketDiagnostics) -> np.ndarray:
        """Sample times as the SDK derives them: spread from the previous frame's stamp, else by rate.

        After a lost frame the previous stamp is a frame too early: spread from it, the samples would
        stretch over the lost ones' time too, so they are spaced by the rate back from their own stamp.
        """
        prev = self.last_ts_ns.get(mtype)
        self.last_ts_ns[mtype] = ts_ns
        lost_before = self.rate_hz and prev is not None and (ts_ns - prev) > (n + 0.5) * 1e9 / self.rate_hz
        if lost_before:
            diag.time_gaps += 1
        elif prev is not None and 0 < prev < ts_ns:
            step_ns = (ts_ns - prev) / n
            return (prev + step_ns * np.arange(1, n + 1)) * 1e-9
        step_ns = 1e9 / self.rate_hz if self.rate_hz else 0.0
        if not step_ns:
            diag.notes.append("first frame without a sample rate: its samples share the frame timestamp")
        return (ts_ns - step_ns * np.arange(n - 1, -1, -1)) * 1e-9


def _parse_plain(content: bytes, channels: int, resolution_bits: int) -> np.ndarray:
    """Uncompressed samples: signed little-endian integers of ``resolution_bits``, channel-interleaved."""
    width = resolution_bits // 8
    step = width * channels
    if not content or len(content) % step:
        raise CorruptPacket(f"uncompressed frame content of {len(content)} B is not a multiple of {step} B")
    return _le_signed(content, len(content) // width, width).reshape(-1, channels)


class PolarEncoder(Encoder):
    """Encodes samples as PMD data frames: delta-compressed (Verity Sense) or uncompressed int16 mG ACC (H10).

    Parameters
    ----------
    factor
        Scale factor of the compressed frames (raw × factor = g, deg/s or Gauss): one for all measurement
        types, or one per type (as the sensor announces it in each start answer).
    rate_hz
        Sample rate for device time when a block has none.
    compressed
        Delta frames (frame type 0x80) when True; otherwise H10-style ACC frame type 0x01 (ACC only).
    max_payload
        Largest notification payload in bytes.
    """

    def __init__(
        self,
        factor: float | dict[int, float] = 1.0,
        rate_hz: float = 52.0,
        compressed: bool = True,
        max_payload: int = 244,
    ):
        super().__init__(max_payload)
        self.factors = factor if isinstance(factor, dict) else {m: float(factor) for m in (ACC, GYRO, MAG)}
        self.rate_hz = rate_hz
        self.compressed = compressed
        self.samples_sent = 0

    def encode(self, block: SampleBlock) -> list[bytes]:
        """One frame per measurement type present (acc, gyro, mag) per notification-sized chunk."""
        if block.n == 0:
            return []
        if block.device_time_s is not None:
            time_ns = np.rint(np.asarray(block.device_time_s) * 1e9).astype(np.int64)
        else:
            time_ns = np.rint((self.samples_sent + np.arange(block.n)) * 1e9 / self.rate_hz).astype(np.int64)
        self.samples_sent += block.n
        out = []
        for (mtype, ftype), (name, channels, _, _, unit) in FRAMES.items():
            values = getattr(block, name)
            wanted = (ftype == 0x80) if self.compressed else (mtype == ACC and ftype == 0x01)
            if values is None or not wanted or channels != 3:
                continue
            scale = unit * (self.factors.get(mtype, 1.0) if self.compressed else 1.0)
            raw = quantise_int16(np.asarray(values) / scale).astype(np.int64)
            out += self._frames(mtype, ftype, raw, time_ns)
        if not out:
            raise UnsupportedPayload("nothing to encode: PMD frames carry acc, gyro or mag (uncompressed: acc only)")
        return out

    def _frames(self, mtype: int, ftype: int, raw: np.ndarray, time_ns: np.ndarray) -> list[bytes]:
        room = self.max_payload - HEADER.size - 6
        out, start = [], 0
        while start < len(raw):
            if ftype & COMPRESSED:
                n, content = _pack_deltas(raw[start:], room)
            else:
                n = min(len(raw) - start, (room + 6) // 6)
                content = raw[start : start + n].astype("<i2").tobytes()
            out.append(HEADER.pack(mtype, int(time_ns[start + n - 1]), ftype) + content)
            start += n
        return out


def _pack_deltas(raw: np.ndarray, room: int) -> tuple[int, bytes]:
    """Pack as many samples as fit in ``room`` bytes after the reference: one delta block, LSB-first."""
    content = raw[0].astype("<i2").tobytes()
    deltas = np.diff(raw, axis=0)
    n = 1
    if len(deltas):
        # Grow the block while it fits: the width must hold every delta in it (signed).
        peak = np.maximum.accumulate(np.abs(deltas).max(axis=1))
        width = np.maximum(2, np.ceil(np.log2(peak + 1)).astype(int) + 1)
        fits = np.nonzero(2 + (width * 3 * np.arange(1, len(deltas) + 1) + 7) // 8 <= room)[0]
        count = min(255, int(fits[-1]) + 1) if len(fits) else 0
        if count:
            w = int(width[count - 1])
            values = deltas[:count].reshape(-1) & ((1 << w) - 1)
            bits = ((values[:, None] >> np.arange(w)) & 1).astype(np.uint8).reshape(-1)
            content += bytes([w, count]) + np.packbits(bits, bitorder="little").tobytes()
            n += count
    return n, content


class PolarModel(SensorModel):
    """Polar Verity Sense and H10 over PMD."""

    kind = "polar-pmd"
    name = "Polar Verity Sense / H10 (PMD)"
    vendor = "Polar Electro"
    service_uuid = SERVICE_UUID
    characteristics = {"notify": DATA_UUID, "control": CONTROL_UUID, "battery": BATTERY_LEVEL_UUID,
                       "firmware": FIRMWARE_REVISION_UUID}  # fmt: skip
    rates_hz = (25.0, 26.0, 50.0, 52.0, 100.0, 104.0, 200.0, 208.0, 416.0)
    default_rate_hz = 52.0
    has_device_clock = True
    has_fusion = False
    has_magnetometer = True
    placement_hint = "thoracic (H10 chest strap: acc only); Verity Sense anywhere"
    name_pattern = r"^Polar (H10|Sense|OH1)"
    company_ids = (0x006B,)
    notes = "H10: ACC 25/50/100/200 Hz ±2/4/8 g. Verity Sense: ACC/GYRO 52 Hz, 26–416 Hz in SDK mode; MAG 10–100 Hz."

    def configure_commands(
        self, rate_hz: float | None = None, sdk_mode: bool = False, **options
    ) -> list[tuple[str, bytes]]:
        """SDK mode on (Verity Sense, needed for rates other than 52 Hz) when asked."""
        return [(CONTROL_UUID, bytes([OP_START, SDK_MODE]))] if sdk_mode else []

    def start_commands(
        self,
        rate_hz: float = 52.0,
        measurements: tuple[str, ...] = ("acc", "gyro"),
        acc_range_g: int = 8,
        gyr_range_dps: int = 2000,
        mag_rate_hz: float = 50.0,
        channels: int | None = None,
        **options,
    ) -> list[tuple[str, bytes]]:
        """One START per measurement with rate, 16-bit resolution, range (and channels when given).

        The H10 takes ``measurements=("acc",)``; the Verity Sense lists ``channels`` 3 among its settings,
        so pass ``channels=3`` there. The start answer carries the scale factor for the decoder.
        """
        self.check_rate(rate_hz)
        cmds = []
        for m in measurements:
            if m not in MEASUREMENTS:
                raise UnsupportedPayload(f"PMD measurement {m!r}: choose from {', '.join(MEASUREMENTS)}")
            settings = {"sample_rate": mag_rate_hz if m == "mag" else rate_hz, "resolution": 16}
            if m != "mag":
                settings["range"] = acc_range_g if m == "acc" else gyr_range_dps
            if channels is not None:
                settings["channels"] = channels
            cmds.append((CONTROL_UUID, bytes([OP_START, MEASUREMENTS[m]]) + serialize_settings(settings)))
        return cmds

    def stop_commands(self, measurements: tuple[str, ...] = ("acc", "gyro")) -> list[tuple[str, bytes]]:
        """One STOP per measurement."""
        return [(CONTROL_UUID, bytes([OP_STOP, MEASUREMENTS[m]])) for m in measurements]

    def settings_request(self, measurement: str = "acc") -> tuple[str, bytes]:
        """GET_MEASUREMENT_SETTINGS for a measurement (answer: the settings it supports)."""
        return CONTROL_UUID, bytes([OP_GET_SETTINGS, MEASUREMENTS[measurement]])

    def parse_features(self, data: bytes) -> dict:
        """Parse the control point read ``0F b1 b2``: measurements offered and whether SDK mode exists."""
        if len(data) < 2 or data[0] != FEATURES_CODE:
            raise BadResponse(f"PMD feature read {bytes(data).hex(' ')} does not start with 0F")
        offered = [name for bit, name in FEATURE_BITS.items() if data[1] >> bit & 1]
        return {"measurements": offered, "sdk_mode": len(data) > 2 and bool(data[2] & 0x02)}

    def parse_response(self, data: bytes) -> dict:
        """Parse a control-point notification: a response ``F0 op type status more params`` or a
        measurement-stopped notification ``01 types...``.

        Raises
        ------
        BadResponse
            For malformed bytes or an error status (named as in the SDK, e.g. ERROR_INVALID_RESOLUTION).
        """
        data = bytes(data)
        if data[:1] == bytes([STOPPED_NOTIFICATION]):
            return {"event": "ONLINE_MEASUREMENT_STOPPED", "stopped_types": list(data[1:])}
        if len(data) < 4 or data[0] != RESPONSE_CODE:
            raise BadResponse(f"PMD control response {data.hex(' ')} does not start with F0 op type status")
        op, mtype, status = data[1], data[2], data[3]
        status_name = STATUS[status] if status < len(STATUS) else f"status {status}"
        if status:
            raise BadResponse(f"PMD opcode {op} for measurement type {mtype} failed: {status_name}")
        out = {"op_code": op, "measurement_type": mtype, "status": status_name,
               "more": len(data) > 4 and bool(data[4]), "parameters": data[5:]}  # fmt: skip
        # GET_MEASUREMENT_SETTINGS parameters are left raw for parse_settings: some firmware pads them.
        if op == OP_START:
            # The start answer's settings carry the scale factor the decoder needs.
            out["settings"] = parse_settings(data[5:])
        return out

    def decoder(self, factor: float | dict[int, float] = 1.0, rate_hz: float | None = None, **context) -> PolarDecoder:
        """A decoder with the start response's scale ``factor`` and the stream's ``rate_hz``."""
        return PolarDecoder(factor=factor, rate_hz=rate_hz)

    def encoder(self, factor: float | dict[int, float] = 1.0, rate_hz: float = 52.0, compressed: bool = True, max_payload: int = 244,
                **context) -> PolarEncoder:  # fmt: skip
        """An encoder of delta frames (Verity Sense) or uncompressed ACC frames (H10)."""
        return PolarEncoder(factor=factor, rate_hz=rate_hz, compressed=compressed, max_payload=max_payload)
