"""Salvaging a damaged store: copy what SQLite can still read into a new store, and say what was lost.

SQLite's own ``.recover`` lives in the sqlite3 shell, not in Python's module, so this does the same in
spirit: every table of the new store is filled from the damaged one row by row in rowid order. A read
that hits a damaged page fails; the copy then searches for the next row it can read (exponential steps,
then bisection) and goes on from there. Rows that read back inconsistent (a sample block that fails its
checksum or whose arrays do not match its sample count, JSON that does not parse) or whose parent row was
lost are left out. The indexes of the damaged file, which live in pages of their own, tell which sessions
lost sample blocks; the blocks kept either side of a lost one tell the time span it held, which the new
store records as a gap of its sensor.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from imuform.errors import ImuformError
from imuform.store import (
    BLOCK_ARRAYS,
    DB_NAME,
    INSERT_GAP,
    VECTOR_COLUMNS,
    block_sound,
    damaged_blocks,
    has_sqlite_header,
    integrity_problems,
    is_ours,
    migrate,
)

#: Rows read per query while the pages are sound.
BATCH_ROWS = 256
#: Largest SQLite rowid.
MAX_ROWID = 2**63 - 1
#: The reason of the gap the new store records where sample blocks were left out.
LOST_GAP_REASON = "damaged, left out by imuform doctor --recover"


@dataclass
class TableRecovery:
    """What the copy of one table kept and left behind.

    Attributes
    ----------
    table
        Table name.
    copied
        Rows copied into the new store.
    refused
        Rows that were read but left out: inconsistent, or their session or sensor was lost.
    damaged_spans
        Stretches of rows that could not be read at all (each one or more rows).
    """

    table: str
    copied: int = 0
    refused: int = 0
    damaged_spans: int = 0

    @property
    def complete(self) -> bool:
        """Whether nothing of this table was lost."""
        return self.refused == 0 and self.damaged_spans == 0


@dataclass(frozen=True)
class LostSpan:
    """A stretch of one sensor's samples lost to damage, between the samples kept either side of it.

    Attributes
    ----------
    session_id, placement
        Whose samples.
    after_s
        Time of the last sample kept before it; None when the sensor's first samples were lost.
    before_s
        Time of the first sample kept after it; None when its last samples were lost.
    blocks
        Sample blocks lost in it.
    """

    session_id: str
    placement: str
    after_s: float | None
    before_s: float | None
    blocks: int

    def describe(self) -> str:
        """E.g. ``lumbar samples between 12.30 s and 45.60 s``."""
        if self.after_s is None and self.before_s is None:
            return f"all {self.placement} samples"
        if self.after_s is None:
            return f"{self.placement} samples before {self.before_s:.2f} s"
        if self.before_s is None:
            return f"{self.placement} samples after {self.after_s:.2f} s"
        return f"{self.placement} samples between {self.after_s:.2f} s and {self.before_s:.2f} s"


@dataclass
class RecoveryReport:
    """The outcome of `recover_store`.

    Attributes
    ----------
    store_path
        The new store, in the place of the damaged one.
    damaged_path
        Where the damaged file was kept, untouched.
    tables
        Per table, what was copied and lost.
    sessions_recovered
        Ids of the sessions in the new store.
    sessions_lost
        Ids of sessions known to have existed (from the damaged file's indexes and child rows) that
        could not be recovered.
    blocks_lost
        Per recovered session id, how many of its sample blocks (a few seconds of one sensor each) were lost,
        where the damaged file's index still tells.
    lost_spans
        The time spans those blocks held, per sensor.
    sessions_without_samples
        Recovered sessions with sensors but not one sample block left.
    """

    store_path: Path
    damaged_path: Path
    tables: list[TableRecovery] = field(default_factory=list)
    sessions_recovered: list[str] = field(default_factory=list)
    sessions_lost: list[str] = field(default_factory=list)
    blocks_lost: dict[str, int] = field(default_factory=dict)
    lost_spans: list[LostSpan] = field(default_factory=list)
    sessions_without_samples: list[str] = field(default_factory=list)

    @property
    def unattributed_loss(self) -> bool:
        """Whether rows were lost that cannot be tied to a session (beyond `sessions_lost`, `blocks_lost`)."""
        return any(not t.complete for t in self.tables if t.table not in ("sessions", "sample_blocks")) or (
            any(not t.complete for t in self.tables if t.table == "sample_blocks") and not self.blocks_lost
        )

    def to_dict(self) -> dict:
        """A JSON-able summary."""
        return {
            "store": str(self.store_path),
            "damaged_file": str(self.damaged_path),
            "sessions_recovered": len(self.sessions_recovered),
            "sessions_lost": self.sessions_lost,
            "blocks_lost": self.blocks_lost,
            "lost_spans": [
                {"session": x.session_id, "placement": x.placement, "after_s": x.after_s, "before_s": x.before_s}
                for x in self.lost_spans
            ],
            "sessions_without_samples": self.sessions_without_samples,
            "unattributed_loss": self.unattributed_loss,
            "tables": [
                {"table": t.table, "copied": t.copied, "refused": t.refused, "damaged_spans": t.damaged_spans}
                for t in self.tables
            ],
        }


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """A read failed on a damaged page (not on a table or column missing from an older schema)."""
    return not (isinstance(exc, sqlite3.OperationalError) and "no such" in str(exc))


class _RowReader:
    """Rows of one table of a damaged database in rowid order, skipping the stretches that cannot be read."""

    def __init__(self, conn: sqlite3.Connection, table: str, columns: list[str]):
        self.conn = conn
        self.query = f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        self.damaged_spans = 0

    def _read(self, after: int, limit: int) -> list[tuple] | None:
        try:
            return self.conn.execute(self.query, (after, limit)).fetchall()
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            return None

    def _next_readable(self, after: int) -> int | None:
        """The rowid after which reading works again (rows in between are lost), or None for the end."""
        step, bad = 1, after
        while True:
            probe = min(after + step, MAX_ROWID)
            if self._read(probe, 1) is not None:
                break
            bad = probe
            if probe == MAX_ROWID:
                return None
            step *= 2
        good = probe
        while good - bad > 1:  # the smallest start that reads
            mid = (bad + good) // 2
            if self._read(mid, 1) is None:
                bad = mid
            else:
                good = mid
        return good

    def __iter__(self) -> Iterator[tuple]:
        after = -MAX_ROWID - 1
        while True:
            rows = self._read(after, BATCH_ROWS) or self._read(after, 1)
            if rows is None:
                self.damaged_spans += 1
                resume = self._next_readable(after)
                if resume is None:
                    return
                after = resume
                continue
            if not rows:
                return
            yield from rows
            after = rows[-1][0]


def _json_ok(text) -> bool:
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def _block_ok(row: dict) -> bool:
    """A sample block that matches its checksum and whose arrays all hold ``n`` samples."""
    # a block of a store older than checksums has none to check; the new store gives it one
    if "crc32" in row and not block_sound(
        row["crc32"], *(row[c] for c in ("sensor_id", "n", "t0", "t1", *BLOCK_ARRAYS))
    ):
        return False
    n = row["n"]
    if not isinstance(n, int) or n <= 0 or not isinstance(row["time_s"], bytes) or len(row["time_s"]) != 8 * n:
        return False
    widths = {"device_time_s": 1, **{key: len(names) for key, names in VECTOR_COLUMNS.items()}}
    for key, width in widths.items():
        blob = row[key]
        if (blob is None and key in ("acc", "gyr")) or (blob is not None and len(blob) != 8 * width * n):
            return False
    t = np.frombuffer(row["time_s"], dtype="<f8")
    return bool(np.isfinite(t).all()) and (t[0], t[-1]) == (row["t0"], row["t1"])


#: Per table, a check of a row (as a dict of its columns) beyond what the new store's constraints check.
ROW_CHECKS: dict[str, Callable[[dict], bool]] = {
    "sample_blocks": _block_ok,
    "events": lambda row: _json_ok(row["detail"]),
    "calibrations": lambda row: _json_ok(row["data"]),
    "profile": lambda row: _json_ok(row["value"]),
    "analyses": lambda row: _json_ok(row["doc"]),
}


def _try_ids(conn: sqlite3.Connection, query: str) -> set:
    """The first column of what a query over the damaged file reads, or nothing when it cannot be read."""
    try:
        return {r[0] for r in conn.execute(query)}
    except sqlite3.DatabaseError:
        return set()


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> TableRecovery:
    columns = [r[1] for r in dst.execute(f"PRAGMA table_info({table})")]
    try:  # a store of an older schema lacks columns added since (they keep their defaults)
        columns = [c for c in columns if c in {r[1] for r in src.execute(f"PRAGMA table_info({table})")}] or columns
    except sqlite3.DatabaseError:
        pass  # the damaged schema cannot tell: try the new store's columns
    result = TableRecovery(table)
    check = ROW_CHECKS.get(table, lambda row: True)
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    reader = _RowReader(src, table, columns)
    try:
        with dst:
            dst.execute("BEGIN")
            for raw in reader:
                row = dict(zip(columns, raw[1:]))
                try:
                    ok = check(row)
                    if ok:
                        dst.execute(insert, raw[1:])
                except (sqlite3.IntegrityError, sqlite3.InterfaceError, TypeError, ValueError):
                    ok = False
                result.copied += ok
                result.refused += not ok
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):  # an older store without this table: nothing to copy
            raise
    result.damaged_spans = reader.damaged_spans
    return result


def _losses(src: sqlite3.Connection, dst: sqlite3.Connection, report: RecoveryReport) -> None:
    """Fill in the sessions and sample blocks the damaged file held but the new store lacks."""
    recovered = {r[0] for r in dst.execute("SELECT id FROM sessions")}
    known = _try_ids(src, "SELECT id FROM sessions INDEXED BY sqlite_autoindex_sessions_1")
    for table in ("sensors", "events", "calibrations", "analyses"):
        known |= _try_ids(src, f"SELECT session_id FROM {table} WHERE session_id IS NOT NULL")
    report.sessions_recovered = sorted(recovered)
    report.sessions_lost = sorted(str(s) for s in known - recovered)
    report.sessions_without_samples = [
        r[0]
        for r in dst.execute(
            "SELECT DISTINCT x.session_id FROM sensors x WHERE NOT EXISTS"
            " (SELECT 1 FROM sample_blocks b JOIN sensors y ON b.sensor_id = y.id WHERE y.session_id = x.session_id)"
            " ORDER BY x.session_id"
        )
    ]
    session_of = dict(dst.execute("SELECT id, session_id FROM sensors"))
    copied = {r[0] for r in dst.execute("SELECT id FROM sample_blocks")}
    try:
        indexed = src.execute("SELECT sensor_id, rowid FROM sample_blocks INDEXED BY sample_blocks_sensor").fetchall()
    except sqlite3.DatabaseError:
        indexed = []
    spans: dict[tuple[int, int | None, int | None], int] = {}  # (sensor, block kept before, after): blocks lost
    for sensor_id, block_id in indexed:
        session_id = session_of.get(sensor_id)
        if block_id not in copied and session_id is not None:
            report.blocks_lost[session_id] = report.blocks_lost.get(session_id, 0) + 1
            before = dst.execute(
                "SELECT max(id) FROM sample_blocks WHERE sensor_id = ? AND id < ?", (sensor_id, block_id)
            ).fetchone()[0]
            after = dst.execute(
                "SELECT min(id) FROM sample_blocks WHERE sensor_id = ? AND id > ?", (sensor_id, block_id)
            ).fetchone()[0]
            spans[(sensor_id, before, after)] = spans.get((sensor_id, before, after), 0) + 1
    placement_of = dict(dst.execute("SELECT id, placement FROM sensors"))
    for (sensor_id, before, after), blocks in spans.items():
        after_s = None if before is None else _block_time(dst, "t1", before)
        before_s = None if after is None else _block_time(dst, "t0", after)
        span = LostSpan(session_of[sensor_id], placement_of[sensor_id], after_s, before_s, blocks)
        report.lost_spans.append(span)
        if after_s is not None and before_s is not None:  # a hole inside the recording: the analysis must see it
            dst.execute(INSERT_GAP, (sensor_id, after_s, before_s, LOST_GAP_REASON))


def _block_time(conn: sqlite3.Connection, column: str, block_id: int) -> float:
    return conn.execute(f"SELECT {column} FROM sample_blocks WHERE id = ?", (block_id,)).fetchone()[0]


def _move(path: Path, to: Path) -> None:
    if path.exists():
        os.replace(path, to)


def recover_store(home: Path) -> RecoveryReport:
    """Salvage the store of ``home`` into a new store file that takes its place.

    The damaged file is kept beside it, renamed ``imuform.sqlite.damaged-<UTC time>`` (with its WAL), and
    is only ever read. Stop recordings and dashboards on this store first.

    Raises
    ------
    ImuformError
        When there is no store, it is not an SQLite file or not an imuform store, or it is not damaged.
    """
    path = Path(home) / DB_NAME
    if not path.is_file() or not has_sqlite_header(path):
        raise ImuformError(f"{path}: no SQLite store to recover")
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    new_path = path.with_name(DB_NAME + ".recovering")
    for stale in (new_path, Path(f"{new_path}-journal")):
        stale.unlink(missing_ok=True)
    dst = sqlite3.connect(new_path, isolation_level=None)
    try:
        try:
            foreign = not is_ours(src)
        except sqlite3.DatabaseError:
            foreign = False  # the schema page itself is damaged: try the tables anyway
        if foreign:
            raise ImuformError(f"{path} is not an imuform store; nothing to recover")
        if not integrity_problems(src, quick=False, limit=1) and not damaged_blocks(src, limit=1):
            raise ImuformError(f"{path} is sound; nothing to recover")
        migrate(dst)
        dst.execute("PRAGMA foreign_keys=ON")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        report = RecoveryReport(store_path=path, damaged_path=path.with_name(f"{DB_NAME}.damaged-{stamp}"))
        # parents before children: the tables in the order the migrations created them, but the people first
        # (sessions name their person), who replace the first person the new store was made with
        dst.execute("DELETE FROM people")
        tables = [r[0] for r in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        tables.sort(key=lambda table: table != "people")
        report.tables = [_copy_table(src, dst, table) for table in tables]
        # blocks of a store older than checksums get theirs, as opening that store would have given them
        dst.execute(
            f"UPDATE sample_blocks SET crc32 = block_crc32(sensor_id, n, t0, t1, {', '.join(BLOCK_ARRAYS)})"
            " WHERE crc32 IS NULL"
        )
        _losses(src, dst, report)
    except BaseException:
        dst.close()
        new_path.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    _move(path, report.damaged_path)
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size == 0:
        wal.unlink()
    _move(wal, Path(f"{report.damaged_path}-wal"))
    Path(f"{path}-shm").unlink(missing_ok=True)
    os.replace(new_path, path)
    return report
