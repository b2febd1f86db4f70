"""Live processing per BLE notification (decode, online angles, cue), and the live rep count.

Two virtual sensors' notifications (Movella DOT rate quantities, one sample each, and the batched
imuform format) of simulated sessions are fed in arrival order through the same code the live view
runs (`firmware_protocol` decoder, then `imuform.ble.live.LiveView.on_samples`), and the reps are counted
every `REFRESH_S` of session time as `imuform live` does (`LiveView.refresh_reps`, off the notification
path). Target: ≤ 1 ms per notification at p99; every set's live rep count equal to the simulator's
truth (3 sets each of deadlift from the floor, Romanian deadlift, good morning and back extension, with
the walking, plate fetching and bends of a gym session between them). The end-to-end cue latency over
the virtual radio is in bench_ble.
"""

from __future__ import annotations

import time

import numpy as np

from analysis.calibration import auto_calibrate
from benchmarks.figures import Figure, benchmark_options, print_table
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
        encoder = MODELS[kind].encoder(
            rate_hz=rate_hz, **({"mode": "rate_quantities"} if kind == "movella-dot" else {})
        )
        step = 1 if kind == "movella-dot" else 8
        for i in range(0, block.n, step):
            sl = slice(i, i + step)
            part = SampleBlock(
                device_time_s=block.device_time_s[sl], acc_mps2=block.acc_mps2[sl], gyr_dps=block.gyr_dps[sl]
            )
            for payload in encoder.encode(part):
                out.append((float(block.device_time_s[sl][-1]), placement, payload))
    out.sort(key=lambda item: item[0])
    return out


#: Session time between two live rep counts, s (as `imuform.cli.live.REP_REFRESH_S`).
REFRESH_S = 0.25
EXERCISES = ("deadlift", "romanian_deadlift", "good_morning", "back_extension_45")


def measure(kind: str, rate_hz: float, sets_each: int) -> dict:
    """Per-notification processing times (s), rep refresh times (s), and true and live reps per set."""
    spec = SessionSpec(
        sets=[SetSpec(ex, 6, "lumbar_flexion") for ex in EXERCISES for _ in range(sets_each)],
        rate_hz=rate_hz,
        seed=5,
        magnetometer=False,
        rest_s=(20.0, 30.0),
    )
    sim = simulate_session(spec)
    view = LiveView(auto_calibrate(sim.samples), rate_hz, limit_deg=20.0)
    decoders = {
        p: MODELS[kind].decoder(rate_hz=rate_hz, **({"mode": "rate_quantities"} if kind == "movella-dot" else {}))
        for p in ("lumbar", "thoracic")
    }
    times, refresh, next_refresh_s = [], [], 0.0
    for time_s, placement, payload in notifications(sim.samples, kind, rate_hz):
        start = time.perf_counter()
        block, _ = decoders[placement].feed(payload)
        if block.n:
            view.on_samples(placement, block.device_time_s, block)
        times.append(time.perf_counter() - start)
        if time_s >= next_refresh_s:
            start = time.perf_counter()
            view.refresh_reps()
            refresh.append(time.perf_counter() - start)
            next_refresh_s = time_s + REFRESH_S
    view.refresh_reps(final=True)
    true = [(s["reps"][0]["start_s"], s["reps"][-1]["end_s"], len(s["reps"])) for s in sim.truth["sets"]]
    live = [(r["start_s"].iloc[0], r["end_s"].iloc[-1], len(r)) for r in view.reps.sets]
    return {"times": np.asarray(times), "refresh": np.asarray(refresh), "true": true, "live": live}


def count_matches(true: list[tuple], live: list[tuple]) -> tuple[int, int]:
    """True sets whose one overlapping live set has their rep count, and live sets overlapping no true set.

    ``true`` and ``live`` hold ``(start_s, end_s, reps)`` per set.
    """

    def overlaps(a: tuple, b: tuple) -> bool:
        return min(a[1], b[1]) > max(a[0], b[0])

    exact = sum(1 for t in true if [lv[2] for lv in live if overlaps(t, lv)] == [t[2]])
    spurious = sum(1 for lv in live if not any(overlaps(t, lv) for t in true))
    return exact, spurious


def run(quick: bool = False) -> list[Figure]:
    """p50/p99 processing time per notification for a one-sample and a batched protocol; live rep counts."""
    figures = []
    for kind, rate_hz in (("movella-dot", 60.0), ("imuform", 100.0)):
        m = measure(kind, rate_hz, 1 if quick else 3)
        true, live = m["true"], m["live"]
        exact, spurious = count_matches(true, live)
        figures.append(
            Figure(
                f"live per notification p99 ({kind})",
                float(np.percentile(m["times"], 99) * 1e3),
                "ms",
                TARGET_P99_MS,
                note=f"{len(m['times']):,} notifications",
            )
        )
        figures.append(Figure(f"live per notification p50 ({kind})", float(np.percentile(m["times"], 50) * 1e3), "ms"))
        figures.append(
            Figure(
                f"live rep count exact ({kind})",
                100.0 * exact / len(true),
                "%",
                100.0,
                True,
                note=f"{len(true)} sets of 4 exercises, {sum(t[2] for t in true)} reps; {spurious} spurious live sets",
            )
        )
        figures.append(
            Figure(
                f"live rep count refresh p99 ({kind})",
                float(np.percentile(m["refresh"], 99) * 1e3),
                "ms",
                note=f"every {REFRESH_S:g} s of session time, {len(m['refresh']):,} refreshes",
            )
        )
    return figures


if __name__ == "__main__":
    print_table("live processing", run(quick=benchmark_options(__doc__).quick))
