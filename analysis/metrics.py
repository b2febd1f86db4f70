"""Per-rep metrics from spine angle time series and rep boundaries.

One definition for every consumer: the analysis applies it to measured angles, the simulator to its true
angles. Phases come from trunk inclination: the rep starts at the top posture, the eccentric ends when
the trunk enters the bottom zone (within `BOTTOM_ZONE` of the rep's inclination range from the deepest
point), the concentric ends when it is back within `LOCKOUT_ZONE` of the top, and the lockout window
(``lockout_s``) runs from there to the rep's end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from analysis.lines import line_fit

#: Fraction of the inclination range from the deepest point that counts as the bottom.
BOTTOM_ZONE = 0.10
#: Fraction of the inclination range from the top posture that counts as lockout.
LOCKOUT_ZONE = 0.15

REP_METRIC_COLUMNS = (
    "start_s",
    "bottom_s",
    "end_s",
    "duration_s",
    "eccentric_s",
    "bottom_pause_s",
    "concentric_s",
    "lockout_s",
    "trunk_inclination_range_deg",
    "pelvis_inclination_range_deg",
    "peak_trunk_inclination_deg",
    "peak_lumbar_flexion_deg",
    "peak_lumbar_flexion_pct",
    "lockout_lumbar_angle_deg",
    "mean_lumbar_angle_deg",
    "lumbar_share",
    "lumbar_share_rep",
    "peak_lateral_bend_deg",
    "peak_twist_deg",
    "peak_thoracic_flexion_deg",
)


def _finite(reduce: Callable[[np.ndarray], float], x: np.ndarray) -> float:
    """``reduce(x)`` (a NaN-ignoring reduction), or NaN when ``x`` has no finite value (a gap), without
    numpy's all-NaN warning."""
    return float(reduce(x)) if np.isfinite(x).any() else float("nan")


def _signed_peak(x: np.ndarray) -> float:
    """Value of largest magnitude, keeping its sign (NaN-safe)."""
    if not np.isfinite(x).any():
        return float("nan")
    return float(x[np.nanargmax(np.abs(x))])


def rep_metrics(
    angles: pd.DataFrame | Mapping[str, np.ndarray],
    start_s: float,
    end_s: float,
    max_flexion_deg: float | None = None,
) -> dict[str, float]:
    """Metrics of one rep.

    Parameters
    ----------
    angles
        Angle table with ``time_s``, ``lumbar_flexion_deg``, ``lumbar_lateral_bend_deg``,
        ``lumbar_twist_deg``, ``trunk_inclination_deg``, ``pelvis_inclination_deg`` and optionally
        ``thoracic_flexion_deg`` (see docs/conventions.md): a DataFrame, or a dict of those columns as
        numpy arrays (faster over the hundreds of reps of a session: no DataFrame lookups per rep).
    start_s, end_s
        Rep boundaries on the session clock, in s: the top posture before and after the excursion.
    max_flexion_deg
        Calibrated maximal lumbar flexion, in degrees, for the percentage of range; ``None`` when the
        person has not calibrated their range of motion.

    Returns
    -------
    dict
        One value per name in `REP_METRIC_COLUMNS` (NaN where not measurable).
    """
    t_all = np.asarray(angles["time_s"])
    i0, i1 = np.searchsorted(t_all, [start_s, end_s], side="left")
    i1 = max(min(i1 + 1, len(t_all)), i0 + 1)

    def column(name: str) -> np.ndarray:
        # numpy slices, not DataFrame slices: a session has hundreds of reps
        return np.asarray(angles[name])[i0:i1]

    t = column("time_s")
    trunk = column("trunk_inclination_deg")
    lumbar = column("lumbar_flexion_deg")
    pelvis = column("pelvis_inclination_deg")

    # the top postures are the first and last samples the sensors delivered (gaps are NaN); a rep whose
    # lumbar angle is missing altogether (a lumbar sensor gap) is placed by the trunk alone
    both = np.isfinite(trunk) & np.isfinite(lumbar)
    finite = np.flatnonzero(both if both.any() else np.isfinite(trunk))
    if len(finite) == 0:
        return {
            **dict.fromkeys(REP_METRIC_COLUMNS, float("nan")),
            "start_s": float(start_s),
            "end_s": float(end_s),
            "duration_s": float(end_s - start_s),
        }
    ib = int(np.nanargmax(trunk))
    i_top0, i_top1 = finite[0], finite[-1]
    top_start, top_end, bottom = trunk[i_top0], trunk[i_top1], trunk[ib]
    span = bottom - min(top_start, top_end)
    in_bottom = np.flatnonzero(trunk >= bottom - BOTTOM_ZONE * span)
    b_first, b_last = in_bottom[0], in_bottom[-1]
    after = np.flatnonzero(trunk[b_last:] <= top_end + LOCKOUT_ZONE * span)
    lock_first = b_last + (after[0] if len(after) else len(trunk) - 1 - b_last)

    d_trunk = trunk[ib] - top_start
    share = (lumbar[ib] - lumbar[i_top0]) / d_trunk if abs(d_trunk) > 1e-6 else float("nan")
    share_rep = (
        line_fit(trunk[both], lumbar[both])[0] if both.sum() > 2 and np.ptp(trunk[both]) > 1e-6 else float("nan")
    )

    peak = _finite(np.nanmax, lumbar)
    thoracic = column("thoracic_flexion_deg") if "thoracic_flexion_deg" in angles else None
    return {
        "start_s": float(start_s),
        "bottom_s": float(t[ib]),
        "end_s": float(end_s),
        "duration_s": float(end_s - start_s),
        "eccentric_s": float(t[b_first] - t[i_top0]),
        "bottom_pause_s": float(t[b_last] - t[b_first]),
        "concentric_s": float(t[lock_first] - t[b_last]),
        "lockout_s": float(end_s - t[lock_first]),
        "trunk_inclination_range_deg": float(np.nanmax(trunk) - np.nanmin(trunk)),
        "pelvis_inclination_range_deg": _finite(np.nanmax, pelvis) - _finite(np.nanmin, pelvis),
        "peak_trunk_inclination_deg": float(bottom),
        "peak_lumbar_flexion_deg": peak,
        "peak_lumbar_flexion_pct": float(100.0 * peak / max_flexion_deg) if max_flexion_deg else float("nan"),
        "lockout_lumbar_angle_deg": _finite(np.nanmin, lumbar[lock_first:]),
        "mean_lumbar_angle_deg": _finite(np.nanmean, lumbar),
        "lumbar_share": float(share),
        "lumbar_share_rep": share_rep,
        "peak_lateral_bend_deg": _signed_peak(column("lumbar_lateral_bend_deg")),
        "peak_twist_deg": _signed_peak(column("lumbar_twist_deg")),
        "peak_thoracic_flexion_deg": _finite(np.nanmax, thoracic) if thoracic is not None else float("nan"),
    }
