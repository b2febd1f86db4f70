"""Exercise classification: bench angle, set-up at the floor, depth and tempo; on synthetic and simulated sets."""

from __future__ import annotations

import pytest

from analysis import EXERCISES, analyze_angles
from analysis.classify import classify_features
from imuform.simulator import SessionSpec, SetSpec, simulate_session
from tests.angle_synth import Rep, build, rest


def _exercise_of(parts) -> tuple[str, int]:
    sets, _ = analyze_angles(build(parts, rate_hz=50.0))
    assert len(sets) == 1
    return sets.loc[0, "exercise"], int(sets.loc[0, "rep_count"])


@pytest.mark.parametrize(("top_deg", "name"), [(45.0, "back_extension_45"), (90.0, "back_extension_90")])
def test_back_extensions_by_bench_angle(top_deg, name):
    bench = {"trunk_inclination_deg": top_deg, "pelvis_inclination_deg": top_deg}
    parts = [rest(3), rest(2, **bench), *[Rep(top_deg=top_deg, depth_deg=75, top_s=0.6) for _ in range(6)], rest(2, **bench), rest(3)]
    assert _exercise_of(parts) == (name, 6)


def test_squat_is_a_squat_not_a_hinge():
    assert _exercise_of([rest(3), *[Rep(depth_deg=40, hip_share=0.9) for _ in range(5)], rest(3)]) == ("squat", 5)


def test_deadlift_from_the_floor_drops_the_put_down():
    # set-up: the first rep waits at the bar; the last excursion puts the bar down and is not a rep
    parts = [rest(3), Rep(depth_deg=55, bottom_s=2.5), *[Rep(depth_deg=55, bottom_s=0.8) for _ in range(4)], Rep(depth_deg=55, bottom_s=1.0), rest(3)]
    assert _exercise_of(parts) == ("deadlift", 5)


def test_romanian_deadlift_and_good_morning_by_tempo_and_depth():
    rdl = [rest(3), *[Rep(depth_deg=74, eccentric_s=2.6, concentric_s=1.3, bottom_s=0.2) for _ in range(6)], rest(3)]
    gm = [rest(3), *[Rep(depth_deg=86, eccentric_s=2.2, concentric_s=2.0, bottom_s=0.3) for _ in range(6)], rest(3)]
    assert _exercise_of(rdl) == ("romanian_deadlift", 6)
    assert _exercise_of(gm) == ("good_morning", 6)


def test_every_rule_names_a_known_exercise():
    for top in (0.0, 40.0, 85.0):
        for bottom in (40.0, 60.0, 75.0, 90.0):
            for floor in (0.0, 1.0):
                name = classify_features({"top_inclination_deg": top, "bottom_inclination_deg": top + bottom,
                                          "descent_s": 2.0, "ascent_s": 1.5, "from_floor": floor})
                assert name in EXERCISES


@pytest.fixture(scope="module")
def simulated():
    """One ideal session, 50 Hz, with the clearly separable exercises and the between-set activity."""
    spec = SessionSpec(
        sets=[SetSpec("deadlift", 4), SetSpec("squat", 5), SetSpec("back_extension_45", 6), SetSpec("back_extension_90", 4)],
        rate_hz=50.0, seed=3, ideal=True, magnetometer=False, rest_s=(25.0, 35.0),
    )
    return simulate_session(spec)


def test_simulated_sets_are_found_counted_and_named(simulated):
    sets, _ = analyze_angles(simulated.truth_angles)
    truth = simulated.truth["sets"]
    assert sets["exercise"].tolist() == [s["exercise"] for s in truth]
    assert sets["rep_count"].tolist() == [s["rep_count"] for s in truth]
