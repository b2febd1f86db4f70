"""Inertial data back from what a fusing sensor exports instead: its orientation and free acceleration.

The Movella DOT's sensor fusion modes log ``q_world_sensor`` and the free acceleration ``a_free = R a − g``
(world frame, gravity taken out) but neither the accelerometer nor the gyroscope. Both follow from them:
the accelerometer reads ``a = Rᵀ (a_free + g)``, and the gyroscope the rotation from one orientation to
the next, ``ω = rotvec(R_kᵀ R_k+1) / Δt`` in the sensor frame. The analysis then fuses these as it fuses
any sensor's, so the angles come from the sensor's own orientations, with the same calibration and
conventions. Nothing is made up across a gap: rates need two orientations close in time.
"""

from __future__ import annotations

import numpy as np

from analysis.timebase import median_step_s
from imuform.importers.streams import Stream
from imuform.units import GRAVITY_MPS2


def accelerometer_from_free_acc(free_acc: Stream, quat_wxyz: np.ndarray) -> Stream:
    """The accelerometer ``Rᵀ (a_free + g ẑ)`` (m/s², sensor frame) at the free acceleration's samples.

    Parameters
    ----------
    free_acc
        The free acceleration stream (world frame z up, m/s²).
    quat_wxyz
        ``(n, 4)`` ``q_world_sensor`` at the same samples.
    """
    # scipy loads here, for the exports that need it, not for every `imuform import` (≈ 35 MB, 0.15 s)
    from scipy.spatial.transform import Rotation

    world = free_acc.values + np.array([0.0, 0.0, GRAVITY_MPS2])
    acc = Rotation.from_quat(quat_wxyz, scalar_first=True).inv().apply(world)
    return Stream("acc", free_acc.time_s, acc, free_acc.source, free_acc.lines, free_acc.clock, free_acc.unix_offset_s)


def gyroscope_from_orientation(quat: Stream, max_gap_steps: float) -> Stream:
    """The angular rate (deg/s, sensor frame) that turns each orientation into the next.

    Each step's rate is ``rotvec(R_kᵀ R_k+1) / Δt``; a sample gets the mean of the steps either side of it
    that are at most ``max_gap_steps`` median steps long. Samples with no such step are left out.
    """
    from scipy.spatial.transform import Rotation

    t = quat.time_s
    rotations = Rotation.from_quat(quat.values, scalar_first=True)
    dt = np.diff(t)
    rate = np.degrees((rotations[:-1].inv() * rotations[1:]).as_rotvec()) / dt[:, None]
    rate[dt > max_gap_steps * median_step_s(t)] = np.nan
    sides = np.stack([np.vstack([np.full((1, 3), np.nan), rate]), np.vstack([rate, np.full((1, 3), np.nan)])])
    count = np.isfinite(sides).sum(axis=0)
    ok = count.all(axis=1)
    gyr = np.nansum(sides, axis=0)[ok] / count[ok]
    return Stream("gyr", t[ok], gyr, quat.source, quat.lines[ok], quat.clock, quat.unix_offset_s)
