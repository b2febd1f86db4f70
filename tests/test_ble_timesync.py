"""The online clock map: drift and offset from packets with random latency, epochs, no reordering."""

from __future__ import annotations

import numpy as np
import pytest

from imuform.ble.timesync import ClockSync, ClockSyncConfig

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
    sync = ClockSync(ClockSyncConfig(max_drift=1e-3))
    device_s = np.arange(1000) * 0.02
    for d in device_s:
        sync.add(d, d * 1.3)  # a growing backlog looks like a clock 30 % slow
    assert sync.rate == pytest.approx(1.001)


def test_a_latency_floor_that_rises_for_a_while_does_not_tilt_the_map():
    """A busy host delays every packet by 0.3–0.6 s for a minute; the earliest arrivals still tell the clock."""
    true_s, device_s, host_s = packets(15_000, 40.0, boot_s=10.0)
    busy = (true_s > 100) & (true_s < 160)
    host_s = host_s + busy * np.random.default_rng(3).uniform(0.3, 0.6, len(host_s))
    sync = ClockSync()
    for d, h in zip(device_s, host_s):
        sync.add(d, h)
    mapped = sync.final_map(device_s, np.zeros(len(device_s), dtype=int))
    assert np.abs(mapped - true_s).max() < 0.002
    assert sync.summary().method == "lower-envelope"


def test_the_online_map_never_reorders_and_the_final_map_is_one_line():
    """The first packets arrive 0.5 s late (a backlog at connection); online times stay increasing, the
    final map puts them back on the line (nothing squeezed to catch up)."""
    true_s, device_s, host_s = packets(3000, -30.0, boot_s=5.0)
    host_s[:50] += np.linspace(0.5, 0.0, 50)
    sync = ClockSync()
    online = []
    for d, h in zip(device_s, host_s):
        sync.add(d, h)
        online.append(sync.to_host([d])[0])
    assert np.all(np.diff(online) > 0)
    final = sync.final_map(device_s, np.zeros(len(device_s), dtype=int))
    assert np.abs(final - true_s).max() < 0.002
    assert np.ptp(np.diff(final)) < 1e-9  # one straight line: constant spacing
