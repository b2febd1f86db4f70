"""Find quiet periods (the sensor at rest) in regularly sampled IMU data."""

from __future__ import annotations

import numpy as np
import pandas as pd

GRAVITY_MPS2 = 9.81
#: Stand-in for missing samples in the rolling maxima: far above any threshold.
BUSY = 1e12


def quiet_mask(
    acc_mps2: np.ndarray,
    gyr_dps: np.ndarray,
    rate_hz: float,
    *,
    window_s: float = 0.5,
    gyr_max_dps: float = 10.0,
    acc_dev_max_mps2: float = 0.6,
) -> np.ndarray:
    """Samples where the sensor rests: slow rotation and no acceleration beyond gravity.

    Parameters
    ----------
    acc_mps2, gyr_dps
        ``(n, 3)`` accelerometer (m/s²) and gyroscope (deg/s) on a regular grid; NaN rows are not quiet.
    rate_hz
        Sampling rate of the grid, in Hz.
    window_s
        Centered window over which the sensor must stay quiet, in s.
    gyr_max_dps
        Largest gyroscope norm inside the window, in deg/s.
    acc_dev_max_mps2
        Largest deviation of the accelerometer norm from gravity inside the window, in m/s².

    Returns
    -------
    numpy.ndarray
        Boolean mask of length n.
    """
    win = max(3, int(round(window_s * rate_hz)) | 1)
    gyr_norm = pd.Series(np.linalg.norm(gyr_dps, axis=1))
    acc_dev = pd.Series(np.abs(np.linalg.norm(acc_mps2, axis=1) - GRAVITY_MPS2))
    # A rolling max rejects windows with any fast sample; missing samples count as busy (pandas drops inf).
    gyr_peak = gyr_norm.fillna(BUSY).rolling(win, center=True, min_periods=1).max().to_numpy()
    acc_peak = acc_dev.fillna(BUSY).rolling(win, center=True, min_periods=1).max().to_numpy()
    return (gyr_peak < gyr_max_dps) & (acc_peak < acc_dev_max_mps2)


def mask_intervals(time_s: np.ndarray, mask: np.ndarray, *, min_duration_s: float = 0.0) -> list[tuple[float, float]]:
    """Contiguous runs of True in ``mask`` as ``(start_s, end_s)`` pairs lasting at least ``min_duration_s``."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    out = []
    for i0, i1 in zip(edges[::2], edges[1::2]):
        start, end = float(time_s[i0]), float(time_s[i1 - 1])
        if end - start >= min_duration_s:
            out.append((start, end))
    return out
