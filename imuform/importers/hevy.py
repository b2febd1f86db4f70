"""Hevy's CSV export (Settings > Export data): one row per set.

``title,start_time,end_time,description,exercise_title,superset_id,exercise_notes,set_index,set_type,weight_kg,
reps,distance_km,duration_seconds,rpe``; in lb the weight column is ``weight_lbs`` (and ``distance_miles``).
Times read ``"5 Jan 2026, 17:42"`` (older exports ``"2026-01-05 17:42:00"``); ``set_type`` is ``normal``,
``warmup``, ``failure`` or ``dropset``.
"""

from __future__ import annotations

import datetime as dt

from imuform.importers.lift_log import KG_PER_LB, LiftLog, LoggedSet, Rows, number, our_exercise, timestamp

REQUIRED = ("title", "start_time", "end_time", "exercise_title", "set_type", "reps")
WEIGHT_COLUMNS = {"weight_kg": 1.0, "weight_lbs": KG_PER_LB}
DATE_FORMATS = ("%d %b %Y, %H:%M", "%d %B %Y, %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def looks_like(rows: Rows) -> bool:
    """Whether a file's header is Hevy's."""
    return set(REQUIRED) <= set(rows.header) and any(c in rows.header for c in WEIGHT_COLUMNS)


def read(rows: Rows, *, weight_unit: str | None, zone: dt.tzinfo) -> LiftLog:
    """The sets of a Hevy export (`imuform.importers.lift_log.read_log_file`); Hevy names its unit itself."""
    weight_column = next(c for c in WEIGHT_COLUMNS if c in rows.header)
    sets = []
    for line, row in rows.rows:
        exercise = our_exercise(row["exercise_title"])
        if exercise is None and not row["reps"]:
            continue  # cardio and timed sets of other exercises
        start = timestamp(rows, line, row, "start_time", DATE_FORMATS, zone)
        end = timestamp(rows, line, row, "end_time", DATE_FORMATS, zone)
        if end < start:
            raise rows.refuse(line, "end_time", "is before start_time", "mend the workout's times in Hevy")
        weight = number(rows, line, row, weight_column)
        reps = number(rows, line, row, "reps", required=True)
        if reps != int(reps):
            raise rows.refuse(line, "reps", f"{row['reps']!r} is not a whole number", "mend the row")
        rpe = number(rows, line, row, "rpe") if "rpe" in row else None
        sets.append(
            LoggedSet(
                line=line,
                workout=row["title"],
                workout_start=start,
                workout_end=end,
                exercise_name=row["exercise_title"],
                exercise=exercise,
                warmup=row["set_type"].lower() == "warmup",
                load_kg=None if weight is None else weight * WEIGHT_COLUMNS[weight_column],
                reps=int(reps),
                rpe=rpe or None,
            )
        )
    return LiftLog(rows.path, "hevy", tuple(sets))
