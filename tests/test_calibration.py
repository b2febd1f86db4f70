"""Calibration: sensors strapped on up to ±20° crooked about every axis, guided and automatic."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.angles import compute_angles
from analysis.calibration import (
    auto_calibrate,
    calibrate_axis_from_bends,
    calibrate_range_of_motion,
    calibrate_standing,
    segment_rotations,
)
from tests.test_angles import hinge_session, rmse_against


def axis_errors_deg(calibration: dict, straps: dict) -> dict[str, tuple[float, float]]:
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
    json.dumps(cal)  # storable as is


@pytest.mark.parametrize("seed", [4, 5])
def test_auto_calibration_recovers_crooked_straps(seed):
    samples, truth, straps = hinge_session(50.0, seed=seed, reps=4)
    cal = auto_calibrate(samples)
    assert cal["method"] == "auto"
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
    assert cal["sensors"]["lumbar"]["axis_source"] == "assumed"
    assert cal["sensors"]["thoracic"]["axis_source"] == "bends"
    angles = compute_angles(samples, calibration=cal).angles
    est = np.interp(truth["time_s"], angles["time_s"], angles["lumbar_flexion_deg"])
    assert np.sqrt(np.nanmean((est - truth_flexion) ** 2)) < 1.5


def test_range_of_motion():
    t = np.arange(0, 20, 0.02)
    lumbar = np.where(t < 10, 55 * np.sin(np.pi * t / 10), -22 * np.sin(np.pi * (t - 10) / 10))
    angles = pd.DataFrame({"time_s": t, "lumbar_flexion_deg": lumbar})
    cal = calibrate_range_of_motion(angles, {"method": "guided"}, flexion=(0, 10), extension=(10, 20))
    assert cal["range_of_motion"] == pytest.approx({"max_flexion_deg": 55.0, "max_extension_deg": 22.0}, abs=0.01)
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
    assert all(e["axis_source"] == "bends" for e in cal["sensors"].values())
    result = compute_angles(sim.samples, calibration=cal)
    assert rmse_against(result.angles, sim.truth_angles, "lumbar_flexion_deg") < 1.5
    windows = {k: (steps[k]["start_s"], steps[k]["end_s"]) for k in ("max_flexion", "max_extension")}
    rom = calibrate_range_of_motion(
        result.angles, cal, flexion=windows["max_flexion"], extension=windows["max_extension"]
    )
    assert rom["range_of_motion"]["max_flexion_deg"] == pytest.approx(
        steps["max_flexion"]["lumbar_flexion_deg"], abs=2.0
    )
    assert rom["range_of_motion"]["max_extension_deg"] == pytest.approx(
        -steps["max_extension"]["lumbar_flexion_deg"], abs=2.0
    )
    auto = compute_angles(sim.samples)
    assert auto.calibration["method"] == "auto"
    assert rmse_against(auto.angles, sim.truth_angles, "lumbar_flexion_deg") < 1.5


def test_standing_only_calibration_relies_on_the_usual_strapping():
    """`imuform live` may calibrate on standing alone: sensor z out of the back gives the axis."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    sim = simulate_session(SessionSpec(sets=[SetSpec("deadlift", 3, "none")], rate_hz=50, seed=2, between_sets=False))
    cal = calibrate_standing(sim.samples, 1.0, 9.0)
    assert all(e["axis_source"] == "assumed" for e in cal["sensors"].values())
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
