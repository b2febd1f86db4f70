"""Re-analysing many stored sessions at once (`imuform analyze --all`): one start-up, every core.

Each session is analysed and stored exactly as `imuform analyze SESSION` would (`analyze_stored`), one
session per worker process at a time. The workers are forked after the pipeline has been imported, so
they start without importing anything; each opens its own connection to the store (SQLite in WAL mode
lets them write their results side by side). Within a worker a session's sensors are oriented one after
the other (``workers=1``): the cores are already busy with other sessions. Sessions are handed out
longest first so that no long one is left running alone at the end. A worker that dies (killed, out of
memory) fails the sessions not yet done instead of leaving the batch waiting for them
(`concurrent.futures`, unlike `multiprocessing.Pool`, notices).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from datetime import date

import click
from rich.console import Console
from rich.table import Table

from analysis.parallel import usable_cores
from imuform.cli.common import console, echo_json
from imuform.errors import ImuformError
from imuform.session_analysis import analyze_stored, preload_pipeline
from imuform.store import Store
from imuform.store_people import act_for

#: A session's error when a worker process died before it was done (the pool is then broken).
DIED = (
    "a worker process died (killed, perhaps out of memory) before this session was done; "
    "analyse it alone with 'imuform analyze ID' or with fewer --jobs"
)


@dataclass(frozen=True)
class BatchOptions:
    """The analysis options every session of a batch gets (as the options of `imuform analyze`).

    Attributes
    ----------
    profile_name
        A built-in limits profile instead of the stored personal limits, or None.
    use_mag
        Use the magnetometers (9D orientation) where the sensors have them.
    exercise
        The exercise of every set, or None to classify each set.
    calibration
        ``"auto"``, ``"none"`` or a stored calibration's id (`imuform.session_analysis.choose_calibration`).
    """

    profile_name: str | None = None
    use_mag: bool = False
    exercise: str | None = None
    calibration: str | int = "auto"


@dataclass(frozen=True)
class SessionOutcome:
    """What re-analysing one session gave.

    Attributes
    ----------
    session_id
        The session.
    sets, reps, flagged_reps
        Counts of the stored analysis (0 when it failed).
    wall_s
        Wall time of this session's analysis in its worker, s.
    error
        The one-line reason it could not be analysed, or None.
    """

    session_id: str
    sets: int = 0
    reps: int = 0
    flagged_reps: int = 0
    wall_s: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict:
        """The outcome as JSON-ready values."""
        return asdict(self)


def select_sessions(sessions: list[dict], since: date | None = None, until: date | None = None) -> list[dict]:
    """The sessions that started on a day from ``since`` to ``until`` (both included; None: no bound).

    Parameters
    ----------
    sessions
        Rows of `Store.sessions` (``started_at`` an ISO time).
    since, until
        First and last day, or None.
    """
    first = since.isoformat() if since else ""
    last = until.isoformat() if until else "9999-12-31"
    return [s for s in sessions if first <= s["started_at"][:10] <= last]


def _analyze_one(home: str, session_id: str, options: BatchOptions, workers: int | None = 1) -> SessionOutcome:
    """Analyse and store one session; a failure becomes the outcome's one-line error.

    ``workers`` is as for `analysis.analyze_session`: 1 (this process only) when other sessions keep the
    other cores busy.
    """
    start = time.perf_counter()
    try:
        with Store(home) as store:
            result, _ = analyze_stored(
                store,
                session_id,
                profile_name=options.profile_name,
                use_mag=options.use_mag,
                show_progress=False,
                exercise=options.exercise,
                calibration=options.calibration,
                workers=workers,
            )
    except ImuformError as exc:
        return SessionOutcome(session_id, wall_s=time.perf_counter() - start, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad session must not stop a season's re-analysis
        return SessionOutcome(session_id, wall_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    flagged = int(sum(bool(flags) for flags in result.reps["flags"])) if len(result.reps) else 0
    return SessionOutcome(session_id, len(result.sets), len(result.reps), flagged, time.perf_counter() - start)


def analyze_sessions(
    home: str,
    session_ids: list[str],
    options: BatchOptions = BatchOptions(),
    workers: int = 1,
    on_done: Callable[[SessionOutcome], None] | None = None,
) -> list[SessionOutcome]:
    """Analyse and store many sessions, ``workers`` at a time.

    Parameters
    ----------
    home
        The store's home directory (each worker opens it itself; no connection crosses a fork).
    session_ids
        The sessions, in the order to hand them out (longest first balances the cores best).
    options
        The analysis options of every session.
    workers
        Processes analysing at once; 1 analyses in this process. Forked on Linux (the workers inherit the
        imported pipeline), spawned elsewhere.
    on_done
        Called in this process with each outcome as it arrives (e.g. to advance a progress bar).

    Returns
    -------
    list of SessionOutcome
        One per session, in the order of ``session_ids``.
    """
    preload_pipeline()  # before the workers fork, so that none of them imports it again

    outcomes: dict[str, SessionOutcome] = {}

    def done(outcome: SessionOutcome) -> None:
        outcomes[outcome.session_id] = outcome
        if on_done:
            on_done(outcome)

    workers = max(1, min(workers, len(session_ids)))
    if workers == 1:
        # alone, a session may use every core for its sensors
        for session_id in session_ids:
            done(_analyze_one(str(home), session_id, options, workers=None))
        return [outcomes[session_id] for session_id in session_ids]
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    pool = ProcessPoolExecutor(workers, mp_context=context)
    try:
        futures = [pool.submit(_analyze_one, str(home), session_id, options) for session_id in session_ids]
        for future in as_completed(futures):
            done(future.result())
    except BrokenProcessPool:
        for session_id in session_ids:
            if session_id not in outcomes:
                done(SessionOutcome(session_id, error=DIED))
    finally:
        # after Ctrl-C the sessions not yet started are dropped, not analysed before the command stops
        pool.shutdown(wait=True, cancel_futures=True)
    return [outcomes[session_id] for session_id in session_ids]


def analyze_all(
    home: str | None,
    since: date | None = None,
    until: date | None = None,
    *,
    options: BatchOptions = BatchOptions(),
    jobs: int | None = None,
    as_json: bool = False,
    person: str | None = None,
) -> None:
    """`imuform analyze --all`: analyse and store the sessions picked by day (of ``person`` when named), with a
    progress bar and a table.

    Raises `ImuformError` (exit 1) after the table when any session failed; the others stay stored.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Store(home) as store:
        if person is not None:
            act_for(store, person)
        home_path = str(store.home)
        chosen = select_sessions(store.sessions(), since, until)
    if not chosen:
        if as_json:
            echo_json({"sessions": [], "workers": 0, "wall_s": 0.0, "sessions_per_min": 0.0})
        else:
            click.echo("no stored sessions to analyse (for that --since/--until)")
        return
    longest_first = [s["id"] for s in sorted(chosen, key=lambda s: -s["samples"])]
    workers = min(jobs or usable_cores(), len(chosen))
    start = time.perf_counter()
    columns = (
        TextColumn("analysing sessions"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    err = Console(stderr=True)
    # a bar only for a person watching: in a log or a pipe it would be noise
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("sessions", total=len(chosen))
        outcomes = analyze_sessions(home_path, longest_first, options, workers, on_done=lambda _: bar.advance(task))
    wall_s = time.perf_counter() - start
    by_id = {o.session_id: o for o in outcomes}
    failed = [o for o in outcomes if o.error]
    rate = 60.0 * len(outcomes) / wall_s
    if as_json:
        echo_json(
            {
                "sessions": [by_id[s["id"]].to_dict() for s in chosen],
                "workers": workers,
                "wall_s": wall_s,
                "sessions_per_min": rate,
            }
        )
    else:
        table = Table(title=f"{len(chosen)} session(s) analysed and stored")
        for col in ("id", "started", "name", "sets", "reps", "flagged", "s"):
            table.add_column(col)
        for s in chosen:
            o = by_id[s["id"]]
            counts = ("–", "–", f"[red]{o.error}[/]") if o.error else (str(o.sets), str(o.reps), str(o.flagged_reps))
            table.add_row(o.session_id, s["started_at"].replace("T", " ")[:16], s["name"], *counts, f"{o.wall_s:.1f}")
        out = console()
        out.print(table)
        out.print(f"{len(outcomes)} sessions in {wall_s:.1f} s ({rate:.1f} per minute) with {workers} worker(s)")
    if failed:
        raise ImuformError(f"{len(failed)} of {len(outcomes)} sessions could not be analysed; the others are stored")
