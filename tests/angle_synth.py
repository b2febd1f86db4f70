"""Synthetic angle tables for the set, rep and classification tests: movements built from phases.

Each movement moves the trunk from its top posture by ``depth_deg`` along a raised-cosine path and back;
pelvis and lumbar follow the trunk in fixed shares, so the expected metrics are known in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.session import ANGLE_COLUMNS


@dataclass
class Rep:
    """One excursion: top posture, depth and tempo (s); the shares say how pelvis and lumbar follow."""

    depth_deg: float = 60.0
    top_deg: float = 0.0
    eccentric_s: float = 1.2
    bottom_s: float = 0.2
    concentric_s: float = 1.0
    top_s: float = 0.8
    hip_share: float = 0.8
    lumbar_share: float = 0.15
    lumbar_offset_deg: float = 0.0
    lockout_lumbar_deg: float = 0.0
    bend_deg: float = 0.0
    twist_deg: float = 0.0


def _ramp(n: int) -> np.ndarray:
    """Raised-cosine rise from 0 to 1 over n samples."""
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n)) if n > 1 else np.ones(n)


def build(parts: list, rate_hz: float = 100.0, seed: int = 0, noise_deg: float = 0.2) -> pd.DataFrame:
    """An angle table from a list of `Rep` and ``("rest", seconds, {column: value})`` items.

    Rests hold the given angles (default upright neutral); a small noise is added everywhere.
    """
    cols: dict[str, list[np.ndarray]] = {c: [] for c in ANGLE_COLUMNS[1:]}
    for part in parts:
        if isinstance(part, Rep):
            n_e, n_b, n_c, n_t = (
                max(int(round(x * rate_hz)), 1)
                for x in (part.eccentric_s, part.bottom_s, part.concentric_s, part.top_s)
            )
            shape = np.r_[_ramp(n_e), np.ones(n_b), _ramp(n_c)[::-1], np.zeros(n_t)]
            d = part.depth_deg * shape
            lockout = np.r_[np.zeros(n_e + n_b + n_c), np.full(n_t, part.lockout_lumbar_deg)]
            # hyperextension at lockout builds up through the end of the concentric
            lockout[n_e + n_b : n_e + n_b + n_c] = part.lockout_lumbar_deg * _ramp(n_c)
            cols["trunk_inclination_deg"].append(part.top_deg + d)
            cols["pelvis_inclination_deg"].append(part.top_deg + part.hip_share * d)
            cols["lumbar_flexion_deg"].append(part.lumbar_offset_deg + part.lumbar_share * d + lockout)
            cols["lumbar_lateral_bend_deg"].append(part.bend_deg * shape)
            cols["lumbar_twist_deg"].append(part.twist_deg * shape)
        else:
            _, seconds, values = part
            n = int(round(seconds * rate_hz))
            for c in cols:
                value = values.get(c, 0.0)
                cols[c].append(value(np.arange(n) / rate_hz) if callable(value) else np.full(n, float(value)))
    data = {c: np.concatenate(v) for c, v in cols.items()}
    n = len(data["trunk_inclination_deg"])
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"time_s": np.arange(n) / rate_hz})
    for c in ANGLE_COLUMNS[1:]:
        table[c] = data[c] + rng.normal(0.0, noise_deg, n)
    return table


def rest(seconds: float = 5.0, **values) -> tuple:
    """A rest holding ``values`` (angle columns; constants or functions of time in s)."""
    return ("rest", seconds, values)


def gesture(column: str, amplitude_deg: float, seconds: float = 2.0, **follow: float) -> tuple:
    """A non-rep movement: ``column`` swings to ``amplitude_deg`` and back, other columns follow by share."""

    def shape(t: np.ndarray, scale: float = 1.0) -> np.ndarray:
        return scale * amplitude_deg * np.sin(np.pi * t / seconds) ** 2

    values = {column: shape, **{c: (lambda t, s=s: shape(t, s)) for c, s in follow.items()}}
    return ("rest", seconds, values)
