"""Reference reps and progress against the simulator's truth: the rep where form broke and the breaking load.

Several lifters' six weeks (`imuform.simulator.weeks`: three sessions a week, deadlifts and Romanian
deadlifts with warm-ups, rising loads, form that breaks past each lifter's load and late in tiring sets,
realistic sensors) are simulated; each session is analysed from its samples (`analysis.analyze_session`).
What the lifter knows comes from their Strong log, not from the truth: the exercise, the load and which sets
were warm-ups; the log's sets are matched to the recorded sets in order. Each lifter's reference of an
exercise is built from the first week's warm-up sets (`analysis.reference`), every later set is compared
with it, and `analysis.progress.breaking_load` finds the breaking load from the sets. The automatic proposal
(`propose_reference` over the first week) is checked too: does it pick a set whose form held?

Targets: the rep where form broke found within one rep in ≥ 90 % of the sets where it broke; the breaking
load within one load step (the lifter's weekly step) in ≥ 90 % of lifter-exercises; "form broke" on ≤ 5 %
of the clean sets. Method: docs/analysis.md "Reference reps" and docs/simulator.md "Weeks of training".
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import time
from dataclasses import dataclass
from multiprocessing import Pool

from analysis import analyze_session
from analysis.progress import SetRecord, breaking_load, set_record
from analysis.reference import RepCurve, build_reference, compare_set, propose_reference, rep_curves
from benchmarks.figures import Figure, print_table
from imuform.simulator.weeks import APP_EXERCISE_NAMES, PlannedSession, WeeksPlan, WeeksSpec, log_csv, plan_weeks

WORKERS = 2
FULL_LIFTERS, QUICK_LIFTERS = 8, 1
WEEKS = 6
APP_TO_EXERCISE = {v: k for k, v in APP_EXERCISE_NAMES.items()}


@dataclass
class LoggedSet:
    """One row of the lifter's Strong log."""

    exercise: str
    load_kg: float
    reps: int
    warmup: bool


def read_strong_log(text: str) -> dict[str, list[LoggedSet]]:
    """The sets of a Strong CSV export per workout date, in the order logged."""
    sessions: dict[str, list[LoggedSet]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        sessions.setdefault(row["Date"], []).append(
            LoggedSet(
                APP_TO_EXERCISE[row["Exercise Name"]], float(row["Weight"]), int(row["Reps"]), row["Set Order"] == "W"
            )
        )
    return sessions


@dataclass
class AnalysedSession:
    """What a worker measured in one session: per recorded set its rep curves and rep rows."""

    index: int
    curves: dict[int, list[RepCurve]]
    reps: dict[int, object]
    set_count: int


def analyse(session: PlannedSession) -> AnalysedSession:
    """Simulate and analyse one session (in a worker)."""
    analysis = analyze_session(session.simulate().samples)
    analysis.session_id = f"session {session.index}"
    sets = [int(i) for i in analysis.sets["index"]]
    return AnalysedSession(
        session.index,
        {i: rep_curves(analysis, i) for i in sets},
        {i: analysis.reps_of(i)[["peak_lumbar_flexion_deg", "lumbar_share", "flags"]] for i in sets},
        len(sets),
    )


@dataclass
class LifterResult:
    """One lifter's comparison with the truth."""

    broken_sets: int = 0
    broken_within_one: int = 0
    clean_sets: int = 0
    clean_false_breaks: int = 0
    unmatched_sets: int = 0
    lifter_exercises: int = 0
    breaking_load_within_step: int = 0
    breaking_load_exact: int = 0
    proposals: int = 0
    proposals_clean: int = 0
    example: str = ""


def evaluate(plan: WeeksPlan, analysed: list[AnalysedSession]) -> LifterResult:
    """Compare the reference comparison and the breaking load with the truth of one lifter's weeks."""
    log = read_strong_log(log_csv(plan, "strong"))
    by_index = {a.index: a for a in analysed}
    result = LifterResult()
    matched: list[tuple[PlannedSession, int, LoggedSet]] = []
    for p in plan.sessions:
        logged = log[f"{p.started_at:%Y-%m-%d %H:%M:%S}"]
        a = by_index[p.index]
        if a.set_count != len(logged):
            result.unmatched_sets += len(logged)
            continue
        matched += [(p, i, s) for i, s in enumerate(logged, 1)]
    # the reference: the first week's warm-up sets, as the log names them
    references, first_week = {}, [m for m in matched if m[0].week == 1]
    for exercise in plan.lifts:
        curves = [
            c for p, i, s in first_week if s.exercise == exercise and s.warmup for c in by_index[p.index].curves[i]
        ]
        references[exercise] = build_reference(curves, exercise)
        proposal = propose_reference(
            [c for p, i, s in first_week if s.exercise == exercise for c in by_index[p.index].curves[i]], exercise
        )
        if proposal is not None:
            session = next(p for p, _, _ in first_week if f"session {p.index}" == proposal.session_id)
            result.proposals += 1
            result.proposals_clean += session.sets[proposal.set_index - 1].broke_at_rep is None
    records: list[SetRecord] = []
    for p, i, s in matched:
        truth = p.sets[i - 1]
        comparison = compare_set(by_index[p.index].curves[i], references[s.exercise])
        records.append(
            set_record(p.started_at.date(), s.exercise, s.load_kg, by_index[p.index].reps[i], comparison, set_index=i)
        )
        if p.week == 1 and s.warmup:
            continue  # the reference itself
        if truth.broke_at_rep is None:
            result.clean_sets += 1
            result.clean_false_breaks += comparison.broke_at_rep is not None
        else:
            result.broken_sets += 1
            found = comparison.broke_at_rep
            result.broken_within_one += found is not None and abs(found - truth.broke_at_rep) <= 1
            if truth.cause == "fatigue" and not result.example:
                result.example = (
                    f"{s.exercise} {s.load_kg:g} kg: {comparison.verdict} (truth: rep {truth.broke_at_rep})"
                )
    for exercise, lift in plan.lifts.items():
        found = breaking_load(records, exercise).load_kg
        true = plan.true_breaking_load_kg(exercise)
        result.lifter_exercises += 1
        if found is None or true is None:
            hit = exact = found is None and true is None
        else:
            hit, exact = abs(found - true) <= lift.step_kg + 1e-9, abs(found - true) < 1e-9
        result.breaking_load_within_step += hit
        result.breaking_load_exact += exact
    return result


def collect(lifters: int) -> list[LifterResult]:
    """Simulate, analyse and evaluate ``lifters`` lifters' weeks."""
    plans = [plan_weeks(WeeksSpec(weeks=WEEKS, seed=seed)) for seed in range(lifters)]
    sessions = [p for plan in plans for p in plan.sessions]
    with Pool(WORKERS) as pool:
        analysed = pool.map(analyse, sessions, chunksize=1)
    out, k = [], 0
    for plan in plans:
        n = len(plan.sessions)
        out.append(evaluate(plan, analysed[k : k + n]))
        k += n
    return out


def _pct(k: int, n: int) -> float:
    return 100.0 * k / n if n else float("nan")


def figures_of(results: list[LifterResult], seconds: float) -> list[Figure]:
    """The benchmark's figures."""
    total = LifterResult()
    for r in results:
        for name in LifterResult.__dataclass_fields__:
            if name != "example":
                setattr(total, name, getattr(total, name) + getattr(r, name))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    where = f"{len(results)} lifters × {WEEKS} weeks, {seconds:.0f} s, load {load}"
    example = next((r.example for r in results if r.example), "")
    return [
        Figure(
            "form broke: rep within one",
            _pct(total.broken_within_one, total.broken_sets),
            "%",
            90.0,
            True,
            note=f"{total.broken_within_one}/{total.broken_sets} broken sets; {where}",
        ),
        Figure(
            "breaking load within one step",
            _pct(total.breaking_load_within_step, total.lifter_exercises),
            "%",
            90.0,
            True,
            note=f"{total.breaking_load_within_step}/{total.lifter_exercises} lifter-exercises, "
            f"{total.breaking_load_exact} exact; loads from the Strong log",
        ),
        Figure(
            "form broke on clean sets",
            _pct(total.clean_false_breaks, total.clean_sets),
            "%",
            5.0,
            False,
            note=f"{total.clean_false_breaks}/{total.clean_sets} clean sets; {total.unmatched_sets} logged sets unmatched",
        ),
        Figure(
            "proposed reference sets that held",
            _pct(total.proposals_clean, total.proposals),
            "%",
            None,
            True,
            note=f"{total.proposals_clean}/{total.proposals} proposals; e.g. {example}",
        ),
    ]


def run(quick: bool = False) -> list[Figure]:
    """Simulate, analyse and compare; return the figures."""
    start = time.perf_counter()
    results = collect(QUICK_LIFTERS if quick else FULL_LIFTERS)
    return figures_of(results, time.perf_counter() - start)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_LIFTERS} lifter instead of {FULL_LIFTERS}")
    parser.add_argument("--lifters", type=int, help="number of simulated lifters")
    args = parser.parse_args()
    t0 = time.perf_counter()
    found = collect(args.lifters or (QUICK_LIFTERS if args.quick else FULL_LIFTERS))
    print_table("reference reps and progress against the simulator", figures_of(found, time.perf_counter() - t0))
