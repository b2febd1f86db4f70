"""Analysing a stored session: the person's limits and calibration, a progress bar, the cached result.

Every command that needs an analysis (analyze, export, report, dashboard, demo) goes through
`run_analysis` (or `analyze_stored`, which also hands back the cached document), so they all judge with the
same limits and leave the same cached document.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from analysis import analyze_session
from analysis.limits import Limits, resolve_limits
from analysis.session import SessionAnalysis
from imuform.errors import ImuformError, InputError
from imuform.store import Store

#: Sessions longer than this (s of recording) show a progress bar while they are analysed.
PROGRESS_MIN_DURATION_S = 120.0


def personal_limits(store: Store, profile_name: str | None, calibration: dict | None) -> Limits:
    """The stored personal limits, or a named profile's (``profile_name``), resolved to degrees."""
    profile = {"profile": profile_name} if profile_name else store.profile()
    try:
        return resolve_limits(profile, (calibration or {}).get("range_of_motion"))
    except ValueError as exc:
        raise InputError(f"{exc} (or set limits in degrees with 'imuform profile --flexion-limit DEG')") from exc


def run_analysis(
    store: Store,
    session_id: str,
    *,
    profile_name: str | None = None,
    use_mag: bool = False,
    show_progress: bool = True,
    exercise: str | None = None,
) -> SessionAnalysis:
    """Analyse a stored session, cache the result in the store and return it.

    Used by the commands that need an analysis (export, report). ``exercise`` names the exercise of every
    set when the lifter states it (`analysis.analyze_session`).
    """
    return analyze_stored(
        store, session_id, profile_name=profile_name, use_mag=use_mag, show_progress=show_progress, exercise=exercise
    )[0]


def analyze_stored(
    store: Store,
    session_id: str,
    *,
    profile_name: str | None = None,
    use_mag: bool = False,
    show_progress: bool = True,
    exercise: str | None = None,
) -> tuple[SessionAnalysis, dict]:
    """`run_analysis`, also returning the cached document (``SessionAnalysis.to_dict``), built once.

    ``imuform analyze --json`` prints that document.
    """
    samples = store.samples(session_id)
    if samples.empty:
        raise ImuformError(f"session {session_id} has no samples; record or import one first")
    calibration = store.calibration(session_id) or store.calibration(None)
    limits = personal_limits(store, profile_name, calibration)
    duration_s = float(samples["time_s"].max() - samples["time_s"].min())
    try:
        if show_progress and duration_s > PROGRESS_MIN_DURATION_S:
            columns = (TextColumn("analysing {task.description}"), BarColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task(session_id, total=1.0)
                result = analyze_session(
                    samples,
                    calibration=calibration,
                    limits=limits,
                    use_mag=use_mag,
                    exercise=exercise,
                    progress=lambda stage, fraction: bar.update(task, completed=fraction),
                )
        else:
            result = analyze_session(
                samples, calibration=calibration, limits=limits, use_mag=use_mag, exercise=exercise
            )
    except ValueError as exc:
        raise ImuformError(f"cannot analyse session {session_id}: {exc}") from exc
    result.session_id = session_id
    doc = result.to_dict()
    store.save_analysis(session_id, doc)
    return result, doc
