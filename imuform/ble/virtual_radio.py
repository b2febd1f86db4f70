"""The virtual air: Bumble devices joined by an in-process link, with radio faults injected.

Every device gets its own emulated Bumble controller, so host and controller exchange real HCI bytes,
and ATT, GATT and L2CAP use their real encodings. Bumble's ``LocalLink`` hands PDUs over instantly;
:class:`VirtualRadio` adds what a real radio does to them:

- connection-event timing: data PDUs leave only at connection events, multiples of
  ``connection_interval_s`` (7.5–30 ms on real links) from each link's own anchor, so notifications
  arrive in bursts;
- jitter: each PDU may slip by up to ``jitter_s``, rounded up to a later connection event, in order;
- honest latency: a sensor's notification leaves at the first connection event after it was ready
  (:meth:`VirtualRadio.ready`: when its last sample was taken), and the host reads the virtual clock
  at the event that delivered it (:meth:`VirtualRadio.arrival`). The replay's own processing (a
  sensor task that woke late, the host stack's hops, another process holding the CPU) takes real
  time, which at ``speed`` × real time would otherwise read as ``speed`` times longer a latency, in
  swings lasting seconds, that no real link produces;
- loss: each ATT notification is lost with probability ``loss`` (retries exhausted). Requests and
  responses are never dropped: real links retransmit them until the supervision timeout;
- dropouts (:meth:`VirtualRadio.blackout`): a device goes out of range; nothing reaches it or comes
  from it, and after ``supervision_timeout_s`` both ends of each of its connections report a
  disconnection with reason 0x08 (connection timeout), as a real supervision timeout does.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections import deque
from collections.abc import Iterator

from bumble import hci
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from imuform.ble.virtual_clock import VirtualClock

_ATT_CID = 0x0004
_ATT_HANDLE_VALUE_NOTIFICATION = 0x1B
#: Bytes before a notification's value: L2CAP basic header (4), ATT opcode (1) and handle (2).
_NOTIFICATION_VALUE_AT = 7
#: Notifications remembered per link until the host reads them (far more than a replay holds in flight).
_IN_FLIGHT = 65536
#: Ready times remembered per sensor until its notifications are sent (a replay holds a few hundred in flight;
#: the oldest go first should a stream be made ready and never sent).
_READY_KEPT = 65536


def _is_notification(l2cap_pdu: bytes) -> bool:
    """Whether an L2CAP PDU (basic header: length, channel id) carries an ATT notification."""
    return (
        len(l2cap_pdu) > 4
        and int.from_bytes(l2cap_pdu[2:4], "little") == _ATT_CID
        and l2cap_pdu[4] == _ATT_HANDLE_VALUE_NOTIFICATION
    )


class VirtualController(Controller):
    """Bumble's emulated controller, with two behaviours of a real controller that it lacks.

    - Bumble 0.0.236's controller acknowledges LE Create Connection Cancel but never ends the pending
      attempt, so a timed-out ``connect`` hangs and the stale attempt blocks the next one. A real
      controller (Core spec Vol 4, Part E, 7.8.13) drops the attempt and reports an LE Connection
      Complete event with status Unknown Connection Identifier.
    - Data the host sends on a link that just timed out is discarded silently, not logged as a warning.
    """

    def on_hci_acl_data_packet(self, packet) -> None:
        """Pass ACL data to its connection; drop it quietly when the link is already gone."""
        if self.find_connection_by_handle(packet.connection_handle) is not None:
            super().on_hci_acl_data_packet(packet)

    def on_hci_le_create_connection_cancel_command(self, command):
        """Drop the pending attempt and report it as failed after the command completes."""
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        event = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class VirtualRadio(LocalLink):
    """A Bumble ``LocalLink`` with connection-event timing, jitter, notification loss and dropouts.

    Parameters
    ----------
    connection_interval_s
        Connection interval; data PDUs are released at multiples of it. ``0`` hands them over at once.
    jitter_s
        Largest extra delay per PDU before rounding up to a connection event.
    loss
        Probability of losing each ATT notification.
    supervision_timeout_s
        Time from the start of a blackout until both ends see the link drop (reason 0x08).
    seed
        Seed of the random generator (loss and jitter), for reproducible runs.
    clock
        The virtual clock: every duration above is virtual and runs as fast as the clock does. None
        runs in real time.
    """

    def __init__(
        self,
        *,
        connection_interval_s: float = 0.0075,
        jitter_s: float = 0.0,
        loss: float = 0.0,
        supervision_timeout_s: float = 0.5,
        seed: int | None = 0,
        clock: VirtualClock | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= loss < 1.0:
            raise ValueError(f"loss must be in [0, 1), got {loss}")
        self.clock = clock
        self.connection_interval_s = connection_interval_s
        self.jitter_s = jitter_s
        self.loss = loss
        self.supervision_timeout_s = supervision_timeout_s
        self._rng = random.Random(seed)
        self._queues: dict[tuple[int, int], deque[tuple[float, float, Controller, hci.Address, bytes]]] = {}
        self._anchors_s: dict[tuple[int, int], float] = {}
        self._last_release_s: dict[tuple[int, int], float] = {}
        # per sender address: (value, virtual time the sensor had it ready) of its stream, in the order sent
        self._ready: dict[str, deque[tuple[bytes, float]]] = {}
        # per (receiving controller, sender address): (value, virtual arrival) delivered, not yet read
        self._arrived: dict[tuple[int, str], deque[tuple[bytes, float]]] = {}
        self._timers: dict[tuple[int, int], asyncio.TimerHandle] = {}
        self._out_of_range: set[Controller] = set()
        #: Notifications dropped by ``loss`` and during blackouts, for reports.
        self.dropped_notifications = 0

    @property
    def speed(self) -> float:
        """Virtual seconds per real second, now."""
        return self.clock.rate if self.clock is not None else 1.0

    # -- devices -------------------------------------------------------------------------------

    def create_device(self, name: str, address: str) -> Device:
        """Create a Bumble ``Device`` with its own emulated controller on this radio.

        Must run inside the event loop (Bumble's controller and pipe bind to the running loop).

        Parameters
        ----------
        name
            Device name (also the controller's name in logs).
        address
            Static random address, ``"F0:00:00:00:00:01"`` style.
        """
        controller = VirtualController(name, link=self)
        host = Host(controller, AsyncPipeSink(controller))
        return Device(name=name, address=hci.Address(address), host=host)

    # -- virtual time of notifications ---------------------------------------------------------

    def _now(self) -> float:
        return self.clock() if self.clock is not None else asyncio.get_running_loop().time()

    def ready(self, sender: Device, value: bytes, time_s: float) -> None:
        """``sender``'s next notification of ``value`` was ready at virtual ``time_s`` (its last sample taken).

        It then leaves at the first connection event after ``time_s`` (plus jitter), however late the
        replay hands it to the radio.
        """
        self._ready.setdefault(str(sender.random_address), deque(maxlen=_READY_KEPT)).append((bytes(value), time_s))

    def _ready_at(self, sender: Controller, value: bytes) -> float | None:
        """When the notification of ``value`` the sender sends now was ready: the first waiting one of those bytes.

        A stream's notifications reach the radio in the order they were made ready, so the entries before that
        one never did (sent with no subscriber, or while the link was down) and go. Matching by bytes alone, a
        stale entry would give a later notification of the same bytes (a sensor at rest sends many) a time
        before its sample was taken. None for a notification that was not made ready (an answer to a write).
        """
        waiting = self._ready.get(str(sender.random_address))
        for i, (payload, time_s) in enumerate(waiting or ()):
            if payload == value:
                for _ in range(i + 1):
                    waiting.popleft()
                return time_s
        return None

    @contextlib.contextmanager
    def arrival(self, receiver: Device, sender_address: hci.Address, value: bytes) -> Iterator[None]:
        """Inside the block the virtual clock reads when ``value`` from ``sender_address`` reached ``receiver``.

        The host's handler of a notification stamps it with the clock; the replay reaches the handler
        later in real time than the connection event that delivered it (see the module docstring).
        """
        key = (id(self._controller_of(receiver)), str(sender_address))
        delivered, arrived_s = self._arrived.get(key, deque()), None
        # the first delivery of this value; any before it never reached a handler (nobody subscribed)
        at = next((i for i, (delivered_value, _) in enumerate(delivered) if delivered_value == value), None)
        if at is not None:
            for _ in range(at):
                delivered.popleft()
            arrived_s = delivered.popleft()[1]
        if self.clock is None:
            yield
            return
        with self.clock.held(arrived_s):
            yield

    # -- faults --------------------------------------------------------------------------------

    def _controller_of(self, device: Device) -> Controller:
        for controller in self.controllers:
            if controller.random_address == device.random_address or controller.public_address == device.public_address:
                return controller
        raise ValueError(f"{device.name} is not on this radio")

    async def blackout(self, device: Device, duration_s: float) -> None:
        """Take ``device`` out of range for ``duration_s`` virtual seconds (returns when it is back).

        Its connections drop with a supervision timeout (reason 0x08) on both ends after
        ``supervision_timeout_s``; afterwards it is reachable again and may advertise and reconnect.
        """
        controller = self._controller_of(device)
        self._out_of_range.add(controller)
        clock = self.clock or VirtualClock(1.0)
        start = clock()
        await clock.sleep_until(start + min(self.supervision_timeout_s, duration_s))
        self._supervision_timeout(controller)
        await clock.sleep_until(start + duration_s)
        self._out_of_range.discard(controller)

    def _supervision_timeout(self, controller: Controller) -> None:
        for connection in list(controller.le_connections.values()):
            peer = self.find_le_controller(connection.peer_address)
            controller.on_le_disconnected(connection, hci.HCI_CONNECTION_TIMEOUT_ERROR)
            if peer is None:
                continue
            for peer_connection in list(peer.le_connections.values()):
                if peer_connection.peer_address == connection.self_address:
                    peer.on_le_disconnected(peer_connection, hci.HCI_CONNECTION_TIMEOUT_ERROR)

    def _reachable(self, a: Controller | None, b: Controller | None) -> bool:
        return a not in self._out_of_range and b not in self._out_of_range

    # -- LocalLink overrides -------------------------------------------------------------------

    def send_advertising_pdu(self, sender_controller: Controller, packet) -> None:
        """Broadcast an advertising PDU to every controller in range."""
        if sender_controller in self._out_of_range:
            return
        loop = asyncio.get_running_loop()
        for controller in self.controllers:
            if controller is not sender_controller and controller not in self._out_of_range:
                loop.call_soon(controller.on_ll_advertising_pdu, packet)

    def send_ll_control_pdu(self, sender_address: hci.Address, receiver_address: hci.Address, packet) -> None:
        """Deliver a link-layer control PDU unless either end is out of range."""
        sender = self.find_le_controller(sender_address)
        receiver = self.find_le_controller(receiver_address)
        if self._reachable(sender, receiver):
            super().send_ll_control_pdu(sender_address, receiver_address, packet)

    def send_acl_data(
        self, sender_controller: Controller, destination_address: hci.Address, transport: PhysicalTransport, data: bytes
    ) -> None:
        """Queue an L2CAP PDU for the next connection event of its direction (in order)."""
        if transport != PhysicalTransport.LE:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        notification = _is_notification(data)
        # a lost notification uses up its ready time too: the next one of the same bytes has its own
        ready_s = self._ready_at(sender_controller, data[_NOTIFICATION_VALUE_AT:]) if notification else None
        destination = self.find_le_controller(destination_address)
        if destination is None:
            return
        if not self._reachable(sender_controller, destination) or (
            notification and self.loss and self._rng.random() < self.loss
        ):
            # Out of range: the PDU would be lost at the supervision timeout anyway.
            self.dropped_notifications += notification
            return
        loop = asyncio.get_running_loop()
        key = (id(sender_controller), id(destination))
        queue = self._queues.setdefault(key, deque())
        # in virtual time: ready (or now), slipped by jitter, at the link's next connection event, in order
        now_s = self._now()
        release_s = min(now_s, ready_s) if ready_s is not None else now_s
        release_s += self._rng.uniform(0.0, self.jitter_s) if self.jitter_s else 0.0
        if self.connection_interval_s:
            interval = self.connection_interval_s
            anchor = self._anchors_s.setdefault(key, self._rng.uniform(0.0, interval))
            release_s = anchor + math.ceil((release_s - anchor) / interval) * interval
        if ready_s is not None:
            # a sensor's stream leaves in order; anything else (an answer) leaves when it is sent, and
            # must not hold back a stream the replay hands over late
            release_s = self._last_release_s[key] = max(release_s, self._last_release_s.get(key, -math.inf))
        release = loop.time() + max(0.0, release_s - now_s) / self.speed
        if queue:
            release = max(release, queue[-1][0])
        queue.append((release, release_s, destination, sender_controller.random_address, data))
        if key not in self._timers:
            self._timers[key] = loop.call_at(release, self._release, key)

    def _release(self, key: tuple[int, int]) -> None:
        """Deliver every PDU of one direction that is due at this connection event."""
        del self._timers[key]
        queue = self._queues[key]
        loop = asyncio.get_running_loop()
        now = loop.time()
        while queue and queue[0][0] <= now + 1e-6:
            _, release_s, destination, source_address, data = queue.popleft()
            if destination in self._out_of_range:
                self.dropped_notifications += _is_notification(data)
                continue
            if _is_notification(data):
                arrived = self._arrived.setdefault((id(destination), str(source_address)), deque(maxlen=_IN_FLIGHT))
                arrived.append((data[_NOTIFICATION_VALUE_AT:], release_s))
            destination.on_link_acl_data(source_address, PhysicalTransport.LE, data)
        if queue:
            self._timers[key] = loop.call_at(queue[0][0], self._release, key)
