"""Exercise classification: bench angle, set-up at the floor, depth and tempo, and where the bar is (its
magnetic field); on synthetic and simulated sets, through `analysis` and `imuform analyze`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from analysis import DEFAULT_LIMITS, EXERCISES, OTHER, analyze_angles, analyze_session
from analysis.bar_field import (
    FieldSeries,
    across_change_uT,
    fit_vertical_field,
    riding_field_uT,
    riding_fields_uT,
    tilt_spread_deg,
    tilting_anomaly_uT,
    vertical_anomaly_uT,
    window_tilt_spreads_deg,
)
from analysis.classify import bar_on_back_score, classify_features, other_margin
from imuform.cli.main import main
from imuform.simulator import SessionSpec, SetSpec, simulate_session
from imuform.simulator.magnetics import earth_field_uT
from imuform.store import Store
from tests.angle_synth import Rep, build, rest


def _exercise_of(parts, **kwargs) -> tuple[str, int]:
    sets, _ = analyze_angles(build(parts, rate_hz=50.0), **kwargs)
    assert len(sets) == 1
    assert 0.5 <= sets.loc[0, "exercise_confidence"] <= 1.0
    return sets.loc[0, "exercise"], int(sets.loc[0, "rep_count"])


@pytest.mark.parametrize(("top_deg", "name"), [(45.0, "back_extension_45"), (90.0, "back_extension_90")])
def test_back_extensions_by_bench_angle(top_deg, name):
    bench = {"trunk_inclination_deg": top_deg, "pelvis_inclination_deg": top_deg}
    parts = [
        rest(3),
        rest(2, **bench),
        *[Rep(top_deg=top_deg, depth_deg=75, top_s=0.6) for _ in range(6)],
        rest(2, **bench),
        rest(3),
    ]
    assert _exercise_of(parts) == (name, 6)


def test_squat_is_a_squat_not_a_hinge():
    assert _exercise_of([rest(3), *[Rep(depth_deg=40, hip_share=0.9) for _ in range(5)], rest(3)]) == ("squat", 5)


def test_deadlift_from_the_floor_drops_the_put_down():
    # set-up: the first rep waits at the bar; the last excursion puts the bar down and is not a rep
    parts = [
        rest(3),
        Rep(depth_deg=55, bottom_s=2.5),
        *[Rep(depth_deg=55, bottom_s=0.8) for _ in range(4)],
        Rep(depth_deg=55, bottom_s=1.0),
        rest(3),
    ]
    assert _exercise_of(parts) == ("deadlift", 5)


def test_romanian_deadlift_and_good_morning_by_tempo_and_depth():
    rdl = [rest(3), *[Rep(depth_deg=74, eccentric_s=2.6, concentric_s=1.3, bottom_s=0.2) for _ in range(6)], rest(3)]
    gm = [rest(3), *[Rep(depth_deg=86, eccentric_s=2.2, concentric_s=2.0, bottom_s=0.3) for _ in range(6)], rest(3)]
    assert _exercise_of(rdl) == ("romanian_deadlift", 6)
    assert _exercise_of(gm) == ("good_morning", 6)


def test_the_lifter_can_state_the_exercise():
    gm_like = [
        rest(3),
        *[Rep(depth_deg=86, eccentric_s=2.2, concentric_s=2.0, bottom_s=0.3) for _ in range(6)],
        rest(3),
    ]
    sets, _ = analyze_angles(build(gm_like, rate_hz=50.0), exercise="romanian_deadlift")
    assert sets["exercise"].tolist() == ["romanian_deadlift"] and sets["exercise_confidence"].tolist() == [1.0]
    with pytest.raises(ValueError, match="unknown exercise 'stiff_leg'"):
        analyze_angles(build(gm_like, rate_hz=50.0), exercise="stiff_leg")


def test_every_rule_names_a_known_exercise_with_a_confidence():
    for top in (0.0, 40.0, 85.0):
        for bottom in (40.0, 60.0, 75.0, 90.0):
            for floor in (0.0, 1.0):
                name, confidence = classify_features(
                    {
                        "top_inclination_deg": top,
                        "bottom_inclination_deg": top + bottom,
                        "descent_s": 2.0,
                        "ascent_s": 1.5,
                        "from_floor": floor,
                    }
                )
                assert name in EXERCISES and 0.5 <= confidence <= 1.0


def test_the_bar_field_outweighs_an_ambiguous_tempo():
    # a tempo and depth right between the two exercises: the bar's place decides, and confidently
    hinge = {
        "top_inclination_deg": 0.0,
        "bottom_inclination_deg": 80.0,
        "descent_s": 2.2,
        "ascent_s": 1.7,
        "from_floor": 0.0,
    }
    _, unsure = classify_features(hinge)
    on_back = classify_features({**hinge, "back_field_uT": 12.0, "hip_field_uT": 1.5})
    in_hands = classify_features({**hinge, "back_field_uT": 1.5, "hip_field_uT": 8.0})
    assert on_back[0] == "good_morning" and in_hands[0] == "romanian_deadlift"
    assert min(on_back[1], in_hands[1]) > 0.95 > unsure
    assert bar_on_back_score({**hinge, "back_field_uT": float("nan"), "hip_field_uT": 3.0}) == 0.0
    # anomalies as weak as a real bar's remanence among gym steel are no evidence
    assert bar_on_back_score({**hinge, "back_field_uT": 2.0, "hip_field_uT": 0.2}) == 0.0
    assert classify_features({**hinge, "back_field_uT": 0.3, "hip_field_uT": 2.1}) == classify_features(hinge)


def _sweep(n: int = 400):
    """A sensor tipping forward 0-85° and back, twice, about its y axis (world up in the sensor frame)."""
    tilt_rad = np.radians(85.0) * (0.5 - 0.5 * np.cos(np.linspace(0.0, 4.0 * np.pi, n)))
    rot = Rotation.from_euler("y", tilt_rad[:, None])  # R_world_sensor
    return tilt_rad, rot, rot.inv().apply([0.0, 0.0, 1.0])


def test_fit_vertical_field_finds_the_offset_from_bends_and_turns():
    rng = np.random.default_rng(1)
    rot = Rotation.from_euler("zy", np.column_stack([rng.uniform(-np.pi, np.pi, 600), rng.uniform(0.0, 1.6, 600)]))
    offset = np.array([6.0, -11.0, 3.0])
    earth = earth_field_uT(30.0)
    field = rot.inv().apply(earth) + offset + rng.normal(0.0, 0.4, (600, 3))
    found, vertical, misfit = fit_vertical_field(field, rot.inv().apply([0.0, 0.0, 1.0]))
    assert np.allclose(found, offset, atol=0.3) and vertical == pytest.approx(earth[2], abs=0.3) and misfit < 0.6


def test_a_bar_that_tilts_with_the_sensor_and_one_that_stays_put():
    tilt_rad, rot, up = _sweep()
    earth = earth_field_uT(70.0)
    time_s = np.arange(len(up)) / 50.0
    on_back = rot.inv().apply(earth) + [6.0, 2.0, -5.0]  # rides with the sensor: 7.8 µT across the y axis
    # in the hands: a steady part, and a part across the body that grows as the sensor comes closer
    in_hands = rot.inv().apply(
        earth + [5.0, 0.0, -4.0] + np.outer(0.5 + 0.5 * tilt_rad / tilt_rad.max(), [0.0, 8.0, 0.0])
    )
    for field, riding, across in ((on_back, (7.0, 8.5), (0.0, 0.3)), (in_hands, (0.0, 0.5), (3.0, 4.5))):
        series = FieldSeries(
            time_s, field, up, rot.as_quat(scalar_first=True), vertical_anomaly_uT(field, up, earth[2]), 0.0
        )
        assert riding[0] <= riding_field_uT(series, 0.0, time_s[-1]) <= riding[1]
        assert across[0] <= across_change_uT(series, 0.0, time_s[-1]) <= across[1]
    # a bar that stays put still disturbs the vertical field: a sign of a bar, not of where it is
    assert (
        tilting_anomaly_uT(
            FieldSeries(
                time_s, in_hands, up, rot.as_quat(scalar_first=True), vertical_anomaly_uT(in_hands, up, earth[2]), 0.0
            ),
            0.0,
            time_s[-1],
        )
        > 3.0
    )


def test_the_tilt_spreads_of_many_windows_are_each_window_s_own():
    rng = np.random.default_rng(3)
    up = rng.normal(size=(3000, 3)) + [0.0, 0.0, 3.0]
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    starts = rng.integers(0, 2000, 100)
    ends = starts + rng.choice([0, 1, 2, 599, 600], 100)  # windows of a few lengths, empty ones too
    want = [tilt_spread_deg(up[i0:i1], 1) if i1 > i0 else np.nan for i0, i1 in zip(starts, ends)]
    # the same but for the last bits of a cosine near 1, which arccos magnifies to a millionth of a degree
    np.testing.assert_allclose(window_tilt_spreads_deg(up, starts, ends), want, atol=1e-5)


def test_one_bend_in_a_long_upright_baseline_is_enough_tilt():
    _, _, up = _sweep(100)
    upright = np.tile([0.0, 0.0, 1.0], (5000, 1))
    assert tilt_spread_deg(np.vstack([upright, up]), 25) > 60.0
    assert tilt_spread_deg(np.vstack([upright, up[:3]]), 25) < 1.0


@pytest.fixture(scope="module")
def hinges():
    """One realistic session at 50 Hz with magnetometers: a Romanian deadlift set and a good morning set."""
    spec = SessionSpec(
        sets=[SetSpec("romanian_deadlift", 5), SetSpec("good_morning", 5)], rate_hz=50.0, seed=11, rest_s=(30.0, 40.0)
    )
    return simulate_session(spec)


def test_a_realistic_gym_magnetometer_never_makes_the_hinges_worse(hinges):
    # The first simulator's bar rode on the thoracic sensor with 10-25 µT and told the two apart by
    # construction; a real bar's remanence (a few µT at 15 cm) barely reaches the sensors, among racks,
    # plates and steel carried past (`magnetics.GymMagneticsModel`). What must hold: both are hinges, and
    # the magnetometer changes no answer the motion got right.
    with_mag = analyze_session(hinges.samples)
    without = analyze_session(hinges.samples.drop(columns=["mag_x", "mag_y", "mag_z"]))
    assert without.sets["rep_count"].tolist() == with_mag.sets["rep_count"].tolist() == [5, 5]
    hinge = {"romanian_deadlift", "good_morning"}
    assert set(with_mag.sets["exercise"]) <= hinge and set(without.sets["exercise"]) <= hinge
    truth = ["romanian_deadlift", "good_morning"]
    for true, found, found_without in zip(truth, with_mag.sets["exercise"], without.sets["exercise"]):
        assert found == true or found_without != true


def test_analyze_exercise_option(capsys, home, hinges):
    with Store(home) as store:
        sid = store.import_samples(hinges.samples, name="hinges")
    assert main(["analyze", sid, "--exercise", "good_morning", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(s["exercise"], s["exercise_confidence"]) for s in doc["sets"]] == [("good_morning", 1.0)] * 2
    assert main(["analyze", sid, "--exercise", "clean"]) == 2
    assert "clean" in capsys.readouterr().err


@pytest.fixture(scope="module")
def simulated():
    """One ideal session, 50 Hz, with the clearly separable exercises and the between-set activity."""
    spec = SessionSpec(
        sets=[
            SetSpec("deadlift", 4),
            SetSpec("squat", 5),
            SetSpec("back_extension_45", 6),
            SetSpec("back_extension_90", 4),
        ],
        rate_hz=50.0,
        seed=3,
        ideal=True,
        magnetometer=False,
        rest_s=(25.0, 35.0),
    )
    return simulate_session(spec)


def test_simulated_sets_are_found_counted_and_named(simulated):
    sets, _ = analyze_angles(simulated.truth_angles)
    truth = simulated.truth["sets"]
    assert sets["exercise"].tolist() == [s["exercise"] for s in truth]
    assert sets["rep_count"].tolist() == [s["rep_count"] for s in truth]


def _seated_bends(first_hold_s: float = 0.5) -> list:
    # the pelvis turns by 15 % of the trunk's excursion: the spine makes the bend
    holds = [first_hold_s, 0.5, 0.5, 0.5]
    return [rest(3), *[Rep(depth_deg=45, hip_share=0.15, lumbar_share=0.85, bottom_s=h) for h in holds], rest(3)]


@pytest.mark.parametrize("first_hold_s", [0.5, 3.0])
def test_seated_bends_are_other_and_earn_no_flags(first_hold_s):
    # a stretch held 3 s at the first bend is no deadlift set-up
    sets, reps = analyze_angles(build(_seated_bends(first_hold_s), rate_hz=50.0))
    assert sets["exercise"].tolist() == ["other"]
    assert 0.5 <= sets.loc[0, "exercise_confidence"] <= 1.0
    # the lumbar spine flexes 38°, past the default flexion limit, but a seated bend is no lift
    assert reps["peak_lumbar_flexion_deg"].min() > DEFAULT_LIMITS.flexion_limit_deg
    assert all(flags == [] for flags in reps["flags"]) and sets.loc[0, "flag_counts"] == {}


def test_side_bends_that_tip_the_trunk_forward_are_other():
    bends = [Rep(depth_deg=30, bend_deg=side * 45.0, hip_share=0.5, lumbar_share=0.5) for side in (1, -1, 1, -1)]
    assert _exercise_of([rest(3), *bends, rest(3)]) == ("other", 4)


def test_the_lifters_label_wins_over_other():
    table = build(_seated_bends(), rate_hz=50.0)
    sets, reps = analyze_angles(table, exercise="good_morning")
    assert sets["exercise"].tolist() == ["good_morning"] and sets["exercise_confidence"].tolist() == [1.0]
    assert any(flags for flags in reps["flags"])
    sets, _ = analyze_angles(build([rest(3), *[Rep(depth_deg=60) for _ in range(4)], rest(3)]), exercise="other")
    assert sets["exercise"].tolist() == ["other"]


@pytest.mark.parametrize(
    ("pelvis_share", "sideways_share", "other"),
    [
        (0.2, 0.0, True),
        (0.27, 0.1, True),
        (0.29, 0.1, False),
        (0.6, 0.7, False),
        (0.6, 1.2, True),
        (np.nan, np.nan, False),
    ],
)
def test_other_by_the_pelvis_share_and_sideways_share(pelvis_share, sideways_share, other):
    features = {
        "top_inclination_deg": 0.0,
        "bottom_inclination_deg": 75.0,
        "descent_s": 2.0,
        "ascent_s": 1.5,
        "from_floor": 1.0,
        "pelvis_share": pelvis_share,
        "sideways_share": sideways_share,
    }
    name, confidence = classify_features(features)
    assert (name == OTHER) is other and 0.5 <= confidence <= 1.0
    assert (other_margin(features) > 0) is other


def test_a_set_named_afterwards_keeps_its_name():
    table = build([*_seated_bends(), rest(10), *[Rep(depth_deg=75) for _ in range(4)], rest(3)], rate_hz=50.0)
    sets, _ = analyze_angles(table)
    assert sets["exercise"].tolist()[0] == "other" and sets["exercise"].tolist()[1] != "other"
    sets, _ = analyze_angles(table, set_exercises={2: "good_morning", 1: "squat"})
    assert sets["exercise"].tolist() == ["squat", "good_morning"] and sets["exercise_confidence"].tolist() == [1.0, 1.0]
    sets, _ = analyze_angles(table, exercise="deadlift", set_exercises={1: "other"})
    assert sets["exercise"].tolist() == ["other", "deadlift"]
    with pytest.raises(ValueError, match="unknown exercise 'curl'"):
        analyze_angles(table, set_exercises={1: "curl"})


def test_the_bar_field_is_measured_for_the_hinge_sets_alone(simulated, hinges):
    # its only reader tells the Romanian deadlift from the good morning: the other sets' features would go unread
    asked = []

    def evidence(windows_s, wanted):
        asked.append(wanted)
        return [{} for _ in windows_s]

    analyze_angles(simulated.truth_angles, evidence=evidence)
    analyze_angles(hinges.truth_angles, evidence=evidence)
    analyze_angles(hinges.truth_angles, evidence=evidence, set_exercises={1: "deadlift"})
    assert asked == [[False] * 4, [True, True], [False, True]]


def test_the_bar_field_reads_a_100_hz_magnetometer_at_50_hz():
    from analysis.bar_field import Magnetometer, field_series

    # a minute upright, then two 30-s bends, at 100 Hz
    rot = Rotation.concatenate([Rotation.identity(6000), _sweep(6000)[1]])
    earth = earth_field_uT(70.0)
    time_s = np.arange(len(rot)) / 100.0
    field = rot.inv().apply(earth) + [4.0, -2.0, 1.0]
    quat = rot.as_quat(scalar_first=True)
    series = field_series({"thoracic": Magnetometer(time_s * (1 + 1e-15), 99.99999999999993, field, quat)}, [])
    assert np.array_equal(series["thoracic"].time_s, time_s[::2] * (1 + 1e-15))
    # the offset and the vertical field found from every other reading (the ridge holds back a few hundredths)
    assert series["thoracic"].anomaly_uT.max() < 0.05


def test_the_riding_fields_of_many_sets_are_each_set_s_own():
    _, rot, up = _sweep(3000)  # two 30-s bends at 50 Hz
    earth = earth_field_uT(70.0)
    time_s = np.arange(len(up)) / 50.0
    # a bar on the back whose field differs between the halves, and noise
    field = rot.inv().apply(earth) + np.where(time_s[:, None] < time_s[-1] / 2, [6.0, 2.0, -5.0], [2.0, -3.0, 1.0])
    field += np.random.default_rng(5).normal(0.0, 0.3, field.shape)
    anomaly = vertical_anomaly_uT(field, up, earth[2])
    series = FieldSeries(time_s, field, up, rot.as_quat(scalar_first=True), anomaly, 0.5)
    edges = np.linspace(0.0, time_s[-1], 5)
    # four sets, one too short to sweep a window's tilt, one without readings
    windows = [*zip(edges[:-1], edges[1:]), (1.0, 1.5), (time_s[-1] + 10.0, time_s[-1] + 20.0)]
    alone = [riding_field_uT(series, *w) for w in windows]
    np.testing.assert_allclose(riding_fields_uT(series, windows), alone, rtol=1e-9, atol=1e-9)
    assert np.isfinite(alone[:4]).all() and np.isnan(alone[4:]).all()
    assert alone[0] != alone[-3]
