"""The stream assembler on its own: notifications with made-up arrivals in, samples on the session clock out.

Every sample carries its own index in the gyroscope (x: index mod 1000, y: index // 1000 · 10 deg/s), so
each sample handed on is matched to the instant it was taken, whatever was lost or repeated.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol import SampleBlock, get_model
from imuform.ble.stream_assembler import (
    AssemblerConfig,
    StreamAssembler,
    _phase_power,
    _rough_phase_power,
    count_notifications,
    sample_period,
)

RATE_HZ = 100.0


def stream(kind: str, *, duration_s=60.0, loss=0.0, per_notification=2, stall=None, drift_ppm=30.0, seed=0):
    """Feed a sensor's notifications to an assembler; return it, the true times and the indices handed on.

    Latency is 0–7.5 ms (the connection interval) plus an exponential 6 ms (retries); ``stall`` = (start,
    end) holds every notification back until ``end`` (a busy host); ``loss`` drops notifications.
    """
    rng = np.random.default_rng(seed)
    model = get_model(kind)
    encoder = model.encoder(sensor_id=0, rate_hz=RATE_HZ, max_payload=244)
    n = int(duration_s * RATE_HZ)
    true_s = 1.0 + np.arange(n) / RATE_HZ * (1 - drift_ppm * 1e-6)
    index = np.arange(n)
    acc = np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 9.81)])
    gyr = np.column_stack([(index % 1000) * 1.0, (index // 1000) * 10.0, np.zeros(n)])
    assembler = StreamAssembler(model, AssemblerConfig(rate_hz=RATE_HZ))
    handed = []
    last_arrival = 0.0
    for i in range(0, n, per_notification):
        block = slice(i, i + per_notification)
        payloads = encoder.encode(
            SampleBlock(device_time_s=true_s[block] + 100.0, acc_mps2=acc[block], gyr_dps=gyr[block])
        )
        for payload in payloads:
            if rng.random() < loss:
                continue
            arrival = true_s[block][-1] + rng.uniform(0, 0.0075) + rng.exponential(0.006)
            if stall and stall[0] <= true_s[i] < stall[1]:
                arrival = max(arrival, stall[1])
            last_arrival = max(last_arrival, arrival)  # a link delivers in order
            out = assembler.feed(payload, last_arrival)
            if out is not None:
                handed.append(
                    np.rint(out.block.gyr_dps[:, 1] / 10).astype(int) * 1000
                    + np.rint(out.block.gyr_dps[:, 0]).astype(int)
                )
    return assembler, true_s, np.concatenate(handed)


@pytest.mark.parametrize("kind", ["witmotion", "thingy52", "imuform"])
def test_without_loss_every_sample_lands_within_a_few_ms_of_its_true_time(kind):
    assembler, true_s, index = stream(kind)
    final = assembler.finalize()
    assert len(final.time_s) == len(true_s) and final.lost == 0 and final.gaps == []
    error_s = final.time_s - true_s[index]
    assert np.abs(error_s - np.median(error_s)).max() < 0.006
    assert 0 <= np.median(error_s) < 0.008  # the least latency: a sample is never stamped before it was taken


def test_lost_notifications_without_a_device_clock_leave_holes_not_a_shorter_recording():
    assembler, true_s, index = stream("witmotion", loss=0.05)
    final = assembler.finalize()
    lost_true = len(true_s) - len(index)
    assert final.lost == pytest.approx(lost_true, rel=0.2)
    error_s = final.time_s - true_s[index]
    assert np.percentile(error_s, 99) < 0.020 and np.percentile(error_s, 1) > -0.050
    # the time axis spans the whole recording (losses in its last half second cannot be told from latency)
    assert final.time_s[-1] - final.time_s[0] == pytest.approx(true_s[index[-1]] - true_s[index[0]], abs=0.12)


def test_a_host_that_stalls_for_a_second_and_a_half_loses_nothing():
    assembler, true_s, index = stream("witmotion", stall=(20.0, 21.5))
    final = assembler.finalize()
    assert final.lost == 0 and final.gaps == []
    assert np.abs(final.time_s - true_s[index]).max() < 0.010


def test_a_dropped_link_leaves_a_gap_and_payloads_sent_again_are_dropped():
    model = get_model("witmotion")
    encoder = model.encoder(sensor_id=0, rate_hz=RATE_HZ, max_payload=244)
    assembler = StreamAssembler(model, AssemblerConfig(rate_hz=RATE_HZ))
    payloads = []
    for i in range(0, 3000, 2):
        block = SampleBlock(
            device_time_s=np.array([i, i + 1]) / RATE_HZ,
            acc_mps2=np.full((2, 3), 1.0 + i / 1e4),
            gyr_dps=np.full((2, 3), float(i % 500)),
        )
        payloads.extend(encoder.encode(block))
    for k, payload in enumerate(payloads[:500]):
        assembler.feed(payload, 1.0 + (2 * k + 1) / RATE_HZ + 0.002)
    assembler.link_lost(11.2)
    assembler.link_restored()
    # the sensor sends its last 10 payloads again, then goes on 3 s later
    for k, payload in enumerate(payloads[490:500] + payloads[800:]):
        assembler.feed(payload, 14.0 + (2 * k + 1) / RATE_HZ + 0.002)
    final = assembler.finalize(end_s=30.0)
    assert assembler.counts.duplicates == 10
    assert len(final.time_s) == 2 * (500 + len(payloads) - 800)
    assert [g.reason for g in final.gaps] == ["link lost; reconnected"]
    assert final.gaps[0].end_s - final.gaps[0].start_s == pytest.approx(14.21 - 10.992, abs=0.02)


def test_a_restarted_device_clock_starts_a_new_epoch():
    model = get_model("imuform")
    encoder = model.encoder(sensor_id=0, rate_hz=RATE_HZ, max_payload=244)
    assembler = StreamAssembler(model, AssemblerConfig(rate_hz=RATE_HZ))
    for start_s, host0_s in ((500.0, 0.0), (0.0, 40.0)):  # power cycle: the clock restarts at 0
        device_s = start_s + np.arange(2000) / RATE_HZ
        for i in range(0, 2000, 4):
            block = SampleBlock(device_time_s=device_s[i : i + 4], acc_mps2=np.ones((4, 3)), gyr_dps=np.ones((4, 3)))
            for payload in encoder.encode(block):
                assembler.feed(payload, host0_s + (i + 4) / RATE_HZ + 0.003)
    final = assembler.finalize()
    assert final.clock.epochs == 2
    assert final.time_s[2000] == pytest.approx(40.0 + 1 / RATE_HZ, abs=0.005)
    assert len(final.gaps) == 1


@pytest.mark.parametrize("kind", ["witmotion", "thingy52"])
def test_lost_samples_are_counted_so_the_time_base_stays_one_straight_line(kind):
    """Without a device clock a miscounted loss would move every later sample by a period."""
    assembler, true_s, index = stream(kind, loss=0.02)
    final = assembler.finalize()
    error_s = final.time_s - true_s[index]
    window = np.floor(true_s[index])
    medians = np.array([np.median(error_s[window == w]) for w in np.unique(window)])
    assert np.ptp(medians) < 0.003  # a period is 10 ms
    assert final.lost == pytest.approx(len(true_s) - len(index), abs=5)  # the last half second is not told


def test_polar_samples_after_a_lost_frame_keep_their_device_times():
    """A frame stamps its last sample; spread from the frame before a lost one, its samples would stretch."""
    model = get_model("polar-pmd")
    encoder = model.encoder(rate_hz=RATE_HZ, max_payload=244)
    assembler = StreamAssembler(model, AssemblerConfig(rate_hz=RATE_HZ))
    n = 400
    device_s = 5.0 + np.arange(n) / RATE_HZ
    index = np.arange(n)
    gyr = np.column_stack([(index % 1000) * 1.0, np.zeros(n), np.zeros(n)])
    handed, times = [], []
    for k, i in enumerate(range(0, n, 4)):
        block = SampleBlock(device_time_s=device_s[i : i + 4], acc_mps2=np.ones((4, 3)), gyr_dps=gyr[i : i + 4])
        for payload in encoder.encode(block):
            if k % 7 == 3:
                continue  # both frames of every seventh burst are lost
            out = assembler.feed(payload, device_s[i + 3] + 0.01)
            if out is not None:
                handed.append(np.rint(out.block.gyr_dps[:, 0]).astype(int))
                times.append(out.device_time_s)
    handed, times = np.concatenate(handed), np.concatenate(times)
    assert len(handed) == n - 4 * len(range(3, n // 4, 7))
    assert np.abs(times - device_s[handed]).max() < 1e-6


def event_arrivals(seed, *, duration_s=120.0, interval_s=0.0075, jitter_s=0.005, loss=0.02, drift_ppm=30.0):
    """Arrivals of one-sample notifications as a link delivers them: each slips by up to ``jitter_s``, then
    waits for the next connection event (every ``interval_s``), in order; ``loss`` are lost. Returns the
    arrivals and the true count of each notification's sample."""
    rng = np.random.default_rng(seed)
    count = np.arange(int(duration_s * RATE_HZ))
    ready_s = 1.0 + count / RATE_HZ * (1 - drift_ppm * 1e-6) + rng.uniform(0, jitter_s, len(count))
    phase_s = rng.uniform(0, interval_s)
    arrival_s = np.maximum.accumulate(phase_s + np.ceil((ready_s - phase_s) / interval_s) * interval_s)
    kept = rng.random(len(count)) >= loss
    return arrival_s[kept], count[kept] - count[kept][0]


def counts_of(arrival_s: np.ndarray) -> np.ndarray:
    """Counts of one-sample notifications as the assembler finds them: the period, then the counts."""
    n = np.ones(len(arrival_s), dtype=int)
    config = AssemblerConfig(rate_hz=RATE_HZ)
    period_s = sample_period(arrival_s, np.cumsum(n) - 1, config.period_s, config)
    return count_notifications(arrival_s, n, period_s, config)


def seconds_off(arrival_s: np.ndarray, error: np.ndarray) -> int:
    """Seconds of arrivals whose median count error differs from the recording's."""
    second = np.floor(arrival_s)
    return sum(np.median(error[second == s]) != np.median(error) for s in np.unique(second))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_on_connection_events_stay_right_whatever_the_event_phase(seed):
    """Latency floors cycle with the event phase (0, 5, 2.5 ms at 7.5 ms events and 100 Hz), so the quickest
    arrival of a stretch after a loss may sit a few ms up: no second of samples may be a period off."""
    arrival_s, true_count = event_arrivals(seed)
    assert seconds_off(arrival_s, counts_of(arrival_s) - true_count) == 0


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_counts_stay_right_when_retries_spread_latency_over_three_periods(seed):
    """With 30 ms of retry jitter delivered in order, the quickest latency is reached by about one arrival
    in a hundred, and a rate error of a few hundred ppm explains the arrivals almost as well as the losses
    do: only the sensor's own period (found from the phase of the arrivals) keeps every second right."""
    arrival_s, true_count = event_arrivals(seed, jitter_s=0.03, loss=0.015)
    assert seconds_off(arrival_s, counts_of(arrival_s) - true_count) == 0


@pytest.mark.parametrize("drift", [-0.015, 0.02])
def test_an_oscillator_percent_off_its_nominal_rate_is_not_read_as_losses(drift):
    """MEMS oscillators are specified to ±1-2 %: at 1.5 % slow, a count at the nominal rate falls 1.5 samples
    a second behind, just as lost samples would; the period is found to a few ppm and the counts stay right."""
    arrival_s, true_count = event_arrivals(7, jitter_s=0.01, loss=0.01, drift_ppm=drift * 1e6)
    n = np.ones(len(arrival_s), dtype=int)
    config = AssemblerConfig(rate_hz=RATE_HZ)
    period_s = sample_period(arrival_s, np.cumsum(n) - 1, config.period_s, config)
    assert period_s * RATE_HZ == pytest.approx(1 - drift, abs=2e-5)
    assert seconds_off(arrival_s, counts_of(arrival_s) - true_count) == 0


def test_an_epoch_too_short_to_time_keeps_the_nominal_period():
    arrival_s, _ = event_arrivals(8, duration_s=3.0)
    config = AssemblerConfig(rate_hz=RATE_HZ)
    assert sample_period(arrival_s, np.arange(len(arrival_s)), config.period_s, config) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_rough_phase_power_is_off_by_no_more_than_its_bound(seed):
    """`sample_period` rules candidates out on the rough power: the exact one must lie within its bound."""
    rng = np.random.default_rng(seed)
    r = np.cumsum(rng.integers(1, 4, 30_000)).astype(float)
    median = 1.0 + r * 0.01 * (1 + rng.uniform(-0.05, 0.05)) + rng.uniform(0, 0.03, len(r))
    candidates, pivot = np.linspace(0.0095, 0.0105, 40), 0.01
    chunk_starts = np.arange(0, len(r), int(rng.integers(100, 3000)))
    rough, bound = np.array([_rough_phase_power(median + pivot * r, q, chunk_starts) for q in candidates]).T
    exact = _phase_power(median, r, candidates, pivot, chunk_starts)
    assert (np.abs(rough - exact) <= bound).all() and (bound < 1e-3 * exact.max()).all()
