"""What the lifter says about a recorded set: its exercise, the load on the bar and the effort (RPE, RIR).

A label comes from ``imuform annotate``, the dashboard or an imported lifting log (Strong, Hevy) and always wins over
the classifier. The exercise the lifter named is the analysis's to apply: it reaches `analysis.analyze_session` as
``set_exercises`` (`imuform.session_analysis.analyze_stored`), which names the set (confidence 1) and judges its reps
by that exercise's rules. `apply_set_labels` and `label_document` add only what the analysis does not know: who
named the exercise, the load and the effort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from analysis.lifter_labels import CLASSIFIED, NAMED_BY_YOU
from imuform.errors import InputError

if TYPE_CHECKING:
    from analysis.session import SessionAnalysis
    from imuform.store import Store

#: Pounds to kilograms (the international avoirdupois pound).
KG_PER_LB = 0.45359237
#: What `SetLabel.source` may be: the lifter on the command line or in the dashboard, or an imported log.
LABEL_SOURCES = ("you", "strong", "hevy")

# Schema step (imuform.store.MIGRATIONS).
SET_LABELS_MIGRATION = """
    CREATE TABLE set_labels (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        set_index INTEGER NOT NULL,
        exercise TEXT,
        load_kg REAL,
        rpe REAL,
        rir REAL,
        source TEXT NOT NULL DEFAULT 'you',
        updated_at TEXT NOT NULL,
        PRIMARY KEY (session_id, set_index)
    );
    """


@dataclass(frozen=True)
class SetLabel:
    """The lifter's label of one recorded set; None where they said nothing.

    Attributes
    ----------
    set_index
        The set in its session's analysis (from 1).
    exercise
        One of `analysis.classify.EXERCISES`.
    load_kg
        The load on the bar in kg (a log in lb is converted on the way in).
    rpe
        Rate of perceived exertion, 1-10.
    rir
        Reps in reserve, 0 or more.
    source
        Who said it: one of `LABEL_SOURCES`.
    """

    set_index: int
    exercise: str | None = None
    load_kg: float | None = None
    rpe: float | None = None
    rir: float | None = None
    source: str = "you"


def check_label(label: SetLabel, set_count: int, session_id: str) -> None:
    """Refuse a label for a set the session does not have, or with a figure out of its range."""
    if not 1 <= label.set_index <= set_count:
        sets = f"sets 1-{set_count}" if set_count else "no sets"
        raise InputError(
            f"session {session_id} has {sets}, not set {label.set_index}; 'imuform analyze {session_id}' lists them"
        )
    if label.load_kg is not None and not (math.isfinite(label.load_kg) and 0 <= label.load_kg <= 1000):
        raise InputError(f"a load of {label.load_kg:g} kg is not a load on a bar; give 0-1000 kg")
    if label.rpe is not None and not 1 <= label.rpe <= 10:
        raise InputError(f"RPE {label.rpe:g} is outside 1-10; give an RPE from 1 to 10")
    if label.rir is not None and not 0 <= label.rir <= 20:
        raise InputError(f"{label.rir:g} reps in reserve is outside 0-20; give the reps you had left")


def save_labels(store: Store, session_id: str, labels: list[SetLabel]) -> None:
    """Store labels of a session's sets in one transaction; a figure a label leaves None keeps its stored value."""
    sid = store.resolve(session_id)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with store.conn:
        store.conn.execute("BEGIN")
        store.conn.executemany(
            "INSERT INTO set_labels (session_id, set_index, exercise, load_kg, rpe, rir, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, set_index) DO UPDATE SET"
            " exercise = coalesce(excluded.exercise, exercise), load_kg = coalesce(excluded.load_kg, load_kg),"
            " rpe = coalesce(excluded.rpe, rpe), rir = coalesce(excluded.rir, rir),"
            " source = excluded.source, updated_at = excluded.updated_at",
            [(sid, lb.set_index, lb.exercise, lb.load_kg, lb.rpe, lb.rir, lb.source, now) for lb in labels],
        )


def set_labels(store: Store, session_id: str) -> dict[int, SetLabel]:
    """A session's set labels by set index."""
    rows = store.conn.execute(
        "SELECT set_index, exercise, load_kg, rpe, rir, source FROM set_labels WHERE session_id = ?",
        (store.resolve(session_id),),
    )
    return {row[0]: SetLabel(*row) for row in rows}


def label_fields(label: SetLabel | None) -> dict:
    """What a label (or None) adds to a set's analysis: who named its exercise, the load and the effort.

    ``exercise_named_by`` is `NAMED_BY_YOU` when the lifter named the exercise (the analysis then judged the set
    as that exercise), `CLASSIFIED` otherwise; ``load_kg``, ``rpe`` and ``rir`` are None where not known.
    """
    return {
        "exercise_named_by": NAMED_BY_YOU if label is not None and label.exercise is not None else CLASSIFIED,
        "load_kg": None if label is None else label.load_kg,
        "rpe": None if label is None else label.rpe,
        "rir": None if label is None else label.rir,
    }


def apply_set_labels(result: SessionAnalysis, labels: dict[int, SetLabel]) -> None:
    """Add the lifter's labels to the sets of an analysis made with their exercises (`label_fields`; NaN where a
    figure is not known)."""
    sets = result.sets
    fields = [label_fields(labels.get(int(set_index))) for set_index in sets["index"]]
    # a column at a time: a cell at a time (.loc) costs 0.1 ms each
    for key in fields[0] if fields else ():
        values = [f[key] for f in fields]
        sets[key] = values if key == "exercise_named_by" else [math.nan if v is None else float(v) for v in values]


def label_document(doc: dict, labels: dict[int, SetLabel]) -> dict:
    """Add the lifter's labels to the sets of an analysis document (`SessionAnalysis.to_dict`) made with their
    exercises (`label_fields`), in place."""
    for entry in doc.get("sets", []):
        entry.update(label_fields(labels.get(int(entry["index"]))))
    return doc


def label_sets(store: Store, session_id: str, labels: list[SetLabel]) -> dict:
    """Check labels against a session's analysed sets, store them and write them into its cached analysis.

    A label naming a set's exercise has the session analysed again, unless the analysis already judged the set as
    that exercise named by the lifter: the analysis owns the exercise (`label_fields`), and the named exercise's
    rules judge the set's reps. The session is analysed first when it was not yet
    (`imuform.session_analysis.analysed_document`); a label of a set it does not have, or with a figure out of
    range, is refused before anything is stored.

    Returns
    -------
    dict
        The session's analysis document with every label applied.
    """
    from imuform.reference_reps import judge_document
    from imuform.session_analysis import analysed_document, analyze_stored

    sid = store.resolve(session_id)
    doc = analysed_document(store, sid)
    for label in labels:
        check_label(label, len(doc["sets"]), sid)
    save_labels(store, sid, labels)
    judged = {int(entry["index"]): (entry["exercise"], entry.get("exercise_named_by")) for entry in doc["sets"]}
    if any(label.exercise and judged[label.set_index] != (label.exercise, NAMED_BY_YOU) for label in labels):
        # the named exercise's rules judge the set's reps (flags), and its reference compares them
        return analyze_stored(store, sid, show_progress=False)[1]
    doc = judge_document(store, sid, doc)
    store.save_analysis(sid, doc)
    return doc
