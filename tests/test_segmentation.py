"""Sets are found among everything else a lifter does: rest, walking, stairs, reaching, sitting, leaning."""

from __future__ import annotations

import numpy as np

from analysis.reps import find_excursions
from analysis.segmentation import assign_sets
from tests.angle_synth import Rep, build, gesture, rest


def _walk(seconds: float) -> tuple:
    """Walking: small trunk, bend and twist oscillations at the step rate."""
    return rest(
        seconds,
        trunk_inclination_deg=lambda t: 4 + 2 * np.sin(2 * np.pi * 1.8 * t),
        pelvis_inclination_deg=lambda t: 3 + 3 * np.sin(2 * np.pi * 1.8 * t),
        lumbar_lateral_bend_deg=lambda t: 4 * np.sin(2 * np.pi * 0.9 * t),
        lumbar_twist_deg=lambda t: 6 * np.sin(2 * np.pi * 0.9 * t),
    )


def _stairs(seconds: float) -> tuple:
    """Climbing stairs: the trunk leans forward 10–15° and rocks with each step."""
    return rest(
        seconds,
        trunk_inclination_deg=lambda t: 12 + 4 * np.sin(2 * np.pi * 1.2 * t),
        pelvis_inclination_deg=lambda t: 10 + 8 * np.sin(2 * np.pi * 1.2 * t),
    )


def _sit_down_and_up() -> list:
    """Sit: lean forward while lowering, then sit with a posteriorly tilted pelvis; later stand up."""
    seated = {"trunk_inclination_deg": 8.0, "pelvis_inclination_deg": -18.0, "lumbar_flexion_deg": 25.0}

    def move(a: dict, b: dict, lean_deg: float, seconds: float = 2.0) -> tuple:
        def col(c: str):
            return lambda t: (
                a.get(c, 0.0)
                + (b.get(c, 0.0) - a.get(c, 0.0)) * t / seconds
                + (
                    lean_deg * np.sin(np.pi * t / seconds) ** 2
                    if c in ("trunk_inclination_deg", "pelvis_inclination_deg")
                    else 0.0
                )
            )

        return rest(
            seconds, **{c: col(c) for c in ("trunk_inclination_deg", "pelvis_inclination_deg", "lumbar_flexion_deg")}
        )

    return [move({}, seated, 35.0), rest(10, **seated), move(seated, {}, 40.0)]


def test_sets_are_separated_from_everything_else():
    parts = [
        _walk(10),
        rest(3),
        *[Rep(top_s=1.5) for _ in range(5)],
        rest(20),
        _walk(8),
        *[
            gesture("trunk_inclination_deg", -25, lumbar_flexion_deg=0.6, pelvis_inclination_deg=0.3) for _ in range(3)
        ],  # leaning back
        rest(3),
        *[gesture("lumbar_lateral_bend_deg", 30 * side) for side in (1, -1, 1)],
        *[gesture("lumbar_twist_deg", 35 * side) for side in (1, -1, 1)],
        gesture("trunk_inclination_deg", -15, lumbar_flexion_deg=0.8),  # reaching overhead
        _stairs(10),
        rest(3),
        *_sit_down_and_up(),
        rest(5),
        Rep(depth_deg=70),
        rest(15),  # a lone bend: picking something up
        *[Rep(depth_deg=80, hip_share=0.9, top_s=0.5) for _ in range(6)],
        rest(10),
        _walk(5),
    ]
    found = find_excursions(build(parts, rate_hz=50.0))
    sets = assign_sets(found)
    assert np.bincount(sets)[1:].tolist() == [5, 6]


def test_rest_splits_sets_and_pauses_inside_a_set_do_not():
    parts = [rest(2), *[Rep(top_s=2.5) for _ in range(3)], rest(30), *[Rep(top_s=0.3) for _ in range(4)], rest(2)]
    sets = assign_sets(find_excursions(build(parts, rate_hz=50.0)))
    assert sets.tolist() == [1, 1, 1, 2, 2, 2, 2]


def test_a_change_of_posture_starts_a_new_set():
    bench = {"trunk_inclination_deg": 45.0, "pelvis_inclination_deg": 45.0}
    parts = [
        rest(2),
        *[Rep() for _ in range(3)],
        rest(1),
        rest(2, **bench),
        *[Rep(top_deg=45.0, top_s=0.5) for _ in range(4)],
        rest(2, **bench),
    ]
    sets = assign_sets(find_excursions(build(parts, rate_hz=50.0)))
    assert sets.tolist() == [1, 1, 1, 2, 2, 2, 2]


def test_no_excursions_no_sets():
    assert assign_sets(find_excursions(build([_walk(10)]))).size == 0
