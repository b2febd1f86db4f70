"""A person's reference reps: per exercise, the reps of their best form that later reps are compared with.

Also the cache of every analysed session's rep curves (`imuform.reference_reps`), so that comparisons,
proposals and progress over weeks need no session analysed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from imuform.errors import InputError

if TYPE_CHECKING:
    from imuform.store import Store

#: Who chose a reference: the lifter, or the automatic proposal they confirmed.
REFERENCE_SOURCES = ("you", "proposed")

# Schema step (imuform.store.MIGRATIONS).
REFERENCES_MIGRATION = """
    CREATE TABLE reference_reps (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        exercise TEXT NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        set_index INTEGER NOT NULL,
        first_rep INTEGER NOT NULL,
        last_rep INTEGER NOT NULL,
        source TEXT NOT NULL DEFAULT 'you',
        created_at TEXT NOT NULL
    );
    CREATE INDEX reference_reps_person ON reference_reps (person_id, exercise);
    CREATE TABLE rep_curves (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    """


@dataclass(frozen=True)
class Reference:
    """Reference reps: reps ``first_rep``..``last_rep`` of one set of one session, for one exercise.

    Attributes
    ----------
    id
        Its id in the store (``imuform reference list``).
    exercise
        The exercise it is the reference for (one of `analysis.classify.EXERCISES`).
    session_id, set_index
        The set the reps are in (set from 1).
    first_rep, last_rep
        The reps, from 1 within the set, both included.
    source
        One of `REFERENCE_SOURCES`.
    created_at
        When it was chosen (ISO 8601, UTC).
    """

    id: int
    exercise: str
    session_id: str
    set_index: int
    first_rep: int
    last_rep: int
    source: str
    created_at: str


def parse_rep_range(text: str) -> tuple[int, int]:
    """``"1-3"`` or ``"2"`` to (first, last) rep; an `InputError` names the form otherwise."""
    parts = text.replace("–", "-").split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, -1)
    except ValueError:
        first, last = 0, -1
    if not 1 <= first <= last:
        raise InputError(f"--reps {text!r} is no rep range; give e.g. --reps 1-3 or --reps 2 (reps count from 1)")
    return first, last


def add_reference(
    store: Store,
    person_id: int,
    exercise: str,
    session_id: str,
    set_index: int,
    reps: tuple[int, int],
    source: str = "you",
) -> Reference:
    """Store reference reps for a person and exercise; the caller has checked that the set and reps exist."""
    with store.conn:
        cur = store.conn.execute(
            "INSERT INTO reference_reps (person_id, exercise, session_id, set_index, first_rep, last_rep, source,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                person_id,
                exercise,
                store.resolve(session_id),
                set_index,
                reps[0],
                reps[1],
                source,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
    return references(store, person_id, reference_id=int(cur.lastrowid))[0]


def references(
    store: Store, person_id: int, exercise: str | None = None, *, reference_id: int | None = None
) -> list[Reference]:
    """A person's references (of one exercise, or one by id), oldest first."""
    rows = store.conn.execute(
        "SELECT id, exercise, session_id, set_index, first_rep, last_rep, source, created_at FROM reference_reps"
        " WHERE person_id = ? AND (? IS NULL OR exercise = ?) AND (? IS NULL OR id = ?) ORDER BY id",
        (person_id, exercise, exercise, reference_id, reference_id),
    )
    return [Reference(*row) for row in rows]


def remove_reference(store: Store, person_id: int, reference_id: int) -> None:
    """Remove one of a person's references (the session and its reps stay)."""
    with store.conn:
        deleted = store.conn.execute(
            "DELETE FROM reference_reps WHERE id = ? AND person_id = ?", (reference_id, person_id)
        ).rowcount
    if not deleted:
        raise InputError(f"the person has no reference #{reference_id}; 'imuform reference list' lists theirs")


def save_rep_curves(store: Store, session_id: str, data: list[dict]) -> None:
    """Cache a session's rep curves (`imuform.reference_reps.curve_to_dict` of each)."""
    with store.conn:
        store.conn.execute(
            "INSERT INTO rep_curves (session_id, created_at, data) VALUES (?, ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET created_at = excluded.created_at, data = excluded.data",
            (store.resolve(session_id), datetime.now(UTC).isoformat(timespec="seconds"), json.dumps(data)),
        )


def rep_curves_data(store: Store, session_id: str) -> list[dict] | None:
    """A session's cached rep curves, None when not cached."""
    row = store.conn.execute(
        "SELECT data FROM rep_curves WHERE session_id = ?", (store.resolve(session_id),)
    ).fetchone()
    return None if row is None else json.loads(row[0])
