"""phyphox exports (Raw Data or one file per sensor), CSV with ``,``, ``;`` or tab, decimal point or comma.

Headers come in two styles: ``"Time (s)","Acceleration x (m/s^2)",…`` and ``"Time (s)";"X (m/s^2)";…``
(also ``"Gyroscope x (rad/s)"``, ``"Magnetic field x (µT)"``, ``"Linear Acceleration x (m/s^2)"``). The
unit in each header decides the stream. Time is the experiment's, in s; ``meta/time.csv`` beside the file
maps it to Unix time (its ``START`` event). Files of one export without it share the experiment clock.
"""

from __future__ import annotations

import re
from pathlib import Path

from imuform.errors import InputError
from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, Table, read_table, read_text, unit_factor, vectors

NAME = "phyphox"
TIME = re.compile(r'^"?Time \(s\)"?\s*([,;\t])')
AXIS = re.compile(r"^(?:(?P<what>[A-Za-z ]+?) )?(?P<axis>[xyzXYZ]) \((?P<unit>[^)]+)\)$")
KIND_OF_UNIT = {"m/s^2": "acc", "m/s²": "acc", "rad/s": "gyr", "µT": "mag", "uT": "mag"}
HINT = "export phyphox's Accelerometer (with g) and Gyroscope together (or both files) for the same placement"


def detect(head: Head) -> Match:
    first = head.lines[0] if head.lines else ""
    return marks(
        head,
        [
            ("a first column 'Time (s)'", lambda h: bool(TIME.match(first))),
            ("'x (unit)' or 'Acceleration x (m/s^2)' columns", lambda h: bool(re.search(r"[xX] \(", first))),
        ],
    )


def _start_unix_s(path: Path) -> float | None:
    """The Unix time of experiment time 0, from ``meta/time.csv`` beside the file."""
    meta = path.parent / "meta" / "time.csv"
    if not meta.is_file():
        return None
    text = read_text(meta)
    sep = ";" if ";" in text.splitlines()[0] else ","
    table = read_table(meta, text, 0, sep)
    start = table.cells[table.cells.iloc[:, 0] == "START"]
    if start.empty:
        return None
    decimal_comma = sep != "," and "," in start.iloc[0, 1]
    exp_s = Table(meta, start, table.lines[start.index]).numbers(table.columns[1], decimal_comma=decimal_comma)[0]
    sys_s = Table(meta, start, table.lines[start.index]).numbers(table.columns[2], decimal_comma=decimal_comma)[0]
    return float(sys_s - exp_s)


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    text = read_text(path)
    m = TIME.match(text.splitlines()[0] if text else "")
    if not m:
        raise InputError(f"{path}, line 1: expected a first column 'Time (s)'; export the phyphox data as CSV again")
    sep = m.group(1)
    table = read_table(path, text, 0, sep)
    body = "\n".join(text.splitlines()[1:3])
    decimal_comma = sep != "," and "," in body
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for column in table.columns[1:]:
        if a := AXIS.match(column):
            what = (a.group("what") or "").lower()
            groups.setdefault(what, []).append((a.group("axis").lower(), column, a.group("unit")))
    offset = _start_unix_s(path)
    clock = f"{NAME}:{path.parent.resolve()}"
    time_s = table.numbers(table.columns[0], decimal_comma=decimal_comma)
    streams = []
    for what, axes in groups.items():
        by_axis = {axis: (column, unit) for axis, column, unit in axes}
        if set(by_axis) != {"x", "y", "z"}:
            continue
        unit = by_axis["x"][1]
        kind = KIND_OF_UNIT.get(unit)
        if "linear" in what:
            raise InputError(
                f"{path}, column {by_axis['x'][0]}: linear acceleration has gravity taken out, which the analysis "
                f"needs; export phyphox's 'Acceleration with g' instead"
            )
        if kind is None:
            continue
        columns = [by_axis[a][0] for a in "xyz"]
        values = vectors(table, columns, unit_factor(path, columns[0], kind, unit), decimal_comma=decimal_comma)
        streams.append(Stream(kind, time_s, values, path, table.lines, clock, offset))
    if not streams:
        raise InputError(
            f"{path}, line 1: no x, y, z columns in m/s^2, rad/s or µT; export phyphox's Accelerometer or Gyroscope"
        )
    return SensorFile(NAME, tuple(streams), model="phone (phyphox)", missing_hint={"acc": HINT, "gyr": HINT})


FORMAT = Format(
    name=NAME,
    title="phyphox CSV export (Raw Data or one file per sensor; , ; or tab; decimal comma)",
    units="experiment time s (Unix via meta/time.csv), acceleration m/s² with g, angular rate rad/s, field µT",
    needs="the Accelerometer and Gyroscope files (or a folder holding them) for one placement",
    example="imuform import --sensor lumbar=phyphox_export/Accelerometer.csv --sensor lumbar=phyphox_export/Gyroscope.csv",
    detect=detect,
    read=read,
)
