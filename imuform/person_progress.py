"""A person's progress over weeks from the store: their loaded sets against their references, and their range.

Each set with a load (from ``imuform annotate`` or a lifting log) becomes an `analysis.progress.SetRecord`, compared
with the person's current reference of its exercise from the cached rep curves; each calibration that measured
the range of motion becomes a `analysis.progress.RomTest`. The figures themselves are `analysis.progress`'s.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from imuform.reference_reps import compare_sets, session_curves

if TYPE_CHECKING:
    from analysis.progress import ExerciseProgress, RomProgress, RomTest, SetRecord
    from imuform.store import Store


@dataclass(frozen=True)
class PersonProgress:
    """What ``imuform progress`` shows.

    Attributes
    ----------
    person
        Their name.
    exercises
        Per exercise with loaded sets: form against load, the breaking load and the trends at matched loads.
    records
        Every loaded set, oldest first.
    rom
        The range-of-motion tests over time.
    unloaded_sets
        Analysed sets without a load (not in the figures against load): annotate them or import a log.
    """

    person: str
    exercises: tuple[ExerciseProgress, ...]
    records: tuple[SetRecord, ...]
    rom: RomProgress
    unloaded_sets: int

    def to_dict(self) -> dict:
        """The JSON of ``imuform progress --json`` (NaN as None, dates as ISO text)."""
        from analysis.session import jsonable

        return jsonable(asdict(self))


def _date(started_at: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(started_at).date()
    except ValueError:
        return None


def progress_records(store: Store, person_id: int) -> tuple[list[SetRecord], int]:
    """The person's loaded sets as progress records (oldest first), and how many analysed sets had no load."""
    import pandas as pd

    from analysis.progress import set_record
    from imuform.session_analysis import person_documents

    records, unloaded = [], 0
    for info, doc in person_documents(store, person_id):
        date = _date(info["started_at"])
        loaded = {int(s["index"]): s for s in doc["sets"] if s.get("load_kg") is not None}
        unloaded += len(doc["sets"]) - len(loaded)
        if date is None or not loaded:
            continue
        exercises = {i: s["exercise"] for i, s in loaded.items()}
        comparisons = compare_sets(store, person_id, exercises, session_curves(store, info["id"]))
        for i, s in loaded.items():
            reps = pd.DataFrame(s["reps"], columns=["peak_lumbar_flexion_deg", "lumbar_share", "flags"]).fillna(
                math.nan
            )
            records.append(set_record(date, s["exercise"], s["load_kg"], reps, comparisons.get(i), info["id"], i))
    return records, unloaded


def rom_tests(store: Store, person_id: int) -> list[RomTest]:
    """The person's range-of-motion tests: each stored calibration that measured it, on its session's day."""
    from analysis.progress import RomTest

    tests = []
    for c in store.calibrations(person_id):
        rom = c.calibration.range_of_motion
        day = _date(c.strap_on.started_at if c.strap_on is not None else c.created_at)
        if rom is not None and day is not None:
            tests.append(RomTest(day, rom.max_flexion_deg, rom.max_extension_deg))
    return tests


def person_progress(store: Store, person_id: int, exercise: str | None = None) -> PersonProgress:
    """A person's progress (`PersonProgress`), of one exercise or of every exercise with loaded sets."""
    from analysis.classify import EXERCISES
    from analysis.progress import exercise_progress, rom_progress
    from imuform.store_people import person_by_id

    records, unloaded = progress_records(store, person_id)
    found = {r.exercise for r in records}
    chosen = [e for e in EXERCISES if e in found and (exercise is None or e == exercise)]
    return PersonProgress(
        person=person_by_id(store, person_id).name,
        exercises=tuple(exercise_progress(records, e) for e in chosen),
        records=tuple(r for r in records if exercise is None or r.exercise == exercise),
        rom=rom_progress(rom_tests(store, person_id)),
        unloaded_sets=unloaded,
    )
