"""Progress over weeks: form against the load on the bar, trends at matched loads, the range of motion.

Inputs are per-set records (`SetRecord`: the date, the load from the lifter's log, and what the analysis
and the reference comparison said of the set); outputs are dataclasses. The breaking load is defined against
the lifter's own reference (`analysis.reference`): the lightest load from which sets keep rounding from
their first reps on (`breaking_load`). The rules and their numbers: docs/analysis.md, "Progress over weeks".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.lines import line_fit
from analysis.reference import SetComparison


@dataclass(frozen=True)
class ProgressConfig:
    """Rules of the progress figures.

    Attributes
    ----------
    break_by_rep
        A set breaks at its load when form broke (`analysis.reference.form_broke_at`) by this rep: a break
        from the first reps comes from the load, a later one from fatigue within the set (sets of 5 break
        from rep 3 on in the latter case), which does not make the load itself too heavy.
    break_persist_share
        The breaking load is the lightest load with a set breaking at its load such that at least this
        share of the sets at that load or heavier break at their load too: one bad day below it, or one
        good set above it, does not move it.
    load_match_kg
        Loads within this of each other count as the same load for trends (the smallest plate step,
        2 × 1.25 kg).
    min_trend_weeks
        A matched-load trend needs sets in at least this many different weeks.
    """

    break_by_rep: int = 2
    break_persist_share: float = 0.75
    load_match_kg: float = 2.5
    min_trend_weeks: int = 2


DEFAULT_PROGRESS_CONFIG = ProgressConfig()


@dataclass(frozen=True)
class SetRecord:
    """One set as progress sees it.

    Attributes
    ----------
    date
        The day of the session.
    exercise
        The exercise (the lifter's label wins over the classifier).
    load_kg
        Load on the bar, kg (from the lifter's log or annotation).
    peak_lumbar_flexion_deg
        Median of the set's reps' peak lumbar flexion, deg.
    lumbar_share
        Median of the reps' lumbar share.
    flagged_rep_share
        Share of the set's reps with at least one flag, 0-1.
    reference_diff_deg
        `SetComparison.peak_flexion_diff_deg` against the lifter's reference (NaN without one).
    broke_at_rep
        `SetComparison.broke_at_rep` (None when form held or without a reference).
    session_id, set_index
        Where the set was measured.
    """

    date: dt.date
    exercise: str
    load_kg: float
    peak_lumbar_flexion_deg: float
    lumbar_share: float
    flagged_rep_share: float
    reference_diff_deg: float = float("nan")
    broke_at_rep: int | None = None
    session_id: str | None = None
    set_index: int | None = None


def set_record(
    date: dt.date,
    exercise: str,
    load_kg: float,
    reps: pd.DataFrame,
    comparison: SetComparison | None = None,
    session_id: str | None = None,
    set_index: int | None = None,
) -> SetRecord:
    """The `SetRecord` of a set from its rows of `SessionAnalysis.reps` and its comparison.

    Parameters
    ----------
    date, exercise, load_kg
        The session's day, the set's exercise and load (kg).
    reps
        The set's reps (with ``peak_lumbar_flexion_deg``, ``lumbar_share`` and ``flags``).
    comparison
        The set against the lifter's reference, when they have one.
    session_id, set_index
        Where the set was measured.
    """

    def median(name: str) -> float:
        x = reps[name].to_numpy(dtype=float)
        return float(np.median(x[np.isfinite(x)])) if np.isfinite(x).any() else float("nan")

    flagged = [bool(len(f)) for f in reps["flags"]] if "flags" in reps and len(reps) else []
    return SetRecord(
        date=date,
        exercise=exercise,
        load_kg=float(load_kg),
        peak_lumbar_flexion_deg=median("peak_lumbar_flexion_deg"),
        lumbar_share=median("lumbar_share"),
        flagged_rep_share=float(np.mean(flagged)) if flagged else float("nan"),
        reference_diff_deg=float("nan") if comparison is None else comparison.peak_flexion_diff_deg,
        broke_at_rep=None if comparison is None else comparison.broke_at_rep,
        session_id=session_id,
        set_index=set_index,
    )


def _breaks_at_load(record: SetRecord, config: ProgressConfig) -> bool:
    return record.broke_at_rep is not None and record.broke_at_rep <= config.break_by_rep


@dataclass(frozen=True)
class BreakingLoad:
    """The load from which a lifter's form breaks on an exercise.

    Attributes
    ----------
    exercise
        The exercise.
    load_kg
        The breaking load, kg; None when no load qualifies (form held, or too few sets).
    heaviest_clean_kg
        The heaviest load below ``load_kg`` (of all loads when None) at which no set broke at its load.
    sets_from_load, broken_from_load
        Sets at ``load_kg`` or heavier, and how many of them broke at their load.
    reason
        One plain-language line.
    """

    exercise: str
    load_kg: float | None
    heaviest_clean_kg: float | None
    sets_from_load: int
    broken_from_load: int
    reason: str


def breaking_load(
    records: Sequence[SetRecord], exercise: str, config: ProgressConfig = DEFAULT_PROGRESS_CONFIG
) -> BreakingLoad:
    """The lightest load from which form keeps breaking, against the lifter's own reference.

    A set breaks at its load when form broke by rep `ProgressConfig.break_by_rep`. The breaking load is the
    lightest load ``L`` with such a set for which at least `ProgressConfig.break_persist_share` of the sets
    at ``L`` or heavier break at their load. Sets without a reference comparison are left out.
    """
    sets = [r for r in records if r.exercise == exercise and math.isfinite(r.reference_diff_deg)]
    loads = np.array([r.load_kg for r in sets], dtype=float)
    broken = np.array([_breaks_at_load(r, config) for r in sets], dtype=bool)
    found = None
    for load in sorted(set(loads[broken].tolist())):
        heavier = loads >= load - 1e-9
        if broken[heavier].mean() >= config.break_persist_share:
            found = load
            break
    clean_loads = {r.load_kg for r in sets} - set(loads[broken].tolist())
    below = [x for x in clean_loads if found is None or x < found]
    heaviest_clean = max(below) if below else None
    if found is None:
        reason = (
            f"form held at every load up to {heaviest_clean:g} kg"
            if heaviest_clean is not None
            else "no set compared with a reference yet"
        )
        return BreakingLoad(exercise, None, heaviest_clean, 0, 0, reason)
    heavier = loads >= found - 1e-9
    n, k = int(heavier.sum()), int(broken[heavier].sum())
    reason = f"form breaks from {found:g} kg: {k} of your {n} sets at {found:g} kg or more rounded from the first reps"
    if heaviest_clean is not None:
        reason += f"; it held at {heaviest_clean:g} kg"
    return BreakingLoad(exercise, float(found), heaviest_clean, n, k, reason)


@dataclass(frozen=True)
class LoadSummary:
    """An exercise's sets at one load (within `ProgressConfig.load_match_kg`).

    Attributes
    ----------
    load_kg
        The load (the lightest of the matched ones), kg.
    sets
        Number of sets.
    peak_lumbar_flexion_deg, lumbar_share, flagged_rep_share, reference_diff_deg
        Means over the sets (NaN-ignoring).
    broken_sets
        Sets that broke at their load.
    """

    load_kg: float
    sets: int
    peak_lumbar_flexion_deg: float
    lumbar_share: float
    flagged_rep_share: float
    reference_diff_deg: float
    broken_sets: int


@dataclass(frozen=True)
class LoadTrend:
    """Weekly means at one matched load and their trend.

    Attributes
    ----------
    load_kg
        The load, kg.
    weeks
        Week numbers (1 = the week of the exercise's first set) that had sets at this load.
    peak_lumbar_flexion_deg, lumbar_share
        Weekly means, one per week.
    flexion_slope_deg_per_week
        Least-squares slope of the weekly peak flexion (−: less flexion at the same load over time).
    share_slope_per_week
        The same for the lumbar share.
    """

    load_kg: float
    weeks: tuple[int, ...]
    peak_lumbar_flexion_deg: tuple[float, ...]
    lumbar_share: tuple[float, ...]
    flexion_slope_deg_per_week: float
    share_slope_per_week: float


@dataclass(frozen=True)
class ExerciseProgress:
    """One exercise's progress: form against load, the breaking load, and trends at matched loads."""

    exercise: str
    by_load: tuple[LoadSummary, ...]
    breaking_load: BreakingLoad
    trends: tuple[LoadTrend, ...]


def _mean(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    return float(np.mean(x[np.isfinite(x)])) if np.isfinite(x).any() else float("nan")


def _slope(x: Sequence[float], y: Sequence[float]) -> float:
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(ys)
    if ok.sum() < 2 or np.ptp(xs[ok]) == 0:
        return float("nan")
    return line_fit(xs[ok], ys[ok])[0]


def _load_groups(records: Sequence[SetRecord], match_kg: float) -> list[list[SetRecord]]:
    """Records grouped by load: a group takes loads within ``match_kg`` of its lightest one."""
    groups: list[list[SetRecord]] = []
    for r in sorted(records, key=lambda r: r.load_kg):
        if groups and r.load_kg - groups[-1][0].load_kg < match_kg - 1e-9:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def week_number(date: dt.date, first: dt.date) -> int:
    """Week of ``date`` counted from the week of ``first`` (1)."""
    return (date - first).days // 7 + 1


def exercise_progress(
    records: Sequence[SetRecord], exercise: str, config: ProgressConfig = DEFAULT_PROGRESS_CONFIG
) -> ExerciseProgress:
    """Form against load, the breaking load, and the weekly trends at matched loads of one exercise."""
    sets = [r for r in records if r.exercise == exercise]
    first = min((r.date for r in sets), default=None)
    by_load, trends = [], []
    for group in _load_groups(sets, config.load_match_kg):
        by_load.append(
            LoadSummary(
                load_kg=group[0].load_kg,
                sets=len(group),
                peak_lumbar_flexion_deg=_mean([r.peak_lumbar_flexion_deg for r in group]),
                lumbar_share=_mean([r.lumbar_share for r in group]),
                flagged_rep_share=_mean([r.flagged_rep_share for r in group]),
                reference_diff_deg=_mean([r.reference_diff_deg for r in group]),
                broken_sets=sum(_breaks_at_load(r, config) for r in group),
            )
        )
        weekly: dict[int, list[SetRecord]] = {}
        for r in group:
            weekly.setdefault(week_number(r.date, first), []).append(r)
        if len(weekly) < config.min_trend_weeks:
            continue
        weeks = sorted(weekly)
        flexion = [_mean([r.peak_lumbar_flexion_deg for r in weekly[w]]) for w in weeks]
        share = [_mean([r.lumbar_share for r in weekly[w]]) for w in weeks]
        trends.append(
            LoadTrend(
                load_kg=group[0].load_kg,
                weeks=tuple(weeks),
                peak_lumbar_flexion_deg=tuple(flexion),
                lumbar_share=tuple(share),
                flexion_slope_deg_per_week=_slope(weeks, flexion),
                share_slope_per_week=_slope(weeks, share),
            )
        )
    return ExerciseProgress(exercise, tuple(by_load), breaking_load(sets, exercise, config), tuple(trends))


@dataclass(frozen=True)
class RomTest:
    """A range-of-motion test (the maximal bends of a calibration), deg from standing neutral (magnitudes)."""

    date: dt.date
    max_flexion_deg: float
    max_extension_deg: float


@dataclass(frozen=True)
class RomProgress:
    """The pain-free range over time.

    Attributes
    ----------
    tests
        The tests, by date.
    flexion_change_deg, extension_change_deg
        Last minus first test, deg (+: the range grew).
    flexion_slope_deg_per_week, extension_slope_deg_per_week
        Least-squares slopes over the tests' weeks since the first.
    """

    tests: tuple[RomTest, ...]
    flexion_change_deg: float
    extension_change_deg: float
    flexion_slope_deg_per_week: float
    extension_slope_deg_per_week: float


def rom_progress(tests: Sequence[RomTest]) -> RomProgress:
    """How the range of motion changed over the tests (NaN figures with fewer than two tests)."""
    ordered = tuple(sorted(tests, key=lambda t: t.date))
    if len(ordered) < 2:
        nan = float("nan")
        return RomProgress(ordered, nan, nan, nan, nan)
    weeks = [(t.date - ordered[0].date).days / 7.0 for t in ordered]
    flexion = [t.max_flexion_deg for t in ordered]
    extension = [t.max_extension_deg for t in ordered]
    return RomProgress(
        tests=ordered,
        flexion_change_deg=float(flexion[-1] - flexion[0]),
        extension_change_deg=float(extension[-1] - extension[0]),
        flexion_slope_deg_per_week=_slope(weeks, flexion),
        extension_slope_deg_per_week=_slope(weeks, extension),
    )
