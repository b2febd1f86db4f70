"""Units of an imported samples table: declared with ``imuform import --units``, recognised from the data.

samples.csv holds time in s, acceleration in m/s² and angular rate in deg/s (README, "The CSV exchange
format"). Files from other tools often use ms or ns, g, or rad/s, and a wrong unit is no parse error: it
imports, then the analysis finds nothing or fails. So each quantity's unit is recognised from what the
data must look like physically, whatever the file's column names say:

- time: the median step between samples is the sample period, and an IMU samples at 5–2000 Hz;
- acceleration: the accelerometer's median magnitude is gravity, 9.81 m/s² or 1 g;
- angular rate: the gyroscope's turning, integrated over a short window, equals the change of the
  direction of gravity the accelerometer sees in that window (in rad), so their ratio is 1 in rad/s and
  180/π ≈ 57.3 in deg/s (`gyro_tilt_ratio`).

`recognised_unit` turns each statistic into the unit it implies, so a file in one unit is refused with
the unit it is in, and ``--units`` (`Units`) converts it on import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.timebase import CLOCK_LIMITS, ClockLimits, median_step_s

GRAVITY_MPS2 = 9.81


@dataclass(frozen=True)
class Quantity:
    """One physical quantity of the samples table and the units it may come in.

    Attributes
    ----------
    key
        Its name in ``--units`` (``time``, ``acc``, ``gyr``).
    columns
        Its columns in samples.csv.
    canonical
        The unit samples.csv uses.
    factors
        Per unit name, the factor that converts a value in that unit to the canonical one.
    """

    key: str
    columns: tuple[str, ...]
    canonical: str
    factors: Mapping[str, float]


QUANTITIES = {
    q.key: q
    for q in (
        Quantity("time", ("time_s",), "s", {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}),
        Quantity(
            "acc", ("acc_x", "acc_y", "acc_z"), "m/s2", {"m/s2": 1.0, "g": GRAVITY_MPS2, "mg": GRAVITY_MPS2 / 1000}
        ),
        Quantity("gyr", ("gyr_x", "gyr_y", "gyr_z"), "deg/s", {"deg/s": 1.0, "rad/s": math.degrees(1.0)}),
    )
}
#: Other spellings accepted in ``--units``.
ALIASES = {"µs": "us", "m/s²": "m/s2", "mps2": "m/s2", "dps": "deg/s", "rps": "rad/s"}
#: How units are written in messages.
DISPLAY = {"m/s2": "m/s²", "us": "µs"}


@dataclass(frozen=True)
class Units:
    """The units of a file's columns, by quantity (names as in `QUANTITIES`); the default is samples.csv's."""

    time: str = "s"
    acc: str = "m/s2"
    gyr: str = "deg/s"

    def factor(self, key: str) -> float:
        """The factor that converts quantity ``key`` from these units to samples.csv's."""
        return QUANTITIES[key].factors[getattr(self, key)]

    def convert(self, table: pd.DataFrame) -> None:
        """Convert ``table``'s columns from these units to samples.csv's, in place."""
        for key, quantity in QUANTITIES.items():
            if self.factor(key) != 1.0:
                table[list(quantity.columns)] *= self.factor(key)


#: samples.csv's own units.
CSV_UNITS = Units()


def parse_units(text: str) -> Units:
    """Units from ``--units`` text such as ``"gyr=rad/s,time=ms,acc=g"``.

    Raises
    ------
    ValueError
        A one-line message naming the bad part and what is allowed.
    """
    units: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, unit = (s.strip() for s in part.partition("="))
        if not sep or key not in QUANTITIES:
            raise ValueError(f"{part!r} is not QUANTITY=UNIT with QUANTITY one of {', '.join(QUANTITIES)}")
        unit = ALIASES.get(unit, unit)
        if unit not in QUANTITIES[key].factors:
            raise ValueError(f"unknown unit {unit!r} for {key}; use one of {', '.join(QUANTITIES[key].factors)}")
        units[key] = unit
    return Units(**units)


@dataclass(frozen=True)
class UnitDetection:
    """Thresholds that recognise each quantity's unit from the data.

    Attributes
    ----------
    clock
        Sample rates an IMU has (and the longest session): the analysis' own
        (`analysis.timebase.ClockLimits`). The units of time are 1000 apart, more than the range of
        rates (400), so at most one unit fits a median step.
    min_gravity_g, max_gravity_g
        Median accelerometer magnitude of a worn sensor, in g: gravity plus movement, which over a session
        averages out near 1 g. The same band, 0.5–2, in m/s², g and mg is 1000 or 9.81 apart: no overlap.
    gyro_ratio_tolerance
        `gyro_tilt_ratio` is 180/π ≈ 57.3 in deg/s and 1 in rad/s; a ratio within this factor of 57.3 is
        deg/s. The geometric midpoint √57.3 ≈ 7.57 leaves the most room either side: measured ratios are
        0.88–0.96 for rad/s gyroscopes (BROAD trial 1, RING trial 1: five IMUs) and 40–52 for deg/s ones
        (SpineWise, TrunkyXL: four trials; the simulator's deadlifts 54–57), linear acceleration and
        noise being what moves them off 1 and 57.3.
    window_s
        Window over which the gyroscope is integrated and the tilt measured, in s: short enough that the
        rotation stays small (the chord of the tilt is its angle), long enough to leave the noise behind.
    smooth_s
        Moving average of the accelerometer's direction, in s: damps noise and vibration, which add to
        the tilt (without it the SpineWise ratios drop from 45 to 34).
    min_tilt_rad
        Smallest tilt change in a window that is used, in rad (3°, a trunk tilting at 11 deg/s); the
        direction of a still accelerometer wanders by about 0.005 rad (0.05 m/s² noise).
    min_tilting_s
        Least time of windows above `min_tilt_rad` needed to judge, in s; with less motion the gyroscope's
        unit is not judged (a still sensor's analysis does not depend on it).
    """

    clock: ClockLimits = CLOCK_LIMITS
    min_gravity_g: float = 0.5
    max_gravity_g: float = 2.0
    gyro_ratio_tolerance: float = math.sqrt(math.degrees(1.0))
    window_s: float = 0.25
    smooth_s: float = 0.1
    min_tilt_rad: float = 0.05
    min_tilting_s: float = 1.0


DEFAULT_DETECTION = UnitDetection()


def plausible_range(key: str, detection: UnitDetection) -> tuple[float, float]:
    """The range of quantity ``key``'s statistic in samples.csv's units: for ``time`` the median step
    (`analysis.timebase.median_step_s`, s), for ``acc`` the median magnitude (m/s²), for ``gyr``
    `gyro_tilt_ratio`."""
    if key == "time":
        return detection.clock.period_range_s()
    if key == "acc":
        return detection.min_gravity_g * GRAVITY_MPS2, detection.max_gravity_g * GRAVITY_MPS2
    ratio = math.degrees(1.0)
    return ratio / detection.gyro_ratio_tolerance, ratio * detection.gyro_ratio_tolerance


def recognised_unit(key: str, statistic: float, units: Units, detection: UnitDetection) -> str | None:
    """The unit quantity ``key`` is in, judged by its statistic.

    Parameters
    ----------
    key
        The quantity (`QUANTITIES`).
    statistic
        Its statistic (`plausible_range`) computed on the values converted with ``units``; it is
        proportional to the values.
    units
        The units the file was declared to be in.
    detection
        The thresholds.

    Returns
    -------
    str or None
        The declared unit when the statistic is plausible; else the unit that makes it so; ``None``
        when no unit does.
    """
    low, high = plausible_range(key, detection)
    declared = getattr(units, key)
    raw = statistic / units.factor(key)
    candidates = [declared, *(u for u in QUANTITIES[key].factors if u != declared)]
    return next((u for u in candidates if low <= raw * QUANTITIES[key].factors[u] <= high), None)


def gyro_tilt_ratio(
    time_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray, detection: UnitDetection, chunk_rows: int = 1 << 17
) -> tuple[float, float]:
    """How far the gyroscope turns per radian of tilt the accelerometer sees (one sensor's rows).

    In the sensor frame the direction of gravity ``ĝ`` turns as ``dĝ/dt = −ω × ĝ``, so over a short window
    ``|∫ ω × ĝ dt|`` equals the change of ``ĝ`` with ``ω`` in rad/s. Their ratio (median over the
    windows that tilt by at least `UnitDetection.min_tilt_rad`, none across a gap in the data) is the
    gyroscope's unit per rad/s: 1 for rad/s, 57.3 for deg/s. Turning about the vertical tilts nothing and
    is not judged; linear acceleration adds to the tilt a little (ratios a few tens of % low).

    Parameters
    ----------
    time_s
        Sample times, in s, increasing.
    acc
        Accelerometer x, y and z, three ``(n,)`` columns (a ``(3, n)`` array, or an ``(n, 3)`` one transposed),
        any unit (only its direction is used). Taken a chunk at a time: no ``(n, 3)`` copy is needed.
    gyr
        Gyroscope x, y and z as ``acc``, in the unit to be judged.
    detection
        The thresholds.
    chunk_rows
        Windows judged at a time (memory only: the result does not depend on it).

    Returns
    -------
    ratio, tilting_s
        The ratio (NaN when the sensor tilts too little to judge) and the time of tilting windows, in s.
    """
    step_s = median_step_s(time_s)
    if not np.isfinite(step_s) or len(time_s) < 3:
        return float("nan"), 0.0
    k = max(1, int(round(detection.window_s / step_s)))
    if len(time_s) <= k:
        return float("nan"), 0.0
    dt = np.diff(time_s, append=time_s[-1] + step_s)
    smooth = max(1, int(round(detection.smooth_s / step_s)))
    # windows across a gap (a step over twice the period) compare unrelated samples
    gaps = np.concatenate([[0], np.cumsum(dt[:-1] > 2 * step_s)])
    # the windows a chunk at a time (with the smoothing's and the window's reach around it), so that the
    # twenty or so temporaries are a chunk long, not the session's: 200 MB per sensor at 4 hours
    windows = len(time_s) - k
    ratios, used = [], 0
    for first in range(0, windows, chunk_rows):
        last = min(windows, first + chunk_rows)
        rows = slice(max(0, first - smooth), min(len(time_s), last + k + smooth))
        chunk_ratios, chunk_used = _tilt_ratios(
            [c[rows] for c in acc],
            [c[rows] for c in gyr],
            dt[rows],
            gaps[rows],
            first - rows.start,
            last - first,
            k,
            smooth,
            detection,
        )
        ratios.append(chunk_ratios)
        used += chunk_used
    tilting_s = float(used * step_s)
    if tilting_s < detection.min_tilting_s:
        return float("nan"), tilting_s
    return float(np.median(np.concatenate(ratios))), tilting_s


def _tilt_ratios(
    acc: list[np.ndarray],
    gyr: list[np.ndarray],
    dt: np.ndarray,
    gaps: np.ndarray,
    offset: int,
    count: int,
    k: int,
    smooth: int,
    detection: UnitDetection,
) -> tuple[np.ndarray, int]:
    """`gyro_tilt_ratio`'s ratios of the ``count`` windows from row ``offset`` of these rows that tilt enough,
    and how many windows tilt enough."""
    # Direct sums over windows (np.convolve), not differences of a running sum, which one absurd value
    # (refused later, by range) would swamp for good. Contiguous columns: those of (n, 3) arrays are strided.
    ax, ay, az = (np.ascontiguousarray(c) for c in acc)
    gx, gy, gz = (np.ascontiguousarray(c) for c in gyr)
    # absurd values (refused later, by range) overflow to inf here and leave their windows out
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # the direction of gravity, scaled before squaring so that absurd values cannot overflow
        scale = np.maximum(np.maximum(np.abs(ax), np.abs(ay)), np.abs(az))
        ux, uy, uz = (np.convolve(a / scale, np.ones(smooth), mode="same") for a in (ax, ay, az))
        norm = np.sqrt(ux * ux + uy * uy + uz * uz)
        ux, uy, uz = ux / norm, uy / norm, uz / norm
        # ∫ ω × ĝ dt over each window of k samples
        windows = slice(offset, offset + count)
        turned = [
            np.convolve(c * dt, np.ones(k), mode="valid")[windows]
            for c in (gy * uz - gz * uy, gz * ux - gx * uz, gx * uy - gy * ux)
        ]
        integral = np.sqrt(sum(c * c for c in turned))
        tilt = np.sqrt(sum((c[k:] - c[:-k])[windows] ** 2 for c in (ux, uy, uz)))
        use = (gaps[k:] == gaps[:-k])[windows] & (tilt > detection.min_tilt_rad) & np.isfinite(integral)
    return integral[use] / tilt[use], int(use.sum())
