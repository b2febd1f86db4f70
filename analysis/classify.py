"""Exercise of a set, from the posture its reps start at, how deep they go and their tempo.

Back extensions start from the bench's angle: the trunk's top posture is about 45° (45° bench) or 90°
(horizontal bench) forward instead of upright. A deadlift starts from the floor: the lifter sets up at
the bar, so the first rep holds the bottom for seconds, and the set ends with the bar put down (a last
excursion that is not a rep). Of the other standing exercises, the squat keeps the trunk most upright;
the Romanian deadlift and the good morning tip the trunk to near horizontal, the good morning a little
deeper and with an ascent nearly as slow as its descent, where the Romanian deadlift lowers slowly and
drives up fast. Those two overlap: their depth and tempo ranges are not disjoint (docs/analysis.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EXERCISES = ("deadlift", "romanian_deadlift", "good_morning", "back_extension_45", "back_extension_90", "squat")

#: Top-posture trunk inclination (deg) above which a set is a 90° back extension, and a 45° one.
BACK_EXTENSION_90_TOP_DEG = 67.5
BACK_EXTENSION_45_TOP_DEG = 22.5
#: A first rep that stays this long in its bottom zone (s, `analysis.metrics` ``bottom_pause_s``)
#: began with the set-up at a bar on the floor.
SETUP_PAUSE_S = 1.9
#: Bottom trunk inclination (deg) of a standing set: upper bounds of the squat and the deadlift.
SQUAT_MAX_BOTTOM_DEG = 50.0
DEADLIFT_MAX_BOTTOM_DEG = 66.0
#: Romanian deadlift or good morning: the good morning when
#: ``GM_RATIO - descent/ascent + GM_PER_DEG * (bottom - GM_BOTTOM_DEG) + GM_PER_S * (ascent - GM_ASCENT_S)``
#: is positive (durations as from `movement_s`, s; bottom trunk inclination, deg).
GM_RATIO = 1.33
GM_PER_DEG = 0.022
GM_BOTTOM_DEG = 80.0
GM_PER_S = 0.4
GM_ASCENT_S = 1.6
#: Peak speed of a minimum-jerk movement over its mean speed: people move between postures that way.
MIN_JERK_PEAK_RATIO = 1.875


def movement_s(range_deg: np.ndarray, peak_speed_dps: np.ndarray) -> np.ndarray:
    """Duration of a smooth (minimum-jerk) movement through ``range_deg`` at ``peak_speed_dps``, in s.

    Unlike phase boundaries, this does not depend on where a pause at the bottom or the top begins.
    """
    return MIN_JERK_PEAK_RATIO * np.asarray(range_deg, dtype=float) / np.asarray(peak_speed_dps, dtype=float)


def starts_from_floor(reps: pd.DataFrame) -> bool:
    """Whether a set's first rep began with the set-up at a bar on the floor (a long first bottom)."""
    return len(reps) >= 2 and float(reps["bottom_pause_s"].iloc[0]) >= SETUP_PAUSE_S


def set_features(excursions: pd.DataFrame, reps: pd.DataFrame) -> dict[str, float]:
    """Features of one set that the classification reads.

    Parameters
    ----------
    excursions
        The set's forward excursions, in order, as from `analysis.reps.find_excursions`.
    reps
        Their metrics (`analysis.metrics.REP_METRIC_COLUMNS`), same order.

    Returns
    -------
    dict
        ``top_inclination_deg`` (median top posture), ``bottom_inclination_deg`` (median deepest trunk
        inclination), ``descent_s`` and ``ascent_s`` (median `movement_s` down and up, the set-up rep
        left out), and ``from_floor`` (1.0 or 0.0, `starts_from_floor`).
    """
    from_floor = starts_from_floor(reps)
    paced = excursions.iloc[1:] if len(excursions) > 1 else excursions
    return {
        "top_inclination_deg": float(np.median(np.r_[excursions["top_start_deg"], excursions["top_end_deg"]])),
        "bottom_inclination_deg": float(np.median(excursions["bottom_deg"])),
        "descent_s": float(np.median(movement_s(paced["bottom_deg"] - paced["top_start_deg"], paced["descent_dps"]))),
        "ascent_s": float(np.median(movement_s(paced["bottom_deg"] - paced["top_end_deg"], paced["ascent_dps"]))),
        "from_floor": float(from_floor),
    }


def classify_features(features: dict[str, float]) -> str:
    """Exercise name (one of `EXERCISES`) from `set_features`."""
    top = features["top_inclination_deg"]
    if top >= BACK_EXTENSION_90_TOP_DEG:
        return "back_extension_90"
    if top >= BACK_EXTENSION_45_TOP_DEG:
        return "back_extension_45"
    bottom = features["bottom_inclination_deg"]
    if features["from_floor"] and bottom < DEADLIFT_MAX_BOTTOM_DEG:
        return "deadlift"
    if bottom < SQUAT_MAX_BOTTOM_DEG:
        return "squat"
    if bottom < DEADLIFT_MAX_BOTTOM_DEG:
        return "deadlift"
    ascent = features["ascent_s"]
    score = GM_RATIO - features["descent_s"] / ascent + GM_PER_DEG * (bottom - GM_BOTTOM_DEG) + GM_PER_S * (ascent - GM_ASCENT_S)
    return "good_morning" if score > 0 else "romanian_deadlift"
