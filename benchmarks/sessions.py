"""Long simulated sessions for the speed benchmarks, cached on disk between runs."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from imuform.simulator import SessionSpec, SetSpec, simulate_session

CACHE = Path(os.environ.get("IMUFORM_BENCH_CACHE", Path(__file__).resolve().parents[1] / "artifacts" / "bench"))
#: One block of the gym session: a set of deadlifts then RDLs then good mornings, with rests.
_BLOCK = (
    SetSpec("deadlift", 6, "none"),
    SetSpec("romanian_deadlift", 8, "lumbar_flexion"),
    SetSpec("good_morning", 8, "none"),
)
_BLOCK_S = 360.0


def gym_session(duration_s: float, rate_hz: float = 100.0, seed: int = 11) -> pd.DataFrame:
    """Samples of a simulated 2-sensor gym session of about ``duration_s`` seconds.

    Parameters
    ----------
    duration_s
        Wanted length, s (the session repeats a 3-set block of about 6 minutes).
    rate_hz
        Sensor rate, Hz.
    seed
        Simulation seed.

    Returns
    -------
    pandas.DataFrame
        The samples table (cached as a pickle under ``artifacts/bench``).
    """
    path = CACHE / f"gym_{int(duration_s)}s_{rate_hz:g}hz_{seed}.pkl"
    if path.exists():
        return pd.read_pickle(path)
    blocks = max(1, round(duration_s / _BLOCK_S))
    spec = SessionSpec(sets=[s for _ in range(blocks) for s in _BLOCK], rate_hz=rate_hz, seed=seed)
    samples = simulate_session(spec).samples
    CACHE.mkdir(parents=True, exist_ok=True)
    samples.to_pickle(path)
    return samples
