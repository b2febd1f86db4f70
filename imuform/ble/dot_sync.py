"""Movella DOT's built-in time synchronisation, used when every sensor of a recording is a DOT.

All DOTs get StartSync with the same root sensor's MAC (PROTOCOLS.md §2, message service 0x7000);
each acknowledges on the message-acknowledge characteristic and reports its status on request.
Once synced, their µs timestamps share one time base, so samples line up across sensors from the
device clocks alone. The real sensors restart their link during sync (about 14 s); a link the recorder
loses meanwhile is reconnected like any dropout.
"""

from __future__ import annotations

import asyncio
import logging

from bleak import BleakClient
from bleak.exc import BleakError

from firmware_protocol import ProtocolError
from firmware_protocol import movella_dot as dot

logger = logging.getLogger(__name__)


async def sync_dots(clients: list[BleakClient], model: dot.DotModel, timeout_s: float = 2.0) -> dict[str, str]:
    """Synchronise connected DOTs to the first one's clock, before they start streaming.

    Parameters
    ----------
    clients
        Connected DOTs (the first is the root).
    model
        The DOT model (message builders and parsers).
    timeout_s
        How long to wait for each sensor's status.

    Returns
    -------
    dict
        Sync status by address (``"synced"``, ``"un-synced"`` or the error met).
    """
    root = clients[0].address
    status: dict[str, str] = {}
    for client in clients:
        try:
            char_uuid, message = model.start_sync_command(root)
            await client.write_gatt_char(char_uuid, message, response=True)
            model.parse_response(bytes(await client.read_gatt_char(dot.MESSAGE_ACK_UUID)))
            answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

            def on_message(sender, data: bytearray, answer=answer) -> None:
                if not answer.done():
                    answer.set_result(bytes(data))

            await client.start_notify(dot.MESSAGE_NOTIFY_UUID, on_message)
            char_uuid, message = model.sync_status_command()
            await client.write_gatt_char(char_uuid, message, response=True)
            status[client.address] = model.parse_response(await asyncio.wait_for(answer, timeout_s)).get(
                "status", "unknown"
            )
            await client.stop_notify(dot.MESSAGE_NOTIFY_UUID)
        except (BleakError, ProtocolError, TimeoutError) as exc:
            logger.warning("DOT sync of %s failed: %s", client.address, exc)
            status[client.address] = f"failed: {exc}"
    return status
