"""Progress over weeks: the breaking load, form against load, matched-load trends and the range of motion."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from analysis.progress import (
    ProgressConfig,
    RomTest,
    SetRecord,
    breaking_load,
    exercise_progress,
    rom_progress,
    set_record,
    week_number,
)
from analysis.reference import SetComparison

MONDAY = dt.date(2026, 1, 5)


def _record(week: int, load_kg: float, broke_at: int | None, peak_deg: float = 20.0, exercise="deadlift"):
    return SetRecord(
        date=MONDAY + dt.timedelta(days=7 * (week - 1)),
        exercise=exercise,
        load_kg=load_kg,
        peak_lumbar_flexion_deg=peak_deg,
        lumbar_share=peak_deg / 80.0,
        flagged_rep_share=0.0,
        reference_diff_deg=0.0 if broke_at is None else 8.0,
        broke_at_rep=broke_at,
    )


def test_breaking_load_is_the_lightest_load_from_which_sets_keep_breaking():
    records = [
        _record(1, 100.0, None),
        _record(2, 105.0, 4),  # fatigue late in the set: not the load
        _record(3, 110.0, None),
        _record(3, 112.5, 1),  # one bad set, then good ones: not yet the break
        _record(4, 112.5, None),
        _record(4, 115.0, None),
        _record(5, 117.5, 1),
        _record(5, 117.5, 2),
        _record(6, 120.0, 1),
        _record(6, 122.5, None),  # one good set above it does not move it
        _record(6, 122.5, 1),
        _record(6, 125.0, 1),
    ]
    found = breaking_load(records, "deadlift")
    assert found.load_kg == 117.5
    assert found.heaviest_clean_kg == 115.0
    assert (found.sets_from_load, found.broken_from_load) == (6, 5)
    assert found.reason.startswith("form breaks from 117.5 kg: 5 of your 6 sets")


def test_no_breaking_load_when_form_holds_or_without_a_reference():
    held = breaking_load([_record(1, 100.0, None), _record(2, 105.0, None)], "deadlift")
    assert held.load_kg is None and held.heaviest_clean_kg == 105.0
    assert held.reason == "form held at every load up to 105 kg"
    no_ref = SetRecord(MONDAY, "deadlift", 100.0, 20.0, 0.25, 0.0)
    assert breaking_load([no_ref], "deadlift").reason == "no set compared with a reference yet"


def test_progress_by_load_and_trends_at_matched_loads():
    records = [
        _record(1, 100.0, None, peak_deg=24.0),
        _record(1, 101.0, None, peak_deg=24.0),  # within the 2.5 kg match
        _record(3, 100.0, None, peak_deg=20.0),
        _record(5, 100.0, None, peak_deg=16.0),
        _record(5, 140.0, 1, peak_deg=30.0),
        _record(2, 60.0, None, exercise="romanian_deadlift"),
    ]
    progress = exercise_progress(records, "deadlift", ProgressConfig(load_match_kg=2.5))
    assert [s.load_kg for s in progress.by_load] == [100.0, 140.0]
    assert progress.by_load[0].sets == 4 and progress.by_load[1].broken_sets == 1
    (trend,) = progress.trends  # 140 kg was lifted in one week only
    assert trend.weeks == (1, 3, 5)
    assert trend.peak_lumbar_flexion_deg == (24.0, 20.0, 16.0)
    assert trend.flexion_slope_deg_per_week == pytest.approx(-2.0)
    assert progress.breaking_load.load_kg == 140.0


def test_week_number():
    assert week_number(MONDAY + dt.timedelta(days=6), MONDAY) == 1
    assert week_number(MONDAY + dt.timedelta(days=7), MONDAY) == 2


def test_rom_progress():
    tests = [RomTest(MONDAY + dt.timedelta(days=7 * w), 40.0 + 2.0 * w, 20.0) for w in (4, 0, 2)]
    rom = rom_progress(tests)
    assert [t.date for t in rom.tests] == sorted(t.date for t in tests)
    assert rom.flexion_change_deg == pytest.approx(8.0)
    assert rom.flexion_slope_deg_per_week == pytest.approx(2.0)
    assert rom.extension_change_deg == 0.0
    assert math.isnan(rom_progress(tests[:1]).flexion_change_deg)


def test_set_record_from_reps_and_comparison():
    reps = pd.DataFrame(
        {
            "peak_lumbar_flexion_deg": [20.0, 22.0, float("nan")],
            "lumbar_share": [0.2, 0.3, 0.25],
            "flags": [[], ["lumbar_flexion"], []],
        }
    )
    comparison = SetComparison(set_index=2, reps=(), broke_at_rep=2, peak_flexion_diff_deg=6.0, verdict="")
    record = set_record(MONDAY, "deadlift", 120.0, reps, comparison, session_id="s1", set_index=2)
    assert record.peak_lumbar_flexion_deg == 21.0
    assert record.lumbar_share == 0.25
    assert record.flagged_rep_share == pytest.approx(1 / 3)
    assert (record.broke_at_rep, record.reference_diff_deg, record.set_index) == (2, 6.0, 2)
    assert math.isnan(set_record(MONDAY, "deadlift", 120.0, reps).reference_diff_deg)
