"""A small simulated gym session for the tests of set labels, lifting logs, references and exports."""

from __future__ import annotations

from functools import cache

import pandas as pd

from imuform.simulator.session import SessionSpec, SetSpec, simulate_session
from imuform.store import Store


@cache
def two_deadlift_sets() -> pd.DataFrame:
    """Two sets of three deadlifts at 50 Hz (the samples table, simulated once per test run)."""
    sim = simulate_session(
        SessionSpec(sets=[SetSpec("deadlift", 3, "none"), SetSpec("deadlift", 3, "none")], rate_hz=50, seed=3)
    )
    return pd.concat([s.samples() for s in sim.streams.values()], ignore_index=True)


def store_two_sets(store: Store, started_at: str = "2026-11-02T17:00:00+00:00", name: str = "pulls") -> str:
    """Store `two_deadlift_sets` as a recorded session starting at ``started_at``; return its id."""
    return store.import_samples(two_deadlift_sets(), name=name, started_at=started_at, source="simulate")


@cache
def clean_then_rounded() -> pd.DataFrame:
    """A clean set of four deadlifts, then four with lumbar flexion, at 50 Hz (simulated once per test run)."""
    sim = simulate_session(
        SessionSpec(sets=[SetSpec("deadlift", 4, "none"), SetSpec("deadlift", 4, "lumbar_flexion")], rate_hz=50, seed=5)
    )
    return pd.concat([s.samples() for s in sim.streams.values()], ignore_index=True)
