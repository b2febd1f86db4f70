"""The ``--web`` page options of `imuform live` and `imuform calibrate`: serve it, say where, wait for Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable

import click

from imuform.cli.record import stop_on_ctrl_c
from imuform.errors import ImuformError
from imuform.live_web.server import LiveWebServer, WebConfig


def web_options(command):
    """``--web``, ``--lan`` and ``--port``: the live page for a phone (`imuform.live_web`)."""
    command = click.option(
        "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port of the --web page."
    )(command)
    command = click.option(
        "--lan",
        is_flag=True,
        help="Serve the --web page to the local network (a phone on the same Wi-Fi), behind a random token in "
        "the link printed once with a QR code.",
    )(command)
    return click.option("--web", is_flag=True, help="Also show it on a page for your phone (this computer only).")(
        command
    )


@contextlib.asynccontextmanager
async def serving(state: Callable[[], dict], web: bool, lan: bool, port: int):
    """The live page while the block runs, or None without ``web``; prints where to open it (stderr)."""
    if not (web or lan):
        yield None
        return
    config = WebConfig(host="0.0.0.0", port=port, token=secrets.token_urlsafe(16)) if lan else WebConfig(port=port)
    async with LiveWebServer(state, config) as server:
        click.echo(f"live page: {server.url}", err=True)
        if lan:
            import segno  # only here: a terminal QR code is all it is for

            click.echo("scan on a phone on the same network (the link holds a token: share it with no one):", err=True)
            segno.make(server.url, error="l").terminal(out=click.get_text_stream("stderr"), compact=True)
        yield server


async def until_ctrl_c(message: str) -> None:
    """Keep going (e.g. serving the page) until Ctrl-C, after saying so on stderr."""
    click.echo(message, err=True)
    done = asyncio.Event()
    with stop_on_ctrl_c(done):
        await done.wait()


async def wait_for_viewer(server: LiveWebServer) -> None:
    """Hold the simulated person (``--virtual``) until a page is open, so the whole set is seen on it.

    Raises
    ------
    ImuformError
        On Ctrl-C before any page opened (nothing was recorded).
    """
    click.echo("waiting for the page to open: the simulated person starts then", err=True)
    stop = asyncio.Event()
    with stop_on_ctrl_c(stop):
        waits = [asyncio.ensure_future(server.viewer.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
    if not server.viewer.is_set():
        raise ImuformError("stopped before the page was opened; nothing was recorded")
