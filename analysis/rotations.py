"""Rotation helpers in the frames and angle conventions of docs/conventions.md.

Rotation matrices are stacked as ``(n, 3, 3)`` arrays; ``R_ab`` maps vectors from frame ``b`` into frame
``a``. Rotations themselves are handled by `scipy.spatial.transform.Rotation`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def matrices_from_quat_wxyz(quat_wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` from scalar-first quaternions ``(n, 4)``; NaN rows stay NaN."""
    q = np.asarray(quat_wxyz, dtype=float).reshape(-1, 4)
    out = np.full((len(q), 3, 3), np.nan)
    ok = np.isfinite(q).all(axis=1)
    if ok.any():
        out[ok] = Rotation.from_quat(q[ok], scalar_first=True).as_matrix()
    return out


def segment_from_axes(up: np.ndarray, left: np.ndarray) -> np.ndarray:
    """``R_sensor_segment`` from a segment's up (``z``) and left (``y``) axes given in the sensor frame.

    ``left`` is orthogonalised to ``up`` (up wins: it is measured from gravity, the better reference).

    Parameters
    ----------
    up, left
        3-vectors in the sensor frame, any length, not parallel.

    Returns
    -------
    numpy.ndarray
        3x3 matrix whose columns are the segment's x (forward), y (left), z (up) axes in sensor coordinates.
    """
    z = np.asarray(up, dtype=float) / np.linalg.norm(up)
    y = np.asarray(left, dtype=float) - np.dot(left, z) * z
    y /= np.linalg.norm(y)
    return np.column_stack([np.cross(y, z), y, z])


def inclination_deg(R_world_segment: np.ndarray) -> np.ndarray:
    """Forward tilt of a segment from vertical, ``atan2(-f_z, u_z)`` (docs/conventions.md), in degrees.

    Needs no heading, so it holds with 6D orientation. ``R_world_segment`` is ``(n, 3, 3)``.
    """
    return np.degrees(np.arctan2(-R_world_segment[:, 2, 0], R_world_segment[:, 2, 2]))


def cardan_angles_deg(R_rel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flexion, lateral bend and twist of a relative rotation, in degrees.

    Decomposes ``R_rel = R_y(flexion) R_x(lateral_bend) R_z(-twist)`` (intrinsic y, x', z''), as defined in
    docs/conventions.md. NaN matrices give NaN angles.

    Parameters
    ----------
    R_rel
        ``(n, 3, 3)`` rotation of the upper segment in the lower segment's frame.

    Returns
    -------
    flexion_deg, lateral_bend_deg, twist_deg
        Arrays of length n: + flexion, + bend to the right, + twist to the right.
    """
    n = len(R_rel)
    out = np.full((n, 3), np.nan)
    ok = np.isfinite(R_rel).all(axis=(1, 2))
    if ok.any():
        out[ok] = Rotation.from_matrix(R_rel[ok]).as_euler("YXZ", degrees=True)
    return out[:, 0], out[:, 1], -out[:, 2]


def rotation_yxz_deg(flexion_deg: float, lateral_bend_deg: float, twist_deg: float) -> np.ndarray:
    """The 3x3 relative rotation with the given Cardan angles (inverse of `cardan_angles_deg`)."""
    return Rotation.from_euler("YXZ", [flexion_deg, lateral_bend_deg, -twist_deg], degrees=True).as_matrix()


def heading_rad(vectors_world: np.ndarray) -> np.ndarray:
    """Heading (angle about world z, from x towards y) of the horizontal part of ``(n, 3)`` world vectors."""
    return np.arctan2(vectors_world[:, 1], vectors_world[:, 0])


def rotate_about_z(R: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Left-multiply each ``(n, 3, 3)`` matrix by a rotation of ``angle_rad[i]`` about world z."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    Rz = np.zeros((len(angle_rad), 3, 3))
    Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1], Rz[:, 2, 2] = c, -s, s, c, 1.0
    return Rz @ R
