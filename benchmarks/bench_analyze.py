"""`imuform analyze` speed and memory on 10 min, 1 h and 4 h sessions (2 sensors, 100 Hz).

Targets: a 1-hour session in ≤ 1.5 s wall time (interpreter start-up excluded) and ≤ 600 MB peak RSS;
cost linear in length; ≥ 20× faster than the baseline (`benchmarks/baseline.py`: ahrs Madgwick per
sample plus a straightforward pandas pipeline), measured side by side on the 1-hour session.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.baseline import baseline_pipeline
from benchmarks.figures import Figure, benchmark_options, print_table
from benchmarks.sessions import gym_session
from imuform.store import Store

TARGET_1H_S = 1.5
TARGET_RSS_MB = 600.0
TARGET_SPEEDUP = 20.0

# Runs in a fresh interpreter: imports first, then times the command itself.
_CHILD = """
import io, json, resource, sys, time, contextlib
from imuform.cli.main import main
import imuform.cli.analyze  # the command's own imports are start-up too, excluded from the timing
from imuform.session_analysis import preload_pipeline
preload_pipeline()  # and so are those the pipeline makes on first use
home, session_id = sys.argv[1], sys.argv[2]
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["--home", home, "analyze", session_id, "--json"])
elapsed = time.perf_counter() - start
def peak_rss_mb():
    # Linux's ru_maxrss survives exec: it would report the benchmark parent's size. VmHWM is this program's own.
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": code, "s": elapsed, "rss_mb": peak_rss_mb()}))
"""


#: Runs per session length up to an hour; the median is reported (the machine may be shared).
RUNS = 5


def time_analyze(home: Path, session_id: str, runs: int = 1) -> dict:
    """Median wall time (s) and peak RSS (MB) of ``imuform analyze SESSION --json``, each run a fresh process."""
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(home), session_id], capture_output=True, text=True, check=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["code"] != 0:
            raise RuntimeError(f"imuform analyze failed: {out.stderr.strip()}")
        results.append(result)
    return {"s": statistics.median(r["s"] for r in results), "rss_mb": max(r["rss_mb"] for r in results), "runs": runs}


def run(quick: bool = False) -> list[Figure]:
    """Measure analyze on sessions of increasing length, and the baseline on the 1-hour one."""
    durations_s = (600.0, 3600.0) if quick else (600.0, 3600.0, 14400.0)
    figures: list[Figure] = []
    per_hour: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for duration_s in durations_s:
            samples = gym_session(duration_s)
            with Store(home) as store:
                session_id = store.import_samples(samples, name=f"bench {duration_s:g} s")
            result = time_analyze(home, session_id, RUNS if duration_s <= 3600.0 else 1)
            label = f"{duration_s / 60:g} min" if duration_s < 3600 else f"{duration_s / 3600:g} h"
            per_hour.append(result["s"] / (duration_s / 3600.0))
            target = TARGET_1H_S if duration_s == 3600.0 else None
            baseline = None
            if duration_s == 3600.0:
                start = time.perf_counter()
                baseline_pipeline(samples)
                baseline = time.perf_counter() - start
                figures.append(
                    Figure(
                        f"analyze {label}: speed-up over baseline",
                        baseline / result["s"],
                        "×",
                        TARGET_SPEEDUP,
                        higher_is_better=True,
                        note="ahrs Madgwick per sample + pandas, same data",
                    )
                )
            figures.append(
                Figure(
                    f"analyze {label}",
                    result["s"],
                    "s",
                    target,
                    baseline=baseline,
                    note=f"{len(samples):,} samples, from the store, JSON out, median of {result['runs']}",
                )
            )
            figures.append(
                Figure(
                    f"analyze {label} peak RSS", result["rss_mb"], "MB", TARGET_RSS_MB if duration_s <= 3600 else None
                )
            )
    figures.append(
        Figure(
            "analyze cost per hour: longest / shortest",
            per_hour[-1] / per_hour[0],
            "×",
            1.3,
            note="1.0 = perfectly linear",
        )
    )
    return figures


if __name__ == "__main__":
    print_table("analyze speed", run(quick=benchmark_options(__doc__).quick))
