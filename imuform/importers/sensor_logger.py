"""Sensor Logger (Kelvin Choi's app, iOS and Android): one CSV per sensor in the recording's folder.

``time,seconds_elapsed,z,y,x`` (note the order) with ``time`` in ns since 1970. The app's units, from its
documentation (the files name none): ``Accelerometer.csv`` and ``Gravity.csv`` m/s², ``Gyroscope.csv``
rad/s, ``Magnetometer.csv`` µT, ``Orientation.csv`` quaternions ``qw,qx,qy,qz``. On iOS
``Accelerometer.csv`` has gravity taken out: ``Gravity.csv`` of the same recording is added back
(``TotalAcceleration.csv``, where written, is used as it is).
"""

from __future__ import annotations

from pathlib import Path

from imuform.errors import InputError
from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, UNIX_CLOCK, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, find_columns, read_table, read_text, unit_factor, vectors

NAME = "sensor-logger"
#: File stem to (stream kind, unit of its values).
STREAMS = {
    "accelerometer": ("acc", "m/s^2"),
    "totalacceleration": ("acc", "m/s^2"),
    "gravity": ("gravity", "m/s^2"),
    "gyroscope": ("gyr", "rad/s"),
    "magnetometer": ("mag", "µT"),
}
HINTS = {
    "acc": "add the recording's Accelerometer.csv (and on iOS Gravity.csv) for the same placement",
    "gyr": "add the recording's Gyroscope.csv for the same placement",
    "gravity": "add the recording's Gravity.csv for the same placement: on iOS Accelerometer.csv has gravity taken out",
}


def _stem(path: Path) -> str:
    return path.stem.lower().replace("_", "").replace(" ", "")


def detect(head: Head) -> Match:
    first = head.lines[0].replace(" ", "") if head.lines else ""
    cells = set(first.split(","))
    return marks(
        head,
        [
            ("first columns 'time,seconds_elapsed'", lambda h: first.startswith("time,seconds_elapsed")),
            (
                "x, y, z or qw, qx, qy, qz columns",
                lambda h: {"x", "y", "z"} <= cells or {"qw", "qx", "qy", "qz"} <= cells,
            ),
            (
                "a file name Sensor Logger gives a stream (Accelerometer.csv, Gyroscope.csv, …)",
                lambda h: _stem(h.path) in STREAMS or _stem(h.path) == "orientation",
            ),
        ],
    )


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    table = read_table(path, read_text(path), 0, ",")
    stem = _stem(path)
    if stem == "orientation" and (quat := find_columns(table.columns, ["qw", "qx", "qy", "qz"])):
        kind, values = "quat", vectors(table, quat)
    elif stem in STREAMS:
        kind, unit = STREAMS[stem]
        axes = find_columns(table.columns, ["x", "y", "z"])
        if axes is None:
            raise InputError(f"{path}, line 1: expected x, y and z columns; export the recording again")
        quantity = "acc" if kind == "gravity" else kind
        values = vectors(table, axes, unit_factor(path, axes[0], quantity, unit))
    else:
        raise InputError(
            f"{path}: Sensor Logger's {path.name} is no stream imuform imports; give Accelerometer.csv, "
            f"Gravity.csv, Gyroscope.csv, Magnetometer.csv, Orientation.csv or TotalAcceleration.csv"
        )
    ns = table.integers("time")
    stream = Stream(kind, (ns - ns[0]) * 1e-9, values, path, table.lines, UNIX_CLOCK, ns[0] * 1e-9)
    return SensorFile(NAME, (stream,), model="phone (Sensor Logger)", missing_hint=HINTS)


FORMAT = Format(
    name=NAME,
    title="Sensor Logger CSV (one file per sensor, z,y,x order)",
    units="ns since 1970, acceleration m/s², angular rate rad/s, field µT (the app's documented units)",
    needs="Accelerometer.csv (+ Gravity.csv from iOS) and Gyroscope.csv, or the recording's folder, for one placement",
    example="imuform import --sensor lumbar=SensorLogger_2025-01-01/ (or --sensor lumbar=…/Accelerometer.csv --sensor lumbar=…/Gravity.csv --sensor lumbar=…/Gyroscope.csv)",
    detect=detect,
    read=read,
)
