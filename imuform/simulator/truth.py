"""Ground truth beside the simulated data: true angles, rep boundaries, metrics and the flags they earn.

Nothing here comes from `analysis`: the truth is the body model's angles, the script's own rep
boundaries and key times, and a handful of lines that say what each flag means (docs/analysis.md),
written independently of the analysis' rules so that the two can disagree. `tests/test_truth_flags.py`
checks these lines on hand-computed cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from imuform.simulator.body import inclination_deg, segment_motion
from imuform.simulator.timeline import Trajectories

#: Columns of the true angle table, as docs/conventions.md names them.
ANGLE_COLUMNS = (
    "time_s",
    "lumbar_flexion_deg",
    "lumbar_lateral_bend_deg",
    "lumbar_twist_deg",
    "trunk_inclination_deg",
    "pelvis_inclination_deg",
)
THORACIC_COLUMN = "thoracic_flexion_deg"

#: The flags, in the order the product lists them (docs/analysis.md).
FLAGS = ("lumbar_flexion", "lockout_hyperextension", "overarching", "flexion_drift", "asymmetry")


@dataclass(frozen=True)
class JudgedLimits:
    """The limits a true rep is judged against, degrees from calibrated neutral (docs/analysis.md).

    The product's default limits, written out here rather than imported so that the truth holds no
    analysis code; `tests/test_truth_flags.py` checks that they equal `analysis.limits.DEFAULT_LIMITS`.

    Attributes
    ----------
    flexion_limit_deg
        Peak lumbar flexion above this earns ``lumbar_flexion``.
    extension_limit_deg
        Lumbar extension magnitude: a rep whose mean angle lies beyond it is ``overarching``; otherwise a
        lockout beyond it is ``lockout_hyperextension``.
    drift_limit_deg
        Rise of a rep's peak flexion (third rep on) above the median of the set's first two.
    asymmetry_limit_deg
        Peak lateral bend or twist magnitude.
    profile
        Name of the limits.
    """

    flexion_limit_deg: float = 35.0
    extension_limit_deg: float = 10.0
    drift_limit_deg: float = 8.0
    asymmetry_limit_deg: float = 8.0
    profile: str = "default"


JUDGED_LIMITS = JudgedLimits()


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


def _signed_peak(x: np.ndarray) -> float:
    return float(x[int(np.argmax(np.abs(x)))])


def true_rep_values(
    angles: pd.DataFrame, start_s: float, end_s: float, lockout_from_s: float, max_flexion_deg: float
) -> dict[str, float]:
    """A rep's true numbers from the true angles between its boundaries.

    Parameters
    ----------
    angles
        True angle table.
    start_s, end_s
        The rep's boundaries (top postures), s.
    lockout_from_s
        Where the script's lockout (the top posture after the concentric) begins, s.
    max_flexion_deg
        The person's maximal lumbar flexion, deg.
    """
    t = angles["time_s"].to_numpy()
    rep = (t >= start_s) & (t <= end_s)
    lockout = rep & (t >= min(lockout_from_s, end_s))
    lumbar = angles["lumbar_flexion_deg"].to_numpy()
    trunk = angles["trunk_inclination_deg"].to_numpy()[rep]
    peak = float(lumbar[rep].max())
    return {
        "start_s": float(start_s),
        "bottom_s": float(t[rep][int(np.argmax(trunk))]),
        "end_s": float(end_s),
        "duration_s": float(end_s - start_s),
        "peak_trunk_inclination_deg": float(trunk.max()),
        "peak_lumbar_flexion_deg": peak,
        "peak_lumbar_flexion_pct": 100.0 * peak / max_flexion_deg,
        "lockout_lumbar_angle_deg": float(lumbar[lockout].min()),
        "mean_lumbar_angle_deg": float(lumbar[rep].mean()),
        "peak_lateral_bend_deg": _signed_peak(angles["lumbar_lateral_bend_deg"].to_numpy()[rep]),
        "peak_twist_deg": _signed_peak(angles["lumbar_twist_deg"].to_numpy()[rep]),
    }


def flag_margins_deg(values: dict[str, float], rise_deg: float | None, limits: JudgedLimits) -> dict[str, float]:
    """Signed distance of a rep's true numbers past each flag's limit (positive: the rep earns the flag).

    Parameters
    ----------
    values
        The rep's true numbers (`true_rep_values`).
    rise_deg
        Rise of the rep's peak flexion above the median of the set's first two reps, or None for the
        first two reps and sets of fewer than three, where drift is not judged.
    limits
        The limits judged against.
    """
    mean = values["mean_lumbar_angle_deg"]
    out = {
        "lumbar_flexion": values["peak_lumbar_flexion_deg"] - limits.flexion_limit_deg,
        "overarching": -limits.extension_limit_deg - mean,
        "asymmetry": max(abs(values["peak_lateral_bend_deg"]), abs(values["peak_twist_deg"]))
        - limits.asymmetry_limit_deg,
    }
    # a rep arched throughout is one fault (overarching), not also a hyperextended lockout
    if out["overarching"] <= 0:
        out["lockout_hyperextension"] = -limits.extension_limit_deg - values["lockout_lumbar_angle_deg"]
    if rise_deg is not None:
        out["flexion_drift"] = rise_deg - limits.drift_limit_deg
    return {f: float(out[f]) for f in FLAGS if f in out}


def drift_rises_deg(peaks_deg: list[float]) -> list[float | None]:
    """Per rep, the rise of its peak flexion above the median of the set's first two (None where not judged)."""
    if len(peaks_deg) < 3:
        return [None] * len(peaks_deg)
    baseline = float(np.median(peaks_deg[:2]))
    return [None, None] + [p - baseline for p in peaks_deg[2:]]


def set_truth(
    angles: pd.DataFrame, log: dict, index: int, max_flexion_deg: float, limits: JudgedLimits = JUDGED_LIMITS
) -> dict:
    """Truth of one set: boundaries, per-rep true numbers, key times, the injected plan and the true flags.

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
        Limits the flags are judged against.
    """
    reps = []
    for i, rep in enumerate(log["reps"]):
        start, end = top_posture_s(angles, rep["top_before"]), top_posture_s(angles, rep["top_after"])
        values = true_rep_values(angles, start, end, rep["top_after"][0], max_flexion_deg)
        keys = {k: float(rep[k]) for k in ("descent_s", "bottom_reached_s", "ascent_s", "top_reached_s")}
        reps.append(
            {"index": i + 1, **values, **keys, "touch_and_go": bool(rep["touch_and_go"]), "planned": rep["planned"]}
        )
    rises = drift_rises_deg([r["peak_lumbar_flexion_deg"] for r in reps])
    for rep, rise in zip(reps, rises):
        margins = flag_margins_deg(rep, rise, limits)
        rep["faults"] = [f for f, m in margins.items() if m > 0]
        rep["flag_margins_deg"] = margins
        rep["min_flag_margin_deg"] = float(min(abs(m) for m in margins.values()))
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
