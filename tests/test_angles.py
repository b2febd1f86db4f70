"""Spine angles end to end on constructed IMU data: known segment motion in, angles out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from analysis.angles import compute_angles
from analysis.calibration import Calibration, CalibrationWindows, Window, calibrate_axis_from_bends, calibrate_standing
from analysis.rotations import rotation_yxz_deg
from analysis.session import ANGLE_COLUMNS
from tests.conftest import make_samples

G_MPS2 = 9.81


def imu_rows(
    placement: str,
    time_s: np.ndarray,
    R_world_segment: np.ndarray,
    R_sensor_segment: np.ndarray,
    rng: np.random.Generator,
    *,
    gyr_noise_dps: float = 0.3,
    acc_noise_mps2: float = 0.05,
    gyr_bias_dps: float = 0.0,
) -> pd.DataFrame:
    """Samples-table rows of a sensor strapped on a segment with rotation ``R_sensor_segment``."""
    r = Rotation.from_matrix(R_world_segment @ R_sensor_segment.T)
    # The mean body rate over the interval ending at each sample, as a gyro's output filter delivers it.
    omega = (r[:-1].inv() * r[1:]).as_rotvec() / np.diff(time_s)[:, None]
    gyr = np.degrees(np.vstack([omega[:1], omega]))
    acc = r.inv().apply([0.0, 0.0, G_MPS2])
    n = len(time_s)
    gyr = gyr + gyr_bias_dps + rng.normal(0, gyr_noise_dps, (n, 3))
    acc = acc + rng.normal(0, acc_noise_mps2, (n, 3))
    return pd.DataFrame(
        {
            "sensor": placement,
            "time_s": time_s,
            "acc_x": acc[:, 0],
            "acc_y": acc[:, 1],
            "acc_z": acc[:, 2],
            "gyr_x": gyr[:, 0],
            "gyr_y": gyr[:, 1],
            "gyr_z": gyr[:, 2],
        }
    )


def hinge_session(
    rate_hz: float = 100.0,
    *,
    seed: int = 0,
    misalign_deg: float = 20.0,
    reps: int = 5,
    bend_deg: float = 4.0,
    twist_deg: float = 3.0,
    heading_deg: float = 30.0,
):
    """A standing start, slow calibration bends, then Romanian-deadlift-like reps.

    Returns
    -------
    samples, truth, R_sensor_segment
        The samples table, the true angles (docs/conventions.md) on the sample times, and the straps.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(0, 8 + 5 * reps + 3, 1 / rate_hz)
    # Pelvis hinges up to 45°, the lumbar spine flexes up to 15° on top; a rep every 5 s after 8 s.
    phase = np.clip((t - 8) / 5, 0, reps)
    active = (t > 8) & (t < 8 + 5 * reps)
    wave = np.where(active, 0.5 * (1 - np.cos(2 * np.pi * phase)), 0.0)
    wave = np.where((t > 3) & (t < 7), 0.5 * (1 - np.cos(2 * np.pi * (t - 3) / 2)), wave)  # two calibration bends
    pelvis = 45 * wave
    flex = 15 * wave - 3 * np.where(active, np.sin(np.pi * phase) ** 8, 0)
    bend = bend_deg * wave * active  # the calibration bends are purely sagittal
    twist = twist_deg * np.sin(2 * np.pi * phase) * active
    heading = np.radians(heading_deg)
    R_wl = Rotation.from_euler("ZY", np.column_stack([np.full_like(t, heading), np.radians(pelvis)])).as_matrix()
    R_rel = np.array([rotation_yxz_deg(a, b, c) for a, b, c in zip(flex, bend, twist)])
    R_wt = R_wl @ R_rel
    straps = {
        p: Rotation.from_euler("xyz", rng.uniform(-misalign_deg, misalign_deg, 3), degrees=True).as_matrix()
        for p in ("lumbar", "thoracic")
    }
    # Real straps: lumbar sensor lies flat on the sacrum, thoracic upside down; both misaligned.
    flip = Rotation.from_euler("XZ", [180, 90], degrees=True).as_matrix()  # upside down, turned 90°
    straps["thoracic"] = straps["thoracic"] @ flip
    samples = pd.concat(
        [
            imu_rows("lumbar", t, R_wl, straps["lumbar"], rng, gyr_bias_dps=0.5),
            imu_rows("thoracic", t, R_wt, straps["thoracic"], rng, gyr_bias_dps=-0.4),
        ],
        ignore_index=True,
    )
    incl_t = np.degrees(np.arctan2(-R_wt[:, 2, 0], R_wt[:, 2, 2]))
    truth = pd.DataFrame(
        {
            "time_s": t,
            "lumbar_flexion_deg": flex,
            "lumbar_lateral_bend_deg": bend,
            "lumbar_twist_deg": twist,
            "trunk_inclination_deg": incl_t,
            "pelvis_inclination_deg": pelvis,
        }
    )
    return samples, truth, straps


def rmse_against(angles: pd.DataFrame, truth: pd.DataFrame, column: str) -> float:
    est = np.interp(truth["time_s"], angles["time_s"], angles[column])
    ok = np.isfinite(est)
    return float(np.sqrt(np.mean((est[ok] - truth[column].to_numpy()[ok]) ** 2)))


def test_columns_and_auto_calibration():
    samples, truth, _ = hinge_session(50.0)
    result = compute_angles(samples)
    assert tuple(result.angles.columns) == ANGLE_COLUMNS
    assert result.calibration.method == "auto"
    assert result.sync["quality"] == "good"
    for col in ("lumbar_flexion_deg", "pelvis_inclination_deg", "trunk_inclination_deg"):
        assert rmse_against(result.angles, truth, col) < 1.5, col


def test_guided_calibration_matches_truth():
    samples, truth, _ = hinge_session(100.0, seed=1)
    cal = calibrate_axis_from_bends(samples, calibrate_standing(samples, 0.5, 2.5), 3.0, 7.0)
    assert all(e.axis_source == "bends" for e in cal.sensors.values())
    result = compute_angles(samples, calibration=cal)
    assert result.calibration.method == "guided"
    assert rmse_against(result.angles, truth, "lumbar_flexion_deg") < 1.5
    assert rmse_against(result.angles, truth, "lumbar_lateral_bend_deg") < 1.5
    assert rmse_against(result.angles, truth, "lumbar_twist_deg") < 2.0


def _feed_in_arrival_order(live, samples: pd.DataFrame, per_block: int = 3) -> pd.DataFrame:
    """Feed notifications of ``per_block`` samples to `LiveAngles` in time order; the thoracic outputs."""
    blocks = []
    for placement, rows in samples.groupby("sensor"):
        blocks += [
            (rows["time_s"].iloc[min(i + per_block, len(rows)) - 1], placement, rows.iloc[i : i + per_block])
            for i in range(0, len(rows), per_block)
        ]
    out = []
    for _, placement, block in sorted(blocks, key=lambda b: b[0]):
        result = live.feed(
            placement,
            block["time_s"].to_numpy(),
            block[["acc_x", "acc_y", "acc_z"]].to_numpy(),
            block[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(),
        )
        if placement == "thoracic":
            out.append(pd.DataFrame(result))
    return pd.concat(out, ignore_index=True)


def test_live_angles_follow_the_truth_through_spikes_and_gaps():
    import dataclasses

    from analysis.calibration import calibrate_axis_from_bends, calibrate_standing
    from analysis.live import LiveAngles
    from imuform.simulator import ErrorModel, SessionSpec, SetSpec, simulate_session

    errors = dataclasses.replace(ErrorModel(), spikes_per_min=20.0)
    sim = simulate_session(
        SessionSpec(sets=[SetSpec("deadlift", 4, "none")], rate_hz=50, seed=5, between_sets=False, errors=errors)
    )
    steps = sim.truth["calibration"]
    cal = calibrate_standing(sim.samples, 1.0, 9.0)
    cal = calibrate_axis_from_bends(
        sim.samples, cal, steps["max_flexion"]["start_s"] - 3, steps["max_extension"]["end_s"] + 3
    )
    first_rep = sim.truth["sets"][0]["reps"][0]
    lost = (sim.samples["sensor"] == "lumbar") & sim.samples["time_s"].between(
        first_rep["start_s"], first_rep["start_s"] + 1.5
    )
    est = _feed_in_arrival_order(LiveAngles(cal, 50.0), sim.samples[~lost])
    inside = est["time_s"].between(first_rep["start_s"] + 0.3, first_rep["start_s"] + 1.4)
    assert est.loc[inside, "lumbar_flexion_deg"].isna().all()  # never held across a long gap
    # A filter restarted in the middle of a fast set-up descent snaps to an accelerometer full of linear
    # acceleration: 20-25° off for about 6 s before it converges (found when the simulator's reps got
    # lopsided speed profiles; docs/analysis.md, known limits). Judged outside that settling time.
    gap_end_s = first_rep["start_s"] + 1.5
    t = sim.truth_angles["time_s"]
    settled = sim.truth_angles[(t > 10) & ((t < first_rep["start_s"]) | (t > gap_end_s + 8.0))]
    assert rmse_against(est, settled, "lumbar_flexion_deg") < 1.5


def test_simulated_session_with_an_upper_thoracic_sensor():
    """Against the simulator's truth: every angle column, thoracic flexion included."""
    from analysis.session import THORACIC_COLUMN
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    sim = simulate_session(
        SessionSpec(
            sets=[SetSpec("good_morning", 3, "none")],
            rate_hz=50,
            seed=7,
            between_sets=False,
            sensors=("lumbar", "thoracic", "upper_thoracic"),
        )
    )
    result = compute_angles(sim.samples)
    assert tuple(result.angles.columns) == (*ANGLE_COLUMNS, THORACIC_COLUMN)
    limits = {
        "lumbar_flexion_deg": 1.0,
        "thoracic_flexion_deg": 1.0,
        "lumbar_lateral_bend_deg": 1.0,
        "lumbar_twist_deg": 1.0,
        "trunk_inclination_deg": 1.5,
        "pelvis_inclination_deg": 1.5,
    }
    for column, limit in limits.items():
        assert rmse_against(result.angles, sim.truth_angles, column) < limit, column


def test_bad_input_says_what_to_do():
    import pytest

    samples, _, _ = hinge_session(25.0, reps=1)
    with pytest.raises(ValueError, match="lumbar and a thoracic"):
        compute_angles(samples[samples["sensor"] == "lumbar"])
    apart = samples.copy()
    apart.loc[apart["sensor"] == "thoracic", "time_s"] += 1000.0
    with pytest.raises(ValueError, match="do not overlap"):
        compute_angles(apart)
    with pytest.raises(ValueError, match="calibration has no"):
        compute_angles(samples, calibration=Calibration("guided", {}, CalibrationWindows(standing=Window(0.0, 2.0))))


def test_heading_offset_follows_a_drift_past_180_degrees():
    """A relative heading drifting more than a turn is followed the short way between anchors, never swept back."""
    from analysis.angles import heading_offset_rad, segment_on_grid
    from analysis.rotations import quat_about_z_wxyz

    n = 400
    true_offset = np.radians(np.linspace(0.0, 500.0, n))
    q_lower = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    q_upper = quat_about_z_wxyz(-true_offset)  # the upper sensor's 6D world is turned by -offset
    quiet = (np.arange(n) % 40) < 5  # short rests every 40 samples
    got = heading_offset_rad(segment_on_grid(q_lower), segment_on_grid(q_upper), quiet)
    err = (got - true_offset + np.pi) % (2 * np.pi) - np.pi
    between = slice(2, 362)  # from the first anchor's middle to the last one's (outside, it is held)
    assert np.abs(np.degrees(err[between])).max() < 1.0


def test_nlerp_matches_slerp_at_imu_rates():
    from scipy.spatial.transform import Slerp

    from analysis.rotations import nlerp_wxyz

    time_s = np.arange(3000) / 100.0
    # fast motion: up to ~230 deg/s about a wandering axis
    r = Rotation.from_rotvec(np.column_stack([np.sin(time_s), np.cos(0.7 * time_s), 0.5 * np.sin(2 * time_s)]) * 2)
    quat = r.as_quat(scalar_first=True)
    quat[1::2] *= -1  # q and -q are the same rotation: the interpolation must take the short way
    at_s = np.linspace(time_s[0], time_s[-1], 7001)
    got = Rotation.from_quat(nlerp_wxyz(time_s, quat, at_s), scalar_first=True)
    assert np.degrees((Slerp(time_s, r)(at_s).inv() * got).magnitude()).max() < 1e-3


def test_relative_cardan_angles_match_the_matrix_product():
    from analysis.rotations import cardan_angles_deg, relative_cardan_angles_deg

    lower = Rotation.random(500, random_state=3)
    upper = lower * Rotation.from_euler("YXZ", np.random.default_rng(3).uniform(-60, 60, (500, 3)), degrees=True)
    q_lower, q_upper = lower.as_quat(scalar_first=True), upper.as_quat(scalar_first=True)
    q_upper[1::2] *= -1  # q and -q are the same rotation
    q_upper[7] = np.nan
    got = relative_cardan_angles_deg(q_lower, q_upper)
    want = cardan_angles_deg(np.transpose(lower.as_matrix(), (0, 2, 1)) @ upper.as_matrix())
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.delete(g, 7), np.delete(w, 7), atol=1e-9)
        assert np.isnan(g[7])


def test_quaternion_helpers_match_scipy():
    from analysis.rotations import (
        compose_quat_wxyz,
        conjugate_wxyz,
        inclination_deg,
        inclination_from_quat_deg,
        matrices_from_quat_wxyz,
        quat_about_z_wxyz,
    )

    p, q = Rotation.random(200, random_state=1), Rotation.random(200, random_state=2)
    qp, qq = p.as_quat(scalar_first=True), q.as_quat(scalar_first=True)
    np.testing.assert_allclose(matrices_from_quat_wxyz(compose_quat_wxyz(qp, qq)), (p * q).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(
        matrices_from_quat_wxyz(compose_quat_wxyz(qp, qq[0])), (p * q[0]).as_matrix(), atol=1e-12
    )
    np.testing.assert_allclose(matrices_from_quat_wxyz(conjugate_wxyz(qp)), p.inv().as_matrix(), atol=1e-12)
    angle = np.linspace(-3, 3, 200)
    np.testing.assert_allclose(
        matrices_from_quat_wxyz(quat_about_z_wxyz(angle)),
        Rotation.from_euler("z", angle[:, None]).as_matrix(),
        atol=1e-12,
    )
    np.testing.assert_allclose(inclination_from_quat_deg(qp), inclination_deg(p.as_matrix()), atol=1e-9)


def test_resampling_and_relative_angles_do_not_depend_on_the_chunk():
    """`resample_orientation` and `relative_angles_deg` work a chunk of the grid at a time: the same to the bit."""
    from analysis.angles import relative_angles_deg, resample_orientation, segment_on_grid
    from analysis.rotations import compose_quat_wxyz
    from analysis.timebase import regularize_sensor

    rng = np.random.default_rng(3)
    rows = make_samples(n=3000)
    rows = rows[rows["sensor"] == "lumbar"]
    rows = rows[(rows["time_s"] < 9.0) | (rows["time_s"] > 12.0)]  # a long gap: two stretches
    series, _ = regularize_sensor("lumbar", rows)
    quat = rng.normal(size=(len(series.time_s), 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    right = np.array([0.9, 0.1, -0.3, 0.2]) / np.linalg.norm([0.9, 0.1, -0.3, 0.2])
    grid = np.arange(series.time_s[0] - 0.5, series.time_s[-1] + 0.5, 0.013)
    whole = resample_orientation(series.time_s, series.segment, compose_quat_wxyz(quat, right), grid, chunk=len(grid))
    assert (
        np.isnan(whole[(grid > 9.2) & (grid < 11.8)]).all()
        and np.isfinite(whole[(grid > series.time_s[0]) & (grid < 8.9)]).all()
    )
    for chunk in (1, 7, 1000):
        np.testing.assert_array_equal(
            resample_orientation(series.time_s, series.segment, quat, grid, right, chunk=chunk), whole
        )
    quiet = rng.random(len(grid)) < 0.3
    lower, upper = segment_on_grid(whole[::-1].copy()), segment_on_grid(whole)
    expected = relative_angles_deg(lower, upper, quiet, chunk=len(grid))
    for chunk in (1, 7, 1000):
        for got, want in zip(relative_angles_deg(lower, upper, quiet, chunk=chunk), expected):
            np.testing.assert_array_equal(got, want)
