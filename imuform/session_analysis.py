"""Analysing a stored session: the person's limits, the calibration that fits it, a progress bar, the cache.

Every command that needs an analysis (analyze, export, report, dashboard, demo) goes through
`run_analysis` (or `analyze_stored`, which also hands back the cached document), so they all judge with the
same limits, pick the calibration by the same rule (`choose_calibration`) and leave the same cached document.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from analysis.limits import Limits, resolve_limits
from imuform.errors import ImuformError, InputError
from imuform.reference_reps import apply_comparisons, cache_curves, compare_sets
from imuform.store import PLACEMENTS, Store, StoredCalibration, StrapOn
from imuform.store_people import person_of_session
from imuform.store_sets import apply_set_labels, label_document, set_labels

if TYPE_CHECKING:
    from analysis.calibration import Calibration
    from analysis.session import CalibrationSource, SessionAnalysis

#: Sessions longer than this (s of recording) show a progress bar while they are analysed.
PROGRESS_MIN_DURATION_S = 120.0
#: Session sources that were imported, not recorded here: no stored calibration applies to them by itself.
IMPORTED_SOURCES = ("import",)
#: What ``--calibration`` takes besides a calibration id.
CALIBRATION_CHOICES = ("auto", "none")


@dataclass(frozen=True)
class StrapOnRule:
    """When a stored calibration applies to a session nobody named it for: the same strap-on.

    It applies to the session it was measured in, and to sessions recorded (not imported) with the same
    sensors, each at the same placement, starting at most ``max_age_h`` after it; the newest such
    calibration wins, so a new calibration of those sensors takes over.

    Attributes
    ----------
    max_age_h
        How long a calibration holds, in hours. 4 h is one gym visit: calibrate, warm up, lift, rest. Straps
        come off after it, and strapped on again a sensor sits up to ±20° differently (docs/simulator.md),
        which the same addresses cannot reveal. Within the visit a loosened strap is the check's business
        (`analysis.calibration.CalibrationCheck`).
    """

    max_age_h: float = 4.0


@dataclass(frozen=True)
class CalibrationChoice:
    """The calibration an analysis is to use.

    Attributes
    ----------
    stored
        The stored calibration chosen, None to calibrate from the session itself.
    reason
        Why, in one line.
    """

    stored: StoredCalibration | None
    reason: str

    @property
    def calibration(self) -> Calibration | None:
        """The chosen calibration itself, None for the session's own."""
        return None if self.stored is None else self.stored.calibration


def _time(started_at: str) -> datetime | None:
    """A session's start as an aware datetime (naive ones taken as UTC), None when it is no ISO time."""
    try:
        t = datetime.fromisoformat(started_at)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _hours(delta: timedelta) -> str:
    minutes = int(round(delta.total_seconds() / 60))
    return f"{minutes // 60}:{minutes % 60:02d} h"


def applicable_calibration(
    calibrations: list[StoredCalibration], session: StrapOn, rule: StrapOnRule = StrapOnRule()
) -> StoredCalibration | None:
    """The stored calibration that applies to ``session`` by ``rule``, or None.

    Parameters
    ----------
    calibrations
        The stored calibrations (`Store.calibrations`).
    session
        The session's sensors, start and source (`Store.strap_ons`).
    rule
        How long a calibration holds.
    """
    own = [c for c in calibrations if c.strap_on is not None and c.strap_on.session_id == session.session_id]
    if own:
        return max(own, key=lambda c: c.id)
    start = _time(session.started_at)
    if session.source in IMPORTED_SOURCES or start is None or not session.addresses:
        return None
    best, best_time = None, None
    for c in calibrations:
        made = None if c.strap_on is None else _time(c.strap_on.started_at)
        if made is None or not timedelta(0) <= start - made <= timedelta(hours=rule.max_age_h):
            continue
        same_sensors = all(
            address and c.strap_on.addresses.get(placement) == address
            for placement, address in session.addresses.items()
        )
        if same_sensors and (best is None or (made, c.id) > (best_time, best.id)):
            best, best_time = c, made
    return best


def applies_to(store: Store, rule: StrapOnRule = StrapOnRule()) -> dict[int, list[str]]:
    """Per stored calibration id the sessions it applies to by ``rule`` (oldest first)."""
    calibrations = store.calibrations()
    out: dict[int, list[str]] = {c.id: [] for c in calibrations}
    for session in store.strap_ons().values():
        found = applicable_calibration(calibrations, session, rule)
        if found is not None:
            out[found.id].append(session.session_id)
    return out


def calibration_for_sensors(
    store: Store, addresses: dict[str, str], rule: StrapOnRule = StrapOnRule()
) -> StoredCalibration | None:
    """The calibration that applies to a recording starting now with these sensors (``imuform live``).

    Parameters
    ----------
    addresses
        Per placement the sensor's address.
    """
    now = StrapOn("", datetime.now(UTC).isoformat(timespec="seconds"), "live", addresses)
    return applicable_calibration(store.calibrations(), now, rule)


def choose_calibration(
    store: Store, session_id: str, choice: str | int = "auto", rule: StrapOnRule = StrapOnRule()
) -> CalibrationChoice:
    """The calibration to analyse a stored session with.

    Parameters
    ----------
    store, session_id
        The session.
    choice
        ``"auto"`` (the calibration of the same strap-on, `applicable_calibration`), ``"none"`` (the session
        calibrates itself) or a stored calibration's id (forced; still checked against the session).
    rule
        How long a calibration holds, for ``"auto"``.
    """
    if choice == "none":
        return CalibrationChoice(None, "automatic from the session's own standing (--calibration none)")
    if choice != "auto":
        stored = store.stored_calibration(int(choice))
        return CalibrationChoice(stored, f"{_describe(stored)}, chosen with --calibration {stored.id}")
    session = store.strap_ons()[store.resolve(session_id)]
    stored = applicable_calibration(store.calibrations(person_of_session(store, session_id).id), session, rule)
    if stored is not None:
        if stored.strap_on.session_id == session.session_id:
            return CalibrationChoice(stored, f"{_describe(stored)}, measured in this session")
        after = _time(session.started_at) - _time(stored.strap_on.started_at)
        return CalibrationChoice(stored, f"{_describe(stored)}: same sensors, this session began {_hours(after)} later")
    if session.source in IMPORTED_SOURCES:
        why = "an imported session takes a stored calibration only when named with --calibration ID"
    else:
        why = f"no calibration of these sensors in the {rule.max_age_h:g} h before it"
    return CalibrationChoice(None, f"automatic from the session's own standing: {why}")


def _describe(stored: StoredCalibration) -> str:
    where = "" if stored.strap_on is None else f" of session {stored.strap_on.session_id}"
    return f"calibration #{stored.id}{where}"


def personal_limits(store: Store, profile_name: str | None, person_id: int | None = None) -> Limits:
    """The stored personal limits of a person (`Store.acting_person_id`), or a named profile's (``profile_name``),
    resolved to degrees.

    Limits in % use the person's newest measured range of motion, whichever session measured it.
    """
    profile = {"profile": profile_name} if profile_name else store.profile(person_id)
    try:
        return resolve_limits(profile, store.range_of_motion(person_id))
    except ValueError as exc:
        raise InputError(f"{exc} (or set limits in degrees with 'imuform profile --flexion-limit DEG')") from exc


def preload_pipeline() -> None:
    """Import the analysis pipeline (numpy, pandas, vqf; no scipy) ahead of the analyses: before forking
    workers for many sessions, or to time an analysis without its imports."""
    import analysis.pipeline  # noqa: F401


def run_analysis(
    store: Store,
    session_id: str,
    *,
    profile_name: str | None = None,
    use_mag: bool = False,
    show_progress: bool = True,
    exercise: str | None = None,
    calibration: str | int = "auto",
) -> SessionAnalysis:
    """Analyse a stored session, cache the result in the store and return it.

    Used by the commands that need an analysis (export, report). ``exercise`` names the exercise of every
    set when the lifter states it (`analysis.analyze_session`); ``calibration`` is as for `choose_calibration`.
    """
    return analyze_stored(
        store,
        session_id,
        profile_name=profile_name,
        use_mag=use_mag,
        show_progress=show_progress,
        exercise=exercise,
        calibration=calibration,
    )[0]


def analyze_stored(
    store: Store,
    session_id: str,
    *,
    profile_name: str | None = None,
    use_mag: bool = False,
    show_progress: bool = True,
    exercise: str | None = None,
    calibration: str | int = "auto",
    workers: int | None = None,
) -> tuple[SessionAnalysis, dict]:
    """`run_analysis`, also returning the cached document (``SessionAnalysis.to_dict``), built once.

    ``imuform analyze --json`` prints that document. ``workers`` is as for `analysis.analyze_session`.
    """
    # The pipeline (pandas, vqf) loads here, not when a command that only lists or picks calibrations starts.
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from analysis import analyze_session
    from analysis.angles import SensorSamples
    from analysis.calibration import CalibrationCheck

    recorded = [s for s in store.session(session_id)["sensors"] if s["samples"]]
    if not recorded:
        raise ImuformError(f"session {session_id} has no samples; record or import one first")
    # a session is judged by its own person's limits, range and calibrations, whoever's --person was given
    person_id = person_of_session(store, session_id).id
    choice = choose_calibration(store, session_id, calibration)
    limits = personal_limits(store, profile_name, person_id)
    labels = set_labels(store, session_id)
    options = {
        "calibration": choice.calibration,
        # a stored calibration is checked against the session's own standing before it is used
        "check": None if choice.stored is None else CalibrationCheck(),
        "range_of_motion": store.range_of_motion(person_id),
        "limits": limits,
        "use_mag": use_mag,
        "exercise": exercise,
        # the lifter's name for a set wins over the classifier, and its rules judge the set's reps
        "set_exercises": {i: label.exercise for i, label in labels.items() if label.exercise},
        "workers": workers,
    }
    duration_s = max(s["end_s"] for s in recorded) - min(s["start_s"] for s in recorded)
    # the samples a sensor at a time (in the table's order), each let go once that sensor is on its grid
    counts: dict[str, int] = {}
    for sensor in sorted(recorded, key=lambda s: PLACEMENTS.index(s["placement"])):
        counts[sensor["placement"]] = counts.get(sensor["placement"], 0) + sensor["samples"]
    samples = SensorSamples(counts, functools.partial(store.samples, session_id))

    try:
        if show_progress and duration_s > PROGRESS_MIN_DURATION_S:
            columns = (TextColumn("analysing {task.description}"), BarColumn(), TimeElapsedColumn())
            with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task(session_id, total=1.0)
                result = analyze_session(
                    samples, progress=lambda stage, fraction: bar.update(task, completed=fraction), **options
                )
        else:
            result = analyze_session(samples, **options)
    except ValueError as exc:
        raise ImuformError(f"cannot analyse session {session_id}: {exc}") from exc
    result.session_id = session_id
    result.calibration_source = _source(choice, used=result.calibration == choice.calibration)
    apply_set_labels(result, labels)
    curves = cache_curves(store, result)
    exercises = {int(i): str(e) for i, e in zip(result.sets["index"], result.sets["exercise"])}
    apply_comparisons(result, compare_sets(store, person_id, exercises, curves))
    doc = result.to_dict()
    store.save_analysis(session_id, doc)
    return result, doc


def analysed_document(store: Store, session_id: str) -> dict:
    """A session's cached analysis document, analysing it (with the stored choices) when there is none."""
    doc = store.analysis(session_id)
    return doc if doc is not None else analyze_stored(store, session_id, show_progress=False)[1]


def person_documents(store: Store, person_id: int) -> list[tuple[dict, dict]]:
    """(session info, analysis document with the lifter's labels) of each of a person's sessions, oldest first.

    Sessions not analysed yet are analysed; those without samples or that cannot be analysed are left out.
    """
    out = []
    for info in reversed(store.sessions(person_id)):
        if not info["samples"]:
            continue
        try:
            doc = analysed_document(store, info["id"])
        except ImuformError:
            continue
        out.append((info, label_document(doc, set_labels(store, info["id"]))))
    return out


def _source(choice: CalibrationChoice, used: bool) -> CalibrationSource:
    """What the analysis says about its calibration: the chosen one, or the session's own instead of it."""
    from analysis.session import CalibrationSource

    if choice.stored is None:
        return CalibrationSource(choice.reason)
    if not used:
        return CalibrationSource(
            f"automatic from the session's own standing: {_describe(choice.stored)} does not fit it (see notes)"
        )
    session = None if choice.stored.strap_on is None else choice.stored.strap_on.session_id
    return CalibrationSource(choice.reason, choice.stored.id, session)
