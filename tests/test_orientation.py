"""Orientation: VQF inclination against truth, gyro bias, and robustness to single-sample spikes."""

from __future__ import annotations

import numpy as np

from analysis.angles import compute_angles
from analysis.despike import despike, running_median5
from analysis.orientation import accelerometer_correction, orientation_quat, orientation_quats
from analysis.rotations import inclination_deg, matrices_from_quat_wxyz
from tests.test_angles import hinge_session, rmse_against


def test_running_median5_is_the_median_of_five_samples():
    x = np.random.default_rng(4).integers(-3, 4, (400, 3)).astype(float)  # many ties
    padded = np.concatenate([x[:1], x[:1], x, x[-1:], x[-1:]])
    want = np.median(np.stack([padded[i : i + len(x)] for i in range(5)]), axis=0)
    np.testing.assert_array_equal(running_median5(x), want)
    np.testing.assert_array_equal(running_median5(x[:1]), x[:1])


def test_despike_keeps_smooth_motion_and_removes_spikes():
    t = np.linspace(0, 10, 1000)
    x = np.column_stack([100 * np.sin(2 * np.pi * 0.5 * t), 50 * np.cos(2 * np.pi * 0.3 * t), np.zeros_like(t)])
    assert np.allclose(despike(x, 30.0)[2:-2], x[2:-2], atol=1.0)
    spiky = x.copy()
    spiky[[100, 400, 401, 700], [0, 1, 1, 2]] += [2000, -1500, -1500, 900]
    assert np.abs(despike(spiky, 30.0) - x)[2:-2].max() < 5.0  # a neighbour replaces the spike


def test_vqf_inclination_with_gyro_bias():
    samples, truth, straps = hinge_session(100.0, reps=4)
    rows = samples[samples["sensor"] == "lumbar"]
    quat = orientation_quat(
        rows[["acc_x", "acc_y", "acc_z"]].to_numpy(), rows[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(), 100.0
    )
    R_world_segment = matrices_from_quat_wxyz(quat) @ straps["lumbar"]
    err = inclination_deg(R_world_segment) - truth["pelvis_inclination_deg"].to_numpy()
    assert np.sqrt(np.mean(err**2)) < 1.0


def test_spikes_do_not_disturb_the_angles():
    samples, truth, _ = hinge_session(50.0, reps=4, seed=2)
    clean = compute_angles(samples).angles
    rng = np.random.default_rng(5)
    spiky = samples.copy()
    for col, size in (("gyr_x", 1500.0), ("gyr_y", -2000.0), ("acc_z", 60.0), ("acc_x", -40.0)):
        idx = rng.choice(len(spiky), 40, replace=False)
        spiky.loc[idx, col] += size
    result = compute_angles(spiky).angles
    for col in ("lumbar_flexion_deg", "trunk_inclination_deg"):
        assert rmse_against(result, truth, col) < rmse_against(clean, truth, col) + 0.5
        assert rmse_against(result, truth, col) < 1.5


def test_9d_option_runs_with_a_magnetometer():
    samples, truth, _ = hinge_session(50.0, reps=2)
    # A constant field in the world frame, seen in each sensor's frame through its accelerometer-free path:
    # use the gravity direction to tilt a fixed horizontal+down field into the sensor frame.
    g = samples[["acc_x", "acc_y", "acc_z"]].to_numpy()
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    samples[["mag_x", "mag_y", "mag_z"]] = -40.0 * g  # vertical field only: heading stays unobservable
    result = compute_angles(samples, use_mag=True)
    assert rmse_against(result.angles, truth, "lumbar_flexion_deg") < 1.5


def test_one_vqf_run_gives_the_6d_orientation_of_a_9d_analysis():
    # the bar-field evidence of a 9D analysis takes this 6D orientation instead of orienting every sensor again
    rng = np.random.default_rng(8)
    n = 3000
    acc = rng.normal(0.0, 0.3, (n, 3)) + [0.0, 0.0, 9.81]
    gyr = rng.normal(0.0, 20.0, (n, 3))
    mag = rng.normal(0.0, 2.0, (n, 3)) + [20.0, 0.0, -40.0]
    quat_6d, quat_9d = orientation_quats(acc, gyr, 100.0, mag)
    np.testing.assert_array_equal(quat_6d, orientation_quat(acc, gyr, 100.0))
    np.testing.assert_array_equal(quat_9d, orientation_quat(acc, gyr, 100.0, mag))
    assert orientation_quats(acc, gyr, 100.0)[1] is None


def test_the_accelerometer_fit_leaves_out_a_rest_that_was_no_rest():
    rate_hz, g = 25.0, 9.81
    bias, gain = np.array([0.05, -0.08, 0.06]), np.array([1.01, 0.99, 1.005])
    rng = np.random.default_rng(1)
    directions = rng.normal(size=(12, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    # the last "rest" is the slow end of a movement: the gyroscope is quiet, the hips still accelerate
    norms = [g] * 11 + [9.45]
    acc, gyr = [], []
    for d, norm in zip(directions, norms):
        acc += [np.tile(norm * d / gain + bias, (50, 1)), np.tile(g * d / gain + bias, (25, 1))]
        gyr += [np.zeros((50, 3)), np.tile([60.0, 0.0, 0.0], (25, 1))]
    acc_mps2 = np.vstack(acc) + rng.normal(0.0, 0.02, (len(np.vstack(acc)), 3))
    fit_bias, fit_gain = accelerometer_correction(acc_mps2, np.vstack(gyr), rate_hz)
    np.testing.assert_allclose(fit_gain, gain, atol=0.004)
    np.testing.assert_allclose(fit_bias, bias, atol=0.04)
