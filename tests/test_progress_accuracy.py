"""The progress benchmark's own parts: reading the Strong log and scoring a small lifter against the truth."""

from __future__ import annotations

from benchmarks.progress_accuracy import LifterResult, analyse, evaluate, figures_of, read_strong_log
from imuform.simulator.weeks import WeeksSpec, log_csv, plan_weeks


def test_strong_log_is_read_per_workout_in_order():
    plan = plan_weeks(WeeksSpec(weeks=1, sessions_per_week=2, seed=4))
    sessions = read_strong_log(log_csv(plan, "strong"))
    assert list(sessions) == [f"{p.started_at:%Y-%m-%d %H:%M:%S}" for p in plan.sessions]
    first = sessions[list(sessions)[0]]
    truth = plan.sessions[0].sets
    assert [(s.exercise, s.load_kg, s.warmup) for s in first] == [(t.exercise, t.load_kg, t.warmup) for t in truth]


def test_a_small_lifter_is_scored_against_the_truth():
    plan = plan_weeks(WeeksSpec(weeks=2, sessions_per_week=2, exercises=("deadlift",), seed=6, ideal=True))
    result = evaluate(plan, [analyse(p) for p in plan.sessions])
    compared = sum(len(p.sets) for p in plan.sessions) - sum(s.warmup for s in plan.sessions[0].sets)
    compared -= sum(s.warmup for s in plan.sessions[1].sets)
    assert result.unmatched_sets == 0
    assert result.broken_sets + result.clean_sets == compared
    assert result.clean_false_breaks == 0 and result.broken_within_one == result.broken_sets
    assert (result.lifter_exercises, result.breaking_load_within_step) == (1, 1)
    assert result.proposals == 1
    names = [f.name for f in figures_of([result, LifterResult()], 1.0)]
    assert names[:3] == ["form broke: rep within one", "breaking load within one step", "form broke on clean sets"]
