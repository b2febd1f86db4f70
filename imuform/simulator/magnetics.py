"""Magnetometer readings: the Earth's field, a steel bar near the sensor, hard iron and noise."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

#: Total field and dip of a mid-latitude site (central Europe), µT and degrees.
EARTH_FIELD_UT = 48.0
EARTH_DIP_DEG = 65.0


def earth_field_uT(north_heading_deg: float) -> np.ndarray:
    """Earth's field in the world frame (z up) when magnetic north lies at ``north_heading_deg`` from x."""
    h, dip = np.radians(north_heading_deg), np.radians(EARTH_DIP_DEG)
    return EARTH_FIELD_UT * np.array([np.cos(dip) * np.cos(h), np.cos(dip) * np.sin(h), -np.sin(dip)])


def bar_weight(true_time_s: np.ndarray, sets: list[dict], ramp_s: float = 1.0) -> np.ndarray:
    """How close a steel bar is, 0 to 1, per instant: ramps up over ``ramp_s`` around each barbell set.

    Parameters
    ----------
    true_time_s
        Instants on the true session clock.
    sets
        ``(start_s, end_s)`` of each set with a barbell.
    """
    w = np.zeros_like(true_time_s)
    for start_s, end_s in sets:
        up = np.clip((true_time_s - start_s + ramp_s) / ramp_s, 0.0, 1.0)
        down = np.clip((end_s + ramp_s - true_time_s) / ramp_s, 0.0, 1.0)
        w = np.maximum(w, np.minimum(up, down))
    return w


def magnetometer_uT(
    rot_world_sensor: Rotation,
    field_world_uT: np.ndarray,
    disturbance_world_uT: np.ndarray,
    hard_iron_uT: np.ndarray,
    noise_uT: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Magnetometer readings in the sensor frame, µT.

    Parameters
    ----------
    rot_world_sensor
        Sensor orientation per sample.
    field_world_uT
        Undisturbed field in the world frame, (3,).
    disturbance_world_uT
        Extra field per sample in the world frame (a steel bar nearby), (n, 3).
    hard_iron_uT
        Constant offset of the sensor's own electronics, sensor frame, (3,).
    noise_uT
        White noise, rms.
    rng
        Seeded generator.
    """
    n = len(rot_world_sensor)
    b = rot_world_sensor.inv().apply(field_world_uT + disturbance_world_uT)
    return b + np.asarray(hard_iron_uT) + rng.normal(0.0, noise_uT, (n, 3))
