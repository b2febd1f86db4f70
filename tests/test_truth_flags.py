"""The simulator's own truth flags, on hand-computed reps, and beside the analysis' limits and names."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from analysis.flags import FLAGS as ANALYSIS_FLAGS
from analysis.limits import DEFAULT_LIMITS
from analysis.session import ANGLE_COLUMNS as ANALYSIS_ANGLE_COLUMNS
from imuform.simulator import SessionSpec, SetSpec, simulate_truth
from imuform.simulator.truth import (
    ANGLE_COLUMNS,
    FLAGS,
    JUDGED_LIMITS,
    drift_rises_deg,
    flag_margins_deg,
    true_rep_values,
)


def _rep(lumbar_deg: list[float], bend_deg: float = 0.0, twist_deg: float = 0.0) -> pd.DataFrame:
    """A rep sampled at 1 Hz: the trunk goes 0 → 60 → 0°, the lumbar angle as given."""
    n = len(lumbar_deg)
    trunk = 60.0 * np.sin(np.linspace(0.0, np.pi, n))
    return pd.DataFrame(
        {
            "time_s": np.arange(n, dtype=float),
            "lumbar_flexion_deg": lumbar_deg,
            "lumbar_lateral_bend_deg": np.r_[0.0, bend_deg, np.zeros(n - 2)],
            "lumbar_twist_deg": np.r_[0.0, 0.0, twist_deg, np.zeros(n - 3)],
            "trunk_inclination_deg": trunk,
            "pelvis_inclination_deg": trunk - np.asarray(lumbar_deg),
        }
    )


def _flags(angles: pd.DataFrame, lockout_from_s: float = 3.0, rise_deg: float | None = None) -> dict[str, float]:
    values = true_rep_values(angles, 0.0, float(angles["time_s"].iloc[-1]), lockout_from_s, 50.0)
    return flag_margins_deg(values, rise_deg, JUDGED_LIMITS)


def test_the_truth_judges_against_the_products_default_limits_and_names():
    assert asdict(JUDGED_LIMITS) == DEFAULT_LIMITS.to_dict()
    assert FLAGS == ANALYSIS_FLAGS and ANGLE_COLUMNS == ANALYSIS_ANGLE_COLUMNS


def test_hand_computed_flexed_rep():
    # peak 36° against the 35° limit: flagged by 1°; lockout -2°, mean (0+10+36+5-2)/5 = 9.8°
    values = true_rep_values(_rep([0.0, 10.0, 36.0, 5.0, -2.0]), 0.0, 4.0, 3.0, 50.0)
    assert values["peak_lumbar_flexion_deg"] == 36.0 and values["peak_lumbar_flexion_pct"] == 72.0
    assert values["lockout_lumbar_angle_deg"] == -2.0 and values["mean_lumbar_angle_deg"] == pytest.approx(9.8)
    assert values["bottom_s"] == 2.0 and values["peak_trunk_inclination_deg"] == pytest.approx(60.0)
    margins = flag_margins_deg(values, None, JUDGED_LIMITS)
    assert margins["lumbar_flexion"] == pytest.approx(1.0)
    assert margins["lockout_hyperextension"] == pytest.approx(-8.0)
    assert margins["overarching"] == pytest.approx(-19.8)
    assert "flexion_drift" not in margins


def test_a_rep_just_inside_the_flexion_limit_is_clean():
    margins = _flags(_rep([0.0, 10.0, 34.5, 5.0, 0.0]))
    assert margins["lumbar_flexion"] == pytest.approx(-0.5)
    assert not [f for f, m in margins.items() if m > 0]


def test_hyperextended_lockout_counts_only_from_the_lockout_on():
    # -11° before the lockout window (at 1 s) is no lockout; -10.5° at 3 s is, by 0.5°
    assert _flags(_rep([0.0, -11.0, 12.0, -10.5, -1.0]))["lockout_hyperextension"] == pytest.approx(0.5)
    assert _flags(_rep([0.0, -11.0, 12.0, -3.0, -1.0]))["lockout_hyperextension"] == pytest.approx(-7.0)


def test_an_arched_rep_is_overarching_and_not_also_hyperextended():
    # mean -14°: past -10° by 4°; its lockout (-20°) is part of the same fault
    margins = _flags(_rep([-12.0, -10.0, -8.0, -20.0, -20.0]))
    assert margins["overarching"] == pytest.approx(4.0)
    assert "lockout_hyperextension" not in margins


def test_asymmetry_takes_the_larger_of_bend_and_twist_either_side():
    assert _flags(_rep([0.0, 5.0, 10.0, 5.0, 0.0], bend_deg=-9.0, twist_deg=3.0))["asymmetry"] == pytest.approx(1.0)
    assert _flags(_rep([0.0, 5.0, 10.0, 5.0, 0.0], bend_deg=2.0, twist_deg=7.0))["asymmetry"] == pytest.approx(-1.0)


def test_drift_is_judged_from_the_third_rep_against_the_first_two():
    # baseline median(10, 12) = 11: rises 1, 8.5 and 9 against the 8° limit
    assert drift_rises_deg([10.0, 12.0]) == [None, None]
    assert drift_rises_deg([10.0, 12.0, 12.0, 19.5, 20.0]) == [None, None, 1.0, 8.5, 9.0]
    assert _flags(_rep([0.0, 10.0, 19.0, 5.0, 0.0]), rise_deg=8.5)["flexion_drift"] == pytest.approx(0.5)


def test_simulated_reps_do_what_the_fault_plan_asked():
    truth, _ = simulate_truth(
        SessionSpec(
            sets=[SetSpec("deadlift", 4, "lumbar_flexion"), SetSpec("good_morning", 3, "lockout_hyperextension")],
            calibration_s=3.0,
            rom_calibration=False,
            between_sets=False,
            rest_s=(10.0, 12.0),
        )
    )
    for s in truth["sets"]:
        for rep in s["reps"]:
            plan = rep["planned"]
            # breathing moves the lumbar angle by ±0.3°; the rep's own peak is the plan's bottom angle
            assert rep["peak_lumbar_flexion_deg"] == pytest.approx(plan["bottom_lumbar_flexion_deg"], abs=0.5)
            assert rep["lockout_lumbar_angle_deg"] == pytest.approx(plan["lockout_lumbar_angle_deg"], abs=0.5)
            assert rep["faults"] == [f for f, m in rep["flag_margins_deg"].items() if m > 0]
