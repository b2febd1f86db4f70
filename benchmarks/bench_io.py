"""Import and export of a 1-hour `samples.csv` (2 sensors at 100 Hz): target ≤ 2 s each.

The baseline is the straightforward pandas way: ``read_csv`` then ``to_csv``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.figures import Figure, benchmark_options, print_table
from benchmarks.sessions import gym_session
from imuform.io_csv import write_samples_csv
from imuform.session_files import export_session, import_session
from imuform.store import Store

TARGET_S = 2.0


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def run(quick: bool = False) -> list[Figure]:
    """Measure import and export of a 1-hour session (10 minutes with ``quick``)."""
    duration_s = 600.0 if quick else 3600.0
    samples = gym_session(duration_s)
    label = f"{len(samples):,} rows"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_samples_csv(samples, tmp / "samples.csv")
        store = Store(tmp / "home")
        import_s, session_id = _timed(import_session, store, tmp / "samples.csv")
        export_s, _ = _timed(export_session, store, session_id, tmp / "out")
        base_read_s, df = _timed(pd.read_csv, tmp / "samples.csv")
        base_write_s, _ = _timed(df.to_csv, tmp / "base.csv")
        store.close()
    minutes = int(duration_s / 60)
    return [
        Figure(
            f"import {minutes} min samples.csv",
            import_s,
            "s",
            TARGET_S,
            baseline=base_read_s,
            note=f"{label}, validated, into SQLite",
        ),
        Figure(
            f"export {minutes} min samples.csv",
            export_s,
            "s",
            TARGET_S,
            baseline=base_write_s,
            note=f"{label}, lossless",
        ),
    ]


if __name__ == "__main__":
    print_table("import / export", run(quick=benchmark_options(__doc__).quick))
