"""Running maximum and minimum over a window in numpy, as scipy.ndimage's ``maximum_filter1d`` and
``minimum_filter1d`` (the same names, window placement and edge modes).

Importing scipy.ndimage costs 0.15–0.3 s (it loads scipy.special, numpy.f2py and numpy.testing) for these
two filters. Here the window is covered by doubling: the extreme of every 2 samples, then of every 4
(two overlapping 2s), … up to the largest power of two within the window, whose two overlapping spans
from the window's start and to its end give the result. That is log2(window) + 1 contiguous passes over
the series, faster than scipy's own filter for windows beyond a few samples, and only comparisons, so
the result equals scipy's (`tests/test_scipy_stand_ins.py`).
"""

from __future__ import annotations

import numpy as np

from analysis.blocks import row_blocks

#: scipy.ndimage's edge modes that these filters take, as `numpy.pad` modes.
_PAD_MODES = {"reflect": "symmetric", "nearest": "edge"}


def _running(x: np.ndarray, size: int, mode: str, origin: int, ufunc: np.ufunc) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError("a running extreme needs a non-empty 1-D series")
    if size < 1 or not -(size // 2) <= origin <= (size - 1) // 2:
        raise ValueError(f"window of {size} samples with origin {origin} is not valid")
    if mode not in _PAD_MODES:
        raise ValueError(f"edge mode {mode!r} is not one of {sorted(_PAD_MODES)}")
    # output i covers inputs i - before … i + after (scipy: the window's centre is size // 2 + origin)
    before = size // 2 + origin
    padded = np.pad(x, (before, size - 1 - before), mode=_PAD_MODES[mode])
    out = np.empty(len(x))
    # a block of outputs at a time, each from its window's reach of the padded series: the passes stay in the cache
    for rows in row_blocks(len(x)):
        span = padded[rows.start : rows.stop + size - 1].copy()
        spare = np.empty_like(span)
        # span[i] holds the extreme of `width` samples from i; each pass doubles the width
        width = 1
        while 2 * width <= size:
            valid = len(span) - width
            ufunc(span[:valid], span[width:], out=spare[:valid])
            span, spare = spare[:valid], span
            width *= 2
        n = rows.stop - rows.start
        ufunc(span[:n], span[size - width : size - width + n], out=out[rows])
    return out


def maximum_filter1d(x: np.ndarray, size: int, mode: str = "reflect", origin: int = 0) -> np.ndarray:
    """Running maximum, as ``scipy.ndimage.maximum_filter1d`` for a finite 1-D series.

    Parameters
    ----------
    x
        Finite 1-D series.
    size
        Window length in samples.
    mode
        Edge extension: ``"reflect"`` (mirrored about the edge, the edge sample repeated) or ``"nearest"``.
    origin
        Shift of the window: output ``i`` covers samples ``i - (size // 2 + origin)`` onwards, ``size`` of them.

    Returns
    -------
    numpy.ndarray
        The running maximum, same length as ``x``.
    """
    return _running(x, size, mode, origin, np.maximum)


def minimum_filter1d(x: np.ndarray, size: int, mode: str = "reflect", origin: int = 0) -> np.ndarray:
    """Running minimum, as ``scipy.ndimage.minimum_filter1d`` for a finite 1-D series.

    Parameters
    ----------
    x
        Finite 1-D series.
    size
        Window length in samples.
    mode
        Edge extension: ``"reflect"`` (mirrored about the edge, the edge sample repeated) or ``"nearest"``.
    origin
        Shift of the window: output ``i`` covers samples ``i - (size // 2 + origin)`` onwards, ``size`` of them.

    Returns
    -------
    numpy.ndarray
        The running minimum, same length as ``x``.
    """
    return _running(x, size, mode, origin, np.minimum)
