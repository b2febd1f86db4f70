"""Peaks with a prominence floor in numpy: the part of scipy.signal that `analysis.reps` finds reps with.

Importing scipy.signal costs 0.4–0.8 s (see `analysis.zero_phase`) for this one search. `find_peaks` takes
scipy.signal.find_peaks' name and its ``prominence`` and ``wlen`` arguments and returns the same peaks:
local maxima (the middle of a flat top), kept when their prominence within the window reaches the floor.
The comparisons and the minimum are scipy's, so the result is equal, not close
(`tests/test_scipy_stand_ins.py` compares both).

scipy walks out from each peak until the series rises above it; here that walk ends at the nearest peak
higher than this one on that side (found for all peaks at once with a stack over the peaks, not the
samples): between the two, everything above the peak belongs to the higher peak's flank, so the lowest
sample in between is the same.
"""

from __future__ import annotations

import math

import numpy as np


def _local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of the local maxima of ``x``; a flat top counts once, at its middle (rounded down).

    Parameters
    ----------
    x
        Finite 1-D series.

    Returns
    -------
    numpy.ndarray
        Ascending indices; the first and last samples are never maxima.
    """
    # runs of equal values: a run is a maximum when both neighbouring runs are lower
    starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))
    ends = np.append(starts[1:], len(x)) - 1
    values = x[starts]
    inner = np.arange(1, len(starts) - 1)
    peak = (values[inner - 1] < values[inner]) & (values[inner + 1] < values[inner])
    runs = inner[peak]
    return (starts[runs] + ends[runs]) // 2


def _nearest_higher(values: np.ndarray) -> np.ndarray:
    """For each value, the index of the nearest earlier one that is strictly higher, -1 where none is."""
    higher = [-1] * len(values)
    stack: list[tuple[int, float]] = []
    for i, v in enumerate(values.tolist()):
        while stack and stack[-1][1] <= v:
            stack.pop()
        higher[i] = stack[-1][0] if stack else -1
        stack.append((i, v))
    return np.array(higher, dtype=np.intp)


def _prominences(x: np.ndarray, peaks: np.ndarray, wlen: int | None = None) -> np.ndarray:
    """Prominence of each peak: its height above the higher of the lowest points on either side.

    Parameters
    ----------
    x
        Finite 1-D series.
    peaks
        Ascending indices of local maxima of ``x`` (all of them: `_local_maxima`).
    wlen
        Window in samples centred on each peak that the search stays within (``wlen // 2`` either side),
        or ``None`` for the whole series.

    Returns
    -------
    numpy.ndarray
        Prominence of each peak, in the units of ``x``.
    """
    if len(peaks) == 0:
        return np.empty(0)
    if wlen is not None and not wlen > 1:
        raise ValueError(f"wlen must be larger than 1, was {wlen}")
    half = len(x) if wlen is None else math.ceil(wlen) // 2
    heights = x[peaks]
    left_peak = _nearest_higher(heights)
    right_peak = _nearest_higher(heights[::-1])[::-1]
    right_peak = np.where(right_peak >= 0, len(peaks) - 1 - right_peak, -1)
    # each side's search runs from the window's edge, or the nearest higher peak, to the peak itself
    left_start = np.maximum(peaks - half, 0)
    left_start = np.where(left_peak >= 0, np.maximum(left_start, peaks[left_peak]), left_start)
    right_stop = np.minimum(peaks + half, len(x) - 1)
    right_stop = np.where(right_peak >= 0, np.minimum(right_stop, peaks[right_peak]), right_stop)
    # the minima over the ranges [start, peak] and [peak, stop]: reduceat over interleaved bounds
    # (a peak is never the last sample, so peak + 1 is an index; the sentinel makes stop + 1 one too)
    padded = np.append(x, np.inf)
    left_min = np.minimum.reduceat(padded, np.column_stack([left_start, peaks + 1]).ravel())[::2]
    right_min = np.minimum.reduceat(padded, np.column_stack([peaks, right_stop + 1]).ravel())[::2]
    return heights - np.maximum(left_min, right_min)


def find_peaks(x: np.ndarray, *, prominence: float, wlen: int | None = None) -> tuple[np.ndarray, dict]:
    """Local maxima whose prominence reaches ``prominence``, as ``scipy.signal.find_peaks(x, prominence=, wlen=)``.

    Parameters
    ----------
    x
        Finite 1-D series.
    prominence
        Least prominence a peak keeps, in the units of ``x``.
    wlen
        Window of the prominence search in samples (see `_prominences`), or ``None`` for the whole series.

    Returns
    -------
    tuple of numpy.ndarray and dict
        The peaks' indices, and ``{"prominences": …}`` for them.
    """
    x = np.asarray(x, dtype=float)
    peaks = _local_maxima(x)
    prom = _prominences(x, peaks, wlen)
    keep = prom >= prominence
    return peaks[keep], {"prominences": prom[keep]}
