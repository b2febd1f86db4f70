"""Find supported sensors nearby with bleak: scan, identify the model, read the battery.

Everything here uses bleak's public API only. ``BleKwargs`` carries the keyword arguments handed to
``BleakScanner`` and ``BleakClient`` unchanged: empty for the operating system's Bluetooth stack, or a
custom backend (the virtual radio's Bumble classes) and its options.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from firmware_protocol import BadResponse, SensorModel, identify

logger = logging.getLogger(__name__)


@dataclass
class BleKwargs:
    """Keyword arguments passed through to bleak.

    Attributes
    ----------
    scanner
        For ``BleakScanner(...)`` (e.g. ``backend=`` and the backend's own options).
    client
        For ``BleakClient(...)``.
    """

    scanner: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)


@dataclass
class FoundSensor:
    """A supported sensor seen advertising.

    Attributes
    ----------
    model
        Its ``firmware_protocol`` model.
    device
        Bleak's handle, to connect with.
    name, address, rssi
        Advertised name, address and signal strength (dBm).
    battery_percent
        Battery level when it was read, else None.
    """

    model: SensorModel
    device: BLEDevice
    name: str
    address: str
    rssi: int
    battery_percent: float | None = None

    def to_dict(self) -> dict:
        """JSON form for ``imuform scan --json``."""
        return {
            "kind": self.model.kind,
            "model": self.model.name,
            "name": self.name,
            "address": self.address,
            "rssi": self.rssi,
            "battery_percent": self.battery_percent,
            "placement_hint": self.model.placement_hint,
        }


def _identify(device: BLEDevice, adv: AdvertisementData) -> FoundSensor | None:
    model = identify(adv.local_name, adv.service_uuids, adv.manufacturer_data)
    if model is None:
        return None
    return FoundSensor(model, device, adv.local_name or device.name or "", device.address, adv.rssi)


async def scan_sensors(timeout_s: float, ble: BleKwargs) -> list[FoundSensor]:
    """Scan for ``timeout_s`` seconds and return the supported sensors seen, strongest signal first.

    Parameters
    ----------
    timeout_s
        Scan duration in s.
    ble
        Keyword arguments for bleak.
    """
    seen = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **ble.scanner)
    found = [s for s in (_identify(d, a) for d, a in seen.values()) if s is not None]
    return sorted(found, key=lambda s: -s.rssi)


async def find_sensor(address: str, timeout_s: float, ble: BleKwargs) -> FoundSensor | None:
    """Scan until the sensor at ``address`` advertises (or ``timeout_s`` passes) and identify it.

    Returns None when nothing with that address was seen or it is not a supported sensor.
    """
    result: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = asyncio.get_running_loop().create_future()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        if device.address.upper() == address.upper() and not result.done():
            result.set_result((device, adv))

    async with BleakScanner(on_advertisement, **ble.scanner):
        try:
            device, adv = await asyncio.wait_for(result, timeout_s)
        except TimeoutError:
            return None
    return _identify(device, adv)


async def read_battery(client: BleakClient, model: SensorModel) -> float | None:
    """Read a connected sensor's battery level in percent, or None when it cannot be read."""
    char_uuid, request = model.battery_request()
    char = client.services.get_characteristic(char_uuid)
    if char is None or "read" not in char.properties:
        return None
    try:
        if request is not None:
            await client.write_gatt_char(char_uuid, request, response=True)
        return model.parse_battery(bytes(await client.read_gatt_char(char_uuid)))["percent"]
    except (BleakError, BadResponse, TimeoutError) as exc:
        logger.info("battery of %s not readable: %s", client.address, exc)
        return None


async def read_batteries(sensors: list[FoundSensor], timeout_s: float, ble: BleKwargs) -> None:
    """Connect to each sensor in turn (one connection attempt at a time) and fill in its battery level."""
    for sensor in sensors:
        try:
            async with BleakClient(sensor.device, timeout=timeout_s, **ble.client) as client:
                sensor.battery_percent = await read_battery(client, sensor.model)
        except (BleakError, TimeoutError) as exc:
            logger.info("could not connect to %s for its battery: %s", sensor.address, exc)
