"""MbientLab MetaBase CSV (MetaMotion, MetaWear): one file per stream.

The file name carries the stream and its rate (``…_Accelerometer_12.500Hz_1.4.4.csv``); the header is
``epoch (ms),time (01:00),elapsed (s),x-axis (g),…`` or, in other versions, ``epoc (ms),timestamp
(-0800),elapsed (s),…``. The unit of each axis is in its column name: acceleration in g, angular rate in
deg/s, magnetic field in µT or T. Several samples of one BLE packet can share one time stamp: they are
spread evenly to the next stamp.
"""

from __future__ import annotations

import re
from pathlib import Path

from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, UNIX_CLOCK, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, axis_stream, read_table, read_text, spread_repeated

NAME = "metabase"
EPOCH = re.compile(r"^\s*\"?epoch? \(ms\)", re.IGNORECASE)
AXIS = re.compile(r"^([xyz])-axis \((.+)\)$")
RATE_IN_NAME = re.compile(r"_(\d+(?:\.\d+)?)Hz", re.IGNORECASE)
#: The stream a unit belongs to.
KIND_OF_UNIT = {"g": "acc", "deg/s": "gyr", "rad/s": "gyr", "T": "mag", "µT": "mag", "uT": "mag"}
HINTS = {
    "acc": "add the recording's …_Accelerometer_…Hz_….csv as another --sensor of the same placement",
    "gyr": "add the recording's …_Gyroscope_…Hz_….csv as another --sensor of the same placement",
}


def detect(head: Head) -> Match:
    return marks(
        head,
        [
            ("a first column 'epoch (ms)' or 'epoc (ms)'", lambda h: bool(h.lines) and bool(EPOCH.match(h.lines[0]))),
            ("'x-axis (unit)' columns", lambda h: bool(h.lines) and "x-axis (" in h.lines[0]),
        ],
    )


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    table = read_table(path, read_text(path), 0, ",")
    kind, values = axis_stream(
        table, AXIS, "xyz", KIND_OF_UNIT, "acceleration in g, angular rate in deg/s, magnetic field in T or µT"
    )
    epoch_ms = table.integers(table.columns[0])
    time_s = spread_repeated(epoch_ms / 1000.0)
    rate = RATE_IN_NAME.search(path.name)
    stream = Stream(kind, time_s, values, path, table.lines, UNIX_CLOCK, 0.0)
    mac = re.search(r"_([0-9A-F]{12})_", path.name)
    return SensorFile(
        NAME,
        (stream,),
        rate_hz=float(rate.group(1)) if rate else None,
        model="MbientLab MetaMotion",
        firmware=None,
        address=":".join(mac.group(1)[i : i + 2] for i in range(0, 12, 2)) if mac else None,
        missing_hint=HINTS,
    )


FORMAT = Format(
    name=NAME,
    title="MbientLab MetaBase CSV (one file per stream)",
    units="epoch ms (Unix), acceleration g, angular rate deg/s, magnetic field T or µT (from the column names)",
    needs="the _Accelerometer_ and _Gyroscope_ files of one recording, each as --sensor PLACEMENT=FILE",
    example="imuform import --sensor lumbar=S1_Accelerometer_100.000Hz_1.4.4.csv --sensor lumbar=S1_Gyroscope_100.000Hz_1.4.4.csv",
    detect=detect,
    read=read,
)
