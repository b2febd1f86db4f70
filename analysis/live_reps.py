"""Reps and sets while a session is recorded, by the rules of the offline analysis.

`LiveReps.add` only stores the angles as they arrive (the notification path stays cheap); `LiveReps.update`,
called a few times a second, runs the offline steps (`analysis.reps.find_excursions`,
`analysis.segmentation.group_excursions`, `analysis.pipeline.set_reps`) on the samples since the last
finished set. A group of excursions is finished once the lifter has rested longer than
`analysis.segmentation.SetRules.max_rest_in_set_s` after it without starting another rep, or when the recording
ends. Then, as offline, a lone bend (picking up a plate) is no set, and a set that started from the floor
loses its last excursion (the bar put down). Until then the set under way shows every rep so far.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.limits import DEFAULT_LIMITS, Limits
from analysis.pipeline import set_reps
from analysis.reps import DEFAULT_REP_RULES, find_excursions
from analysis.segmentation import DEFAULT_SET_RULES, group_excursions
from analysis.session import ANGLE_COLUMNS

#: The columns the live angles carry (`analysis.live.LiveAngles`); the others are NaN here.
LIVE_COLUMNS = ("time_s", "lumbar_flexion_deg", "trunk_inclination_deg", "pelvis_inclination_deg")
#: With no excursion under way, this much of the past is kept, in s: a whole descent and ascent.
IDLE_KEEP_S = 2 * DEFAULT_REP_RULES.max_phase_s


class LiveReps:
    """The reps and sets of a recording so far.

    Parameters
    ----------
    rate_hz
        Rate of the angles, in Hz.
    limits
        The person's limits the flags are judged against.
    max_flexion_deg
        Calibrated maximal lumbar flexion in degrees, or ``None``.

    Attributes
    ----------
    sets
        The reps table of every finished set (`analysis.pipeline.set_reps`), in order.
    current
        The reps of the set under way (empty when there is none). A lone excursion shows here until the
        rest after it shows it was no set.
    """

    def __init__(self, rate_hz: float, limits: Limits = DEFAULT_LIMITS, max_flexion_deg: float | None = None):
        self.rate_hz = rate_hz
        self.limits = limits
        self.max_flexion_deg = max_flexion_deg
        self.sets: list[pd.DataFrame] = []
        self.current = pd.DataFrame()
        self._pending: list[dict[str, np.ndarray]] = []
        self._window = {c: np.empty(0) for c in LIVE_COLUMNS}

    def add(self, angles: Mapping[str, np.ndarray]) -> None:
        """Store a block of angles (``LIVE_COLUMNS``, times increasing); `update` looks at them."""
        self._pending.append({c: np.asarray(angles[c], dtype=float) for c in LIVE_COLUMNS})

    @property
    def peaks_deg(self) -> list[float]:
        """Peak lumbar flexion of every rep so far (finished sets, then the set under way), deg."""
        tables = [*self.sets, self.current]
        return [float(p) for reps in tables if len(reps) for p in reps["peak_lumbar_flexion_deg"]]

    def update(self, *, final: bool = False) -> None:
        """Find the reps in the angles added so far.

        Parameters
        ----------
        final
            The recording is over: the set under way is finished too.
        """
        self._take_pending()
        t = self._window["time_s"]
        if len(t) < 3:
            return
        table = pd.DataFrame({c: self._window.get(c, np.full(len(t), np.nan)) for c in ANGLE_COLUMNS})
        excursions = find_excursions(table, rate_hz=self.rate_hz)
        columns = {c: table[c].to_numpy() for c in ANGLE_COLUMNS}
        group = group_excursions(excursions)
        current, keep_from_s, finished_until_s = pd.DataFrame(), t[-1] - IDLE_KEEP_S, -np.inf
        for g in np.unique(group):
            ex = excursions[group == g]
            last = ex.iloc[-1]
            if g != group[-1] or final or self._rested(last["end_s"], last["top_end_deg"]):
                if len(ex) >= DEFAULT_SET_RULES.min_reps_per_set:
                    self.sets.append(set_reps(ex, columns, self.limits, self.max_flexion_deg).reps)
                finished_until_s = last["end_s"]
            else:
                current = set_reps(ex, columns, self.limits, self.max_flexion_deg, finished=False).reps
                # the first rep's top posture lies before its start: keep a phase's worth of it
                keep_from_s = ex["start_s"].iloc[0] - DEFAULT_REP_RULES.max_phase_s
        self.current = current
        # a finished group's samples go, so that it is never found again
        keep = t >= max(keep_from_s, finished_until_s)
        self._window = {c: v[keep] for c, v in self._window.items()}

    def _rested(self, end_s: float, top_deg: float) -> bool:
        """Whether the lifter has rested long enough after a rep ending at ``end_s`` (s) for its set to
        be over: past ``max_rest_in_set_s`` with the trunk near the top posture ``top_deg`` all along (no
        rep under way), and in any case once a rep starting then would have had to end."""
        t, trunk = self._window["time_s"], self._window["trunk_inclination_deg"]
        rest_s = t[-1] - end_s
        if rest_s <= DEFAULT_SET_RULES.max_rest_in_set_s:
            return False
        after = trunk[t > end_s]
        no_rep_under_way = (
            not np.isfinite(after).any() or np.nanmax(after) < top_deg + DEFAULT_REP_RULES.min_excursion_deg / 2
        )
        return no_rep_under_way or rest_s > DEFAULT_SET_RULES.max_rest_in_set_s + DEFAULT_REP_RULES.max_phase_s

    def _take_pending(self) -> None:
        if not self._pending:
            return
        blocks = [self._window, *self._pending]
        self._pending = []
        merged = {c: np.concatenate([b[c] for b in blocks]) for c in LIVE_COLUMNS}
        # a block that overlaps the past (a sensor catching up) keeps only its new samples
        t = merged["time_s"]
        keep = t > np.concatenate([[-np.inf], np.maximum.accumulate(t)[:-1]])
        self._window = {c: v[keep] for c, v in merged.items()}
