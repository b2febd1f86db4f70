"""Finishing a recording of a sensor without a clock: target ≤ 1 s per hour of data per sensor.

When a recording ends, `StreamAssembler.finalize` re-times every sample of a clock-less sensor (Thingy:52,
WitMotion, MetaWear) from the arrivals of the whole recording: its period, then the lost counts (a
Viterbi path per pass), and the user waits for it. The arrivals are those of tests/test_stream_assembler.py
made harder: a WitMotion at 100 Hz sending 3 samples per notification, each notification delivered 15–30 ms
after its last sample (retries), in order, 1.5 % of them lost, and an oscillator 1.5 % slow. The same-run
baseline is feeding those notifications to the assembler (the work done live while recording), so a loaded
machine shows in both; the load average is printed beside them.

Run ``python -m benchmarks.bench_finalize [--quick]`` (``--quick``: 10 minutes only).
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.figures import Figure, benchmark_options, print_table
from firmware_protocol import SampleBlock, get_model
from imuform.ble.stream_assembler import AssemblerConfig, StreamAssembler

RATE_HZ = 100.0
SAMPLES_PER_NOTIFICATION = 3
TARGET_S_PER_HOUR = 1.0


def clockless_recording(duration_s: float, seed: int = 0) -> tuple[list[bytes], np.ndarray]:
    """Payloads and host arrivals of a WitMotion's notifications (retry jitter 15–30 ms, 1.5 % lost,
    oscillator 1.5 % slow)."""
    rng = np.random.default_rng(seed)
    encoder = get_model("witmotion").encoder(sensor_id=0, rate_hz=RATE_HZ, max_payload=244)
    n = int(duration_s * RATE_HZ) // SAMPLES_PER_NOTIFICATION * SAMPLES_PER_NOTIFICATION
    index = np.arange(n)
    true_s = 1.0 + index / RATE_HZ * 1.015
    acc = np.column_stack([np.zeros(n), np.zeros(n), np.full(n, 9.81)])
    gyr = np.column_stack([(index % 1000) * 1.0, np.zeros(n), np.zeros(n)])
    last = index[SAMPLES_PER_NOTIFICATION - 1 :: SAMPLES_PER_NOTIFICATION]
    arrival_s = np.maximum.accumulate(true_s[last] + rng.uniform(0.015, 0.030, len(last)))
    kept = rng.random(len(last)) >= 0.015
    payloads = []
    for i in np.flatnonzero(kept):
        block = slice(i * SAMPLES_PER_NOTIFICATION, (i + 1) * SAMPLES_PER_NOTIFICATION)
        block_samples = SampleBlock(acc_mps2=acc[block], gyr_dps=gyr[block])
        payloads.extend(encoder.encode(block_samples))
    return payloads, arrival_s[kept]


def assembled(payloads: list[bytes], arrival_s: np.ndarray) -> tuple[StreamAssembler, float]:
    """An assembler fed every notification, and the seconds feeding took."""
    assembler = StreamAssembler(get_model("witmotion"), AssemblerConfig(rate_hz=RATE_HZ))
    start = time.perf_counter()
    for payload, host_s in zip(payloads, arrival_s, strict=True):
        assembler.feed(payload, float(host_s))
    return assembler, time.perf_counter() - start


def finish_figures(minutes: float) -> list[Figure]:
    """Seconds to finalize ``minutes`` of one clock-less sensor, and the same run's feeding time."""
    payloads, arrival_s = clockless_recording(60.0 * minutes)
    assembler, feed_s = assembled(payloads, arrival_s)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    final = assembler.finalize()
    finish_s = time.perf_counter() - start
    note = f"{len(arrival_s):,} notifications, {final.lost} lost found; load {load:.2f}"
    return [
        Figure(
            f"finalize {minutes:g} min of one sensor, per hour of data",
            finish_s * 60.0 / minutes,
            "s/h",
            target=TARGET_S_PER_HOUR,
            note=f"{finish_s:.2f} s; {note}",
        ),
        Figure(
            f"same-run baseline: feeding those {minutes:g} min live, per hour of data",
            feed_s * 60.0 / minutes,
            "s/h",
            note=f"{feed_s:.2f} s (decoding, online clock sync); load {load:.2f}",
        ),
    ]


def run(quick: bool = False) -> list[Figure]:
    """Finalize times for 10 minutes and (unless ``quick``) 60 minutes of one sensor."""
    return [figure for minutes in ((10.0,) if quick else (10.0, 60.0)) for figure in finish_figures(minutes)]


if __name__ == "__main__":
    print_table("Finishing a recording of a clock-less sensor", run(quick=benchmark_options(__doc__).quick))
