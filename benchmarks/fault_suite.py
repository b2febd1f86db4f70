"""The fault-injection suite (issue 15): replay the faults a user's data meets and count what survives.

Four families, each a function returning one `FaultRow`:

1. ``corrupted_csvs``: ≥ 150 variants of one valid samples.csv, generated from a seed, imported in-process with
   ``imuform import``; an accepted variant must also ``analyze`` with exit 0 or 1 and at most one line.
2. ``kills``: ``imuform record --virtual deadlift`` in a subprocess, SIGTERM or SIGKILL at a seeded random moment
   while connecting or streaming, for every virtual sensor kind, at 1× (``--realtime``) and 10×.
3. ``store_corruption``: garbage written in the middle (and at other places) of a store. Where SQLite sees the
   damage, ``sessions``, ``analyze`` and ``record`` must refuse with one line naming the file and ``imuform
   doctor``, and leave the file's bytes as they were. Where only a sample block's checksum sees it (the garbage
   fell inside a block's arrays), ``analyze`` of that session must refuse so, naming the session too, while
   ``sessions`` and ``record`` may run: the rest of the store is sound. Then ``imuform doctor --recover`` must
   leave a store that passes ``imuform doctor``.
4. ``concurrent_writers``: two ``imuform import`` processes into one store at once.

A clean refusal is exit 1 or 2 with exactly one stderr line naming the file (not the CLI's last-resort line for
an unexpected exception, which counts as a crash). Poisoned means a refusal left a session behind, a store fails
``imuform doctor`` or ``sessions``, a stored session is empty, a refused command changed the store's bytes, or
``imuform doctor --recover`` did not leave a sound store.

A refusal *names the place* when its line lets the user find what is wrong and says what to do about it:

- a CSV: the file and the line (``line 1`` for what concerns the whole file: empty, not UTF-8, a header no
  format fits), and the column where one cell is at fault;
- a store: the store file, plus the session (with its sensor and time span) when the damage lies inside one
  session's samples, and what to do (``imuform doctor --recover`` to save the rest; ``imuform doctor`` or
  another ``--home`` for a file that is no SQLite store at all). A line number means nothing in a database
  file, so none is asked for;
- a kill: a recording stopped before any sample has no data and so no place; its line must say that nothing
  was saved.

Data lost by a kill, in seconds of session time: the session time the recording had reached when the signal was
sent minus the end of the session time stored afterwards (0 when nothing was missing). The reached time is
estimated from the store itself, read-only every `KillConfig.poll_s`: the newest stored sample time, plus the
pace at which the stored end advanced over the last `KillConfig.pace_window_s` (session seconds per wall second)
times the wall time since that value was first seen. It is exact to one poll (``pace × poll_s``) plus what the
recorder held in memory before the newest commit (one `imuform.store.FLUSH_INTERVAL_S`). The pace is the one
measured, not the nominal replay speed: on a loaded machine the replay and the recorder run slower than 10×,
and the nominal speed would count session time that no sensor had sent yet as lost.

``python -m benchmarks.fault_suite [--quick] [--check] [--seed N]`` prints the table; ``--check`` exits 1 on
any crash, any poisoned session or store, or a kill losing more than `FaultLimits.lost_s`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from benchmarks.figures import Figure, wide_console
from firmware_protocol import MODELS
from imuform.cli.main import main as imuform_main
from imuform.diagnostics import store_health
from imuform.io_csv import write_samples_csv
from imuform.store import DB_NAME, Store

#: A stderr line that points at a place in a text file.
PLACE = re.compile(r"\b(line|row|column|col)s?\b", re.IGNORECASE)
#: The fix a refusal over a damaged store names.
STORE_FIX = "imuform doctor --recover"
#: What a refused recording says when it has no data, and so no place.
NOTHING_SAVED = "nothing was saved"
#: The CLI's last-resort line for an exception no code path expected.
UNEXPECTED = "run with --debug for the traceback"


@dataclass
class FaultLimits:
    """What `--check` accepts.

    Attributes
    ----------
    lost_s
        Session data a kill may lose, in seconds of session time, at any replay speed.
    """

    lost_s: float = 1.0


@dataclass
class CsvCorpusConfig:
    """The corrupted-CSV corpus.

    Attributes
    ----------
    variants
        How many corrupted variants to generate.
    rows_per_sensor
        Samples per sensor in the valid file the variants start from.
    rate_hz
        Its sample rate.
    """

    variants: int = 160
    rows_per_sensor: int = 300
    rate_hz: float = 100.0


@dataclass
class KillConfig:
    """The kill family.

    Attributes
    ----------
    kinds
        Virtual sensor kinds to record (all of them by default).
    speeds
        Replay speeds (1 is ``--realtime``, 10 the default).
    signals
        Signal names sent.
    poll_s
        Wall seconds between read-only looks at the store.
    pace_window_s
        Wall seconds before the kill over which the pace of the stored end is measured (the nominal speed is
        used while streaming has lasted less than half of it).
    connect_kill_s
        Range of wall seconds after the session appears in the store (the recorder is connecting) at which a
        kill meant for the connecting phase is sent; when samples came first the run counts as streaming.
    stream_kill_s
        Range of wall seconds of streaming after which a kill meant for the streaming phase is sent.
    wait_s
        Longest wait for a phase or for the process to end after the signal.
    """

    kinds: tuple[str, ...] = tuple(sorted(MODELS))
    speeds: tuple[float, ...] = (1.0, 10.0)
    signals: tuple[str, ...] = ("SIGTERM", "SIGKILL")
    poll_s: float = 0.05
    pace_window_s: float = 1.0
    connect_kill_s: tuple[float, float] = (0.0, 0.3)
    stream_kill_s: tuple[float, float] = (0.3, 2.5)
    wait_s: float = 60.0


@dataclass
class FaultRow:
    """One family's counts.

    Attributes
    ----------
    family
        Its name.
    runs
        Faults replayed.
    clean_refusals
        Runs refused with one line naming the file.
    with_place
        Of those, lines that also name the place (see the module's docstring) and the fix.
    accepted
        Runs that succeeded (and, for CSVs, analysed cleanly).
    crashes
        Tracebacks, unexpected exceptions, other exit codes, or refusals without one clean line.
    lost_max_s
        Most session data lost by one run, in seconds of session time (kills only).
    poisoned
        Sessions or stores left damaged, empty, or changed by a refusal.
    undetected
        Store damage that ``imuform doctor`` does not see: the commands are not run on it, as nothing could
        tell it apart from good data.
    notes
        One short line per failure, to find it again.
    """

    family: str
    runs: int = 0
    clean_refusals: int = 0
    with_place: int = 0
    accepted: int = 0
    crashes: int = 0
    lost_max_s: float = 0.0
    poisoned: int = 0
    undetected: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class CliResult:
    """Exit code and output of one `imuform` command."""

    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(args: list[str]) -> CliResult:
    """Run `imuform ARGS` in-process; an exception escaping `main` is returned as code -1 with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = imuform_main(args)
        except BaseException as exc:  # noqa: BLE001 - an escaping exception is exactly what is counted
            import traceback

            return CliResult(-1, out.getvalue(), err.getvalue() + "".join(traceback.format_exception(exc)))
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_process(args: list[str], home: Path, timeout_s: float = 120.0) -> CliResult:
    """Run `imuform ARGS` in its own process with ``home`` as its store."""
    proc = subprocess.run(
        [sys.executable, "-m", "imuform", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def is_clean_refusal(result: CliResult, names: tuple[str, ...]) -> bool:
    """Exit 1 or 2 with exactly one stderr line that names one of ``names`` and is not the last-resort line."""
    lines = result.lines
    return (
        result.code in (1, 2)
        and len(lines) == 1
        and any(n in lines[0] for n in names)
        and UNEXPECTED not in lines[0]
        and "Traceback" not in result.stderr
    )


def is_crash(result: CliResult) -> bool:
    """A traceback, an escaping or unexpected exception, or an exit code other than 0, 1 or 2."""
    return result.code not in (0, 1, 2) or "Traceback" in result.stderr or UNEXPECTED in result.stderr


def store_poison(home: Path) -> str:
    """Why the store of ``home`` is poisoned (fails doctor or sessions, or holds an empty session), else ''."""
    if not (home / DB_NAME).exists():
        return ""
    health = store_health(home)  # what `imuform doctor` checks: SQLite's full integrity_check, read-only
    if health.state not in ("ok", "missing"):
        return f"doctor: the store is {health.state} ({'; '.join(health.problems)[:200]})"
    try:
        with Store(home) as store:
            empty = [s["id"] for s in store.sessions() if s["samples"] == 0]
    except Exception as exc:  # noqa: BLE001 - any failure to list is the finding
        return f"sessions: {exc}"
    return f"empty session(s) {', '.join(empty)}" if empty else ""


def session_count(home: Path) -> int:
    """Sessions in the store of ``home`` (0 without a store)."""
    if not (home / DB_NAME).exists():
        return 0
    with Store(home) as store:
        return len(store.sessions())


# ---------------------------------------------------------------- 1. corrupted CSVs


def valid_samples(config: CsvCorpusConfig, seed: int) -> pd.DataFrame:
    """Two still sensors with noise: a small, valid samples table."""
    rng = np.random.default_rng(seed)
    n = config.rows_per_sensor
    parts = []
    for k, placement in enumerate(("lumbar", "thoracic")):
        acc_mps2 = rng.normal(0.0, 0.05, (n, 3)) + [0.0, 0.0, 9.81]
        gyr_dps = rng.normal(0.0, 0.5, (n, 3))
        cols = {"sensor": placement, "time_s": np.arange(n) / config.rate_hz + 0.003 * k}
        cols.update({f"acc_{a}": acc_mps2[:, i] for i, a in enumerate("xyz")})
        cols.update({f"gyr_{a}": gyr_dps[:, i] for i, a in enumerate("xyz")})
        parts.append(pd.DataFrame(cols))
    return pd.concat(parts, ignore_index=True)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _cells(data: bytes) -> list[list[bytes]]:
    return [line.split(b",") for line in _lines(data)]


def _join(rows: list[list[bytes]]) -> bytes:
    return b"\n".join(b",".join(r) for r in rows)


def _body_row(rows: list[list[bytes]], rng: np.random.Generator) -> int:
    return int(rng.integers(1, len(rows) - 1))


def _set_cell(value: bytes) -> Callable[[bytes, np.random.Generator], bytes]:
    def mutate(data: bytes, rng: np.random.Generator) -> bytes:
        rows = _cells(data)
        r = _body_row(rows, rng)
        rows[r][int(rng.integers(1, len(rows[r])))] = value
        return _join(rows)

    return mutate


def _truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def _flip_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for i in rng.integers(0, len(out), int(rng.integers(1, 20))):
        out[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def _non_utf8(data: bytes, rng: np.random.Generator) -> bytes:
    start = data.index(b"\n") + 1
    at = int(rng.integers(start, len(data)))
    return data[:at] + bytes([0xFF, 0xFE, 0xC3]) + data[at:]


def _delete_column(data: bytes, rng: np.random.Generator) -> bytes:
    rows = _cells(data)
    c = int(rng.integers(0, len(rows[0])))
    return _join([r[:c] + r[c + 1 :] for r in rows])


def _duplicate_column(data: bytes, rng: np.random.Generator) -> bytes:
    rows = _cells(data)
    c = int(rng.integers(0, len(rows[0])))
    return _join([r + [r[c]] if len(r) > c else r for r in rows])


def _swap_columns(data: bytes, rng: np.random.Generator) -> bytes:
    rows = _cells(data)
    a, b = rng.choice(len(rows[0]), 2, replace=False)
    for r in rows:
        if len(r) > max(a, b):
            r[a], r[b] = r[b], r[a]
    return _join(rows)


def _swap_header_names(data: bytes, rng: np.random.Generator) -> bytes:
    rows = _cells(data)
    a, b = rng.choice(len(rows[0]), 2, replace=False)
    rows[0][a], rows[0][b] = rows[0][b], rows[0][a]
    return _join(rows)


def _times(transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[bytes, np.random.Generator], bytes]:
    def mutate(data: bytes, rng: np.random.Generator) -> bytes:
        rows = _cells(data)
        body = [r for r in rows[1:] if len(r) > 1]
        t = transform(np.array([float(r[1]) for r in body]))
        for r, value in zip(body, t, strict=True):
            r[1] = repr(float(value)).encode()
        return _join(rows)

    return mutate


def _reverse_span(t: np.ndarray) -> np.ndarray:
    t = t.copy()
    t[10:60] = t[10:60][::-1]
    return t


def _duplicate_times(t: np.ndarray) -> np.ndarray:
    t = t.copy()
    t[20:40] = t[20]
    return t


def _wrong_sensor(name: bytes) -> Callable[[bytes, np.random.Generator], bytes]:
    def mutate(data: bytes, rng: np.random.Generator) -> bytes:
        rows = _cells(data)
        r = _body_row(rows, rng)
        rows[r][0] = name
        return _join(rows)

    return mutate


def _extra_commas(data: bytes, rng: np.random.Generator) -> bytes:
    rows = _cells(data)
    r = _body_row(rows, rng)
    rows[r] = rows[r] + [b""] * int(rng.integers(1, 4))
    return _join(rows)


def _missing_cells(data: bytes, rng: np.random.Generator) -> bytes:
    rows = _cells(data)
    r = _body_row(rows, rng)
    rows[r] = rows[r][: int(rng.integers(1, len(rows[r])))]
    return _join(rows)


def _duplicate_rows(data: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(data)
    r = int(rng.integers(1, len(lines) - 1))
    return b"\n".join(lines[: r + 1] + lines[r : r + 5] + lines[r + 1 :])


def _delete_line(data: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(data)
    r = int(rng.integers(0, len(lines)))
    return b"\n".join(lines[:r] + lines[r + 1 :])


def _constant(value: bytes) -> Callable[[bytes, np.random.Generator], bytes]:
    return lambda data, rng: value


def _header_only(data: bytes, rng: np.random.Generator) -> bytes:
    return _lines(data)[0] + b"\n"


def _bom(data: bytes, rng: np.random.Generator) -> bytes:
    return b"\xef\xbb\xbf" + data


def _crlf(data: bytes, rng: np.random.Generator) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _utf16(data: bytes, rng: np.random.Generator) -> bytes:
    return data.decode("utf-8").encode("utf-16")


def _semicolons(data: bytes, rng: np.random.Generator) -> bytes:
    return data.replace(b",", b";")


def _decimal_commas(data: bytes, rng: np.random.Generator) -> bytes:
    return _join([[b'"' + c.replace(b".", b",") + b'"' for c in r] for r in _cells(data)])


def _nul_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    at = int(rng.integers(0, len(data)))
    return data[:at] + b"\x00" * int(rng.integers(1, 64)) + data[at:]


def _upper_header(data: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(data)
    return b"\n".join([lines[0].upper(), *lines[1:]])


def _one_sensor(data: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(data)
    return b"\n".join([lines[0]] + [line for line in lines[1:] if not line.startswith(b"thoracic")])


#: name -> mutation of the valid file's bytes; the corpus cycles through them with seeded parameters.
MUTATIONS: dict[str, Callable[[bytes, np.random.Generator], bytes]] = {
    "truncate at a random byte": _truncate,
    "flip bytes": _flip_bytes,
    "non-UTF-8 bytes after line 1": _non_utf8,
    "delete a column": _delete_column,
    "duplicate a column": _duplicate_column,
    "swap two columns": _swap_columns,
    "swap two header names": _swap_header_names,
    "NaN cell": _set_cell(b"nan"),
    "inf cell": _set_cell(b"inf"),
    "-inf cell": _set_cell(b"-inf"),
    "1e308 cell": _set_cell(b"1e308"),
    "text cell": _set_cell(b"abc"),
    "empty cell": _set_cell(b""),
    "nested JSON cell": _set_cell(b'"{""a"": [1, {""b"": 2}]}"'),
    "quoted number cell": _set_cell(b'"1.5"'),
    "times reversed": _times(lambda t: t[::-1].copy()),
    "a span of times reversed": _times(_reverse_span),
    "times duplicated": _times(_duplicate_times),
    "times in ms": _times(lambda t: t * 1000.0),
    "times negative": _times(lambda t: t - 1e3),
    "times 1e12": _times(lambda t: t + 1e12),
    "unknown sensor name": _wrong_sensor(b"ankle"),
    "empty sensor name": _wrong_sensor(b""),
    "sensor name with spaces": _wrong_sensor(b" lumbar "),
    "extra commas": _extra_commas,
    "missing cells": _missing_cells,
    "duplicated rows": _duplicate_rows,
    "a line deleted": _delete_line,
    "empty file": _constant(b""),
    "only a newline": _constant(b"\n"),
    "header only": _header_only,
    "BOM": _bom,
    "CRLF": _crlf,
    "UTF-16": _utf16,
    "semicolons": _semicolons,
    "decimal commas": _decimal_commas,
    "NUL bytes": _nul_bytes,
    "upper-case header": _upper_header,
    "one sensor only": _one_sensor,
    "binary garbage": lambda data, rng: rng.integers(0, 256, 2000, dtype=np.uint8).tobytes(),
}


def corrupted_csv_corpus(config: CsvCorpusConfig, seed: int) -> list[tuple[str, bytes]]:
    """``config.variants`` (name, bytes) pairs: every mutation in turn, each round on a fresh valid file (its own
    noise) and with fresh seeded parameters."""
    rng = np.random.default_rng(seed)
    names = list(MUTATIONS)
    corpus = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(config.variants):
            if i % len(names) == 0:
                samples = valid_samples(config, seed + i // len(names))
                valid = write_samples_csv(samples, Path(tmp) / "samples.csv").read_bytes()
            name = names[i % len(names)]
            corpus.append((name, MUTATIONS[name](valid, rng)))
    return corpus


def corrupted_csvs(config: CsvCorpusConfig | None = None, seed: int = 0) -> FaultRow:
    """Import every variant of the corpus into a fresh home; analyse what is accepted."""
    config = config or CsvCorpusConfig()
    row = FaultRow("corrupted samples.csv")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, data) in enumerate(corrupted_csv_corpus(config, seed)):
            folder = Path(tmp) / f"v{i:03d}"
            folder.mkdir()
            path = folder / "samples.csv"
            path.write_bytes(data)
            home = folder / "home"
            row.runs += 1
            result = run_cli(["--home", str(home), "import", str(path)])
            label = f"v{i:03d} {name}"
            if is_crash(result):
                row.crashes += 1
                row.notes.append(f"{label}: import crashed: {(result.lines or ['?'])[-1]}")
                continue
            if result.code == 0:
                session_id = result.stdout.strip().splitlines()[-1]
                analysis = run_cli(["--home", str(home), "analyze", session_id])
                if is_crash(analysis) or (analysis.code == 1 and len(analysis.lines) != 1):
                    row.crashes += 1
                    row.notes.append(f"{label}: accepted, analyze failed: {(analysis.lines or ['?'])[-1]}")
                else:
                    row.accepted += 1
            elif is_clean_refusal(result, (path.name, str(folder.name))):
                row.clean_refusals += 1
                row.with_place += bool(PLACE.search(result.lines[0]))
            else:
                row.crashes += 1
                row.notes.append(f"{label}: unclear refusal: {' | '.join(result.lines)[:200]}")
            if result.code != 0 and session_count(home):
                row.poisoned += 1
                row.notes.append(f"{label}: refused but a session was stored")
            elif poison := store_poison(home):
                row.poisoned += 1
                row.notes.append(f"{label}: {poison}")
    return row


# ---------------------------------------------------------------- 2. kills


def _stored(db: Path) -> tuple[int, float | None]:
    """Sessions in the store and its newest sample time (None before any sample), read-only."""
    if not db.exists():
        return 0, None
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            return conn.execute(
                "SELECT (SELECT count(*) FROM sessions), (SELECT max(t1) FROM sample_blocks)"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet, or mid-creation
        return 0, None


def _stored_end_s(db: Path) -> float | None:
    return _stored(db)[1]


@dataclass
class KillRun:
    """One kill: what was sent when, and what the store held afterwards."""

    kind: str
    speed: float
    phase: str
    signal_name: str
    code: int
    reached_s: float
    stored_end_s: float
    stderr: str

    @property
    def lost_s(self) -> float:
        """Session seconds reached before the kill that the store does not hold."""
        return max(0.0, self.reached_s - self.stored_end_s)


def _reached_s(changes: list[tuple[float, float]], kill_at: float, speed: float, config: KillConfig) -> float:
    """Session time reached at ``kill_at``: the newest stored end, advanced at the pace measured before it."""
    if not changes:
        return 0.0
    seen_at, seen = changes[-1]
    earlier = [(t, end) for t, end in changes if seen_at - t <= config.pace_window_s]
    span_s = seen_at - earlier[0][0]
    pace = (seen - earlier[0][1]) / span_s if span_s >= config.pace_window_s / 2 else speed
    return seen + pace * (kill_at - seen_at)


def kill_once(
    home: Path, kind: str, speed: float, phase: str, signal_name: str, rng: np.random.Generator, config: KillConfig
) -> KillRun:
    """Record virtual sensors in a subprocess and send ``signal_name`` at a seeded moment of ``phase``."""
    db = home / DB_NAME
    args = [sys.executable, "-m", "imuform", "--home", str(home), "record", "--virtual", "deadlift"]
    args += ["--virtual-kind", kind, "--seed", str(int(rng.integers(0, 1000)))]
    args += ["--realtime"] if speed == 1.0 else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reached_s = 0.0
    try:
        start = time.monotonic()
        if phase == "connecting":
            # the session exists from the first connection attempt on; samples come once streaming
            while time.monotonic() - start < config.wait_s and proc.poll() is None and _stored(db) == (0, None):
                time.sleep(config.poll_s)
            time.sleep(rng.uniform(*config.connect_kill_s))
            seen = _stored_end_s(db)
            phase = "connecting" if seen is None else "streaming"
            reached_s = 0.0 if seen is None else seen
            kill_at = time.monotonic()
        else:
            delay_s = rng.uniform(*config.stream_kill_s)
            changes: list[tuple[float, float]] = []  # (wall time first seen, stored end)
            first_at = None
            while time.monotonic() - start < config.wait_s and proc.poll() is None:
                end = _stored_end_s(db)
                now = time.monotonic()
                if end is not None and (not changes or end != changes[-1][1]):
                    changes.append((now, end))
                    first_at = first_at or now
                if first_at is not None and now - first_at >= delay_s:
                    break
                time.sleep(config.poll_s)
            kill_at = time.monotonic()
            reached_s = _reached_s(changes, kill_at, speed, config)
        proc.send_signal(getattr(signal, signal_name))
        _, err = proc.communicate(timeout=config.wait_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    stored = _stored_end_s(db)
    return KillRun(kind, speed, phase, signal_name, proc.returncode, reached_s, stored or 0.0, err)


def kills(config: KillConfig | None = None, seed: int = 0) -> FaultRow:
    """Every kind × speed × phase × signal once, each into a fresh home."""
    config = config or KillConfig()
    rng = np.random.default_rng(seed)
    row = FaultRow("kills while recording")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in config.kinds:
            for speed in config.speeds:
                for phase in ("connecting", "streaming"):
                    for signal_name in config.signals:
                        home = Path(tmp) / f"{kind}-{speed:g}-{phase}-{signal_name}"
                        run = kill_once(home, kind, speed, phase, signal_name, rng, config)
                        label = f"{kind} {speed:g}× {run.phase} {signal_name}"
                        row.runs += 1
                        graceful = signal_name != "SIGKILL"
                        if graceful and (run.code not in (0, 1) or "Traceback" in run.stderr):
                            row.crashes += 1
                            row.notes.append(f"{label}: exit {run.code}: {run.stderr.strip()[-200:]}")
                        elif graceful and run.code == 1:
                            row.clean_refusals += 1
                            row.with_place += NOTHING_SAVED in run.stderr
                        else:
                            row.accepted += 1
                        row.lost_max_s = max(row.lost_max_s, run.lost_s)
                        if run.lost_s > FaultLimits().lost_s:
                            row.notes.append(
                                f"{label}: lost {run.lost_s:.2f} s (reached {run.reached_s:.2f}, "
                                f"stored {run.stored_end_s:.2f})"
                            )
                        if poison := store_poison(home):
                            row.poisoned += 1
                            row.notes.append(f"{label}: {poison}")
    return row


# ---------------------------------------------------------------- 3. store corruption


def _overwrite(at: Callable[[int], int], data: Callable[[np.random.Generator], bytes]):
    def damage(path: Path, rng: np.random.Generator) -> None:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.seek(at(size))
            fh.write(data(rng))

    return damage


def _garbage(n: int) -> Callable[[np.random.Generator], bytes]:
    return lambda rng: rng.integers(0, 256, n, dtype=np.uint8).tobytes()


#: name -> damage done to a store file in place.
STORE_DAMAGE: dict[str, Callable[[Path, np.random.Generator], None]] = {
    "garbage page in the middle": _overwrite(lambda size: size // 2 // 4096 * 4096, _garbage(4096)),
    "garbage bytes in the middle": _overwrite(lambda size: size // 2 + 100, _garbage(512)),
    "zeroed page in the middle": _overwrite(lambda size: size // 2 // 4096 * 4096, lambda rng: bytes(4096)),
    "garbage in the schema page": _overwrite(lambda size: 100, _garbage(400)),
    "garbage header": _overwrite(lambda size: 0, _garbage(100)),
    "truncated to half": lambda path, rng: os.truncate(path, path.stat().st_size // 2),
    "text instead of a store": lambda path, rng: path.write_bytes(b"hello, this is not a store\n" * 100),
}


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_corruption(seed: int = 0) -> FaultRow:
    """Damage a store holding one imported session; commands refuse as the module's docstring says, then
    ``imuform doctor --recover`` must leave a sound store."""
    rng = np.random.default_rng(seed)
    row = FaultRow("store corruption")
    with tempfile.TemporaryDirectory() as tmp:
        csv = write_samples_csv(valid_samples(CsvCorpusConfig(rows_per_sensor=3000), seed), Path(tmp) / "samples.csv")
        for i, (name, damage) in enumerate(STORE_DAMAGE.items()):
            home = Path(tmp) / f"home{i}"
            imported = run_cli(["--home", str(home), "import", str(csv)])
            session_id = imported.stdout.strip().splitlines()[-1]
            db = home / DB_NAME
            for suffix in ("-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            damage(db, rng)
            health = store_health(home)
            if health.state == "ok":
                row.runs += 1
                row.undetected += 1
                row.notes.append(f"{name}: doctor sees no damage")
                continue
            # damage only a block's checksum sees: SQLite's pages are sound, so commands that read no block may run
            in_a_block = health.state == "damaged" and all("checksum" in p for p in health.problems)
            before = _hash(db)
            commands = {
                "sessions": ["sessions"],
                "analyze": ["analyze", session_id],
                "record": ["record", "--virtual", "deadlift", "--sets", "1", "--reps", "1"],
            }
            for command, args in commands.items():
                result = run_cli(["--home", str(home), *args])
                row.runs += 1
                label = f"{name}, {command}"
                must_refuse = command == "analyze" or not in_a_block
                if is_crash(result):
                    row.crashes += 1
                    row.notes.append(f"{label}: crashed: {(result.lines or ['?'])[-1][:200]}")
                elif is_clean_refusal(result, (DB_NAME,)) and "doctor" in result.lines[0]:
                    row.clean_refusals += 1
                    row.with_place += not in_a_block or (session_id in result.lines[0] and STORE_FIX in result.lines[0])
                elif result.code == 0:
                    row.accepted += 1
                    if must_refuse:
                        row.notes.append(f"{label}: ran on a damaged store")
                else:
                    row.crashes += 1
                    row.notes.append(f"{label}: unclear refusal: {' | '.join(result.lines)[:200]}")
                if _hash(db) != before and (result.code != 0 or must_refuse):
                    row.poisoned += 1
                    row.notes.append(f"{label}: the store's bytes changed")
                before = _hash(db)
            if health.needs_recovery:
                recovered = run_cli(["--home", str(home), "doctor", "--recover"])
                if is_crash(recovered) or recovered.code != 0:
                    row.crashes += 1
                    row.notes.append(
                        f"{name}, doctor --recover: exit {recovered.code}: {(recovered.lines or ['?'])[-1]}"
                    )
                elif poison := store_poison(home):
                    row.poisoned += 1
                    row.notes.append(f"{name}, after doctor --recover: {poison}")
    return row


# ---------------------------------------------------------------- 4. concurrent writers


def concurrent_writers(rounds: int = 3, seed: int = 0) -> FaultRow:
    """Two `imuform import` processes into one store at once, ``rounds`` times (the first on no store at all)."""
    row = FaultRow("concurrent writers")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        csvs = [
            write_samples_csv(valid_samples(CsvCorpusConfig(rows_per_sensor=6000), seed + k), Path(tmp) / f"{k}.csv")
            for k in range(2)
        ]
        stored = 0
        for _ in range(rounds):
            args = [[sys.executable, "-m", "imuform", "--home", str(home), "import", str(csv)] for csv in csvs]
            procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in args]
            for proc, csv in zip(procs, csvs, strict=True):
                out, err = proc.communicate(timeout=120)
                result = CliResult(proc.returncode, out, err)
                row.runs += 1
                if result.code == 0:
                    row.accepted += 1
                    stored += 1
                elif is_clean_refusal(result, (csv.name, DB_NAME)):
                    row.clean_refusals += 1
                else:
                    row.crashes += 1
                    row.notes.append(f"import {csv.name}: exit {result.code}: {' | '.join(result.lines)[-200:]}")
            if poison := store_poison(home):
                row.poisoned += 1
                row.notes.append(poison)
            elif session_count(home) != stored:
                row.poisoned += 1
                row.notes.append(f"{session_count(home)} sessions stored after {stored} successful imports")
                stored = session_count(home)
    return row


# ---------------------------------------------------------------- the table


def run_families(quick: bool = False, seed: int = 0) -> list[FaultRow]:
    """All four families; ``quick`` keeps one kind, one speed and SIGTERM only for the kills."""
    kill_config = KillConfig(kinds=("imuform",), speeds=(10.0,), signals=("SIGTERM",)) if quick else KillConfig()
    return [
        corrupted_csvs(seed=seed),
        kills(kill_config, seed=seed),
        store_corruption(seed=seed),
        concurrent_writers(rounds=2 if quick else 3, seed=seed),
    ]


def fails(rows: list[FaultRow], limits: FaultLimits | None = None) -> bool:
    """Whether the suite misses its targets: any crash, any poisoned session or store, or too much lost."""
    limits = limits or FaultLimits()
    return any(r.crashes or r.poisoned or r.lost_max_s > limits.lost_s for r in rows)


def markdown_rows(rows: list[FaultRow]) -> str:
    """The table in Markdown, for the README."""
    out = [
        "| family | runs | clean refusals (naming the place) | accepted | crashes | data lost max (s) | poisoned "
        "| undetected damage |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r.family} | {r.runs} | {r.clean_refusals} ({r.with_place}) | {r.accepted} | {r.crashes} "
            f"| {r.lost_max_s:.2f} | {r.poisoned} | {r.undetected} |"
        )
    return "\n".join(out) + "\n"


def print_rows(title: str, rows: list[FaultRow]) -> None:
    """Print the families as one table, then each failure's note."""
    table = Table(title=title)
    columns = ("family", "runs", "clean refusals", "naming the place", "accepted", "crashes", "lost max s", "poisoned")
    for col in (*columns, "undetected"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.family,
            str(r.runs),
            str(r.clean_refusals),
            str(r.with_place),
            str(r.accepted),
            str(r.crashes),
            f"{r.lost_max_s:.2f}",
            str(r.poisoned),
            str(r.undetected),
        )
    console = wide_console()
    console.print(table)
    for r in rows:
        for note in r.notes:
            console.print(f"[yellow]{r.family}: {note}[/yellow]", markup=True, highlight=False)


def figures(rows: list[FaultRow]) -> list[Figure]:
    """The suite's totals as benchmark figures (for `benchmarks.run`)."""
    limits = FaultLimits()
    runs = sum(r.runs for r in rows)
    note = f"{runs} faults in {len(rows)} families (benchmarks/fault_suite.py)"
    return [
        Figure("fault suite: crashes", sum(r.crashes for r in rows), "", 0.0, tolerance=0.0, note=note),
        Figure("fault suite: poisoned sessions or stores", sum(r.poisoned for r in rows), "", 0.0, tolerance=0.0),
        Figure(
            "fault suite: data lost per kill, max",
            max(r.lost_max_s for r in rows),
            "s",
            limits.lost_s,
            tolerance=0.0,
            note="the most one kill lost (full: SIGTERM and SIGKILL, 1× and 10×; quick: SIGTERM at 10×)",
        ),
    ]


def run(quick: bool = False) -> list[Figure]:
    """Run the suite, print its table and return its totals (the `benchmarks.run` interface)."""
    rows = run_families(quick=quick)
    print_rows(f"fault suite ({'quick' if quick else 'full'})", rows)
    return figures(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer kills and concurrent rounds")
    parser.add_argument("--check", action="store_true", help="exit 1 on a crash, a poisoned store or > 1 s lost")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corpus and of the kill moments")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = run_families(quick=args.quick, seed=args.seed)
    title = f"fault suite ({'quick' if args.quick else 'full'}, seed {args.seed}, {time.perf_counter() - start:.0f} s)"
    print_rows(title, rows)
    if args.markdown:
        Path(args.markdown).write_text(f"{title}\n\n{markdown_rows(rows)}", encoding="utf-8")
    return 1 if args.check and fails(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
