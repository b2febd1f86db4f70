"""The baseline pipeline: the common open-source approach, measured side by side with ours.

Per sensor, the `ahrs` package's Madgwick filter runs sample by sample; inclinations come from a
row-wise pandas ``apply``; the two sensors are joined with ``merge_asof``; the lumbar angle is smoothed
with a rolling mean and reps are counted by walking the rows. It is what a straightforward script
written from tutorials looks like, and it is what imuform's vectorised pipeline is compared against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ahrs.filters import Madgwick


def _inclination_deg(row: pd.Series) -> float:
    w, x, y, z = row["qw"], row["qx"], row["qy"], row["qz"]
    up_z = 1.0 - 2.0 * (x * x + y * y)
    fwd_z = 2.0 * (x * z - w * y)
    return float(np.degrees(np.arctan2(-fwd_z, up_z)))


def _orientation(group: pd.DataFrame) -> pd.DataFrame:
    rate_hz = 1.0 / np.median(np.diff(group["time_s"].to_numpy()))
    madgwick = Madgwick(frequency=rate_hz)
    q = np.array([1.0, 0.0, 0.0, 0.0])
    rows = []
    for row in group.itertuples(index=False):
        q = madgwick.updateIMU(
            q, gyr=np.radians([row.gyr_x, row.gyr_y, row.gyr_z]), acc=np.array([row.acc_x, row.acc_y, row.acc_z])
        )
        rows.append((row.time_s, *q))
    out = pd.DataFrame(rows, columns=["time_s", "qw", "qx", "qy", "qz"])
    out["inclination_deg"] = out.apply(_inclination_deg, axis=1)
    return out


def baseline_pipeline(samples: pd.DataFrame) -> dict:
    """Lumbar angle series and a rep count, the straightforward way.

    Parameters
    ----------
    samples
        The samples table with a `lumbar` and a `thoracic` sensor.

    Returns
    -------
    dict
        ``angles`` (DataFrame of time_s, trunk inclination, lumbar angle) and ``reps`` (int).
    """
    lumbar = _orientation(samples[samples["sensor"] == "lumbar"])
    thoracic = _orientation(samples[samples["sensor"] == "thoracic"])
    merged = pd.merge_asof(thoracic, lumbar, on="time_s", suffixes=("_t", "_l"), direction="nearest")
    merged["lumbar_deg"] = merged["inclination_deg_t"] - merged["inclination_deg_l"]
    merged["lumbar_deg"] = merged["lumbar_deg"] - merged["lumbar_deg"].iloc[:200].mean()
    merged["trunk_deg"] = merged["inclination_deg_t"].rolling(25, center=True, min_periods=1).mean()
    reps, down = 0, False
    for value in merged["trunk_deg"]:
        if not down and value > 30.0:
            down = True
        elif down and value < 15.0:
            down = False
            reps += 1
    return {"angles": merged[["time_s", "trunk_deg", "lumbar_deg"]], "reps": reps}
