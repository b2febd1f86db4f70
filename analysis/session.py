"""The result of analysing one session: angle series, sets, reps and the context they were measured in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.limits import Limits

if TYPE_CHECKING:  # analysis.calibration pulls in scipy, which readers of results do not need
    from analysis.calibration import Calibration

#: Columns of `SessionAnalysis.angles`, in order; `thoracic_flexion_deg` only with an upper sensor.
ANGLE_COLUMNS = (
    "time_s",
    "lumbar_flexion_deg",
    "lumbar_lateral_bend_deg",
    "lumbar_twist_deg",
    "trunk_inclination_deg",
    "pelvis_inclination_deg",
)
THORACIC_COLUMN = "thoracic_flexion_deg"


def jsonable(value: Any) -> Any:
    """Plain JSON value: NaN becomes None, numpy scalars and arrays become Python ones."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 1:
        # a rep curve's hundred samples at once, not one call per number
        return [v if math.isfinite(v) else None for v in value.tolist()]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass(frozen=True)
class CalibrationSource:
    """Which calibration an analysis used and why (the application's choice among the stored ones).

    Attributes
    ----------
    reason
        One line: which calibration and why, e.g. ``"calibration #3 of session 1a2b…: same sensors, …"``, or
        ``"automatic from the session's own standing: …"``.
    calibration_id
        The store's id of the calibration used, None when the session calibrated itself.
    session_id
        The session that calibration was measured in.
    """

    reason: str
    calibration_id: int | None = None
    session_id: str | None = None

    def to_dict(self) -> dict:
        """``{"id", "session_id", "reason"}``."""
        return {"id": self.calibration_id, "session_id": self.session_id, "reason": self.reason}


def rep_ranges(rep_numbers: list[int]) -> str:
    """Compact rep numbers: ``[2, 6, 7, 8]`` becomes ``"reps 2, 6–8"``, ``[3]`` becomes ``"rep 3"``."""
    numbers = sorted(int(n) for n in rep_numbers)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return ("reps " if len(numbers) > 1 else "rep ") + ", ".join(parts)


@dataclass
class SessionAnalysis:
    """Everything `analyze_session` measured.

    Attributes
    ----------
    angles
        Angle table (columns `ANGLE_COLUMNS`, plus `THORACIC_COLUMN` with an upper thoracic sensor) on
        one common rate, NaN across gaps.
    sets
        One row per set: ``index`` (from 1), ``exercise``, ``start_s``, ``end_s``, ``rep_count`` and the
        set's summary figures.
    reps
        One row per rep: ``set_index``, ``index`` (from 1 within the set), the metrics of
        `analysis.metrics.REP_METRIC_COLUMNS`, ``flags`` (list of flag names) and ``flag_reasons``
        (list of plain-language reasons, same order).
    limits
        The personal limits the flags were judged against.
    calibration
        The calibration used (None only for results built from angles alone).
    sync
        Sync-quality report of the time base, as a plain dict.
    session_id
        The store's id of the session, when known.
    calibration_source
        Which calibration ``calibration`` is and why it was used, when the caller chose one.
    notes
        Remarks on the analysis, one line each (e.g. a stored calibration set aside).
    """

    angles: pd.DataFrame
    sets: pd.DataFrame
    reps: pd.DataFrame
    limits: Limits
    calibration: Calibration | None = None
    sync: dict = field(default_factory=dict)
    session_id: str | None = None
    calibration_source: CalibrationSource | None = None
    notes: list[str] = field(default_factory=list)

    def reps_of(self, set_index: int) -> pd.DataFrame:
        """Reps of one set (``set_index`` counts from 1)."""
        return self.reps[self.reps["set_index"] == set_index]

    def to_dict(self) -> dict:
        """The JSON document of ``imuform analyze --json``."""
        # one pass over the reps table, not one filtered copy of it per set
        reps_of_set: dict[int, list[dict]] = {}
        for rep in self.reps.to_dict("records"):
            reps_of_set.setdefault(rep.pop("set_index"), []).append(rep)
        sets = [{**row, "reps": reps_of_set.get(row["index"], [])} for row in self.sets.to_dict("records")]
        return jsonable(
            {
                "session_id": self.session_id,
                "limits": self.limits.to_dict(),
                "calibration": None if self.calibration is None else self.calibration.to_dict(),
                "calibration_source": None if self.calibration_source is None else self.calibration_source.to_dict(),
                "notes": self.notes,
                "sync": self.sync,
                "sets": sets,
            }
        )
