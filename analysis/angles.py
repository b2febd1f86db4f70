"""Spine angle time series from the samples table: the contract part B and the live view build on.

Pipeline: one session clock (`analysis.timebase`, which also despikes), accelerometer bias and gain from
the session's rests and VQF orientation per sensor (`analysis.orientation`; the sensors on separate
cores for long sessions, `analysis.parallel`), sensor-to-segment calibration (`analysis.calibration`),
then the angles of docs/conventions.md on a common rate.

With 6D orientation each sensor's heading is arbitrary and drifts on its own. Inclinations need no
heading. For the relative angles the upper segment's heading is aligned to the lower one's by the
heading of their medio-lateral axes (which stay horizontal in a sagittal bend, so the alignment holds at
any depth), anchored at the moments both sensors rest in a sagittal posture (quiet standing, the top of a
back extension) and interpolated between them: a slow heading drift is removed, twist and lateral bend are
the gyroscopes' integral between resets, and flexion, which depends on the alignment only to second
order, stays gravity-referenced and does not drift.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.bar_field import Magnetometer
from analysis.calibration import (
    Calibration,
    CalibrationCheck,
    auto_calibrate_series,
    calibration_mismatch,
    segment_rotations,
    stood_still,
)
from analysis.orientation import correct_accelerometer, series_orientation
from analysis.parallel import default_workers, parallel_stages
from analysis.quiet import motion_of, quiet_mask_of
from analysis.rotations import (
    compose_quat_wxyz,
    inclination_from_quat_deg,
    matrix_elements_wxyz,
    nlerp_wxyz,
    quat_about_z_wxyz,
    quat_wxyz_from_matrix,
    relative_cardan_angles_deg,
)
from analysis.session import ANGLE_COLUMNS, THORACIC_COLUMN
from analysis.timebase import RegularSeries, clock_relation, common_grid, cross_check, regularize_sensor, sensor_rows

#: Common grid times handled at once where a whole series' temporaries would be large; no result depends on it.
GRID_CHUNK = 1 << 16
#: Heading anchors (twist resets) need both medio-lateral axes this close to horizontal, in degrees: true
#: of any sagittal posture (standing, the top of a back extension, a paused deadlift), not of a side bend...
ANCHOR_MAX_TILT_DEG = 20.0
#: ...and both sensors resting for this long, with the gyroscope norm below `ANCHOR_MAX_GYR_DPS`: slow
#: turns pass for rest over shorter windows, and would reset a real twist.
ANCHOR_MIN_REST_S = 1.0
ANCHOR_MAX_GYR_DPS = 6.0


@dataclass
class AnglesResult:
    """Output of `compute_angles`.

    Attributes
    ----------
    angles
        ``ANGLE_COLUMNS`` (+ ``thoracic_flexion_deg`` with an upper thoracic sensor) on a common rate, NaN
        across gaps longer than `analysis.timebase.MAX_GAP_S`.
    calibration
        The calibration used (``method`` ``"guided"`` or ``"auto"``).
    sync
        The time base report (`analysis.timebase.align_sensors`), plus ``rate_hz`` of the angle table and
        per sensor the accelerometer correction (``acc_bias_mps2``, ``acc_gain``).
    magnetometers
        Per placement with a magnetometer its readings and 6D orientation on its own grid, for the bar's
        field (`analysis.bar_field`) without orienting again. Only these outlive `compute_angles`: the
        accelerometers, gyroscopes and 9D orientations are let go before the angles are computed.
    use_mag
        Whether the orientations are 9D (magnetometer fused) rather than 6D.
    calibration_mismatch
        Why the given calibration was checked and set aside for the session's own (`compute_angles`
        ``check``), None when it was used or not checked.
    calibration_unchecked
        Why the given calibration could not be checked (the session has no standing of its own) and was
        used as given, None otherwise.
    beside
        Per placement what `compute_angles`' ``beside`` gave for its segment; empty without one.
    """

    angles: pd.DataFrame
    calibration: Calibration
    sync: dict
    magnetometers: dict[str, Magnetometer]
    use_mag: bool
    calibration_mismatch: str | None = None
    calibration_unchecked: str | None = None
    beside: dict[str, Any] = field(default_factory=dict)


def _wrap(angle_rad: np.ndarray) -> np.ndarray:
    return (angle_rad + np.pi) % (2 * np.pi) - np.pi


@dataclass
class OrientedSensor:
    """One sensor's share of `compute_angles`, independent of the other sensors (`oriented_sensor`).

    Attributes
    ----------
    series
        The sensor on its regular grid, despiked, accelerometer corrected.
    report
        Its sync report entry (`analysis.timebase.regularize_sensor`) with the accelerometer correction.
    quat_wxyz
        ``(n, 4)`` ``q_world_sensor`` on its grid (VQF; 9D when asked for and the sensor has a magnetometer).
    quat_6d_wxyz
        The 6D ``q_world_sensor`` (the same array when ``quat_wxyz`` is 6D), from the same VQF run: the bar's
        field needs an orientation that did not fuse it (`analysis.bar_field`).
    rest
        Its rest mask for auto calibration (`analysis.quiet.quiet_mask_of`, default thresholds).
    anchor_rest
        Its rest mask for heading anchors (`ANCHOR_MIN_REST_S`, `ANCHOR_MAX_GYR_DPS`).
    """

    series: RegularSeries
    report: dict
    quat_wxyz: np.ndarray
    quat_6d_wxyz: np.ndarray
    rest: np.ndarray
    anchor_rest: np.ndarray


@dataclass(frozen=True)
class SensorSamples:
    """The samples table handed over a sensor at a time, so that the whole table is never in memory at once:
    each sensor's rows are loaded when it is to be oriented and let go once it is on its grid.

    Attributes
    ----------
    counts
        Per placement, in the order of the table's rows, its number of samples.
    load
        ``load(placement)``: that sensor's rows of the samples table (docs/architecture.md), with the columns
        the whole table has. Always called in the calling process (`compute_angles`), never in a forked worker.
    """

    counts: dict[str, int]
    load: Callable[[str], pd.DataFrame]


class LoadedRows:
    """One sensor's rows loaded ahead, as a `SensorSamples` ``load`` that hands them over once: then the one that
    took them holds the only reference, and lets them go when it is done with them."""

    def __init__(self, rows: pd.DataFrame):
        self._rows: pd.DataFrame | None = rows

    def __call__(self, placement: str) -> pd.DataFrame:
        rows, self._rows = self._rows, None
        if rows is None:
            raise RuntimeError(f"the {placement} rows were handed over already")
        return rows


def loaded_ahead(placement: str, load: Callable[[str], pd.DataFrame], use_mag: bool, *rest: Any) -> tuple:
    """`sensor_stages`' arguments with the sensor's rows loaded now: those of a sensor a forked worker orients
    are loaded before the fork (`analysis.parallel.parallel_starmap` ``prepare``), so that no worker reads the
    store itself (an SQLite connection opened in a child forked from a threaded process, as the dashboard's,
    can hang on a lock another thread held at the fork)."""
    return placement, LoadedRows(load(placement)), use_mag, *rest


def oriented_sensor(
    placement: str, load: Callable[[str], pd.DataFrame], use_mag: bool
) -> tuple[OrientedSensor, np.ndarray, bool]:
    """One sensor's work up to its orientation: regular grid and despiking
    (`analysis.timebase.regularize_sensor`), accelerometer correction (`analysis.orientation.correct_accelerometer`),
    VQF orientation (`analysis.orientation.series_orientation`) and its rest masks.

    Parameters
    ----------
    placement
        The sensor's placement.
    load
        ``load(placement)``: its rows of the samples table, let go once they are on the regular grid.
    use_mag
        9D orientation when the sensor has a magnetometer.

    Returns
    -------
    oriented, time_s, device_time
        The `OrientedSensor`, and what `analysis.timebase.clock_relation` needs of its rows: their ``time_s``
        and whether the table has ``device_time_s``.
    """
    rows = load(placement)
    time_s, device_time = rows["time_s"].to_numpy(dtype=float), "device_time_s" in rows
    series, report = regularize_sensor(placement, rows)
    del rows  # the raw rows (≈ 120 MB per sensor in 4 hours) are not read past the grid
    report.update(correct_accelerometer(series))
    acc, gyr, rate = series.acc_mps2, series.gyr_dps, series.rate_hz
    quat, quat_6d = series_orientation(series, use_mag=use_mag)
    motion = motion_of(acc, gyr)
    oriented = OrientedSensor(
        series=series,
        report=report,
        quat_wxyz=quat,
        quat_6d_wxyz=quat_6d,
        rest=quiet_mask_of(motion, rate),
        anchor_rest=quiet_mask_of(motion, rate, window_s=ANCHOR_MIN_REST_S, gyr_max_dps=ANCHOR_MAX_GYR_DPS),
    )
    return oriented, time_s, device_time


def resample_orientation(
    time_s: np.ndarray,
    segment: np.ndarray,
    quat_wxyz: np.ndarray,
    grid_s: np.ndarray,
    right_wxyz: np.ndarray | None = None,
    chunk: int = GRID_CHUNK,
) -> np.ndarray:
    """Interpolate orientations on a sensor's grid onto the common grid (`analysis.rotations.nlerp_wxyz`);
    NaN outside its stretches between long gaps.

    Parameters
    ----------
    time_s, segment
        The times of the sensor's regular grid and its stretches between long gaps (`RegularSeries`).
    quat_wxyz
        ``(n, 4)`` quaternions on that grid (``q_world_sensor``, or ``q_world_segment``).
    grid_s
        The common grid, in s.
    right_wxyz
        A ``(4,)`` quaternion composed on the right of each of ``quat_wxyz`` before interpolating
        (``q_sensor_segment`` turns ``q_world_sensor`` into ``q_world_segment``); None for none.
    chunk
        Grid times interpolated at once; the results do not depend on it.

    Returns
    -------
    numpy.ndarray
        ``(len(grid_s), 4)`` quaternions on the grid.
    """
    out = np.full((len(grid_s), 4), np.nan)
    starts = np.flatnonzero(np.diff(segment, prepend=-1))
    # Stretches are contiguous runs of one segment number; each is interpolated within itself only.
    for i0, i1 in zip(starts, np.append(starts[1:], len(segment))):
        if segment[i0] < 0 or i1 - i0 < 2:
            continue
        t = time_s[i0:i1]
        g0, g1 = np.searchsorted(grid_s, t[0], side="left"), np.searchsorted(grid_s, t[-1], side="right")
        for c0 in range(g0, g1, chunk):
            # A chunk of the grid with only the samples around it composed: a whole 4-hour series' temporaries
            # are ≈ 200 MB. The neighbours nlerp_wxyz picks within [lo, hi) are the ones it picks in all of t.
            at = grid_s[c0 : min(c0 + chunk, g1)]
            lo, hi = np.clip(np.searchsorted(t, at[[0, -1]], side="right") - 1, 0, len(t) - 2) + [0, 2]
            q = quat_wxyz[i0 + lo : i0 + hi]
            out[c0 : c0 + len(at)] = nlerp_wxyz(
                t[lo:hi], q if right_wxyz is None else compose_quat_wxyz(q, right_wxyz), at
            )
    return out


def quiet_on_grid(time_s: np.ndarray, rest: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """A sensor's rest mask (on its own grid, times ``time_s``) at the common grid's times."""
    return np.interp(grid_s, time_s, rest.astype(float)) > 0.5


@dataclass
class SegmentOnGrid:
    """One segment on the common grid: its orientation and what the angles read of it per sample
    (`segment_on_grid`), worked out where its sensor is (`sensor_stages`).

    Attributes
    ----------
    quat_wxyz
        ``(n, 4)`` ``q_world_segment`` in its sensor's own 6D (or 9D) world frame, NaN in gaps.
    inclination_deg
        Its inclination (`analysis.rotations.inclination_from_quat_deg`).
    heading_rad
        Heading of its medio-lateral (y) axis in that world frame (`heading_offset_rad`).
    axis_z
        That axis' vertical component: the sine of its tilt from the horizontal.
    """

    quat_wxyz: np.ndarray
    inclination_deg: np.ndarray
    heading_rad: np.ndarray
    axis_z: np.ndarray


def segment_on_grid(quat_wxyz: np.ndarray) -> SegmentOnGrid:
    """A `SegmentOnGrid` of ``(n, 4)`` ``q_world_segment``."""
    # the medio-lateral (y) axis in the world frame is column 1 of R_world_segment
    x, y, z = matrix_elements_wxyz(quat_wxyz, [(0, 1), (1, 1), (2, 1)])
    return SegmentOnGrid(quat_wxyz, inclination_from_quat_deg(quat_wxyz), np.arctan2(y, x), z)


def sensor_stages(
    placement: str,
    load: Callable[[str], pd.DataFrame],
    use_mag: bool,
    beside: Callable[[str, np.ndarray, SegmentOnGrid], Any] | None = None,
) -> Generator[Any, Any, None]:
    """One sensor's share of `compute_angles` in stages (`analysis.parallel.parallel_stages`), so that a worker
    that orients a sensor also puts it on the common grid, which needs every sensor's clock first, and works on
    it there.

    Yields first `oriented_sensor`'s ``(oriented, time_s, device_time)``. Then it is sent ``(time_s, grid_s,
    q_sensor_segment_wxyz)``: the sensor's grid times after the clocks' cross-check, the common grid and its
    calibration; and it yields its segment on the common grid (`resample_orientation`, `segment_on_grid`) and its
    anchor rest mask there (`quiet_on_grid`). Between the stages it keeps only what the next one reads. Last it
    yields ``beside(placement, grid_s, segment)`` (None without ``beside``).
    """
    handed = [oriented_sensor(placement, load, use_mag)]
    oriented = handed[0][0]
    segment, quat, anchor_rest = oriented.series.segment, oriented.quat_wxyz, oriented.anchor_rest
    del oriented
    # handed over without a reference kept here, so that the caller can let the rest of the sensor go
    time_s, grid_s, q_sensor_segment = yield handed.pop()
    on_grid = segment_on_grid(resample_orientation(time_s, segment, quat, grid_s, q_sensor_segment))
    handed.append((on_grid, quiet_on_grid(time_s, anchor_rest, grid_s)))
    del time_s, segment, quat, anchor_rest  # each sensor's let go once it is on the grid, before the next one is
    yield handed.pop()
    yield None if beside is None else beside(placement, grid_s, on_grid)


def heading_offset_rad(lower: SegmentOnGrid, upper: SegmentOnGrid, quiet: np.ndarray) -> np.ndarray:
    """Heading that turns the upper segment's 6D world frame into the lower one's, per grid sample.

    The raw offset is the heading difference of the two medio-lateral axes. It is trusted only where both
    sensors rest in a sagittal posture, both medio-lateral axes near horizontal (anchors: one per quiet
    stretch, its median); between anchors it is interpolated, and a stretch of data without anchors uses
    its own median.

    Parameters
    ----------
    lower, upper
        The two segments, each in its own 6D world frame (NaN in gaps).
    quiet
        Boolean mask of length n: both sensors at rest.

    Returns
    -------
    numpy.ndarray
        Offset in rad (NaN where either segment is NaN).
    """
    raw = _wrap(lower.heading_rad - upper.heading_rad)
    valid = np.isfinite(raw)
    sin_tilt = np.sin(np.radians(ANCHOR_MAX_TILT_DEG))
    usable = valid & quiet & (np.abs(lower.axis_z) < sin_tilt) & (np.abs(upper.axis_z) < sin_tilt)
    out = np.full(len(raw), np.nan)
    # Each contiguous run of valid data (between long gaps) has its own, unrelated 6D headings.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    for i0, i1 in zip(edges[::2], edges[1::2]):
        block = slice(i0, i1)
        ref = float(
            np.angle(np.mean(np.exp(1j * raw[block][usable[block]] if usable[block].any() else 1j * raw[block])))
        )
        rel = _wrap(raw[block] - ref)
        use = usable[block]
        if not use.any():
            out[block] = ref + np.median(rel)
            continue
        runs = np.flatnonzero(np.diff(np.concatenate([[0], use.astype(np.int8), [0]])))
        idx = np.arange(i0, i1)
        starts, ends = runs[::2], runs[1::2]
        anchor_t = 0.5 * (idx[starts] + idx[ends - 1])
        # np.unwrap changes nothing in a run without a step of π or more, as in most: those are not unwrapped
        steps = np.concatenate([[0], np.cumsum(np.abs(np.diff(rel)) >= np.pi)])
        anchor_v = [
            np.median(np.unwrap(rel[a:b]) if steps[b - 1] > steps[a] else rel[a:b]) for a, b in zip(starts, ends)
        ]
        # Unwrapped, so that interpolating between anchors on either side of ±180° takes the short way.
        out[block] = ref + np.interp(idx, anchor_t, np.unwrap(anchor_v))
    return out


def relative_angles_deg(
    lower: SegmentOnGrid, upper: SegmentOnGrid, quiet: np.ndarray, chunk: int = GRID_CHUNK
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flexion, lateral bend and twist of the upper segment relative to the lower one (docs/conventions.md).

    Parameters
    ----------
    lower, upper
        The two segments, each in its own sensor's 6D world frame.
    quiet
        Both sensors at rest (heading anchors, see `heading_offset_rad`).
    chunk
        Rows turned into angles at once; the results do not depend on it.

    Returns
    -------
    flexion_deg, lateral_bend_deg, twist_deg
    """
    offset = heading_offset_rad(lower, upper, quiet)
    n = len(offset)
    angles = tuple(np.empty(n) for _ in range(3))
    # a chunk of rows at a time: each row on its own, and a 4-hour session's temporaries would be ≈ 300 MB
    for c0 in range(0, n, chunk):
        rows = slice(c0, min(c0 + chunk, n))
        q_upper_aligned = compose_quat_wxyz(quat_about_z_wxyz(np.nan_to_num(offset[rows])), upper.quat_wxyz[rows])
        for angle, part in zip(angles, relative_cardan_angles_deg(lower.quat_wxyz[rows], q_upper_aligned)):
            angle[rows] = part
    no_offset = ~np.isfinite(offset)
    for angle in angles:
        angle[no_offset] = np.nan
    return angles


def compute_angles(
    samples: pd.DataFrame | SensorSamples,
    *,
    calibration: Calibration | None = None,
    rate_hz: float | None = None,
    use_mag: bool = False,
    workers: int | None = None,
    check: CalibrationCheck | None = None,
    beside: Callable[[str, np.ndarray, SegmentOnGrid], Any] | None = None,
) -> AnglesResult:
    """Spine angles of a session.

    Parameters
    ----------
    samples
        The samples table (docs/architecture.md) with at least ``lumbar`` and ``thoracic`` sensors;
        ``upper_thoracic`` adds ``thoracic_flexion_deg``. Or a `SensorSamples` that loads it a sensor at a
        time: then each sensor's rows are loaded where that sensor is oriented and let go once it is on its
        grid, and the whole table (about 250 MB for a 4-hour session) is never in memory.
    calibration
        A stored calibration (`analysis.calibration`); auto-calibrated from the session when None.
    rate_hz
        Rate of the angle table, in Hz (default: the fastest sensor's nominal rate).
    use_mag
        9D orientation (magnetometer) where the sensors have one; 6D otherwise.
    workers
        Processes that orient the sensors at once (`oriented_sensor`, `analysis.parallel`), and do ``beside``
        beside the relative angles; default one per sensor up to the cores, serial for short sessions. The
        results do not depend on it.
    check
        Compare ``calibration`` with the session's own automatic calibration first, and use the automatic
        one instead when they disagree beyond these tolerances (`analysis.calibration.calibration_mismatch`):
        a calibration of another strap-on would skew every angle.
    beside
        ``beside(placement, grid_s, segment)``: work on one segment on the common grid (`SegmentOnGrid`) that
        does not need the relative angles, e.g. finding the reps in the trunk's inclination. It runs where the
        segment was made, in a worker for a worker's sensor, while this process turns the segments into
        relative angles; its results are `AnglesResult.beside`, and must pickle.

    Returns
    -------
    AnglesResult

    Raises
    ------
    ValueError
        When the lumbar or thoracic sensor is missing, the calibration lacks a sensor of the session, or
        the sensors' recordings do not overlap.
    """
    if not isinstance(samples, SensorSamples):
        rows_of = dict(sensor_rows(samples))
        samples = SensorSamples({placement: len(rows) for placement, rows in rows_of.items()}, rows_of.__getitem__)
    placements = set(samples.counts)
    if not {"lumbar", "thoracic"} <= placements:
        raise ValueError(f"spine angles need a lumbar and a thoracic sensor; the samples have {sorted(placements)}")
    if workers is None:
        workers = default_workers(len(samples.counts), sum(samples.counts.values()))
    tasks = [(placement, samples.load, use_mag, beside) for placement in samples.counts]
    # this process loads and orients the first sensor; a worker's sensors are loaded here before it forks, and
    # let go here once it has, so that the table is never whole in one process
    with parallel_stages(sensor_stages, tasks, workers, prepare=loaded_ahead) as stages:
        results = stages.send()
        clocks = clock_relation([time_s for _, time_s, _ in results], results[0][2])
        oriented = {placement: o for placement, (o, _, _) in zip(samples.counts, results)}
        del results  # the rows' times, only for the clock relation
        series = {placement: o.series for placement, o in oriented.items()}
        # the cross-check shifts sensor times only: orientations and rests on each sensor's own grid stay valid
        sync = cross_check(series, {placement: o.report for placement, o in oriented.items()}, clocks)
        grid = common_grid(series, rate_hz)
        if len(grid) < 2:
            raise ValueError("the sensors' recordings do not overlap in time; record all sensors together")
        mismatch = unchecked = None
        if calibration is None:
            calibration = auto_calibrate_series(series, {placement: o.rest for placement, o in oriented.items()})
        elif check is not None:
            rests = {placement: o.rest for placement, o in oriented.items()}
            own = auto_calibrate_series(series, rests)
            if stood_still(series, rests, own.windows.standing):
                mismatch = calibration_mismatch(calibration, own, check)
                calibration = own if mismatch else calibration
            else:
                # no standing of its own to check against: the stored calibration stands
                unchecked = "the session has no quiet standing to check it against"
        missing = placements - set(calibration.sensors)
        if missing:
            raise ValueError(f"the calibration has no {sorted(missing)} sensor; calibrate again with all sensors on")
        R_sensor_segment = segment_rotations(calibration)
        magnetometers = {
            placement: Magnetometer(o.series.time_s, o.series.rate_hz, o.series.mag_uT, o.quat_6d_wxyz)
            for placement, o in oriented.items()
            if o.series.mag_uT is not None
        }
        # q_world_segment = q_world_sensor ⊗ q_sensor_segment before resampling (nlerp commutes with it), each
        # sensor where it was oriented. Past the calibration only the grid times are read here of each sensor:
        # its accelerometer, gyroscope and rest masks (70 MB per sensor in 4 hours) are let go before the common
        # grid's arrays are made.
        to_grid = [
            (o.series.time_s, grid, quat_wxyz_from_matrix(R_sensor_segment[placement]))
            for placement, o in oriented.items()
        ]
        del oriented, series
        on_grid = stages.send(to_grid)
        del to_grid
        segments = {placement: segment for placement, (segment, _) in zip(samples.counts, on_grid)}
        quiet = np.ones(len(grid), dtype=bool)
        for _, anchor_rest in on_grid:
            quiet &= anchor_rest
        del on_grid
        # the work beside the relative angles, where each segment is, while this process computes them
        if beside is not None:
            stages.start()
        flexion, bend, twist = relative_angles_deg(segments["lumbar"], segments["thoracic"], quiet)
        columns = {
            "time_s": grid,
            "lumbar_flexion_deg": flexion,
            "lumbar_lateral_bend_deg": bend,
            "lumbar_twist_deg": twist,
            "trunk_inclination_deg": segments["thoracic"].inclination_deg,
            "pelvis_inclination_deg": segments["lumbar"].inclination_deg,
        }
        angles = pd.DataFrame({c: columns[c] for c in ANGLE_COLUMNS})
        if "upper_thoracic" in segments:
            angles[THORACIC_COLUMN] = relative_angles_deg(segments["thoracic"], segments["upper_thoracic"], quiet)[0]
        sync = {**sync, "rate_hz": float(1.0 / np.median(np.diff(grid))) if len(grid) > 1 else float("nan")}
        # the workers' share last: the angle table is made while they finish theirs
        aside = dict(zip(samples.counts, stages.finish())) if beside is not None else {}
    return AnglesResult(
        angles,
        calibration,
        sync,
        magnetometers,
        use_mag,
        calibration_mismatch=mismatch,
        calibration_unchecked=unchecked,
        beside=aside,
    )
