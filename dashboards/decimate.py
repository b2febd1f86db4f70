"""Min-max decimation of time series for display only (never feed its output to the analysis).

A line chart a few hundred pixels wide cannot show more than a couple of points per pixel. Keeping the
minimum and the maximum of each pixel bucket draws the same picture as the full series, including every
peak a flag was raised on, from a few thousand points.
"""

from __future__ import annotations

import numpy as np


def minmax_indices(values: np.ndarray, n_buckets: int) -> np.ndarray:
    """Indices of the samples to keep: per bucket its minimum and maximum, in time order.

    Parameters
    ----------
    values
        One series, sampled at a common rate; NaN marks gaps.
    n_buckets
        Number of equal-length buckets (about the chart width in pixels).

    Returns
    -------
    numpy.ndarray
        Sorted sample indices, at most ``3 * n_buckets`` of them (all indices when the series is short).
        A bucket that holds a gap also keeps its first NaN, so the drawn line breaks across the gap
        instead of bridging it.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n <= 2 * n_buckets:
        return np.arange(n)
    size = int(np.ceil(n / n_buckets))
    n_full = n // size
    padded = np.full(n_full * size + (size if n % size else 0), np.nan)
    padded[:n] = values
    blocks = padded.reshape(-1, size)
    finite = np.isfinite(blocks)
    any_finite = finite.any(axis=1)
    starts = np.arange(len(blocks)) * size
    i_min = np.argmin(np.where(finite, blocks, np.inf), axis=1) + starts
    i_max = np.argmax(np.where(finite, blocks, -np.inf), axis=1) + starts
    i_nan = np.argmax(~finite, axis=1) + starts
    keep = np.concatenate([i_min[any_finite], i_max[any_finite], i_nan[~finite.all(axis=1)]])
    keep = keep[keep < n]  # the padding of the last bucket
    return np.unique(keep)


def decimate_for_display(
    time_s: np.ndarray, values: np.ndarray, n_buckets: int = 1500
) -> tuple[np.ndarray, np.ndarray]:
    """Decimate one series for a chart, keeping per-bucket extremes and gaps.

    Parameters
    ----------
    time_s
        Sample times in s, increasing.
    values
        The series, same length as ``time_s``.
    n_buckets
        Number of pixel buckets.

    Returns
    -------
    (time_s, values)
        The kept samples.
    """
    idx = minmax_indices(values, n_buckets)
    return np.asarray(time_s)[idx], np.asarray(values, dtype=float)[idx]
