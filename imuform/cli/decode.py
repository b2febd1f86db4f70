"""``imuform decode``: decode captured notification payloads (e.g. from an nRF Connect log) to samples."""

from __future__ import annotations

import json
import math
import re

import click

from firmware_protocol import MODELS, ProtocolError, SampleBlock, get_model
from imuform.cli.common import POSITIVE
from imuform.errors import InputError

#: Separators and prefixes nRF Connect and other loggers put into hex dumps.
_HEX_NOISE = re.compile(r"\(0x\)|0[xX](?=[0-9a-fA-F])|[\s:\-,]")
#: SampleBlock channel -> JSON key of the output line.
_KEYS = {
    "device_time_s": "time_s",
    "acc_mps2": "acc_mps2",
    "gyr_dps": "gyr_dps",
    "mag_uT": "mag_uT",
    "quat_wxyz": "quat_wxyz",
}


def parse_hex(text: str) -> bytes:
    """Bytes from a hex dump with or without spaces, colons, dashes, commas or ``0x`` prefixes.

    Raises
    ------
    InputError
        When what is left is not an even number of hex digits.
    """
    digits = _HEX_NOISE.sub("", text)
    if not digits or len(digits) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", digits):
        raise InputError(
            f"{text!r} is not a hex payload; give bytes like '55 61 fc ff' or '0x5561FCFF' (an even number of digits)"
        )
    return bytes.fromhex(digits)


def sample_lines(block: SampleBlock) -> list[dict]:
    """One JSON-able dict per sample, with only the channels the samples carry (NaN-filled ones dropped).

    JSON has no NaN or infinity, so a channel value that is not finite is left out of its line.
    """
    columns = {_KEYS[name]: getattr(block, name) for name in block.channels()}
    lines = []
    for i in range(block.n):
        line = {}
        for key, values in columns.items():
            value = values[i].tolist()
            if key == "time_s":
                if math.isfinite(value):
                    line[key] = value
            elif all(math.isfinite(v) for v in value):
                line[key] = value
        lines.append(line)
    return lines


def _list_sensors(as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([m.describe() for m in MODELS.values()], indent=2))
        return
    for kind, model in MODELS.items():
        clock = "device clock" if model.has_device_clock else "host time"
        click.echo(
            f"{kind:12s} {model.name} ({model.vendor}); {clock}; rates {', '.join(f'{r:g}' for r in model.rates_hz)} Hz"
        )


@click.command("decode")
@click.option(
    "--sensor", "kind", required=True, type=click.Choice(["list", *MODELS]), help="Sensor kind (see `--sensor list`)."
)
@click.option("--factor", type=POSITIVE, help="Polar PMD scale factor from the start response (default 1.0).")
@click.option("--rate-hz", type=POSITIVE, help="Sample rate: times the first Polar frame, DOT delta quantities, gaps.")
@click.option("--acc-range-g", type=int, help="MetaWear accelerometer range in g (default 16).")
@click.option("--gyr-range-dps", type=int, help="MetaWear gyroscope range in deg/s (default 2000).")
@click.option("--mode", help="Movella DOT payload mode, number or name (default 21, rate_quantities).")
@click.option("--stream", type=click.Choice(["raw", "quaternion"]), help="Thingy:52 characteristic (default raw).")
@click.option("--json", "as_json", is_flag=True, help="With `--sensor list`: print the sensor models as JSON.")
@click.argument("payloads", nargs=-1)
def decode(
    kind: str,
    factor: float | None,
    rate_hz: float | None,
    acc_range_g: int | None,
    gyr_range_dps: int | None,
    mode: str | None,
    stream: str | None,
    as_json: bool,
    payloads: tuple[str, ...],
) -> None:
    """Decode notification payloads (hex, one argument per notification, in order) to JSON lines.

    Each sample becomes one line {"time_s", "acc_mps2", "gyr_dps", "mag_uT", "quat_wxyz"} with the keys
    the packet carries. Skipped bytes, lost frames, time gaps and other notes go to stderr.

    \b
    Example:
        imuform decode --sensor witmotion "55 61 FC FF EF FF 11 08 00 00 00 00 00 00 98 FF 0D 00 F8 31"
    """
    if kind == "list":
        _list_sensors(as_json)
        return
    if not payloads:
        raise click.UsageError("give at least one hex payload (or `--sensor list`)")
    context = {
        key: value
        for key, value in dict(
            factor=factor,
            rate_hz=rate_hz,
            acc_range_g=acc_range_g,
            gyr_range_dps=gyr_range_dps,
            mode=mode,
            stream=stream,
        ).items()
        if value is not None
    }
    packets = [parse_hex(text) for text in payloads]
    try:
        decoder = get_model(kind).decoder(**context)
    except ProtocolError as exc:  # an option the sensor does not take (a range, a mode)
        raise click.UsageError(str(exc)) from None
    try:
        for index, packet in enumerate(packets, start=1):
            block, diag = decoder.feed(packet)
            for line in sample_lines(block):
                click.echo(json.dumps(line, allow_nan=False))
            notes = list(diag.notes)
            if diag.lost_frames:
                notes.append(f"{diag.lost_frames} frame(s) lost (sequence gap)")
            if diag.time_gaps:
                notes.append(f"{diag.time_gaps} gap(s) in the device clock")
            for note in notes:
                click.echo(f"imuform decode: payload {index}: {note}", err=True)
        if decoder.pending_bytes():
            click.echo(f"imuform decode: {decoder.pending_bytes()} B at the end wait for the rest of a frame", err=True)
    except ProtocolError as exc:
        raise InputError(str(exc)) from None
