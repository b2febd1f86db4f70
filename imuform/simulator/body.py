"""Rigid-segment body model: segment orientations, angular rates and sensor-point accelerations.

Segments (frames as in docs/conventions.md: x forward, y left, z up at standing neutral):

- pelvis (the `lumbar` placement sits on the sacrum): heading about world z, then forward tilt about y,
  then roll about x;
- thoracic: pelvis, then lumbar flexion (y), lateral bend (x), minus twist (z): exactly the conventions'
  Cardan sequence, so the truth angles are the joint angles;
- upper thoracic: thoracic, then thoracic flexion (y);
- thigh (right): heading, then thigh inclination (y; negative when the hip is behind the knee).

Angular velocity and acceleration follow analytically from the chain of elementary rotations, and the
acceleration of a point fixed on a segment from the rigid-body formula
``a = a_joint + α × r + ω × (ω × r)``: the tangential and centripetal terms a lever arm adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

_AXES = {"x": np.array([1.0, 0.0, 0.0]), "y": np.array([0.0, 1.0, 0.0]), "z": np.array([0.0, 0.0, 1.0])}

#: Each segment: its parent (None: the world) and the elementary rotations from the parent,
#: as (axis, channel, sign).
CHAINS: dict[str, tuple[str | None, tuple[tuple[str, str, float], ...]]] = {
    "pelvis": (None, (("z", "heading_deg", 1.0), ("y", "pelvis_incl_deg", 1.0), ("x", "pelvis_roll_deg", 1.0))),
    "thoracic": (
        "pelvis",
        (("y", "lumbar_flexion_deg", 1.0), ("x", "lumbar_bend_deg", 1.0), ("z", "lumbar_twist_deg", -1.0)),
    ),
    "upper_thoracic": ("thoracic", (("y", "thoracic_flexion_deg", 1.0),)),
    "thigh": (None, (("z", "heading_deg", 1.0), ("y", "thigh_incl_deg", 1.0))),
}

#: Segment each placement is strapped to.
SEGMENT_OF = {"lumbar": "pelvis", "thoracic": "thoracic", "upper_thoracic": "upper_thoracic", "thigh": "thigh"}

#: Lever arms in m, segment frame: (parent joint, segment, offset from that joint). The hip centre is
#: the root; the lumbar joint sits at L3, the thoracic joint at T7.
JOINTS = {
    "l3": ("hip", "pelvis", (-0.07, 0.0, 0.18)),
    "t7": ("l3", "thoracic", (-0.05, 0.0, 0.26)),
}
SENSOR_POINTS = {
    "lumbar": ("hip", "pelvis", (-0.12, 0.0, 0.08)),
    "thoracic": ("l3", "thoracic", (-0.11, 0.0, 0.17)),
    "upper_thoracic": ("t7", "upper_thoracic", (-0.10, 0.0, 0.13)),
    "thigh": ("hip", "thigh", (0.0, -0.17, -0.20)),
}


@dataclass
class SegmentMotion:
    """Orientation and rates of one segment at n times.

    Attributes
    ----------
    rot
        ``R_world_segment`` (n rotations).
    omega_rps, alpha_rps2
        Angular velocity (rad/s) and acceleration (rad/s²) in the world frame, (n, 3).
    """

    rot: Rotation
    omega_rps: np.ndarray
    alpha_rps2: np.ndarray


@dataclass
class PointMotion:
    """Position and acceleration (world frame, m and m/s²) of a point, each (n, 3)."""

    pos_m: np.ndarray
    acc_mps2: np.ndarray


def segment_motion(channels: dict, segment: str, parent: SegmentMotion | None = None) -> SegmentMotion:
    """Orientation, angular velocity and angular acceleration of ``segment``.

    Parameters
    ----------
    channels
        Output of `Trajectories.__call__`: ``{channel: (value, rate, acceleration)}`` in degrees.
    segment
        ``"pelvis"``, ``"thoracic"``, ``"upper_thoracic"`` or ``"thigh"``.
    parent
        The motion of the segment's parent in `CHAINS`, when already computed.

    Returns
    -------
    SegmentMotion
    """
    parent_name, chain = CHAINS[segment]
    if parent_name is None:
        n = len(channels["heading_deg"][0])
        quat, omega, alpha = np.tile([0.0, 0.0, 0.0, 1.0], (n, 1)), np.zeros((n, 3)), np.zeros((n, 3))
    else:
        parent = parent or segment_motion(channels, parent_name)
        quat, omega, alpha = parent.rot.as_quat(), parent.omega_rps, parent.alpha_rps2
    for axis, ch, sign in chain:
        angle, rate, acc = (sign * np.radians(v) for v in channels[ch])
        # world direction of this joint axis, then d/dt of the partial chain adds ω × axis · rate
        world_axis = _rotated_axis(quat, axis)
        alpha = alpha + world_axis * acc[:, None] + np.cross(omega, world_axis) * rate[:, None]
        omega = omega + world_axis * rate[:, None]
        quat = _compose_elementary(quat, axis, angle)
    return SegmentMotion(Rotation.from_quat(quat), omega, alpha)


def _compose_elementary(quat_xyzw: np.ndarray, axis: str, angle_rad: np.ndarray) -> np.ndarray:
    """``q · rot(axis, angle)`` for scalar-last quaternions.

    Written out because composing rotation objects is the simulator's bottleneck (10× slower).
    """
    k = "xyz".index(axis)
    i, j = (k + 1) % 3, (k + 2) % 3
    s, c = np.sin(0.5 * angle_rad), np.cos(0.5 * angle_rad)
    q = quat_xyzw
    # Hamilton product (v, w)·(e_k s, c) = (c v + w s e_k + s v × e_k, w c − s v_k)
    out = np.empty_like(q)
    out[:, k] = c * q[:, k] + s * q[:, 3]
    out[:, i] = c * q[:, i] + s * q[:, j]
    out[:, j] = c * q[:, j] - s * q[:, i]
    out[:, 3] = c * q[:, 3] - s * q[:, k]
    return out


def _rotated_axis(quat_xyzw: np.ndarray, axis: str) -> np.ndarray:
    """World direction of a body axis: column ``axis`` of the rotation matrix of ``quat_xyzw``."""
    x, y, z, w = quat_xyzw.T
    col = {
        "x": (1 - 2 * (y * y + z * z), 2 * (x * y + z * w), 2 * (x * z - y * w)),
        "y": (2 * (x * y - z * w), 1 - 2 * (x * x + z * z), 2 * (y * z + x * w)),
        "z": (2 * (x * z + y * w), 2 * (y * z - x * w), 1 - 2 * (x * x + y * y)),
    }[axis]
    return np.stack(col, axis=1)


def point_on(joint: PointMotion, seg: SegmentMotion, offset_m: np.ndarray) -> PointMotion:
    """Motion of a point fixed on a segment at ``offset_m`` (segment frame) from a joint on it."""
    r = seg.rot.apply(np.asarray(offset_m, dtype=float))
    w, a = seg.omega_rps, seg.alpha_rps2
    return PointMotion(joint.pos_m + r, joint.acc_mps2 + np.cross(a, r) + np.cross(w, np.cross(w, r)))


def hip_motion(channels: dict) -> PointMotion:
    """Motion of the hip centre, the root of the chain."""
    cols = [channels[c] for c in ("hip_x_m", "hip_y_m", "hip_z_m")]
    return PointMotion(*(np.stack([c[k] for c in cols], axis=1) for k in (0, 2)))


def placement_motion(channels: dict, placement: str, lever_scale: float = 1.0) -> tuple[SegmentMotion, PointMotion]:
    """Segment motion and sensor-point motion of one placement.

    Parameters
    ----------
    channels
        Channel trajectories at the sample times.
    placement
        ``lumbar``, ``thoracic``, ``upper_thoracic`` or ``thigh``.
    lever_scale
        Body-size factor applied to every lever arm (1 = the model's adult).
    """
    segments: dict[str, SegmentMotion] = {}

    def seg(name: str) -> SegmentMotion:
        if name not in segments:
            parent = CHAINS[name][0]
            segments[name] = segment_motion(channels, name, seg(parent) if parent else None)
        return segments[name]

    def point(name: str) -> PointMotion:
        if name == "hip":
            return hip_motion(channels)
        parent, segment, offset = (JOINTS | SENSOR_POINTS)[name]
        return point_on(point(parent), seg(segment), lever_scale * np.asarray(offset))

    return seg(SEGMENT_OF[placement]), point(placement)


def inclination_deg(rot: Rotation) -> np.ndarray:
    """Forward tilt from vertical of a segment, ``atan2(-f_z, u_z)`` in degrees (docs/conventions.md)."""
    m = rot.as_matrix()
    return np.degrees(np.arctan2(-m[:, 2, 0], m[:, 2, 2]))
