"""Rotation helpers in the frames and angle conventions of docs/conventions.md.

Rotation matrices are stacked as ``(n, 3, 3)`` arrays; ``R_ab`` maps vectors from frame ``b`` into frame
``a``. The per-sample conversions (quaternion to matrix, Cardan angles, interpolation) are closed forms
vectorised over the stack, as they run on every sample of a session; `scipy.spatial.transform.Rotation`
handles the rest.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation


def matrices_from_quat_wxyz(quat_wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` from scalar-first unit quaternions ``(n, 4)``; NaN rows stay NaN.

    The closed form, vectorised over rows: this runs on every sample of a session.
    """
    w, x, y, z = np.asarray(quat_wxyz, dtype=float).reshape(-1, 4).T
    out = np.empty((len(w), 3, 3))
    out[:, 0, 0] = 1 - 2 * (y * y + z * z)
    out[:, 0, 1] = 2 * (x * y - w * z)
    out[:, 0, 2] = 2 * (x * z + w * y)
    out[:, 1, 0] = 2 * (x * y + w * z)
    out[:, 1, 1] = 1 - 2 * (x * x + z * z)
    out[:, 1, 2] = 2 * (y * z - w * x)
    out[:, 2, 0] = 2 * (x * z - w * y)
    out[:, 2, 1] = 2 * (y * z + w * x)
    out[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def compose_quat_wxyz(quat_wxyz: np.ndarray, right_wxyz: np.ndarray) -> np.ndarray:
    """``q ⊗ r`` for every row ``q`` of ``(n, 4)`` scalar-first quaternions and one fixed ``r``.

    The rotation ``R(q) @ R(r)``: a ``(4, 4)`` product per row, cheaper than composing the matrices.
    NaN rows stay NaN.
    """
    w, x, y, z = right_wxyz
    # q ⊗ r is linear in q: row vector q times this matrix
    by_right = np.array([[w, x, y, z], [-x, w, -z, y], [-y, z, w, -x], [-z, -y, x, w]])
    return np.einsum("ni,ij->nj", quat_wxyz, by_right)


def nlerp_wxyz(time_s: np.ndarray, quat_wxyz: np.ndarray, at_s: np.ndarray) -> np.ndarray:
    """Quaternions interpolated at ``at_s`` by normalised linear interpolation between the two neighbours.

    Between samples of a densely sampled orientation (tens of Hz) the rotation is a fraction of a degree,
    where nlerp and slerp agree to far below a millidegree, and nlerp is a few vectorised operations.

    Parameters
    ----------
    time_s
        Increasing sample times, in s (at least 2).
    quat_wxyz
        ``(n, 4)`` scalar-first unit quaternions at ``time_s``.
    at_s
        Times to interpolate at, in s, within ``[time_s[0], time_s[-1]]``.

    Returns
    -------
    numpy.ndarray
        ``(len(at_s), 4)`` unit quaternions.
    """
    j = np.clip(np.searchsorted(time_s, at_s, side="right") - 1, 0, len(time_s) - 2)
    frac = ((at_s - time_s[j]) / (time_s[j + 1] - time_s[j]))[:, None]
    q0, q1 = quat_wxyz[j], quat_wxyz[j + 1]
    # q and -q are the same rotation: interpolate towards the neighbour on q0's side (the short way).
    q1 *= np.where(np.einsum("ij,ij->i", q0, q1) < 0, -1.0, 1.0)[:, None]
    q = q0 + frac * (q1 - q0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


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
    return _cardan_from_elements(R_rel[:, 0, 2], R_rel[:, 2, 2], R_rel[:, 1, 2], R_rel[:, 1, 0], R_rel[:, 1, 1])


def relative_cardan_angles_deg(R_lower: np.ndarray, R_upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`cardan_angles_deg` of ``R_lower.T @ R_upper`` per sample, without the full matrix product.

    The angles need five elements of the relative rotation, each the dot product of a column of
    ``R_lower`` with one of ``R_upper``: a third of the arithmetic of the stacked product.

    Parameters
    ----------
    R_lower, R_upper
        ``(n, 3, 3)`` rotations of the two segments in one world frame.

    Returns
    -------
    flexion_deg, lateral_bend_deg, twist_deg
    """
    def rel(i: int, k: int) -> np.ndarray:
        return np.einsum("nj,nj->n", R_lower[:, :, i], R_upper[:, :, k])

    return _cardan_from_elements(rel(0, 2), rel(2, 2), rel(1, 2), rel(1, 0), rel(1, 1))


def _cardan_from_elements(r02: np.ndarray, r22: np.ndarray, r12: np.ndarray, r10: np.ndarray, r11: np.ndarray) -> tuple:
    # R_y(a) R_x(b) R_z(c) has row 1 = (sin c cos b, cos c cos b, -sin b) and column 2 =
    # (sin a cos b, -sin b, cos a cos b): closed form, no gimbal lock in the spine's range (|bend| < 90°).
    flexion = np.degrees(np.arctan2(r02, r22))
    bend = np.degrees(np.arcsin(np.clip(-r12, -1.0, 1.0)))
    twist = -np.degrees(np.arctan2(r10, r11))
    return flexion, bend, twist


def rotation_yxz_deg(flexion_deg: float, lateral_bend_deg: float, twist_deg: float) -> np.ndarray:
    """The 3x3 relative rotation with the given Cardan angles (inverse of `cardan_angles_deg`)."""
    return Rotation.from_euler("YXZ", [flexion_deg, lateral_bend_deg, -twist_deg], degrees=True).as_matrix()


def heading_rad(vectors_world: np.ndarray) -> np.ndarray:
    """Heading (angle about world z, from x towards y) of the horizontal part of ``(n, 3)`` world vectors."""
    return np.arctan2(vectors_world[:, 1], vectors_world[:, 0])


def rotate_about_z(R: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Left-multiply each ``(n, 3, 3)`` matrix by a rotation of ``angle_rad[i]`` about world z."""
    c, s = np.cos(angle_rad)[:, None], np.sin(angle_rad)[:, None]
    # Only the rows x and y change: no stack of R_z matrices to build and multiply.
    out = R.copy()
    out[:, 0] = c * R[:, 0] - s * R[:, 1]
    out[:, 1] = s * R[:, 0] + c * R[:, 1]
    return out
