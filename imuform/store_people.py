"""The people of a store: a coach's athletes, a physio's clients, or just you.

Sessions belong to a person (and through them calibrations, set labels and references); profiles are kept
per person. A new store holds one person, ``me``; a store with one person needs no ``--person``.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from imuform.errors import ImuformError, InputError

if TYPE_CHECKING:
    from imuform.store import Store

#: The person a new store holds, and whom everything recorded before people existed belongs to.
FIRST_PERSON = "me"
#: The longest name a person may have, in characters.
MAX_NAME_CHARS = 60

# Schema step (imuform.store.MIGRATIONS): the people table, every session to the first person, the one profile
# (key 'profile') to that person ('profile:<id>').
PEOPLE_MIGRATION = f"""
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at TEXT NOT NULL
    );
    INSERT INTO people (id, name, created_at) VALUES (1, '{FIRST_PERSON}', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));
    ALTER TABLE sessions ADD COLUMN person_id INTEGER REFERENCES people(id);
    UPDATE sessions SET person_id = 1;
    CREATE INDEX sessions_person ON sessions (person_id, started_at);
    UPDATE profile SET key = 'profile:1' WHERE key = 'profile';
    """


@dataclass(frozen=True)
class Person:
    """A person in the store.

    Attributes
    ----------
    id
        Their id in the store.
    name
        Their name, unique in the store regardless of case.
    created_at
        When they were added (ISO 8601, UTC).
    """

    id: int
    name: str
    created_at: str


def people(store: Store) -> list[Person]:
    """Everyone in the store, in the order they were added."""
    return [Person(*row) for row in store.conn.execute("SELECT id, name, created_at FROM people ORDER BY id")]


def session_counts(store: Store) -> dict[int, int]:
    """Per person id the number of their sessions."""
    return dict(store.conn.execute("SELECT person_id, count(*) FROM sessions GROUP BY person_id"))


def checked_name(name: str) -> str:
    """A person's name as stored (trimmed), or an `InputError` that says what a name may be."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise InputError("a person's name cannot be empty; give a name such as 'Alex'")
    if len(name) > MAX_NAME_CHARS:
        raise InputError(f"a person's name has at most {MAX_NAME_CHARS} characters; give a shorter one")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InputError("a person's name cannot hold control characters; give a plain name")
    return name


def add_person(store: Store, name: str) -> Person:
    """Add a person; refused when the name (in any case) is taken."""
    name = checked_name(name)
    try:
        with store.conn:
            cur = store.conn.execute(
                "INSERT INTO people (name, created_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
    except sqlite3.IntegrityError as exc:
        raise InputError(f"there is already a person named {name!r}; 'imuform people' lists them") from exc
    return person_by_id(store, int(cur.lastrowid))


def rename_person(store: Store, old: str, new: str) -> Person:
    """Rename a person; everything of theirs stays theirs."""
    person = person_named(store, old)
    new = checked_name(new)
    try:
        with store.conn:
            store.conn.execute("UPDATE people SET name = ? WHERE id = ?", (new, person.id))
    except sqlite3.IntegrityError as exc:
        raise InputError(f"there is already a person named {new!r}; choose another name") from exc
    return person_by_id(store, person.id)


def person_by_id(store: Store, person_id: int) -> Person:
    """One person by id."""
    row = store.conn.execute("SELECT id, name, created_at FROM people WHERE id = ?", (person_id,)).fetchone()
    if row is None:
        raise ImuformError(f"no person #{person_id} in {store.path}; 'imuform people' lists them")
    return Person(*row)


def person_named(store: Store, name: str) -> Person:
    """One person by name (any case)."""
    row = store.conn.execute(
        "SELECT id, name, created_at FROM people WHERE name = ? COLLATE NOCASE", (name.strip(),)
    ).fetchone()
    if row is None:
        known = ", ".join(p.name for p in people(store))
        raise InputError(
            f"no person named {name!r} in {store.path} (there are: {known});"
            f" add them with 'imuform people add {name.strip()!r}' or pick one of those"
        )
    return Person(*row)


def chosen_person(store: Store, name: str | None) -> Person:
    """The person a command is for: the one named, or the only one; refused when several and none is named."""
    if name is not None:
        return person_named(store, name)
    everyone = people(store)
    if len(everyone) == 1:
        return everyone[0]
    names = ", ".join(p.name for p in everyone)
    raise InputError(f"this store holds {len(everyone)} people ({names}); say whom with --person NAME")


def act_for(store: Store, name: str | None) -> Person:
    """Make ``store`` record, list and profile for a person (`chosen_person`) and return them."""
    person = chosen_person(store, name)
    store.person_id = person.id
    return person


def person_of_session(store: Store, session_ref: str) -> Person:
    """The person a session belongs to."""
    (person_id,) = store.conn.execute(
        "SELECT person_id FROM sessions WHERE id = ?", (store.resolve(session_ref),)
    ).fetchone()
    return person_by_id(store, person_id)


def check_owner(store: Store, session_ref: str, name: str | None) -> None:
    """Refuse a session that is not the named person's (nothing to check when no name is given)."""
    if name is None:
        return
    owner, named = person_of_session(store, session_ref), person_named(store, name)
    if owner.id != named.id:
        raise InputError(
            f"session {store.resolve(session_ref)} is {owner.name}'s, not {named.name}'s; check SESSION or --person"
        )
