"""The analysis pipeline: samples → angles → sets and reps → metrics, flags and set summaries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.angles import SegmentOnGrid, SensorSamples, compute_angles
from analysis.bar_field import bar_field_features
from analysis.calibration import Calibration, CalibrationCheck, RangeOfMotion
from analysis.classify import BAR_FIELD_CLASSES, CLASSES, OTHER, classify_features, finite_stat, set_features
from analysis.flags import FLAGS, drift_flags, rep_flags
from analysis.limits import DEFAULT_LIMITS, Limits, resolve_limits
from analysis.lines import line_fit
from analysis.metrics import REP_METRIC_COLUMNS, rep_metrics
from analysis.parallel import default_workers, one_blas_thread, parallel_starmap
from analysis.quiet import mask_intervals
from analysis.reps import DEFAULT_REP_RULES, find_excursions
from analysis.segmentation import assign_sets
from analysis.session import SessionAnalysis, rep_ranges

#: ``progress(stage, fraction)``: stage name and overall fraction done in [0, 1].
Progress = Callable[[str, float], None]
#: ``evidence(windows_s, wanted)``: extra classification features (`analysis.classify`) of each set, from the
#: sets' ``(start_s, end_s)`` windows; what the samples say beyond the angles (the bar's magnetic field). Only
#: the sets where ``wanted`` is True need them (the others may get an empty dict); all windows are given, as
#: the features of one set may depend on where the others are.
SetEvidence = Callable[[list[tuple[float, float]], list[bool]], list[dict[str, float]]]

REP_COLUMNS = ("set_index", "index", *REP_METRIC_COLUMNS, "flags", "flag_reasons")
SET_COLUMNS = (
    "index",
    "exercise",
    "exercise_confidence",
    "start_s",
    "end_s",
    "rep_count",
    "top_inclination_deg",
    "mean_movement_s",
    "movement_sd_s",
    "mean_peak_trunk_inclination_deg",
    "mean_peak_lumbar_flexion_deg",
    "max_peak_lumbar_flexion_deg",
    "peak_lumbar_flexion_sd_deg",
    "flexion_trend_deg_per_rep",
    "min_lockout_lumbar_angle_deg",
    "mean_lumbar_angle_deg",
    "mean_lumbar_share",
    "max_abs_lateral_bend_deg",
    "max_abs_twist_deg",
    "flag_counts",
    "unmeasured_rep_count",
    "notes",
)


@dataclass
class SetReps:
    """One set's reps as `set_reps` finds them.

    Attributes
    ----------
    reps
        The measured reps: `REP_COLUMNS` without ``set_index``; ``index`` is the rep's place in the set
        (from 1), so it skips the unmeasured ones.
    features
        The set's classification features (`analysis.classify.set_features`), from all its reps.
    unmeasured
        The reps the trunk went through while the lumbar angle was missing (a sensor gap): ``index``,
        ``start_s``, ``end_s`` and ``sensor``, the placement whose data is missing.
    trunk_gaps_s
        ``(start_s, end_s)`` of the stretches inside the set without trunk inclination (a thoracic sensor
        gap), where reps can be neither seen nor counted.
    """

    reps: pd.DataFrame
    features: dict[str, float]
    unmeasured: pd.DataFrame
    trunk_gaps_s: list[tuple[float, float]]

    @property
    def window_s(self) -> tuple[float, float]:
        """Start and end of the set, in s: of its first and last rep, measured or not."""
        starts = np.r_[self.reps["start_s"].to_numpy(), self.unmeasured["start_s"].to_numpy()]
        ends = np.r_[self.reps["end_s"].to_numpy(), self.unmeasured["end_s"].to_numpy()]
        return float(starts.min()), float(ends.max())

    def notes(self) -> list[str]:
        """Plain-language notes on the set: which reps could not be measured, and why."""
        out = []
        # most sets miss nothing: a groupby of nothing still costs 0.3 ms
        for sensor, missed in self.unmeasured.groupby("sensor", sort=False) if len(self.unmeasured) else ():
            out.append(
                f"{rep_ranges(missed['index'].tolist())} not measured: no {sensor} sensor data "
                f"({missed['start_s'].min():.1f}–{missed['end_s'].max():.1f} s); the set's figures leave "
                f"{'them' if len(missed) > 1 else 'it'} out"
            )
        for start_s, end_s in self.trunk_gaps_s:
            out.append(f"no thoracic sensor data at {start_s:.1f}–{end_s:.1f} s: reps then were not seen or counted")
        return out


def _set_summary(index: int, exercise: str, confidence: float, found: SetReps) -> dict:
    """One row of the sets table from the set's reps."""
    reps = found.reps

    def column(name: str) -> np.ndarray:
        # numpy, not pandas, reductions: those cost tens of µs each, for hundreds of sets in a batch
        return reps[name].to_numpy(dtype=float)

    peak = column("peak_lumbar_flexion_deg")
    # movement time leaves out the pause at the top, which the set's last rep does not have
    movement = column("duration_s") - column("lockout_s")
    n = len(reps)
    # slope of peak flexion per rep: how the set drifts as the lifter tires
    trend = line_fit(np.arange(n), peak)[0] if n >= 2 and np.isfinite(peak).all() else float("nan")
    flag_lists = reps["flags"].tolist()
    counts = {flag: sum(flag in f for f in flag_lists) for flag in FLAGS}
    start_s, end_s = found.window_s
    # a set whose reps all fell into a sensor gap has no figures (reductions of nothing are NaN)
    return {
        "index": index,
        "exercise": exercise,
        "exercise_confidence": confidence,
        "start_s": start_s,
        "end_s": end_s,
        "rep_count": n,
        "top_inclination_deg": found.features["top_inclination_deg"],
        "mean_movement_s": finite_stat(np.mean, movement),
        "movement_sd_s": float(np.std(movement, ddof=1)) if n >= 2 else float("nan"),
        "mean_peak_trunk_inclination_deg": finite_stat(np.mean, column("peak_trunk_inclination_deg")),
        "mean_peak_lumbar_flexion_deg": finite_stat(np.mean, peak),
        "max_peak_lumbar_flexion_deg": finite_stat(np.max, peak),
        "peak_lumbar_flexion_sd_deg": finite_stat(lambda v: np.std(v, ddof=1) if len(v) > 1 else np.nan, peak),
        "flexion_trend_deg_per_rep": trend,
        "min_lockout_lumbar_angle_deg": finite_stat(np.min, column("lockout_lumbar_angle_deg")),
        "mean_lumbar_angle_deg": finite_stat(np.mean, column("mean_lumbar_angle_deg")),
        "mean_lumbar_share": finite_stat(np.mean, column("lumbar_share")),
        "max_abs_lateral_bend_deg": finite_stat(np.max, np.abs(column("peak_lateral_bend_deg"))),
        "max_abs_twist_deg": finite_stat(np.max, np.abs(column("peak_twist_deg"))),
        "flag_counts": {k: v for k, v in counts.items() if v},
        "unmeasured_rep_count": len(found.unmeasured),
        "notes": found.notes(),
    }


def _flag_set(metrics: list[dict], limits: Limits) -> tuple[list[list[str]], list[list[str]]]:
    """Flags and reasons of every rep of one set, in the order of `analysis.flags.FLAGS`."""
    drift = drift_flags([m["peak_lumbar_flexion_deg"] for m in metrics], limits)
    flags, reasons = [], []
    for m, drift_reason in zip(metrics, drift):
        found = dict(rep_flags(m, limits))
        if drift_reason is not None:
            found["flexion_drift"] = drift_reason
        ordered = [f for f in FLAGS if f in found]
        flags.append(ordered)
        reasons.append([found[f] for f in ordered])
    return flags, reasons


def _missing_sensor(columns: Mapping[str, np.ndarray], start_s: float, end_s: float) -> str | None:
    """The sensor whose data is missing during a rep (``"lumbar"`` or ``"thoracic"``), or ``None`` when the
    lumbar angle is there for more than `analysis.reps.RepRules.max_missing_fraction` of it: enough to measure it."""
    i0, i1 = np.searchsorted(columns["time_s"], [start_s, end_s], side="left")
    window = slice(i0, max(i1, i0 + 1))
    if np.isnan(columns["lumbar_flexion_deg"][window]).mean() <= DEFAULT_REP_RULES.max_missing_fraction:
        return None
    # the pelvis inclination comes from the lumbar sensor alone, the trunk's from the thoracic one
    pelvis_missing = np.isnan(columns["pelvis_inclination_deg"][window]).mean()
    return "lumbar" if pelvis_missing >= np.isnan(columns["trunk_inclination_deg"][window]).mean() else "thoracic"


def set_reps(
    excursions: pd.DataFrame,
    columns: Mapping[str, np.ndarray],
    limits: Limits = DEFAULT_LIMITS,
    max_flexion_deg: float | None = None,
    *,
    finished: bool = True,
) -> SetReps:
    """The reps of one set with their metrics and flags, and the set's classification features.

    A rep during which the lumbar angle is missing (a sensor gap covering most of it) is counted
    where the trunk went but not measured: it is left out of the reps and listed in `SetReps.unmeasured`.

    Parameters
    ----------
    excursions
        The set's excursions in time order (rows of `analysis.reps.find_excursions`).
    columns
        The angle table's columns as numpy arrays (`analysis.metrics.rep_metrics`).
    limits
        The person's limits the flags are judged against.
    max_flexion_deg
        Calibrated maximal lumbar flexion in degrees, or ``None``.
    finished
        Whether the set is over. A finished set that started from the floor ends with the bar put down,
        which is no rep (`analysis.classify.starts_from_floor`); a set under way (the live view) keeps
        every excursion so far.

    Returns
    -------
    SetReps
    """
    ex = excursions.copy()
    # within a set a rep runs until the next one starts: its lockout includes the pause at the top; the
    # last rep runs until the trunk has settled at the top, not only into its top zone (a lockout reached
    # slowly, or arched back further, ends up to a second after the zone is entered)
    ex["end_s"] = np.r_[ex["start_s"].to_numpy(dtype=float)[1:], ex["top_reached_s"].iloc[-1]]
    metrics = [
        rep_metrics(columns, start_s, end_s, max_flexion_deg)
        for start_s, end_s in zip(ex["start_s"].tolist(), ex["end_s"].tolist())
    ]
    # a table built from columns, not from the reps' dicts, which pandas converts one value at a time
    table = {c: np.array([m[c] for m in metrics], dtype=float) for c in REP_METRIC_COLUMNS}
    # the features come from every rep: the trunk, which they read, was seen through a lumbar gap
    features = set_features(ex, pd.DataFrame(table))
    if finished and features["from_floor"]:
        metrics = metrics[:-1]
    missing = [
        _missing_sensor(columns, start_s, end_s)
        for start_s, end_s in zip(excursions["start_s"].tolist()[: len(metrics)], excursions["end_s"].tolist())
    ]
    index = np.arange(1, len(metrics) + 1)
    measured = np.array([sensor is None for sensor in missing], dtype=bool)
    metrics = [m for m, ok in zip(metrics, measured) if ok]
    flags, reasons = _flag_set(metrics, limits)
    reps = pd.DataFrame(
        {
            "index": index[measured],
            **{c: values[: len(measured)][measured] for c, values in table.items()},
            "flags": flags,
            "flag_reasons": reasons,
        }
    )
    unmeasured = pd.DataFrame(
        {
            "index": index[~measured],
            "start_s": ex["start_s"].to_numpy(dtype=float)[: len(index)][~measured],
            "end_s": ex["end_s"].to_numpy(dtype=float)[: len(index)][~measured],
            "sensor": [sensor for sensor in missing if sensor is not None],
        }
    )
    t = columns["time_s"]
    i0, i1 = np.searchsorted(t, [ex["start_s"].iloc[0], ex["end_s"].iloc[-1]])
    trunk_gaps_s = mask_intervals(t[i0:i1], np.isnan(columns["trunk_inclination_deg"][i0:i1]))
    return SetReps(reps=reps, features=features, unmeasured=unmeasured, trunk_gaps_s=trunk_gaps_s)


def _set_shares(set_of: np.ndarray, n_sets: int, n_shares: int) -> list[range]:
    """``n_shares`` runs of consecutive sets (numbered from 1) with about as many excursions each: a process's
    work on a set grows with its reps (`set_reps`)."""
    if n_shares < 2:
        return [range(1, n_sets + 1)] if n_sets else []
    reps_to = np.cumsum(np.bincount(set_of, minlength=n_sets + 1)[1:])  # excursions of sets 1 … k
    targets = reps_to[-1] * np.arange(1, n_shares) / n_shares
    # each run ends after the set whose running count comes nearest its target
    k = np.clip(np.searchsorted(reps_to, targets), 1, n_sets - 1)
    ends = np.maximum.accumulate(np.where(targets - reps_to[k - 1] <= reps_to[k] - targets, k, k + 1))
    bounds = [0, *ends.tolist(), n_sets]
    return [range(1 + a, 1 + b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _sets_reps(
    sets: range,
    excursions: pd.DataFrame,
    set_of: np.ndarray,
    columns: Mapping[str, np.ndarray],
    limits: Limits,
    max_flexion_deg: float | None,
) -> list[SetReps]:
    """`set_reps` of the sets numbered ``sets`` (``set_of``: each excursion's set, `analysis.segmentation`)."""
    # a set's excursions follow each other: a slice of rows each, cheaper than a mask
    rows = [np.flatnonzero(set_of == s) for s in sets]
    return [set_reps(excursions.iloc[r[0] : r[-1] + 1], columns, limits, max_flexion_deg) for r in rows]


def trunk_excursions(placement: str, grid_s: np.ndarray, segment: SegmentOnGrid) -> pd.DataFrame | None:
    """The excursions `analyze_angles` finds in an angle table, from the thoracic segment's inclination on the
    angles' grid alone (None for another segment): found where that segment is, beside the relative angles
    (`analysis.angles.compute_angles` ``beside``)."""
    if placement != "thoracic":
        return None
    trunk = pd.DataFrame({"time_s": grid_s, "trunk_inclination_deg": segment.inclination_deg})
    return find_excursions(trunk)


def analyze_angles(
    angles: pd.DataFrame,
    limits: Limits = DEFAULT_LIMITS,
    max_flexion_deg: float | None = None,
    *,
    rate_hz: float | None = None,
    progress: Progress | None = None,
    exercise: str | None = None,
    evidence: SetEvidence | None = None,
    set_exercises: Mapping[int, str] | None = None,
    workers: int = 1,
    excursions: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sets and reps of an angle table, with per-rep metrics and flags.

    Parameters
    ----------
    angles
        Angle table with the columns of `analysis.session.ANGLE_COLUMNS` (measured or true angles),
        uniformly sampled, NaN in gaps.
    limits
        The person's limits the flags are judged against.
    max_flexion_deg
        Calibrated maximal lumbar flexion in degrees (for ``peak_lumbar_flexion_pct``), or ``None``.
    rate_hz
        Sample rate of ``angles`` in Hz for finding the excursions (when ``excursions`` is None); estimated from
        ``time_s`` when ``None``.
    progress
        Optional ``progress(stage, fraction)`` callback, called once per set (once all are measured when they
        are measured in several processes).
    exercise
        The exercise of every set when the lifter knows it (one of `analysis.classify.CLASSES`,
        confidence 1); classified from the motion when ``None``. The reps of a set that is
        `analysis.classify.OTHER` (a seated bend, a side bend, ...) are movements, not reps of a lift:
        they keep their metrics but earn no flags.
    evidence
        Extra classification features per set (`SetEvidence`), or ``None``.
    set_exercises
        The exercise of particular sets, by set index (from 1), as the lifter named them afterwards; wins
        over ``exercise`` and the classification for those sets (confidence 1).
    workers
        Processes measuring the sets' reps at once, a run of consecutive sets each
        (`analysis.parallel.parallel_starmap`); the results do not depend on it.
    excursions
        The trunk's excursions (`analysis.reps.find_excursions` of ``angles``) when they were found already
        (`trunk_excursions`); found here when None.

    Returns
    -------
    sets, reps
        The sets table (`SET_COLUMNS`, one row per set, ``index`` from 1) and the reps table
        (`REP_COLUMNS`, one row per rep, ``index`` from 1 within its set).
    """
    named = dict(set_exercises or {})
    for name in [exercise, *named.values()]:
        if name is not None and name not in CLASSES:
            raise ValueError(f"unknown exercise {name!r}; use one of {', '.join(CLASSES)}")
    if excursions is None:
        excursions = find_excursions(angles, rate_hz=rate_hz)
    time_s = angles["time_s"].to_numpy(dtype=float)
    set_of = assign_sets(excursions, mask_intervals(time_s, angles["trunk_inclination_deg"].isna().to_numpy()))
    # numpy columns once: `rep_metrics` on a DataFrame looks every column up again for each of hundreds of reps
    columns = {c: angles[c].to_numpy() for c in angles.columns}
    n_sets = int(set_of.max()) if len(set_of) else 0
    # a run of consecutive sets per process
    shares = _set_shares(set_of, n_sets, max(1, min(workers, n_sets)))
    tasks = [(share, excursions, set_of, columns, limits, max_flexion_deg) for share in shares]
    found = [f for share in parallel_starmap(_sets_reps, tasks, workers) for f in share]
    for s, f in enumerate(found, start=1):
        f.reps.insert(0, "set_index", s)
        if progress is not None:
            progress("reps", s / n_sets)
    if exercise is None and evidence is not None and n_sets:
        # only the sets the classifier sends to the decision the evidence informs (named sets are not classified)
        wanted = [
            s not in named and classify_features(f.features)[0] in BAR_FIELD_CLASSES for s, f in enumerate(found, 1)
        ]
        for f, e in zip(found, evidence([f.window_s for f in found], wanted)):
            f.features.update(e)
    set_rows = []
    for s, f in enumerate(found, start=1):
        stated = named.get(s, exercise)
        name, confidence = (stated, 1.0) if stated is not None else classify_features(f.features)
        if name == OTHER:
            # the limits are a lift's: a seated stretch is no faulty rep
            f.reps["flags"] = [[] for _ in range(len(f.reps))]
            f.reps["flag_reasons"] = [[] for _ in range(len(f.reps))]
        set_rows.append(_set_summary(s, name, confidence, f))
    sets = pd.DataFrame(set_rows, columns=list(SET_COLUMNS))
    reps = pd.concat([f.reps for f in found], ignore_index=True) if found else pd.DataFrame(columns=list(REP_COLUMNS))
    return sets, reps[list(REP_COLUMNS)]


def max_flexion_of(range_of_motion: RangeOfMotion | None) -> float | None:
    """Calibrated maximal lumbar flexion (deg) of a range of motion, ``None`` if not known."""
    value = None if range_of_motion is None else range_of_motion.max_flexion_deg
    return float(value) if value is not None and np.isfinite(value) and value > 0 else None


def analyze_session(
    samples: pd.DataFrame | SensorSamples,
    *,
    calibration: Calibration | None = None,
    check: CalibrationCheck | None = None,
    range_of_motion: RangeOfMotion | None = None,
    limits: Limits | None = None,
    rate_hz: float | None = None,
    use_mag: bool = False,
    progress: Progress | None = None,
    exercise: str | None = None,
    set_exercises: Mapping[int, str] | None = None,
    workers: int | None = None,
) -> SessionAnalysis:
    """Analyse one session from its samples table.

    Parameters
    ----------
    samples
        The long samples table of docs/architecture.md (``lumbar`` and ``thoracic`` sensors at least), or a
        `analysis.angles.SensorSamples` that loads it a sensor at a time, where each is oriented
        (`analysis.angles.compute_angles`).
    calibration
        A stored calibration (`analysis.calibration`); ``None`` calibrates from the session itself.
    check
        Check ``calibration`` against the session's own standing and bends first, and calibrate from the
        session instead when it does not fit (`analysis.angles.compute_angles`); the notes say so.
    range_of_motion
        The person's range of motion for the figures in % of it; default the calibration's.
    limits
        The person's limits; when ``None``, the default profile's (`analysis.limits.resolve_limits`):
        shares of the range of motion where one is calibrated, `DEFAULT_LIMITS` otherwise.
    rate_hz
        Common rate of the angle series in Hz; chosen from the sensors when ``None``.
    use_mag
        Use the magnetometer (9D orientation) where the sensors have one.
    progress
        Optional ``progress(stage, fraction)`` callback: ``"angles"`` then ``"reps"``; fraction is the
        overall share done, in [0, 1].
    exercise
        The exercise of every set, when the lifter states it (`analyze_angles`); otherwise each set is
        classified from its motion and, where the sensors have magnetometers, the bar's field.
    set_exercises
        The exercise of particular sets, by set index, as the lifter named them afterwards (`analyze_angles`).
    workers
        Processes orienting the sensors at once (`analysis.angles.compute_angles`), and working out their bar
        fields (`analysis.bar_field.bar_field_features`); ``None`` chooses by the session's size, 1 keeps the
        analysis in this process (e.g. when other sessions use the other cores).

    Returns
    -------
    SessionAnalysis
        Angles, sets, reps, limits, calibration and sync report.
    """
    with one_blas_thread():
        if progress is not None:
            progress("angles", 0.0)
        result = compute_angles(
            samples,
            calibration=calibration,
            rate_hz=rate_hz,
            use_mag=use_mag,
            check=check,
            workers=workers,
            beside=trunk_excursions,
        )
        range_of_motion = range_of_motion or result.calibration.range_of_motion
        limits = limits or resolve_limits({}, range_of_motion)
        if progress is not None:
            progress("angles", 0.5)
        rep_progress = None if progress is None else (lambda stage, f: progress(stage, 0.5 + 0.5 * f))
        magnetometers = result.magnetometers
        if workers is None:
            # the steps after the angles split by sensor (the bar field) or by set: the same session size pays a worker
            n_sensors = len(result.sync["sensors"])
            workers = default_workers(n_sensors, n_sensors * len(result.angles))
        sets, reps = analyze_angles(
            result.angles,
            limits,
            max_flexion_of(range_of_motion),
            progress=rep_progress,
            exercise=exercise,
            set_exercises=set_exercises,
            evidence=lambda windows_s, wanted: bar_field_features(magnetometers, windows_s, wanted, workers),
            workers=workers,
            excursions=result.beside.get("thoracic"),
        )
    if progress is not None:
        progress("done", 1.0)
    notes = []
    if result.calibration_mismatch:
        notes.append(
            f"the calibration does not fit this session's own standing: {result.calibration_mismatch}; "
            "calibrated from the session itself instead"
        )
    if result.calibration_unchecked:
        notes.append(f"the calibration was used unchecked: {result.calibration_unchecked}")
    return SessionAnalysis(
        angles=result.angles,
        sets=sets,
        reps=reps,
        limits=limits,
        calibration=result.calibration,
        sync=result.sync,
        notes=notes,
    )
