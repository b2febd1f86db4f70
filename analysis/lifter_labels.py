"""What the lifter said about a set (exercise, load, effort), as the set tables and headings show it."""

from __future__ import annotations

import math

#: How a set says who named its exercise (``exercise_named_by``).
NAMED_BY_YOU = "named by you"
CLASSIFIED = "classified"


def _known(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def label_text(row: object) -> str:
    """The lifter's part of a set's heading: ``"named by you · 140 kg · RPE 8 · RIR 2"``; empty when they said nothing.

    Parameters
    ----------
    row
        A row of `analysis.session.SessionAnalysis.sets` (a namedtuple or a dict), with ``exercise_named_by``,
        ``load_kg``, ``rpe`` and ``rir`` when the session carries labels.
    """
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key, None)
    parts = [NAMED_BY_YOU] if get("exercise_named_by") == NAMED_BY_YOU else []
    if _known(get("load_kg")):
        parts.append(f"{round(get('load_kg'), 1):g} kg")
    parts += [f"{name.upper()} {get(name):g}" for name in ("rpe", "rir") if _known(get(name))]
    return " · ".join(parts)
