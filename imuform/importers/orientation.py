"""Orientation as the apps write it (Euler angles, rotation matrices) turned into quaternions."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def quat_from_euler_xyz_deg(euler_deg: np.ndarray) -> np.ndarray:
    """``q_world_sensor`` (w x y z) from Xsens-style Euler angles: roll about x, pitch about y, yaw about
    z, in deg, applied as ``R = Rz(yaw) Ry(pitch) Rx(roll)`` (Xsens and WitMotion alike)."""
    return Rotation.from_euler("xyz", euler_deg, degrees=True).as_quat(scalar_first=True)


def quat_from_matrices(matrices: np.ndarray) -> np.ndarray:
    """``q_world_sensor`` (w x y z) from ``(n, 3, 3)`` rotation matrices ``R_world_sensor``."""
    return Rotation.from_matrix(matrices).as_quat(scalar_first=True)
