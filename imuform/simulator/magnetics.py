"""Magnetometer readings: the Earth's field, the gym's steel (racks, plates, the bar, steel carried past),
hard iron and noise."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def dipole_field_uT(moment_Am2: np.ndarray, source_m: np.ndarray, sensor_m: np.ndarray) -> np.ndarray:
    """Field of a magnetic dipole at the sensor, world frame, µT: ``μ0/4π (3(m·r̂)r̂ − m) / r³``.

    Parameters
    ----------
    moment_Am2
        Dipole moment, A·m², (3,) or (n, 3).
    source_m, sensor_m
        Positions of the dipole and the sensor, m, (3,) or (n, 3).
    """
    r = np.atleast_2d(np.asarray(sensor_m, dtype=float) - np.asarray(source_m, dtype=float))
    dist = np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 0.05)  # nothing sits inside the sensor
    unit = r / dist
    m = np.broadcast_to(np.asarray(moment_Am2, dtype=float), r.shape)
    # μ0/4π = 1e-7 T·m/A = 0.1 µT·m³/(A·m²)
    return 0.1 * (3.0 * np.sum(m * unit, axis=1, keepdims=True) * unit - m) / dist**3


def moment_for_field_Am2(field_uT: float, distance_m: float) -> float:
    """Dipole moment whose field on its axis at ``distance_m`` is ``field_uT`` (``B = 0.2 m / r³`` µT)."""
    return field_uT * distance_m**3 / 0.2


@dataclass(frozen=True)
class GymMagneticsModel:
    """How much steel a gym has and where: the sizes the simulated gym is drawn from.

    Gym steel is modelled as magnetic dipoles: a rack in front of every set taken from a rack, a few
    static objects (plate trees, dumbbell racks, machines) around the session's area, the loaded plates
    at the bar's ends, the bar itself (its remanence: a few µT close to it, `ErrorModel.bar_field_uT` at
    15 cm), and steel carried past by other people. Dipoles fall off with the cube of the distance, so a
    bar on the upper back barely reaches the T10-T12 sensor 25-35 cm below it.

    Attributes
    ----------
    rack_field_uT, rack_distance_m
        Field of a rack at 0.5 m, µT, and how far in front of the lifter it stands during the set, m.
    static_count, static_field_uT, static_radius_m, static_height_m
        Number of other steel objects, their field at 0.5 m (µT), how far from the session's start they
        stand (m) and at what height (m).
    plate_field_uT, plate_offset_m
        Field of a loaded bar end at 0.2 m (µT) and its distance from the bar's centre (m).
    bar_spread
        Per set, the bar's field is ``bar_field_uT`` times a factor drawn from this range.
    passing_per_min, passing_field_uT, passing_s, passing_distance_m
        Steel carried past by others: rate (per minute), field at 0.3 m (µT), how long a pass takes (s)
        and how near its path comes (m).
    """

    rack_field_uT: tuple[float, float] = (10.0, 30.0)
    rack_distance_m: tuple[float, float] = (0.7, 1.0)
    static_count: tuple[int, int] = (2, 5)
    static_field_uT: tuple[float, float] = (5.0, 30.0)
    static_radius_m: tuple[float, float] = (1.0, 4.0)
    static_height_m: tuple[float, float] = (0.0, 1.5)
    plate_field_uT: tuple[float, float] = (5.0, 15.0)
    plate_offset_m: float = 0.9
    bar_spread: tuple[float, float] = (0.4, 1.6)
    passing_per_min: float = 0.5
    passing_field_uT: tuple[float, float] = (5.0, 15.0)
    passing_s: tuple[float, float] = (5.0, 20.0)
    passing_distance_m: tuple[float, float] = (0.8, 3.0)


def _random_direction(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


@dataclass
class Gym:
    """One drawn gym: static steel, the bar of each set and steel passing by (the same for every sensor).

    Attributes
    ----------
    static
        ``(position_m, moment_Am2)`` of each static object, world frame.
    racks
        Per set index (from 0), ``(position_m, moment_Am2)`` of the rack it was taken from, or None.
    bars
        Per set index, ``(bar moment, plate moment)`` in A·m², world frame, or None without a barbell.
    passes
        ``(start_s, end_s, from_m, to_m, moment_Am2)`` of each pass.
    """

    static: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    racks: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    bars: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    passes: list[tuple[float, float, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    @classmethod
    def draw(
        cls,
        sets: list[dict],
        bar_field_uT: float,
        duration_s: float,
        rng: np.random.Generator,
        model: GymMagneticsModel = GymMagneticsModel(),
    ) -> Gym:
        """A gym for a session.

        Parameters
        ----------
        sets
            Per set: ``barbell`` and ``rack`` (bools), ``hip_m`` (hip centre at the set's start, world,
            m) and ``heading_deg``.
        bar_field_uT
            The bar's field at 15 cm, µT (`ErrorModel.bar_field_uT`); 0 leaves the bar out (not its plates;
            the draws are the same whatever the value, so only the bar changes).
        duration_s
            Session length, s.
        rng
            The gym's own random stream.
        model
            The sizes.
        """
        gym = cls()
        for _ in range(int(rng.integers(model.static_count[0], model.static_count[1] + 1))):
            angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(*model.static_radius_m)
            pos = np.array([radius * np.cos(angle), radius * np.sin(angle), rng.uniform(*model.static_height_m)])
            moment = moment_for_field_Am2(rng.uniform(*model.static_field_uT), 0.5) * _random_direction(rng)
            gym.static.append((pos, moment))
        for i, s in enumerate(sets):
            h = np.radians(s["heading_deg"])
            forward = np.array([np.cos(h), np.sin(h), 0.0])
            if s["rack"]:
                pos = np.asarray(s["hip_m"]) + rng.uniform(*model.rack_distance_m) * forward
                moment = moment_for_field_Am2(rng.uniform(*model.rack_field_uT), 0.5) * _random_direction(rng)
                gym.racks[i] = (pos, moment)
            if s["barbell"]:
                bar = moment_for_field_Am2(bar_field_uT * rng.uniform(*model.bar_spread), 0.15)
                plate = moment_for_field_Am2(rng.uniform(*model.plate_field_uT), 0.2)
                gym.bars[i] = (bar * _random_direction(rng), plate * _random_direction(rng))
        for _ in range(int(rng.poisson(model.passing_per_min * duration_s / 60.0))):
            start = rng.uniform(0.0, duration_s)
            angle, near = rng.uniform(0, 2 * np.pi), rng.uniform(*model.passing_distance_m)
            centre = near * np.array([np.cos(angle), np.sin(angle), 0.0]) + [0.0, 0.0, 0.8]
            along = 3.0 * np.array([-np.sin(angle), np.cos(angle), 0.0])
            moment = moment_for_field_Am2(rng.uniform(*model.passing_field_uT), 0.3) * _random_direction(rng)
            gym.passes.append((start, start + rng.uniform(*model.passing_s), centre - along, centre + along, moment))
        return gym

    def field_uT(
        self,
        time_s: np.ndarray,
        sensor_m: np.ndarray,
        set_windows_s: list[tuple[float, float]],
        bar_m: dict[int, np.ndarray],
        left_m: dict[int, np.ndarray],
    ) -> np.ndarray:
        """The gym's field at a sensor, world frame, µT, (n, 3).

        Parameters
        ----------
        time_s
            Instants, s.
        sensor_m
            The sensor's position at those instants, world, m, (n, 3).
        set_windows_s
            ``(start_s, end_s)`` of each set: the bar is in play there (ramping over 2 s either side).
        bar_m, left_m
            Per set with a barbell, the bar's centre (m) and the lifter's left direction, (n, 3) each.
        """
        out = np.zeros((len(time_s), 3))
        for pos, moment in self.static:
            out += dipole_field_uT(moment, pos, sensor_m)
        for i, (start_s, end_s) in enumerate(set_windows_s):
            w = bar_weight(time_s, [(start_s, end_s)], ramp_s=2.0)[:, None]
            if i in self.racks:
                out += dipole_field_uT(self.racks[i][1], self.racks[i][0], sensor_m)
            if i in self.bars:
                bar, plate = self.bars[i]
                field_at = dipole_field_uT(bar, bar_m[i], sensor_m)
                for side in (1.0, -1.0):
                    field_at += dipole_field_uT(plate, bar_m[i] + side * 0.9 * left_m[i], sensor_m)
                out += w * field_at
        for start_s, end_s, a_m, b_m, moment in self.passes:
            inside = (time_s >= start_s) & (time_s <= end_s)
            if inside.any():
                share = ((time_s[inside] - start_s) / (end_s - start_s))[:, None]
                out[inside] += dipole_field_uT(moment, a_m + share * (b_m - a_m), sensor_m[inside])
        return out
