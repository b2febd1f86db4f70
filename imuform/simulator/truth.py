"""Ground truth beside the simulated data: true angles, rep boundaries, metrics and the flags they earn.

Metrics and flags use the project's own definitions (`analysis.metrics.rep_metrics`,
`analysis.flags.rep_flags` and `drift_flags`), applied to the true angles and the true rep boundaries,
so the truth and the analysis cannot disagree on what a flag means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.flags import FLAGS, MIN_REPS_FOR_DRIFT, drift_flags, is_overarching, rep_flags
from analysis.limits import DEFAULT_LIMITS, Limits
from analysis.metrics import rep_metrics
from analysis.session import ANGLE_COLUMNS, THORACIC_COLUMN
from imuform.simulator.body import inclination_deg, segment_motion
from imuform.simulator.timeline import Trajectories


def truth_angles(traj: Trajectories, time_s: np.ndarray, thoracic: bool) -> pd.DataFrame:
    """True spine angles (docs/conventions.md) at ``time_s`` on the true session clock.

    The lumbar and thoracic angles are the joint angles of the body model, which builds the thoracic
    segment with exactly the conventions' Cardan sequence; inclinations come from the segment
    orientations.

    Parameters
    ----------
    traj
        The session's trajectories.
    time_s
        Instants, s.
    thoracic
        Add ``thoracic_flexion_deg`` (with an upper thoracic sensor).
    """
    ch = traj(time_s)
    pelvis = segment_motion(ch, "pelvis")
    table = pd.DataFrame(
        {
            "time_s": time_s,
            "lumbar_flexion_deg": ch["lumbar_flexion_deg"][0],
            "lumbar_lateral_bend_deg": ch["lumbar_bend_deg"][0],
            "lumbar_twist_deg": ch["lumbar_twist_deg"][0],
            "trunk_inclination_deg": inclination_deg(segment_motion(ch, "thoracic", pelvis).rot),
            "pelvis_inclination_deg": inclination_deg(pelvis.rot),
        }
    )[list(ANGLE_COLUMNS)]
    if thoracic:
        table[THORACIC_COLUMN] = ch["thoracic_flexion_deg"][0]
    return table


def top_posture_s(angles: pd.DataFrame, window_s: tuple[float, float]) -> float:
    """Time of the trunk-inclination minimum within ``window_s``: a rep boundary."""
    t = angles["time_s"].to_numpy()
    i0, i1 = np.searchsorted(t, window_s)
    i1 = max(i1, i0 + 1)
    return float(t[i0 + int(np.argmin(angles["trunk_inclination_deg"].to_numpy()[i0:i1]))])


def flag_margins_deg(metrics: dict, rise_deg: float | None, limits: Limits = DEFAULT_LIMITS) -> dict[str, float]:
    """Signed distance of a rep's metrics from each flag's limit (positive: the flag is raised).

    Parameters
    ----------
    metrics
        The rep's metrics (`analysis.metrics.rep_metrics`).
    rise_deg
        Rise of peak flexion above the set's baseline (`analysis.flags.drift_flags`), or None for the
        first reps of a set, where drift is not judged.
    limits
        The limits judged against.
    """
    mean = metrics["mean_lumbar_angle_deg"]
    out = {
        "lumbar_flexion": metrics["peak_lumbar_flexion_deg"] - limits.flexion_limit_deg,
        "overarching": -limits.extension_limit_deg - mean,
        "asymmetry": max(abs(metrics["peak_lateral_bend_deg"]), abs(metrics["peak_twist_deg"]))
        - limits.asymmetry_limit_deg,
    }
    if not is_overarching(mean, limits):
        out["lockout_hyperextension"] = -limits.extension_limit_deg - metrics["lockout_lumbar_angle_deg"]
    if rise_deg is not None:
        out["flexion_drift"] = rise_deg - limits.drift_limit_deg
    return {k: float(v) for k, v in out.items()}


def set_truth(
    angles: pd.DataFrame, log: dict, index: int, max_flexion_deg: float, limits: Limits = DEFAULT_LIMITS
) -> dict:
    """Truth of one set: boundaries, per-rep metrics, phases and the flags a correct analysis raises.

    Parameters
    ----------
    angles
        True angle table.
    log
        The set's entry from `Script.exercise_set`.
    index
        Set index, from 1.
    max_flexion_deg
        The person's maximal lumbar flexion (for the percentage of range).
    limits
        Limits for the flags (the defaults).
    """
    reps = []
    for i, rep in enumerate(log["reps"]):
        start, end = top_posture_s(angles, rep["top_before"]), top_posture_s(angles, rep["top_after"])
        metrics = rep_metrics(angles, start, end, max_flexion_deg=max_flexion_deg)
        keys = {k: float(rep[k]) for k in ("descent_s", "bottom_reached_s", "ascent_s", "top_reached_s")}
        reps.append({"index": i + 1, **metrics, **keys, "touch_and_go": bool(rep["touch_and_go"])})
    peaks = [r["peak_lumbar_flexion_deg"] for r in reps]
    drift = drift_flags(peaks, limits)
    baseline = float(np.median(peaks[:2])) if len(peaks) >= MIN_REPS_FOR_DRIFT else None
    for i, rep in enumerate(reps):
        flags = dict(rep_flags(rep, limits))
        if drift[i] is not None:
            flags["flexion_drift"] = drift[i]
        names = [f for f in FLAGS if f in flags]
        rise = peaks[i] - baseline if baseline is not None and i >= 2 else None
        margins = flag_margins_deg(rep, rise, limits)
        rep.update(
            {
                "faults": names,
                "fault_reasons": [flags[f] for f in names],
                "flag_margins_deg": margins,
                "min_flag_margin_deg": float(min(abs(m) for m in margins.values())),
            }
        )
    return {
        "index": index,
        "exercise": log["exercise"],
        "fault": log["fault"],
        "start_s": reps[0]["start_s"],
        "end_s": reps[-1]["end_s"],
        "rep_count": len(reps),
        "touch_and_go": bool(log["touch_and_go"]),
        "fault_detail": log["fault_detail"],
        "extra_excursions": log["extra_excursions"],
        "reps": reps,
    }
