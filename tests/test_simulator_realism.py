"""The simulator against real recordings in ../shared/data: noise at rest and the speed of a hip hinge.

Skips when the shared data are absent. The comparisons are order-of-magnitude on purpose: the point is
that the simulator is neither suspiciously clean nor implausibly fast or slow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imuform.simulator import SessionSpec, SetSpec, simulate_session

SHARED = Path(os.environ.get("IMUFORM_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
DATA = SHARED / "data"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real recordings not found at {DATA} (set IMUFORM_SHARED)")


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real recordings not found at {path} (set IMUFORM_SHARED)")
    return path


def _trunkyxl(path: Path) -> np.ndarray:
    """Gyroscope (deg/s) of one TrunkyXL sensor file."""
    lines = path.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("ax"))
    table = (
        pd.read_csv(path, sep="\t", skiprows=header, usecols=range(9)).apply(pd.to_numeric, errors="coerce").dropna()
    )
    return table[["gx", "gy", "gz"]].to_numpy()


def _quietest_std(gyr_dps: np.ndarray, window: int) -> float:
    """Largest per-axis standard deviation in the stillest window."""
    stds = [gyr_dps[i : i + window].std(axis=0).max() for i in range(0, len(gyr_dps) - window, window // 2)]
    return float(min(stds))


@pytest.fixture(scope="module")
def sim():
    spec = SessionSpec(
        sets=[SetSpec("romanian_deadlift", 4), SetSpec("good_morning", 4)], rate_hz=50.0, seed=8, rest_s=(20.0, 30.0)
    )
    return simulate_session(spec)


def test_gyroscope_noise_at_rest_is_like_a_real_sensor(sim):
    files = sorted(_need(DATA / "trunkyxl_pp02").glob("*Sensor3.csv"))
    real = min(_quietest_std(_trunkyxl(f), 50) for f in files)
    s = sim.streams["lumbar"]
    still = (s.true_time_s > 2.0) & (s.true_time_s < sim.truth["calibration"]["quiet_standing"]["end_s"]) & ~s.lost
    simulated = _quietest_std(s.gyr_dps[still], 50)
    assert real / 3 < simulated < real * 3, (simulated, real)


def test_hinge_speed_is_like_a_real_forward_bend(sim):
    table = pd.read_csv(_need(DATA / "spinewise" / "labeled_calibration.csv"))
    bends = table[table["label2"] == "benen_gestrekt"]
    real = np.linalg.norm(bends[["gyr_x_n", "gyr_y_n", "gyr_z_n"]].to_numpy(), axis=1).max()
    s = sim.streams["thoracic"]
    in_sets = np.zeros(len(s.true_time_s), dtype=bool)
    for st in sim.truth["sets"]:
        in_sets |= (s.true_time_s >= st["start_s"]) & (s.true_time_s <= st["end_s"])
    # movement speed, not the simulated glitches (one landed in a set once reps got bounces and sticking points)
    glitch = np.isin(np.arange(len(s.true_time_s)), s.spikes)
    simulated = np.linalg.norm(s.gyr_dps[in_sets & ~s.lost & ~glitch], axis=1).max()
    assert real / 3 < simulated < real * 3, (simulated, real)
