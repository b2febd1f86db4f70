"""A lifter's weeks: a training programme with rising loads, form that breaks past a personal load, a
pain-free range that widens, the truth per set, and the lifter's own log in Strong's and Hevy's CSV formats.

Each session is an ordinary `SessionSpec` (warm-up and working sets of each exercise) simulated by
`simulate_session`; form breaks through `SetSpec.extra_flexion_deg` and the widening range through
`SessionSpec.person`. Nothing here comes from `analysis`. The model and its numbers: docs/simulator.md,
"Weeks of training".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from imuform.errors import InputError
from imuform.simulator import exercises as ex
from imuform.simulator.activities import Person
from imuform.simulator.session import SessionSpec, SetSpec, SimulatedSession, simulate_session

#: Names the lifting apps give the hinge exercises (Strong and Hevy share them).
APP_EXERCISE_NAMES = {
    "deadlift": "Deadlift (Barbell)",
    "romanian_deadlift": "Romanian Deadlift (Barbell)",
    "good_morning": "Good Morning (Barbell)",
}
KG_PER_LB = 0.45359237

#: Log formats `write_log` writes: Strong's current export (comma, kg, 24 h dates), its older semicolon export
#: with a weight-unit column (lbs here), Hevy's export in kg and in lbs.
LOG_FORMATS = ("strong", "strong_semicolon", "hevy", "hevy_lbs")
STRONG_COLUMNS = (
    "Date",
    "Workout Name",
    "Duration",
    "Exercise Name",
    "Set Order",
    "Weight",
    "Reps",
    "Distance",
    "Seconds",
    "Notes",
    "Workout Notes",
    "RPE",
)
STRONG_SEMICOLON_COLUMNS = (
    "Date",
    "Workout Name",
    "Exercise Name",
    "Set Order",
    "Weight",
    "Weight Unit",
    "Reps",
    "RPE",
    "Distance",
    "Distance Unit",
    "Seconds",
    "Notes",
    "Workout Notes",
    "Workout Duration",
)
HEVY_COLUMNS = (
    "title",
    "start_time",
    "end_time",
    "description",
    "exercise_title",
    "superset_id",
    "exercise_notes",
    "set_index",
    "set_type",
    "weight_kg",
    "reps",
    "distance_km",
    "duration_seconds",
    "rpe",
)


@dataclass(frozen=True)
class LiftProfile:
    """How one lifter performs one exercise over the weeks.

    Attributes
    ----------
    exercise
        A hinge of `APP_EXERCISE_NAMES`.
    start_kg
        Working load of the first heavy day, kg.
    step_kg
        Weekly increase of the working load, kg (linear progression: 2.5 or 5 kg).
    breaking_load_kg
        From this load on, form breaks: every rep flexes ``break_deg`` more, plus ``flexion_per_kg_deg``
        per kg above it.
    break_deg
        Extra lumbar flexion at and past the breaking load, and from the fatigue rep on in a tiring set, deg.
    flexion_per_kg_deg
        Further extra flexion per kg past the breaking load, deg/kg.
    clean_flexion_deg
        The lifter's own lumbar flexion at the bottom of a clean rep, deg.
    reps
        Reps of a working set.
    """

    exercise: str
    start_kg: float
    step_kg: float
    breaking_load_kg: float
    break_deg: float
    flexion_per_kg_deg: float
    clean_flexion_deg: float
    reps: int


@dataclass(frozen=True)
class WeeksSpec:
    """What to simulate.

    Attributes
    ----------
    weeks
        Number of weeks.
    sessions_per_week
        2 or 3; the days rotate heavy, light and medium (`TrainingModel.day_load_shares`).
    exercises
        Exercises of every session, in order.
    seed
        Seeds the lifter, the programme and every session.
    start_date
        Monday of the first week.
    rate_hz
        Sensor rate of the sessions.
    ideal
        Perfect sensors (`SessionSpec.ideal`).
    between_sets
        Walk and sit between sets (`SessionSpec.between_sets`); False makes sessions shorter to simulate.
    rest_s
        Rest between sets, s.
    fatigue_share
        Share of the working sets at 90 % or more of the breaking load (and below it) in which form breaks
        from a later rep on (fatigue).
    log_slip_share
        Share of working sets the lifter logs with one rep fewer or more than they did (the log is typed
        by hand; an importer has to list these mismatches).
    """

    weeks: int = 6
    sessions_per_week: int = 3
    exercises: tuple[str, ...] = ("deadlift", "romanian_deadlift")
    seed: int = 0
    start_date: dt.date = dt.date(2026, 1, 5)
    rate_hz: float = 50.0
    ideal: bool = False
    between_sets: bool = False
    rest_s: tuple[float, float] = (20.0, 40.0)
    fatigue_share: float = 0.5
    log_slip_share: float = 0.05


@dataclass(frozen=True)
class TrainingModel:
    """How the simulated lifter trains and how their form behaves over the weeks: the numbers of docs/simulator.md,
    "Weeks of training". They shape a plausible programme for the progress analysis to find its way through;
    none is a measured value unless its source is named.

    Attributes
    ----------
    day_load_shares
        Load of the heavy, light and medium day as a share of the week's working load (a common rotation of
        linear-progression programmes).
    warmups
        Warm-up sets before the working sets: (share of the working load, reps).
    working_sets
        Working sets per exercise and session.
    working_reps
        Reps of a working set per exercise (deadlifts heavier and fewer).
    start_load_kg
        Range of the first heavy day's working load per exercise, kg (drawn): a trained recreational lifter.
    step_choices_kg
        Weekly increases of the working load to draw from, kg (linear progression: the smallest plates).
    plate_step_kg
        Loads are rounded to this, kg (a pair of the smallest common plates).
    break_steps
        The breaking load lies this many weekly steps above the first heavy day's load (drawn, both ends
        included), so form holds in the first week and breaks within the weeks simulated.
    break_deg
        Extra lumbar flexion at the break, deg (drawn): well past the 1-2° a lifter's depth scatters from rep to
        rep, so a break is there to be found.
    flexion_per_kg_deg
        Further extra flexion per kg past the breaking load, deg/kg (drawn).
    fatigue_load_share
        Working sets at this share of the breaking load or more (and below it) may break from a later rep on.
    fatigue_min_reps
        Fewest reps of a set that can tire into a break.
    fatigue_first_rep
        The earliest rep from which a tiring set breaks (the onset is drawn from it to the last rep).
    rom_start_deg
        The pain-free flexion range in the first week, deg (drawn).
    rom_gain_deg
        How much the range widens, linearly, over the weeks, deg (drawn).
    rpe_range
        The reported RPE at `rpe_heaviness` of the breaking load: 7 on the first week's light day rising to 9.5 at
        the break (rounded to half points).
    rpe_heaviness
        The shares of the breaking load at which the RPE is ``rpe_range``'s ends (interpolated between).
    day_to_day_sd_deg
        A lifter's clean flexion is not the same every day: per session and exercise it shifts by a normal draw
        of this SD, deg (an assumption, with the re-strapped sensors' own calibration differences on top).
    load_creep_deg_per_kg
        Clean reps flex a little more the heavier the bar, deg per kg away from the first heavy day's load (an
        assumption: about 2° between a 50 % warm-up and the working sets, short of a break).
    weekdays
        The training days of the week (0 Monday) for 2 or 3 sessions a week: Monday, Wednesday, Friday.
    start_time
        Earliest start of a workout (evening training), local time.
    start_spread_min
        Workouts start up to this many minutes after ``start_time`` (drawn, whole minutes).
    strap_on_s
        The sensor recording begins this long after the workout (strapping on the sensors), s (drawn).
    set_s
        A set's share of the logged duration without its rest, s.
    after_s
        The log's duration runs this long past the last set, s (drawn).
    rep_model
        How the reps of each set vary (`exercises.RepModel`): the lifter's clean flexion is drawn inside the
        exercise's clean range by its rep-to-rep scatter, as a set's own is (`activities.RepPlanner`).
    """

    day_load_shares: tuple[float, float, float] = (1.0, 0.8, 0.9)
    warmups: tuple[tuple[float, int], ...] = ((0.5, 5), (0.7, 3))
    working_sets: int = 3
    working_reps: dict[str, int] = field(
        default_factory=lambda: {"deadlift": 5, "romanian_deadlift": 8, "good_morning": 8}
    )
    start_load_kg: dict[str, ex.Range] = field(
        default_factory=lambda: {
            "deadlift": (80.0, 130.0),
            "romanian_deadlift": (60.0, 90.0),
            "good_morning": (40.0, 60.0),
        }
    )
    step_choices_kg: tuple[float, ...] = (2.5, 5.0)
    plate_step_kg: float = 2.5
    break_steps: tuple[int, int] = (2, 4)
    break_deg: ex.Range = (7.0, 12.0)
    flexion_per_kg_deg: ex.Range = (0.1, 0.3)
    fatigue_load_share: float = 0.9
    fatigue_min_reps: int = 5
    fatigue_first_rep: int = 3
    rom_start_deg: ex.Range = (46.0, 52.0)
    rom_gain_deg: ex.Range = (6.0, 14.0)
    rpe_range: tuple[float, float] = (6.5, 9.5)
    rpe_heaviness: tuple[float, float] = (0.75, 1.0)
    day_to_day_sd_deg: float = 1.0
    load_creep_deg_per_kg: float = 0.03
    weekdays: tuple[int, int, int] = (0, 2, 4)
    start_time: dt.time = dt.time(17, 30)
    start_spread_min: int = 90
    strap_on_s: ex.Range = (120.0, 420.0)
    set_s: float = 40.0
    after_s: ex.Range = (300.0, 900.0)
    rep_model: ex.RepModel = ex.DEFAULT_REP_MODEL


DEFAULT_TRAINING_MODEL = TrainingModel()


@dataclass(frozen=True)
class SetTruth:
    """The truth of one logged set.

    Attributes
    ----------
    session_index, set_index
        The session (from 1, in time order) and the set's index in it (from 1, as `SessionAnalysis.sets`).
    exercise, load_kg, reps
        What was lifted.
    warmup
        A warm-up set.
    breaking_load_kg
        The lifter's breaking load on this exercise, kg.
    broke_at_rep
        The first rep from which the extra flexion lasts to the end of the set; None when form held.
    cause
        ``"load"`` (at or past the breaking load), ``"fatigue"`` (a tiring set below it) or ``"none"``.
    extra_flexion_deg
        Extra lumbar flexion of each rep, deg.
    logged_reps
        Reps the lifter logged (differs from ``reps`` on a slip).
    rpe
        RPE the lifter logged (None on warm-ups).
    """

    session_index: int
    set_index: int
    exercise: str
    load_kg: float
    reps: int
    warmup: bool
    breaking_load_kg: float
    broke_at_rep: int | None
    cause: str
    extra_flexion_deg: tuple[float, ...]
    logged_reps: int
    rpe: float | None


@dataclass(frozen=True)
class PlannedSession:
    """One session of the weeks.

    Attributes
    ----------
    index
        From 1, in time order.
    week
        From 1.
    started_at
        When the workout began (the log's date), local time.
    recording_offset_s
        The sensor recording began this long after ``started_at`` (strapping on the sensors).
    duration_s
        The workout's length as the log gives it, s.
    spec
        The session to simulate.
    sets
        The truth of its sets, in order.
    max_flexion_deg
        The lifter's pain-free flexion range that day (its range-of-motion test), deg.
    rep_model
        How the reps of its sets vary (`TrainingModel.rep_model`).
    """

    index: int
    week: int
    started_at: dt.datetime
    recording_offset_s: float
    duration_s: float
    spec: SessionSpec
    sets: tuple[SetTruth, ...]
    max_flexion_deg: float
    rep_model: ex.RepModel = ex.DEFAULT_REP_MODEL

    @property
    def recording_started_at(self) -> dt.datetime:
        """When the sensor recording began, local time."""
        return self.started_at + dt.timedelta(seconds=self.recording_offset_s)

    @property
    def workout_name(self) -> str:
        """The log's name of the workout."""
        return f"Week {self.week} {('Heavy', 'Light', 'Medium')[(self.index - 1) % 3]}"

    def simulate(self) -> SimulatedSession:
        """Simulate the session's sensors and truth."""
        return simulate_session(self.spec, self.rep_model)


@dataclass(frozen=True)
class WeeksPlan:
    """A lifter's weeks: who they are, their programme and the truth (the sensors are simulated per session).

    Attributes
    ----------
    spec
        What was asked for.
    person
        The lifter on the first day (their pain-free flexion widens, see `PlannedSession.max_flexion_deg`).
    lifts
        Per exercise, how they perform it.
    sessions
        The sessions, in time order.
    """

    spec: WeeksSpec
    person: Person
    lifts: dict[str, LiftProfile]
    sessions: tuple[PlannedSession, ...]

    def true_breaking_load_kg(self, exercise: str) -> float | None:
        """The lightest logged working load at which form broke from the load (None when never reached)."""
        loads = [s.load_kg for p in self.sessions for s in p.sets if s.exercise == exercise and s.cause == "load"]
        return min(loads) if loads else None

    def truth_dict(self) -> dict:
        """The weeks' truth as plain JSON (``weeks_truth.json``)."""
        return {
            "spec": {**asdict(self.spec), "start_date": self.spec.start_date.isoformat()},
            "person": asdict(self.person),
            "lifts": {k: asdict(v) for k, v in self.lifts.items()},
            "true_breaking_load_kg": {k: self.true_breaking_load_kg(k) for k in self.lifts},
            "sessions": [
                {
                    "index": p.index,
                    "week": p.week,
                    "started_at": p.started_at.isoformat(),
                    "recording_started_at": p.recording_started_at.isoformat(),
                    "seed": p.spec.seed,
                    "max_flexion_deg": p.max_flexion_deg,
                    "sets": [asdict(s) for s in p.sets],
                }
                for p in self.sessions
            ],
        }


def _round_load(kg: float, model: TrainingModel) -> float:
    return float(model.plate_step_kg * round(kg / model.plate_step_kg))


def _draw_lift(exercise: str, rng: np.random.Generator, model: TrainingModel) -> LiftProfile:
    step = float(rng.choice(model.step_choices_kg))
    start_kg = _round_load(rng.uniform(*model.start_load_kg[exercise]), model)
    low, high = model.break_steps
    clean, jitter_deg = ex.PROFILES[exercise].clean_lumbar_deg, model.rep_model.rep_jitter_deg
    return LiftProfile(
        exercise=exercise,
        start_kg=start_kg,
        step_kg=step,
        breaking_load_kg=start_kg + step * int(rng.integers(low, high + 1)) + 0.5 * model.plate_step_kg,
        break_deg=float(rng.uniform(*model.break_deg)),
        flexion_per_kg_deg=float(rng.uniform(*model.flexion_per_kg_deg)),
        clean_flexion_deg=float(rng.uniform(clean[0] + jitter_deg, clean[1] - jitter_deg)),
        reps=model.working_reps[exercise],
    )


def _extra_flexion(
    lift: LiftProfile,
    load_kg: float,
    reps: int,
    warmup: bool,
    rng: np.random.Generator,
    fatigue_share: float,
    model: TrainingModel,
) -> tuple[tuple[float, ...], int | None, str]:
    """Per-rep extra flexion, the rep form broke at and why."""
    if load_kg >= lift.breaking_load_kg:
        extra = lift.break_deg + lift.flexion_per_kg_deg * (load_kg - lift.breaking_load_kg)
        return (extra,) * reps, 1, "load"
    tiring = (
        not warmup and reps >= model.fatigue_min_reps and load_kg >= model.fatigue_load_share * lift.breaking_load_kg
    )
    if tiring and rng.random() < fatigue_share:
        onset = int(rng.integers(model.fatigue_first_rep, reps + 1))
        return (0.0,) * (onset - 1) + (lift.break_deg,) * (reps - onset + 1), onset, "fatigue"
    return (), None, "none"


def plan_weeks(spec: WeeksSpec | None = None, model: TrainingModel = DEFAULT_TRAINING_MODEL) -> WeeksPlan:
    """The lifter, their programme and the truth of every set, without simulating the sensors (fast).

    Parameters
    ----------
    spec
        What to simulate (default `WeeksSpec()`: six weeks, three sessions a week, deadlifts and RDLs).
    model
        How the lifter trains and how their form behaves.
    """
    spec = spec or WeeksSpec()
    if spec.weeks < 1 or spec.sessions_per_week not in (2, 3):
        raise InputError(
            f"{spec.weeks} weeks of {spec.sessions_per_week} sessions; use at least 1 week of 2 or 3 sessions"
        )
    unknown = [e for e in spec.exercises if e not in APP_EXERCISE_NAMES]
    if unknown or not spec.exercises:
        raise InputError(f"exercises must be among {', '.join(APP_EXERCISE_NAMES)}; got {', '.join(unknown)}")
    rng = np.random.default_rng([spec.seed, 0x3EE])
    person = Person.draw(rng)
    rom_start, rom_gain = float(rng.uniform(*model.rom_start_deg)), float(rng.uniform(*model.rom_gain_deg))
    person = replace(person, max_flexion_deg=rom_start)
    lifts = {e: _draw_lift(e, rng, model) for e in spec.exercises}
    day_shares = model.day_load_shares[: spec.sessions_per_week]
    weekdays = model.weekdays[: spec.sessions_per_week]
    total = spec.weeks * spec.sessions_per_week
    sessions = []
    for n in range(total):
        week, day = divmod(n, spec.sessions_per_week)
        index = n + 1
        started = dt.datetime.combine(
            spec.start_date + dt.timedelta(days=7 * week + weekdays[day]), model.start_time
        ) + dt.timedelta(minutes=int(rng.integers(0, model.start_spread_min)))
        rom = rom_start + rom_gain * (n / max(total - 1, 1))
        set_specs, truths = [], []
        for exercise in spec.exercises:
            lift = lifts[exercise]
            day_deg = float(rng.normal(0.0, model.day_to_day_sd_deg))
            work_kg = _round_load((lift.start_kg + week * lift.step_kg) * day_shares[day], model)
            plan = [(_round_load(share * work_kg, model), reps, True) for share, reps in model.warmups]
            plan += [(work_kg, lift.reps, False)] * model.working_sets
            for load_kg, reps, warmup in plan:
                extra, broke, cause = _extra_flexion(lift, load_kg, reps, warmup, rng, spec.fatigue_share, model)
                clean_deg = lift.clean_flexion_deg + day_deg + model.load_creep_deg_per_kg * (load_kg - lift.start_kg)
                set_specs.append(SetSpec(exercise, reps, "none", clean_flexion_deg=clean_deg, extra_flexion_deg=extra))
                slip = not warmup and rng.random() < spec.log_slip_share
                heaviness = min(load_kg / lift.breaking_load_kg, 1.0)
                rpe = (
                    None
                    if warmup
                    else float(np.round(2 * np.interp(heaviness, model.rpe_heaviness, model.rpe_range)) / 2)
                )
                truths.append(
                    SetTruth(
                        session_index=index,
                        set_index=len(set_specs),
                        exercise=exercise,
                        load_kg=load_kg,
                        reps=reps,
                        warmup=warmup,
                        breaking_load_kg=lift.breaking_load_kg,
                        broke_at_rep=broke,
                        cause=cause,
                        extra_flexion_deg=tuple(float(x) for x in extra) or (0.0,) * reps,
                        logged_reps=reps + (int(rng.choice([-1, 1])) if slip else 0),
                        rpe=rpe,
                    )
                )
        session_spec = SessionSpec(
            sets=set_specs,
            rate_hz=spec.rate_hz,
            seed=int(rng.integers(0, 2**31)),
            ideal=spec.ideal,
            rest_s=spec.rest_s,
            between_sets=spec.between_sets,
            person=replace(person, max_flexion_deg=rom),
        )
        offset_s = float(rng.uniform(*model.strap_on_s))
        # the log's duration covers the recording (about a minute a set with its rest) and some minutes after
        duration_s = (
            offset_s + len(set_specs) * (model.set_s + float(np.mean(spec.rest_s))) + float(rng.uniform(*model.after_s))
        )
        sessions.append(
            PlannedSession(
                index, week + 1, started, offset_s, duration_s, session_spec, tuple(truths), rom, model.rep_model
            )
        )
    return WeeksPlan(spec, person, lifts, tuple(sessions))


def _strong_duration(seconds: float) -> str:
    """Strong's workout duration: ``"1h 5m"`` or ``"45m"``."""
    minutes = int(round(seconds / 60.0))
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def log_csv(plan: WeeksPlan, log_format: str = "strong") -> str:
    """The lifter's log of the weeks as the app exports it.

    Parameters
    ----------
    plan
        The weeks.
    log_format
        One of `LOG_FORMATS`: ``strong`` (``Date,Workout Name,Duration,Exercise Name,Set Order,Weight,
        Reps,Distance,Seconds,Notes,Workout Notes,RPE``; warm-up sets have Set Order ``W``), ``strong_semicolon``
        (the older export: semicolons, a ``Weight Unit`` column, lbs), ``hevy`` (``title,start_time,…,
        weight_kg,…``; dates like ``"5 Jan 2026, 17:42"``, ``set_type`` ``warmup``/``normal``) or ``hevy_lbs``
        (``weight_lbs`` and ``distance_miles``).
    """
    if log_format not in LOG_FORMATS:
        raise InputError(f"unknown log format {log_format!r}; choose one of {', '.join(LOG_FORMATS)}")
    out = io.StringIO()
    hevy = log_format.startswith("hevy")
    lbs = log_format in ("strong_semicolon", "hevy_lbs")
    if hevy:
        columns = list(HEVY_COLUMNS)
        if lbs:
            columns[columns.index("weight_kg")] = "weight_lbs"
            columns[columns.index("distance_km")] = "distance_miles"
    else:
        columns = list(STRONG_SEMICOLON_COLUMNS if log_format == "strong_semicolon" else STRONG_COLUMNS)
    writer = csv.writer(out, delimiter=";" if log_format == "strong_semicolon" else ",", lineterminator="\n")
    writer.writerow(columns)
    for p in plan.sessions:
        ended = p.started_at + dt.timedelta(seconds=p.duration_s)
        order: dict[str, int] = {}
        for s in p.sets:
            name = APP_EXERCISE_NAMES[s.exercise]
            weight = _number(s.load_kg / KG_PER_LB if lbs else s.load_kg)
            rpe = "" if s.rpe is None else _number(s.rpe)
            if hevy:
                index = order[s.exercise] = order.get(s.exercise, -1) + 1
                hevy_date = "{d.day} {d:%b %Y, %H:%M}"
                row = {
                    "title": p.workout_name,
                    "start_time": hevy_date.format(d=p.started_at),
                    "end_time": hevy_date.format(d=ended),
                    "set_index": index,
                    "set_type": "warmup" if s.warmup else "normal",
                    "exercise_title": name,
                    "reps": s.logged_reps,
                    "rpe": rpe,
                    "weight_lbs" if lbs else "weight_kg": weight,
                }
            else:
                if not s.warmup:
                    order[s.exercise] = order.get(s.exercise, 0) + 1
                row = {
                    "Date": f"{p.started_at:%Y-%m-%d %H:%M:%S}",
                    "Workout Name": p.workout_name,
                    "Duration": _strong_duration(p.duration_s),
                    "Workout Duration": _strong_duration(p.duration_s),
                    "Exercise Name": name,
                    "Set Order": "W" if s.warmup else order[s.exercise],
                    "Weight": weight,
                    "Weight Unit": "lbs",
                    "Reps": s.logged_reps,
                    "Distance": 0,
                    "Seconds": 0,
                    "RPE": rpe,
                }
            writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


@dataclass
class WrittenWeeks:
    """What `write_weeks` wrote: the session folders, the logs and the truth file."""

    sessions: list[Path] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)
    truth: Path | None = None


def write_weeks(
    plan: WeeksPlan, out_dir: str | Path, log_formats: tuple[str, ...] = ("strong", "hevy")
) -> WrittenWeeks:
    """Simulate every session and write it with the logs and the truth.

    Writes ``session_NN/`` (samples.csv, truth.json, truth_angles.csv, `SimulatedSession.write`), one
    ``log_<format>.csv`` per log format and ``weeks_truth.json`` into ``out_dir``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = WrittenWeeks()
    for p in plan.sessions:
        written.sessions.append(p.simulate().write(out / f"session_{p.index:02d}"))
    for log_format in log_formats:
        path = out / f"log_{log_format}.csv"
        path.write_text(log_csv(plan, log_format))
        written.logs[log_format] = path
    written.truth = out / "weeks_truth.json"
    written.truth.write_text(json.dumps(plan.truth_dict(), indent=1, allow_nan=False) + "\n")
    return written
