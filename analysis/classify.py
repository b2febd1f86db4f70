"""Exercise of a set, from the posture its reps start at, how deep they go and their tempo.

Back extensions start from the bench's angle: the trunk's top posture is about 45° (45° bench) or 90°
(horizontal bench) forward instead of upright. A deadlift starts from the floor: the lifter sets up at
the bar, so the first rep holds the bottom for seconds, and the set ends with the bar put down (a last
excursion that is not a rep). Of the other standing exercises, the squat keeps the trunk most upright;
the Romanian deadlift and the good morning tip the trunk to near horizontal, the good morning a little
deeper and with an ascent nearly as slow as its descent, where the Romanian deadlift lowers slowly and
drives up fast. Those two overlap in depth and tempo (docs/analysis.md), in real lifters too
(Schellenberg et al. 2013: the same trunk kinematics). Where the sensors have
magnetometers, the bar tells them apart: on the upper back in a good morning, in the hands in a Romanian
deadlift (`analysis.bar_field`).

Every set also gets a confidence, 0.5 (a coin flip) to 1, from how far its deciding feature lies from
the rule's threshold.
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
#: Logistic scales of the confidence: degrees from an angle threshold, and units of the Romanian deadlift
#: / good morning score (the kinematic score, plus the bar-field log ratio when there is one). The score's
#: scale is calibrated on `benchmarks.accuracy`: without a magnetometer the mean confidence of those sets
#: (0.78) matches their share classified right (0.79).
CONFIDENCE_SCALE_DEG = 3.0
CONFIDENCE_SCALE_SCORE = 0.2
#: Bar field (µT) added to the thoracic and hip-level anomalies before their log ratio is taken, so that
#: two anomalies within the noise of a moving sensor (up to about 1.5 µT without a bar: orientation
#: errors of a few degrees in a 50 µT field) say little about where the bar is.
BAR_FIELD_FLOOR_UT = 2.0
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


def _confidence(margin: float, scale: float) -> float:
    """Logistic confidence of a decision whose feature lies ``margin`` past its threshold (``scale`` units)."""
    return float(1.0 / (1.0 + np.exp(-abs(margin) / scale)))


def bar_on_back_score(features: dict[str, float]) -> float:
    """Log ratio of the thoracic to the hip-level bar field (`analysis.bar_field`); 0 when not measured.

    Positive: the bar disturbs the thoracic sensor more, it rides on the upper back (good morning).
    Negative: it disturbs the lumbar (or thigh) sensor more, it hangs in the hands (Romanian deadlift).
    """
    back, hip = features.get("back_field_uT", np.nan), features.get("hip_field_uT", np.nan)
    if not (np.isfinite(back) and np.isfinite(hip)):
        return 0.0
    return float(np.log((back + BAR_FIELD_FLOOR_UT) / (hip + BAR_FIELD_FLOOR_UT)))


def good_morning_score(features: dict[str, float]) -> float:
    """Good morning (> 0) or Romanian deadlift (< 0): tempo and depth, plus the bar's place when measured."""
    ascent = features["ascent_s"]
    kinematic = (
        GM_RATIO
        - features["descent_s"] / ascent
        + GM_PER_DEG * (features["bottom_inclination_deg"] - GM_BOTTOM_DEG)
        + GM_PER_S * (ascent - GM_ASCENT_S)
    )
    return kinematic + bar_on_back_score(features)


def classify_features(features: dict[str, float]) -> tuple[str, float]:
    """Exercise name (one of `EXERCISES`) and its confidence (0.5-1) from `set_features`.

    ``features`` may also hold ``back_field_uT`` and ``hip_field_uT`` (`analysis.bar_field`), which
    decide between the Romanian deadlift and the good morning together with tempo and depth.
    """
    top = features["top_inclination_deg"]
    if top >= BACK_EXTENSION_90_TOP_DEG:
        return "back_extension_90", _confidence(top - BACK_EXTENSION_90_TOP_DEG, CONFIDENCE_SCALE_DEG)
    if top >= BACK_EXTENSION_45_TOP_DEG:
        margin = min(top - BACK_EXTENSION_45_TOP_DEG, BACK_EXTENSION_90_TOP_DEG - top)
        return "back_extension_45", _confidence(margin, CONFIDENCE_SCALE_DEG)
    top_margin = BACK_EXTENSION_45_TOP_DEG - top
    bottom = features["bottom_inclination_deg"]
    if features["from_floor"] and bottom < DEADLIFT_MAX_BOTTOM_DEG:
        return "deadlift", _confidence(min(top_margin, DEADLIFT_MAX_BOTTOM_DEG - bottom), CONFIDENCE_SCALE_DEG)
    if bottom < SQUAT_MAX_BOTTOM_DEG:
        return "squat", _confidence(min(top_margin, SQUAT_MAX_BOTTOM_DEG - bottom), CONFIDENCE_SCALE_DEG)
    if bottom < DEADLIFT_MAX_BOTTOM_DEG:
        margin = min(top_margin, bottom - SQUAT_MAX_BOTTOM_DEG, DEADLIFT_MAX_BOTTOM_DEG - bottom)
        return "deadlift", _confidence(margin, CONFIDENCE_SCALE_DEG)
    score = good_morning_score(features)
    confidence = min(
        _confidence(score, CONFIDENCE_SCALE_SCORE), _confidence(bottom - DEADLIFT_MAX_BOTTOM_DEG, CONFIDENCE_SCALE_DEG)
    )
    return ("good_morning" if score > 0 else "romanian_deadlift"), confidence
