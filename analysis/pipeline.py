"""The analysis pipeline: samples → angles → sets and reps → metrics, flags and set summaries."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from analysis.angles import AnglesResult, compute_angles
from analysis.bar_field import bar_field_features, oriented_6d
from analysis.calibration import Calibration, CalibrationCheck, RangeOfMotion
from analysis.classify import EXERCISES, classify_features, set_features
from analysis.flags import FLAGS, drift_flags, rep_flags
from analysis.limits import DEFAULT_LIMITS, Limits
from analysis.metrics import REP_METRIC_COLUMNS, rep_metrics
from analysis.reps import find_excursions, rate_of
from analysis.segmentation import assign_sets
from analysis.session import SessionAnalysis

#: ``progress(stage, fraction)``: stage name and overall fraction done in [0, 1].
Progress = Callable[[str, float], None]
#: ``evidence(windows_s)``: extra classification features (`analysis.classify`) of each set, from the
#: sets' ``(start_s, end_s)`` windows; what the samples say beyond the angles (the bar's magnetic field).
SetEvidence = Callable[[list[tuple[float, float]]], list[dict[str, float]]]

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
)


def _set_summary(index: int, exercise: str, confidence: float, top_deg: float, reps: pd.DataFrame) -> dict:
    """One row of the sets table from the set's reps."""
    peak = reps["peak_lumbar_flexion_deg"].to_numpy(dtype=float)
    # movement time leaves out the pause at the top, which the set's last rep does not have
    movement = (reps["duration_s"] - reps["lockout_s"]).to_numpy(dtype=float)
    n = len(reps)
    # slope of peak flexion per rep: how the set drifts as the lifter tires
    trend = float(np.polyfit(np.arange(n), peak, 1)[0]) if n >= 2 and np.isfinite(peak).all() else float("nan")
    counts = {flag: int(sum(flag in f for f in reps["flags"])) for flag in FLAGS}
    return {
        "index": index,
        "exercise": exercise,
        "exercise_confidence": confidence,
        "start_s": float(reps["start_s"].iloc[0]),
        "end_s": float(reps["end_s"].iloc[-1]),
        "rep_count": n,
        "top_inclination_deg": top_deg,
        "mean_movement_s": float(np.mean(movement)),
        "movement_sd_s": float(np.std(movement, ddof=1)) if n >= 2 else float("nan"),
        "mean_peak_trunk_inclination_deg": float(reps["peak_trunk_inclination_deg"].mean()),
        "mean_peak_lumbar_flexion_deg": float(np.nanmean(peak)),
        "max_peak_lumbar_flexion_deg": float(np.nanmax(peak)),
        "peak_lumbar_flexion_sd_deg": float(np.nanstd(peak, ddof=1)) if n >= 2 else float("nan"),
        "flexion_trend_deg_per_rep": trend,
        "min_lockout_lumbar_angle_deg": float(reps["lockout_lumbar_angle_deg"].min()),
        "mean_lumbar_angle_deg": float(reps["mean_lumbar_angle_deg"].mean()),
        "mean_lumbar_share": float(reps["lumbar_share"].mean()),
        "max_abs_lateral_bend_deg": float(reps["peak_lateral_bend_deg"].abs().max()),
        "max_abs_twist_deg": float(reps["peak_twist_deg"].abs().max()),
        "flag_counts": {k: v for k, v in counts.items() if v},
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


def set_reps(
    excursions: pd.DataFrame,
    columns: Mapping[str, np.ndarray],
    limits: Limits = DEFAULT_LIMITS,
    max_flexion_deg: float | None = None,
    *,
    finished: bool = True,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The reps of one set with their metrics and flags, and the set's classification features.

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
    reps, features
        The reps table (`REP_COLUMNS` without ``set_index``) and `analysis.classify.set_features`.
    """
    ex = excursions.copy()
    # within a set a rep runs until the next one starts: its lockout includes the pause at the top
    ex.iloc[:-1, ex.columns.get_loc("end_s")] = ex["start_s"].to_numpy()[1:]
    metrics = [
        rep_metrics(columns, start_s, end_s, max_flexion_deg)
        for start_s, end_s in zip(ex["start_s"].tolist(), ex["end_s"].tolist())
    ]
    reps = pd.DataFrame(metrics)
    features = set_features(ex, reps)
    if finished and features["from_floor"]:
        metrics, reps = metrics[:-1], reps.iloc[:-1].copy()
    flags, reasons = _flag_set(metrics, limits)
    reps.insert(0, "index", np.arange(1, len(reps) + 1))
    reps["flags"] = flags
    reps["flag_reasons"] = reasons
    return reps, features


def analyze_angles(
    angles: pd.DataFrame,
    limits: Limits = DEFAULT_LIMITS,
    max_flexion_deg: float | None = None,
    *,
    rate_hz: float | None = None,
    progress: Progress | None = None,
    exercise: str | None = None,
    evidence: SetEvidence | None = None,
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
        Sample rate of ``angles`` in Hz; estimated from ``time_s`` when ``None``.
    progress
        Optional ``progress(stage, fraction)`` callback, called once per set.
    exercise
        The exercise of every set when the lifter knows it (one of `analysis.classify.EXERCISES`,
        confidence 1); classified from the motion when ``None``.
    evidence
        Extra classification features per set (`SetEvidence`), or ``None``.

    Returns
    -------
    sets, reps
        The sets table (`SET_COLUMNS`, one row per set, ``index`` from 1) and the reps table
        (`REP_COLUMNS`, one row per rep, ``index`` from 1 within its set).
    """
    if exercise is not None and exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; use one of {', '.join(EXERCISES)}")
    if len(angles) >= 2:
        rate_hz = rate_hz or rate_of(angles["time_s"].to_numpy())
    excursions = find_excursions(angles, rate_hz=rate_hz)
    set_of = assign_sets(excursions)
    # numpy columns once: `rep_metrics` on a DataFrame looks every column up again for each of hundreds of reps
    columns = {c: angles[c].to_numpy() for c in angles.columns}
    n_sets = int(set_of.max()) if len(set_of) else 0
    features_of, reps_of = [], []
    for s in range(1, n_sets + 1):
        reps, features = set_reps(excursions[set_of == s], columns, limits, max_flexion_deg)
        reps.insert(0, "set_index", s)
        features_of.append(features)
        reps_of.append(reps)
        if progress is not None:
            progress("reps", s / n_sets)
    if exercise is None and evidence is not None and n_sets:
        windows = [(float(r["start_s"].iloc[0]), float(r["end_s"].iloc[-1])) for r in reps_of]
        features_of = [{**f, **e} for f, e in zip(features_of, evidence(windows))]
    set_rows = []
    for s, (features, reps) in enumerate(zip(features_of, reps_of), start=1):
        name, confidence = (exercise, 1.0) if exercise is not None else classify_features(features)
        set_rows.append(_set_summary(s, name, confidence, features["top_inclination_deg"], reps))
    sets = pd.DataFrame(set_rows, columns=list(SET_COLUMNS))
    reps = pd.concat(reps_of, ignore_index=True) if reps_of else pd.DataFrame(columns=list(REP_COLUMNS))
    return sets, reps[list(REP_COLUMNS)]


def max_flexion_of(range_of_motion: RangeOfMotion | None) -> float | None:
    """Calibrated maximal lumbar flexion (deg) of a range of motion, ``None`` if not known."""
    value = None if range_of_motion is None else range_of_motion.max_flexion_deg
    return float(value) if value is not None and np.isfinite(value) and value > 0 else None


def _sensors_6d(samples: pd.DataFrame, result: AnglesResult) -> dict[str, tuple]:
    """Each sensor with its 6D orientation: reused from the angles, computed anew only after 9D angles."""
    if result.use_mag:
        return oriented_6d(samples)
    return {placement: (o.series, o.quat_wxyz) for placement, o in result.sensors.items()}


def analyze_session(
    samples: pd.DataFrame,
    *,
    calibration: Calibration | None = None,
    check: CalibrationCheck | None = None,
    range_of_motion: RangeOfMotion | None = None,
    limits: Limits | None = None,
    rate_hz: float | None = None,
    use_mag: bool = False,
    progress: Progress | None = None,
    exercise: str | None = None,
) -> SessionAnalysis:
    """Analyse one session from its samples table.

    Parameters
    ----------
    samples
        The long samples table of docs/architecture.md (``lumbar`` and ``thoracic`` sensors at least).
    calibration
        A stored calibration (`analysis.calibration`); ``None`` calibrates from the session itself.
    check
        Check ``calibration`` against the session's own standing and bends first, and calibrate from the
        session instead when it does not fit (`analysis.angles.compute_angles`); the notes say so.
    range_of_motion
        The person's range of motion for the figures in % of it; default the calibration's.
    limits
        The person's limits; the defaults when ``None``.
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

    Returns
    -------
    SessionAnalysis
        Angles, sets, reps, limits, calibration and sync report.
    """
    limits = limits or DEFAULT_LIMITS
    if progress is not None:
        progress("angles", 0.0)
    result = compute_angles(samples, calibration=calibration, rate_hz=rate_hz, use_mag=use_mag, check=check)
    if progress is not None:
        progress("angles", 0.5)
    rep_progress = None if progress is None else (lambda stage, f: progress(stage, 0.5 + 0.5 * f))
    sets, reps = analyze_angles(
        result.angles,
        limits,
        max_flexion_of(range_of_motion or result.calibration.range_of_motion),
        progress=rep_progress,
        exercise=exercise,
        evidence=lambda windows_s: bar_field_features(_sensors_6d(samples, result), windows_s),
    )
    if progress is not None:
        progress("done", 1.0)
    notes = []
    if result.calibration_mismatch:
        notes.append(
            f"the calibration does not fit this session's own standing: {result.calibration_mismatch}; "
            "calibrated from the session itself instead"
        )
    return SessionAnalysis(
        angles=result.angles,
        sets=sets,
        reps=reps,
        limits=limits,
        calibration=result.calibration,
        sync=result.sync,
        notes=notes,
    )
