"""The lifting logs people keep in phone apps (Strong, Hevy): their sets, read into one shape.

A log says per workout when it started (and ended, or how long it took) and per set the exercise, the load,
the reps and sometimes the RPE; it says nothing of the time of each set. `imuform.lift_log_matching` pairs its
sets with the recorded ones. The readers are one module per app (`imuform.importers.strong`,
`imuform.importers.hevy`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imuform.errors import InputError

#: Pounds to kilograms (the international avoirdupois pound).
KG_PER_LB = 0.45359237
#: Our exercise for the words in an app's exercise name, first match wins: the apps name them freely
#: ("Romanian Deadlift (Barbell)", "RDL", "Back Extension", "Good Morning").
EXERCISE_WORDS: tuple[tuple[str, str], ...] = (
    (r"romanian|\brdl\b|stiff[- ]leg", "romanian_deadlift"),
    (r"good ?morning", "good_morning"),
    (r"(back extension|hyperextension).*90|90.*(back extension|hyperextension)|glute[- ]ham", "back_extension_90"),
    (r"back extension|hyperextension|roman chair", "back_extension_45"),
    (r"deadlift", "deadlift"),
    (r"squat", "squat"),
)


@dataclass(frozen=True)
class LoggedSet:
    """One set of a lifting log.

    Attributes
    ----------
    line
        Its line in the file (from 1), for messages.
    workout
        The workout's name.
    workout_start
        When the workout started (aware).
    workout_end
        When it ended (aware).
    exercise_name
        The app's name of the exercise, as logged.
    exercise
        Our exercise (`analysis.classify.EXERCISES`) for it, None when it is not one the sensors judge.
    warmup
        Whether the app marks it a warm-up set.
    load_kg
        Load in kg (converted from lb where the log is in lb); None when not logged.
    reps
        Reps logged.
    rpe
        RPE when logged.
    """

    line: int
    workout: str
    workout_start: dt.datetime
    workout_end: dt.datetime
    exercise_name: str
    exercise: str | None
    warmup: bool
    load_kg: float | None
    reps: int
    rpe: float | None


@dataclass(frozen=True)
class LiftLog:
    """A lifting log: where it came from and its sets in the file's order.

    Attributes
    ----------
    path
        The file.
    app
        ``strong`` or ``hevy``.
    sets
        Its sets.
    """

    path: Path
    app: str
    sets: tuple[LoggedSet, ...]


def our_exercise(name: str) -> str | None:
    """Our exercise for an app's exercise name (`EXERCISE_WORDS`), None for one the sensors do not judge."""
    lowered = name.lower()
    return next((ours for pattern, ours in EXERCISE_WORDS if re.search(pattern, lowered)), None)


@dataclass(frozen=True)
class Rows:
    """The rows of a log file as dicts by header, each with its line number.

    Attributes
    ----------
    path
        The file.
    header
        The column names, stripped.
    rows
        (line, row) pairs; a row maps each column name to its text (stripped).
    """

    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]

    def refuse(self, line: int, column: str, problem: str, fix: str) -> InputError:
        """One line naming the file, the place and the fix."""
        return InputError(f"{self.path}: line {line}, column {column!r}: {problem}; {fix}")


def read_rows(path: Path) -> Rows:
    """The rows of a CSV log, comma or semicolon separated (the header line decides), UTF-8 with or without BOM."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: byte {exc.start} is not UTF-8; export the log again from the app") from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = tuple(c.strip() for c in next(reader))
    except StopIteration:
        raise InputError(f"{path}: the file is empty; export the log again from the app") from None
    rows = []
    for record in reader:
        if not any(c.strip() for c in record):
            continue
        if len(record) != len(header):
            raise InputError(
                f"{path}: line {reader.line_num} has {len(record)} fields where the header has {len(header)};"
                " export the log again, or mend that line"
            )
        rows.append((reader.line_num, dict(zip(header, (c.strip() for c in record)))))
    return Rows(path, header, tuple(rows))


def number(rows: Rows, line: int, row: dict[str, str], column: str, *, required: bool = False) -> float | None:
    """A number of a row (decimal comma allowed), None when empty and not required."""
    text = row.get(column, "")
    if not text:
        if required:
            raise rows.refuse(line, column, "is empty", "give the number, or export the log again")
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise rows.refuse(line, column, f"{text!r} is not a number of 0 or more", "mend the row or export again")
    return value


def timestamp(
    rows: Rows, line: int, row: dict[str, str], column: str, formats: tuple[str, ...], zone: dt.tzinfo
) -> dt.datetime:
    """A row's date and time in one of ``formats``, read in the time zone ``zone``."""
    text = row.get(column, "")
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise rows.refuse(line, column, f"{text!r} is not a date and time", "export the log again from the app")


def read_log_file(path: str | Path, app: str = "auto", *, weight_unit: str | None = None, zone: dt.tzinfo) -> LiftLog:
    """Read a Strong or Hevy CSV export (``app`` ``auto`` tells them by their headers).

    Parameters
    ----------
    app
        ``auto``, ``strong`` or ``hevy``.
    weight_unit
        ``kg`` or ``lb`` for a Strong export that does not say its unit (Strong writes the app's unit
        setting); None takes kg.
    zone
        The time zone the app wrote its times in (the phone's).
    """
    from imuform.importers import hevy, strong

    readers: dict[str, tuple[Callable[[Rows], bool], Callable[..., LiftLog]]] = {
        "strong": (strong.looks_like, strong.read),
        "hevy": (hevy.looks_like, hevy.read),
    }
    rows = read_rows(Path(path))
    if app == "auto":
        app = next((name for name, (looks, _) in readers.items() if looks(rows)), "")
        if not app:
            raise InputError(
                f"{path}: the header ({', '.join(rows.header[:6])}…) is neither Strong's nor Hevy's CSV export;"
                " export the workouts as CSV from Strong (Settings > Export data) or Hevy (Settings > Export data)"
            )
    elif not readers[app][0](rows):
        raise InputError(f"{path}: the header is not {app.capitalize()}'s CSV export; check --app or the file")
    return readers[app][1](rows, weight_unit=weight_unit, zone=zone)
