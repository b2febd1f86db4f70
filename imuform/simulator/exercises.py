"""Exercise profiles and fault amplitudes: the numbers that make a simulated rep look like a real one.

Every range is ``(low, high)`` and drawn uniformly per set or per rep. Angles are in degrees relative to
calibrated standing neutral (docs/conventions.md), positions in metres, durations in seconds. The
sources of the numbers are in docs/simulator.md.

Clean reps follow the literature per exercise where a source exists (docs/simulator.md). A fault is
drawn per set as a margin past its limit (`truth.JudgedLimits`), continuous from a few degrees short
of it to severe (`RepModel.fault_margin_deg`), so that reps land on both sides of and close to the limit; the
truth then says from the true angles which reps earn the flag.
"""

from __future__ import annotations

from dataclasses import dataclass

EXERCISES = ("deadlift", "romanian_deadlift", "good_morning", "back_extension_45", "back_extension_90", "squat")
FAULTS = (
    "none",
    "lumbar_flexion",
    "lockout_hyperextension",
    "overarching",
    "flexion_drift",
    "asymmetry",
    "rounded_back_extension",
)
BACK_EXTENSIONS = ("back_extension_45", "back_extension_90")

Range = tuple[float, float]


@dataclass(frozen=True)
class ExerciseProfile:
    """Kinematic signature of one exercise.

    Attributes
    ----------
    top_trunk_deg, bottom_trunk_deg
        Trunk inclination at the top posture (lockout) and at the deepest point.
    clean_lumbar_deg
        Lumbar flexion at the bottom with good form.
    thoracic_deg
        Upper-thoracic flexion at the bottom.
    top_thigh_deg, bottom_thigh_deg
        Thigh inclination (negative: hip behind the knee) at top and bottom.
    hip_drop_m, hip_back_m
        How far the hip centre moves down and back at the bottom.
    eccentric_s, bottom_pause_s, concentric_s, top_pause_s
        Tempo; `dead_stop_pause_s` replaces the bottom pause when the bar rests on the floor.
    from_floor
        The bar starts and ends on the floor: the first rep begins with the set-up and the set ends
        with the bar put down (an excursion that is not a rep).
    on_bench
        The hips rest on a pad (back extensions): the hip centre stays put and the thighs are fixed.
    barbell
        A steel bar is near the sensors (magnetometer disturbance).
    bar_on_back
        The bar rests on the upper back (good morning, squat): taken from and returned to a rack.
    min_bottom_pelvis_deg
        Least forward tilt of the pelvis at the bottom, deg: the hips flex to reach the bar however round
        the back, so a rep with more lumbar flexion goes deeper instead of the pelvis tipping back
        (docs/simulator.md).
    """

    top_trunk_deg: Range
    bottom_trunk_deg: Range
    clean_lumbar_deg: Range
    thoracic_deg: Range
    top_thigh_deg: float
    bottom_thigh_deg: Range
    hip_drop_m: Range
    hip_back_m: Range
    eccentric_s: Range
    bottom_pause_s: Range
    concentric_s: Range
    top_pause_s: Range
    dead_stop_pause_s: Range = (0.6, 1.5)
    from_floor: bool = False
    on_bench: bool = False
    barbell: bool = True
    bar_on_back: bool = False
    min_bottom_pelvis_deg: float = 0.0


PROFILES: dict[str, ExerciseProfile] = {
    "deadlift": ExerciseProfile(
        top_trunk_deg=(-3.0, 1.0),
        bottom_trunk_deg=(48.0, 62.0),
        clean_lumbar_deg=(10.0, 30.0),
        thoracic_deg=(4.0, 10.0),
        top_thigh_deg=0.0,
        bottom_thigh_deg=(-70.0, -55.0),
        hip_drop_m=(0.33, 0.42),
        hip_back_m=(0.12, 0.20),
        eccentric_s=(1.0, 1.8),
        bottom_pause_s=(0.05, 0.2),
        concentric_s=(1.2, 2.2),
        top_pause_s=(0.4, 1.0),
        from_floor=True,
        min_bottom_pelvis_deg=25.0,
    ),
    "romanian_deadlift": ExerciseProfile(
        top_trunk_deg=(-2.0, 2.0),
        bottom_trunk_deg=(68.0, 88.0),
        clean_lumbar_deg=(10.0, 30.0),
        thoracic_deg=(3.0, 8.0),
        top_thigh_deg=0.0,
        bottom_thigh_deg=(-22.0, -12.0),
        hip_drop_m=(0.06, 0.12),
        hip_back_m=(0.15, 0.24),
        eccentric_s=(1.8, 3.0),
        bottom_pause_s=(0.05, 0.4),
        concentric_s=(1.0, 1.7),
        top_pause_s=(0.3, 1.0),
    ),
    "good_morning": ExerciseProfile(
        top_trunk_deg=(-1.0, 3.0),
        bottom_trunk_deg=(72.0, 92.0),
        clean_lumbar_deg=(10.0, 30.0),
        thoracic_deg=(2.0, 6.0),
        top_thigh_deg=0.0,
        bottom_thigh_deg=(-16.0, -8.0),
        hip_drop_m=(0.04, 0.09),
        hip_back_m=(0.13, 0.20),
        eccentric_s=(1.8, 2.8),
        bottom_pause_s=(0.1, 0.5),
        concentric_s=(1.2, 2.0),
        top_pause_s=(0.4, 1.0),
        bar_on_back=True,
    ),
    "back_extension_45": ExerciseProfile(
        top_trunk_deg=(40.0, 50.0),
        bottom_trunk_deg=(125.0, 140.0),
        clean_lumbar_deg=(6.0, 13.0),
        thoracic_deg=(3.0, 8.0),
        top_thigh_deg=45.0,
        bottom_thigh_deg=(45.0, 45.0),
        hip_drop_m=(0.0, 0.0),
        hip_back_m=(0.0, 0.0),
        eccentric_s=(1.2, 2.0),
        bottom_pause_s=(0.2, 0.6),
        concentric_s=(1.0, 1.8),
        top_pause_s=(0.5, 1.4),
        on_bench=True,
        barbell=False,
    ),
    "back_extension_90": ExerciseProfile(
        top_trunk_deg=(82.0, 95.0),
        bottom_trunk_deg=(158.0, 172.0),
        clean_lumbar_deg=(6.0, 13.0),
        thoracic_deg=(3.0, 8.0),
        top_thigh_deg=90.0,
        bottom_thigh_deg=(90.0, 90.0),
        hip_drop_m=(0.0, 0.0),
        hip_back_m=(0.0, 0.0),
        eccentric_s=(1.2, 2.0),
        bottom_pause_s=(0.2, 0.6),
        concentric_s=(1.0, 1.8),
        top_pause_s=(0.5, 1.4),
        on_bench=True,
        barbell=False,
    ),
    "squat": ExerciseProfile(
        top_trunk_deg=(-1.0, 3.0),
        bottom_trunk_deg=(32.0, 48.0),
        clean_lumbar_deg=(4.0, 12.0),
        thoracic_deg=(2.0, 6.0),
        top_thigh_deg=0.0,
        bottom_thigh_deg=(-100.0, -85.0),
        hip_drop_m=(0.42, 0.52),
        hip_back_m=(0.08, 0.14),
        eccentric_s=(1.2, 2.2),
        bottom_pause_s=(0.05, 0.5),
        concentric_s=(1.0, 2.0),
        top_pause_s=(0.6, 1.6),
        bar_on_back=True,
    ),
}


@dataclass(frozen=True)
class RepModel:
    """How the reps of a set vary and how far its fault goes: the numbers of docs/simulator.md ("Faults and the
    flags they earn", and the paragraph on eccentrics, sticking points and bounces). Ranges are drawn uniformly.

    Attributes
    ----------
    fault_margin_deg
        Margin past a fault's limit, deg, drawn per set (negative: the set stays short of the limit): from a few
        degrees inside it, where a clean rep could be, to severe, so reps land on both sides of and close to the
        limit. Per rep it scatters by ``rep_jitter_deg``.
    extension_margin_deg
        The margin of extension faults and asymmetry, deg: they reach less far, maximal extension being only
        20-30°.
    rom_reserve_deg
        A faulty rep stays this far inside the person's maximal flexion or extension, deg: the range-of-motion test
        is the furthest they go, not where a loaded rep ends.
    flexion_before_lockout_deg
        Lumbar flexion at the bottom of a rep that ends in a hyperextended lockout, deg (a clean amount).
    overarched_top_extra_deg
        Overarching: the lumbar angle at the top lies this much further into extension than at the bottom, deg.
    clean_top_lumbar_deg
        Lumbar angle at a clean lockout, and while getting set, deg.
    clean_asymmetry_deg
        Lateral bend and twist of clean reps, deg.
    rep_jitter_deg
        Rep-to-rep scatter of the lumbar angle at the bottom around the set's own value, deg: a lifter repeats a
        set's depth of flexion within a degree or so.
    drift_step_deg
        Flexion drift: from the onset rep the peak rises past the set's baseline by the drift limit plus the
        set's margin, then creeps up by this step per rep, deg.
    bounce_share
        Share of touch-and-go sets off the bench whose reps bounce at the bottom (the issue's fast deep bend with a
        bounce).
    bounce_deg
        How far the trunk rebounds at a bounce before sinking back by half of it, deg.
    bounce_s
        Duration of each half of a bounce, s.
    sticking_share
        Share of sets with a sticking point (heavy reps).
    sticking_at
        Where the sticking point lies, as the share of the way up.
    sticking_speed_share
        The concentric's speed at the sticking point, as a share of its mean speed.
    eccentric_halfway_at
        Every eccentric passes its halfway point at this share of its duration (the speed profile leans early or
        late instead of the symmetric minimum jerk).
    eccentric_peak_speed
        The eccentric's speed at its halfway point, in times its mean speed.
    """

    fault_margin_deg: Range = (-3.0, 15.0)
    extension_margin_deg: Range = (-3.0, 9.0)
    rom_reserve_deg: float = 2.0
    flexion_before_lockout_deg: Range = (10.0, 20.0)
    overarched_top_extra_deg: Range = (2.0, 5.0)
    clean_top_lumbar_deg: Range = (-2.5, 1.5)
    clean_asymmetry_deg: Range = (-1.5, 1.5)
    rep_jitter_deg: float = 1.0
    drift_step_deg: Range = (0.5, 2.0)
    bounce_share: float = 0.3
    bounce_deg: Range = (3.0, 7.0)
    bounce_s: Range = (0.12, 0.25)
    sticking_share: float = 0.4
    sticking_at: Range = (0.35, 0.6)
    sticking_speed_share: Range = (0.15, 0.4)
    eccentric_halfway_at: Range = (0.35, 0.65)
    eccentric_peak_speed: Range = (1.3, 1.8)


DEFAULT_REP_MODEL = RepModel()


def compatible(exercise: str, fault: str) -> bool:
    """Whether ``fault`` can be simulated on ``exercise`` (rounded back extensions only on the bench)."""
    return fault != "rounded_back_extension" or exercise in BACK_EXTENSIONS
