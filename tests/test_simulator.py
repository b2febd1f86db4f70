"""The simulator: physics, truth, reproducibility and the 5° margins of the truth flags."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from analysis import analyze_angles
from analysis.flags import FLAGS
from analysis.session import ANGLE_COLUMNS
from imuform.simulator import (
    EXERCISES,
    FAULTS,
    ErrorModel,
    SessionSpec,
    SetSpec,
    random_session_spec,
    simulate_session,
    simulate_truth,
)
from imuform.simulator.activities import OTHER_ACTIVITIES, Person, Script
from imuform.simulator.exercises import PROFILES, compatible
from imuform.simulator.sensor_model import GRAVITY_MPS2
from imuform.simulator.timeline import Timeline
from imuform.simulator.truth import truth_angles

REP_KEYS = (
    "start_s",
    "end_s",
    "bottom_s",
    "peak_lumbar_flexion_deg",
    "lockout_lumbar_angle_deg",
    "peak_trunk_inclination_deg",
    "faults",
)


def _short(exercise: str = "deadlift", fault: str = "none", reps: int = 4, **kw) -> SessionSpec:
    """A short session: brief standing, one set, no walking about."""
    return SessionSpec(
        sets=[SetSpec(exercise, reps, fault)], calibration_s=3.0, rom_calibration=False, between_sets=False, **kw
    )


@pytest.fixture(scope="module")
def ideal():
    """Ideal sensors (but misaligned straps) on all four placements, at 200 Hz."""
    spec = _short(
        "deadlift",
        "asymmetry",
        rate_hz=200.0,
        sensors=("lumbar", "thoracic", "upper_thoracic", "thigh"),
        errors=ErrorModel.ideal(misalignment_deg=20.0),
    )
    return simulate_session(spec)


def _quat(wxyz: np.ndarray) -> Rotation:
    return Rotation.from_quat(wxyz[:, [1, 2, 3, 0]])


def test_gyroscope_integrates_to_the_orientation(ideal):
    for placement, s in ideal.streams.items():
        truth = _quat(s.quat_world_sensor_wxyz)
        gyr = np.radians(s.gyr_dps)
        dt = np.diff(s.true_time_s)
        # trapezoidal body-rate increments, composed from the first true orientation
        steps = Rotation.from_rotvec(0.5 * (gyr[1:] + gyr[:-1]) * dt[:, None])
        q = [truth[0]]
        for step in steps:
            q.append(q[-1] * step)
        est = Rotation.concatenate(q)
        err_deg = np.degrees((est.inv() * truth).magnitude())
        assert err_deg.max() < 0.5, placement
        # and the sensor really moved a lot
        assert np.degrees((truth[0].inv() * truth).magnitude()).max() > 30.0, placement


def test_static_accelerometer_reads_gravity(ideal):
    quiet = ideal.truth["calibration"]["quiet_standing"]
    for s in ideal.streams.values():
        still = (s.true_time_s > 1.0) & (s.true_time_s < quiet["end_s"])
        norm = np.linalg.norm(s.acc_mps2[still], axis=1)
        assert np.allclose(norm, GRAVITY_MPS2, atol=0.02)


def test_realistic_static_accelerometer_reads_gravity_within_calibration_errors():
    sim = simulate_session(_short(rate_hz=50.0, seed=3))
    for s in sim.streams.values():
        still = (s.true_time_s > 1.0) & (s.true_time_s < 3.0) & ~s.lost
        norm = np.median(np.linalg.norm(s.acc_mps2[still], axis=1))
        assert abs(norm - GRAVITY_MPS2) < 0.05 * GRAVITY_MPS2


def test_accelerometer_matches_finite_differences_of_positions(ideal):
    for placement, s in ideal.streams.items():
        rot = _quat(s.quat_world_sensor_wxyz)
        acc_world = rot.apply(s.acc_mps2) - [0.0, 0.0, GRAVITY_MPS2]
        dt = 1.0 / ideal.spec.rate_hz
        fd = (s.position_m[2:] - 2 * s.position_m[1:-1] + s.position_m[:-2]) / dt**2
        err = np.abs(acc_world[1:-1] - fd).max()
        # central differences err by dt²/12 times the fourth derivative: the 0.12-0.25 s bounces at the
        # bottom of a rep are the sharpest moves
        assert err < 0.04, placement
        assert np.abs(fd).max() > 1.0, placement


def test_lever_arms_add_tangential_and_centripetal_acceleration(ideal):
    # the lumbar and thoracic sensors sit at different radii from the hip: they feel different forces
    lumbar, thoracic = ideal.streams["lumbar"], ideal.streams["thoracic"]
    diff = np.linalg.norm(
        _quat(lumbar.quat_world_sensor_wxyz).apply(lumbar.acc_mps2)
        - _quat(thoracic.quat_world_sensor_wxyz).apply(thoracic.acc_mps2),
        axis=1,
    )
    assert diff.max() > 0.5


def test_truth_angles_match_segment_orientations(ideal):
    angles = ideal.truth_angles
    segments = {}
    for placement, s in ideal.streams.items():
        assert np.allclose(s.true_time_s, angles["time_s"])
        mount = Rotation.from_quat(np.roll(s.params.quat_segment_sensor_wxyz, -1))
        segments[placement] = _quat(s.quat_world_sensor_wxyz) * mount.inv()
    # conventions: R_rel = R_y(flexion) R_x(bend) R_z(-twist), intrinsic
    rel = (segments["lumbar"].inv() * segments["thoracic"]).as_euler("YXZ", degrees=True)
    assert np.allclose(rel[:, 0], angles["lumbar_flexion_deg"], atol=1e-6)
    assert np.allclose(rel[:, 1], angles["lumbar_lateral_bend_deg"], atol=1e-6)
    assert np.allclose(-rel[:, 2], angles["lumbar_twist_deg"], atol=1e-6)
    upper = (segments["thoracic"].inv() * segments["upper_thoracic"]).as_euler("YXZ", degrees=True)
    assert np.allclose(upper[:, 0], angles["thoracic_flexion_deg"], atol=1e-6)
    for placement, column in (("thoracic", "trunk_inclination_deg"), ("lumbar", "pelvis_inclination_deg")):
        m = segments[placement].as_matrix()
        assert np.allclose(np.degrees(np.arctan2(-m[:, 2, 0], m[:, 2, 2])), angles[column], atol=1e-6)
    assert angles["trunk_inclination_deg"].max() > 45.0
    assert list(angles.columns) == [*ANGLE_COLUMNS, "thoracic_flexion_deg"]


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    spec = _short(rate_hz=50.0, seed=11)
    a, b = simulate_session(spec).write(tmp_path / "a"), simulate_session(spec).write(tmp_path / "b")
    for name in ("samples.csv", "truth.json", "truth_angles.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = simulate_session(_short(rate_hz=50.0, seed=12)).write(tmp_path / "c")
    assert (a / "samples.csv").read_bytes() != (c / "samples.csv").read_bytes()


def test_mixed_sensor_rates():
    sim = simulate_session(_short(rate_hz=100.0, sensor_rates_hz={"thoracic": 52.0}, seed=6))
    for placement, rate in (("lumbar", 100.0), ("thoracic", 52.0)):
        s = sim.streams[placement]
        assert np.median(np.diff(s.time_s)) == pytest.approx(1.0 / rate)
        assert sim.truth["sensor_params"][placement]["rate_hz"] == rate


def test_adding_a_sensor_keeps_the_motion():
    two = simulate_truth(_short(seed=5))[1]
    four = simulate_truth(_short(seed=5, sensors=("lumbar", "thoracic", "thigh")))[1]
    pd.testing.assert_frame_equal(two, four)


#: The flags each fault may earn (the truth says which reps earn them, from the true angles).
MAY_EARN = {
    "none": set(),
    "lumbar_flexion": {"lumbar_flexion"},
    "lockout_hyperextension": {"lockout_hyperextension"},
    "overarching": {"overarching"},
    "flexion_drift": {"flexion_drift", "lumbar_flexion"},
    "asymmetry": {"asymmetry"},
    "rounded_back_extension": {"lumbar_flexion", "lockout_hyperextension"},
}
#: The flag whose limit a fault's planned margin is measured against.
PRIMARY = {"lumbar_flexion": "lumbar_flexion", "rounded_back_extension": "lumbar_flexion", "asymmetry": "asymmetry"}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_truth_flags_follow_the_fault_plan(exercise):
    for fault in FAULTS:
        if not compatible(exercise, fault):
            continue
        for seed in range(3):
            truth, _ = simulate_truth(_short(exercise, fault, reps=7, seed=seed))
            (s,) = truth["sets"]
            assert s["rep_count"] == 7 and s["exercise"] == exercise
            limits, person = truth["limits"], truth["person"]
            for rep in s["reps"]:
                where = (fault, seed, rep["index"], rep["flag_margins_deg"])
                assert set(rep["faults"]) <= MAY_EARN[fault], where
                assert rep["faults"] == [f for f in FLAGS if f in rep["faults"]]
                if fault == "none":  # clean reps stay clear of every limit
                    assert rep["min_flag_margin_deg"] >= 3.0, where
                if fault in PRIMARY:
                    # the rep lands where the plan put it: the set's margin, ±1° per rep, inside the range
                    reach = person["max_flexion_deg"] - 2.0 - limits["flexion_limit_deg"]
                    planned = s["fault_detail"]["margin_deg"]
                    planned = min(planned, reach) if PRIMARY[fault] == "lumbar_flexion" else planned
                    assert rep["flag_margins_deg"][PRIMARY[fault]] == pytest.approx(planned, abs=1.5), where


def test_fault_amplitudes_are_continuous_through_the_limit():
    margins = []
    for seed in range(12):
        truth, _ = simulate_truth(_short("romanian_deadlift", "lumbar_flexion", reps=3, seed=seed))
        margins += [r["flag_margins_deg"]["lumbar_flexion"] for r in truth["sets"][0]["reps"]]
    margins = np.array(margins)
    assert margins.min() < -1.0 and margins.max() > 8.0  # short of the limit to well past it
    assert np.sum(np.abs(margins) <= 3.0) >= 3  # and close to it on either side


def test_clean_reps_follow_the_literature_and_drift_steps_up():
    truth, _ = simulate_truth(_short("deadlift", "flexion_drift", reps=8, seed=2))
    s = truth["sets"][0]
    reps, detail = s["reps"], s["fault_detail"]
    onset = detail["onset_rep"]
    peaks = np.array([r["peak_lumbar_flexion_deg"] for r in reps])
    baseline = np.median(peaks[:2])
    early, late = peaks[: onset - 1], peaks[onset - 1 :]
    # clean deadlifts flex the lower lumbar spine 10-30° from standing (Bengtsson et al. 2022)
    assert np.all(np.abs(early - baseline) <= 2.5) and np.all((early >= 9.0) & (early <= 31.0))
    cap = truth["person"]["max_flexion_deg"] - 2.0
    expected = baseline + 8.0 + detail["margin_deg"] + detail["step_deg"] * np.arange(len(late))
    assert np.allclose(late, np.minimum(expected, cap), atol=2.5)
    assert np.all(np.diff(late) >= -2.5)


def test_rep_boundaries_are_trunk_minima_and_tops_match_the_exercise():
    for exercise, top, bottom in (
        ("back_extension_45", (35, 55), (120, 145)),
        ("back_extension_90", (75, 100), (150, 180)),
        ("romanian_deadlift", (-5, 5), (60, 95)),
    ):
        truth, angles = simulate_truth(_short(exercise, seed=1))
        trunk = angles.set_index("time_s")["trunk_inclination_deg"]
        for rep in truth["sets"][0]["reps"]:
            assert all(k in rep for k in REP_KEYS)
            assert rep["start_s"] < rep["bottom_s"] < rep["end_s"]
            inside = trunk.loc[rep["start_s"] : rep["end_s"]]
            assert inside.min() >= min(trunk.loc[rep["start_s"]], trunk.loc[rep["end_s"]]) - 0.5
            assert top[0] <= trunk.loc[rep["start_s"]] <= top[1]
            assert bottom[0] <= rep["peak_trunk_inclination_deg"] <= bottom[1]


def test_samples_use_the_sensor_clock_and_drop_lost_packets():
    errors = ErrorModel(loss_bursts_per_min=20.0)
    sim = simulate_session(_short(rate_hz=100.0, seed=4, errors=errors))
    for placement, s in sim.streams.items():
        rows = sim.samples[sim.samples["sensor"] == placement]
        assert len(rows) == (~s.lost).sum() and s.lost.any()
        assert np.all(np.diff(rows["time_s"]) > 0)
        scale = 1 + s.params.clock_drift_ppm * 1e-6
        assert np.allclose(s.time_s, s.true_time_s * scale + s.params.clock_offset_s)
        assert np.all(np.isnan(s.host_time_s[s.lost]))
        received = s.host_time_s[~s.lost]
        assert np.all(np.diff(received) >= 0) and np.all(received >= s.true_time_s[~s.lost])
        assert len(s.gaps()) >= 1


def test_random_session_spec_covers_exercises_and_faults():
    specs = [random_session_spec(seed) for seed in range(60)]
    seen = {(st.exercise, st.fault) for spec in specs for st in spec.sets}
    assert {e for e, _ in seen} == set(EXERCISES)
    assert {f for _, f in seen} == set(FAULTS)
    assert all(25.0 <= spec.rate_hz <= 200.0 and not spec.ideal for spec in specs)
    fixed = random_session_spec(1, exercise="good_morning", fault="overarching", rate_hz=52.0)
    assert all(s.exercise == "good_morning" and s.fault == "overarching" for s in fixed.sets) and fixed.rate_hz == 52.0
    fixed.validate()


def test_default_session_is_a_short_realistic_session():
    truth, angles = simulate_truth(SessionSpec())
    kinds = {a["kind"] for a in truth["activities"]}
    assert {"stand", "walk", "set", "sit", "rom_calibration"} <= kinds
    assert len(truth["sets"]) == 3 and all(s["exercise"] == "deadlift" for s in truth["sets"])
    assert 120.0 < truth["duration_s"] < 600.0
    json.dumps(truth, allow_nan=False)


def test_reps_happen_where_the_set_is_done():
    # from a rack the lifter steps back first: every rep must start from that same spot
    for exercise in ("romanian_deadlift", "squat", "deadlift"):
        sim = simulate_session(_short(exercise, rate_hz=25.0, seed=2, ideal=True))
        s = sim.streams["lumbar"]
        tops = [s.position_m[np.searchsorted(s.true_time_s, rep["start_s"])] for rep in sim.truth["sets"][0]["reps"]]
        assert np.ptp(np.array(tops)[:, :2], axis=0).max() < 0.05, exercise


def test_dipole_field_on_hand_computed_points():
    from imuform.simulator.magnetics import dipole_field_uT, moment_for_field_Am2

    m = np.array([0.0, 0.0, 2.0])  # A·m²
    # on the axis at 0.5 m: 0.1 µT·m³/(A·m²) · 2 · 2 / 0.125 = 3.2 µT along +z; on the equator: -1.6 µT
    np.testing.assert_allclose(dipole_field_uT(m, [0, 0, 0], [0, 0, 0.5]), [[0, 0, 3.2]], atol=1e-12)
    np.testing.assert_allclose(dipole_field_uT(m, [0, 0, 0], [0.5, 0, 0]), [[0, 0, -1.6]], atol=1e-12)
    assert moment_for_field_Am2(3.2, 0.5) == pytest.approx(2.0)


def test_a_bar_on_the_back_barely_reaches_the_thoracic_sensor():
    # a 5 µT-at-15-cm bar on the upper back, 25-35 cm above T10-T12: under 1.5 µT there, no 10-25 µT proxy
    spec = _short("good_morning", reps=3, seed=2, errors=ErrorModel(bar_field_uT=5.0, mag_noise_uT=0.0))
    with_bar = simulate_session(spec)
    without = simulate_session(
        _short("good_morning", reps=3, seed=2, errors=ErrorModel(bar_field_uT=0.0, mag_noise_uT=0.0))
    )
    s = with_bar.truth["sets"][0]
    for placement in ("lumbar", "thoracic"):
        a, b = with_bar.streams[placement], without.streams[placement]
        inside = (a.true_time_s > s["start_s"]) & (a.true_time_s < s["end_s"])
        difference = np.linalg.norm(a.mag_uT[inside] - b.mag_uT[inside], axis=1)
        assert 0.0 < difference.max() < 1.5, (placement, difference.max())


@pytest.mark.parametrize("kind", OTHER_ACTIVITIES)
def test_other_activities_are_never_named_a_lift(kind):
    tl = Timeline()
    rng = np.random.default_rng(3)
    script = Script(tl, rng, Person.draw(rng))
    script.stand(5.0, fidget=False)
    script.other_activity(kind)
    script.stand(5.0, fidget=False)
    angles = truth_angles(tl.trajectories(), np.arange(0.0, tl.time_s, 0.02), thoracic=False)
    sets, _ = analyze_angles(angles)
    assert set(sets["exercise"]) <= {"other"}
    assert [a["kind"] for a in script.activities if a["kind"] in OTHER_ACTIVITIES] == [kind]
    if kind == "seated_bends":
        assert len(sets) >= 1
        # the spine makes a seated bend: the pelvis turns by at most a quarter of the lumbar flexion
        bout = script.activities[1]
        t = angles["time_s"]
        seated = angles[(t > bout["start_s"] + 3.0) & (t < bout["end_s"] - 2.0)]
        assert np.ptp(seated["pelvis_inclination_deg"]) < 0.3 * np.ptp(seated["lumbar_flexion_deg"])
    elif kind in ("side_bends", "twists"):
        column = "lumbar_lateral_bend_deg" if kind == "side_bends" else "lumbar_twist_deg"
        assert angles[column].abs().max() > 29.0


def test_a_session_mixes_in_one_bout_of_other_movements_before_each_set():
    spec = SessionSpec(sets=[SetSpec("deadlift", 3), SetSpec("squat", 3)], other_activities=True, seed=4)
    truth, _ = simulate_truth(spec)
    assert len(truth["other"]) == 2 and {b["kind"] for b in truth["other"]} <= set(OTHER_ACTIVITIES)
    assert truth["other"][0]["end_s"] < truth["sets"][0]["start_s"] < truth["other"][1]["start_s"]
    assert truth["other"][1]["end_s"] < truth["sets"][1]["start_s"]
    assert all(b["movements"] >= 2 for b in truth["other"])


def test_a_rounded_deadlift_still_hinges_at_the_hips():
    truth, angles = simulate_truth(_short("deadlift", "lumbar_flexion", reps=5, seed=6))
    pelvis = np.interp(
        [r["bottom_s"] for r in truth["sets"][0]["reps"]], angles["time_s"], angles["pelvis_inclination_deg"]
    )
    # breathing and sway move the pelvis by a few tenths of a degree
    assert pelvis.min() > PROFILES["deadlift"].min_bottom_pelvis_deg - 1.0


def test_every_fault_simulates_the_same_bytes_as_before_its_numbers_became_a_model():
    from tests.test_weeks import digest

    # the digest was taken before `exercises.RepModel` held the numbers that were module constants
    sets = [
        SetSpec("deadlift", 3, "lumbar_flexion"),
        SetSpec("romanian_deadlift", 4, "lockout_hyperextension"),
        SetSpec("good_morning", 3, "flexion_drift"),
        SetSpec("back_extension_45", 3, "rounded_back_extension"),
        SetSpec("deadlift", 3, "overarching"),
        SetSpec("romanian_deadlift", 3, "asymmetry"),
    ]
    assert digest(simulate_session(SessionSpec(sets=sets, rate_hz=50, seed=11))) == "3902bd03371c8614"


def test_the_rep_model_is_passed_in():
    from imuform.simulator.exercises import RepModel

    spec = SessionSpec(sets=[SetSpec("romanian_deadlift", 3, "none")] * 4, seed=2, between_sets=False)
    (truth, angles), (default_truth, default_angles) = simulate_truth(spec, RepModel()), simulate_truth(spec)
    assert truth == default_truth and angles.equals(default_angles)
    for share in (0.0, 1.0):
        truth, _ = simulate_truth(spec, RepModel(bounce_share=share, sticking_share=share))
        details = [s["fault_detail"] for s in truth["sets"]]
        assert all(d["sticking_point"] == bool(share) and (d["bounce_deg"] > 0) == bool(share) for d in details)
