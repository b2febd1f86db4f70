"""Find quiet periods (the sensor at rest) in regularly sampled IMU data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.blocks import row_blocks
from analysis.running import maximum_filter1d

GRAVITY_MPS2 = 9.81
#: Stand-in for missing samples in the rolling maxima: far above any threshold.
BUSY = 1e12


@dataclass(frozen=True)
class Motion:
    """What the rest masks read from one sensor on a regular grid (`motion_of`), computed once for all masks.

    Attributes
    ----------
    gyr_norm_dps
        Gyroscope norm per sample, deg/s; `BUSY` where missing.
    acc_dev_mps2
        Distance of the accelerometer norm from gravity per sample, m/s²; `BUSY` where missing.
    """

    gyr_norm_dps: np.ndarray
    acc_dev_mps2: np.ndarray


def motion_of(acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> Motion:
    """`Motion` of ``(n, 3)`` accelerometer (m/s²) and gyroscope (deg/s) readings; NaN rows are busy."""
    gyr_norm, acc_dev = np.empty(len(gyr_dps)), np.empty(len(acc_mps2))
    for rows in row_blocks(len(gyr_dps)):
        gyr, acc = gyr_dps[rows], acc_mps2[rows]
        gyr_norm[rows] = np.nan_to_num(np.sqrt(np.einsum("ij,ij->i", gyr, gyr)), nan=BUSY)
        acc_dev[rows] = np.nan_to_num(np.abs(np.sqrt(np.einsum("ij,ij->i", acc, acc)) - GRAVITY_MPS2), nan=BUSY)
    return Motion(gyr_norm, acc_dev)


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
    return quiet_mask_of(
        motion_of(acc_mps2, gyr_dps),
        rate_hz,
        window_s=window_s,
        gyr_max_dps=gyr_max_dps,
        acc_dev_max_mps2=acc_dev_max_mps2,
    )


def quiet_mask_of(
    motion: Motion,
    rate_hz: float,
    *,
    window_s: float = 0.5,
    gyr_max_dps: float = 10.0,
    acc_dev_max_mps2: float = 0.6,
) -> np.ndarray:
    """`quiet_mask` from the sensor's `Motion`: several masks of one sensor share its norms."""
    win = max(3, int(round(window_s * rate_hz)) | 1)
    # A centred rolling max rejects windows with any fast sample (edges: the window's part inside the data);
    # missing samples count as busy.
    gyr_peak = maximum_filter1d(motion.gyr_norm_dps, win, mode="nearest")
    acc_peak = maximum_filter1d(motion.acc_dev_mps2, win, mode="nearest")
    return (gyr_peak < gyr_max_dps) & (acc_peak < acc_dev_max_mps2)


def mask_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous runs of True in ``mask`` as index arrays ``starts`` and ``ends`` (exclusive)."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return edges[::2], edges[1::2]


def mask_intervals(time_s: np.ndarray, mask: np.ndarray, *, min_duration_s: float = 0.0) -> list[tuple[float, float]]:
    """Contiguous runs of True in ``mask`` as ``(start_s, end_s)`` pairs lasting at least ``min_duration_s``."""
    starts, ends = mask_runs(mask)
    start_s, end_s = time_s[starts], time_s[ends - 1]
    keep = end_s - start_s >= min_duration_s
    return list(zip(start_s[keep].tolist(), end_s[keep].tolist()))
