"""What each supported sensor's firmware does over GATT, for the virtual sensors.

A :class:`VirtualFirmware` holds a model's streaming state and answers reads, writes and
subscriptions the way the real firmware does (as far as ``firmware_protocol`` and PROTOCOLS.md
describe it): which command starts the stream, what a rate change writes, what comes back on the
control point, where the battery is read. Payloads come from the model's own encoder.
"""

from __future__ import annotations

import struct

from bumble.att import ATT_Error, ErrorCode
from bumble.gatt import Characteristic

from firmware_protocol import SampleBlock, SensorModel, UnsupportedPayload, polar, thingy52
from firmware_protocol import imuform_format as imu
from firmware_protocol import metawear as mw
from firmware_protocol import movella_dot as dot
from firmware_protocol import witmotion as wit
from firmware_protocol.base import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    DEVICE_INFO_SERVICE_UUID,
    FIRMWARE_REVISION_UUID,
)

_P = Characteristic.Properties
_SIG_SERVICES = {BATTERY_LEVEL_UUID: BATTERY_SERVICE_UUID, FIRMWARE_REVISION_UUID: DEVICE_INFO_SERVICE_UUID}


class VirtualFirmware:
    """Base behaviour: one primary service with the model's characteristics, SIG battery and firmware.

    Parameters
    ----------
    model
        The sensor model (GATT UUIDs, encoder).
    rate_hz
        Initial sample rate.
    sensor_id
        A small id written into payloads where the protocol has one.
    max_payload
        Largest notification payload (ATT MTU − 3).
    """

    #: Channels the payloads carry (SampleBlock attribute names).
    channels: tuple[str, ...] = ("acc_mps2", "gyr_dps")
    #: Whether enabling notifications on the data characteristic starts the stream.
    starts_on_subscribe = False
    #: How the real sensor's advertised name begins (the address's last bytes follow).
    name_prefix = "imuform"

    def __init__(self, model: SensorModel, rate_hz: float, sensor_id: int = 0, max_payload: int = 244) -> None:
        self.model = model
        self.rate_hz = rate_hz
        self.sensor_id = sensor_id
        self.max_payload = max_payload
        self.streaming = False
        self.battery_percent = 87
        self.firmware = "1.0.0"
        self.encoder = self.new_encoder()

    def new_encoder(self):
        """A fresh encoder for the current settings."""
        return self.model.encoder(sensor_id=self.sensor_id, rate_hz=self.rate_hz, max_payload=self.max_payload)

    def layout(self) -> dict[str, dict[str, int]]:
        """GATT layout: service UUID -> {characteristic UUID: properties}."""
        main: dict[str, int] = {}
        for role, uuid in self.model.characteristics.items():
            if uuid not in _SIG_SERVICES:
                main[uuid] = (
                    _P.NOTIFY
                    if role.startswith("notify")
                    else _P.READ | _P.WRITE | _P.WRITE_WITHOUT_RESPONSE | _P.NOTIFY
                )
        return {
            self.model.service_uuid: main,
            BATTERY_SERVICE_UUID: {BATTERY_LEVEL_UUID: _P.READ | _P.NOTIFY},
            DEVICE_INFO_SERVICE_UUID: {FIRMWARE_REVISION_UUID: _P.READ},
        }

    def read(self, char_uuid: str) -> bytes:
        """The value a read returns."""
        if char_uuid == BATTERY_LEVEL_UUID:
            return bytes([self.battery_percent])
        if char_uuid == FIRMWARE_REVISION_UUID:
            return self.firmware.encode()
        return b""

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """Handle a write; return notifications to send in answer as ``(char_uuid, payload)``."""
        raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)

    def on_subscribe(self, char_uuid: str, enabled: bool) -> None:
        """A client (un)subscribed to a characteristic."""
        if self.starts_on_subscribe and char_uuid == self.model.notify_uuid:
            self.streaming = enabled

    def on_disconnect(self) -> None:
        """The link dropped: a real sensor stops streaming and waits for a new connection."""
        self.streaming = False

    def set_rate(self, rate_hz: float) -> None:
        """Change the output rate (the virtual sensor resamples its stream)."""
        self.rate_hz = self.model.check_rate(rate_hz)
        self.encoder = self.new_encoder()

    def encode(self, block: SampleBlock) -> list[bytes]:
        """Notification payloads for a block of samples."""
        return self.encoder.encode(block)

    def device_time_base(self) -> str:
        """Which clock stamps the payloads: ``"device"`` (own, with offset and drift) or ``"common"``."""
        return "device"


class ImuformFirmware(VirtualFirmware):
    """The open imuform DIY firmware: control point START/STOP/SET_RATE/SET_CONTENT/GET_CONFIG."""

    def __init__(self, model: SensorModel, rate_hz: float, sensor_id: int = 0, max_payload: int = 244) -> None:
        self.content = 0x03
        super().__init__(model, rate_hz, sensor_id, max_payload)

    @property
    def channels(self) -> tuple[str, ...]:  # type: ignore[override]
        """The channels selected with SET_CONTENT."""
        return tuple(name for bit, name, _, _ in imu.CHANNELS if self.content & bit)

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """Run a command and answer ``[0x80|opcode][status][payload]`` on the control point."""
        if char_uuid != imu.CONTROL_UUID or not data:
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        op, status, payload = data[0], 0, b""
        if op == imu.OP_START:
            self.streaming = True
        elif op == imu.OP_STOP:
            self.streaming = False
        elif op == imu.OP_SET_RATE and len(data) == 3:
            try:
                self.set_rate(float(int.from_bytes(data[1:3], "little")))
            except UnsupportedPayload:
                status = 2
        elif op == imu.OP_SET_CONTENT and len(data) == 2 and data[1] and not data[1] & ~imu.ALL_CONTENT:
            self.content = data[1]
        elif op == imu.OP_GET_CONFIG:
            payload = struct.pack("<BBHB", imu.VERSION, self.sensor_id, int(self.rate_hz), self.content)
        else:
            status = 2 if op in (imu.OP_SET_RATE, imu.OP_SET_CONTENT) else 1
        return [(imu.CONTROL_UUID, bytes([imu.RESPONSE_BIT | op, status]) + payload)]


class DotFirmware(VirtualFirmware):
    """Movella DOT: device control (rate), measurement control (start/stop mode 21), battery, sync messages.

    The sync service answers StartSync with an acknowledge and then stamps payloads on the common
    (root) time base; the real sensors' disconnect-and-reconnect during sync is not modelled.
    """

    name_prefix = "Movella DOT"

    def __init__(self, model: SensorModel, rate_hz: float, sensor_id: int = 0, max_payload: int = 244) -> None:
        self.mode = 21
        self.synced = False
        self.ack = b""
        super().__init__(model, rate_hz, sensor_id, max_payload)

    def new_encoder(self):
        """A DOT encoder of the current payload mode."""
        return self.model.encoder(mode=self.mode, rate_hz=self.rate_hz, max_payload=self.max_payload)

    def layout(self) -> dict[str, dict[str, int]]:
        """The DOT's services: configuration 0x1000, measurement 0x2000, battery 0x3000, messages 0x7000."""
        rw = _P.READ | _P.WRITE
        return {
            dot.dot_uuid(0x1000): {dot.INFO_UUID: _P.READ, dot.DEVICE_CONTROL_UUID: rw},
            dot.SERVICE_UUID: {
                dot.CONTROL_UUID: rw,
                dot.LONG_UUID: _P.NOTIFY,
                dot.MEDIUM_UUID: _P.NOTIFY,
                dot.SHORT_UUID: _P.NOTIFY,
            },  # fmt: skip
            dot.dot_uuid(0x3000): {dot.BATTERY_UUID: _P.READ | _P.NOTIFY},
            dot.dot_uuid(0x7000): {
                dot.MESSAGE_CONTROL_UUID: _P.WRITE,
                dot.MESSAGE_ACK_UUID: _P.READ,
                dot.MESSAGE_NOTIFY_UUID: _P.NOTIFY,
            },  # fmt: skip
        }

    def read(self, char_uuid: str) -> bytes:
        """Device info (MAC, firmware x.y.z), battery ``[level, charging]``, measurement control, sync ack."""
        if char_uuid == dot.INFO_UUID:
            return bytes(6) + bytes([2, 6, 0]) + bytes(25)
        if char_uuid == dot.BATTERY_UUID:
            return bytes([self.battery_percent, 0])
        if char_uuid == dot.CONTROL_UUID:
            return bytes([1, int(self.streaming), self.mode])
        if char_uuid == dot.MESSAGE_ACK_UUID:
            return self.ack
        return b""

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """Rate via device control, start/stop via measurement control, sync via the message service."""
        if char_uuid == dot.DEVICE_CONTROL_UUID and len(data) == 32:
            if data[0] & 0x10:
                try:
                    self.set_rate(float(int.from_bytes(data[24:26], "little")))
                except UnsupportedPayload as exc:
                    raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED) from exc
            return []
        if char_uuid == dot.CONTROL_UUID and len(data) == 3 and data[0] == 1:
            if data[2] not in dot.DotEncoder.ENCODABLE:
                raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED)
            self.mode = data[2]
            self.encoder = self.new_encoder()
            self.streaming = bool(data[1])
            return []
        if char_uuid == dot.MESSAGE_CONTROL_UUID:
            message = dot.parse_message(data)
            syid = message["syid"]
            if syid == dot.SYNC_START:
                self.synced = True
                self.ack = dot.build_message(dot.MID_SYNC, bytes([dot.SYNC_ACK, 0]))
            elif syid == dot.SYNC_STOP:
                self.synced = False
                self.ack = dot.build_message(dot.MID_SYNC, bytes([dot.SYNC_ACK, 0]))
            elif syid == dot.SYNC_GET_STATUS:
                status = 4 if self.synced else 9
                return [(dot.MESSAGE_NOTIFY_UUID, dot.build_message(dot.MID_SYNC, bytes([dot.SYNC_STATUS, status])))]
            return []
        raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)

    def device_time_base(self) -> str:
        """``"common"`` once synced: every synced DOT stamps the root's time base."""
        return "common" if self.synced else "device"


class PolarFirmware(VirtualFirmware):
    """Polar Verity Sense PMD: control point start/stop per measurement, answered with the scale factor."""

    name_prefix = "Polar Sense"

    #: Scale of the delta frames per measurement (raw × factor = g, deg/s, Gauss), as the start answer
    #: announces it: ±16 g, ±2048 deg/s and ±32 Gauss in 16 bits, powers of two so float32 holds them exactly.
    FACTORS = {polar.ACC: 2.0**-11, polar.GYRO: 2.0**-4, polar.MAG: 2.0**-10}

    def __init__(self, model: SensorModel, rate_hz: float, sensor_id: int = 0, max_payload: int = 244) -> None:
        self.measurements: set[int] = set()
        super().__init__(model, rate_hz, sensor_id, max_payload)

    def new_encoder(self):
        """A delta-frame encoder with the announced factor."""
        return self.model.encoder(
            factor=self.FACTORS, rate_hz=self.rate_hz, compressed=True, max_payload=self.max_payload
        )

    @property
    def channels(self) -> tuple[str, ...]:  # type: ignore[override]
        """The channels of the started measurements."""
        names = {polar.ACC: "acc_mps2", polar.GYRO: "gyr_dps", polar.MAG: "mag_uT"}
        return tuple(names[m] for m in sorted(self.measurements))

    def read(self, char_uuid: str) -> bytes:
        """The control point read: features (acc, gyro, mag; SDK mode)."""
        if char_uuid == polar.CONTROL_UUID:
            return bytes([polar.FEATURES_CODE, 1 << 2 | 1 << 5 | 1 << 6, 0x02])
        return super().read(char_uuid)

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """``02 type settings`` starts (answer carries the factor), ``03 type`` stops, ``02 09`` SDK mode."""
        if char_uuid != polar.CONTROL_UUID or len(data) < 2:
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        op, mtype = data[0], data[1]
        status, params = 0, b""
        if op == polar.OP_START and mtype == polar.SDK_MODE:
            pass
        elif op == polar.OP_START and mtype in (polar.ACC, polar.GYRO, polar.MAG):
            settings = polar.parse_settings(data[2:])
            rate_hz = settings.get("sample_rate", [self.rate_hz])[0]
            if mtype != polar.MAG and rate_hz != self.rate_hz:
                self.set_rate(float(rate_hz))
            self.measurements.add(mtype)
            self.streaming = True
            params = polar.serialize_settings({"factor": self.FACTORS[mtype]})
        elif op == polar.OP_STOP:
            self.measurements.discard(mtype)
            self.streaming = bool(self.measurements)
        else:
            status = 1
        return [(polar.CONTROL_UUID, bytes([polar.RESPONSE_CODE, op, mtype, status, 0]) + params)]

    def on_disconnect(self) -> None:
        """Measurements end with the link."""
        super().on_disconnect()
        self.measurements.clear()


class WitMotionFirmware(VirtualFirmware):
    """WitMotion: streams on subscribe; ``FF AA`` register writes and reads, replies on the data stream."""

    name_prefix = "WT901BLE"

    starts_on_subscribe = True

    def __init__(self, model: SensorModel, rate_hz: float, sensor_id: int = 0, max_payload: int = 244) -> None:
        self.replies: list[bytes] = []
        self.output_on = True
        super().__init__(model, rate_hz, sensor_id, max_payload)

    def new_encoder(self):
        """Frames packed up to the payload size."""
        return self.model.encoder(max_payload=self.max_payload)

    def layout(self) -> dict[str, dict[str, int]]:
        """Service FFE5 with notify FFE4 and write FFE9."""
        return {wit.SERVICE_UUID: {wit.NOTIFY_UUID: _P.NOTIFY, wit.WRITE_UUID: _P.WRITE | _P.WRITE_WITHOUT_RESPONSE}}

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """Set the output rate (or none) and answer register reads with a ``55 71`` frame on the stream."""
        if char_uuid != wit.WRITE_UUID or len(data) != 5 or data[:2] != b"\xff\xaa":
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        register, value = data[2], int.from_bytes(data[3:5], "little")
        if register == wit.REG_RRATE:
            rates = {code: rate for rate, code in wit.RATE_CODES.items()}
            self.output_on = value != wit.RATE_NONE
            if value in rates:
                self.set_rate(rates[value])
        elif register == 0x27:
            regs = {wit.REG_BATTERY: 395, wit.REG_VERSION: 8, wit.REG_VERSION + 1: 1}
            values = [regs.get(value + i, 0) for i in range(8)]
            return [(wit.NOTIFY_UUID, b"\x55\x71" + struct.pack("<H8h", value, *values))]
        return []

    def on_subscribe(self, char_uuid: str, enabled: bool) -> None:
        """Notifications on the data characteristic start the stream (if output is on)."""
        if char_uuid == wit.NOTIFY_UUID:
            self.streaming = enabled

    def encode(self, block: SampleBlock) -> list[bytes]:
        """Frames while the output rate is not 'none'."""
        return self.encoder.encode(block) if self.output_on else []


class ThingyFirmware(VirtualFirmware):
    """Nordic Thingy:52: the 9-byte motion config sets the rate; raw data streams on subscribe."""

    name_prefix = "Thingy"

    starts_on_subscribe = True
    channels = ("acc_mps2", "gyr_dps", "mag_uT")

    def new_encoder(self):
        """18-byte raw notifications."""
        return self.model.encoder(max_payload=self.max_payload)

    def read(self, char_uuid: str) -> bytes:
        """Motion config and firmware version ``major minor patch``."""
        if char_uuid == thingy52.CONFIG_UUID:
            return struct.pack("<4HB", 1000, 500, 500, int(self.rate_hz), 1)
        if char_uuid == thingy52.FIRMWARE_UUID:
            return bytes([2, 2, 0])
        return super().read(char_uuid)

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """The motion config: rate is the u16 at byte 6."""
        if char_uuid != thingy52.CONFIG_UUID or len(data) != 9:
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        try:
            self.set_rate(float(int.from_bytes(data[6:8], "little")))
        except UnsupportedPayload as exc:
            raise ATT_Error(ErrorCode.VALUE_NOT_ALLOWED) from exc
        return []


class MetaWearFirmware(VirtualFirmware):
    """MetaWear: module/register commands; streams once acc and gyro are started; battery on notify."""

    name_prefix = "MetaWear"

    def __init__(self, model: SensorModel, rate_hz: float, sensor_id: int = 0, max_payload: int = 244) -> None:
        self.started: set[int] = set()
        super().__init__(model, rate_hz, sensor_id, max_payload)

    def new_encoder(self):
        """An encoder for the default ranges (16 g, 2000 deg/s)."""
        return self.model.encoder(max_payload=self.max_payload)

    def on_write(self, char_uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        """Config ``[mod 03 odr range]``, start ``[mod 01 1]``, stop ``[mod 01 0]``, battery read ``11 8C``."""
        if char_uuid != mw.COMMAND_UUID or len(data) < 2:
            raise ATT_Error(ErrorCode.WRITE_NOT_PERMITTED)
        module, register = data[0], data[1]
        if module in (mw.ACC, mw.GYRO) and register == 0x03 and len(data) == 4:
            rates = {code: rate for rate, code in mw.ODR_CODES.items()}
            if module == mw.ACC and data[2] & 0x0F in rates:
                self.set_rate(rates[data[2] & 0x0F])
        elif module in (mw.ACC, mw.GYRO) and register == 0x01 and len(data) == 3:
            (self.started.add if data[2] else self.started.discard)(module)
            self.streaming = self.started == {mw.ACC, mw.GYRO}
        elif module == mw.SETTINGS and register == mw.BATTERY_READ:
            return [
                (
                    mw.NOTIFY_UUID,
                    bytes([mw.SETTINGS, mw.BATTERY_READ, self.battery_percent]) + (3900).to_bytes(2, "little"),
                )
            ]
        return []

    def on_disconnect(self) -> None:
        """Sampling stops with the link."""
        super().on_disconnect()
        self.started.clear()


#: Firmware behaviour by sensor kind.
FIRMWARES: dict[str, type[VirtualFirmware]] = {
    "imuform": ImuformFirmware,
    "movella-dot": DotFirmware,
    "polar-pmd": PolarFirmware,
    "witmotion": WitMotionFirmware,
    "thingy52": ThingyFirmware,
    "metawear": MetaWearFirmware,
}
