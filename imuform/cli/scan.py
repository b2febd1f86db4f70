"""`imuform scan`: list the supported BLE sensors nearby."""

from __future__ import annotations

import asyncio

import click
import numpy as np
from rich.markup import escape
from rich.table import Table

from imuform.ble.discovery import BleKwargs, FoundSensor, read_batteries, scan_sensors
from imuform.ble.virtual_rig import open_rig
from imuform.ble.virtual_sensor import SensorStream
from imuform.cli.common import POSITIVE, console, echo_json, json_option
from imuform.diagnostics import bluetooth_problem
from imuform.errors import ImuformError

#: Kinds of the virtual sensors ``--virtual`` puts on the air, one of each.
VIRTUAL_KINDS = ("imuform", "movella-dot", "polar-pmd", "witmotion", "thingy52", "metawear")


def _standing(duration_s: float = 60.0, rate_hz: float = 60.0) -> SensorStream:
    """A sensor standing still: what a virtual sensor measures while it waits to be used."""
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    return SensorStream(t, np.tile([0.0, 0.0, 9.81], (len(t), 1)), np.zeros((len(t), 3)))


async def _scan(timeout_s: float, battery: bool, ble: BleKwargs) -> list[FoundSensor]:
    found = await scan_sensors(timeout_s, ble)
    if battery:
        await read_batteries(found, min(timeout_s, 5.0), ble)
    return found


async def _scan_virtual(timeout_s: float, battery: bool) -> list[FoundSensor]:
    streams = {kind: _standing() for kind in VIRTUAL_KINDS}
    async with open_rig(streams, kind={kind: kind for kind in VIRTUAL_KINDS}, speed=1.0) as rig:
        return await _scan(timeout_s, battery, rig.ble)


@click.command()
@click.option("--timeout", "timeout_s", type=POSITIVE, default=5.0, show_default=True, help="Seconds to scan.")
@click.option(
    "--battery/--no-battery",
    default=True,
    show_default=True,
    help="Connect to each sensor briefly to read its battery.",
)
@click.option("--virtual", is_flag=True, help="Scan the virtual radio (one virtual sensor of each kind).")
@json_option
def scan(timeout_s: float, battery: bool, virtual: bool, as_json: bool) -> None:
    """List supported sensors nearby: model, name, address, RSSI, battery and where to strap each."""
    if virtual:
        found = asyncio.run(_scan_virtual(min(timeout_s, 0.3), battery))
    else:
        if problem := bluetooth_problem():
            raise ImuformError(f"{problem}; or try 'imuform scan --virtual'")
        try:
            found = asyncio.run(_scan(timeout_s, battery, BleKwargs()))
        except Exception as exc:  # bleak raises OS-specific errors when there is no adapter
            raise ImuformError(
                f"cannot scan: {exc}; check that Bluetooth is on (or try 'imuform scan --virtual')"
            ) from exc
    if as_json:
        echo_json([s.to_dict() for s in found])
        return
    if not found:
        click.echo("No supported sensors found. Switch them on, bring them closer and scan again (--timeout 10).")
        return
    table = Table(title=f"{len(found)} supported sensor(s)")
    for col in ("model", "name", "address", "RSSI dBm", "battery", "strap it"):
        table.add_column(col)
    for s in found:
        battery_text = f"{s.battery_percent:.0f} %" if s.battery_percent is not None else "–"
        hint = s.model.placement_hint or "lumbar (sacrum) or thoracic (T10–T12)"
        # the name and address come from whatever advertises nearby: shown as sent, never as markup
        table.add_row(s.model.name, escape(s.name), escape(s.address), str(s.rssi), battery_text, hint)
    console().print(table)
