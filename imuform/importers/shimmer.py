"""Shimmer3 exports from Consensys or ShimmerCapture (calibrated, CSV).

The first line is literally ``"sep=;"`` (or ``sep=,`` / tab); the header names every column
``<device>_<signal>_CAL`` (``Shimmer_40AC_Accel_LN_X_CAL``); a units row follows (``ms``, ``m/(s^2)``,
``deg/s``, ``local_flux``); rows end with the separator. The low-noise accelerometer (``Accel_LN``) is
taken, else the wide-range one (``Accel_WR``). Magnetometer values in ``local_flux`` are no physical unit
and are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

from imuform.errors import InputError
from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, UNIX_CLOCK, ReadOptions, SensorFile, Stream
from imuform.importers.text import MAG_TO_UT, Head, read_table, read_text, spread_repeated, unit_factor, vectors

NAME = "shimmer"
SEP_LINE = re.compile(r'^"?sep=(.)"?\s*$')
COLUMN = re.compile(
    r"^(?P<device>.+?)_(?P<signal>Timestamp_Unix|Timestamp|Accel_LN_[XYZ]|Accel_WR_[XYZ]|Gyro_[XYZ]|Mag_[XYZ])_CAL$"
)
HINT = "enable the accelerometer (Low Noise or Wide Range) and the gyroscope in Consensys and export calibrated data"


def detect(head: Head) -> Match:
    def header(h: Head) -> str:
        return h.lines[1] if len(h.lines) > 1 and SEP_LINE.match(h.lines[0]) else (h.lines[0] if h.lines else "")

    return marks(
        head,
        [
            ("a first line 'sep=;'", lambda h: bool(h.lines) and bool(SEP_LINE.match(h.lines[0]))),
            ("columns named DEVICE_Signal_CAL", lambda h: "_CAL" in header(h) and "Timestamp" in header(h)),
        ],
    )


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    text = read_text(path)
    lines = text.splitlines()
    sep_line = SEP_LINE.match(lines[0]) if lines else None
    sep = sep_line.group(1) if sep_line else ";"
    header = 1 if sep_line else 0
    table = read_table(path, text, header, sep)
    units_row = table.cells.iloc[0]
    table = type(table)(path, table.cells.iloc[1:].reset_index(drop=True), table.lines[1:])
    signals: dict[str, str] = {}
    device = None
    for column in table.columns:
        if m := COLUMN.match(column):
            signals[m.group("signal")] = column
            device = m.group("device")

    def group(prefix: str) -> list[str] | None:
        names = [signals.get(f"{prefix}_{a}") for a in "XYZ"]
        return None if None in names else names

    def values(columns: list[str], quantity: str):
        return vectors(table, columns, unit_factor(path, columns[0], quantity, units_row[columns[0]]))

    if "Timestamp_Unix" in signals:
        column = signals["Timestamp_Unix"]
        stamps_s = table.numbers(column) * unit_factor(path, column, "time", units_row[column])
        clock, offset = UNIX_CLOCK, float(stamps_s[0])
    elif "Timestamp" in signals:
        column = signals["Timestamp"]
        stamps_s = table.numbers(column) * unit_factor(path, column, "time", units_row[column])
        clock, offset = f"{NAME}:{device}:{path.resolve()}", None
    else:
        raise InputError(
            f"{path}, line {header + 1}: no Timestamp_CAL or Timestamp_Unix_CAL column; export with time stamps"
        )
    # Unix stamps are whole ms: at 50 Hz and more two samples can share one
    time_s = spread_repeated(stamps_s - stamps_s[0])
    streams = []
    notes = []
    if acc := group("Accel_LN") or group("Accel_WR"):
        streams.append(Stream("acc", time_s, values(acc, "acc"), path, table.lines, clock, offset))
    if gyr := group("Gyro"):
        streams.append(Stream("gyr", time_s, values(gyr, "gyr"), path, table.lines, clock, offset))
    if mag := group("Mag"):
        if units_row[mag[0]].strip().lower() in MAG_TO_UT:
            streams.append(Stream("mag", time_s, values(mag, "mag"), path, table.lines, clock, offset))
        else:
            notes.append(f"{path.name}: {', '.join(mag)} left out (in {units_row[mag[0]]!r}, not a unit of field)")
    return SensorFile(
        NAME,
        tuple(streams),
        model="Shimmer3",
        address=device,
        notes=tuple(notes),
        missing_hint={"acc": HINT, "gyr": HINT},
    )


FORMAT = Format(
    name=NAME,
    title="Shimmer Consensys / ShimmerCapture calibrated CSV",
    units="from the units row: time ms (Unix or device), acceleration m/(s^2), angular rate deg/s; local_flux not imported",
    needs="one file per Shimmer with Accel_LN (or Accel_WR) and Gyro columns",
    example="imuform import --sensor lumbar=Session1_Shimmer_40AC_Calibrated_SD.csv --sensor thoracic=Session1_Shimmer_41B2_Calibrated_SD.csv",
    detect=detect,
    read=read,
)
