"""Plain-language summary of a session, one line per set, for the top of the report and the dashboard."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.display import fmt_num
from analysis.session import SessionAnalysis, rep_ranges


def _degrees(values: np.ndarray) -> str:
    return ", ".join(f"{fmt_num(v)}°" for v in values)


def set_summary_text(sets_row: pd.Series | dict, reps: pd.DataFrame, flexion_limit_deg: float) -> str:
    """One sentence about one set.

    Parameters
    ----------
    sets_row
        The set's row of ``SessionAnalysis.sets`` (``index``, ``exercise``).
    reps
        The set's reps (``index``, ``peak_lumbar_flexion_deg``, ``lockout_lumbar_angle_deg``,
        ``mean_lumbar_angle_deg``, ``flags``, ``flag_reasons``).
    flexion_limit_deg
        The person's flexion limit, degrees.

    Returns
    -------
    str
        E.g. ``"Set 2 (deadlift): reps 6–8 flexed past your limit (31°, 33°, 35°); lockout
        hyperextension on 3 of 8 reps."``
    """
    n = len(reps)
    head = f"Set {int(sets_row['index'])} ({str(sets_row['exercise']).replace('_', ' ')})"
    # the set's notes (reps lost in a sensor gap) follow its sentence; analyses cached before notes have none
    listed = sets_row.get("notes")
    notes = "".join(f" {note[0].upper()}{note[1:]}." for note in listed) if isinstance(listed, list) else ""
    # the comparison with the lifter's reference reps, when they have one for the exercise
    verdict = sets_row.get("ref_verdict")
    notes += f" Against your reference: {verdict}." if isinstance(verdict, str) else ""
    if n == 0:
        return f"{head}: no reps measured.{notes}" if notes else f"{head}: no reps found."

    def having(flag: str) -> pd.DataFrame:
        return reps[reps["flags"].map(lambda f: flag in f)]

    parts = []
    flexed = having("lumbar_flexion")
    if len(flexed):
        parts.append(
            f"{rep_ranges(flexed['index'].tolist())} flexed past your limit "
            f"({_degrees(flexed['peak_lumbar_flexion_deg'].to_numpy())})"
        )
    drift = having("flexion_drift")
    if len(drift):
        parts.append(f"flexion crept up from rep {int(drift['index'].min())} on (fatigue)")
    for flag, what in (
        ("lockout_hyperextension", "lockout hyperextension"),
        ("overarching", "back arched through the rep"),
    ):
        hit = having(flag)
        if len(hit):
            parts.append(f"{what} on {len(hit)} of {n} reps")
    asym = having("asymmetry")
    if len(asym):
        reason = next(
            r for f, rs in zip(asym["flags"], asym["flag_reasons"]) for name, r in zip(f, rs) if name == "asymmetry"
        )
        parts.append(f"{rep_ranges(asym['index'].tolist())} uneven ({reason})")
    if parts:
        return f"{head}: " + "; ".join(parts) + "." + notes
    low, high = (fmt_num(v) for v in np.nanpercentile(reps["peak_lumbar_flexion_deg"].to_numpy(dtype=float), [0, 100]))
    peak = f"{low}°" if low == high else f"{low}–{high}°"
    return (
        f"{head}: {n} clean reps, peak flexion {peak}, inside your {fmt_num(flexion_limit_deg)}° flexion limit.{notes}"
    )


def session_summary(analysis: SessionAnalysis) -> list[str]:
    """The session in plain language: a headline, then one line per set.

    Parameters
    ----------
    analysis
        The analysed session.

    Returns
    -------
    list of str
        First line: sets, reps and how many were flagged; then `set_summary_text` per set.
    """
    sets, reps = analysis.sets, analysis.reps
    if len(sets) == 0:
        return ["No sets found in this session."]
    n_flagged = int(reps["flags"].map(len).gt(0).sum()) if len(reps) else 0
    exercises = ", ".join(dict.fromkeys(str(e).replace("_", " ") for e in sets["exercise"]))
    headline = f"{len(sets)} set{'s' if len(sets) != 1 else ''}, {len(reps)} reps of {exercises}: " + (
        f"{n_flagged} rep{'s' if n_flagged != 1 else ''} flagged." if n_flagged else "every rep inside your limits."
    )
    lines = [headline]
    for row in sets.to_dict("records"):
        lines.append(set_summary_text(row, analysis.reps_of(row["index"]), analysis.limits.flexion_limit_deg))
    return lines


def set_flagged(analysis: SessionAnalysis, set_index: int) -> bool:
    """Whether any rep of the set raised a flag."""
    reps = analysis.reps_of(set_index)
    return bool(len(reps)) and bool(reps["flags"].map(len).gt(0).any())
