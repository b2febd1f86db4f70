"""Random session specs for benchmarks: every exercise and fault, realistic sensors, varied rates."""

from __future__ import annotations

import numpy as np

from imuform.simulator import exercises as ex
from imuform.simulator.session import SessionSpec, SetSpec

#: Rates of common BLE IMUs, Hz.
BENCHMARK_RATES_HZ = (25.0, 50.0, 52.0, 60.0, 100.0, 104.0, 200.0)


def random_session_spec(
    seed: int,
    exercise: str | None = None,
    fault: str | None = None,
    rate_hz: float | None = None,
    n_sets: int | None = None,
    other_activities: bool = False,
) -> SessionSpec:
    """A realistic random session: 1-3 sets of 3-10 reps, noise and misalignment on.

    Parameters
    ----------
    seed
        Seeds both the choices here and the simulation.
    exercise, fault
        Fix the exercise or the fault of every set; None draws them per set (faults only where they
        make sense: rounded back extensions on the bench, squats clean).
    rate_hz
        Sensor rate; None draws one of `BENCHMARK_RATES_HZ`.
    n_sets
        Number of sets; None draws 1-3.
    other_activities
        Mix bouts of movements that are no gym exercise into the session (`SessionSpec.other_activities`).

    Returns
    -------
    SessionSpec
    """
    rng = np.random.default_rng([seed, 0x51])
    sets = []
    for _ in range(n_sets or int(rng.integers(1, 4))):
        exe = exercise or str(rng.choice(ex.EXERCISES))
        if fault is not None:
            flt = fault
        elif exe == "squat":
            flt = "none"
        else:
            flt = str(rng.choice([f for f in ex.FAULTS if ex.compatible(exe, f)]))
        sets.append(SetSpec(exe, int(rng.integers(3, 11)), flt))
    rate = rate_hz or float(rng.choice(BENCHMARK_RATES_HZ))
    return SessionSpec(sets=sets, rate_hz=rate, seed=seed, rest_s=(30.0, 60.0), other_activities=other_activities)
