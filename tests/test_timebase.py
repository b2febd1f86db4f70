"""The time base: clock drift, BLE arrival jitter and bursts, gaps, and the gyro cross-check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.angles import compute_angles
from analysis.timebase import MAX_GAP_S, align_sensors, common_grid, describe_sync, find_gaps, fit_clock
from tests.test_angles import hinge_session, rmse_against


def test_host_times_with_drift_and_jitter():
    rate_hz, drift_ppm = 50.0, 300.0
    k = np.delete(np.arange(3000), np.arange(1000, 1031))  # and 31 samples lost
    true_s = 2.0 + k / (rate_hz * (1 + drift_ppm * 1e-6))
    rng = np.random.default_rng(0)
    host_s = true_s + rng.exponential(0.008, len(k))  # BLE latency is one-sided
    clock = fit_clock(host_s)
    assert clock.nominal_rate_hz == 50.0 and clock.source == "host"
    assert clock.drift_ppm == pytest.approx(drift_ppm, abs=30)
    assert np.array_equal(clock.index, k)
    assert 3 < clock.jitter_ms < 15
    assert [g["missing"] for g in find_gaps(clock)] == [31]


def test_times_on_a_line_are_counted_by_their_steps_to_the_last_sample():
    # a recorder's samples re-timed onto their clock's line (and an app's regular timestamps, to the µs):
    # whole periods apart; the loss in the last half second is one that arrival times could not show
    k = np.delete(np.arange(3000), np.r_[1000:1031, 2990:2995])
    clock = fit_clock(np.round(2.0 + k / 100.0, 6))
    assert np.array_equal(clock.index, k)
    assert [g["missing"] for g in find_gaps(clock)] == [31, 5]
    assert clock.rate_hz == pytest.approx(100.0, rel=1e-9)


def test_ble_bursts_keep_every_sample_apart():
    """Four samples per notification arrive with one host time: counts still step by one."""
    k = np.arange(400)
    host_s = (k // 4 * 4 + 3) / 100.0 + 0.004
    clock = fit_clock(host_s)
    assert np.array_equal(clock.index, k)
    assert clock.rate_hz == pytest.approx(100.0, rel=1e-3)


def test_device_timestamps_give_the_counts():
    k = np.concatenate([np.arange(100), np.arange(130, 300)])  # 30 samples lost
    device_s = 1000.0 + k / 25.0 * (1 - 50e-6)
    host_s = 5.0 + k / 25.0 + np.random.default_rng(1).uniform(0, 0.03, len(k))
    clock = fit_clock(host_s, device_s)
    assert clock.source == "device"
    assert np.array_equal(clock.index, k)
    gaps = find_gaps(clock)
    assert len(gaps) == 1 and gaps[0]["missing"] == 30
    assert gaps[0]["duration_s"] == pytest.approx(31 / 25.0, abs=0.01)


def _drop(samples: pd.DataFrame, sensor: str, start_s: float, end_s: float) -> pd.DataFrame:
    drop = (samples["sensor"] == sensor) & samples["time_s"].between(start_s, end_s)
    return samples[~drop].reset_index(drop=True)


def test_short_gaps_are_filled_and_long_gaps_stay_nan():
    samples, _, _ = hinge_session(50.0, reps=3)
    samples = _drop(samples, "thoracic", 12.0, 12.1)  # 0.1 s: interpolated
    samples = _drop(samples, "lumbar", 16.0, 16.6)  # 0.6 s: never bridged
    series, sync = align_sensors(samples)
    lumbar = series["lumbar"]
    inside = (lumbar.time_s > 16.0) & (lumbar.time_s < 16.6)
    assert np.isnan(lumbar.acc_mps2[inside]).all() and (lumbar.segment[inside] == -1).all()
    thoracic = series["thoracic"]
    assert np.isfinite(thoracic.acc_mps2).all() and (thoracic.segment == 0).all()
    assert sync["sensors"]["lumbar"]["long_gaps"] == 1 and sync["sensors"]["thoracic"]["long_gaps"] == 0
    angles = compute_angles(samples).angles
    t = angles["time_s"]
    assert angles.loc[t.between(16.05, 16.55), "lumbar_flexion_deg"].isna().all()
    assert angles.loc[t.between(11.9, 12.2), "lumbar_flexion_deg"].notna().all()
    assert angles["lumbar_flexion_deg"].notna().mean() > 0.95


def test_sessions_clock_sensors_at_different_rates_share_one_grid():
    samples, _, _ = hinge_session(100.0, reps=2)
    thor = samples[samples["sensor"] == "thoracic"].iloc[::4]  # 25 Hz
    mixed = pd.concat([samples[samples["sensor"] == "lumbar"], thor])
    series, sync = align_sensors(mixed)
    assert sync["sensors"]["thoracic"]["nominal_rate_hz"] == 25.0
    grid = common_grid(series)
    assert np.diff(grid) == pytest.approx(0.01)


def test_xcorr_corrects_independent_clocks_and_only_checks_a_shared_one():
    samples, truth, _ = hinge_session(100.0, reps=4)
    late = samples.copy()
    thoracic = late["sensor"] == "thoracic"
    late.loc[thoracic, "time_s"] += 0.15 + 0.004  # its own clock: off by 154 ms, sampling at other instants
    series, sync = align_sensors(late)
    check = sync["xcorr"]["thoracic"]
    assert check["offset_s"] == pytest.approx(0.154, abs=0.01) and check["correlation"] > 0.7 and check["applied"]
    assert series["thoracic"].time_s[0] == pytest.approx(series["lumbar"].time_s[0], abs=0.01)
    assert rmse_against(compute_angles(late).angles, truth, "lumbar_flexion_deg") < 1.0
    # One shared clock (same instants): a lag would be the body's, so it is reported, never applied.
    shared = samples.copy()
    shared.loc[shared["sensor"] == "thoracic", "gyr_x"] = np.roll(
        shared.loc[shared["sensor"] == "thoracic", "gyr_x"], 15
    )
    _, sync_shared = align_sensors(shared)
    assert not sync_shared["xcorr"]["thoracic"]["applied"]
    _, sync_ok = align_sensors(samples)
    assert abs(sync_ok["xcorr"]["thoracic"]["offset_s"]) < 0.02 and sync_ok["quality"] == "good"


def test_max_gap_is_the_documented_one():
    assert MAX_GAP_S == 0.2


def test_store_recorded_session_with_device_clocks():
    """As the store hands it over: host receive times (latency, retries, notifications of several
    samples, lost bursts) plus each sensor's own timestamps."""
    from imuform.simulator import random_session_spec, simulate_session

    sim = simulate_session(random_session_spec(3))
    parts = []
    for stream in sim.streams.values():
        rows = stream.samples()
        rows["time_s"] = stream.host_time_s[~stream.lost]
        rows["device_time_s"] = stream.device_time_s[~stream.lost]
        parts.append(rows)
    result = compute_angles(pd.concat(parts, ignore_index=True))
    for placement, stream in sim.streams.items():
        report = result.sync["sensors"][placement]
        assert report["clock_source"] == "device"
        assert report["drift_ppm"] == pytest.approx(stream.params.clock_drift_ppm, abs=10)
        assert report["missing_samples"] == stream.lost.sum()
    assert result.sync["quality"] in ("good", "fair")
    assert rmse_against(result.angles, sim.truth_angles, "lumbar_flexion_deg") < 1.0


def test_line_fit_block_minima_and_mask_runs_match_their_references():
    from analysis.lines import line_fit
    from analysis.quiet import mask_runs
    from analysis.timebase import _first_minima

    rng = np.random.default_rng(4)
    x = np.cumsum(rng.integers(1, 3, 5000))
    y = 0.01 * x + 3.0 + rng.exponential(0.002, len(x))
    assert np.allclose(line_fit(x, y), np.polyfit(x, y, 1), rtol=1e-9)
    block = x // 200
    values = np.round(rng.normal(size=len(x)), 1)  # ties: the first one wins, as with idxmin
    expected = pd.Series(values).groupby(block).idxmin().to_numpy()
    assert np.array_equal(_first_minima(values, block), expected)
    mask = rng.random(1000) < 0.6
    starts, ends = mask_runs(mask)
    rebuilt = np.zeros_like(mask)
    for i0, i1 in zip(starts, ends):
        rebuilt[i0:i1] = True
    assert np.array_equal(rebuilt, mask) and not (starts[1:] == ends[:-1]).any()


@pytest.mark.parametrize(("offset_s", "applied"), [(0.12, True), (0.02, False)])
def test_synchronised_device_clocks_are_corrected_only_beyond_the_body_lag(offset_s, applied):
    """Device timestamps the recorder put on the session clock: trusted within the body's own lag, corrected
    (with the reason said) when the gyroscopes disagree by more."""
    samples, truth, _ = hinge_session(100.0, reps=4)
    recorded = samples.copy()
    recorded["device_time_s"] = recorded["time_s"] + 1000.0
    recorded.loc[recorded["sensor"] == "thoracic", "time_s"] += offset_s + 0.004
    _, sync = align_sensors(recorded)
    check = sync["xcorr"]["thoracic"]
    assert check["offset_s"] == pytest.approx(offset_s + 0.004, abs=0.01)
    assert check["applied"] is applied
    assert ("corrected" if applied else "within the body's own lag") in check["reason"]
    line = describe_sync(sync)
    assert line.startswith("sync ") and "gyroscope check thoracic" in line and check["reason"] in line


def test_the_sync_line_never_writes_minus_zero():
    sync = {
        "quality": "good",
        "sensors": {"lumbar": {"clock_source": "device", "drift_ppm": -0.4, "missing_samples": 0}},
        "xcorr": {"thoracic": {"offset_s": -0.0003, "correlation": 0.95, "applied": False, "reason": "kept"}},
    }
    line = describe_sync(sync)
    assert "-0" not in line and "+0" not in line and "drift 0 ppm" in line and "thoracic 0 ms" in line


@pytest.mark.parametrize(
    ("rate_hz", "step"),
    [
        (100.0, 2),
        (99.99999999999993, 2),  # a 100 Hz grid whose fitted rate lands a hair below 100
        (98.0, 2),  # 2 % slow: an oscillator's error, still a 100 Hz sensor
        (100.3, 2),
        (60.0, 1),  # below twice the cap: every sample
        (50.0, 1),
        (286.0, 5),  # BROAD's 286 Hz: read at 57 Hz
        (25.0, 1),
        (float("nan"), 1),
    ],
)
def test_a_sensor_is_read_every_kth_sample_to_come_near_a_cap_from_above(rate_hz, step):
    from analysis.timebase import samples_per_step

    assert samples_per_step(rate_hz, 50.0, 0.03) == step
