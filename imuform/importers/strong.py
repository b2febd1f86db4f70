"""Strong's CSV export (Settings > Export data): one row per set.

Its variants: the comma export ``Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,
Notes,Workout Notes,RPE`` (weights in the app's unit, not named), the older semicolon export with a ``Weight Unit``
column and ``Workout Duration``, and headers that name the unit (``Weight (kg)``, ``Weight (lbs)``,
``Duration (sec)``). Set Order is a number, ``W`` for a warm-up set, ``D`` a drop set, ``F`` a failure set;
rows of rest timers are passed over.
"""

from __future__ import annotations

import datetime as dt
import re

from imuform.importers.lift_log import KG_PER_LB, LiftLog, LoggedSet, Rows, number, our_exercise, timestamp

REQUIRED = ("Date", "Workout Name", "Exercise Name", "Set Order", "Reps")
WEIGHT_COLUMNS = {"Weight": None, "Weight (kg)": "kg", "Weight (lbs)": "lb", "Weight (lb)": "lb"}
DURATION_COLUMNS = ("Duration", "Workout Duration", "Duration (sec)")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")
UNIT_WORDS = {"kg": "kg", "kgs": "kg", "lb": "lb", "lbs": "lb"}
#: A workout without a readable duration is taken to last this long, s.
DEFAULT_DURATION_S = 2 * 3600.0


def looks_like(rows: Rows) -> bool:
    """Whether a file's header is Strong's."""
    return set(REQUIRED) <= set(rows.header) and any(c in rows.header for c in WEIGHT_COLUMNS)


def _duration_s(text: str) -> float | None:
    """Strong's workout duration (``"1h 5m"``, ``"45m"``, ``"50s"`` or seconds) in s; None when unreadable."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+)\s*([hms])", text)
    if not parts:
        return None
    return float(sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts))


def read(rows: Rows, *, weight_unit: str | None, zone: dt.tzinfo) -> LiftLog:
    """The sets of a Strong export (`imuform.importers.lift_log.read_log_file`)."""
    weight_column = next(c for c in WEIGHT_COLUMNS if c in rows.header)
    header_unit = WEIGHT_COLUMNS[weight_column]
    duration_column = next((c for c in DURATION_COLUMNS if c in rows.header), None)
    sets = []
    for line, row in rows.rows:
        order = row["Set Order"].upper()
        if not re.fullmatch(r"\d+|[WDF]", order):
            continue  # a rest timer's row, or a note
        exercise = our_exercise(row["Exercise Name"])
        if exercise is None and not row["Reps"]:
            continue  # cardio and timed sets of other exercises
        start = timestamp(rows, line, row, "Date", DATE_FORMATS, zone)
        duration_s = _duration_s(row.get(duration_column, "")) if duration_column else None
        unit = header_unit or UNIT_WORDS.get(row.get("Weight Unit", "").lower()) or weight_unit or "kg"
        if "Weight Unit" in row and row["Weight Unit"] and row["Weight Unit"].lower() not in UNIT_WORDS:
            raise rows.refuse(line, "Weight Unit", f"{row['Weight Unit']!r} is no weight unit", "it is kg or lbs")
        weight = number(rows, line, row, weight_column)
        rpe = number(rows, line, row, "RPE") if "RPE" in row else None
        reps = number(rows, line, row, "Reps", required=True)
        if reps != int(reps):
            raise rows.refuse(line, "Reps", f"{row['Reps']!r} is not a whole number", "mend the row")
        sets.append(
            LoggedSet(
                line=line,
                workout=row["Workout Name"],
                workout_start=start,
                workout_end=start + dt.timedelta(seconds=duration_s or DEFAULT_DURATION_S),
                exercise_name=row["Exercise Name"],
                exercise=exercise,
                warmup=order == "W",
                load_kg=None if weight is None else weight * (KG_PER_LB if unit == "lb" else 1.0),
                reps=int(reps),
                rpe=rpe or None,
            )
        )
    return LiftLog(rows.path, "strong", tuple(sets))
