"""Sets: runs of reps separated from rest and from everything else a lifter does between sets.

Walking, stairs, reaching overhead and lateral or twisting movements never reach the rep threshold of
`analysis.reps` (trunk inclination rises too little, or not forward). What is left are forward
excursions; consecutive ones form a set while they start from the same top posture and follow each
other without a rest. A lone bend (picking something up, sitting down, re-racking) is not a set. Time
without trunk data (a sensor gap) is no rest: the reps either side of it stay one set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SetRules:
    """The set segmenter's thresholds (`group_excursions`, `assign_sets`), in units, with where they come from.

    Set by hand, not fitted; tests/test_segmentation.py and the benchmarks check them.

    Attributes
    ----------
    max_rest_in_set_s
        Longest pause between the end of one rep and the start of the next within one set, s: a lifter
        resets the grip or breathes at the top for a second or two; rests between sets take a minute
        or more (the simulator's 30-90 s).
    max_top_change_deg
        Largest change of the top posture (trunk inclination) between consecutive reps of one set, deg:
        a hyperextended lockout may end 20° above the next rep's start; benches differ by 45°.
    min_reps_per_set
        Fewest reps that make a set: a lone bend (picking something up, re-racking) is none.
    """

    max_rest_in_set_s: float = 4.0
    max_top_change_deg: float = 30.0
    min_reps_per_set: int = 2


DEFAULT_SET_RULES = SetRules()


def _overlap_s(start_s: np.ndarray, end_s: np.ndarray, gaps_s: Sequence[tuple[float, float]]) -> np.ndarray:
    """Time each interval ``[start_s, end_s]`` shares with the ``gaps_s`` intervals, in s."""
    out = np.zeros(len(start_s))
    for g0, g1 in gaps_s:
        out += np.clip(np.minimum(end_s, g1) - np.maximum(start_s, g0), 0.0, None)
    return out


def group_excursions(
    excursions: pd.DataFrame, gaps_s: Sequence[tuple[float, float]] = (), rules: SetRules = DEFAULT_SET_RULES
) -> np.ndarray:
    """Group number of each excursion (from 1): consecutive excursions share a group while each starts
    within ``rules.max_rest_in_set_s`` of the previous one's end, not counting time without data, and
    from a top posture within ``rules.max_top_change_deg`` of where that one ended.

    Parameters
    ----------
    excursions
        Reps in time order as from `analysis.reps.find_excursions` (``start_s``, ``end_s``,
        ``top_start_deg``, ``top_end_deg``).
    gaps_s
        ``(start_s, end_s)`` of the stretches without trunk inclination (sensor gaps), in s.
    rules
        The thresholds.

    Returns
    -------
    numpy.ndarray of int
        One group number per excursion, non-decreasing.
    """
    if len(excursions) == 0:
        return np.zeros(0, dtype=int)
    start = excursions["start_s"].to_numpy(dtype=float)
    end = excursions["end_s"].to_numpy(dtype=float)
    top_start = excursions["top_start_deg"].to_numpy(dtype=float)
    top_end = excursions["top_end_deg"].to_numpy(dtype=float)
    rest_s = start[1:] - end[:-1] - _overlap_s(end[:-1], start[1:], gaps_s)
    top_change = np.abs(top_start[1:] - top_end[:-1])
    return np.cumsum(np.r_[True, (rest_s > rules.max_rest_in_set_s) | (top_change > rules.max_top_change_deg)])


def assign_sets(
    excursions: pd.DataFrame, gaps_s: Sequence[tuple[float, float]] = (), rules: SetRules = DEFAULT_SET_RULES
) -> np.ndarray:
    """Set index of each excursion (from 1), 0 for excursions that belong to no set: the groups of
    `group_excursions` with at least ``rules.min_reps_per_set`` excursions, numbered in time order.

    Parameters
    ----------
    excursions
        Reps in time order as from `analysis.reps.find_excursions`.
    gaps_s
        Stretches without trunk data (`group_excursions`).
    rules
        The thresholds.

    Returns
    -------
    numpy.ndarray of int
        One set index per excursion.
    """
    group = group_excursions(excursions, gaps_s, rules)
    out = np.zeros(len(group), dtype=int)
    if len(group) == 0:
        return out
    keep = np.bincount(group)[group] >= rules.min_reps_per_set
    # renumber the kept groups 1, 2, … in time order
    out[keep] = np.searchsorted(np.unique(group[keep]), group[keep]) + 1
    return out
