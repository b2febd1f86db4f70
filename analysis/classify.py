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

Anything unlike these lifts is `OTHER` and never counts as reps of a gym exercise: a bend made by the
spine while the pelvis stays nearly still (seated trunk bends: the pelvis turns by a fifth of the trunk's
excursion, where a lift tips it by a third or more because the hips hinge), and movements that bend or
twist the spine sideways more than they tip the trunk forward (side bends, twists).

Every set also gets a confidence, 0.5 (a coin flip) to 1, from how far its deciding feature lies from
the rule's threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

EXERCISES = ("deadlift", "romanian_deadlift", "good_morning", "back_extension_45", "back_extension_90", "squat")
#: The class of a set that is none of `EXERCISES` (seated bends, side bends, twists, reaching, ...).
OTHER = "other"
#: Every class a set can get: the gym exercises and `OTHER`.
CLASSES = (*EXERCISES, OTHER)


@dataclass(frozen=True)
class ExerciseRules:
    """The exercise classifier's thresholds (`classify_features`), in units, with where each comes from.

    Honestly: apart from the back extensions' bench angles, every threshold was set in the gaps between
    the simulator's own exercise profiles (docs/simulator.md) and checked on `benchmarks/accuracy.py`;
    none has been fitted to, or checked on, real lifters yet. The `OTHER` thresholds were also checked on
    TrunkyXL pp02's seated trials (`benchmarks/validate_real.py`), which the simulator's seated bends
    take their pelvis share from, so that check is not independent.

    Attributes
    ----------
    back_extension_90_top_deg, back_extension_45_top_deg
        Top-posture trunk inclination above which a set is a 90° back extension, and a 45° one: midway
        between the benches' 45° and 90° and between upright and 45°.
    setup_pause_s
        A first rep that stays this long in its bottom zone (`analysis.metrics` ``bottom_pause_s``)
        began with the set-up at a bar on the floor, s: in the gap between the simulator's set-up
        (1.5-3 s) and its longest bottom pauses (dead stops, 0.6-1.5 s).
    squat_max_bottom_deg, deadlift_max_bottom_deg
        Bottom trunk inclination of a standing set below which it is a squat, and a deadlift: in the
        gaps between the simulator's squat (32-48°), deadlift (48-62°) and hinge (68-92°) depths.
    gm_ratio, gm_per_deg, gm_bottom_deg, gm_per_s, gm_ascent_s
        Romanian deadlift or good morning: the good morning when ``gm_ratio - descent/ascent + gm_per_deg *
        (bottom - gm_bottom_deg) + gm_per_s * (ascent - gm_ascent_s)`` (plus `bar_on_back_score`) is
        positive; durations from `movement_s`, s; bottom trunk inclination, deg. Set between the
        simulator's tempo and depth profiles of the two.
    confidence_scale_deg, confidence_scale_score
        Logistic scales of the confidence: degrees from an angle threshold, and units of the Romanian
        deadlift / good morning score. The score's scale is calibrated on `benchmarks.accuracy`: without
        a magnetometer the mean confidence of those sets matched their share classified right (first
        simulator: 0.78 and 0.79).
    bar_field_floor_uT
        Bar field added to the thoracic and hip-level anomalies before their log ratio is taken, µT, so
        that two anomalies within the noise of a moving sensor (up to about 1.5 µT without a bar:
        orientation errors of a few degrees in a 50 µT field) say little about where the bar is.
    other_max_pelvis_share
        A set with a rep that turns the pelvis (the lumbar sensor) by less than this share of the trunk's
        excursion (`set_features` ``pelvis_share``) is `OTHER`: a bend of the spine with the pelvis held,
        as when seated. Between TrunkyXL pp02's seated flexions (0.17-0.25 per rep) and the simulator's
        lifts (lowest rep of 122 standing sets 0.33; a deadlift keeps its pelvis tipped at least 25°
        however round the back, docs/simulator.md). Narrow on both sides: see docs/analysis.md.
    other_min_sideways_share
        A set whose reps bend or twist the lumbar spine sideways by more than this share of the trunk's
        forward excursion (`set_features` ``sideways_share``) is `OTHER` (side bends, twists): the
        asymmetry of a lift stays far below its forward excursion (simulated faults: at most 0.7, 21° at
        30° and more); a side bend of 45° that tips the trunk forward by 25° reaches 1.8.
    confidence_scale_share
        Logistic scale of the confidence of an `OTHER` decision, in units of the pelvis share.
    bar_evidence_min_uT
        The bar's field counts only when the larger anomaly reaches this, µT. Among a realistic gym's
        steel (racks, plates, steel carried past; a bar's remanence of 1-5 µT at 15 cm,
        `imuform.simulator.magnetics.GymMagneticsModel`) the largest anomaly of 22 simulated Romanian
        deadlift and good morning sets was 2.2 µT and told the two apart no better than chance; below
        this floor the magnetometer turned as many sets wrong as right (`benchmarks/accuracy.py`).
    """

    back_extension_90_top_deg: float = 67.5
    back_extension_45_top_deg: float = 22.5
    setup_pause_s: float = 1.9
    squat_max_bottom_deg: float = 50.0
    deadlift_max_bottom_deg: float = 66.0
    gm_ratio: float = 1.33
    gm_per_deg: float = 0.022
    gm_bottom_deg: float = 80.0
    gm_per_s: float = 0.4
    gm_ascent_s: float = 1.6
    confidence_scale_deg: float = 3.0
    confidence_scale_score: float = 0.2
    bar_field_floor_uT: float = 2.0
    bar_evidence_min_uT: float = 3.0
    other_max_pelvis_share: float = 0.28
    other_min_sideways_share: float = 1.0
    confidence_scale_share: float = 0.05


DEFAULT_EXERCISE_RULES = ExerciseRules()

#: Peak speed of a minimum-jerk movement over its mean speed: people move between postures that way.
MIN_JERK_PEAK_RATIO = 1.875


def movement_s(range_deg: np.ndarray, peak_speed_dps: np.ndarray) -> np.ndarray:
    """Duration of a smooth (minimum-jerk) movement through ``range_deg`` at ``peak_speed_dps``, in s.

    Unlike phase boundaries, this does not depend on where a pause at the bottom or the top begins.
    """
    return MIN_JERK_PEAK_RATIO * np.asarray(range_deg, dtype=float) / np.asarray(peak_speed_dps, dtype=float)


def starts_from_floor(reps: pd.DataFrame, rules: ExerciseRules = DEFAULT_EXERCISE_RULES) -> bool:
    """Whether a set's first rep began with the set-up at a bar on the floor (a long first bottom)."""
    return len(reps) >= 2 and float(reps["bottom_pause_s"].iloc[0]) >= rules.setup_pause_s


def set_features(
    excursions: pd.DataFrame, reps: pd.DataFrame, rules: ExerciseRules = DEFAULT_EXERCISE_RULES
) -> dict[str, float]:
    """Features of one set that the classification reads.

    Parameters
    ----------
    excursions
        The set's forward excursions, in order, as from `analysis.reps.find_excursions`.
    reps
        Their metrics (`analysis.metrics.REP_METRIC_COLUMNS`), same order.
    rules
        The thresholds (``setup_pause_s``).

    Returns
    -------
    dict
        ``top_inclination_deg`` (median top posture), ``bottom_inclination_deg`` (median deepest trunk
        inclination), ``descent_s`` and ``ascent_s`` (median `movement_s` down and up, the set-up rep
        left out), ``from_floor`` (1.0 or 0.0, `starts_from_floor`), ``pelvis_share`` (lowest over the
        reps of the pelvis's inclination range over the trunk's: sitting down and standing up around
        seated bends tip the pelvis and may join them in a set, the bends do not) and ``sideways_share`` (median over the
        reps of the larger of the peak lateral bend and twist over the trunk's inclination range).
    """
    from_floor = starts_from_floor(reps, rules)
    # numpy columns: pandas arithmetic costs more than the figures of a set's few reps
    columns = ("top_start_deg", "top_end_deg", "bottom_deg", "descent_dps", "ascent_dps")
    ex = {c: excursions[c].to_numpy(dtype=float) for c in columns}
    paced = {c: v[1:] if len(v) > 1 else v for c, v in ex.items()}
    trunk_range = reps["trunk_inclination_range_deg"].to_numpy(dtype=float)
    pelvis_share = reps["pelvis_inclination_range_deg"].to_numpy(dtype=float) / trunk_range
    sideways = np.fmax(
        np.abs(reps["peak_lateral_bend_deg"].to_numpy(dtype=float)),
        np.abs(reps["peak_twist_deg"].to_numpy(dtype=float)),
    )
    return {
        "top_inclination_deg": float(np.median(np.r_[ex["top_start_deg"], ex["top_end_deg"]])),
        "bottom_inclination_deg": float(np.median(ex["bottom_deg"])),
        "descent_s": float(np.median(movement_s(paced["bottom_deg"] - paced["top_start_deg"], paced["descent_dps"]))),
        "ascent_s": float(np.median(movement_s(paced["bottom_deg"] - paced["top_end_deg"], paced["ascent_dps"]))),
        "from_floor": float(from_floor),
        # a rep inside a lumbar sensor gap has no pelvis or bend figures: the others decide
        "pelvis_share": finite_stat(np.min, pelvis_share),
        "sideways_share": finite_stat(np.nanmedian, sideways / trunk_range),
    }


def finite_stat(reduce: Callable[[np.ndarray], float], x: np.ndarray) -> float:
    """``reduce(x)`` over the finite values of ``x``, NaN when there are none (as pandas reduces a column of
    figures, whose missing values are NaN)."""
    x = x[np.isfinite(x)]
    return float(reduce(x)) if len(x) else float("nan")


def _confidence(margin: float, scale: float) -> float:
    """Logistic confidence of a decision whose feature lies ``margin`` past its threshold (``scale`` units)."""
    return float(1.0 / (1.0 + np.exp(-abs(margin) / scale)))


def bar_on_back_score(features: dict[str, float], rules: ExerciseRules = DEFAULT_EXERCISE_RULES) -> float:
    """Log ratio of the thoracic to the hip-level bar field (`analysis.bar_field`); 0 when not measured or too
    weak to be evidence (``rules.bar_evidence_min_uT``).

    Positive: the bar disturbs the thoracic sensor more, it rides on the upper back (good morning).
    Negative: it disturbs the lumbar (or thigh) sensor more, it hangs in the hands (Romanian deadlift).
    """
    back, hip = features.get("back_field_uT", np.nan), features.get("hip_field_uT", np.nan)
    if not (np.isfinite(back) and np.isfinite(hip)) or max(back, hip) < rules.bar_evidence_min_uT:
        return 0.0
    return float(np.log((back + rules.bar_field_floor_uT) / (hip + rules.bar_field_floor_uT)))


#: The classes the bar's field decides between: `good_morning_score` is the only reader of the bar-field features
#: (`analysis.bar_field`), so a set that `classify_features` puts in neither class without them keeps its class.
BAR_FIELD_CLASSES = ("good_morning", "romanian_deadlift")


def good_morning_score(features: dict[str, float], rules: ExerciseRules = DEFAULT_EXERCISE_RULES) -> float:
    """Good morning (> 0) or Romanian deadlift (< 0): tempo and depth, plus the bar's place when measured."""
    ascent = features["ascent_s"]
    kinematic = (
        rules.gm_ratio
        - features["descent_s"] / ascent
        + rules.gm_per_deg * (features["bottom_inclination_deg"] - rules.gm_bottom_deg)
        + rules.gm_per_s * (ascent - rules.gm_ascent_s)
    )
    return kinematic + bar_on_back_score(features, rules)


def other_margin(features: dict[str, float], rules: ExerciseRules = DEFAULT_EXERCISE_RULES) -> float:
    """How far a standing set lies on the `OTHER` side of its rules (> 0: other), in units of the pelvis
    share (``sideways_share`` scaled to it by the two thresholds); NaN features say nothing."""
    margins = [
        rules.other_max_pelvis_share - features.get("pelvis_share", np.nan),
        (features.get("sideways_share", np.nan) / rules.other_min_sideways_share - 1.0) * rules.other_max_pelvis_share,
    ]
    finite = [m for m in margins if np.isfinite(m)]
    return max(finite) if finite else -np.inf


def classify_features(features: dict[str, float], rules: ExerciseRules = DEFAULT_EXERCISE_RULES) -> tuple[str, float]:
    """Class (one of `CLASSES`) and its confidence (0.5-1) from `set_features`.

    ``features`` may also hold ``back_field_uT`` and ``hip_field_uT`` (`analysis.bar_field`), which
    decide between the Romanian deadlift and the good morning together with tempo and depth.
    """
    r = rules
    top = features["top_inclination_deg"]
    if top >= r.back_extension_90_top_deg:
        return "back_extension_90", _confidence(top - r.back_extension_90_top_deg, r.confidence_scale_deg)
    if top >= r.back_extension_45_top_deg:
        margin = min(top - r.back_extension_45_top_deg, r.back_extension_90_top_deg - top)
        return "back_extension_45", _confidence(margin, r.confidence_scale_deg)
    top_margin = r.back_extension_45_top_deg - top
    other = other_margin(features, rules)
    if other > 0:
        return OTHER, _confidence(other, r.confidence_scale_share)
    other_confidence = _confidence(other, r.confidence_scale_share) if np.isfinite(other) else 1.0
    name, confidence = _standing_lift(features, top_margin, rules)
    return name, min(confidence, other_confidence)


def _standing_lift(features: dict[str, float], top_margin: float, rules: ExerciseRules) -> tuple[str, float]:
    """Deadlift, squat, Romanian deadlift or good morning, and the confidence, of a standing set."""
    r = rules
    bottom = features["bottom_inclination_deg"]
    if features["from_floor"]:
        return "deadlift", _confidence(top_margin, r.confidence_scale_deg)
    if bottom < r.squat_max_bottom_deg:
        return "squat", _confidence(min(top_margin, r.squat_max_bottom_deg - bottom), r.confidence_scale_deg)
    if bottom < r.deadlift_max_bottom_deg:
        margin = min(top_margin, bottom - r.squat_max_bottom_deg, r.deadlift_max_bottom_deg - bottom)
        return "deadlift", _confidence(margin, r.confidence_scale_deg)
    score = good_morning_score(features, rules)
    confidence = min(
        _confidence(score, r.confidence_scale_score),
        _confidence(bottom - r.deadlift_max_bottom_deg, r.confidence_scale_deg),
    )
    return ("good_morning" if score > 0 else "romanian_deadlift"), confidence
