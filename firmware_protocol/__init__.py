"""Sensor wire protocols: bytes in, samples out in project units (and back, for the virtual sensors).

Pure: no asyncio, no BLE, no files, and nothing else of imuform's. ``MODELS`` maps each sensor kind
(the CLI name) to its ``SensorModel``; ``get_model`` looks one up and ``identify`` recognises one from
an advertisement.
"""

from __future__ import annotations

from firmware_protocol.base import (
    BadResponse,
    CorruptPacket,
    Decoder,
    Encoder,
    PacketDiagnostics,
    ProtocolError,
    SampleBlock,
    SensorModel,
    UnknownSensor,
    UnsupportedPayload,
)
from firmware_protocol.imuform_format import ImuformModel
from firmware_protocol.metawear import MetaWearModel
from firmware_protocol.movella_dot import DotModel
from firmware_protocol.polar import PolarModel
from firmware_protocol.thingy52 import ThingyModel
from firmware_protocol.witmotion import WitMotionModel

MODELS: dict[str, SensorModel] = {
    m.kind: m for m in (DotModel(), PolarModel(), WitMotionModel(), MetaWearModel(), ThingyModel(), ImuformModel())
}


def get_model(kind: str) -> SensorModel:
    """The model of a sensor kind; raises UnknownSensor naming the valid kinds."""
    try:
        return MODELS[kind]
    except KeyError:
        raise UnknownSensor(f"unknown sensor kind {kind!r}; choose one of {', '.join(sorted(MODELS))}") from None


def identify(name: str | None, service_uuids: list[str], manufacturer_data: dict[int, bytes]) -> SensorModel | None:
    """The model an advertisement (local name, service UUIDs, manufacturer data) belongs to, or None."""
    return next((m for m in MODELS.values() if m.matches(name, service_uuids, manufacturer_data)), None)


__all__ = [
    "MODELS",
    "BadResponse",
    "CorruptPacket",
    "Decoder",
    "Encoder",
    "PacketDiagnostics",
    "ProtocolError",
    "SampleBlock",
    "SensorModel",
    "UnknownSensor",
    "UnsupportedPayload",
    "get_model",
    "identify",
]
