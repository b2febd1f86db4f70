"""`imuform demo --weeks N`: weeks of one simulated lifter, stored, labelled from their Strong log, compared with
their proposed reference reps, and written as a progress page; checked against the simulator's truth.

The sessions are simulated and stored directly (no virtual radio: dozens of sessions would take minutes over it);
everything after that is what a lifter's own data go through: analysis, the range-of-motion calibration of each
session, ``import-log`` of the Strong export, ``reference propose`` and ``progress``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from imuform.errors import ImuformError

if TYPE_CHECKING:
    from rich.console import Console

    from imuform.person_progress import PersonProgress
    from imuform.simulator.session import SimulatedSession
    from imuform.simulator.weeks import WeeksPlan
    from imuform.store import Store

#: Whom the demo's sessions belong to when no --person is given (created when missing).
DEMO_PERSON = "demo lifter"


@dataclass(frozen=True)
class WeeksTargets:
    """The targets of the comparison, against the simulator's truth (issue 17).

    Attributes
    ----------
    broke_at_rep_within
        The rep where form broke is found within this many reps of the true one.
    """

    broke_at_rep_within: int = 1


def _store_session(store: Store, sim: SimulatedSession, name: str, started_at: dt.datetime) -> str:
    """Store a simulated session as a recording would leave it (device clock, gaps); return its id."""
    import pandas as pd

    samples = pd.concat([s.samples(device_time=True) for s in sim.streams.values()], ignore_index=True)
    gaps = [
        {"placement": p, "start_s": a, "end_s": b, "reason": "packet loss"}
        for p, stream in sim.streams.items()
        for a, b in stream.gaps()
    ]
    meta = {
        p: {"kind": "simulated", "model": "imuform simulator", "rate_hz": s.params.rate_hz}
        for p, s in sim.streams.items()
    }
    return store.import_samples(
        samples,
        name=name,
        notes=f"simulated, seed {sim.spec.seed}",
        started_at=started_at.replace(tzinfo=dt.UTC).isoformat(timespec="seconds"),
        sensors=meta,
        gaps=gaps,
        source="simulate",
    )


def _calibrate_range(store: Store, session_id: str, sim: SimulatedSession) -> None:
    """Save the session's range-of-motion test (its toe touch and back bend, in the windows the guide asked)."""
    from analysis.calibration import calibrate_range_of_motion
    from imuform.session_analysis import run_analysis

    windows = sim.truth["calibration"]
    if "max_flexion" not in windows:
        return
    result = run_analysis(store, session_id, show_progress=False)
    window = {k: (windows[k]["start_s"], windows[k]["end_s"]) for k in ("max_flexion", "max_extension")}
    try:
        calibration = calibrate_range_of_motion(
            result.angles, result.calibration, flexion=window["max_flexion"], extension=window["max_extension"]
        )
    except ValueError:
        return  # a test the sensors did not see whole is left out, as a lifter would redo it
    store.save_calibration(session_id, calibration)


def truth_lines(plan: WeeksPlan, session_ids: list[str], found: PersonProgress, targets: WeeksTargets) -> list[str]:
    """The comparison against the simulator's truth: the rep where form broke and the breaking load."""
    found_rep = {(r.session_id, r.set_index): r.broke_at_rep for r in found.records}
    lines = []
    for exercise in plan.lifts:
        true_sets = [
            (s, found_rep.get((session_ids[p.index - 1], s.set_index), "missing"))
            for p in plan.sessions
            for s in p.sets
            if s.exercise == exercise
        ]
        broken = [(s, rep) for s, rep in true_sets if s.broke_at_rep is not None and rep != "missing"]
        within = sum(rep is not None and abs(rep - s.broke_at_rep) <= targets.broke_at_rep_within for s, rep in broken)
        false_alarms = sum(s.broke_at_rep is None and rep not in (None, "missing") for s, rep in true_sets)
        held = sum(s.broke_at_rep is None and rep != "missing" for s, rep in true_sets)
        lines.append(
            f"{exercise.replace('_', ' ')}: rep where form broke found within {targets.broke_at_rep_within} rep in "
            f"{within} of {len(broken)} broken sets; {false_alarms} of {held} clean sets called broken"
        )
        true_kg = plan.true_breaking_load_kg(exercise)
        step_kg = plan.lifts[exercise].step_kg
        ex = next((e for e in found.exercises if e.exercise == exercise), None)
        found_kg = None if ex is None else ex.breaking_load.load_kg
        if true_kg is None or found_kg is None:
            verdict = "found" if found_kg is not None else "not found"
            lines.append(f"  breaking load: {verdict}; true {true_kg if true_kg is not None else 'never reached'}")
        else:
            ok = "meets" if abs(found_kg - true_kg) <= step_kg else "misses"
            lines.append(
                f"  breaking load: found {found_kg:g} kg, true {true_kg:g} kg, {abs(found_kg - true_kg):g} kg apart "
                f"({ok} the target: within one load step, {step_kg:g} kg)"
            )
    return lines


def run_weeks_demo(store: Store, out: Console, weeks: int, seed: int, person: str | None, page: Path | None) -> Path:
    """The weeks demo into ``store`` (module docstring); return the progress page written."""
    from dashboards.progress import write_progress_page
    from imuform.cli.progress import print_progress
    from imuform.importers.lift_log import read_log_file
    from imuform.lift_log_matching import apply_matches, match_log, recorded_sets
    from imuform.person_progress import person_progress
    from imuform.reference_reps import propose
    from imuform.simulator.weeks import WeeksSpec, log_csv, plan_weeks
    from imuform.store_people import add_person, people
    from imuform.store_references import add_reference

    name = person or DEMO_PERSON
    known = {p.name.lower(): p for p in people(store)}
    store.person_id = (known.get(name.lower()) or add_person(store, name)).id
    plan = plan_weeks(WeeksSpec(weeks=weeks, seed=seed))
    out.print(
        f"[bold]imuform demo --weeks {weeks}[/]: {len(plan.sessions)} simulated sessions of {name} "
        f"({', '.join(e.replace('_', ' ') for e in plan.lifts)}), with their Strong log …"
    )
    session_ids = []
    with click.progressbar(plan.sessions, label="simulating, storing and analysing", file=None) as bar:
        for p in bar:
            sim = p.simulate()
            session_id = _store_session(store, sim, f"{p.workout_name} (demo)", p.recording_started_at)
            _calibrate_range(store, session_id, sim)
            session_ids.append(session_id)
    page = page or store.home / f"demo-progress-{session_ids[0]}.html"
    log_path = page.with_name(page.stem + "-strong.csv")
    log_path.write_text(log_csv(plan, "strong"), encoding="utf-8")
    log = read_log_file(log_path, "strong", zone=dt.UTC)
    found = match_log(log, recorded_sets(store, {(s.workout_start, s.workout_end) for s in log.sets}))
    applied = apply_matches(store, log.app, found.confident)
    out.print(
        f"Strong log {log_path}: {applied} sets labelled with exercise, load and RPE; {len(found.mismatches)} "
        f"mismatched by a rep (left for you to confirm), {len(found.unrecorded)} not recorded"
    )
    for exercise in plan.lifts:
        proposal = propose(store, store.person_id, exercise)
        if proposal is None:
            raise ImuformError(f"no {exercise} set qualifies as a reference; try another --seed")
        reps = (min(proposal.rep_indices), max(proposal.rep_indices))
        add_reference(store, store.person_id, exercise, proposal.session_id, proposal.set_index, reps, "proposed")
        out.print(f"reference for {exercise.replace('_', ' ')} (proposed, confirmed by the demo): {proposal.reason}")
    progress = person_progress(store, store.person_id)
    print_progress(progress)
    out.print("\n[bold]against the simulator's truth[/]")
    for line in truth_lines(plan, session_ids, progress, WeeksTargets()):
        out.print(line, highlight=False)
    write_progress_page(page, progress.person, progress.exercises, progress.records, progress.rom)
    out.print(f"progress page: {page}")
    out.print(f"next: 'imuform progress --person \"{name}\"', 'imuform sessions --person \"{name}\"'")
    return page
