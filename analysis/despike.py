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
