"""Live processing cost per BLE notification: decode, online angles, rep counter and cue.

Two virtual sensors' notifications (Movella DOT rate quantities, one sample each, and the batched
imuform format) of a simulated deadlift session are fed in arrival order through the same code the
live view runs (`firmware_protocol` decoder, then `imuform.ble.live.LiveView.on_samples`). Target:
≤ 1 ms per notification at p99. The end-to-end cue latency over the virtual radio is in bench_ble.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from analysis.calibration import auto_calibrate
from benchmarks.figures import Figure, print_table
from firmware_protocol import MODELS, SampleBlock
from imuform.ble.live import LiveView
from imuform.simulator import SessionSpec, SetSpec, simulate_session

TARGET_P99_MS = 1.0


def notifications(samples, kind: str, rate_hz: float) -> list[tuple[float, str, bytes]]:
    """Every notification of both sensors as (device time of its last sample, placement, payload), in time order."""
    out = []
    for placement in ("lumbar", "thoracic"):
        rows = samples[samples["sensor"] == placement]
        block = SampleBlock(
            device_time_s=rows["time_s"].to_numpy(),
            acc_mps2=rows[["acc_x", "acc_y", "acc_z"]].to_numpy(),
            gyr_dps=rows[["gyr_x", "gyr_y", "gyr_z"]].to_numpy(),
        )
        encoder = MODELS[kind].encoder(rate_hz=rate_hz, **({"mode": "rate_quantities"} if kind == "movella-dot" else {}))
        step = 1 if kind == "movella-dot" else 8
        for i in range(0, block.n, step):
            sl = slice(i, i + step)
            part = SampleBlock(device_time_s=block.device_time_s[sl], acc_mps2=block.acc_mps2[sl], gyr_dps=block.gyr_dps[sl])
            for payload in encoder.encode(part):
                out.append((float(block.device_time_s[sl][-1]), placement, payload))
    out.sort(key=lambda item: item[0])
    return out


def measure(kind: str, rate_hz: float, duration_sets: int) -> tuple[np.ndarray, int]:
    """Per-notification processing times (s) and the reps the live counter saw."""
    spec = SessionSpec(sets=[SetSpec("deadlift", 6, "lumbar_flexion")] * duration_sets, rate_hz=rate_hz, seed=5,
                       magnetometer=False, rest_s=(20.0, 30.0))
    samples = simulate_session(spec).samples
    calibration = auto_calibrate(samples)
    view = LiveView(calibration, rate_hz, limit_deg=20.0)
    decoders = {p: MODELS[kind].decoder(rate_hz=rate_hz, **({"mode": "rate_quantities"} if kind == "movella-dot" else {}))
                for p in ("lumbar", "thoracic")}
    times = []
    for _, placement, payload in notifications(samples, kind, rate_hz):
        start = time.perf_counter()
        block, _ = decoders[placement].feed(payload)
        if block.n:
            view.on_samples(placement, block.device_time_s, block)
        times.append(time.perf_counter() - start)
    return np.asarray(times), len(view.reps.peaks_deg)


def run(quick: bool = False) -> list[Figure]:
    """p50/p99 processing time per notification for a one-sample and a batched protocol."""
    figures = []
    for kind, rate_hz in (("movella-dot", 60.0), ("imuform", 100.0)):
        times, reps = measure(kind, rate_hz, 1 if quick else 3)
        note = f"{len(times):,} notifications, {reps} reps counted live"
        figures.append(Figure(f"live per notification p99 ({kind})", float(np.percentile(times, 99) * 1e3), "ms",
                              TARGET_P99_MS, note=note))
        figures.append(Figure(f"live per notification p50 ({kind})", float(np.percentile(times, 50) * 1e3), "ms"))
    return figures


if __name__ == "__main__":
    print_table("live processing", run(quick="--quick" in sys.argv))
