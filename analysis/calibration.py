"""Sensor-to-segment calibration: which way is up and which way is the flexion axis, per sensor.

A calibration is a `Calibration`: per sensor a `SensorCalibration` (its segment's axes in sensor
coordinates), the `CalibrationWindows` it was measured in and, optionally, the person's `RangeOfMotion`.
`Calibration.to_dict` / `Calibration.from_dict` give the JSON the store keeps (``from_dict`` also reads the
plain dicts of earlier versions).

Quiet standing fixes each segment's vertical (and so zeroes every angle at neutral); slow forward bends
give the medio-lateral axis as the principal axis of the gyroscope, orthogonalised to the vertical. Without
a guided calibration, the session's first long rest and its first bends after it serve (`auto_calibrate`).
Sensors may be strapped on crooked (±20° about any axis): nothing here assumes how they were mounted,
except the fallback axis of a sensor whose axis was never measured (`assumed_axis`). A stored calibration
is only right while the sensors stay strapped on as they were: `calibration_mismatch` compares it with a
session's own standing and bends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.blocks import row_norms
from analysis.despike import FLOOR_ACC_MPS2, FLOOR_GYR_DPS, despike
from analysis.orientation import correct_accelerometers
from analysis.quiet import mask_intervals, quiet_mask
from analysis.rotations import segment_from_axes
from analysis.timebase import RegularSeries, align_sensors

#: A standing window must be this still (gyroscope RMS), in deg/s.
STANDING_MAX_GYR_RMS_DPS = 15.0
#: Shortest quiet stretch that can serve as standing neutral in auto calibration, in s.
AUTO_MIN_QUIET_S = 1.0
#: The first rest (all sensors quiet) this long is taken as standing neutral, in s.
AUTO_STANDING_S = 2.0
#: Quiet postures within this angle of each other (every sensor) count as the same posture, in degrees.
POSTURE_TOLERANCE_DEG = 8.0
#: Rotation of the first hinge-like bends that auto calibration measures the axis from, in degrees.
AUTO_AXIS_ROTATION_DEG = 180.0
#: The strapping habit of `assumed_axis` (sensor z out of the back) holds while z is this far from vertical.
ASSUMED_MAX_Z_UP = 0.7
#: Gyro RMS perpendicular to the vertical needed to measure the flexion axis, in deg/s.
AXIS_MIN_GYR_RMS_DPS = 8.0
#: Share of that rotation the principal axis must carry for the axis to be measured at all...
AXIS_MIN_PLANARITY = 0.6
#: ...and for the gyroscope's principal axis to be trusted over the direction of the furthest tilt.
PLANAR_MOTION = 0.85

#: How a calibration was made: guided steps, or automatically from a session's own standing and bends.
METHODS = ("guided", "auto")
#: Where a sensor's medio-lateral axis came from: measured in bends, or the usual strapping (`assumed_axis`).
AXIS_SOURCES = ("bends", "assumed")
#: A stored rotation or unit vector may be this far from orthonormal / unit length (JSON keeps 17 digits).
STORED_TOLERANCE = 1e-6


def _numbers(value: Any, n: int, where: str) -> tuple[float, ...]:
    """``n`` finite numbers from a JSON list, or ValueError naming ``where``."""
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(f"{where}: expected a list of {n} numbers, got {value!r:.60}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise ValueError(f"{where}: expected {n} finite numbers, got {value!r:.60}")
    return tuple(float(v) for v in value)


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {value!r:.60}")
    return value


@dataclass(frozen=True)
class Window:
    """A stretch of a session's clock, in s."""

    start_s: float
    end_s: float

    def to_dict(self) -> dict:
        """``{"start_s", "end_s"}``."""
        return {"start_s": self.start_s, "end_s": self.end_s}

    @classmethod
    def from_dict(cls, value: Any, where: str) -> Window:
        """From ``{"start_s", "end_s"}`` or, as earlier versions wrote the guided steps, ``[start_s, end_s]``.

        Raises
        ------
        ValueError
            Naming ``where`` when ``value`` is neither, or ends before it starts.
        """
        if isinstance(value, dict):
            value = [value.get("start_s"), value.get("end_s")]
        start_s, end_s = _numbers(value, 2, where)
        if end_s < start_s:
            raise ValueError(f"{where}: ends ({end_s:g} s) before it starts ({start_s:g} s)")
        return cls(start_s, end_s)


@dataclass(frozen=True)
class CalibrationWindows:
    """When each step of a calibration happened, on its session's clock.

    Attributes
    ----------
    standing
        Standing neutral (the quiet standing of a guided calibration, or the session's own rest).
    bends
        The bends the flexion axes were measured in, when they were.
    max_flexion, max_extension
        The range-of-motion steps, when done.
    """

    standing: Window
    bends: Window | None = None
    max_flexion: Window | None = None
    max_extension: Window | None = None

    def to_dict(self) -> dict:
        """Each step's window, None for steps not done."""
        return {
            name: None if w is None else w.to_dict()
            for name, w in (
                ("standing", self.standing),
                ("bends", self.bends),
                ("max_flexion", self.max_flexion),
                ("max_extension", self.max_extension),
            )
        }


@dataclass(frozen=True)
class SensorCalibration:
    """One sensor's calibration: its segment's axes in the sensor's own coordinates.

    Attributes
    ----------
    R_sensor_segment
        Rows of the 3x3 rotation from the segment frame to the sensor frame (docs/conventions.md).
    up_sensor
        The segment's vertical at standing neutral, in sensor coordinates (unit vector).
    axis_source
        One of `AXIS_SOURCES`: the medio-lateral (flexion) axis was measured in bends, or assumed.
    axis_planarity
        Share of the bends' rotation along the measured axis (1 = purely planar); None when assumed.
    """

    R_sensor_segment: tuple[tuple[float, float, float], ...]
    up_sensor: tuple[float, float, float]
    axis_source: str
    axis_planarity: float | None = None

    @classmethod
    def from_axes(cls, up: np.ndarray, axis: np.ndarray, source: str, planarity: float | None) -> SensorCalibration:
        """From the vertical and the medio-lateral axis in sensor coordinates (`segment_from_axes`)."""
        R = segment_from_axes(up, axis)
        return cls(
            tuple(tuple(float(v) for v in row) for row in R),
            tuple(float(v) for v in up),
            source,
            None if planarity is None else float(planarity),
        )

    @property
    def rotation(self) -> np.ndarray:
        """``R_sensor_segment`` as a 3x3 array."""
        return np.array(self.R_sensor_segment, dtype=float)

    @property
    def axis_sensor(self) -> np.ndarray:
        """The segment's medio-lateral (left, flexion) axis in sensor coordinates."""
        return self.rotation[:, 1]

    def to_dict(self) -> dict:
        """The JSON entry of one sensor."""
        return {
            "R_sensor_segment": [list(row) for row in self.R_sensor_segment],
            "up_sensor": list(self.up_sensor),
            "axis_source": self.axis_source,
            "axis_planarity": self.axis_planarity,
        }

    @classmethod
    def from_dict(cls, value: Any, where: str) -> SensorCalibration:
        """Parse and check one sensor's JSON entry; ValueError naming ``where`` on garbage."""
        value = _mapping(value, where)
        rows = value.get("R_sensor_segment")
        if not isinstance(rows, (list, tuple)) or len(rows) != 3:
            raise ValueError(f"{where}.R_sensor_segment: expected 3 rows of 3 numbers, got {rows!r:.60}")
        R = tuple(_numbers(row, 3, f"{where}.R_sensor_segment[{i}]") for i, row in enumerate(rows))
        matrix = np.array(R)
        if not np.allclose(matrix.T @ matrix, np.eye(3), atol=STORED_TOLERANCE) or np.linalg.det(matrix) < 0:
            raise ValueError(f"{where}.R_sensor_segment: not a rotation matrix (orthonormal, determinant +1)")
        up = _numbers(value.get("up_sensor"), 3, f"{where}.up_sensor")
        if abs(np.linalg.norm(up) - 1.0) > STORED_TOLERANCE:
            raise ValueError(f"{where}.up_sensor: not a unit vector (length {np.linalg.norm(up):.4g})")
        source = value.get("axis_source")
        if source not in AXIS_SOURCES:
            raise ValueError(f"{where}.axis_source: expected one of {', '.join(AXIS_SOURCES)}, got {source!r:.40}")
        planarity = value.get("axis_planarity")
        if planarity is not None:
            (planarity,) = _numbers([planarity], 1, f"{where}.axis_planarity")
        return cls(R, up, source, planarity)


@dataclass(frozen=True)
class RangeOfMotion:
    """The person's maximal lumbar flexion (toe touch) and extension, positive magnitudes in degrees."""

    max_flexion_deg: float
    max_extension_deg: float

    def to_dict(self) -> dict:
        """``{"max_flexion_deg", "max_extension_deg"}``."""
        return {"max_flexion_deg": self.max_flexion_deg, "max_extension_deg": self.max_extension_deg}

    @classmethod
    def from_dict(cls, value: Any, where: str) -> RangeOfMotion:
        """Parse and check; ValueError naming ``where`` unless both magnitudes are positive numbers."""
        value = _mapping(value, where)
        flexion, extension = _numbers(
            [value.get("max_flexion_deg"), value.get("max_extension_deg")],
            2,
            f"{where} (max_flexion_deg, max_extension_deg)",
        )
        if flexion <= 0 or extension <= 0:
            raise ValueError(f"{where}: both magnitudes must be positive degrees, got {flexion:g} and {extension:g}")
        return cls(flexion, extension)


@dataclass(frozen=True)
class Calibration:
    """A sensor-to-segment calibration of every sensor of one strap-on.

    Attributes
    ----------
    method
        One of `METHODS`.
    sensors
        Per placement its `SensorCalibration`.
    windows
        When the steps happened on the clock of the session it was measured in.
    range_of_motion
        The person's range of motion, when measured (`calibrate_range_of_motion`).
    """

    method: str
    sensors: dict[str, SensorCalibration]
    windows: CalibrationWindows
    range_of_motion: RangeOfMotion | None = None

    def to_dict(self) -> dict:
        """The JSON form (`from_dict` reads it back)."""
        return {
            "method": self.method,
            "windows": self.windows.to_dict(),
            "sensors": {placement: entry.to_dict() for placement, entry in self.sensors.items()},
            "range_of_motion": None if self.range_of_motion is None else self.range_of_motion.to_dict(),
        }

    @classmethod
    def from_dict(cls, value: Any) -> Calibration:
        """Parse and check the JSON form, also the plain dicts of earlier versions.

        Those kept ``standing`` and ``bends`` at the top and, from a guided calibration, every step under
        ``windows`` as ``[start_s, end_s]``.

        Raises
        ------
        ValueError
            One line naming the offending key, when ``value`` is not a calibration.
        """
        value = _mapping(value, "calibration")
        method = value.get("method")
        if method not in METHODS:
            raise ValueError(f"calibration.method: expected one of {', '.join(METHODS)}, got {method!r:.40}")
        steps = dict(_mapping(value.get("windows") or {}, "calibration.windows"))
        for name in ("standing", "bends"):
            if value.get(name) is not None:
                steps[name] = value[name]
        if steps.get("standing") is None:
            raise ValueError("calibration.windows.standing: missing; a calibration always has its standing neutral")
        windows = CalibrationWindows(
            **{
                name: None if steps.get(name) is None else Window.from_dict(steps[name], f"calibration.windows.{name}")
                for name in ("standing", "bends", "max_flexion", "max_extension")
            }
        )
        sensors = _mapping(value.get("sensors"), "calibration.sensors")
        if not sensors:
            raise ValueError("calibration.sensors: empty; a calibration needs at least one sensor")
        rom = value.get("range_of_motion")
        return cls(
            method,
            {str(p): SensorCalibration.from_dict(e, f"calibration.sensors.{p}") for p, e in sensors.items()},
            windows,
            None if rom is None else RangeOfMotion.from_dict(rom, "calibration.range_of_motion"),
        )


@dataclass(frozen=True)
class CalibrationCheck:
    """How closely a stored calibration must agree with a session's own standing and bends to be used on it.

    A stored calibration holds while the sensors stay strapped on as they were. Straps are put on again
    up to ±20° differently (docs/simulator.md), and the sensors' addresses cannot tell another person's
    strap-on (or yesterday's) from this one; the session's own automatic calibration
    (`auto_calibrate_series`) can.

    Attributes
    ----------
    max_neutral_deg
        Largest angle between a sensor's up vector in the stored calibration and in the session's own
        standing neutral, in degrees. The automatic neutral lands within 1.5° of the truth
        (tests/test_calibration.py) and a person stands within a degree or two of their own neutral, while
        a re-strapped sensor is off by up to 20° about two axes.
    max_axis_deg
        Largest angle between a sensor's flexion axis in the stored calibration and in the session's own
        bends, in degrees, compared only when both were measured from bends: the guided axis lands within 2°
        of the truth and the automatic one within 4° (tests/test_calibration.py), while a sensor turned about
        its vertical leaves the up vector alone and turns the axis, leaking flexion into lateral bend
        (sin 10° = 17 % of it).
    """

    max_neutral_deg: float = 5.0
    max_axis_deg: float = 10.0


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def calibration_mismatch(stored: Calibration, own: Calibration, check: CalibrationCheck) -> str | None:
    """Why ``stored`` does not fit the session that ``own`` was calibrated from automatically, or None.

    Parameters
    ----------
    stored
        The calibration that is to be used.
    own
        The session's automatic calibration (`auto_calibrate_series`).
    check
        The tolerances.

    Returns
    -------
    str or None
        What differs, e.g. ``"lumbar neutral 12° off (limits: neutral 5°, flexion axis 10°)"``; None when
        ``stored`` fits.
    """
    problems = []
    for placement, mine in own.sensors.items():
        theirs = stored.sensors.get(placement)
        if theirs is None:
            problems.append(f"no {placement} sensor")
            continue
        neutral_deg = _angle_deg(np.array(theirs.up_sensor), np.array(mine.up_sensor))
        if neutral_deg > check.max_neutral_deg:
            problems.append(f"{placement} neutral {neutral_deg:.0f}° off")
        elif theirs.axis_source == mine.axis_source == "bends":
            axis_deg = _angle_deg(theirs.axis_sensor, mine.axis_sensor)
            if axis_deg > check.max_axis_deg:
                problems.append(f"{placement} flexion axis {axis_deg:.0f}° off")
    if not problems:
        return None
    limits = f"limits: neutral {check.max_neutral_deg:g}°, flexion axis {check.max_axis_deg:g}°"
    return f"{', '.join(problems)} ({limits})"


def _rows(samples: pd.DataFrame, placement: str, start_s: float, end_s: float) -> pd.DataFrame:
    rows = samples[(samples["sensor"] == placement) & samples["time_s"].between(start_s, end_s)]
    if len(rows) < 3:
        raise ValueError(
            f"sensor {placement!r} has no samples between {start_s:.1f} s and {end_s:.1f} s; record the calibration again"
        )
    return rows


def _acc(rows: pd.DataFrame) -> np.ndarray:
    return despike(rows[["acc_x", "acc_y", "acc_z"]].to_numpy(dtype=float), FLOOR_ACC_MPS2)


def _gyr(rows: pd.DataFrame) -> np.ndarray:
    return despike(rows[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(dtype=float), FLOOR_GYR_DPS)


def up_vector(acc_mps2: np.ndarray) -> np.ndarray:
    """The vertical in sensor coordinates from accelerometer samples at rest (unit vector).

    Raises
    ------
    ValueError
        When the samples hold no gravity (none, all missing, or all zero: a broken accelerometer).
    """
    finite = np.isfinite(acc_mps2).all(axis=1)
    # nanmedian falls back to a slow per-column loop on short windows, and rests have no NaN
    up = np.median(acc_mps2[finite], axis=0) if finite.any() else np.zeros(3)
    norm = float(np.linalg.norm(up))
    if not norm > 0:
        raise ValueError("the accelerometer reads no gravity there (no samples, or all zero); check its acc columns")
    return up / norm


def assumed_axis(up: np.ndarray) -> np.ndarray:
    """Fallback medio-lateral axis when it was not measured: from how sensors are usually strapped on.

    A sensor lies flat on the back with its z axis out of the case's face, i.e. pointing backwards, so the
    segment's forward axis is the horizontal part of sensor −z and the left axis is ``up × forward``. A
    sensor whose z is (nearly) vertical breaks that habit; then the sensor axis most perpendicular to the
    vertical is taken. For a still lumbar sensor the choice does not change the lumbar angles
    (docs/pipeline.md); `calibrate_axis_from_bends` replaces it by a measurement.
    """
    up = np.asarray(up, dtype=float)
    if abs(up[2]) < ASSUMED_MAX_Z_UP:
        forward = -np.eye(3)[2] + up[2] * up
        return np.cross(up, forward / np.linalg.norm(forward))
    return np.eye(3)[int(np.argmin(np.abs(up)))]


def forward_tilt_axis(acc_mps2: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Medio-lateral axis from where the segment tilts furthest: people bend further forward than back.

    Each sample's tilt is the part of the measured vertical orthogonal to the neutral ``up``; weighting it by
    its own size and averaging cancels the symmetric lateral bends and leaves the forward direction.

    Returns
    -------
    numpy.ndarray
        Unit left axis in sensor coordinates.
    """
    v = acc_mps2 / np.linalg.norm(acc_mps2, axis=1, keepdims=True)
    tilt = v - np.outer(np.einsum("ni,i->n", v, up), up)
    mean = np.mean(tilt * np.linalg.norm(tilt, axis=1, keepdims=True), axis=0)
    # Tipping forward moves the measured vertical backwards (to -x), so forward is -mean.
    forward = -mean / max(np.linalg.norm(mean), 1e-12)
    return np.cross(up, forward)


def flexion_axis(gyr_dps: np.ndarray, acc_mps2: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Medio-lateral axis from bending motion.

    Planar motion (hinges, bends) gives it as the principal axis of the gyroscope orthogonal to ``up``,
    signed so that forward bending is a positive rotation (the side the segment tilts furthest is forward).
    Mixed motion (lateral bends and twists as large as the bends) makes that axis ambiguous; then the
    direction of the furthest tilt (`forward_tilt_axis`) gives it.

    Parameters
    ----------
    gyr_dps, acc_mps2
        ``(n, 3)`` sensor-frame samples during bends, in deg/s and m/s².
    up
        The segment's vertical in sensor coordinates (from standing).

    Returns
    -------
    axis, rms_dps, planarity
        Unit axis in sensor coordinates; RMS of the gyroscope orthogonal to ``up`` (deg/s); share of that
        rotation's energy along the principal axis (1 = purely planar motion).
    """
    ok = np.isfinite(gyr_dps).all(axis=1) & np.isfinite(acc_mps2).all(axis=1)
    # einsum, not BLAS products: threaded BLAS on n x 3 arrays costs more in hand-offs than the arithmetic
    g = gyr_dps[ok] - np.outer(np.einsum("ni,i->n", gyr_dps[ok], up), up)
    if len(g) < 3:
        return assumed_axis(up), 0.0, 0.0
    evals, evecs = np.linalg.eigh(np.einsum("ni,nj->ij", g, g))
    planarity = float(evals[-1] / max(evals.sum(), 1e-12))
    tilt_axis = forward_tilt_axis(acc_mps2[ok], up)
    axis = evecs[:, -1] if planarity >= PLANAR_MOTION else tilt_axis
    if np.dot(axis, tilt_axis) < 0:
        axis = -axis
    return axis, float(np.sqrt(np.mean(np.sum(g**2, axis=1)))), planarity


def calibrate_standing(samples: pd.DataFrame, start_s: float, end_s: float) -> Calibration:
    """Guided standing neutral: 2–5 s of quiet standing fixes each segment's vertical and zeroes the angles.

    Until `calibrate_axis_from_bends` measures it, each sensor's medio-lateral axis is `assumed_axis`.

    Parameters
    ----------
    samples
        The samples table (docs/architecture.md).
    start_s, end_s
        The standing window on the session clock, in s.

    Returns
    -------
    Calibration
        With ``method`` ``"guided"``.

    Raises
    ------
    ValueError
        When a sensor moved during the window or has no samples in it.
    """
    sensors = {}
    for placement in samples["sensor"].unique():
        rows = _rows(samples, placement, start_s, end_s)
        gyr_rms = float(np.sqrt(np.nanmean(np.sum(_gyr(rows) ** 2, axis=1))))
        if gyr_rms > STANDING_MAX_GYR_RMS_DPS:
            raise ValueError(
                f"sensor {placement!r} moved during the standing calibration ({gyr_rms:.0f} deg/s); stand still and repeat it"
            )
        up = up_vector(_acc(rows))
        sensors[placement] = SensorCalibration.from_axes(up, assumed_axis(up), "assumed", None)
    return Calibration("guided", sensors, CalibrationWindows(standing=Window(float(start_s), float(end_s))))


def calibrate_axis_from_bends(
    samples: pd.DataFrame, calibration: Calibration, start_s: float, end_s: float
) -> Calibration:
    """Measure each segment's medio-lateral (flexion) axis from a few slow forward bends.

    A sensor that barely rotated (a still pelvis, say) keeps its previous axis.

    Parameters
    ----------
    samples
        The samples table.
    calibration
        A calibration with the standing neutral (`calibrate_standing` or `auto_calibrate`).
    start_s, end_s
        The bends window on the session clock, in s.

    Returns
    -------
    Calibration
        A new calibration with the measured axes and the ``bends`` window set.
    """
    sensors = dict(calibration.sensors)
    for placement, entry in calibration.sensors.items():
        rows = _rows(samples, placement, start_s, end_s)
        up = np.array(entry.up_sensor)
        axis, rms, planarity = flexion_axis(_gyr(rows), _acc(rows), up)
        if rms >= AXIS_MIN_GYR_RMS_DPS and planarity >= AXIS_MIN_PLANARITY:
            sensors[placement] = SensorCalibration.from_axes(up, axis, "bends", planarity)
    windows = replace(calibration.windows, bends=Window(float(start_s), float(end_s)))
    return replace(calibration, sensors=sensors, windows=windows)


def calibrate_range_of_motion(
    angles: pd.DataFrame,
    calibration: Calibration,
    *,
    flexion: tuple[float, float],
    extension: tuple[float, float],
) -> Calibration:
    """Record the person's maximal lumbar flexion (toe touch) and extension, for limits in % of range.

    Parameters
    ----------
    angles
        Angle table computed with ``calibration`` (`analysis.angles.compute_angles`).
    calibration
        The calibration the angles were computed with.
    flexion, extension
        ``(start_s, end_s)`` windows of the maximal flexion and the maximal extension.

    Returns
    -------
    Calibration
        A new calibration with the `RangeOfMotion` and the two windows set.
    """
    t = angles["time_s"]
    lumbar = angles["lumbar_flexion_deg"]
    max_flexion = float(lumbar[t.between(*flexion)].max())
    max_extension = float(-lumbar[t.between(*extension)].min())
    if not (max_flexion > 0 and max_extension > 0):
        raise ValueError("range of motion must reach flexion and extension; bend fully forward, then back, and repeat")
    windows = replace(
        calibration.windows, max_flexion=Window(*map(float, flexion)), max_extension=Window(*map(float, extension))
    )
    return replace(calibration, range_of_motion=RangeOfMotion(max_flexion, max_extension), windows=windows)


def _direction_on(series: RegularSeries, start_s: float, end_s: float) -> np.ndarray:
    # the grid is sorted: a slice, not a mask over the whole session per window
    i0, i1 = np.searchsorted(series.time_s, start_s, side="left"), np.searchsorted(series.time_s, end_s, side="right")
    try:
        return up_vector(series.acc_mps2[i0:i1])
    except ValueError as exc:
        raise ValueError(f"sensor {series.placement} at {start_s:.1f}–{end_s:.1f} s: {exc}") from exc


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlaps of two sorted lists of disjoint intervals (one merge pass)."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def quietest_window(series: dict[str, RegularSeries], duration_s: float = AUTO_MIN_QUIET_S) -> tuple[float, float]:
    """The stretch where the busier sensor rotates least, for sessions that never rest fully.

    Raises
    ------
    ValueError
        When the session is shorter than ``duration_s``.
    """
    ref = next(iter(series.values()))
    busiest = np.zeros(len(ref.time_s))
    for s in series.values():
        win = max(1, int(round(duration_s * s.rate_hz)))
        mean_dps = pd.Series(row_norms(s.gyr_dps)).rolling(win, center=True).mean().to_numpy()
        busiest = np.fmax(busiest, np.interp(ref.time_s, s.time_s, mean_dps, left=np.nan, right=np.nan))
    # only where every sensor has data can every sensor's vertical be taken
    start_s = max(s.time_s[0] for s in series.values())
    end_s = min(s.time_s[-1] for s in series.values())
    busiest[(ref.time_s < start_s) | (ref.time_s > end_s - duration_s)] = np.nan
    if not np.isfinite(busiest).any():
        raise ValueError("the session is too short to find standing neutral; record at least 2 s of standing still")
    centre = float(ref.time_s[np.nanargmin(busiest)])
    start = float(np.clip(centre - duration_s / 2, start_s, end_s - duration_s))
    return start, start + duration_s


def neutral_posture(
    series: dict[str, RegularSeries],
    quiet: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], list[tuple[float, float]]]:
    """The session's standing neutral: the first rest of `AUTO_STANDING_S` alone (else the quiet posture held
    longest, over all its rests).

    A session without any rest of `AUTO_MIN_QUIET_S` (e.g. continuous seated exercises) uses its quietest
    stretch instead.

    Parameters
    ----------
    series
        Every sensor on its regular grid.
    quiet
        Per placement its rest mask on that grid (`analysis.quiet.quiet_mask`).

    Returns
    -------
    up, windows
        Per placement the vertical in sensor coordinates, and the quiet windows of that posture.
    """
    windows = None
    for placement, s in series.items():
        rests = mask_intervals(s.time_s, quiet[placement], min_duration_s=AUTO_MIN_QUIET_S)
        windows = rests if windows is None else _intersect(windows, rests)
    windows = [w for w in windows if w[1] - w[0] >= AUTO_MIN_QUIET_S] or [quietest_window(series)]

    def directions(chosen: list[tuple[float, float]]) -> np.ndarray:
        return np.array([[_direction_on(s, *w) for s in series.values()] for w in chosen])  # (windows, sensors, 3)

    duration = np.array([e - s for s, e in windows])
    # Same posture = every sensor's vertical within the tolerance. Sessions start standing (the guided
    # protocol asks for it, and people start recordings on their feet), and rests between sets are often
    # spent sitting, so the first long rest is neutral; without one, the posture held longest.
    long_enough = np.flatnonzero(duration >= AUTO_STANDING_S)
    if len(long_enough):
        # the standing before the first set alone: averaging in every later rest within the tolerance
        # moved neutral by up to 3.6° when a lifter ended in a slightly different stance (and only its
        # verticals are needed, not those of the session's hundreds of other rests)
        members = np.arange(len(windows)) == int(long_enough[0])
        dirs = directions([windows[int(long_enough[0])]])
    else:
        dirs = directions(windows)
        cos_tol = np.cos(np.radians(POSTURE_TOLERANCE_DEG))
        same = (np.einsum("isk,jsk->ijs", dirs, dirs) >= cos_tol).all(axis=2)
        members = same[int(np.argmax(same @ duration))]
        dirs = dirs[members]
    up = {}
    for j, placement in enumerate(series):
        v = (dirs[:, j] * duration[members, None]).sum(axis=0)
        up[placement] = v / np.linalg.norm(v)
    return up, [w for w, m in zip(windows, members) if m]


def first_bends(
    series: dict[str, RegularSeries],
    after_s: float,
    quiet: dict[str, np.ndarray],
    horizon_s: float = 60.0,
) -> tuple[float, float] | None:
    """The session's first hinge-like motion after ``after_s``, enough to measure the flexion axis.

    The busiest sensor's motion is cut into stretches of `AUTO_AXIS_ROTATION_DEG` of rotation (about a
    horizontal axis); the first stretch whose rotation is planar (a bend, not walking) wins. The first bends
    are the best witnesses of the sagittal plane: later reps may carry a consistent side bend or twist (an
    asymmetry) that an axis fitted to them would hide.

    Parameters
    ----------
    series
        Every sensor on its regular grid.
    after_s
        Session time the search starts at, in s (the end of standing neutral).
    quiet
        Per placement its rest mask on that grid (`analysis.quiet.quiet_mask`).
    horizon_s
        The stretches are searched in the first ``horizon_s`` after ``after_s``, then in twice that, and so
        on: the first bends come within a minute or two of a session's start, and an hour's rotation need
        not be summed to find them. The result does not depend on it.

    Returns
    -------
    tuple or None
        ``(start_s, end_s)`` of the stretch, None when no planar stretch exists.
    """
    placement = max(series, key=lambda p: np.nanmean(row_norms(series[p].gyr_dps)))
    busiest = series[placement]
    # the grid's times increase: the samples up to after_s are a head of rows
    start = int(np.searchsorted(busiest.time_s, after_s, side="right"))
    up = up_vector(
        busiest.acc_mps2[max(0, start - max(1, int(busiest.rate_hz))) : start] if start else busiest.acc_mps2
    )
    horizon = max(1, int(horizon_s * busiest.rate_hz))
    while True:
        end = min(len(busiest.time_s), start + horizon)
        found = _first_planar_stretch(busiest, quiet[placement], up, start, end)
        if found is not None or end == len(busiest.time_s):
            return found
        horizon *= 2


def _first_planar_stretch(
    s: RegularSeries, quiet: np.ndarray, up: np.ndarray, start: int, end: int
) -> tuple[float, float] | None:
    """`first_bends` on rows ``[start, end)``: only stretches that end before ``end`` are judged, so that a
    stretch found is the one a search of all rows finds."""
    gyr = np.nan_to_num(s.gyr_dps[start:end])
    tilt_rate = row_norms(gyr - np.outer(np.einsum("ni,i->n", gyr, up), up))
    moving = ~quiet[start:end]
    rotated = np.cumsum(np.where(moving, tilt_rate, 0.0)) / s.rate_hz
    stretch = np.floor(rotated / AUTO_AXIS_ROTATION_DEG).astype(int)
    # stretch numbers never decrease: stretch k is one slice of the rows, the last one perhaps unfinished
    bounds = np.searchsorted(stretch, np.arange(int(stretch[-1]) + 1)) if len(stretch) else []
    for i0, i1 in zip(bounds[:-1], bounds[1:]):
        sel = np.flatnonzero(moving[i0:i1]) + i0 + start
        _, rms, planarity = flexion_axis(s.gyr_dps[sel], s.acc_mps2[sel], up)
        if planarity >= PLANAR_MOTION and rms >= AXIS_MIN_GYR_RMS_DPS:
            t = s.time_s[sel]
            return float(t[0]), float(t[-1])
    return None


def _axis_entry(s: RegularSeries, up: np.ndarray, select: np.ndarray) -> SensorCalibration | None:
    """Calibration entry from the motion in ``select``, or None when it does not reveal the axis."""
    axis, rms, planarity = flexion_axis(s.gyr_dps[select], s.acc_mps2[select], up)
    if rms >= AXIS_MIN_GYR_RMS_DPS and planarity >= AXIS_MIN_PLANARITY:
        return SensorCalibration.from_axes(up, axis, "bends", planarity)
    return None


#: Sensors whose flexion turns the same way as the thoracic sensor's in a bend: the pelvis tips forward
#: with the trunk in a hinge, and the upper thoracic segment rides on the trunk (the thigh turns the other
#: way and is left alone).
TURNS_WITH_THE_TRUNK = ("lumbar", "upper_thoracic")


def _sign_with_the_trunk(
    sensors: dict[str, SensorCalibration], series: dict[str, RegularSeries], quiet: dict[str, np.ndarray]
) -> None:
    """Flip a measured flexion axis that turns against the thoracic sensor's in the session's motion.

    Each sensor's sign comes from where it tilts furthest (`flexion_axis`): reliable for the trunk, which
    bends far forward and little back, but not for a pelvis that tilts back about as far as forward,
    whose flipped axis read +11° of flexion at a peak of real motion. Both sensors see the same bends at
    the same instants, so the pelvis's flexion rate must correlate positively with the trunk's.
    """
    if "thoracic" not in sensors:
        return
    ref = series["thoracic"]
    ref_rate = np.nan_to_num(ref.gyr_dps @ sensors["thoracic"].axis_sensor)
    for placement in TURNS_WITH_THE_TRUNK:
        entry = sensors.get(placement)
        if entry is None or entry.axis_source != "bends":
            continue
        s = series[placement]
        # each sensor has its own grid: the thoracic rate and rest mask at this sensor's instants
        ref_here = np.interp(s.time_s, ref.time_s, ref_rate)
        ref_moving = np.interp(s.time_s, ref.time_s, (~quiet["thoracic"]).astype(float)) > 0.5
        rate = np.nan_to_num(s.gyr_dps @ entry.axis_sensor)
        if np.sum((rate * ref_here)[~quiet[placement] & ref_moving]) < 0:
            sensors[placement] = SensorCalibration.from_axes(
                np.array(entry.up_sensor), -entry.axis_sensor, entry.axis_source, entry.axis_planarity
            )


def auto_calibrate_series(series: dict[str, RegularSeries], quiet: dict[str, np.ndarray] | None = None) -> Calibration:
    """Automatic calibration from a session's own quiet standing and hinge movements.

    Neutral comes from `neutral_posture`; each sensor's axis from the first bends after it
    (`first_bends`), else from all the session's motion, else `assumed_axis`.

    Parameters
    ----------
    series
        Every sensor on its regular grid (`analysis.timebase.align_sensors`).
    quiet
        Per placement its rest mask (`analysis.quiet.quiet_mask` of the series, default thresholds) when
        already computed; computed here when None.

    Returns
    -------
    Calibration
        With ``method`` ``"auto"``.
    """
    if quiet is None:
        quiet = {placement: quiet_mask(s.acc_mps2, s.gyr_dps, s.rate_hz) for placement, s in series.items()}
    up, windows = neutral_posture(series, quiet)
    bends = first_bends(series, windows[0][1], quiet)
    sensors = {}
    for placement, s in series.items():
        moving = ~quiet[placement]
        in_bends = moving & (s.time_s >= bends[0]) & (s.time_s <= bends[1]) if bends else np.zeros_like(moving)
        sensors[placement] = (
            _axis_entry(s, up[placement], in_bends)
            or _axis_entry(s, up[placement], moving)
            or SensorCalibration.from_axes(up[placement], assumed_axis(up[placement]), "assumed", None)
        )
    _sign_with_the_trunk(sensors, series, quiet)
    steps = CalibrationWindows(
        standing=Window(float(windows[0][0]), float(windows[0][1])),
        bends=Window(float(bends[0]), float(bends[1])) if bends else None,
    )
    return Calibration("auto", sensors, steps)


def stood_still(series: dict[str, RegularSeries], quiet: dict[str, np.ndarray], window: Window) -> bool:
    """Whether every sensor rests through ``window`` (its rest mask holds on at least 90 % of it): a real
    standing, not the least busy stretch of a session that never stands (`quietest_window`)."""
    for placement, s in series.items():
        inside = (s.time_s >= window.start_s) & (s.time_s <= window.end_s)
        if not inside.any() or quiet[placement][inside].mean() < 0.9:
            return False
    return True


def auto_calibrate(samples: pd.DataFrame) -> Calibration:
    """Automatic calibration of a samples table (any sensor, e.g. an imported CSV); see `auto_calibrate_series`."""
    series, _ = align_sensors(samples)
    correct_accelerometers(series)
    return auto_calibrate_series(series)


def segment_rotations(calibration: Calibration) -> dict[str, np.ndarray]:
    """``R_sensor_segment`` per placement as 3x3 arrays."""
    return {placement: entry.rotation for placement, entry in calibration.sensors.items()}
