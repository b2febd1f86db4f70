"""Movella (Xsens) DOT: the DOT app's CSV export (2021 and 2023 layouts) and the DOT SDK's logs.

The app writes a ``sep=,`` line, ``Key:,value`` metadata (padded with commas since 2023), a copyright line,
a blank line, then ``PacketCounter,SampleTimeFine,…``; the SDK logs start at the header. ``SampleTimeFine``
is an unsigned 32-bit tick count that wraps; its tick is µs in the app, and is found from the data
(the tick that gives a DOT output rate), never assumed. Data columns: ``Quat_W..Z`` or ``Euler_X..Z``
(deg), ``FreeAcc_X..Z`` (m/s², world frame, gravity removed), ``Acc_X..Z`` (m/s²),
``Gyr_X..Z`` (deg/s), ``Mag_X..Z`` (arbitrary units: not imported).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from imuform.errors import InputError
from imuform.importers.orientation import quat_from_euler_xyz_deg
from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, find_columns, read_table, read_text, unwrap_counter, vectors

NAME = "movella-dot"
#: The DOT's output rates, in Hz.
DOT_RATES_HZ = (1.0, 4.0, 10.0, 12.0, 15.0, 20.0, 30.0, 60.0, 120.0)
#: Candidate ticks of SampleTimeFine, in s.
TICKS_S = (1e-6, 1e-5, 1e-4, 1e-3)
#: Largest relative difference between the measured and a DOT output rate.
RATE_TOLERANCE = 0.05
#: Clock of DOTs synchronised by the app: their SampleTimeFine counts together.
SYNCED_CLOCK = "movella-dot-synced"
HINT = "record with a DOT measurement mode that outputs Acc and Gyr, or orientation (Quat or Euler) with FreeAcc"


def _header_index(head_lines) -> int | None:
    """The header line: it starts with PacketCounter (app) or SampleTimeFine (SDK)."""
    for i, line in enumerate(head_lines):
        cells = [c.strip() for c in line.split(",")]
        if cells[0] in ("PacketCounter", "SampleTimeFine") and "SampleTimeFine" in cells:
            return i
    return None


def detect(head: Head) -> Match:
    def data_columns(h: Head) -> bool:
        i = _header_index(h.lines)
        return i is not None and any(c in h.lines[i] for c in ("Quat_W", "Euler_X", "Acc_X", "Gyr_X", "FreeAcc_X"))

    return marks(
        head,
        [
            (
                "a comma-separated header starting PacketCounter,SampleTimeFine or SampleTimeFine",
                lambda h: _header_index(h.lines) is not None,
            ),
            ("Quat_W, Euler_X, Acc_X, Gyr_X or FreeAcc_X columns", data_columns),
        ],
    )


def _metadata(lines: list[str]) -> dict[str, str]:
    meta = {}
    for line in lines:
        key, sep, rest = line.partition(":")
        if sep and key.strip() and not key.strip().isdigit():
            value = next((c.strip() for c in rest.split(",") if c.strip()), "")
            meta[key.strip()] = value
    return meta


def _start_unix_s(text: str) -> float | None:
    """StartTime as Unix time: ``2024-12-09 11:37:39.631 +0100`` or ``2021-08-20_20:21:13_829 GMT+8``."""
    m = re.match(
        r"(\d{4}-\d{2}-\d{2})[ _T](\d{2}:\d{2}:\d{2})[._](\d{1,6})\s*(?:([+-]\d{2}):?(\d{2})|GMT([+-]\d{1,2}))?",
        text.strip(),
    )
    if not m:
        return None
    date, clock, frac, tz_h, tz_m, gmt = m.groups()
    if tz_h is not None:
        offset = timedelta(hours=int(tz_h), minutes=math.copysign(int(tz_m), int(tz_h + "1")))
    else:
        offset = timedelta(hours=int(gmt or 0))
    when = datetime.fromisoformat(f"{date}T{clock}").replace(tzinfo=timezone(offset))
    return when.timestamp() + int(frac) / 10 ** len(frac)


def _tick_s(path: Path, ticks: np.ndarray, stated_hz: float | None) -> tuple[float, float]:
    """The tick of SampleTimeFine, from the usual step: the candidate that yields the stated (or a DOT) rate.

    A low percentile of the steps, not the median: exports of live streams miss many samples. Returns
    the tick, in s, and the output rate it matched, in Hz.
    """
    step = float(np.percentile(np.diff(ticks), 5))
    rates = [stated_hz] if stated_hz else list(DOT_RATES_HZ)
    for tick in TICKS_S:
        rate = 1.0 / (step * tick)
        for r in rates:
            if abs(rate - r) <= RATE_TOLERANCE * r:
                return tick, r
    raise InputError(
        f"{path}, column SampleTimeFine: steps of {step:.6g} ticks give no DOT output rate "
        f"({', '.join(f'{r:g}' for r in rates)} Hz) for a tick of 1 µs to 1 ms; check the file is one sensor's log"
    )


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    text = read_text(path)
    lines = text.splitlines()
    header = _header_index(lines)
    if header is None:
        raise InputError(f"{path}: no header line with SampleTimeFine; export the DOT recording as CSV again")
    meta = _metadata(lines[:header])
    table = read_table(path, text, header, ",")
    # the SDK logs a time with empty values for packets it could not decode: no sample there
    data_columns = [c for c in table.columns if c not in ("PacketCounter", "SampleTimeFine", "Status")]
    empty = (table.cells[data_columns] == "").all(axis=1).to_numpy()
    table = table.without_rows(empty)
    stated = re.match(r"\s*(\d+(?:\.\d+)?)\s*Hz", meta.get("OutputRate", ""))
    stated_hz = float(stated.group(1)) if stated else None
    ticks = unwrap_counter(table.integers("SampleTimeFine"), 2**32)
    if len(ticks) < 2 or (np.diff(ticks) <= 0).all():
        raise InputError(f"{path}, column SampleTimeFine: the times do not advance; export the recording again")
    tick_s, rate_hz = _tick_s(path, ticks, stated_hz)
    time_s = (ticks - ticks[0]) * tick_s
    tag = meta.get("DeviceTag") or path.stem
    synced = meta.get("SyncStatus", "").lower() == "synced"
    clock = SYNCED_CLOCK if synced else f"{NAME}:{path.resolve()}"
    start = _start_unix_s(meta.get("StartTime", ""))
    streams = []
    notes = [f"{path.name}: {empty.sum()} rows with a time but no values skipped"] if empty.any() else []

    def add(kind: str, values: np.ndarray) -> None:
        streams.append(Stream(kind, time_s, values, path, table.lines, clock, start))

    columns = table.columns
    if quat := find_columns(columns, ["Quat_W", "Quat_X", "Quat_Y", "Quat_Z"]):
        add("quat", vectors(table, quat))
    elif euler := find_columns(columns, ["Euler_X", "Euler_Y", "Euler_Z"]):
        add("quat", quat_from_euler_xyz_deg(vectors(table, euler)))
    if acc := find_columns(columns, ["Acc_X", "Acc_Y", "Acc_Z"]):
        add("acc", vectors(table, acc))
    if gyr := find_columns(columns, ["Gyr_X", "Gyr_Y", "Gyr_Z"]):
        add("gyr", vectors(table, gyr))
    if find_columns(columns, ["Mag_X", "Mag_Y", "Mag_Z"]):
        notes.append(f"{path.name}: Mag_X..Z left out (arbitrary units, not µT)")
    if (free := find_columns(columns, ["FreeAcc_X", "FreeAcc_Y", "FreeAcc_Z"])) and not acc:
        add("free_acc", vectors(table, free))
    return SensorFile(
        NAME,
        tuple(streams),
        rate_hz=rate_hz,
        model="Movella DOT",
        firmware=meta.get("FirmwareVersion"),
        address=None if tag == path.stem else tag,
        notes=tuple(notes),
        missing_hint={"acc": HINT, "gyr": HINT},
    )


FORMAT = Format(
    name=NAME,
    title="Movella DOT app CSV (2021, 2023) and DOT SDK log",
    units="SampleTimeFine ticks (µs in the app; found from the data), Acc and FreeAcc m/s², Gyr deg/s, Quat or Euler deg",
    needs="one file per sensor with Acc_* and Gyr_*, or with Quat_*/Euler_* and FreeAcc_* (sensor fusion modes); Mag not imported",
    example="imuform import --sensor lumbar=Pelvis_20240101_1000.csv --sensor thoracic=T12_20240101_1000.csv",
    detect=detect,
    read=read,
)
