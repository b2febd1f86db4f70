"""The session store: one SQLite file (WAL mode) in the imuform home directory.

Samples are stored in blocks: each row of `sample_blocks` holds the columns of up to a few hundred
samples of one sensor as little-endian float64 arrays. That keeps an hour of 100 Hz data to a few
thousand rows, so imports and reads stay fast, while a recording still commits at least every half
second (`SessionWriter`), so a killed process loses at most the last second.

Every block carries a CRC-32 of its contents (`block_crc32`), checked whenever the block is read: garbage
written inside a block's arrays leaves SQLite's own page structure sound, so only this checksum sees it.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import struct
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from imuform.errors import ImuformError
from imuform.store_people import PEOPLE_MIGRATION
from imuform.store_references import REFERENCES_MIGRATION
from imuform.store_sets import SET_LABELS_MIGRATION

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from analysis.calibration import Calibration, RangeOfMotion

DB_NAME = "imuform.sqlite"
#: PRAGMA application_id of an imuform store ("IMUF"): tells our files from other SQLite databases.
APPLICATION_ID = 0x494D5546
SQLITE_HEADER = b"SQLite format 3\x00"
PLACEMENTS = ("lumbar", "thoracic", "upper_thoracic", "thigh")
VECTOR_COLUMNS = {
    "acc": ("acc_x", "acc_y", "acc_z"),
    "gyr": ("gyr_x", "gyr_y", "gyr_z"),
    "mag": ("mag_x", "mag_y", "mag_z"),
    "quat": ("quat_w", "quat_x", "quat_y", "quat_z"),
}
#: Tries to open a store that another process is opening (or creating) at the same moment.
OPEN_ATTEMPTS = 10
#: Seconds between commits of a `SessionWriter`.
FLUSH_INTERVAL_S = 0.5

# Each entry moves the schema from version i to i + 1 (PRAGMA user_version).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'record'
    );
    CREATE TABLE sensors (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        placement TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        rate_hz REAL,
        firmware TEXT NOT NULL DEFAULT '',
        UNIQUE (session_id, placement)
    );
    CREATE TABLE sample_blocks (
        id INTEGER PRIMARY KEY,
        sensor_id INTEGER NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        t0 REAL NOT NULL,
        t1 REAL NOT NULL,
        time_s BLOB NOT NULL,
        device_time_s BLOB,
        acc BLOB NOT NULL,
        gyr BLOB NOT NULL,
        mag BLOB,
        quat BLOB
    );
    CREATE INDEX sample_blocks_sensor ON sample_blocks (sensor_id, id);
    CREATE TABLE raw_packets (
        id INTEGER PRIMARY KEY,
        sensor_id INTEGER NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
        host_time_s REAL NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE INDEX raw_packets_sensor ON raw_packets (sensor_id, id);
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY,
        sensor_id INTEGER NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        time_s REAL NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE calibrations (
        id INTEGER PRIMARY KEY,
        session_id TEXT REFERENCES sessions(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE profile (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE analyses (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    """,
    # A calibration belongs to the session it was measured in: drop the copies earlier versions kept
    # without a session as "the person's own". A row whose session is gone is no copy, and stays.
    """
    DELETE FROM calibrations WHERE session_id IS NULL
        AND data IN (SELECT data FROM calibrations WHERE session_id IS NOT NULL);
    CREATE INDEX calibrations_session ON calibrations (session_id, id);
    """,
    PEOPLE_MIGRATION,
    SET_LABELS_MIGRATION,
    REFERENCES_MIGRATION,
    # A checksum per sample block; blocks written before it get theirs now (`migrate` provides block_crc32).
    """
    ALTER TABLE sample_blocks ADD COLUMN crc32 INTEGER;
    UPDATE sample_blocks SET crc32 = block_crc32(sensor_id, n, t0, t1, time_s, device_time_s, acc, gyr, mag, quat);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
INSERT_GAP = "INSERT INTO gaps (sensor_id, start_s, end_s, reason) VALUES (?, ?, ?, ?)"
INSERT_EVENT = "INSERT INTO events (session_id, time_s, kind, detail) VALUES (?, ?, ?, ?)"
INSERT_CALIBRATION = "INSERT INTO calibrations (session_id, created_at, data) VALUES (?, ?, ?)"
INSERT_BLOCK = (
    "INSERT INTO sample_blocks (sensor_id, n, t0, t1, time_s, device_time_s, acc, gyr, mag, quat, crc32)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: The array columns of a sample block, in the order `block_crc32` reads them.
BLOCK_ARRAYS = ("time_s", "device_time_s", "acc", "gyr", "mag", "quat")


@dataclass(frozen=True)
class StrapOn:
    """A session's sensors and when they were recorded: what decides which calibration fits it.

    Attributes
    ----------
    session_id
        The session.
    started_at
        When it started (ISO 8601, UTC for recordings).
    source
        How it came in: ``record``, ``virtual``, ``live``, ``calibration`` or ``import``.
    addresses
        Per placement the sensor's address (empty when unknown, as for most imports).
    """

    session_id: str
    started_at: str
    source: str
    addresses: dict[str, str]


@dataclass(frozen=True)
class StoredCalibration:
    """A calibration in the store, with the session it was measured in.

    Attributes
    ----------
    id
        Its id in the store (``imuform calibrations`` lists them).
    created_at
        When it was saved (ISO 8601, UTC).
    calibration
        The calibration.
    strap_on
        The session it was measured in; None for a calibration an earlier version kept without one.
    """

    id: int
    created_at: str
    calibration: Calibration
    strap_on: StrapOn | None


def default_home() -> Path:
    """The imuform home directory: ``IMUFORM_HOME`` or the per-user data directory."""
    env = os.environ.get("IMUFORM_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("imuform", appauthor=False))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _blob(array: np.ndarray | None, width: int | None = None) -> bytes | None:
    if array is None:
        return None
    import numpy as np

    a = np.ascontiguousarray(array, dtype="<f8")
    if width is not None and a.shape[-1:] != (width,):
        raise ValueError(f"expected an (n, {width}) array, got shape {a.shape}")
    return a.tobytes()


def _unblob(blob: bytes | None, width: int | None = None) -> np.ndarray | None:
    if blob is None:
        return None
    import numpy as np

    a = np.frombuffer(blob, dtype="<f8")
    return a.reshape(-1, width) if width else a


def block_crc32(sensor_id: object, n: object, t0: object, t1: object, *arrays: object) -> int | None:
    """CRC-32 of a sample block: its sensor, size and time span, then its array blobs in `BLOCK_ARRAYS` order.

    Each blob counts with its length, so an absent (NULL) array differs from an empty one; a value of a type no
    block holds (what damage to a row's header reads back as) gives ``None``, which matches no stored checksum.
    """
    if not (isinstance(sensor_id, int) and isinstance(n, int) and isinstance(t0, float) and isinstance(t1, float)):
        return None
    crc = zlib.crc32(struct.pack("<qqdd", sensor_id, n, t0 + 0.0, t1 + 0.0))  # + 0.0: SQLite reads -0.0 back as 0.0
    for blob in arrays:
        if blob is not None and not isinstance(blob, bytes):
            return None
        crc = zlib.crc32(struct.pack("<q", -1 if blob is None else len(blob)), crc)
        if blob:
            crc = zlib.crc32(blob, crc)
    return crc


def block_sound(crc: object, *block: object) -> bool:
    """Whether a sample block read as ``(sensor_id, n, t0, t1, *arrays)`` matches its stored checksum ``crc``."""
    return crc is not None and block_crc32(*block) == crc


@dataclass(frozen=True)
class DamagedBlock:
    """A sample block whose contents do not match its checksum.

    Attributes
    ----------
    session_id, placement
        Whose samples it holds.
    start_s, end_s
        The session time span the block claims (its own, so itself possibly damaged: NaN when unreadable).
    """

    session_id: str
    placement: str
    start_s: float
    end_s: float

    @classmethod
    def of(cls, session_id: str, placement: str, t0: object, t1: object) -> DamagedBlock:
        """A damaged block from its row's values, whatever damage made of its times."""
        return cls(session_id, placement, *(t if isinstance(t, float) else math.nan for t in (t0, t1)))

    def describe(self) -> str:
        """``session <id>, <placement> sensor, samples <start>–<end> s``."""
        span = "–".join("?" if math.isnan(t) else f"{t:.2f}" for t in (self.start_s, self.end_s))
        return f"session {self.session_id}, {self.placement} sensor, samples {span} s"


def damaged_blocks(conn: sqlite3.Connection, limit: int = 20) -> list[DamagedBlock]:
    """Up to ``limit`` sample blocks of a store that fail their checksum (all blocks are read once).

    A store of an older schema, not opened by this version yet, has no checksums to check: none are found.
    """
    if "crc32" not in {r[1] for r in conn.execute("PRAGMA table_info(sample_blocks)")}:
        return []
    found = []
    rows = conn.execute(
        "SELECT coalesce(x.session_id, 'unknown'), coalesce(x.placement, 'unknown'), b.crc32, b.sensor_id, b.n,"
        f" b.t0, b.t1, {', '.join('b.' + a for a in BLOCK_ARRAYS)}"
        " FROM sample_blocks b LEFT JOIN sensors x ON b.sensor_id = x.id"
        " ORDER BY b.id"
    )
    for session_id, placement, crc, *block in rows:
        if not block_sound(crc, *block):
            found.append(DamagedBlock.of(session_id, placement, block[2], block[3]))
            if len(found) == limit:
                break
    return found


def migrate(conn: sqlite3.Connection) -> int:
    """Bring a store's schema to `SCHEMA_VERSION` and mark it as ours; return the version it had before."""
    conn.create_function("block_crc32", 10, block_crc32, deterministic=True)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ImuformError(
            f"the store was written by a newer imuform (schema {version} > {SCHEMA_VERSION}); upgrade imuform"
        )
    current = version
    while current < SCHEMA_VERSION:
        try:
            conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[current]} PRAGMA user_version = {current + 1}; COMMIT;")
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # another process opening the same new store migrated it first: go on from where it left it
            if conn.execute("PRAGMA user_version").fetchone()[0] == current:
                raise
        current = conn.execute("PRAGMA user_version").fetchone()[0]
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return version


def is_ours(conn: sqlite3.Connection) -> bool:
    """Whether an open SQLite database is an imuform store, or a new empty file that may become one.

    Stores written before `APPLICATION_ID` existed carry no application id; they are recognised by a schema
    version and the sessions and sample tables.
    """
    # one read snapshot: another process creating the store may commit a schema step between two reads
    with conn:
        conn.execute("BEGIN")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id == APPLICATION_ID:
        return True
    if app_id != 0:
        return False
    return (version == 0 and not tables) or (version >= 1 and {"sessions", "sample_blocks"} <= tables)


def integrity_problems(conn: sqlite3.Connection, *, quick: bool = True, limit: int = 20) -> list[str]:
    """What SQLite's ``quick_check`` (or the slower, fuller ``integrity_check``) finds wrong; empty when sound."""
    try:
        rows = conn.execute(f"PRAGMA {'quick_check' if quick else 'integrity_check'}({limit})").fetchall()
    except sqlite3.DatabaseError as exc:
        if not _is_corruption(exc):
            raise
        return [str(exc)]
    problems = [line for (text,) in rows for line in text.splitlines() if not line.startswith("***")]
    return [] if problems == ["ok"] else problems


def has_sqlite_header(path: Path) -> bool:
    """Whether a file starts like an SQLite database (an empty or missing file does not count)."""
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _is_corruption(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorname", None) or "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def _is_read_only(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorname", None) or "").startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN"))


class Store:
    """The session store of one imuform home directory.

    Opening refuses, with one line that names the file and the fix and without writing anything, a file
    that is not an imuform store, a store that SQLite finds damaged (``quick_check``) and a read-only one.

    Parameters
    ----------
    home
        Directory that holds ``imuform.sqlite``; ``None`` uses `default_home`.
    check
        Run SQLite's ``quick_check`` on open (about 0.1 s for a 300 MB store). Callers that open the same
        store over and over, like the dashboard per request, check once and then pass ``False``.
    """

    def __init__(self, home: str | os.PathLike | None = None, *, check: bool = True):
        self.home = Path(home) if home is not None else default_home()
        self.path = self.home / DB_NAME
        #: The person this handle records, lists and profiles for (`imuform.store_people.act_for`); None: the first.
        self.person_id: int | None = None
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImuformError(
                f"cannot use {self.home} as the imuform home ({exc.strerror}); point --home at a writable directory"
            ) from exc
        exists = self.path.is_file() and self.path.stat().st_size > 0
        if exists and not has_sqlite_header(self.path):
            raise ImuformError(
                f"{self.path} is not an SQLite file (or its first bytes are damaged) and was left untouched;"
                " run 'imuform doctor', or point --home at another directory"
            )
        if not os.access(self.home, os.W_OK) or (exists and not os.access(self.path, os.W_OK)):
            raise self._read_only()
        self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            for attempt in range(OPEN_ATTEMPTS):
                try:
                    self._open(check)
                    break
                except sqlite3.OperationalError as exc:
                    # Switching a new store to WAL or creating its tables while another process does the same
                    # can be refused at once (SQLite's busy handler does not wait where waiting could deadlock).
                    if "locked" not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        except BaseException:
            self.conn.close()
            raise

    def _open(self, check: bool) -> None:
        try:
            if not is_ours(self.conn):
                tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                raise ImuformError(
                    f"{self.path} is not an imuform store (it holds {', '.join(tables[:5]) or 'no tables'});"
                    " it was left untouched: point --home at another directory"
                )
            problems = integrity_problems(self.conn) if check else []
            if problems:
                raise ImuformError(
                    f"{self.path} is damaged ({problems[0]}); nothing was written to it:"
                    " run 'imuform doctor --recover' to save what can be saved into a new store"
                )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            migrate(self.conn)
            self._remove_abandoned_recordings()
        except sqlite3.DatabaseError as exc:
            if _is_read_only(exc):
                raise self._read_only() from exc
            if _is_corruption(exc):
                raise ImuformError(
                    f"{self.path} is damaged ({exc}); run 'imuform doctor --recover' to save what can be saved"
                ) from exc
            raise

    def _remove_abandoned_recordings(self) -> None:
        """Delete sessions that never received a sample and whose recorder has gone (killed while connecting).

        A recording's session row exists from its start (the sensors need their ids), and ``record`` deletes it
        when it ends without a sample; a ``kill -9`` ends it before that. Its ``recording`` event names the
        recorder's process, so a session without samples whose process no longer runs is an abandoned one.
        """
        rows = self.conn.execute(
            "SELECT s.id, e.detail FROM sessions s JOIN events e ON e.session_id = s.id AND e.kind = 'recording'"
            " WHERE NOT EXISTS (SELECT 1 FROM sensors x JOIN sample_blocks b ON b.sensor_id = x.id"
            " WHERE x.session_id = s.id)"
        ).fetchall()
        gone = [session_id for session_id, detail in rows if not _process_alive(json.loads(detail).get("pid"))]
        if gone:
            with self.conn:
                self.conn.executemany("DELETE FROM sessions WHERE id = ?", [(g,) for g in gone])

    def _read_only(self) -> ImuformError:
        return ImuformError(
            f"{self.path} is read-only; make it and {self.home} writable (chmod u+w) or point --home at another directory"
        )

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # sessions -----------------------------------------------------------------------------------
    def create_session(
        self, name: str = "", *, notes: str = "", started_at: str | None = None, source: str = "record"
    ) -> str:
        """Create an empty session and return its id (12 hex characters)."""
        session_id = uuid.uuid4().hex[:12]
        with self.conn:
            self.conn.execute(
                "INSERT INTO sessions (id, name, notes, started_at, source, person_id) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, name, notes, started_at or _now_iso(), source, self.acting_person_id()),
            )
        return session_id

    def acting_person_id(self, person_id: int | None = None) -> int:
        """The person a read or write is for: ``person_id``, else `person_id` of this handle, else the first person."""
        if person_id is not None:
            return person_id
        if self.person_id is not None:
            return self.person_id
        return self.conn.execute("SELECT min(id) FROM people").fetchone()[0]

    def add_sensor(
        self,
        session_id: str,
        placement: str,
        *,
        kind: str = "",
        model: str = "",
        address: str = "",
        rate_hz: float | None = None,
        firmware: str = "",
    ) -> int:
        """Register a sensor of a session and return its id."""
        if placement not in PLACEMENTS:
            raise ImuformError(f"unknown placement {placement!r}; use one of {', '.join(PLACEMENTS)}")
        try:
            with self.conn:
                cur = self.conn.execute(
                    "INSERT INTO sensors (session_id, placement, kind, model, address, rate_hz, firmware)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (session_id, placement, kind, model, address, rate_hz, firmware),
                )
        except sqlite3.IntegrityError as exc:
            raise ImuformError(f"session {session_id} already has a {placement} sensor (or does not exist)") from exc
        return int(cur.lastrowid)

    def resolve(self, ref: str) -> str:
        """The full id of the session that ``ref`` (an id or a unique prefix of one) names."""
        ref = ref.strip().lower()
        if not ref:
            raise ImuformError("give a session id or a unique prefix of one (see 'imuform sessions')")
        rows = self.conn.execute(
            "SELECT id FROM sessions WHERE id >= ? AND id < ? ORDER BY id", (ref, ref + "\uffff")
        ).fetchall()
        if not rows:
            raise ImuformError(f"no session matches {ref!r}; 'imuform sessions' lists them")
        if len(rows) > 1:
            raise ImuformError(
                f"{ref!r} matches {len(rows)} sessions ({', '.join(r[0] for r in rows[:4])}…); give more characters"
            )
        return rows[0][0]

    def sessions(self, person_id: int | None = None) -> list[dict]:
        """Sessions, newest first, each with its person, its sensors' placements, sample count and duration.

        Those of ``person_id``, or of the person this handle acts for (`person_id`); everyone's when neither is set.
        """
        person_id = self.person_id if person_id is None else person_id
        rows = self.conn.execute(
            """
            SELECT s.id, s.name, s.notes, s.started_at, s.source,
                   (SELECT group_concat(placement, ',') FROM sensors WHERE session_id = s.id),
                   (SELECT coalesce(sum(b.n), 0) FROM sample_blocks b JOIN sensors x ON b.sensor_id = x.id
                     WHERE x.session_id = s.id),
                   (SELECT max(b.t1) - min(b.t0) FROM sample_blocks b JOIN sensors x ON b.sensor_id = x.id
                     WHERE x.session_id = s.id),
                   p.name
            FROM sessions s JOIN people p ON p.id = s.person_id WHERE ? IS NULL OR s.person_id = ?
            ORDER BY s.started_at DESC, s.rowid DESC
            """,
            (person_id, person_id),
        ).fetchall()
        return [
            {
                "id": r[0],
                "name": r[1],
                "notes": r[2],
                "started_at": r[3],
                "source": r[4],
                "sensors": r[5].split(",") if r[5] else [],
                "samples": int(r[6]),
                "duration_s": float(r[7]) if r[7] is not None else 0.0,
                "person": r[8],
            }
            for r in rows
        ]

    def session(self, ref: str) -> dict:
        """One session's metadata: sensors (with sample counts), gaps, events and whether it is analysed."""
        session_id = self.resolve(ref)
        r = self.conn.execute(
            "SELECT s.id, s.name, s.notes, s.started_at, s.source, p.name FROM sessions s"
            " JOIN people p ON p.id = s.person_id WHERE s.id = ?",
            (session_id,),
        ).fetchone()
        sensors = []
        for s in self.conn.execute(
            """
            SELECT x.id, x.placement, x.kind, x.model, x.address, x.rate_hz, x.firmware,
                   coalesce(sum(b.n), 0), min(b.t0), max(b.t1)
            FROM sensors x LEFT JOIN sample_blocks b ON b.sensor_id = x.id
            WHERE x.session_id = ? GROUP BY x.id ORDER BY x.id
            """,
            (session_id,),
        ):
            sensors.append(
                {
                    "id": s[0],
                    "placement": s[1],
                    "kind": s[2],
                    "model": s[3],
                    "address": s[4],
                    # a duplicate-time import of old stored rate_hz = inf, which no JSON can hold
                    "rate_hz": s[5] if s[5] is None or math.isfinite(s[5]) else None,
                    "firmware": s[6],
                    "samples": int(s[7]),
                    "start_s": s[8],
                    "end_s": s[9],
                }
            )
        gaps = [
            {"placement": g[0], "start_s": g[1], "end_s": g[2], "reason": g[3]}
            for g in self.conn.execute(
                "SELECT x.placement, g.start_s, g.end_s, g.reason FROM gaps g JOIN sensors x ON g.sensor_id = x.id"
                " WHERE x.session_id = ? ORDER BY g.start_s",
                (session_id,),
            )
        ]
        events = [
            {"time_s": e[0], "kind": e[1], "detail": json.loads(e[2])}
            for e in self.conn.execute(
                "SELECT time_s, kind, detail FROM events WHERE session_id = ? ORDER BY time_s, id", (session_id,)
            )
        ]
        raw = self.conn.execute(
            "SELECT count(*) FROM raw_packets p JOIN sensors x ON p.sensor_id = x.id WHERE x.session_id = ?",
            (session_id,),
        ).fetchone()[0]
        return {
            "id": r[0],
            "name": r[1],
            "notes": r[2],
            "started_at": r[3],
            "source": r[4],
            "person": r[5],
            "sensors": sensors,
            "gaps": gaps,
            "events": events,
            "raw_packets": int(raw),
            "analysed": self.analysis(session_id) is not None,
        }

    def delete(self, ref: str) -> str:
        """Delete a session with everything it holds; return its id."""
        session_id = self.resolve(ref)
        with self.conn:
            self.conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        return session_id

    # samples ------------------------------------------------------------------------------------
    def writer(self, session_id: str) -> SessionWriter:
        """A buffered, transactional writer for a recording into ``session_id``."""
        return SessionWriter(self, self.resolve(session_id))

    def _sensor_ids(self, session_id: str) -> dict[int, str]:
        return dict(self.conn.execute("SELECT id, placement FROM sensors WHERE session_id = ?", (session_id,)))

    def samples(self, ref: str, placement: str | None = None) -> pd.DataFrame:
        """All samples of a session as the long samples table (docs/architecture.md), or one sensor's rows.

        Optional column groups (mag, quat, device_time_s) appear when any sensor of the session has them;
        other sensors' cells are NaN there. With ``placement`` only that sensor's blocks are read: the rows
        of the whole table with that placement, with the same columns.
        """
        import numpy as np
        import pandas as pd

        session_id = self.resolve(ref)
        placement_of = self._sensor_ids(session_id)
        order = sorted(placement_of, key=lambda i: (PLACEMENTS.index(placement_of[i]), i))
        read = [i for i in order if placement in (None, placement_of[i])]
        # Each column group of sample_blocks with its table columns, in the table's order.
        groups = {"time_s": ("time_s",), **VECTOR_COLUMNS, "device_time_s": ("device_time_s",)}
        # typeof() reads a blob's type from the row's header; IS NOT NULL reads the blob's overflow pages too
        # (10 ms per hour of a session)
        present = ", ".join(f"typeof({key}) != 'null'" for key in groups)
        with self.conn:
            self.conn.execute("BEGIN")  # one snapshot for the sizes and the blobs, whatever a recorder writes
            heads = [
                (placement_of[sensor_id], *row)
                for sensor_id in order
                for row in self.conn.execute(
                    f"SELECT n, {present} FROM sample_blocks WHERE sensor_id = ? ORDER BY id", (sensor_id,)
                )
            ]
            # the columns are the whole session's, whichever sensors are read
            keep = [
                key for i, key in enumerate(groups) if key in ("time_s", "acc", "gyr") or any(h[2 + i] for h in heads)
            ]
            heads = [h for h in heads if placement in (None, h[0])]
            counts = np.array([h[1] for h in heads], dtype=np.int64)
            ends = np.cumsum(counts)
            # One preallocated (width, n) array per group, filled block by block: each column is a contiguous
            # row of it, so the table is built without concatenating, transposing or copying columns again.
            # The blobs are read one block at a time, never all of the session's beside the table.
            out = {key: np.empty((len(groups[key]), int(ends[-1]) if len(ends) else 0)) for key in keep}
            # a group left out of `keep` is NULL in every block, as the checksum reads it
            arrays = ", ".join(a if a in keep else "NULL" for a in BLOCK_ARRAYS)
            blocks = (
                row
                for sensor_id in read
                for row in self.conn.execute(
                    f"SELECT crc32, sensor_id, n, t0, t1, {arrays} FROM sample_blocks WHERE sensor_id = ? ORDER BY id",
                    (sensor_id,),
                )
            )
            for row, start, end in zip(blocks, ends - counts, ends):
                self._verify_block(session_id, placement_of, row)
                blobs = [row[5 + BLOCK_ARRAYS.index(key)] for key in keep]
                for key, blob in zip(keep, blobs):
                    out[key][:, start:end] = _unblob(blob, len(groups[key])).T if blob is not None else np.nan
        columns: dict[str, np.ndarray] = {"sensor": np.repeat(np.array([h[0] for h in heads], dtype=object), counts)}
        for key in keep:
            columns.update(zip(groups[key], out[key]))
        return pd.DataFrame(columns, copy=False)

    def _verify_block(self, session_id: str, placement_of: dict[int, str], row: tuple) -> None:
        """Refuse a sample block read as ``(crc32, sensor_id, n, t0, t1, *arrays)`` that fails its checksum."""
        if not block_sound(*row):
            sensor_id, t0, t1 = row[1], row[3], row[4]
            block = DamagedBlock.of(session_id, placement_of.get(sensor_id, "unknown"), t0, t1)
            raise ImuformError(
                f"{self.path} is damaged: {block.describe()} fail their checksum; nothing was written to it:"
                " run 'imuform doctor --recover' to save the rest into a new store"
            )

    def retime_sensor(self, sensor_id: int, time_s: np.ndarray, gaps: list[tuple[float, float, str]]) -> None:
        """Replace the session times of one sensor's stored samples, and its gaps, in one transaction.

        A recording stores samples on its online clock map and, once it ends, the map fitted on the whole
        recording (`imuform.ble.stream_assembler`). The samples themselves are untouched.

        Parameters
        ----------
        sensor_id
            The sensor.
        time_s
            (n,) the new time of each of its n stored samples, in storage order.
        gaps
            Its gaps as (start_s, end_s, reason).
        """
        session_id, placement = self.conn.execute(
            "SELECT session_id, placement FROM sensors WHERE id = ?", (sensor_id,)
        ).fetchone()
        with self.conn:
            self.conn.execute("BEGIN")
            stored = self.conn.execute(
                "SELECT coalesce(sum(n), 0) FROM sample_blocks WHERE sensor_id = ?", (sensor_id,)
            ).fetchone()[0]
            if stored != len(time_s):
                raise ImuformError(f"sensor {sensor_id} has {stored} stored samples but {len(time_s)} new times")
            rows = []
            end = 0
            for block_id, *row in self.conn.execute(
                f"SELECT id, crc32, sensor_id, n, t0, t1, {', '.join(BLOCK_ARRAYS)} FROM sample_blocks"
                " WHERE sensor_id = ? ORDER BY id",
                (sensor_id,),
            ):
                # a damaged block must not get a new checksum that vouches for it
                self._verify_block(session_id, {sensor_id: placement}, row)
                n, end = row[2], end + row[2]
                t, t0, t1 = _blob(time_s[end - n : end]), float(time_s[end - n]), float(time_s[end - 1])
                rows.append((t, t0, t1, block_crc32(sensor_id, n, t0, t1, t, *row[6:]), block_id))
            self.conn.executemany("UPDATE sample_blocks SET time_s = ?, t0 = ?, t1 = ?, crc32 = ? WHERE id = ?", rows)
            self.conn.execute("DELETE FROM gaps WHERE sensor_id = ?", (sensor_id,))
            self.conn.executemany(
                "INSERT INTO gaps (sensor_id, start_s, end_s, reason) VALUES (?, ?, ?, ?)",
                [(sensor_id, float(a), float(b), reason) for a, b, reason in gaps],
            )

    def raw_packets(self, ref: str) -> Iterator[tuple[str, float, bytes]]:
        """The raw notification payloads of a session: (placement, host receive time in s, bytes)."""
        session_id = self.resolve(ref)
        yield from self.conn.execute(
            "SELECT x.placement, p.host_time_s, p.payload FROM raw_packets p JOIN sensors x ON p.sensor_id = x.id"
            " WHERE x.session_id = ? ORDER BY p.id",
            (session_id,),
        )

    def import_samples(
        self,
        samples: pd.DataFrame,
        *,
        name: str = "",
        notes: str = "",
        started_at: str | None = None,
        sensors: dict[str, dict] | None = None,
        gaps: Iterable[dict] = (),
        events: Iterable[dict] = (),
        calibration: Calibration | None = None,
        source: str = "import",
        block_size: int = 4096,
    ) -> str:
        """Store a whole samples table, with its gaps, events and calibration, as a new session; return its id.

        Everything is written in one transaction: any exception on the way (a bad gap or event, a full
        disk) leaves the store as it was, without a partial session.

        Parameters
        ----------
        samples
            The long samples table (validated already, e.g. by `imuform.io_csv.read_samples_csv`).
        sensors
            Optional metadata per placement (kind, model, address, rate_hz, firmware).
        gaps, events
            Gaps and events as `session` returns them; gaps of a placement without samples are dropped.
        calibration
            The session's calibration, if any.
        block_size
            Samples per stored block.
        """
        import numpy as np

        # each sensor's rows as a slice of the table where they lie together (no copy, unlike a groupby)
        from analysis.timebase import sensor_rows

        sensors = sensors or {}
        sensor_ids: dict[str, int] = {}
        session_id = uuid.uuid4().hex[:12]
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute(
                "INSERT INTO sessions (id, name, notes, started_at, source, person_id) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, name, notes, started_at or _now_iso(), source, self.acting_person_id()),
            )
            for placement, group in sensor_rows(samples):
                meta = {
                    k: v
                    for k, v in sensors.get(placement, {}).items()
                    if k in ("kind", "model", "address", "rate_hz", "firmware")
                }
                steps = np.diff(group["time_s"].to_numpy())
                steps = steps[steps > 0]
                if meta.get("rate_hz") is None and len(steps):
                    meta["rate_hz"] = float(round(1.0 / np.median(steps), 3))
                cols = ", ".join(["session_id", "placement", *meta])
                cur = self.conn.execute(
                    f"INSERT INTO sensors ({cols}) VALUES ({', '.join('?' * (2 + len(meta)))})",
                    (session_id, placement, *meta.values()),
                )
                sensor_ids[placement] = int(cur.lastrowid)
                self._insert_blocks(sensor_ids[placement], _columns_of(group), block_size)
            self.conn.executemany(
                INSERT_GAP,
                [
                    (sensor_ids[g["placement"]], float(g["start_s"]), float(g["end_s"]), g.get("reason", ""))
                    for g in gaps
                    if g.get("placement") in sensor_ids
                ],
            )
            self.conn.executemany(
                INSERT_EVENT,
                [(session_id, float(e["time_s"]), e["kind"], json.dumps(e.get("detail", {}))) for e in events],
            )
            if calibration:
                self.conn.execute(INSERT_CALIBRATION, (session_id, _now_iso(), json.dumps(calibration.to_dict())))
        return session_id

    def _insert_blocks(self, sensor_id: int, cols: dict[str, tuple[np.ndarray, ...] | None], block_size: int) -> None:
        import numpy as np

        n = len(cols["time_s"][0])
        # a generator: executemany encodes one block at a time, never the whole session's blobs at once; each
        # vector group is stacked a block at a time, never as an (n, 3) copy of the sensor's columns
        rows = (
            _block_row(
                sensor_id,
                float(cols["time_s"][0][sl][0]),
                float(cols["time_s"][0][sl][-1]),
                *(
                    _blob(np.column_stack([c[sl] for c in cols[k]])) if cols[k] is not None else None
                    for k in BLOCK_ARRAYS
                ),
            )
            for sl in (slice(i, min(i + block_size, n)) for i in range(0, n, block_size))
        )
        self.conn.executemany(INSERT_BLOCK, rows)

    # calibration, profile, analysis -------------------------------------------------------------
    def strap_ons(self) -> dict[str, StrapOn]:
        """Every session's sensors (placement to address), start and source, by session id."""
        out: dict[str, StrapOn] = {}
        for session_id, started_at, source, placement, address in self.conn.execute(
            "SELECT s.id, s.started_at, s.source, x.placement, x.address"
            " FROM sessions s LEFT JOIN sensors x ON x.session_id = s.id ORDER BY s.rowid, x.id"
        ):
            entry = out.setdefault(session_id, StrapOn(session_id, started_at, source, {}))
            if placement is not None:
                entry.addresses[placement] = address
        return out

    def save_calibration(self, session_id: str, calibration: Calibration) -> int:
        """Store a calibration measured in a session; return its id."""
        sid = self.resolve(session_id)
        with self.conn:
            cur = self.conn.execute(INSERT_CALIBRATION, (sid, _now_iso(), json.dumps(calibration.to_dict())))
        return int(cur.lastrowid)

    def _stored_calibrations(self, where: str = "", params: tuple = ()) -> list[StoredCalibration]:
        # analysis.calibration pulls in scipy: imported where calibrations are read, not by every command
        from analysis.calibration import Calibration

        strap_ons = self.strap_ons()
        out = []
        for cal_id, session_id, created_at, data in self.conn.execute(
            f"SELECT c.id, c.session_id, c.created_at, c.data FROM calibrations c {where} ORDER BY c.id DESC", params
        ):
            try:
                calibration = Calibration.from_dict(json.loads(data))
            except (ValueError, json.JSONDecodeError) as exc:
                raise ImuformError(
                    f"calibration #{cal_id} in the store cannot be read ({exc}); "
                    f"delete it with 'imuform calibrations delete {cal_id}'"
                ) from exc
            out.append(StoredCalibration(cal_id, created_at, calibration, strap_ons.get(session_id)))
        return out

    def calibrations(self, person_id: int | None = None) -> list[StoredCalibration]:
        """The stored calibrations of a person (`acting_person_id`), newest first.

        A calibration is the person's whose session it was measured in; one whose session is gone stays the
        first person's, who held the store before it held several people.
        """
        return self._stored_calibrations(
            "LEFT JOIN sessions s ON s.id = c.session_id WHERE coalesce(s.person_id, (SELECT min(id) FROM people)) = ?",
            (self.acting_person_id(person_id),),
        )

    def stored_calibration(self, cal_id: int) -> StoredCalibration:
        """One stored calibration by id."""
        found = self._stored_calibrations("WHERE c.id = ?", (cal_id,))
        if not found:
            raise ImuformError(f"no calibration #{cal_id}; 'imuform calibrations' lists them")
        return found[0]

    def calibration(self, session_id: str) -> Calibration | None:
        """The newest calibration measured in a session (``None`` if none was)."""
        found = self._stored_calibrations("WHERE c.session_id = ?", (self.resolve(session_id),))
        return found[0].calibration if found else None

    def range_of_motion(self, person_id: int | None = None) -> RangeOfMotion | None:
        """The person's newest measured range of motion, from whichever calibration measured it last.

        The range is the person's (`acting_person_id`), not the strap-on's, so limits in % of it hold across sessions.
        """
        return next(
            (c.calibration.range_of_motion for c in self.calibrations(person_id) if c.calibration.range_of_motion),
            None,
        )

    def delete_calibration(self, cal_id: int) -> None:
        """Delete one stored calibration (its session and samples stay)."""
        with self.conn:
            deleted = self.conn.execute("DELETE FROM calibrations WHERE id = ?", (cal_id,)).rowcount
        if not deleted:
            raise ImuformError(f"no calibration #{cal_id}; 'imuform calibrations' lists them")

    def profile(self, person_id: int | None = None) -> dict:
        """The person's profile (personal limits; `acting_person_id`); empty when never set."""
        key = f"profile:{self.acting_person_id(person_id)}"
        row = self.conn.execute("SELECT value FROM profile WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else {}

    def save_profile(self, profile: dict, person_id: int | None = None) -> None:
        """Replace the person's profile (`acting_person_id`)."""
        with self.conn:
            self.conn.execute(
                "INSERT INTO profile (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (f"profile:{self.acting_person_id(person_id)}", json.dumps(profile)),
            )

    def save_analysis(self, session_id: str, doc: dict) -> None:
        """Cache a session's analysis document (the JSON of ``imuform analyze --json``)."""
        sid = self.resolve(session_id)
        with self.conn:
            self.conn.execute(
                "INSERT INTO analyses (session_id, created_at, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (session_id) DO UPDATE SET created_at = excluded.created_at, doc = excluded.doc",
                (sid, _now_iso(), json.dumps(doc)),
            )

    def analysis(self, session_id: str) -> dict | None:
        """The cached analysis document of a session, or ``None``."""
        row = self.conn.execute("SELECT doc FROM analyses WHERE session_id = ?", (self.resolve(session_id),)).fetchone()
        return json.loads(row[0]) if row else None


def _process_alive(pid: object) -> bool:
    """Whether process ``pid`` of this machine still runs (unknown ids count as running)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, but belongs to someone else
    return True


def _columns_of(group: pd.DataFrame) -> dict[str, tuple[np.ndarray, ...] | None]:
    """Numpy columns of one sensor's rows of a samples table, per column group (views where the table's columns
    are float already; optional groups None when absent or, for mag and quat, empty)."""
    import numpy as np

    groups = {"time_s": ("time_s",), "device_time_s": ("device_time_s",), **VECTOR_COLUMNS}
    out: dict[str, tuple[np.ndarray, ...] | None] = {}
    for key, names in groups.items():
        columns = tuple(group[n].to_numpy(dtype=float) for n in names) if all(n in group for n in names) else None
        empty = columns is not None and key in ("mag", "quat") and all(np.isnan(c).all() for c in columns)
        out[key] = None if empty else columns
    return out


def _block_row(sensor_id: int, t0: float, t1: float, *arrays: bytes | None) -> tuple:
    """The values of `INSERT_BLOCK` for one block: the arrays' blobs in `BLOCK_ARRAYS` order, then its checksum."""
    n = len(arrays[0]) // 8
    return (sensor_id, n, t0, t1, *arrays, block_crc32(sensor_id, n, t0, t1, *arrays))


class SessionWriter:
    """Buffered, transactional writes of a live recording.

    Everything added is committed in one transaction at least every `FLUSH_INTERVAL_S`, so a process
    killed mid-recording loses at most the last second and leaves a readable session.
    """

    def __init__(self, store: Store, session_id: str, flush_interval_s: float = FLUSH_INTERVAL_S):
        self.store = store
        self.session_id = session_id
        self.flush_interval_s = flush_interval_s
        self._samples: list[tuple] = []
        self._raw: list[tuple] = []
        self._gaps: list[tuple] = []
        self._events: list[tuple] = []
        self._last_flush = time.monotonic()
        self._flushed_until_s = -math.inf  # newest sample time committed

    def add_samples(
        self,
        sensor_id: int,
        time_s: np.ndarray,
        acc_mps2: np.ndarray,
        gyr_dps: np.ndarray,
        mag_uT: np.ndarray | None = None,
        quat_wxyz: np.ndarray | None = None,
        device_time_s: np.ndarray | None = None,
    ) -> None:
        """Queue a block of samples of one sensor (n rows; vectors (n, 3), quaternions (n, 4))."""
        import numpy as np

        t = np.asarray(time_s, dtype=float)
        if len(t) == 0:
            return
        self._samples.append(
            _block_row(
                sensor_id,
                float(t[0]),
                float(t[-1]),
                _blob(t),
                _blob(device_time_s),
                _blob(acc_mps2, 3),
                _blob(gyr_dps, 3),
                _blob(mag_uT, 3),
                _blob(quat_wxyz, 4),
            )
        )
        self._maybe_flush()

    def add_raw(self, sensor_id: int, host_time_s: float, payload: bytes) -> None:
        """Queue one raw notification payload with its host receive time."""
        self._raw.append((sensor_id, float(host_time_s), bytes(payload)))
        self._maybe_flush()

    def add_gap(self, sensor_id: int, start_s: float, end_s: float, reason: str) -> None:
        """Record a gap in one sensor's data (e.g. a dropout) and commit it now."""
        self._gaps.append((sensor_id, float(start_s), float(end_s), reason))
        self.flush()

    def add_event(self, time_s: float, kind: str, detail: dict | None = None) -> None:
        """Record a session event (set start, calibration, cue, …) and commit it now."""
        self._events.append((self.session_id, float(time_s), kind, json.dumps(detail or {})))
        self.flush()

    def _maybe_flush(self) -> None:
        # Every half second of wall time, and of session time: a replay faster than real time would
        # otherwise hold several seconds of the session in memory.
        newest_s = self._samples[-1][3] if self._samples else -math.inf
        if (
            time.monotonic() - self._last_flush >= self.flush_interval_s
            or newest_s - self._flushed_until_s >= self.flush_interval_s
        ):
            self.flush()

    def flush(self) -> None:
        """Commit everything queued in one transaction."""
        conn = self.store.conn
        with conn:
            conn.execute("BEGIN")
            if self._samples:
                conn.executemany(INSERT_BLOCK, self._samples)
            if self._raw:
                conn.executemany(
                    "INSERT INTO raw_packets (sensor_id, host_time_s, payload) VALUES (?, ?, ?)", self._raw
                )
            if self._gaps:
                conn.executemany(INSERT_GAP, self._gaps)
            if self._events:
                conn.executemany(INSERT_EVENT, self._events)
        if self._samples:
            self._flushed_until_s = max(self._flushed_until_s, max(row[3] for row in self._samples))
        self._samples.clear()
        self._raw.clear()
        self._gaps.clear()
        self._events.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Commit what is left."""
        self.flush()

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
