"""Pairing a lifting log's sets with the recorded sets: by the workout's time window and the rep count.

A log gives no time per set, only the workout's start and end. Within a workout's window its sets of the
exercises the sensors judge are aligned, in order, with the sets recorded in that window: the alignment pairs
as many sets with the same rep count as it can; a pair one rep apart is a mismatch for the lifter
to confirm, a logged set left over was not recorded, and a recorded set left over is not in the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imuform.importers.lift_log import LiftLog, LoggedSet
from imuform.store_sets import SetLabel, label_sets

if TYPE_CHECKING:
    from imuform.store import Store

#: Alignment scores: a pair with the same rep count, a pair one rep apart (a miscount; a skipped set scores 0).
#: Sets further apart are never paired.
SAME_REPS_SCORE = 3
ONE_OFF_SCORE = 1


@dataclass(frozen=True)
class MatchRules:
    """When a recorded set belongs to a logged workout.

    Attributes
    ----------
    window_slack_min
        Recorded sets up to this long before the logged start or after the logged end still belong to the
        workout, min: phone and sensor clocks differ by a little, and lifters tap "finish" late or start early.
    """

    window_slack_min: float = 15.0


@dataclass(frozen=True)
class RecordedSet:
    """A set of a stored, analysed session.

    Attributes
    ----------
    session_id, set_index
        Where it is (set from 1).
    started_at
        When it began (aware).
    rep_count
        Reps the analysis found.
    exercise
        The exercise its analysis gives it.
    """

    session_id: str
    set_index: int
    started_at: dt.datetime
    rep_count: int
    exercise: str


@dataclass(frozen=True)
class SetMatch:
    """A logged set paired with a recorded one; ``confident`` when their rep counts agree."""

    logged: LoggedSet
    recorded: RecordedSet
    confident: bool


@dataclass
class LogMatching:
    """What `match_log` found.

    Attributes
    ----------
    matches
        The pairs, confident or not, in the log's order.
    unrecorded
        Logged sets of judged exercises with no recorded set (e.g. warm-ups done without sensors).
    unlogged
        Recorded sets inside a workout's window that no logged set pairs with.
    """

    matches: list[SetMatch] = field(default_factory=list)
    unrecorded: list[LoggedSet] = field(default_factory=list)
    unlogged: list[RecordedSet] = field(default_factory=list)

    @property
    def confident(self) -> list[SetMatch]:
        """The pairs whose rep counts agree."""
        return [m for m in self.matches if m.confident]

    @property
    def mismatches(self) -> list[SetMatch]:
        """The pairs whose rep counts differ, for the lifter to confirm."""
        return [m for m in self.matches if not m.confident]


def _aware(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def recorded_sets(store: Store, windows: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[RecordedSet]:
    """The sets of the acting person's sessions that began within 12 h before a window's end, analysing those
    not analysed yet; in time order."""
    from imuform.session_analysis import analysed_document

    windows = list(windows)
    out = []
    for info in store.sessions():
        began = _aware(info["started_at"])
        if began is None or not any(start - dt.timedelta(hours=12) <= began <= end for start, end in windows):
            continue
        if not info["samples"]:
            continue
        for s in analysed_document(store, info["id"])["sets"]:
            out.append(
                RecordedSet(
                    info["id"],
                    int(s["index"]),
                    began + dt.timedelta(seconds=s["start_s"]),
                    s["rep_count"],
                    s["exercise"],
                )
            )
    return sorted(out, key=lambda r: r.started_at)


def _pair_score(logged: LoggedSet, recorded: RecordedSet) -> int | None:
    """`SAME_REPS_SCORE`, `ONE_OFF_SCORE`, or None for sets that cannot be one."""
    apart = abs(logged.reps - recorded.rep_count)
    return SAME_REPS_SCORE if apart == 0 else ONE_OFF_SCORE if apart == 1 else None


def _align(logged: list[LoggedSet], recorded: list[RecordedSet]) -> list[tuple[int, int]]:
    """Index pairs of the order-keeping alignment with the highest score (`_pair_score`)."""
    n, m = len(logged), len(recorded)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            pair = _pair_score(logged[i], recorded[j])
            paired = -1 if pair is None else pair + best[i + 1][j + 1]
            best[i][j] = max(best[i + 1][j], best[i][j + 1], paired)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        pair = _pair_score(logged[i], recorded[j])
        if pair is not None and best[i][j] == pair + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def match_log(log: LiftLog, recorded: list[RecordedSet], rules: MatchRules = MatchRules()) -> LogMatching:
    """Pair a log's sets of judged exercises with recorded sets, workout by workout (module docstring)."""
    slack = dt.timedelta(minutes=rules.window_slack_min)
    workouts: dict[tuple[str, dt.datetime], list[LoggedSet]] = {}
    for s in log.sets:
        if s.exercise is not None:
            workouts.setdefault((s.workout, s.workout_start), []).append(s)
    result = LogMatching()
    taken: set[tuple[str, int]] = set()
    for sets in workouts.values():
        start, end = sets[0].workout_start - slack, sets[0].workout_end + slack
        inside = [r for r in recorded if start <= r.started_at <= end and (r.session_id, r.set_index) not in taken]
        pairs = _align(sets, inside)
        for i, j in pairs:
            result.matches.append(SetMatch(sets[i], inside[j], sets[i].reps == inside[j].rep_count))
            taken.add((inside[j].session_id, inside[j].set_index))
        paired_logged = {i for i, _ in pairs}
        paired_recorded = {j for _, j in pairs}
        result.unrecorded += [s for i, s in enumerate(sets) if i not in paired_logged]
        result.unlogged += [r for j, r in enumerate(inside) if j not in paired_recorded]
    return result


def apply_matches(store: Store, app: str, matches: list[SetMatch]) -> int:
    """Store the logged exercise, load and RPE of each matched set as its label; return how many sets."""
    by_session: dict[str, list[SetLabel]] = {}
    for m in matches:
        by_session.setdefault(m.recorded.session_id, []).append(
            SetLabel(m.recorded.set_index, m.logged.exercise, m.logged.load_kg, m.logged.rpe, None, app)
        )
    for session_id, labels in by_session.items():
        label_sets(store, session_id, labels)
    return sum(len(v) for v in by_session.values())
