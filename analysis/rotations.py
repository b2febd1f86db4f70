"""Rotation helpers in the frames and angle conventions of docs/conventions.md.

Rotation matrices are stacked as ``(n, 3, 3)`` arrays, quaternions as ``(n, 4)`` scalar-first (w, x, y, z);
``R_ab`` (``q_ab``) maps vectors from frame ``b`` into frame ``a``. The per-sample conversions (composition,
Cardan angles, inclination, interpolation) are closed forms vectorised over the stack, as they run on every
sample of a session; the session-long steps stay in quaternions and compute only the matrix elements
they need. `scipy.spatial.transform.Rotation` handles the rest.
"""

from __future__ import annotations

import numpy as np

from analysis.blocks import row_blocks, row_norms

#: Element (i, j) of the rotation matrix of a unit quaternion (w, x, y, z), as a closed form.
_ELEMENTS = {
    (0, 0): lambda w, x, y, z: 1 - 2 * (y * y + z * z),
    (0, 1): lambda w, x, y, z: 2 * (x * y - w * z),
    (0, 2): lambda w, x, y, z: 2 * (x * z + w * y),
    (1, 0): lambda w, x, y, z: 2 * (x * y + w * z),
    (1, 1): lambda w, x, y, z: 1 - 2 * (x * x + z * z),
    (1, 2): lambda w, x, y, z: 2 * (y * z - w * x),
    (2, 0): lambda w, x, y, z: 2 * (x * z - w * y),
    (2, 1): lambda w, x, y, z: 2 * (y * z + w * x),
    (2, 2): lambda w, x, y, z: 1 - 2 * (x * x + y * y),
}


def matrix_elements_wxyz(quat_wxyz: np.ndarray, elements: list[tuple[int, int]]) -> list[np.ndarray]:
    """Chosen elements ``(i, j)`` of the rotation matrices of ``(n, 4)`` scalar-first unit quaternions.

    Most per-sample steps need two to five elements: computing only those spares building ``(n, 3, 3)``
    stacks. NaN rows give NaN.
    """
    quat = np.asarray(quat_wxyz, dtype=float).reshape(-1, 4)
    out = [np.empty(len(quat)) for _ in elements]
    for rows in row_blocks(len(quat)):
        w, x, y, z = quat[rows].T
        for element, ij in zip(out, elements):
            element[rows] = _ELEMENTS[ij](w, x, y, z)
    return out


def matrices_from_quat_wxyz(quat_wxyz: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` from scalar-first unit quaternions ``(n, 4)``; NaN rows stay NaN."""
    out = np.empty((len(np.reshape(quat_wxyz, (-1, 4))), 3, 3))
    for (i, j), element in zip(_ELEMENTS, matrix_elements_wxyz(quat_wxyz, list(_ELEMENTS))):
        out[:, i, j] = element
    return out


def quat_wxyz_from_matrix(R: np.ndarray) -> np.ndarray:
    """Scalar-first unit quaternion of one 3x3 rotation matrix, as scipy's
    ``Rotation.from_matrix(R).as_quat(scalar_first=True)`` computes it (equal to the bit,
    tests/test_scipy_stand_ins.py), without importing scipy.spatial (≈ 0.1 s) for the one matrix per sensor.

    A matrix that is not orthogonal to 1e-12 is first replaced by the nearest rotation (``U Vᵀ`` of its SVD).
    """
    R = np.asarray(R, dtype=float)
    if not np.all(np.isclose(R @ R.T, np.eye(3), atol=1e-12)):
        u, _, vt = np.linalg.svd(R)
        R = u @ vt
    trace = R[0, 0] + R[1, 1] + R[2, 2]
    # the largest of the four candidates for 4 q_i², so that the division is by a large number
    choice = int(np.argmax([R[0, 0], R[1, 1], R[2, 2], trace]))
    xyzw = np.empty(4)
    if choice == 3:
        xyzw[:] = R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1], 1 + trace
    else:
        i, j, k = choice, (choice + 1) % 3, (choice + 2) % 3
        xyzw[i] = 1 - trace + 2 * R[i, i]
        xyzw[j] = R[j, i] + R[i, j]
        xyzw[k] = R[k, i] + R[i, k]
        xyzw[3] = R[k, j] - R[j, k]
    x, y, z, w = xyzw
    # the norm summed in this order, as scipy does (numpy.linalg.norm differs in the last bit)
    return np.array([w, x, y, z]) / np.sqrt(x * x + y * y + z * z + w * w)


def compose_quat_wxyz(left_wxyz: np.ndarray, right_wxyz: np.ndarray) -> np.ndarray:
    """Hamilton products ``q ⊗ r`` (the rotation ``R(q) @ R(r)``) of scalar-first quaternions, row by row.

    Either side may be ``(n, 4)`` or one ``(4,)`` quaternion for all rows. NaN rows stay NaN.
    """
    left, right = np.asarray(left_wxyz, dtype=float), np.asarray(right_wxyz, dtype=float)
    out = np.empty(np.broadcast_shapes(left.shape, right.shape))
    if out.ndim == 1:
        _product_into(out, left, right)
        return out
    for rows in row_blocks(len(out)):
        _product_into(out[rows], left[rows] if left.ndim == 2 else left, right[rows] if right.ndim == 2 else right)
    return out


def _product_into(out: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    w1, x1, y1, z1 = np.moveaxis(left, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(right, -1, 0)
    out[..., 0] = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
    out[..., 1] = w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2
    out[..., 2] = w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2
    out[..., 3] = w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2


def conjugate_wxyz(quat_wxyz: np.ndarray) -> np.ndarray:
    """The inverse rotations of ``(n, 4)`` scalar-first unit quaternions."""
    return np.asarray(quat_wxyz, dtype=float) * np.array([1.0, -1.0, -1.0, -1.0])


def quat_about_z_wxyz(angle_rad: np.ndarray) -> np.ndarray:
    """``(n, 4)`` quaternions of rotations by ``angle_rad`` about world z."""
    half = 0.5 * np.asarray(angle_rad, dtype=float)
    zero = np.zeros_like(half)
    return np.stack([np.cos(half), zero, zero, np.sin(half)], axis=-1)


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
    out = np.empty((len(at_s), 4))
    for rows in row_blocks(len(at_s)):
        at = at_s[rows]
        j = np.clip(np.searchsorted(time_s, at, side="right") - 1, 0, len(time_s) - 2)
        frac = ((at - time_s[j]) / (time_s[j + 1] - time_s[j]))[:, None]
        q0, q1 = np.take(quat_wxyz, j, axis=0), np.take(quat_wxyz, j + 1, axis=0)
        # q and -q are the same rotation: interpolate towards the neighbour on q0's side (the short way).
        q1 *= np.where(np.einsum("ij,ij->i", q0, q1) < 0, -1.0, 1.0)[:, None]
        q = q0 + frac * (q1 - q0)
        np.divide(q, row_norms(q)[:, None], out=out[rows])
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
    return _inclination_from_elements(R_world_segment[:, 2, 0], R_world_segment[:, 2, 2])


def inclination_from_quat_deg(quat_world_segment: np.ndarray) -> np.ndarray:
    """`inclination_deg` of ``(n, 4)`` scalar-first quaternions ``q_world_segment``."""
    quat = np.asarray(quat_world_segment, dtype=float).reshape(-1, 4)
    out = np.empty(len(quat))
    for rows in row_blocks(len(quat)):
        out[rows] = _inclination_from_elements(*matrix_elements_wxyz(quat[rows], [(2, 0), (2, 2)]))
    return out


def _inclination_from_elements(r20: np.ndarray, r22: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(-r20, r22))


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


def relative_cardan_angles_deg(
    quat_lower: np.ndarray, quat_upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`cardan_angles_deg` of ``R_lowerᵀ R_upper`` per sample, from quaternions.

    The relative quaternion ``q_lower* ⊗ q_upper`` and five elements of its matrix: no ``(n, 3, 3)``
    stacks.

    Parameters
    ----------
    quat_lower, quat_upper
        ``(n, 4)`` scalar-first ``q_world_segment`` of the two segments in one world frame.

    Returns
    -------
    flexion_deg, lateral_bend_deg, twist_deg
    """
    out = np.empty((3, len(quat_lower)))
    for rows in row_blocks(len(quat_lower)):
        relative = compose_quat_wxyz(conjugate_wxyz(quat_lower[rows]), quat_upper[rows])
        out[:, rows] = _cardan_from_elements(*matrix_elements_wxyz(relative, [(0, 2), (2, 2), (1, 2), (1, 0), (1, 1)]))
    return out[0], out[1], out[2]


def _cardan_from_elements(r02: np.ndarray, r22: np.ndarray, r12: np.ndarray, r10: np.ndarray, r11: np.ndarray) -> tuple:
    # R_y(a) R_x(b) R_z(c) has row 1 = (sin c cos b, cos c cos b, -sin b) and column 2 =
    # (sin a cos b, -sin b, cos a cos b): closed form, no gimbal lock in the spine's range (|bend| < 90°).
    flexion = np.degrees(np.arctan2(r02, r22))
    bend = np.degrees(np.arcsin(np.clip(-r12, -1.0, 1.0)))
    twist = -np.degrees(np.arctan2(r10, r11))
    return flexion, bend, twist


def rotation_yxz_deg(flexion_deg: float, lateral_bend_deg: float, twist_deg: float) -> np.ndarray:
    """The 3x3 relative rotation with the given Cardan angles (inverse of `cardan_angles_deg`)."""
    from scipy.spatial.transform import Rotation

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
