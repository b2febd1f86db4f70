"""A bleak backend built on Google's Bumble stack: scanner and client classes for ``backend=``.

Bleak has no Bumble backend of its own. These classes implement bleak's ``BaseBleakScanner`` and
``BaseBleakClient`` over a Bumble ``Device``, so code written against bleak's public API runs
unchanged on Bumble: over the in-process virtual radio (:mod:`imuform.ble.virtual_radio`) for tests
and the demo, or over Bumble's USB transport with a real dongle (experimental). Pass the central
``Device`` through bleak as a keyword argument::

    BleakScanner(backend=BumbleScanner, bumble_device=central)
    BleakClient(ble_device, backend=BumbleClient, bumble_device=central)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bumble import core, hci
from bumble.att import ATT_Error
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR, Characteristic

logger = logging.getLogger(__name__)

#: ATT MTU requested after connecting (Bumble stays at the minimum, 23, unless asked).
DEFAULT_MTU = 247

_SERVICE_UUID_TYPES = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)

_PROPERTY_NAMES = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}

# Bumble allows one LE connection attempt at a time per central Device; concurrent attempts fail.
_connect_locks: weakref.WeakKeyDictionary[Device, asyncio.Lock] = weakref.WeakKeyDictionary()


def _uuid_str(uuid: core.UUID) -> str:
    """Bleak's UUID form: full 128-bit, lower case."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def _address_str(address: hci.Address) -> str:
    return address.to_string(with_type_qualifier=False)


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Convert a Bumble advertisement into bleak's ``AdvertisementData``.

    Parameters
    ----------
    advertisement
        An advertising report (or scan response) as Bumble's ``Device`` emits it.

    Returns
    -------
    AdvertisementData
        Local name, manufacturer data by company id, service data, service UUIDs (deduplicated:
        the emulated controller repeats the advertising data in the scan response), TX power, RSSI.
    """
    data = advertisement.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
    manufacturer = {
        company: bytes(payload) for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
    }
    uuids: list[str] = []
    for ad_type in _SERVICE_UUID_TYPES:
        for uuid_list in data.get_all(ad_type):
            uuids.extend(u for u in map(_uuid_str, uuid_list) if u not in uuids)
    service_data = {}
    for ad_type in (
        AdvertisingData.SERVICE_DATA_16_BIT_UUID,
        AdvertisingData.SERVICE_DATA_32_BIT_UUID,
        AdvertisingData.SERVICE_DATA_128_BIT_UUID,
    ):
        for uuid, payload in data.get_all(ad_type):
            service_data[_uuid_str(uuid)] = bytes(payload)
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """Bleak scanner backend over a Bumble ``Device`` (keyword ``bumble_device``)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        bumble_device: Device,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._device = bumble_device
        self._active = scanning_mode != "passive"

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = _address_str(advertisement.address)
        # Merge with the earlier report: a scan response carries only part of the data on real radios.
        previous = self.seen_devices.get(address)
        if previous is not None:
            old = previous[1]
            adv = adv._replace(
                local_name=adv.local_name or old.local_name,
                manufacturer_data={**old.manufacturer_data, **adv.manufacturer_data},
                service_data={**old.service_data, **adv.service_data},
                service_uuids=list(dict.fromkeys(old.service_uuids + adv.service_uuids)),
            )
        device = self.create_or_update_device(address, address, adv.local_name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)

    async def start(self) -> None:
        """Start scanning (clears ``seen_devices``)."""
        self.seen_devices = {}
        self._device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._device.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        """Stop scanning."""
        self._device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if self._device.scanning:
            await self._device.stop_scanning()


class BumbleClient(BaseBleakClient):
    """Bleak client backend over a Bumble ``Device`` (keyword ``bumble_device``).

    Errors from Bumble are mapped to bleak's: ``BleakError`` for GATT and link failures and
    ``TimeoutError`` when a connection attempt times out, as bleak's own backends do. Each notification's
    callback runs inside ``notification_context(peer address, value)`` when given (the virtual radio's
    `imuform.ble.virtual_radio.VirtualRadio.arrival`: the host clock reads the notification's arrival).
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        bumble_device: Device,
        mtu: int = DEFAULT_MTU,
        notification_context: Callable[[hci.Address, bytes], AbstractContextManager] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._device = bumble_device
        self._mtu_request = mtu
        if isinstance(address_or_ble_device, BLEDevice) and isinstance(address_or_ble_device.details, hci.Address):
            self._peer_address = address_or_ble_device.details
            self._name = address_or_ble_device.name or self.address
        else:
            self._peer_address = hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
            self._name = self.address
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._closing = False
        self._notification_context = notification_context or (lambda address, value: contextlib.nullcontext())

    @property
    def name(self) -> str:
        """The peer's name as seen in its advertisement (else its address)."""
        return self._name

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU."""
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, raise the MTU, discover all services and build ``self.services``."""
        lock = _connect_locks.setdefault(self._device, asyncio.Lock())
        async with lock:
            try:
                connection = await self._device.connect(self._peer_address, timeout=self._timeout)
            except (TimeoutError, core.TimeoutError) as exc:
                raise TimeoutError(f"no connection to {self.address} within {self._timeout:g} s") from exc
            except (hci.HCI_Error, core.BaseBumbleError) as exc:
                raise BleakError(f"connection to {self.address} failed: {exc}") from exc
        self._connection = connection
        self._closing = False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            if pair:
                await connection.pair()
            await self._peer.request_mtu(self._mtu_request)
            await self._peer.discover_all()
        except (TimeoutError, ATT_Error, core.BaseBumbleError, hci.HCI_Error) as exc:
            await self.disconnect()
            raise BleakError(f"service discovery on {self.address} failed: {exc}") from exc
        self.services = self._build_services(self._peer)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        logger.debug("%s disconnected, reason 0x%02X", self.address, reason)
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    def _build_services(self, peer: Peer) -> BleakGATTServiceCollection:
        services = BleakGATTServiceCollection()
        connection = peer.connection
        for service in peer.services:
            bleak_service = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            services.add_service(bleak_service)
            for char in service.characteristics:
                props = [name for flag, name in _PROPERTY_NAMES.items() if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char, char.handle, _uuid_str(char.uuid), props, lambda: connection.att_mtu - 3, bleak_service
                )
                services.add_characteristic(bleak_char)
                for desc in char.descriptors:
                    services.add_descriptor(BleakGATTDescriptor(desc, desc.handle, _uuid_str(desc.type), bleak_char))
        return services

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        return self._peer

    async def disconnect(self) -> None:
        """Disconnect (a no-op when already disconnected)."""
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await connection.disconnect()
        except (hci.HCI_Error, core.BaseBumbleError) as exc:
            logger.debug("disconnect from %s: %s", self.address, exc)
        self._on_disconnection(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair over SMP."""
        if self._connection is None:
            raise BleakError(f"not connected to {self.address}")
        await self._connection.pair()

    async def unpair(self) -> None:
        """Unpairing is not supported: Bumble's key store is per process."""
        raise NotImplementedError("the Bumble backend does not unpair")

    async def _gatt(self, what: str, operation: Any) -> Any:
        try:
            return await operation
        except ATT_Error as exc:
            raise BleakError(f"{what} on {self.address} failed: ATT error 0x{exc.error_code:02X}") from exc
        except (TimeoutError, core.BaseBumbleError, hci.HCI_Error) as exc:
            raise BleakError(f"{what} on {self.address} failed: {exc}") from exc

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic's value."""
        peer = self._require_peer()
        return bytearray(await self._gatt(f"read {characteristic.uuid}", peer.read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor's value."""
        peer = self._require_peer()
        return bytearray(await self._gatt(f"read descriptor {descriptor.uuid}", peer.read_value(descriptor.obj)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        """Write a characteristic, with or without response."""
        peer = self._require_peer()
        await self._gatt(
            f"write {characteristic.uuid}", peer.write_value(characteristic.obj, bytes(data), with_response=response)
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        """Write a descriptor (with response)."""
        peer = self._require_peer()
        await self._gatt(
            f"write descriptor {descriptor.uuid}", peer.write_value(descriptor.obj, bytes(data), with_response=True)
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Subscribe through the CCCD; ``callback`` gets each value as a ``bytearray``."""
        peer = self._require_peer()
        proxy = characteristic.obj
        if proxy.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR) is None:
            # Bumble would only log a warning and never deliver anything.
            raise BleakError(f"characteristic {characteristic.uuid} has no CCCD: it cannot notify")

        def subscriber(value: bytes) -> None:
            with self._notification_context(self._peer_address, value):
                callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        await self._gatt(f"subscribe {characteristic.uuid}", peer.subscribe(proxy, subscriber))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe."""
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(f"unsubscribe {characteristic.uuid}", peer.unsubscribe(characteristic.obj, subscriber))
