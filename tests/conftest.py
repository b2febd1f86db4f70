"""Shared fixtures: a temporary imuform home and small sample tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh imuform home directory, also set as IMUFORM_HOME."""
    path = tmp_path / "home"
    monkeypatch.setenv("IMUFORM_HOME", str(path))
    return path


def make_samples(
    n: int = 500,
    rate_hz: float = 100.0,
    placements=("lumbar", "thoracic"),
    mag: bool = False,
    quat: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """A small, valid samples table with noisy still sensors."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, placement in enumerate(placements):
        t = np.arange(n) / rate_hz + 0.003 * k
        acc = rng.normal(0.0, 0.05, (n, 3)) + [0.0, 0.0, 9.81]
        gyr = rng.normal(0.0, 0.5, (n, 3))
        cols = {
            "sensor": placement,
            "time_s": t,
            "acc_x": acc[:, 0],
            "acc_y": acc[:, 1],
            "acc_z": acc[:, 2],
            "gyr_x": gyr[:, 0],
            "gyr_y": gyr[:, 1],
            "gyr_z": gyr[:, 2],
        }
        if mag:
            m = rng.normal(0.0, 1.0, (n, 3)) + [20.0, 0.0, -40.0]
            cols.update({"mag_x": m[:, 0], "mag_y": m[:, 1], "mag_z": m[:, 2]})
        if quat:
            q = rng.normal(0.0, 1.0, (n, 4))
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            cols.update({"quat_w": q[:, 0], "quat_x": q[:, 1], "quat_y": q[:, 2], "quat_z": q[:, 3]})
        parts.append(pd.DataFrame(cols))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def samples() -> pd.DataFrame:
    """Two still sensors, 5 s at 100 Hz."""
    return make_samples()
