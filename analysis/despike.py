"""Remove the single-sample spikes that real IMUs produce, before anything else looks at the data."""

from __future__ import annotations

import numpy as np

from analysis.blocks import row_blocks

#: Kernel of the running median that single- and double-sample spikes are judged against, in samples
#: (`running_median5`); shorter series are left as they are.
DESPIKE_KERNEL = 5
#: A sample is a spike when it leaves the running median by this many robust standard deviations...
DESPIKE_SIGMAS = 8.0
#: ...and by at least this much, per unit (so quiet, low-noise recordings keep their real motion).
FLOOR_ACC_MPS2 = 3.0
FLOOR_GYR_DPS = 30.0
FLOOR_MAG_UT = 20.0
#: The robust spread of the residuals is estimated from at most about this many samples (every k-th):
#: plenty for a median, and it keeps despiking an hour-long recording cheap.
SPREAD_SAMPLES = 10_000


def running_median5(x: np.ndarray) -> np.ndarray:
    """Centred running median over 5 samples of every column, the edges padded with the first and last row.

    A min/max selection network (discard the smallest and largest of four, take the median of the two
    left and the middle sample) on shifted views: no sorting, all columns at once.

    Parameters
    ----------
    x
        ``(n, k)`` signal, n ≥ 1.

    Returns
    -------
    numpy.ndarray
        ``(n, k)`` running median.
    """
    padded = np.concatenate([x[:1], x[:1], x, x[-1:], x[-1:]])
    out = np.empty_like(x)
    # a block of rows at a time (each with its 2 neighbours either side), so the network's steps stay in the cache
    for rows in row_blocks(len(x)):
        a, b, c, d, e = (padded[rows.start + i : rows.stop + i] for i in range(5))
        low, high = np.minimum(a, b), np.maximum(a, b)
        low_de, high_de = np.minimum(d, e), np.maximum(d, e)
        # the smaller of the two lows and the larger of the two highs cannot be the median of five
        np.maximum(low, low_de, out=low)
        np.minimum(high, high_de, out=high)
        upper = np.minimum(np.maximum(low, high, out=low_de), c, out=low_de)
        np.maximum(np.minimum(low, high, out=high_de), upper, out=out[rows])
    return out


def despike(x: np.ndarray, floor: float, *, in_place: bool = False) -> np.ndarray:
    """Replace isolated spikes by the running median, column by column.

    A running median passes monotonic motion unchanged, so only samples that jump away from both
    neighbours and back are replaced.

    Parameters
    ----------
    x
        ``(n, k)`` regularly sampled signal without NaN.
    floor
        Smallest deviation from the running median that counts as a spike, in the unit of ``x``.
    in_place
        Replace the spikes in ``x`` itself instead of in a copy.

    Returns
    -------
    numpy.ndarray
        The despiked signal: ``x`` itself when ``in_place``, else a copy.
    """
    if len(x) < DESPIKE_KERNEL:
        return x if in_place else x.copy()
    med = running_median5(x)
    step = max(1, len(x) // SPREAD_SAMPLES)
    scale = 1.4826 * np.median(np.abs(x[::step] - med[::step]), axis=0)
    threshold = np.maximum(DESPIKE_SIGMAS * scale, floor)
    out = x if in_place else x.copy()
    for rows in row_blocks(len(x)):
        np.copyto(out[rows], med[rows], where=np.abs(x[rows] - med[rows]) > threshold)
    return out


#: Online (causal) despiking: a one-sample jump larger than this is held back until the next sample
#: confirms it. Human motion stays far below: a fast lift changes its angular rate by well under 100 deg/s
#: from one sample to the next at 100 Hz, and 300 deg/s even at 25 Hz would take an impact.
JUMP_GYR_DPS = 300.0
JUMP_ACC_MPS2 = 30.0


class JumpFilter:
    """Causal despiking for the live view: isolated jumps are replaced by the last accepted sample.

    A jump that the next sample confirms is real and passes (one sample late); a lone spike never does.

    Parameters
    ----------
    max_jump
        Largest change between consecutive samples (any axis) accepted at once, in the signal's unit.
    """

    def __init__(self, max_jump: float):
        self.max_jump = max_jump
        self._last: np.ndarray | None = None
        self._suspect = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Despike one block ``(n, k)``; returns a copy."""
        out = np.array(x, dtype=float)
        for i, row in enumerate(out):
            jump = self._last is not None and np.max(np.abs(row - self._last)) > self.max_jump
            if jump and not self._suspect:
                out[i] = self._last
                self._suspect = True
            else:
                self._last, self._suspect = row, False
        return out
