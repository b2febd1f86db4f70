"""The sensor registry and the models' GATT descriptions, commands and response parsers."""

from __future__ import annotations

import re

import pytest

from firmware_protocol import (
    MODELS,
    BadResponse,
    ProtocolError,
    UnknownSensor,
    UnsupportedPayload,
    get_model,
    identify,
    polar,
)
from firmware_protocol import movella_dot as dot

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_registry_kinds_and_lookup_errors():
    assert set(MODELS) == {"movella-dot", "polar-pmd", "witmotion", "metawear", "thingy52", "imuform"}
    with pytest.raises(UnknownSensor, match="choose one of imuform, metawear"):
        get_model("xsens")
    assert issubclass(UnknownSensor, ProtocolError)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_models_describe_themselves(kind):
    model = MODELS[kind]
    info = model.describe()
    assert info["kind"] == kind and info["rates_hz"]
    assert UUID.match(model.service_uuid) and all(UUID.match(u) for u in model.characteristics.values())
    assert model.notify_uuid == model.characteristics["notify"]
    for char, data in (
        model.configure_commands(rate_hz=model.default_rate_hz) + model.start_commands() + model.stop_commands()
    ):
        assert UUID.match(char) and isinstance(data, bytes) and data
    assert UUID.match(model.battery_request()[0]) and UUID.match(model.firmware_request()[0])
    # Advertising its service UUID identifies the model.
    assert identify(None, [model.service_uuid.upper()], {}) is model


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Movella DOT", "movella-dot"), ("Xsens DOT", "movella-dot"), ("Polar H10 A1B2C3D4", "polar-pmd"),
     ("Polar Sense 12345678", "polar-pmd"), ("WT901BLE68", "witmotion"), ("MetaWear", "metawear"),
     ("Thingy", "thingy52"), ("imuform-lumbar", "imuform")],
)  # fmt: skip
def test_identify_by_name(name, kind):
    assert identify(name, [], {}).kind == kind


def test_identify_nothing():
    assert identify("Mi Band 7", ["0000180d-0000-1000-8000-00805f9b34fb"], {0x0157: b"\x01"}) is None


def test_rates_are_checked():
    with pytest.raises(UnsupportedPayload, match="choose one of"):
        get_model("movella-dot").configure_commands(rate_hz=100)
    with pytest.raises(UnsupportedPayload):
        get_model("thingy52").configure_commands(rate_hz=300)


def test_dot_commands():
    model = get_model("movella-dot")
    ((char, data),) = model.configure_commands(rate_hz=60)
    assert char == dot.DEVICE_CONTROL_UUID and len(data) == 32 and data[0] == 0x10 and data[24:26] == b"\x3c\x00"
    assert model.start_commands(mode="rate_quantities") == [(dot.CONTROL_UUID, b"\x01\x01\x15")]
    assert model.stop_commands(mode=21) == [(dot.CONTROL_UUID, b"\x01\x00\x15")]
    assert dot.payload_char(21) == dot.MEDIUM_UUID and dot.payload_char(5) == dot.SHORT_UUID
    with pytest.raises(UnsupportedPayload, match="raise the MTU"):
        model.encoder(mode=21, max_payload=20)  # 28-byte payloads need an MTU above the default 23
    assert model.parse_battery(b"\x57\x01") == {"percent": 87.0, "voltage_v": None, "charging": 1.0}
    # The sample in Xsens' own iOS SDK header (XsensDotFirmwareVersion.h): MAC, 1.0.0, built 2019-12-06.
    assert model.parse_firmware(bytes.fromhex("fdf2858ffcfb010000e3070c0607012d69915b00")) == "1.0.0"


def test_polar_commands_and_features():
    model = get_model("polar-pmd")
    assert model.configure_commands(sdk_mode=True) == [(polar.CONTROL_UUID, b"\x02\x09")]
    assert model.stop_commands(("acc",)) == [(polar.CONTROL_UUID, b"\x03\x02")]
    assert model.parse_features(b"\x0f\x65\x02") == {"measurements": ["ecg", "acc", "gyro", "mag"], "sdk_mode": True}
    start = model.parse_response(b"\xf0\x02\x02\x00\x00" + b"\x05\x01" + bytes.fromhex("9a99193a"))
    assert start["settings"]["factor"][0] == pytest.approx(0.000585938)
    with pytest.raises(BadResponse):
        model.parse_response(b"\x42")


def test_battery_parsers():
    assert get_model("imuform").parse_battery(b"\x64") == {"percent": 100.0, "voltage_v": None}
    with pytest.raises(BadResponse):
        get_model("polar-pmd").parse_battery(b"\xff")
    assert get_model("metawear").parse_battery(bytes.fromhex("118C5A1A10")) == {"percent": 90.0, "voltage_v": 4.122}
    reply = bytes.fromhex("5571 6400 9C01") + bytes(14)  # register 0x64 = 412 → 4.12 V
    assert get_model("witmotion").parse_battery(reply) == {"percent": None, "voltage_v": 4.12}
    temperature = bytes.fromhex("5571 4000 D209") + bytes(14)  # register 0x40 = 2514 → 25.14 °C
    assert get_model("witmotion").parse_response(temperature)["temperature_c"] == 25.14
