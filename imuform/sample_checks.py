"""Plausibility of an imported samples table: its times, its units and its values' physical range.

Parsing (`imuform.io_csv`) makes sure every cell is a number; this makes sure the numbers can be a
recording: each sensor's times increase, at an IMU's rate, over at most a day; each quantity is in
samples.csv's unit (`imuform.units`); no value lies beyond what any IMU measures. Each problem is one
`InputError` line naming the file, the line (or the sensor's lines) and the column, and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.timebase import median_step_s
from imuform.errors import InputError
from imuform.store import VECTOR_COLUMNS
from imuform.units import (
    CSV_UNITS,
    DEFAULT_DETECTION,
    DISPLAY,
    GRAVITY_MPS2,
    QUANTITIES,
    UnitDetection,
    Units,
    gyro_tilt_ratio,
    recognised_unit,
)


@dataclass(frozen=True)
class SampleLimits:
    """What no recording of a lifter holds.

    Attributes
    ----------
    max_acc_mps2
        Largest acceleration magnitude, in m/s² (50 g): beyond the widest range of wearable IMUs
        (±16 g BMI160/BMI270, ±30 g ICM-20649).
    max_gyr_dps
        Largest angular rate magnitude, in deg/s: beyond the widest range of MEMS gyroscopes
        (±2000 deg/s common, ±4000 deg/s ICM-20649 and LSM6DSV32X).
    max_mag_uT
        Largest magnetic field magnitude, in µT: magnetometers saturate near 4900 µT (AK09916), Earth's
        field is 25–65 µT.
    quat_norm_tolerance
        Largest deviation of a quaternion's norm from 1: sensors send unit quaternions, rounded.
    """

    max_acc_mps2: float = 50 * GRAVITY_MPS2
    max_gyr_dps: float = 5000.0
    max_mag_uT: float = 5000.0
    quat_norm_tolerance: float = 0.1


DEFAULT_SAMPLE_LIMITS = SampleLimits()


#: What each quantity's statistic must look like, for messages.
EXPECTED = {
    "time": "an IMU samples at {low:g}–{high:g} Hz",
    "acc": "a worn accelerometer reads gravity, 9.81 m/s² or 1 g",
    "gyr": "deg/s reads 57 and rad/s 1",
}


def _line(index: int) -> int:
    """The CSV line of a row of the parsed table (its index; line 1 is the header)."""
    return int(index) + 2


def _unit(name: str) -> str:
    return DISPLAY.get(name, name)


def _fix(key: str, found: str) -> str:
    quantity = QUANTITIES[key]
    if found == quantity.canonical:
        return f"the file is in {_unit(found)} already: leave {key}= out of --units"
    columns = quantity.columns[0] if len(quantity.columns) == 1 else ", ".join(quantity.columns[:-1])
    if len(quantity.columns) > 1:
        columns += f" and {quantity.columns[-1]}"
    return f"multiply {columns} by {quantity.factors[found]:.6g}, or import with --units {key}={found}"


def _check_unit(
    path: Path, key: str, placement: str, statistic: float, evidence: str, units: Units, detection: UnitDetection
) -> None:
    """Refuse quantity ``key`` of one sensor when its statistic does not fit the declared unit."""
    if not np.isfinite(statistic):
        return
    found = recognised_unit(key, statistic, units, detection)
    declared = getattr(units, key)
    if found == declared:
        return
    column = QUANTITIES[key].columns[0]
    if found is None:
        expected = EXPECTED[key].format(low=detection.clock.min_rate_hz, high=detection.clock.max_rate_hz)
        raise InputError(
            f"{path}, column {column}: sensor {placement} {evidence}, which fits no unit imuform knows "
            f"({', '.join(map(_unit, QUANTITIES[key].factors))}; {expected}); check what the column holds"
        )
    raise InputError(
        f"{path}, column {column}: sensor {placement} {evidence}, which looks like {_unit(found)}, "
        f"not {_unit(declared)}; {_fix(key, found)}"
    )


def _check_times(
    path: Path, placement: str, index: np.ndarray, t: np.ndarray, units: Units, detection: UnitDetection
) -> None:
    """One sensor's times (in s, converted): increasing, at an IMU's rate, within a day."""
    if len(t) < 2:
        return
    steps = np.diff(t)
    if (steps == 0).all():
        raise InputError(
            f"{path}, lines {_line(index[0])}–{_line(index[-1])}, column time_s: all {len(t)} times of sensor "
            f"{placement} are {t[0]:.6g}; time_s must count the seconds from the session start"
        )
    back = np.flatnonzero(steps <= 0)
    if len(back):
        i = back[0]
        if steps[i] < 0:
            raise InputError(
                f"{path}, line {_line(index[i + 1])}, column time_s: time goes backwards for sensor {placement} "
                f"({t[i]:.6g} s then {t[i + 1]:.6g} s); sort each sensor's rows by time"
            )
        raise InputError(
            f"{path}, line {_line(index[i + 1])}, column time_s: time {t[i]:.6g} s repeats for sensor {placement} "
            f"(line {_line(index[i])} has it too); delete the duplicate row"
        )
    step_s = median_step_s(t)
    raw_step = step_s / units.factor("time")
    _check_unit(
        path,
        "time",
        placement,
        step_s,
        f"steps by a median of {raw_step:.3g}: a {1 / step_s:.3g} Hz sample rate if in {_unit(units.time)}",
        units,
        detection,
    )
    duration_s = t[-1] - t[0]
    if duration_s > detection.clock.max_duration_s:
        j = int(np.argmax(steps))
        # the stray row is on the far side of the biggest jump from most of the rows
        stray = j + 1 if t[j + 1] > np.median(t) else j
        raise InputError(
            f"{path}, line {_line(index[stray])}, column time_s: time jumps from {t[j]:.6g} s to {t[j + 1]:.6g} s "
            f"for sensor {placement}, a session of {duration_s / 3600:.3g} h (at most "
            f"{detection.clock.max_duration_s / 3600:g} h); fix or delete that row"
        )


def _check_span(path: Path, rows_of: dict[str, np.ndarray], df: pd.DataFrame, detection: UnitDetection) -> None:
    """All sensors on one session clock: together within a day."""
    t = df["time_s"].to_numpy()
    first = {p: rows[0] for p, rows in rows_of.items()}
    last = {p: rows[-1] for p, rows in rows_of.items()}
    early = min(first, key=lambda p: t[first[p]])
    late = max(last, key=lambda p: t[last[p]])
    span_s = t[last[late]] - t[first[early]]
    if span_s > detection.clock.max_duration_s:
        raise InputError(
            f"{path}, line {_line(df.index[last[late]])}, column time_s: sensor {late} ends {span_s / 3600:.3g} h "
            f"after sensor {early} starts (at most {detection.clock.max_duration_s / 3600:g} h); give every sensor's times "
            f"on one session clock, in s from its start"
        )


def _norm(columns: list[np.ndarray]) -> np.ndarray:
    """Magnitude per row of a vector given as its columns (NaN in empty cells, inf where absurd values overflow)."""
    with np.errstate(over="ignore"):
        return np.sqrt(sum(np.square(c) for c in columns))


def _first_row(
    df: pd.DataFrame, key: str, bad: Callable[[np.ndarray], np.ndarray], chunk_rows: int = 1 << 17
) -> tuple[int, float] | None:
    """The first row (position) whose vector ``key`` has a magnitude ``bad`` marks, and that magnitude.

    A chunk of rows at a time: no magnitude of the whole table beside it (21 MB per vector in 4 hours).
    """
    columns = [df[c].to_numpy() for c in VECTOR_COLUMNS[key]]
    for start in range(0, len(df), chunk_rows):
        norm = _norm([c[start : start + chunk_rows] for c in columns])
        with np.errstate(invalid="ignore"):
            found = np.flatnonzero(bad(norm))
        if len(found):
            return start + int(found[0]), float(norm[found[0]])
    return None


def _check_range(path: Path, df: pd.DataFrame, key: str, limit: float, unit: str, what: str) -> None:
    """Refuse the first row whose vector ``key`` (acc, gyr, mag) is beyond ``limit``."""
    found = _first_row(df, key, lambda norm: norm > limit)
    if found is not None:
        i = found[0]
        columns = list(VECTOR_COLUMNS[key])
        values = df[columns].to_numpy()[i]
        c = int(np.argmax(np.abs(values)))
        raise InputError(
            f"{path}, line {_line(df.index[i])}, column {columns[c]}: {values[c]:.6g} {unit} is beyond any "
            f"{what} (at most {limit:.6g} {unit}); fix or delete that row"
        )


def _check_quat(path: Path, df: pd.DataFrame, limits: SampleLimits) -> None:
    found = _first_row(df, "quat", lambda norm: np.abs(norm - 1.0) > limits.quat_norm_tolerance)
    if found is not None:
        i, norm = found
        raise InputError(
            f"{path}, line {_line(df.index[i])}, column quat_w: the quaternion's norm is {norm:.6g}, not 1; "
            f"give the sensor's unit quaternion (w, x, y, z) or leave the quat cells empty"
        )


def check_samples(
    path: Path,
    df: pd.DataFrame,
    units: Units = CSV_UNITS,
    detection: UnitDetection = DEFAULT_DETECTION,
    limits: SampleLimits = DEFAULT_SAMPLE_LIMITS,
) -> None:
    """Refuse a parsed samples table that cannot be a recording.

    Parameters
    ----------
    path
        The file, for messages.
    df
        The table as parsed (every cell a finite number, sensors known) and converted to samples.csv's
        units with ``units``; its index is the row's number in the file (line − 2).
    units
        The units the file was declared to be in (``--units``), for messages and recognition.
    detection, limits
        The thresholds.

    Raises
    ------
    InputError
        One line: file, line or sensor, column, and the fix.
    """
    rows_of = {p: np.asarray(rows) for p, rows in df.groupby("sensor", sort=False).indices.items()}
    t = df["time_s"].to_numpy()
    for placement, rows in rows_of.items():
        _check_times(path, placement, df.index[rows].to_numpy(), t[rows], units, detection)
    _check_span(path, rows_of, df, detection)
    for placement, rows in rows_of.items():
        # one sensor's columns at a time, views where its rows lie together (as imuform writes them): no (n, 3)
        # copy of its vectors, nor of the whole table's
        if rows[-1] - rows[0] + 1 == len(rows):
            rows = slice(int(rows[0]), int(rows[-1]) + 1)
        acc, gyr = ([df[c].to_numpy()[rows] for c in QUANTITIES[k].columns] for k in ("acc", "gyr"))
        gravity = float(np.median(_norm(acc)))
        evidence = f"reads a median acceleration of {gravity / units.factor('acc'):.3g} {_unit(units.acc)}"
        _check_unit(path, "acc", placement, gravity, evidence, units, detection)
        ratio, _ = gyro_tilt_ratio(t[rows], acc, gyr, detection)
        if np.isfinite(ratio):
            peak = float(np.percentile(_norm(gyr), 99)) / units.factor("gyr")
            evidence = (
                f"reads {ratio / units.factor('gyr'):.2g} per rad/s of tilt its accelerometer shows (peak {peak:.3g})"
            )
            _check_unit(path, "gyr", placement, ratio, evidence, units, detection)
    _check_range(path, df, "acc", limits.max_acc_mps2, "m/s²", "accelerometer's range")
    _check_range(path, df, "gyr", limits.max_gyr_dps, "deg/s", "gyroscope's range")
    if all(c in df for c in VECTOR_COLUMNS["mag"]):
        _check_range(path, df, "mag", limits.max_mag_uT, "µT", "magnetometer's range")
    if all(c in df for c in VECTOR_COLUMNS["quat"]):
        _check_quat(path, df, limits)
