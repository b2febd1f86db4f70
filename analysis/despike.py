"""Remove the single-sample spikes that real IMUs produce, before anything else looks at the data."""

from __future__ import annotations

import numpy as np
from scipy import signal

#: Kernel of the running median that single- and double-sample spikes are judged against, in samples.
DESPIKE_KERNEL = 5
#: A sample is a spike when it leaves the running median by this many robust standard deviations...
DESPIKE_SIGMAS = 8.0
#: ...and by at least this much, per unit (so quiet, low-noise recordings keep their real motion).
FLOOR_ACC_MPS2 = 3.0
FLOOR_GYR_DPS = 30.0
FLOOR_MAG_UT = 20.0


def despike(x: np.ndarray, floor: float) -> np.ndarray:
    """Replace isolated spikes by the running median, column by column.

    A running median passes monotonic motion unchanged, so only samples that jump away from both
    neighbours and back are replaced.

    Parameters
    ----------
    x
        ``(n, k)`` regularly sampled signal without NaN.
    floor
        Smallest deviation from the running median that counts as a spike, in the unit of ``x``.

    Returns
    -------
    numpy.ndarray
        A despiked copy of ``x``.
    """
    if len(x) < DESPIKE_KERNEL:
        return x.copy()
    med = np.column_stack([signal.medfilt(x[:, j], DESPIKE_KERNEL) for j in range(x.shape[1])])
    resid = x - med
    scale = 1.4826 * np.median(np.abs(resid), axis=0)
    spike = np.abs(resid) > np.maximum(DESPIKE_SIGMAS * scale, floor)
    return np.where(spike, med, x)


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
