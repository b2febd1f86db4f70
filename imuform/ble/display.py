"""A live terminal view of a recording: per-sensor rate, losses, reconnects, battery, elapsed time; then a line
per sensor while its samples are re-timed at the end."""

from __future__ import annotations

import asyncio
import contextlib

from rich.console import Console
from rich.live import Live
from rich.table import Table

from imuform.ble.recorder import SensorLink


def status_table(links: list[SensorLink], elapsed_s: float, rates_hz: dict[str, float]) -> Table:
    """A table of the links' state.

    Parameters
    ----------
    links
        The recording's sensor links.
    elapsed_s
        Time since the recording started, in s.
    rates_hz
        Recent sample rate by placement.
    """
    minutes, seconds = divmod(int(elapsed_s), 60)
    table = Table(title=f"Recording {minutes}:{seconds:02d}  (Ctrl-C stops and saves)")
    for col in ("sensor", "kind", "link", "rate Hz", "samples", "lost", "dups", "reconnects", "gaps s", "battery"):
        table.add_column(col)
    for link in links:
        r = link.report
        battery = f"{r.battery_percent:.0f} %" if r.battery_percent is not None else "–"
        state = "[green]up[/green]" if link.connected.is_set() else "[red]reconnecting[/red]"
        table.add_row(
            r.placement,
            r.kind,
            state,
            f"{rates_hz.get(r.placement, 0.0):.1f}",
            f"{r.samples:,}",
            str(r.lost),
            str(r.duplicates),
            str(r.reconnects),
            f"{r.gaps_s:.1f}",
            battery,
        )
    return table


def finishing_line(link: SensorLink) -> str:
    """The line shown while a sensor's samples are re-timed when a recording ends (the recorder's ``on_finish``).

    A sensor without a clock has its lost samples counted over the whole recording first: about a second
    per hour of data, in which nothing else moves on screen.
    """
    report = link.report
    how = "re-timing" if link.assembler.has_clock else "counting lost samples and re-timing"
    return f"{report.placement}: {how} {report.samples:,} samples over the whole recording …"


@contextlib.asynccontextmanager
async def live_status(console: Console, enabled: bool = True, period_s: float = 0.5):
    """Show the status of the links given to the yielded callback, refreshed every ``period_s``.

    Yields a function to call with ``(session_id, links)`` once the recording is streaming (the
    recorder's ``on_start``). Draws nothing when disabled or when the console is not a terminal.
    """
    state: dict = {}

    def started(session_id: str, links: list[SensorLink]) -> None:
        clock = links[0].clock  # the recording's host clock (virtual for virtual sensors)
        state.update(links=links, clock=clock, t0=clock(), last={link.report.placement: (clock(), 0) for link in links})

    if not enabled or not console.is_terminal:
        yield started
        return

    async def refresh(live: Live) -> None:
        while True:
            await asyncio.sleep(period_s)
            if "links" not in state:
                continue
            now = state["clock"]()
            rates = {}
            for link in state["links"]:
                placement = link.report.placement
                t, n = state["last"][placement]
                rates[placement] = (link.report.samples - n) / max(now - t, 1e-9)
                state["last"][placement] = (now, link.report.samples)
            live.update(status_table(state["links"], now - state["t0"], rates), refresh=True)

    with Live(console=console, auto_refresh=False, transient=False) as live:
        task = asyncio.ensure_future(refresh(live))
        try:
            yield started
        finally:
            task.cancel()
