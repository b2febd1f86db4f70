"""Simulate a whole gym session: the spec, the run, and the files it writes.

`simulate_session` turns a `SessionSpec` into what the sensors would have sent (`samples`, `streams`)
and what really happened (`truth`, `truth_angles`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from imuform.errors import InputError
from imuform.simulator import exercises as ex
from imuform.simulator.activities import OTHER_ACTIVITIES, Person, Script
from imuform.simulator.body import SEGMENT_OF, placement_motion
from imuform.simulator.magnetics import Gym, earth_field_uT, magnetometer_uT
from imuform.simulator.sensor_model import (
    MIN_INTERNAL_RATE_HZ,
    ErrorModel,
    SensorParams,
    add_errors,
    draw_params,
    measure,
    sample_times,
    transport,
)
from imuform.simulator.timeline import Timeline, Trajectories
from imuform.simulator.truth import JUDGED_LIMITS, set_truth, truth_angles

PLACEMENTS = ("lumbar", "thoracic", "upper_thoracic", "thigh")
MIN_RATE_HZ, MAX_RATE_HZ = 25.0, 400.0


@dataclass
class SetSpec:
    """One set.

    Attributes
    ----------
    exercise
        One of `EXERCISES`.
    reps
        Number of reps (≥ 1; ≥ 3 for ``flexion_drift``).
    fault
        One of `FAULTS`; ``rounded_back_extension`` only on back extensions.
    touch_and_go
        Deadlift style; None draws it (dead stop or touch-and-go, half each).
    clean_flexion_deg
        The lifter's own lumbar flexion at the bottom of a clean rep, deg (only with fault ``none``); None
        draws it per set from the exercise's clean range. A lifter simulated over weeks keeps one value.
    extra_flexion_deg
        Lumbar flexion added at the bottom of each rep on top of the clean amount, deg, one value per rep
        (missing values are 0): form that breaks under load or fatigue (`imuform.simulator.weeks`).
    """

    exercise: str = "deadlift"
    reps: int = 5
    fault: str = "none"
    touch_and_go: bool | None = None
    clean_flexion_deg: float | None = None
    extra_flexion_deg: tuple[float, ...] = ()


def _default_sets() -> list[SetSpec]:
    return [SetSpec("deadlift", 5, "none") for _ in range(3)]


@dataclass
class SessionSpec:
    """What to simulate.

    Attributes
    ----------
    sets
        The sets, in order.
    rate_hz
        Sensor output rate, 25-400 Hz (and the rate of the truth angles).
    sensor_rates_hz
        Rates of particular placements that differ from ``rate_hz`` (mixed sensors).
    sensors
        Placements; ``lumbar`` and ``thoracic`` are required, ``upper_thoracic`` and ``thigh`` optional.
    seed
        Seeds everything: the same spec gives the same bytes.
    ideal
        A perfect sensor (no noise, bias, wobble, filter, clock error, loss or jitter) when ``errors``
        is None; misalignment is then 0 unless ``errors`` says otherwise.
    errors
        Error magnitudes; None means `ErrorModel()` (realistic) or `ErrorModel.ideal()`.
    magnetometer
        Simulate a magnetometer (mag columns in samples.csv).
    calibration_s
        Quiet standing at the start, for calibrating neutral.
    rom_calibration
        Maximal flexion and extension after the quiet standing (calibrates the range of motion).
    rest_s
        Rest between sets drawn from this range, s.
    between_sets
        Walk, sit and fetch plates while resting (False: stand still).
    person
        The lifter; None draws one from the seed (a lifter simulated over weeks keeps one).
    other_activities
        Before the first set and in every rest, one bout of something that is no gym exercise
        (`activities.OTHER_ACTIVITIES`: seated bends, side bends, twists, picking things up), drawn at
        random; truth.json lists them under ``other``.
    """

    sets: list[SetSpec] = field(default_factory=_default_sets)
    rate_hz: float = 100.0
    sensor_rates_hz: dict[str, float] = field(default_factory=dict)
    sensors: tuple[str, ...] = ("lumbar", "thoracic")
    seed: int = 0
    ideal: bool = False
    errors: ErrorModel | None = None
    magnetometer: bool = True
    calibration_s: float = 10.0
    rom_calibration: bool = True
    rest_s: tuple[float, float] = (45.0, 90.0)
    between_sets: bool = True
    person: Person | None = None
    other_activities: bool = False

    @property
    def error_model(self) -> ErrorModel:
        """The error magnitudes in effect."""
        if self.errors is not None:
            return self.errors
        return ErrorModel.ideal() if self.ideal else ErrorModel()

    def validate(self) -> None:
        """Raise `InputError` with the fix when the spec cannot be simulated."""
        if not self.sets:
            raise InputError("no sets to simulate; give at least one set (e.g. --sets 1)")
        for i, s in enumerate(self.sets, 1):
            if s.exercise not in ex.EXERCISES:
                raise InputError(f"set {i}: unknown exercise {s.exercise!r}; choose one of {', '.join(ex.EXERCISES)}")
            if s.fault not in ex.FAULTS:
                raise InputError(f"set {i}: unknown fault {s.fault!r}; choose one of {', '.join(ex.FAULTS)}")
            if not ex.compatible(s.exercise, s.fault):
                raise InputError(
                    f"set {i}: {s.fault} needs a back extension; use back_extension_45 or back_extension_90"
                )
            if s.reps < 1 or (s.fault == "flexion_drift" and s.reps < 3):
                raise InputError(
                    f"set {i}: {s.reps} reps is too few; use at least {3 if s.fault == 'flexion_drift' else 1}"
                )
        for rate in (self.rate_hz, *self.sensor_rates_hz.values()):
            if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
                raise InputError(f"rate {rate:g} Hz is out of range; use {MIN_RATE_HZ:g} to {MAX_RATE_HZ:g} Hz")
        unknown = [p for p in self.sensors if p not in PLACEMENTS]
        if unknown or not {"lumbar", "thoracic"} <= set(self.sensors) or len(set(self.sensors)) != len(self.sensors):
            raise InputError(
                f"bad sensors {','.join(self.sensors)}; use lumbar,thoracic plus optionally upper_thoracic and thigh"
            )


@dataclass
class SensorStream:
    """Everything one simulated sensor produced (the virtual BLE sensors replay these).

    Attributes
    ----------
    placement
        Where it is strapped.
    params
        Its drawn parameters.
    true_time_s
        Sample instants on the true session clock.
    time_s
        The sensor's timestamps mapped to the session (clock offset and drift included).
    device_time_s
        The sensor's own clock (``time_s`` plus its boot time).
    host_time_s
        When the host received each sample (NaN when lost).
    acc_mps2, gyr_dps, mag_uT
        Readings in the sensor frame, (n, 3); ``mag_uT`` is None without a magnetometer.
    lost
        Samples lost in packet-loss bursts.
    spikes
        Indices of glitched samples.
    quat_world_sensor_wxyz
        True sensor orientation (without soft-tissue wobble), (n, 4).
    position_m
        True position of the sensor point, world frame, (n, 3).
    """

    placement: str
    params: SensorParams
    true_time_s: np.ndarray
    time_s: np.ndarray
    device_time_s: np.ndarray
    host_time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray
    mag_uT: np.ndarray | None
    lost: np.ndarray
    spikes: np.ndarray
    quat_world_sensor_wxyz: np.ndarray
    position_m: np.ndarray

    def gaps(self) -> list[tuple[float, float]]:
        """Runs of lost samples as ``(first, last)`` lost timestamp (s, the sensor's ``time_s``)."""
        edges = np.diff(np.r_[0, self.lost.astype(np.int8), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        return [(float(self.time_s[a]), float(self.time_s[b])) for a, b in zip(starts, ends)]

    def samples(self, device_time: bool = False) -> pd.DataFrame:
        """The received samples in the samples-table format (lost ones left out).

        With ``device_time`` the table has ``device_time_s`` too, as the store keeps it.
        """
        keep = ~self.lost
        cols = {"sensor": self.placement, "time_s": self.time_s[keep]}
        if device_time:
            cols["device_time_s"] = self.device_time_s[keep]
        groups = [("acc", self.acc_mps2), ("gyr", self.gyr_dps)] + (
            [("mag", self.mag_uT)] if self.mag_uT is not None else []
        )
        for name, values in groups:
            for k, axis in enumerate("xyz"):
                cols[f"{name}_{axis}"] = values[keep, k]
        return pd.DataFrame(cols)


@dataclass
class SimulatedSession:
    """The result of `simulate_session`.

    Attributes
    ----------
    spec
        What was simulated.
    samples
        Long samples table (samples.csv columns); ``time_s`` is the sensors' own timestamps.
    truth
        The truth.json document.
    truth_angles
        True angles on the true session clock at the sensor rate.
    streams
        Per placement, everything the sensor produced.
    """

    spec: SessionSpec
    samples: pd.DataFrame
    truth: dict
    truth_angles: pd.DataFrame
    streams: dict[str, SensorStream]

    def write(self, out_dir: str | Path) -> Path:
        """Write ``samples.csv``, ``truth.json`` and ``truth_angles.csv`` into ``out_dir``."""
        from imuform.io_csv import write_samples_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_samples_csv(self.samples, out / "samples.csv")
        write_truth(out, self.truth, self.truth_angles)
        return out


def plain_json(doc: dict) -> dict:
    """``doc`` as plain JSON values (numpy scalars and arrays as Python ones); a NaN in the truth is a bug and raises."""
    return json.loads(json.dumps(doc, allow_nan=False, default=lambda value: value.tolist()))


def write_truth(out_dir: Path, truth: dict, truth_angles: pd.DataFrame) -> list[Path]:
    """Write ``truth.json`` and ``truth_angles.csv`` into the existing ``out_dir``; return their paths."""
    paths = [out_dir / "truth.json", out_dir / "truth_angles.csv"]
    paths[0].write_text(json.dumps(truth, indent=1, allow_nan=False) + "\n")
    truth_angles.to_csv(paths[1], index=False, float_format="%.10g")
    return paths


def _rest(script: Script, rng: np.random.Generator, duration_s: float, active: bool, other: bool) -> None:
    """Rest between sets: stand, maybe do something else (``other``), maybe fetch a plate, walk to a bench and
    sit, walk back."""
    end = script.tl.time_s + duration_s
    script.stand(rng.uniform(5.0, 10.0))
    if other:
        _other_bout(script, rng)
    if active:
        if rng.random() < 0.5:
            script.pick_plate()
        dist = rng.uniform(2.0, 5.0)
        script.walk(dist)
        script.turn()
        # leave time to walk back, turn and stand before the next set
        script.sit(max(end - script.tl.time_s - dist / 1.1 - 6.0, 10.0))
        script.walk(dist)
        script.turn()
    script.stand(max(end - script.tl.time_s, 2.0))


def _other_bout(script: Script, rng: np.random.Generator) -> None:
    """One bout of a random `OTHER_ACTIVITIES` kind, with standing before and after it."""
    script.other_activity(str(rng.choice(OTHER_ACTIVITIES)))
    script.stand(rng.uniform(5.0, 8.0))


def _script_session(
    spec: SessionSpec, rng: np.random.Generator, person: Person, rep_model: ex.RepModel
) -> tuple[Timeline, Script, dict]:
    """Write the whole session into a timeline; return it, the script's logs and the calibration windows."""
    tl = Timeline()
    script = Script(tl, rng, person, rep_model)
    script.stand(spec.calibration_s, fidget=False)
    calibration = {"quiet_standing": {"start_s": 0.0, "end_s": spec.calibration_s}}
    if spec.rom_calibration:
        calibration |= script.rom_calibration()
    if spec.between_sets:
        script.walk(rng.uniform(3.0, 5.0))
    if spec.other_activities:
        script.stand(rng.uniform(3.0, 5.0))
        _other_bout(script, rng)
    script.stand(rng.uniform(2.0, 4.0))
    for i, s in enumerate(spec.sets):
        script.exercise_set(s.exercise, s.reps, s.fault, s.touch_and_go, s.clean_flexion_deg, s.extra_flexion_deg)
        if i < len(spec.sets) - 1:
            _rest(script, rng, rng.uniform(*spec.rest_s), spec.between_sets, spec.other_activities)
    script.stand(rng.uniform(3.0, 5.0))
    # breathing and postural sway run all the time
    breath_hz = rng.uniform(0.2, 0.3)
    for ch, amp, freq, phase in (
        ("thoracic_flexion_deg", 0.6, breath_hz, 0.0),
        ("lumbar_flexion_deg", 0.3, breath_hz, 0.3),
        ("pelvis_incl_deg", 0.3, rng.uniform(0.08, 0.15), rng.uniform(0, 2 * np.pi)),
        ("hip_x_m", 0.004, rng.uniform(0.08, 0.15), rng.uniform(0, 2 * np.pi)),
    ):
        tl.oscillate(ch, amp, freq, phase, 0.0, tl.time_s, 1.0)
    return tl, script, calibration


def _bar_positions_m(
    ch: dict, truth_sets: list[dict], person: Person
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Per barbell set, the bar's centre (world, m) and the lifter's left direction at the samples of ``ch``.

    The arms hang from the shoulders, so a bar in the hands sits 62 cm (scaled) below a point 10 cm in
    front of the T3 sensor; a bar on the back rests 6 cm above that sensor, on the upper trapezius.
    """
    seg, point = placement_motion(ch, "upper_thoracic", person.size)
    forward, up = seg.rot.apply([1.0, 0.0, 0.0]), seg.rot.apply([0.0, 0.0, 1.0])
    h = np.radians(ch["heading_deg"][0])
    left = np.column_stack([-np.sin(h), np.cos(h), np.zeros_like(h)])
    bars, lefts = {}, {}
    for i, st in enumerate(truth_sets):
        prof = ex.PROFILES[st["exercise"]]
        if not prof.barbell:
            continue
        if prof.bar_on_back:
            bars[i] = point.pos_m + 0.06 * person.size * up
        else:
            bars[i] = point.pos_m + 0.10 * person.size * forward - [0.0, 0.0, 0.62 * person.size]
        lefts[i] = left
    return bars, lefts


def draw_gym(traj: Trajectories, truth_sets: list[dict], errors: ErrorModel, seq: np.random.SeedSequence) -> Gym:
    """The session's gym (`magnetics.Gym`), the same for every sensor, from its own random stream."""
    sets = []
    for st in truth_sets:
        prof = ex.PROFILES[st["exercise"]]
        at = traj(np.array([st["start_s"]]))
        sets.append(
            {
                "barbell": prof.barbell,
                "rack": prof.barbell and not prof.from_floor,
                "hip_m": [float(at["hip_x_m"][0][0]), float(at["hip_y_m"][0][0]), 0.0],
                "heading_deg": float(at["heading_deg"][0][0]),
            }
        )
    return Gym.draw(sets, errors.bar_field_uT, traj.end_s, np.random.default_rng(seq))


def _simulate_sensor(
    spec: SessionSpec,
    traj: Trajectories,
    placement: str,
    person: Person,
    truth_sets: list[dict],
    north_deg: float,
    gym: Gym,
    rng: np.random.Generator,
) -> SensorStream:
    """Run one sensor over the whole session."""
    errors = spec.error_model
    rate_hz = spec.sensor_rates_hz.get(placement, spec.rate_hz)
    params = draw_params(placement, rate_hz, errors, rng)
    true_t, time_s = sample_times(params, traj.end_s, rng)
    step = int(np.ceil(MIN_INTERNAL_RATE_HZ / rate_hz)) if (errors.dlpf or errors.wobble) else 1
    fs_hz = rate_hz * (1.0 + params.clock_drift_ppm * 1e-6) * step
    fine_t = true_t[0] + (np.arange(len(true_t) * step) - (step - 1)) / fs_hz
    ch = traj(fine_t)
    seg, point = placement_motion(ch, placement, person.size)
    meas = measure(seg, point, params, errors, fs_hz, step)
    acc, gyr, spikes = add_errors(meas["acc_mps2"], meas["gyr_dps"], true_t, params, errors, rng)
    rot_ws = meas["rot_world_sensor"]
    mag = None
    if spec.magnetometer:
        keep = slice(step - 1, None, step)
        at_samples = {name: tuple(v[keep] for v in values) for name, values in ch.items()}
        bars, lefts = _bar_positions_m(at_samples, truth_sets, person)
        windows = [(st["start_s"], st["end_s"]) for st in truth_sets]
        dist = gym.field_uT(true_t, point.pos_m[keep], windows, bars, lefts)
        mag = magnetometer_uT(
            rot_ws, earth_field_uT(north_deg), dist, params.mag_hard_iron_uT, errors.mag_noise_uT, rng
        )
    host, lost = transport(true_t, params, errors, rng)
    x, y, z, w = rot_ws.as_quat().T
    return SensorStream(
        placement=placement,
        params=params,
        true_time_s=true_t,
        time_s=time_s,
        device_time_s=time_s + params.boot_time_s,
        host_time_s=host,
        acc_mps2=acc,
        gyr_dps=gyr,
        mag_uT=mag,
        lost=lost,
        spikes=spikes,
        quat_world_sensor_wxyz=np.stack([w, x, y, z], axis=1),
        position_m=point.pos_m[step - 1 :: step],
    )


@dataclass
class _Motion:
    """The body's side of a simulation: trajectories, the lifter, and the truth computed from them."""

    traj: Trajectories
    person: Person
    truth: dict
    angles: pd.DataFrame
    north_deg: float
    sensor_seeds: list
    gym_seed: np.random.SeedSequence


def _simulate_motion(spec: SessionSpec, rep_model: ex.RepModel) -> _Motion:
    spec.validate()
    # independent streams: the motion does not change when sensors are added or removed
    # (the gym's stream comes last, so the motion and the sensors draw what they drew before it existed)
    motion_seq, *sensor_seqs, gym_seq = np.random.SeedSequence(spec.seed).spawn(2 + len(PLACEMENTS))
    rng = np.random.default_rng(motion_seq)
    person = Person.draw(rng)  # drawn even when given, so the rest of the motion draws the same numbers
    person = spec.person or person
    tl, script, calibration = _script_session(spec, rng, person, rep_model)
    north_deg = float(rng.uniform(0.0, 360.0))
    traj = tl.trajectories()
    t = np.arange(0.0, traj.end_s, 1.0 / spec.rate_hz)
    angles = truth_angles(traj, t, thoracic="upper_thoracic" in spec.sensors)
    truth = {
        "seed": spec.seed,
        "rate_hz": spec.rate_hz,
        "duration_s": traj.end_s,
        "sensors": list(spec.sensors),
        "segments": {p: SEGMENT_OF[p] for p in spec.sensors},
        "ideal": spec.ideal,
        "limits": asdict(JUDGED_LIMITS),
        "person": asdict(person),
        "calibration": calibration,
        "activities": script.activities,
        "other": [a for a in script.activities if a["kind"] in OTHER_ACTIVITIES],
        "sets": [set_truth(angles, log, i + 1, person.max_flexion_deg) for i, log in enumerate(script.sets)],
    }
    return _Motion(traj, person, truth, angles, north_deg, sensor_seqs, gym_seq)


def simulate_truth(
    spec: SessionSpec | None = None, rep_model: ex.RepModel = ex.DEFAULT_REP_MODEL
) -> tuple[dict, pd.DataFrame]:
    """The truth of a session without simulating the sensors (fast; for angle-level tests); ``rep_model`` as for
    `simulate_session`.

    Returns
    -------
    truth, truth_angles
        As `SimulatedSession.truth` (without the sensor parameters) and `SimulatedSession.truth_angles`;
        identical to those of `simulate_session` for the same spec.
    """
    motion = _simulate_motion(spec or SessionSpec(), rep_model)
    return plain_json(motion.truth), motion.angles


def simulate_session(
    spec: SessionSpec | None = None, rep_model: ex.RepModel = ex.DEFAULT_REP_MODEL
) -> SimulatedSession:
    """Simulate a session.

    Parameters
    ----------
    spec
        What to simulate (default: `SessionSpec()`, quiet standing then 3 sets of 5 deadlifts).
    rep_model
        How the reps of a set vary and how far its fault goes.

    Returns
    -------
    SimulatedSession
    """
    spec = spec or SessionSpec()
    motion = _simulate_motion(spec, rep_model)
    streams = {}
    gym = draw_gym(motion.traj, motion.truth["sets"], spec.error_model, motion.gym_seed)
    for placement in spec.sensors:
        sensor_rng = np.random.default_rng(motion.sensor_seeds[PLACEMENTS.index(placement)])
        streams[placement] = _simulate_sensor(
            spec, motion.traj, placement, motion.person, motion.truth["sets"], motion.north_deg, gym, sensor_rng
        )
    samples = pd.concat([s.samples() for s in streams.values()], ignore_index=True)
    truth = {
        **motion.truth,
        "sensor_params": {p: s.params.to_dict() for p, s in streams.items()},
        "error_model": asdict(spec.error_model),
        "magnetic_north_heading_deg": motion.north_deg,
    }
    return SimulatedSession(spec, samples, plain_json(truth), motion.angles, streams)
