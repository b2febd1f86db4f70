"""Running maximum and minimum over a window in numpy, as scipy.ndimage's ``maximum_filter1d`` and
``minimum_filter1d`` (the same names, window placement and edge modes).

Importing scipy.ndimage costs 0.15–0.3 s (it loads scipy.special, numpy.f2py and numpy.testing) for these
two filters. Here each is the van Herk/Gil-Werman scheme: the series is cut into blocks of the window's
length, the running extreme is accumulated forwards and backwards inside each block, and a window's
extreme is the larger (smaller) of the backward value where it starts and the forward value where it
ends. No arithmetic, only comparisons, so the result equals scipy's (`tests/test_running.py`).
"""

from __future__ import annotations

import numpy as np

#: scipy.ndimage's edge modes that these filters take, as `numpy.pad` modes.
_PAD_MODES = {"reflect": "symmetric", "nearest": "edge"}


def _running(x: np.ndarray, size: int, mode: str, origin: int, ufunc: np.ufunc, fill: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError("a running extreme needs a non-empty 1-D series")
    if size < 1 or not -(size // 2) <= origin <= (size - 1) // 2:
        raise ValueError(f"window of {size} samples with origin {origin} is not valid")
    if mode not in _PAD_MODES:
        raise ValueError(f"edge mode {mode!r} is not one of {sorted(_PAD_MODES)}")
    # output i covers inputs i - before … i + after (scipy: the window's centre is size // 2 + origin)
    n = len(x)
    before = size // 2 + origin
    after = size - 1 - before
    blocks = -(-(n + size - 1) // size)
    tiled = np.full(blocks * size, fill)
    if before <= n and after <= n:
        # the edges from the end samples only: no padded copy of the whole series
        tiled[:before] = np.pad(x[:before], (before, 0), mode=_PAD_MODES[mode])[:before]
        tiled[before : before + n] = x
        tiled[before + n : before + n + after] = np.pad(x[n - after :], (0, after), mode=_PAD_MODES[mode])[after:]
    else:
        tiled[: n + size - 1] = np.pad(x, (before, after), mode=_PAD_MODES[mode])
    # by_position[k, b] is sample k of block b: each accumulation step is one vector operation over all blocks
    by_position = np.ascontiguousarray(tiled.reshape(blocks, size).T)
    forward = ufunc.accumulate(by_position, axis=0)
    backward = ufunc.accumulate(by_position[::-1], axis=0)[::-1]
    # the window from sample k of block b ends at sample k - 1 of block b + 1 (a whole block when k = 0)
    out = backward
    ufunc(backward[1:, :-1], forward[:-1, 1:], out=out[1:, :-1])
    return out.T.ravel()[:n]


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
    return _running(x, size, mode, origin, np.maximum, -np.inf)


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
    return _running(x, size, mode, origin, np.minimum, np.inf)
