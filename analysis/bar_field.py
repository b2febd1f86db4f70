"""Where the barbell is, from the magnetometers: on the upper back or in the hands.

A steel bar disturbs the magnetic field near it. Outside the sets each magnetometer reads the local
(Earth's) field plus its own constant hard-iron offset. The field's vertical component is the same at
any heading and inclination, and the sensor's inclination is known from its 6D orientation, so the
readings outside the sets give the offset (in the directions the sensor tilted through: the
range-of-motion bend, sitting, picking up plates) and the vertical field. No heading and no 9D fusion.

During a set, two things are measured. The field that *turns with* the thoracic sensor
(`riding_field_uT`): a bar lying on the upper back (good morning, squat), 20-30 cm above T10-T12, rides
with it. And the disturbance at the lumbar (and thigh) sensor from a bar that does *not* turn with it
(`tilting_anomaly_uT`, `across_change_uT`): a bar in the hands (Romanian deadlift, deadlift) hangs in
front of the thighs, nearer the sacrum than the thoracic sensor. `analysis.classify` compares the two
as a ratio, whatever the bar's own magnetisation. The assumptions and figures are in docs/analysis.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.parallel import parallel_starmap
from analysis.rotations import matrices_from_quat_wxyz, matrix_elements_wxyz
from analysis.timebase import samples_per_step


@dataclass(frozen=True)
class BarFieldConfig:
    """The bar field's thresholds (`field_series`, the set features), in units, with where each comes from.

    Attributes
    ----------
    set_margin_s
        Time around each set left out of the undisturbed baseline, s: the bar is carried to and from the rack or
        the floor before the first rep and after the last.
    min_baseline_s
        Shortest baseline, s of readings (200 samples at 100 Hz before the field was read at 50 Hz).
    min_baseline_tilt_deg, min_tilted_s
        The tilt from the baseline's median the sensor must reach (deg: a bend like the range-of-motion test)
        for at least this long (s), for the offset to be found at a set's depth.
    max_baseline_misfit_uT
        Largest rms misfit of the baseline fit (µT) for which it is trusted: beyond it the surroundings were not
        steady (steel nearby, a soft-iron sensor).
    mag_noise_uT, offset_prior_uT
        Magnetometer noise (µT rms) against the prior spread of a hard-iron offset (µT): the ridge of the
        baseline fit (`fit_vertical_field`).
    riding_window_s, riding_min_tilt_deg, riding_min_samples
        Windows of `riding_field_uT` (s, about one rep), the tilt each must sweep (deg) and the fewest
        readings it must hold.
    anomaly_percentile
        Percentile of a set's anomaly taken as its size: the bar comes closest at some point of every rep.
    noise_percentile
        Percentile of the anomaly outside the sets taken as the noise floor: it includes the bends, walking and
        sitting there, whose orientation errors the sets' movements share.
    field_rate_hz, rate_tolerance
        The field is read at ``field_rate_hz`` at most, or a little faster: a sensor at twice it or faster gives
        every k-th reading (`analysis.timebase.samples_per_step`, a rate up to ``rate_tolerance`` below a
        multiple counting as it). The features follow the trunk's tilt through reps of seconds, and percentiles
        of a set's readings: every reading of a 100 Hz sensor doubled the bar field's cost (0.12 → 0.06 s per
        hour of the thoracic sensor) and moved its features by at most 0.06 µT, against the 3 µT the evidence
        counts from; the accuracy benchmark's classification is the same (docs/performance.md, round 11).
    hip_placements, back_placements
        Where a sensor sees a bar in the hands (`tilting_anomaly_uT`, `across_change_uT`) and one on the upper
        back (`riding_field_uT`).
    """

    set_margin_s: float = 10.0
    min_baseline_s: float = 2.0
    min_baseline_tilt_deg: float = 45.0
    min_tilted_s: float = 1.0
    max_baseline_misfit_uT: float = 3.0
    mag_noise_uT: float = 1.0
    offset_prior_uT: float = 50.0
    riding_window_s: float = 6.0
    riding_min_tilt_deg: float = 40.0
    riding_min_samples: int = 10
    anomaly_percentile: float = 90.0
    noise_percentile: float = 99.0
    field_rate_hz: float = 50.0
    rate_tolerance: float = 0.03
    hip_placements: tuple[str, ...] = ("lumbar", "thigh")
    back_placements: tuple[str, ...] = ("thoracic",)


DEFAULT_BAR_FIELD = BarFieldConfig()


@dataclass
class Magnetometer:
    """What the bar's field is found from in one sensor: its readings and its 6D orientation on its grid.

    Attributes
    ----------
    time_s
        Session times of its regular grid, s.
    rate_hz
        The grid's rate, Hz.
    mag_uT
        ``(n, 3)`` readings, sensor frame, µT (NaN where missing).
    quat_6d_wxyz
        ``(n, 4)`` 6D ``q_world_sensor`` (w, x, y, z; arbitrary heading; NaN where unknown): a 9D filter would
        pull the bar's field into the orientation.
    """

    time_s: np.ndarray
    rate_hz: float
    mag_uT: np.ndarray
    quat_6d_wxyz: np.ndarray


@dataclass
class FieldSeries:
    """One magnetometer on its regular grid, with what the anomaly needs.

    Attributes
    ----------
    time_s
        Session times of the readings used (`BarFieldConfig.field_rate_hz`), s.
    field_uT
        ``(n, 3)`` readings without the hard-iron offset, sensor frame, µT.
    up_sensor
        ``(n, 3)`` world up in the sensor frame (NaN where unknown).
    quat_world_sensor
        ``(n, 4)`` 6D orientation ``q_world_sensor`` (w, x, y, z; arbitrary heading), the sensor's own array:
        read only where the anomaly is known.
    anomaly_uT
        Vertical field anomaly per sample (NaN where unknown), µT.
    baseline_uT
        The anomaly's level outside the sets (its `BarFieldConfig.noise_percentile`), µT: the noise floor.
    """

    time_s: np.ndarray
    field_uT: np.ndarray
    up_sensor: np.ndarray
    quat_world_sensor: np.ndarray
    anomaly_uT: np.ndarray
    baseline_uT: float

    def window(self, start_s: float, end_s: float) -> np.ndarray:
        """Indices of the samples in ``[start_s, end_s]`` whose anomaly is known."""
        i0, i1 = np.searchsorted(self.time_s, start_s), np.searchsorted(self.time_s, end_s, side="right")
        return i0 + np.flatnonzero(np.isfinite(self.anomaly_uT[i0:i1]))


def fit_vertical_field(
    field_uT: np.ndarray, up_sensor: np.ndarray, config: BarFieldConfig = DEFAULT_BAR_FIELD
) -> tuple[np.ndarray, float, float]:
    """Hard-iron offset and vertical field from undisturbed readings at known inclinations, by least squares.

    The vertical component of the field, ``up · (m - offset)``, is the same at every inclination and
    heading; that is linear in the offset and the vertical field. Only the offset's part in the directions
    the sensor tilted through is found; a weak prior keeps the rest at zero, and it does not matter for
    tilts about the same axes.

    Parameters
    ----------
    field_uT
        ``(n, 3)`` magnetometer readings, sensor frame, µT.
    up_sensor
        ``(n, 3)`` world up in the sensor frame (unit vectors).

    Returns
    -------
    offset_uT, vertical_uT, misfit_uT
        The offset (3,), the vertical field (signed, world z up) and the rms misfit.
    """
    A = np.column_stack([up_sensor, np.ones(len(up_sensor))])
    y = np.einsum("ij,ij->i", field_uT, up_sensor)
    ridge = np.diag([(config.mag_noise_uT / config.offset_prior_uT) ** 2 * len(y)] * 3 + [0.0])
    # einsum, not BLAS: threaded BLAS hands these long products to busy cores (docs/performance.md)
    x = np.linalg.solve(np.einsum("ni,nj->ij", A, A) + ridge, np.einsum("ni,n->i", A, y))
    misfit = float(np.sqrt(np.mean((np.einsum("ni,i->n", A, x) - y) ** 2)))
    return x[:3], float(x[3]), misfit


def vertical_anomaly_uT(field_uT: np.ndarray, up_sensor: np.ndarray, vertical_uT: float) -> np.ndarray:
    """How far the field's vertical component strays from the undisturbed ``vertical_uT``, µT.

    Parameters
    ----------
    field_uT
        ``(n, 3)`` readings without the hard-iron offset, sensor frame, µT.
    up_sensor
        ``(n, 3)`` world up in the sensor frame.
    vertical_uT
        The undisturbed vertical field (signed, world z up), µT.
    """
    return np.abs(np.einsum("ij,ij->i", field_uT, up_sensor) - vertical_uT)


def tilt_spread_deg(up_sensor: np.ndarray, min_samples: int) -> float:
    """How far a sensor tilted from its median tilt for at least ``min_samples`` samples, degrees.

    A long session is mostly upright; one range-of-motion bend is enough, and one bad sample is not.
    """
    median = np.median(up_sensor, axis=0)
    median /= np.linalg.norm(median)
    cos = np.einsum("ni,i->n", up_sensor, median)
    # the angle falls as its cosine rises: the min_samples-th largest angle is that of the min_samples-th
    # smallest cosine, and one arccos does instead of one per sample
    k = min(min_samples, len(cos)) - 1
    return float(np.degrees(np.arccos(np.clip(np.partition(cos, k)[k], -1.0, 1.0))))


def window_tilt_spreads_deg(up_sensor: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """`tilt_spread_deg` with ``min_samples=1`` (the furthest tilt from the median) of each window
    ``[starts[k], ends[k])`` of ``up_sensor``; windows of one length at once, as one array (NaN for empty ones).
    """
    spread = np.full(len(starts), np.nan)
    lengths = ends - starts
    for n in np.unique(lengths[lengths > 0]):
        k = np.flatnonzero(lengths == n)
        windows = up_sensor[starts[k, None] + np.arange(n)]  # (windows, n, 3)
        median = np.median(windows, axis=1)
        median /= np.linalg.norm(median, axis=1, keepdims=True)
        # the largest angle is that of the smallest cosine (`tilt_spread_deg`)
        cos = np.einsum("wni,wi->wn", windows, median).min(axis=1)
        spread[k] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return spread


def _outside(time_s: np.ndarray, windows_s: list[tuple[float, float]], margin_s: float) -> np.ndarray:
    keep = np.ones(len(time_s), dtype=bool)
    for start_s, end_s in windows_s:
        keep[np.searchsorted(time_s, start_s - margin_s) : np.searchsorted(time_s, end_s + margin_s, side="right")] = (
            False
        )
    return keep


def field_series(
    sensors: dict[str, Magnetometer],
    windows_s: list[tuple[float, float]],
    config: BarFieldConfig = DEFAULT_BAR_FIELD,
) -> dict[str, FieldSeries]:
    """Field anomaly of every magnetometer, its baseline taken outside ``windows_s``.

    Parameters
    ----------
    sensors
        Per placement its magnetometer (`analysis.angles.AnglesResult.magnetometers`).
    windows_s
        ``(start_s, end_s)`` of the sets on the session clock (as in `analysis.analyze_angles`).

    Returns
    -------
    dict
        Per placement a `FieldSeries`; placements whose baseline cannot be trusted are left out.
    """
    out = {}
    for placement, s in sensors.items():
        k = samples_per_step(s.rate_hz, config.field_rate_hz, config.rate_tolerance)
        time_s, quat, mag, rate_hz = s.time_s[::k], s.quat_6d_wxyz[::k], s.mag_uT[::k], s.rate_hz / k
        # column by column: numpy's all(axis=1) over rows of three is several times slower
        valid = np.isfinite(quat[:, 0]) & np.isfinite(mag[:, 0]) & np.isfinite(mag[:, 1]) & np.isfinite(mag[:, 2])
        if not valid.any():
            continue
        # world z in the sensor frame is the last row of R_world_sensor; unknown without a field reading too, so
        # that no row without one is used (rows whose anomaly is NaN never are: no copy of the orientations)
        up = np.column_stack(matrix_elements_wxyz(quat, [(2, 0), (2, 1), (2, 2)]))
        up[~valid] = np.nan
        base = valid & _outside(time_s, windows_s, config.set_margin_s)
        tilted = max(int(config.min_tilted_s * rate_hz), 1)
        if base.sum() < config.min_baseline_s * rate_hz:
            continue
        up_base = up[base]
        if tilt_spread_deg(up_base, tilted) < config.min_baseline_tilt_deg:
            continue
        offset, vertical, misfit = fit_vertical_field(mag[base], up_base, config)
        if misfit > config.max_baseline_misfit_uT:
            continue
        field = mag - offset
        anomaly = vertical_anomaly_uT(field, up, vertical)
        out[placement] = FieldSeries(
            time_s, field, up, quat, anomaly, float(np.percentile(anomaly[base], config.noise_percentile))
        )
    return out


def _window_sums(x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sums of ``x`` (along axis 0) over the windows ``[starts[k], ends[k])``, by prefix sums."""
    prefix = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    return prefix[ends] - prefix[starts]


def tilt_axes(up_sensor: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The axis a sensor tilted about in each window ``[starts[k], ends[k])`` of its up vectors.

    The up vectors sweep the plane normal to that axis: it is the eigenvector of ``Σ up upᵀ`` with the
    smallest eigenvalue.

    Returns
    -------
    numpy.ndarray
        ``(len(starts), 3)`` unit vectors, sensor frame.
    """
    return _least_eigenvector(_window_sums(up_sensor[:, :, None] * up_sensor[:, None, :], starts, ends))


def tilt_axis(up_sensor: np.ndarray) -> np.ndarray:
    """The axis a sensor tilted about over all of ``up_sensor`` (unit vector, sensor frame; `tilt_axes`)."""
    return _least_eigenvector(np.einsum("ni,nj->ij", up_sensor, up_sensor))


def _least_eigenvector(scatter: np.ndarray) -> np.ndarray:
    return np.linalg.eigh(scatter)[1][..., 0]


def tilting_anomaly_uT(
    f: FieldSeries, start_s: float, end_s: float, config: BarFieldConfig = DEFAULT_BAR_FIELD
) -> float:
    """Vertical field anomaly of one sensor during a set, µT above its noise floor (NaN without data).

    Any bar near the sensor shows here, whether it stays put or tilts with the sensor.
    """
    inside = f.window(start_s, end_s)
    if len(inside) < 2:
        return float("nan")
    return max(float(np.percentile(f.anomaly_uT[inside], config.anomaly_percentile)) - f.baseline_uT, 0.0)


def sensor_fixed_fields_uT(
    quat_world_sensor: np.ndarray, field_uT: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """The sensor-fixed part ``c`` of the readings in each window, fitted as ``m = R_world_sensorᵀ a + c``.

    Least squares per window ``[starts[k], ends[k])``. With ``R Rᵀ = I`` the normal equations are
    ``[[n I, Σ R], [Σ Rᵀ, n I]] [a; c] = [Σ R m; Σ m]``: prefix sums over the samples give every window's
    sums at once, and a batch of 6 × 6 pseudo-inverses (the minimum-norm solution: along a common tilt
    axis ``a`` and ``c`` cannot be told apart) solves them.

    Parameters
    ----------
    quat_world_sensor
        ``(n, 4)`` orientations ``q_world_sensor``, no NaN.
    field_uT
        ``(n, 3)`` readings, sensor frame, µT.
    starts, ends
        Sample windows (``ends`` exclusive).

    Returns
    -------
    numpy.ndarray
        ``(len(starts), 3)`` ``c`` per window, sensor frame, µT.
    """
    rot = matrices_from_quat_wxyz(quat_world_sensor)
    sum_rot = _window_sums(rot, starts, ends)
    n_eye = (ends - starts)[:, None, None] * np.eye(3)
    normal = np.concatenate(
        [np.concatenate([n_eye, sum_rot], axis=2), np.concatenate([np.transpose(sum_rot, (0, 2, 1)), n_eye], axis=2)],
        axis=1,
    )
    rhs = np.concatenate(
        [_window_sums(np.einsum("nij,nj->ni", rot, field_uT), starts, ends), _window_sums(field_uT, starts, ends)],
        axis=1,
    )
    return np.einsum("wij,wj->wi", np.linalg.pinv(normal), rhs)[:, 3:]


def riding_field_uT(f: FieldSeries, start_s: float, end_s: float, config: BarFieldConfig = DEFAULT_BAR_FIELD) -> float:
    """Field that turned with the sensor during a set, beyond its own offset, µT (NaN without data).

    The readings (offset removed) are fitted as a world-fixed field seen through the sensor's orientation
    plus a sensor-fixed one, ``m = R_world_sensorᵀ a + c`` (`sensor_fixed_fields_uT`). ``c`` is the field of
    whatever rides on the sensor: a bar on the upper back for the thoracic sensor; a bar that stays put
    (in the hands) goes into ``a``. Only the part of ``c`` across the tilt axis can be found (along it the
    two are the same). The 6D heading drifts by a degree or so per rep, which would leak the Earth's field
    into ``c``, so the fit runs over windows of about one rep that tilt through at least
    ``config.riding_min_tilt_deg``; the result is their median. `riding_fields_uT` does many sets at once.
    """
    return riding_fields_uT(f, [(start_s, end_s)], config)[0]


def riding_fields_uT(
    f: FieldSeries, windows_s: list[tuple[float, float]], config: BarFieldConfig = DEFAULT_BAR_FIELD
) -> list[float]:
    """`riding_field_uT` of every set ``(start_s, end_s)`` of ``windows_s``, all the sets' rep windows at once.

    The sets' readings are gathered into one run and their rep windows into one batch: the tilt spreads, the
    fits and the tilt axes of a session's sets are then a few array operations, not a few per set (at 50 Hz
    the per-set calls cost more than the arithmetic, docs/performance.md round 11). A window never reaches
    past its own set's readings, so each set's figure is its own.
    """
    out = [float("nan")] * len(windows_s)
    runs, starts, ends, owner, offset = [], [], [], [], 0
    for k, (start_s, end_s) in enumerate(windows_s):
        inside = f.window(start_s, end_s)
        if len(inside) < 2:
            continue
        times = f.time_s[inside]
        window_s = config.riding_window_s
        t0 = np.arange(start_s, max(end_s - window_s, start_s) + 1e-9, window_s / 2)
        runs.append(inside)
        starts.append(offset + np.searchsorted(times, t0))
        ends.append(offset + np.searchsorted(times, t0 + window_s, side="right"))
        owner.append(np.full(len(t0), k))
        offset += len(inside)
    if not runs:
        return out
    inside = np.concatenate(runs)
    up = f.up_sensor[inside]
    starts, ends, owner = np.concatenate(starts), np.concatenate(ends), np.concatenate(owner)
    tilted = np.flatnonzero(
        (ends - starts >= config.riding_min_samples)
        & (window_tilt_spreads_deg(up, starts, ends) >= config.riding_min_tilt_deg / 2)
    )
    starts, ends, owner = starts[tilted], ends[tilted], owner[tilted]
    c = sensor_fixed_fields_uT(f.quat_world_sensor[inside], f.field_uT[inside], starts, ends)
    axis = tilt_axes(up, starts, ends)
    sizes = np.linalg.norm(c - np.einsum("wi,wi->w", c, axis)[:, None] * axis, axis=1)
    # the windows are in set order: each set's sizes are one run
    sets, first = np.unique(owner, return_index=True)
    for k, of_set in zip(sets.tolist(), np.split(sizes, first[1:])):
        out[k] = max(float(np.median(of_set)) - f.baseline_uT, 0.0)
    return out


def across_change_uT(f: FieldSeries, start_s: float, end_s: float, config: BarFieldConfig = DEFAULT_BAR_FIELD) -> float:
    """Change of the field along the sensor's tilt axis during a set, µT above its noise floor.

    Along the axis the trunk tips about, the Earth's field and the offset stay constant, and so does the
    field of a bar that tilts with the sensor; a bar that stays put while the sensor comes closer and
    leaves changes it. This catches a horizontal disturbance across the body, which the vertical anomaly
    misses, and never a bar on the back.
    """
    inside = f.window(start_s, end_s)
    if len(inside) < 2:
        return float("nan")
    across = f.field_uT[inside] @ tilt_axis(f.up_sensor[inside])
    spread = float(np.diff(np.percentile(across, [100.0 - config.anomaly_percentile, config.anomaly_percentile]))[0])
    return max(spread - f.baseline_uT, 0.0)


@dataclass
class FieldValues:
    """What one sensor gives to a set's bar-field features (`bar_field_features`), each feature the largest
    finite value of all sensors'.

    Attributes
    ----------
    back_uT
        Its `riding_field_uT` when it is on the back (`BarFieldConfig.back_placements`): a bar on the upper back.
    hip_uT
        Its `tilting_anomaly_uT` and `across_change_uT` when it is at the hip (`BarFieldConfig.hip_placements`):
        a bar in the
        hands. The thoracic sensor's `across_change_uT` is left out: lateral bends and twists of the upper trunk
        move its tilt axis, and with it the Earth's field, by as much as a weak bar would.
    """

    back_uT: list[float]
    hip_uT: list[float]


def sensor_field_values(
    placement: str,
    sensor: Magnetometer,
    windows_s: list[tuple[float, float]],
    wanted: list[bool],
    config: BarFieldConfig = DEFAULT_BAR_FIELD,
) -> list[FieldValues] | None:
    """One sensor's `FieldValues` of every set window (none for a window not wanted): the sensors' work is
    independent up to the features' maxima, so that each can be done on a core of its own.

    Parameters
    ----------
    placement
        The sensor's placement.
    sensor
        Its magnetometer.
    windows_s
        ``(start_s, end_s)`` of each set (all of them: they are left out of the baseline, `field_series`).
    wanted
        Per window whether its values are needed.
    config
        The thresholds.

    Returns
    -------
    list of FieldValues, or None
        None when its baseline cannot be trusted (`field_series` leaves it out).
    """
    f = field_series({placement: sensor}, windows_s, config).get(placement)
    if f is None:
        return None
    back = placement in config.back_placements
    # the wanted windows' riding fields at once, handed out in their order
    riding = iter(riding_fields_uT(f, [w for w, want in zip(windows_s, wanted) if want], config) if back else [])
    return [
        FieldValues(
            [next(riding)] if want and back else [],
            [g(f, start_s, end_s, config) for g in (tilting_anomaly_uT, across_change_uT)]
            if want and placement in config.hip_placements
            else [],
        )
        for (start_s, end_s), want in zip(windows_s, wanted)
    ]


def _largest(values: list[float]) -> float:
    values = [v for v in values if np.isfinite(v)]
    return max(values) if values else float("nan")


def bar_field_features(
    sensors: dict[str, Magnetometer],
    windows_s: list[tuple[float, float]],
    wanted: list[bool] | None = None,
    workers: int = 1,
    config: BarFieldConfig = DEFAULT_BAR_FIELD,
) -> list[dict[str, float]]:
    """Bar-field features of every set window for `analysis.classify` (empty dicts when no sensor has a usable
    magnetometer).

    Parameters
    ----------
    sensors
        Per placement its magnetometer (see `field_series`).
    windows_s
        ``(start_s, end_s)`` of each set on the session clock (all of them: they are left out of the baseline).
    wanted
        Per window whether its features are needed; an empty dict for the others. None: all are.
    workers
        Processes for the sensors at once (`analysis.parallel.parallel_starmap`, `sensor_field_values`); the
        results do not depend on it.
    config
        The thresholds.

    Returns
    -------
    list of dict
        Per window ``back_field_uT``, the largest value of the back sensors' (a bar on the upper back), and
        ``hip_field_uT``, the largest of the hip sensors' (a bar in the hands) (`FieldValues`); NaN where those
        sensors have no usable magnetometer.
    """
    wanted = [True] * len(windows_s) if wanted is None else wanted
    if not any(wanted):
        return [{} for _ in windows_s]
    tasks = [(placement, sensor, windows_s, wanted, config) for placement, sensor in sensors.items()]
    per_sensor = [values for values in parallel_starmap(sensor_field_values, tasks, workers) if values is not None]
    return [
        {
            "back_field_uT": _largest([v for values in per_sensor for v in values[k].back_uT]),
            "hip_field_uT": _largest([v for values in per_sensor for v in values[k].hip_uT]),
        }
        if per_sensor and want
        else {}
        for k, want in enumerate(wanted)
    ]
