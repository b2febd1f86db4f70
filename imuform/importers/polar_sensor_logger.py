"""Polar Sensor Logger (Verity Sense, OH1, H10): ``;``-separated ``.txt`` files, one per stream.

``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]`` for ``…_ACC.txt``; ``[dps]`` for
``_GYRO``, ``[G]`` (gauss) for ``_MAGN``. The sensor time stamp counts ns since 2000-01-01 00:00 UTC (the
Polar epoch; the phone sets the sensor's clock), so files of one sensor, and of several sensors set by one
phone, share a clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, UNIX_CLOCK, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, axis_stream, read_table, read_text

NAME = "polar-sensor-logger"
#: Unix time of the Polar epoch, 2000-01-01 00:00 UTC, in s.
POLAR_EPOCH_UNIX_S = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
AXIS = re.compile(r"^([XYZ]) \[(.+)\]$")
KIND_OF_UNIT = {"mg": "acc", "g": "acc", "dps": "gyr", "deg/s": "gyr", "G": "mag", "uT": "mag", "µT": "mag"}
HINTS = {
    "acc": "add the recording's …_ACC.txt as another --sensor of the same placement",
    "gyr": "add the recording's …_GYRO.txt as another --sensor of the same placement",
}


def detect(head: Head) -> Match:
    first = head.lines[0] if head.lines else ""
    return marks(
        head,
        [
            ("';'-separated columns", lambda h: ";" in first),
            ("a 'sensor timestamp [ns]' column", lambda h: "sensor timestamp [ns]" in first),
        ],
    )


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    table = read_table(path, read_text(path), 0, ";")
    # gauss in a Polar header is "G", which unit_factor reads case-insensitively as gauss
    kind, values = axis_stream(
        table, AXIS, "XYZ", KIND_OF_UNIT, "ACC in mg, GYRO in dps, MAGN in G", unit_alias={"G": "gauss"}
    )
    ns = table.integers("sensor timestamp [ns]")
    time_s = (ns - ns[0]) * 1e-9
    stream = Stream(kind, time_s, values, path, table.lines, UNIX_CLOCK, POLAR_EPOCH_UNIX_S + ns[0] * 1e-9)
    return SensorFile(NAME, (stream,), model="Polar", missing_hint=HINTS)


FORMAT = Format(
    name=NAME,
    title="Polar Sensor Logger .txt (one file per stream)",
    units="sensor ns since 2000-01-01, ACC mg, GYRO dps, MAGN gauss (from the column names)",
    needs="the _ACC.txt and _GYRO.txt files of one recording (MAGN optional), each as --sensor PLACEMENT=FILE",
    example="imuform import --sensor lumbar=Polar_Sense_ACC.txt --sensor lumbar=Polar_Sense_GYRO.txt",
    detect=detect,
    read=read,
)
