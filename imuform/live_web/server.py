"""Serve the live page (`dashboards.live_page`) and push the live state to it over a WebSocket.

One ``websockets`` server on the recorder's own asyncio loop does both: plain HTTP GETs for the page and
its two assets (``process_request`` answers them before any handshake) and the WebSocket ``/ws`` that
streams the state. Whoever changes the state calls `LiveWebServer.notify`; a pusher task sends the newest
state to every page at most once a frame (`WebConfig.frame_s`), so a burst of BLE notifications costs one
message, and a page that connects (first time, after a reload, or after the phone woke up) gets the whole
state at once. With a token (``--lan``) every request, page, assets and stream alike, must carry it as
``?token=``; anything else gets 403.

The page acknowledges each message once it has drawn it (``{"ack": seq, "by": "page"}``); the time from the
newest sample's arrival to that acknowledgement, kept per ``by`` (`LiveWebServer.latencies_s`), is what
`benchmarks.bench_live_web` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from dashboards.live_page import live_page_assets
from imuform.errors import ImuformError

#: websockets logs every refused or plain-HTTP request; the command's own lines say what matters.
_LOG = logging.getLogger("imuform.live_web")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False


#: Host names a page served to this computer only answers to (DNS rebinding gets 403).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class WebConfig:
    """Where and how the live page is served.

    Attributes
    ----------
    host
        Address to listen on: ``127.0.0.1`` (this computer only) or ``0.0.0.0`` (the local network).
    port
        TCP port (0: any free one).
    token
        Required as ``?token=`` on every request, or None (localhost only).
    frame_s
        Shortest time between two pushes of the state, s (about the display's frame time).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    frame_s: float = 1 / 30


def lan_address() -> str:
    """This computer's address on the local network (the one its default route uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP connect sends nothing; it only picks the route
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class LiveWebServer:
    """The live page's server; use as ``async with LiveWebServer(state, config) as server``.

    Parameters
    ----------
    state
        Returns the state to show as a JSON-able dict; an ``arrived_s`` entry (``time.perf_counter()`` of
        the newest sample's arrival) is kept here to time the page and not sent.
    config
        Address, token and push rate.

    Attributes
    ----------
    latencies_s
        By client kind (the ack's ``by``): sample arrival to the client's acknowledgement that it drew the
        state, s (the most recent 10,000 each).
    viewer
        Set once a page has connected.
    """

    def __init__(self, state: Callable[[], dict], config: WebConfig | None = None):
        self.config = config or WebConfig()
        self._state = state
        self._query = "" if self.config.token is None else f"?token={self.config.token}"
        self._assets = live_page_assets(self._query)
        self._clients: set[ServerConnection] = set()
        self._dirty = asyncio.Event()
        self._seq = 0
        self._arrived: OrderedDict[int, float] = OrderedDict()
        self.latencies_s: dict[str, deque[float]] = {}
        self.viewer = asyncio.Event()
        self._server = None
        self._pusher: asyncio.Task | None = None

    async def __aenter__(self) -> LiveWebServer:
        try:
            self._server = await serve(
                self._stream,
                self.config.host,
                self.config.port,
                process_request=self._http,
                logger=_LOG,
                ping_interval=10,
            )
        except OSError as exc:
            raise ImuformError(
                f"cannot serve the live page on {self.config.host}:{self.config.port} ({exc.strerror}); "
                "pick another --port"
            ) from exc
        self._pusher = asyncio.get_running_loop().create_task(self._push())
        return self

    async def __aexit__(self, *exc) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        """The port served on (the free one picked when the config asked for 0)."""
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """The page's address: on this computer, or on the local network (with its token)."""
        host = "127.0.0.1" if self.config.host in ("127.0.0.1", "localhost") else lan_address()
        return f"http://{host}:{self.port}/{self._query}"

    def notify(self) -> None:
        """The state changed: push it with the next frame."""
        self._dirty.set()

    async def _push(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._clients:
                broadcast(self._clients, self._message())
            await asyncio.sleep(self.config.frame_s)

    def _message(self) -> str:
        state = dict(self._state())
        arrived_s = state.pop("arrived_s", None)
        self._seq += 1
        if arrived_s is not None:
            self._arrived[self._seq] = arrived_s
            while len(self._arrived) > 256:
                self._arrived.popitem(last=False)
        return json.dumps({"seq": self._seq, "state": state}, allow_nan=False)

    async def _stream(self, connection: ServerConnection) -> None:
        """One page: the whole state now, then every push; its acknowledgements time the page."""
        self._clients.add(connection)
        self.viewer.set()
        try:
            await connection.send(self._message())
            async for text in connection:
                self._acknowledged(text)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(connection)

    def _acknowledged(self, text: str | bytes) -> None:
        try:
            ack = json.loads(text)
            seq, by = int(ack["ack"]), str(ack.get("by", "page"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not an acknowledgement: nothing else is listened to
        arrived_s = self._arrived.get(seq)
        if arrived_s is not None:
            self.latencies_s.setdefault(by, deque(maxlen=10_000)).append(time.perf_counter() - arrived_s)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer the page and its assets; let ``/ws`` on to the handshake; refuse a missing token."""
        parts = urlsplit(request.path)
        host = request.headers.get("Host", "").rsplit(":", 1)[0]
        if self.config.token is None and host not in LOCAL_HOSTS:
            # served to this computer only: a page elsewhere that renamed itself to 127.0.0.1 gets nothing
            return connection.respond(
                HTTPStatus.FORBIDDEN, "This live page serves this computer only (--lan to share).\n"
            )
        if self.config.token is not None:
            given = parse_qs(parts.query).get("token", [""])[0]
            if not hmac.compare_digest(given.encode(), self.config.token.encode()):
                return connection.respond(
                    HTTPStatus.FORBIDDEN, "Open the live page with the link imuform printed (it holds a token).\n"
                )
        if parts.path == "/ws":
            return None
        asset = self._assets.get(parts.path)
        if asset is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found.\n")
        content_type, body = asset
        headers = Headers(
            [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        )
        return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)
