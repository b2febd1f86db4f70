"""Rules that turn per-rep metrics into flags with plain-language reasons.

These are the only definitions of the flags: the analysis applies them to measured metrics and the
simulator to its true metrics, so ground truth and measurement cannot disagree on a definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from analysis.display import fmt_num, past_limit
from analysis.limits import Limits

FLAGS = ("lumbar_flexion", "lockout_hyperextension", "overarching", "flexion_drift", "asymmetry")

#: Reps needed in a set before a drift can be judged.
MIN_REPS_FOR_DRIFT = 3


def is_overarching(mean_lumbar_angle_deg: float, limits: Limits) -> bool:
    """True when the lumbar spine stayed extended through the whole rep."""
    return bool(mean_lumbar_angle_deg < -limits.extension_limit_deg)


def rep_flags(metrics: Mapping[str, float], limits: Limits) -> list[tuple[str, str]]:
    """Flags of one rep from its metrics.

    Parameters
    ----------
    metrics
        Needs ``peak_lumbar_flexion_deg``, ``lockout_lumbar_angle_deg``, ``mean_lumbar_angle_deg``,
        ``peak_lateral_bend_deg`` and ``peak_twist_deg`` (signed, degrees).
    limits
        The person's limits.

    Returns
    -------
    list of (flag, reason)
        In the order of `FLAGS`; `flexion_drift` is judged per set by `drift_flags`.
    """
    out: list[tuple[str, str]] = []
    peak = float(metrics["peak_lumbar_flexion_deg"])
    lockout = float(metrics["lockout_lumbar_angle_deg"])
    mean = float(metrics["mean_lumbar_angle_deg"])
    if peak > limits.flexion_limit_deg:
        shown, limit = past_limit(peak, limits.flexion_limit_deg)
        out.append(("lumbar_flexion", f"lower back flexed to {shown}°, past your {limit}° flexion limit"))
    overarching = is_overarching(mean, limits)
    if lockout < -limits.extension_limit_deg and not overarching:
        lead = f"after flexing to {fmt_num(peak)}°, " if round(peak) > 0 else ""
        shown, limit = past_limit(-lockout, limits.extension_limit_deg)
        out.append(
            (
                "lockout_hyperextension",
                f"{lead}lower back arched {shown}° into extension at lockout, past your {limit}° extension limit",
            )
        )
    if overarching:
        shown, limit = past_limit(-mean, limits.extension_limit_deg)
        out.append(
            (
                "overarching",
                f"lower back stayed arched through the rep: {shown}° into extension on average, "
                f"past your {limit}° extension limit",
            )
        )
    bend = float(metrics["peak_lateral_bend_deg"])
    twist = float(metrics["peak_twist_deg"])
    if max(abs(bend), abs(twist)) > limits.asymmetry_limit_deg:
        if abs(bend) >= abs(twist):
            side = "right" if bend > 0 else "left"
            out.append(("asymmetry", f"bent {past_limit(abs(bend), limits.asymmetry_limit_deg)[0]}° to the {side}"))
        else:
            side = "right" if twist > 0 else "left"
            out.append(("asymmetry", f"twisted {past_limit(abs(twist), limits.asymmetry_limit_deg)[0]}° to the {side}"))
    return out


def drift_flags(peak_lumbar_flexion_deg: Sequence[float], limits: Limits) -> list[str | None]:
    """Flexion drift across one set.

    The baseline is the median peak flexion of the set's first two reps; a later rep whose peak rises
    more than ``limits.drift_limit_deg`` above it is flagged.

    Parameters
    ----------
    peak_lumbar_flexion_deg
        Peak lumbar flexion of each rep of the set, in order.
    limits
        The person's limits.

    Returns
    -------
    list
        Per rep, ``None`` or the reason text.
    """
    peaks = np.asarray(peak_lumbar_flexion_deg, dtype=float)
    out: list[str | None] = [None] * len(peaks)
    if len(peaks) < MIN_REPS_FOR_DRIFT:
        return out
    baseline = float(np.median(peaks[:2]))
    for i in range(2, len(peaks)):
        rise = peaks[i] - baseline
        if rise > limits.drift_limit_deg:
            out[i] = f"flexion crept up {past_limit(rise, limits.drift_limit_deg)[0]}° since the first reps (fatigue)"
    return out
