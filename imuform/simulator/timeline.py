"""Joint-space trajectories of the body model: smooth key poses plus oscillations.

A `Timeline` collects key poses (one value per channel) and oscillators. Between key poses every channel
follows a quintic with matching position, velocity and acceleration at both ends (minimum-jerk when the
end velocities are zero, which is how people move between postures), so positions, velocities and
accelerations are continuous and known exactly at any time. Oscillators add gait, breathing and sway
with smooth envelopes; their derivatives are analytic too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PPoly

#: Channels of the body model: angles in degrees, hip centre position in metres (world frame).
CHANNELS = (
    "heading_deg",
    "pelvis_incl_deg",
    "pelvis_roll_deg",
    "lumbar_flexion_deg",
    "lumbar_bend_deg",
    "lumbar_twist_deg",
    "thoracic_flexion_deg",
    "thigh_incl_deg",
    "hip_x_m",
    "hip_y_m",
    "hip_z_m",
)

#: Hip centre height of the standing model, in m.
HIP_HEIGHT_M = 0.95

NEUTRAL = {c: 0.0 for c in CHANNELS} | {"hip_z_m": HIP_HEIGHT_M}


@dataclass
class Oscillator:
    """``amp * sin(2π freq_hz t + phase)`` added to ``channel`` between ``t0_s`` and ``t1_s``.

    The envelope rises and falls with a minimum-jerk ramp of ``ramp_s``.
    """

    channel: str
    amp: float
    freq_hz: float
    phase: float
    t0_s: float
    t1_s: float
    ramp_s: float = 0.5


@dataclass
class Timeline:
    """Key poses and oscillators, built forward in time by the activity scripts.

    Attributes
    ----------
    time_s
        Time of the last key pose.
    pose
        The last key pose (every channel).
    """

    time_s: float = 0.0
    pose: dict = field(default_factory=lambda: dict(NEUTRAL))
    _times: list = field(default_factory=lambda: [0.0])
    _poses: list = field(default_factory=lambda: [dict(NEUTRAL)])
    _vel: list = field(default_factory=lambda: [{}])
    oscillators: list = field(default_factory=list)

    def move(self, duration_s: float, vel: dict | None = None, **changes: float) -> float:
        """Add a key pose ``duration_s`` after the last one; return its time.

        Parameters
        ----------
        duration_s
            Time to get there, in s (> 0).
        vel
            Velocities at the key pose for some channels (default 0: the movement stops there).
        **changes
            New channel values; the others hold.
        """
        self.time_s += max(float(duration_s), 1e-3)
        self.pose = {**self.pose, **changes}
        self._times.append(self.time_s)
        self._poses.append(dict(self.pose))
        self._vel.append(dict(vel or {}))
        return self.time_s

    def hold(self, duration_s: float) -> float:
        """Keep the last pose for ``duration_s``; return the end time."""
        return self.move(duration_s)

    def oscillate(
        self, channel: str, amp: float, freq_hz: float, phase: float, t0_s: float, t1_s: float, ramp_s: float = 0.5
    ) -> None:
        """Add an oscillation to ``channel`` (see `Oscillator`)."""
        self.oscillators.append(Oscillator(channel, amp, freq_hz, phase, t0_s, t1_s, ramp_s))

    def forward_m(self, forward_m: float, left_m: float = 0.0) -> dict:
        """Hip position moved by ``forward_m`` and ``left_m`` in the current heading, as channel changes."""
        h = np.radians(self.pose["heading_deg"])
        return {
            "hip_x_m": self.pose["hip_x_m"] + forward_m * np.cos(h) - left_m * np.sin(h),
            "hip_y_m": self.pose["hip_y_m"] + forward_m * np.sin(h) + left_m * np.cos(h),
        }

    def trajectories(self) -> Trajectories:
        """Freeze the timeline into evaluable trajectories."""
        return Trajectories(self)


def _envelope(t: np.ndarray, osc: Oscillator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-jerk ramp up at ``t0_s`` and down at ``t1_s``: value and two derivatives."""
    ramp = max(min(osc.ramp_s, 0.5 * (osc.t1_s - osc.t0_s)), 1e-3)
    up = np.clip((t - osc.t0_s) / ramp, 0.0, 1.0)
    down = np.clip((osc.t1_s - t) / ramp, 0.0, 1.0)

    def step(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return s**3 * (10 - 15 * s + 6 * s**2), 30 * s**2 * (1 - s) ** 2, 60 * s * (1 - s) * (1 - 2 * s)

    u, du, ddu = step(up)
    d, dd, ddd = step(down)
    # the two ramps never overlap, so the product rule reduces to one active ramp at a time
    return u * d, (du * d - u * dd) / ramp, (ddu * d + u * ddd) / ramp**2


def _quintic_hermite(t: np.ndarray, x: np.ndarray, v: np.ndarray) -> PPoly:
    """Piecewise quintic through ``x`` with slopes ``v`` and zero second derivative at every knot.

    The closed form of `scipy.interpolate.BPoly.from_derivatives` for this case, built vectorised
    because the library version loops in Python over thousands of knots.
    """
    h = np.diff(t)
    dx, v0, v1 = np.diff(x), v[:-1], v[1:]
    c = np.zeros((6, len(h)))
    c[5] = x[:-1]
    c[4] = v0
    c[2] = (20 * dx - (8 * v1 + 12 * v0) * h) / (2 * h**3)
    c[1] = (-30 * dx + (14 * v1 + 16 * v0) * h) / (2 * h**4)
    c[0] = (12 * dx - 6 * (v1 + v0) * h) / (2 * h**5)
    return PPoly(c, t)


class Trajectories:
    """Evaluable channel trajectories: value, first and second derivative at any time."""

    def __init__(self, timeline: Timeline):
        t = np.asarray(timeline._times)
        self.end_s = float(t[-1])
        self._polys: dict[str, tuple[PPoly, PPoly, PPoly]] = {}
        for ch in CHANNELS:
            x = np.array([p[ch] for p in timeline._poses])
            v = np.array([vel.get(ch, 0.0) for vel in timeline._vel])
            poly = _quintic_hermite(t, x, v)
            self._polys[ch] = (poly, poly.derivative(), poly.derivative(2))
        self._oscillators = list(timeline.oscillators)

    def __call__(self, time_s: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Channels at ``time_s``: ``{channel: (value, d/dt, d²/dt²)}`` in channel units per s and s²."""
        t = np.clip(np.asarray(time_s, dtype=float), 0.0, self.end_s)
        out = {}
        for ch, polys in self._polys.items():
            out[ch] = [p(t) for p in polys]
        for osc in self._oscillators:
            i0, i1 = np.searchsorted(t, [osc.t0_s, osc.t1_s])
            if i1 <= i0:
                continue
            ts = t[i0:i1]
            e, de, dde = _envelope(ts, osc)
            w = 2 * np.pi * osc.freq_hz
            s, c = np.sin(w * ts + osc.phase), np.cos(w * ts + osc.phase)
            x, dx, ddx = out[osc.channel]
            x[i0:i1] += osc.amp * e * s
            dx[i0:i1] += osc.amp * (de * s + e * w * c)
            ddx[i0:i1] += osc.amp * (dde * s + 2 * de * w * c - e * w**2 * s)
        return {ch: tuple(v) for ch, v in out.items()}
