"""WitMotion sensors (WT901, WT901SD, BWT901CL): SD-card binary logs and the PC software's text export.

SD logs are raw 11-byte packets: ``0x55``, a type, eight data bytes (four little-endian int16) and a
checksum (the low byte of the sum of the first ten). ``0x51`` acceleration (/32768 × 16 g), ``0x52``
angular rate (/32768 × 2000 deg/s), ``0x53`` angles roll, pitch, yaw (/32768 × 180°), ``0x54`` magnetic
field (raw counts: not imported), ``0x50`` time (20YY-MM-DD hh:mm:ss.ms). A sample starts at each ``0x51``.
Without time packets the sample times come from the output rate the sensor was set to (``--rate-hz``).

The PC software (WitMotion.exe, MiniIMU) exports tab-separated text: ``time AccX(g) AccY(g) AccZ(g)
AsX(°/s) … AngleX(°) …`` or, in newer versions, ``Acceleration X(g) … Angular velocity X(°/s) … Angle X(°)``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from imuform.errors import InputError
from imuform.importers.orientation import quat_from_euler_xyz_deg
from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, find_columns, read_table, read_text, unit_factor, vectors

SD_NAME = "witmotion-sd"
TEXT_NAME = "witmotion-text"
PACKET_BYTES = 11
#: Full scales of the int16 fields, per packet type: g, deg/s, deg.
SCALE = {0x51: 16.0 / 32768, 0x52: 2000.0 / 32768, 0x53: 180.0 / 32768}
HINT = "set the WitMotion sensor to output acceleration (0x51) and angular velocity (0x52) and record again"
RATE_HINT = (
    "give the output rate the sensor was set to with --rate-hz (WitMotion's default is 10 Hz), "
    "or enable the time output (0x50)"
)


def _valid_starts(data: np.ndarray) -> np.ndarray:
    """Offsets of well-formed packets (0x55, type 0x50–0x5F, checksum), not overlapping, in file order."""
    n = len(data) - PACKET_BYTES + 1
    if n <= 0:
        return np.array([], dtype=np.int64)
    sums = np.concatenate([[0], np.cumsum(data, dtype=np.int64)])
    first10 = (sums[10 : 10 + n] - sums[:n]) & 0xFF
    ok = (data[:n] == 0x55) & ((data[1 : 1 + n] & 0xF0) == 0x50) & (first10 == data[10 : 10 + n])
    starts = []
    end = 0
    for i in np.flatnonzero(ok):
        if i >= end:
            starts.append(i)
            end = i + PACKET_BYTES
    return np.asarray(starts, dtype=np.int64)


def detect_sd(head: Head) -> Match:
    data = np.frombuffer(head.data, dtype=np.uint8)
    starts = _valid_starts(data)
    covered = len(starts) * PACKET_BYTES / max(len(data), 1)
    types = set(data[starts + 1].tolist()) if len(starts) else set()
    return marks(
        head,
        [
            ("binary 0x55 packets with valid checksums", lambda h: covered > 0.9),
            ("acceleration (0x51) packets", lambda h: 0x51 in types),
        ],
    )


def read_sd(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    starts = _valid_starts(data)
    kinds = data[starts + 1]
    fields = data[starts[:, None] + np.arange(2, 10)].copy().view("<i2").astype(float)  # (n, 4)
    sample = np.cumsum(kinds == 0x51) - 1  # the sample each packet belongs to
    n = int(sample[-1]) + 1 if len(sample) else 0
    if n < 2:
        raise InputError(f"{path}: no WitMotion acceleration packets (0x55 0x51); {HINT}")
    vectors_of = {}
    for kind, scale in SCALE.items():
        at = kinds == kind
        rows = np.full((n, 3), np.nan)
        keep = sample[at] >= 0
        rows[sample[at][keep]] = fields[at][keep, :3] * scale
        vectors_of[kind] = rows
    times = kinds == 0x50
    if times.any():
        # a time packet comes before the acceleration packet of its sample
        at = np.flatnonzero(times)
        raw = data[starts[at][:, None] + np.arange(2, 10)]
        ms = raw[:, 6].astype(int) + 256 * raw[:, 7].astype(int)
        unix = np.array(
            [
                datetime(2000 + r[0], r[1], r[2], r[3], r[4], r[5], tzinfo=UTC).timestamp() + m / 1000
                for r, m in zip(raw.tolist(), ms.tolist(), strict=True)
            ]
        )
        stamp = np.full(n, np.nan)
        stamp[np.clip(sample[at] + 1, 0, n - 1)] = unix
        keep = np.isfinite(stamp)
        time_s, offset, clock = stamp - np.nanmin(stamp), float(np.nanmin(stamp)), f"{SD_NAME}:{path.resolve()}"
    elif options.rate_hz:
        time_s, offset, clock = np.arange(n) / options.rate_hz, None, f"{SD_NAME}:{path.resolve()}"
        keep = np.ones(n, dtype=bool)
    else:
        raise InputError(f"{path}: a WitMotion SD log without time packets (0x50) does not say its rate; {RATE_HINT}")
    lines = np.arange(1, n + 1)  # the sample's number: a binary file has no lines
    streams = []
    for kind, name, factor in ((0x51, "acc", unit_factor(path, "0x51", "acc", "g")), (0x52, "gyr", 1.0)):
        ok = keep & np.isfinite(vectors_of[kind]).all(axis=1)
        if ok.any():
            streams.append(Stream(name, time_s[ok], vectors_of[kind][ok] * factor, path, lines[ok], clock, offset))
    ok = keep & np.isfinite(vectors_of[0x53]).all(axis=1)
    if ok.any():
        quat = quat_from_euler_xyz_deg(vectors_of[0x53][ok])
        streams.append(Stream("quat", time_s[ok], quat, path, lines[ok], clock, offset))
    notes = []
    if (kinds == 0x54).any():
        notes.append(f"{path.name}: magnetic field packets (0x54) left out (raw counts, not µT)")
    skipped = len(data) - len(starts) * PACKET_BYTES
    if skipped:
        notes.append(f"{path.name}: {skipped} bytes outside well-formed packets skipped")
    return SensorFile(
        SD_NAME,
        tuple(streams),
        rate_hz=options.rate_hz,
        model="WitMotion",
        notes=tuple(notes),
        missing_hint={"acc": HINT, "gyr": HINT},
    )


TEXT_ACC = re.compile(r"^(?:Acc|Acceleration )([XYZ])\s*\((g|m/s²|m/s2)\)$", re.IGNORECASE)
TEXT_GYR = re.compile(r"^(?:As|Angular velocity )([XYZ])\s*\((°/s|deg/s)\)$", re.IGNORECASE)
TEXT_ANGLE = re.compile(r"^(?:Angle ?)([XYZ])\s*\((°|deg)\)$", re.IGNORECASE)


def _text_sep(line: str) -> str:
    return "\t" if "\t" in line else r"\s+"


def detect_text(head: Head) -> Match:
    first = head.lines[0] if head.lines else ""
    cells = [c.strip() for c in re.split(_text_sep(first), first.strip())]
    return marks(
        head,
        [
            ("a 'time' column", lambda h: any(c.lower() == "time" for c in cells)),
            ("AccX(g) or 'Acceleration X(g)' columns", lambda h: any(TEXT_ACC.match(c) for c in cells)),
            ("AsX(°/s) or 'Angular velocity X(°/s)' columns", lambda h: any(TEXT_GYR.match(c) for c in cells)),
        ],
    )


def read_text_export(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    text = read_text(path)
    table = read_table(path, text, 0, _text_sep(text.splitlines()[0]))

    def group(pattern: re.Pattern) -> tuple[list[str], str] | None:
        found = {m.group(1).upper(): (c, m.group(2)) for c in table.columns if (m := pattern.match(c))}
        return ([found[a][0] for a in "XYZ"], found["X"][1]) if set(found) == {"X", "Y", "Z"} else None

    time_column = find_columns(table.columns, ["time"])
    if time_column is None:
        raise InputError(f"{path}, line 1: no 'time' column; export with time from WitMotion's software")
    stamps = pd.to_datetime(table.cells[time_column[0]], format="mixed", errors="coerce")
    if stamps.isna().any():
        i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise InputError(
            f"{path}, line {table.lines[i]}, column time: {table.cells[time_column[0]].iloc[i]!r} is not a time; "
            f"fix or delete that row"
        )
    ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    time_s = (ns - ns[0]) * 1e-9
    # a date in the stamps makes them wall-clock time (the PC's, local: taken as UTC, one clock for all)
    dated = stamps.iloc[0].year > 1900
    clock = "witmotion-pc" if dated else f"{TEXT_NAME}:{path.resolve()}"
    streams = []
    for pattern, kind in ((TEXT_ACC, "acc"), (TEXT_GYR, "gyr")):
        if found := group(pattern):
            columns, unit = found
            values = vectors(table, columns, unit_factor(path, columns[0], kind, unit))
            streams.append(Stream(kind, time_s, values, path, table.lines, clock))
    if angle := group(TEXT_ANGLE):
        streams.append(
            Stream("quat", time_s, quat_from_euler_xyz_deg(vectors(table, angle[0])), path, table.lines, clock)
        )
    return SensorFile(TEXT_NAME, tuple(streams), model="WitMotion", missing_hint={"acc": HINT, "gyr": HINT})


SD_FORMAT = Format(
    name=SD_NAME,
    title="WitMotion SD-card binary log (0x55 packets; WT901SD)",
    units="acceleration ±16 g, angular rate ±2000 deg/s, angles deg; rate from 0x50 time packets or --rate-hz",
    needs="one log per sensor with 0x51 and 0x52 packets; --rate-hz when it has no 0x50 time packets",
    example="imuform import --sensor lumbar=WT901SD_lumbar.TXT --sensor thoracic=WT901SD_thoracic.TXT --rate-hz 50",
    detect=detect_sd,
    read=read_sd,
)
TEXT_FORMAT = Format(
    name=TEXT_NAME,
    title="WitMotion PC software text export",
    units="time stamps, acceleration g, angular rate °/s, angles ° (from the column names)",
    needs="one file per sensor with AccX..Z(g) and AsX..Z(°/s) (or Acceleration/Angular velocity) columns",
    example="imuform import --sensor lumbar=20240101_lumbar.txt --sensor thoracic=20240101_thoracic.txt",
    detect=detect_text,
    read=read_text_export,
)
