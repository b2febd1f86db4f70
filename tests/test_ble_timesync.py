"""The online clock map: drift and offset from packets with random latency, epochs, no reordering."""

from __future__ import annotations

import numpy as np
import pytest

from imuform.ble.timesync import ClockSync

pytestmark = pytest.mark.ble


def packets(n: int, drift_ppm: float, boot_s: float, seed: int = 0):
    """Device time of each packet's last sample and its host arrival: latency 0–7.5 ms, 5 % late by 30 ms."""
    rng = np.random.default_rng(seed)
    true_s = 2.0 + np.arange(n) * 0.02
    device_s = boot_s + true_s * (1 + drift_ppm * 1e-6)
    host_s = true_s + rng.uniform(0.0, 0.0075, n) + (rng.random(n) < 0.05) * 0.03
    return true_s, device_s, host_s


@pytest.mark.parametrize("drift_ppm", [-80.0, 0.0, 120.0])
def test_drift_and_offset_are_recovered_from_the_lower_envelope(drift_ppm):
    sync = ClockSync()
    true_s, device_s, host_s = packets(15_000, drift_ppm, boot_s=1234.5)  # 5 minutes
    out = np.concatenate([sync.to_host([d]) for d, h in zip(device_s, host_s) if sync.add(d, h) is None])
    assert sync.drift_ppm == pytest.approx(-drift_ppm, abs=5.0)
    late = out[len(out) // 2 :] - true_s[len(out) // 2 :]
    assert np.all(np.diff(out) > 0)
    assert np.ptp(late) < 0.002 and abs(np.median(late)) < 0.002  # within 2 ms of the true time


def test_a_restarted_device_clock_starts_a_new_epoch_with_its_own_offset():
    sync = ClockSync()
    _, device_s, host_s = packets(2000, 50.0, boot_s=100.0)
    for d, h in zip(device_s, host_s):
        sync.add(d, h)
    rate = sync.rate
    sync.new_epoch()
    true_s, device2_s, host2_s = packets(500, 50.0, boot_s=0.0, seed=1)
    host2_s += 60.0
    for d, h in zip(device2_s, host2_s):
        sync.add(d, h)
    mapped = sync.to_host(device2_s[-5:])
    assert mapped == pytest.approx(true_s[-5:] + 60.0, abs=0.003)
    assert sync.rate == pytest.approx(rate, abs=2e-5)


def test_fits_beyond_the_plausible_drift_are_clipped():
    sync = ClockSync(max_drift=1e-3)
    device_s = np.arange(400) * 0.02
    for d in device_s:
        sync.add(d, d * 1.3)  # a growing backlog looks like a clock 30 % slow
    assert sync.rate == pytest.approx(1.001)
