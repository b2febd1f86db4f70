"""Calibration: sensors strapped on up to ±20° crooked about every axis, guided and automatic."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from analysis.angles import compute_angles
from analysis.calibration import (
    Calibration,
    CalibrationCheck,
    CalibrationWindows,
    RangeOfMotion,
    SensorCalibration,
    Window,
    auto_calibrate,
    calibrate_axis_from_bends,
    calibrate_range_of_motion,
    calibrate_standing,
    calibration_mismatch,
    first_bends,
    neutral_posture,
    segment_rotations,
)
from analysis.quiet import quiet_mask
from analysis.timebase import align_sensors
from tests.test_angles import hinge_session, rmse_against


def axis_errors_deg(calibration: Calibration, straps: dict) -> dict[str, tuple[float, float]]:
    """Per sensor, the angle between the calibrated and the true segment up (z) and left (y) axes."""
    out = {}
    for placement, R in segment_rotations(calibration).items():
        cos = np.clip(np.sum(R * straps[placement], axis=0), -1, 1)
        out[placement] = (float(np.degrees(np.arccos(cos[2]))), float(np.degrees(np.arccos(cos[1]))))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_guided_calibration_recovers_crooked_straps(seed):
    samples, truth, straps = hinge_session(50.0, seed=seed, reps=2)
    cal = calibrate_axis_from_bends(samples, calibrate_standing(samples, 0.5, 2.5), 3.0, 7.0)
    for placement, (up_err, axis_err) in axis_errors_deg(cal, straps).items():
        assert up_err < 1.0 and axis_err < 2.0, placement
    assert Calibration.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal  # storable as JSON


@pytest.mark.parametrize("seed", [4, 5])
def test_auto_calibration_recovers_crooked_straps(seed):
    samples, truth, straps = hinge_session(50.0, seed=seed, reps=4)
    cal = auto_calibrate(samples)
    assert cal.method == "auto"
    for placement, (up_err, axis_err) in axis_errors_deg(cal, straps).items():
        assert up_err < 1.5 and axis_err < 4.0, placement
    result = compute_angles(samples, calibration=cal)
    assert rmse_against(result.angles, truth, "lumbar_flexion_deg") < 1.0


def test_standing_must_be_still():
    samples, _, _ = hinge_session(50.0, reps=1)
    with pytest.raises(ValueError, match="stand still"):
        calibrate_standing(samples, 3.0, 5.0)  # during the calibration bends
    with pytest.raises(ValueError, match="no samples"):
        calibrate_standing(samples, 500.0, 502.0)


def test_still_pelvis_keeps_the_assumed_axis_and_still_measures_flexion():
    """Seated flexion: the pelvis never moves, so its axis cannot be measured; the lumbar angle holds anyway."""
    samples, truth, straps = hinge_session(50.0, seed=1, reps=3)
    lumbar = samples["sensor"] == "lumbar"
    still = samples.loc[lumbar & (samples["time_s"] < 1.0)].iloc[0]
    for c in ("acc_x", "acc_y", "acc_z"):
        samples.loc[lumbar, c] = still[c]
    for c in ("gyr_x", "gyr_y", "gyr_z"):
        samples.loc[lumbar, c] = np.random.default_rng(0).normal(0, 0.3, lumbar.sum())
    truth_flexion = truth["lumbar_flexion_deg"] + truth["pelvis_inclination_deg"]  # the pelvis no longer hinges
    cal = calibrate_axis_from_bends(samples, calibrate_standing(samples, 0.5, 2.5), 3.0, 7.0)
    assert cal.sensors["lumbar"].axis_source == "assumed"
    assert cal.sensors["thoracic"].axis_source == "bends"
    angles = compute_angles(samples, calibration=cal).angles
    est = np.interp(truth["time_s"], angles["time_s"], angles["lumbar_flexion_deg"])
    assert np.sqrt(np.nanmean((est - truth_flexion) ** 2)) < 1.5


def test_range_of_motion():
    t = np.arange(0, 20, 0.02)
    lumbar = np.where(t < 10, 55 * np.sin(np.pi * t / 10), -22 * np.sin(np.pi * (t - 10) / 10))
    angles = pd.DataFrame({"time_s": t, "lumbar_flexion_deg": lumbar})
    standing = Calibration("guided", {}, CalibrationWindows(standing=Window(0.0, 2.0)))
    cal = calibrate_range_of_motion(angles, standing, flexion=(0, 10), extension=(10, 20))
    assert cal.range_of_motion.to_dict() == pytest.approx(
        {"max_flexion_deg": 55.0, "max_extension_deg": 22.0}, abs=0.01
    )
    assert cal.windows.max_flexion == Window(0.0, 10.0) and cal.windows.max_extension == Window(10.0, 20.0)
    with pytest.raises(ValueError, match="bend fully forward"):
        calibrate_range_of_motion(angles, cal, flexion=(10, 20), extension=(10, 20))


def test_guided_flow_on_the_simulator():
    """The `imuform calibrate` steps on a simulated session: standing, bends, range of motion."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    sim = simulate_session(
        SessionSpec(sets=[SetSpec("romanian_deadlift", 3, "none")], rate_hz=50, seed=3, between_sets=False)
    )
    steps = sim.truth["calibration"]
    standing = steps["quiet_standing"]
    rom_start, rom_end = steps["max_flexion"]["start_s"] - 3, steps["max_extension"]["end_s"] + 3
    cal = calibrate_standing(sim.samples, standing["start_s"] + 1, standing["end_s"] - 1)
    cal = calibrate_axis_from_bends(sim.samples, cal, rom_start, rom_end)
    assert all(e.axis_source == "bends" for e in cal.sensors.values())
    result = compute_angles(sim.samples, calibration=cal)
    assert rmse_against(result.angles, sim.truth_angles, "lumbar_flexion_deg") < 1.5
    windows = {k: (steps[k]["start_s"], steps[k]["end_s"]) for k in ("max_flexion", "max_extension")}
    rom = calibrate_range_of_motion(
        result.angles, cal, flexion=windows["max_flexion"], extension=windows["max_extension"]
    )
    assert rom.range_of_motion.max_flexion_deg == pytest.approx(steps["max_flexion"]["lumbar_flexion_deg"], abs=2.0)
    assert rom.range_of_motion.max_extension_deg == pytest.approx(
        -steps["max_extension"]["lumbar_flexion_deg"], abs=2.0
    )
    auto = compute_angles(sim.samples)
    assert auto.calibration.method == "auto"
    assert rmse_against(auto.angles, sim.truth_angles, "lumbar_flexion_deg") < 1.5


def test_standing_only_calibration_relies_on_the_usual_strapping():
    """`imuform live` may calibrate on standing alone: sensor z out of the back gives the axis."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    sim = simulate_session(SessionSpec(sets=[SetSpec("deadlift", 3, "none")], rate_hz=50, seed=2, between_sets=False))
    cal = calibrate_standing(sim.samples, 1.0, 9.0)
    assert all(e.axis_source == "assumed" for e in cal.sensors.values())
    result = compute_angles(sim.samples, calibration=cal)
    assert rmse_against(result.angles, sim.truth_angles, "lumbar_flexion_deg") < 1.5


def test_axis_from_mixed_motion_uses_the_furthest_tilt():
    """Seated protocol (TrunkyXL-like): flexion 40°/extension 20°, then side bends ±35°: the gyroscope has no
    single axis, the forward direction is where the trunk tilts furthest."""
    from scipy.spatial.transform import Rotation

    from analysis.calibration import flexion_axis
    from tests.test_angles import imu_rows

    t = np.arange(0, 24, 0.02)
    wave = np.sin(2 * np.pi * t / 4)
    flexion = np.where(t < 12, np.where(wave > 0, 40 * wave, 20 * wave), 0.0)
    bend = np.where(t >= 12, 35 * wave, 0.0)
    R_world_segment = Rotation.from_euler("YX", np.column_stack([flexion, bend]), degrees=True).as_matrix()
    strap = Rotation.from_euler("xyz", [14, -18, 11], degrees=True).as_matrix()
    rows = imu_rows("thoracic", t, R_world_segment, strap, np.random.default_rng(0))
    acc, gyr = rows[["acc_x", "acc_y", "acc_z"]].to_numpy(), rows[["gyr_x", "gyr_y", "gyr_z"]].to_numpy()
    axis, _, planarity = flexion_axis(gyr, acc, strap[:, 2])
    assert planarity < 0.85
    assert np.degrees(np.arccos(np.clip(axis @ strap[:, 1], -1, 1))) < 5.0


# --- the Calibration dataclass and its JSON ---------------------------------------------------------------

#: A guided calibration as earlier versions stored it: a plain dict with the steps under "windows" as lists.
OLD_GUIDED = {
    "method": "guided",
    "standing": {"start_s": 3.0, "end_s": 10.0},
    "bends": {"start_s": 12.0, "end_s": 30.0},
    "sensors": {
        "lumbar": {
            "R_sensor_segment": [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]],
            "up_sensor": [1.0, 0.0, 0.0],
            "axis_source": "bends",
            "axis_planarity": 0.97,
        },
        "thoracic": {
            "R_sensor_segment": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            "up_sensor": [0.0, 0.0, 1.0],
            "axis_source": "assumed",
            "axis_planarity": None,
        },
    },
    "range_of_motion": {"max_flexion_deg": 55.0, "max_extension_deg": 22.0},
    "windows": {
        "standing": [3.0, 10.0],
        "bends": [12.0, 30.0],
        "max_flexion": [31.0, 35.0],
        "max_extension": [36.0, 40.0],
    },
}


def simple_calibration(range_of_motion: RangeOfMotion | None = None) -> Calibration:
    """A valid calibration of upright sensors (for store and CLI tests that never compute angles)."""
    return replace(Calibration.from_dict(OLD_GUIDED), range_of_motion=range_of_motion)


def test_old_dict_calibrations_load_and_round_trip():
    cal = Calibration.from_dict(OLD_GUIDED)
    assert cal.method == "guided" and cal.range_of_motion == RangeOfMotion(55.0, 22.0)
    assert cal.windows == CalibrationWindows(
        standing=Window(3.0, 10.0),
        bends=Window(12.0, 30.0),
        max_flexion=Window(31.0, 35.0),
        max_extension=Window(36.0, 40.0),
    )
    assert cal.sensors["lumbar"].axis_source == "bends" and cal.sensors["thoracic"].axis_planarity is None
    np.testing.assert_array_equal(cal.sensors["lumbar"].axis_sensor, [0.0, 1.0, 0.0])
    assert Calibration.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
    # an automatic calibration of an earlier version: no windows, no range
    old_auto = {k: v for k, v in OLD_GUIDED.items() if k not in ("windows", "range_of_motion")} | {"method": "auto"}
    auto = Calibration.from_dict(old_auto)
    assert auto.windows.max_flexion is None and auto.range_of_motion is None


def _with(path: str, value) -> dict:
    """OLD_GUIDED with the value at a dotted key path replaced (None deletes it)."""
    doc = json.loads(json.dumps(OLD_GUIDED))
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(
    "doc, where",
    [
        ([1, 2], "calibration: expected an object"),
        (_with("method", "manual"), "calibration.method"),
        (_with("standing", None) | {"windows": {}}, "calibration.windows.standing: missing"),
        (_with("bends", {"start_s": 5.0, "end_s": 1.0}), "calibration.windows.bends: ends"),
        (_with("sensors", {}), "calibration.sensors: empty"),
        (_with("sensors.lumbar.R_sensor_segment", [[1, 0, 0], [0, 1, 0]]), "sensors.lumbar.R_sensor_segment"),
        (_with("sensors.lumbar.R_sensor_segment", [[2, 0, 0], [0, 1, 0], [0, 0, 1]]), "not a rotation matrix"),
        (_with("sensors.thoracic.up_sensor", [0, 0, "up"]), "sensors.thoracic.up_sensor"),
        (_with("sensors.thoracic.up_sensor", [0, 0, 2.0]), "not a unit vector"),
        (_with("sensors.thoracic.axis_source", "guessed"), "sensors.thoracic.axis_source"),
        (_with("range_of_motion.max_extension_deg", -5.0), "calibration.range_of_motion: both magnitudes"),
        (_with("range_of_motion.max_flexion_deg", None), "calibration.range_of_motion"),
    ],
)
def test_garbage_is_refused_naming_the_key(doc, where):
    with pytest.raises(ValueError, match=where) as info:
        Calibration.from_dict(doc)
    assert "\n" not in str(info.value)


# --- does a stored calibration fit a session? ---------------------------------------------------------------


def _calibration_session(seed: int) -> Calibration:
    """What `imuform calibrate --virtual --bends` measures of the simulated person ``seed``."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    sim = simulate_session(
        SessionSpec(sets=[SetSpec("good_morning", 3)], rate_hz=50, seed=seed, rom_calibration=False, between_sets=False)
    )
    standing, bends = sim.truth["calibration"]["quiet_standing"], sim.truth["sets"][0]
    cal = calibrate_standing(sim.samples, standing["start_s"] + 1, standing["end_s"] - 1)
    return calibrate_axis_from_bends(sim.samples, cal, bends["start_s"], bends["end_s"])


def _later_session(seed: int) -> pd.DataFrame:
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(sets=[SetSpec("deadlift", 4, "lumbar_flexion")], rate_hz=50, seed=seed, between_sets=False)
    return simulate_session(spec).samples


def test_check_accepts_the_same_strap_on_and_refuses_another():
    """Same seed = same person strapped the same way; another seed straps the sensors on differently."""
    check = CalibrationCheck()
    for seed in (0, 1):
        later = auto_calibrate(_later_session(seed))
        assert calibration_mismatch(_calibration_session(seed), later, check) is None
        other = calibration_mismatch(_calibration_session(seed + 1), later, check)
        assert other is not None and "neutral" in other and "limits: neutral 5°" in other
    # a sensor turned about its own vertical: the neutral agrees, the measured flexion axis does not
    cal = _calibration_session(0)
    lumbar = cal.sensors["lumbar"]
    turn = Rotation.from_rotvec(np.radians(15.0) * np.array(lumbar.up_sensor)).as_matrix()
    turned = SensorCalibration.from_axes(np.array(lumbar.up_sensor), turn @ lumbar.axis_sensor, "bends", 0.9)
    mismatch = calibration_mismatch(replace(cal, sensors={**cal.sensors, "lumbar": turned}), cal, check)
    assert mismatch.startswith("lumbar flexion axis 15° off")


def test_a_calibration_that_does_not_fit_is_set_aside_for_the_sessions_own():
    """Another person's calibration: one note, and then the very analysis the session gives uncalibrated."""
    from analysis import analyze_session

    samples = _later_session(2)
    wrong = _calibration_session(3)
    checked = analyze_session(samples, calibration=wrong, check=CalibrationCheck())
    uncalibrated = analyze_session(samples)
    assert len(checked.notes) == 1 and "does not fit this session's own standing" in checked.notes[0]
    assert checked.calibration == uncalibrated.calibration and checked.calibration.method == "auto"
    pd.testing.assert_frame_equal(checked.reps, uncalibrated.reps)
    pd.testing.assert_frame_equal(checked.sets, uncalibrated.sets)
    assert (checked.reps["flags"].map(tuple) == ("lumbar_flexion",)).all()  # the faults are found
    unchecked = analyze_session(samples, calibration=wrong)
    assert unchecked.notes == [] and unchecked.calibration == wrong
    right = analyze_session(samples, calibration=_calibration_session(2), check=CalibrationCheck())
    assert right.notes == [] and right.calibration.method == "guided"


def test_a_session_without_standing_of_its_own_keeps_the_stored_calibration_and_says_so():
    """No standing of its own (1.5 s of a rep): the check cannot run, so the calibration is used as stored."""
    from analysis import analyze_session

    samples = _later_session(2)
    calibration = _calibration_session(2)
    thoracic = samples[samples["sensor"] == "thoracic"]
    moving = np.linalg.norm(thoracic[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(), axis=1) > 20.0
    t0 = float(thoracic["time_s"].to_numpy()[moving][0])
    short = samples[samples["time_s"].between(t0, t0 + 1.5)].copy()  # 1.5 s of a rep: no standing to find
    result = analyze_session(short, calibration=calibration, check=CalibrationCheck())
    assert result.calibration == calibration
    assert len(result.notes) == 1 and "used unchecked" in result.notes[0] and "no quiet standing" in result.notes[0]


# --- neutral from the first standing, a flexion axis whose sign cannot flip --------------------------------


def _two_sensor_session(pelvis_deg: np.ndarray, trunk_deg: np.ndarray, t: np.ndarray, seed: int = 0):
    """Samples of a pelvis and a thoracic sensor whose segments tilt about the left axis only, and the straps."""
    from tests.test_angles import imu_rows

    rng = np.random.default_rng(seed)
    straps = {
        p: Rotation.from_euler("xyz", rng.uniform(-15, 15, 3), degrees=True).as_matrix() for p in ("lumbar", "thoracic")
    }
    rows = [
        imu_rows(p, t, Rotation.from_euler("Y", angle[:, None], degrees=True).as_matrix(), straps[p], rng)
        for p, angle in (("lumbar", pelvis_deg), ("thoracic", trunk_deg))
    ]
    return pd.concat(rows, ignore_index=True), straps


def _bump(t: np.ndarray, start_s: float, duration_s: float) -> np.ndarray:
    """A smooth 0 → 1 → 0 bump over ``duration_s`` from ``start_s``."""
    x = np.clip((t - start_s) / duration_s, 0.0, 1.0)
    return 0.5 * (1 - np.cos(2 * np.pi * x))


def test_the_first_bends_are_the_same_however_far_ahead_each_search_looks():
    samples, _, _ = hinge_session(50.0, seed=6, reps=4)
    series, _ = align_sensors(samples)
    quiet = {placement: quiet_mask(s.acc_mps2, s.gyr_dps, s.rate_hz) for placement, s in series.items()}
    after_s = neutral_posture(series, quiet)[1][0][1]
    whole = first_bends(series, after_s, quiet, horizon_s=1e6)
    assert whole is not None
    # searches that must widen several times, or end with a stretch cut at their edge, find the same stretch
    for horizon_s in (0.02, 0.5, 1.0, 3.0, 7.0):
        assert first_bends(series, after_s, quiet, horizon_s=horizon_s) == whole


def test_neutral_is_the_first_standing_not_every_similar_rest():
    # stands upright 4 s, bends twice, then rests 20 s with the pelvis 6° forward (a different stance,
    # inside the 8° of "the same posture"): neutral must stay the first standing
    t = np.arange(0, 36, 0.02)
    bends = _bump(t, 5.0, 3.0) + _bump(t, 9.0, 3.0)
    later = np.clip((t - 13.0) / 1.5, 0.0, 1.0)
    pelvis = 30 * bends + 6 * later
    samples, straps = _two_sensor_session(pelvis, pelvis + 15 * bends, t)
    calibration = auto_calibrate(samples)
    assert calibration.windows.standing.end_s < 5.0
    up_error_deg = {p: e[0] for p, e in axis_errors_deg(calibration, straps).items()}
    assert max(up_error_deg.values()) < 1.0, up_error_deg


def test_a_pelvis_tilting_back_as_far_as_forward_keeps_its_flexion_axis():
    # bends tip the pelvis 10° forward with the trunk at 60°; leans back tip it 14° back with the trunk at
    # 25°: the pelvis tilts further back than forward, the trunk far further forward
    t = np.arange(0, 44, 0.02)
    bends = sum(_bump(t, 4.0 + 8 * k, 4.0) for k in range(5))
    leans = sum(_bump(t, 8.0 + 8 * k, 4.0) for k in range(4))
    samples, straps = _two_sensor_session(10 * bends - 14 * leans, 60 * bends - 25 * leans, t)
    calibration = auto_calibrate(samples)
    errors = axis_errors_deg(calibration, straps)
    assert errors["lumbar"][1] < 10.0 and errors["thoracic"][1] < 10.0, errors
    angles = compute_angles(samples, calibration=calibration).angles
    peak = angles.loc[(angles["time_s"] > 5.0) & (angles["time_s"] < 7.0), "lumbar_flexion_deg"].max()
    assert peak == pytest.approx(50.0, abs=2.0)
