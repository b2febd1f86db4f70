"""The guided calibration: prompts, countdowns and checks while sensors record, then the calibration itself.

The person stands neutral (always), optionally bends forward slowly a few times (measures each sensor's
flexion axis) and optionally bends fully forward and back (their range of motion). Each step is prompted
with a countdown, recorded, and checked on what was recorded (`check_step`: stood still, bent far
enough); a step that was not done is asked for again. Each step's window on the session clock goes to
``analysis.calibration``, which turns the recorded samples into the calibration stored with the
calibration session. The terminal and the ``--web`` page show the same `GuideState`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analysis.angles import compute_angles
from analysis.calibration import (
    Calibration,
    calibrate_axis_from_bends,
    calibrate_range_of_motion,
    calibrate_standing,
)
from analysis.calibration_checks import DEFAULT_STEP_CHECKS, StepCheck, StepChecks, check_bends, check_reached
from analysis.display import fmt_num
from analysis.limits import Limits
from firmware_protocol import SampleBlock
from imuform.errors import ImuformError


@dataclass(frozen=True)
class Step:
    """One calibration step: its name, what to tell the person, how long it lasts (s) and what to say when
    it starts."""

    name: str
    prompt: str
    duration_s: float
    go: str = "now — hold it"


STANDING = Step("standing", "Stand tall and still, arms relaxed, looking ahead", 5.0, "now — stay still")
BENDS = Step(
    "bends", "Bend forward slowly from the hips three times, back flat, then stand up", 12.0, "now — bend, three times"
)
MAX_FLEXION = Step("max_flexion", "Bend forward as far as is comfortable, let your back round, and hold", 4.0)
MAX_EXTENSION = Step("max_extension", "Lean back as far as is comfortable and hold", 4.0)


def steps_for(bends: bool, range_of_motion: bool) -> list[Step]:
    """The steps of a calibration: standing, then the optional bends and range of motion."""
    return [STANDING] + ([BENDS] if bends else []) + ([MAX_FLEXION, MAX_EXTENSION] if range_of_motion else [])


@dataclass
class GuideState:
    """Where the guide is, as the terminal and the page show it.

    Attributes
    ----------
    step, steps
        The step under way (from 1) and how many there are.
    prompt
        What to do.
    phase
        ``"get ready"``, ``"now"``, ``"done"``, ``"again"`` (the step was not done: once more) or
        ``"finished"``.
    countdown_s
        Whole seconds left of the phase (0 when not counting).
    tries
        Which try of this step this is.
    message
        The last check's verdict, or the final range and limits.
    done
        One line per step done so far: its prompt and its verdict.
    """

    step: int
    steps: int
    prompt: str
    phase: str = "get ready"
    countdown_s: int = 0
    tries: int = 1
    message: str = ""
    done: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)


class SampleBuffer:
    """The samples of a recording kept in memory as they arrive, to check each step (a recorder callback)."""

    def __init__(self) -> None:
        self._blocks: list[pd.DataFrame] = []
        self._last_s: dict[str, float] = {}

    def arrived_s(self) -> float:
        """Session time up to which every sensor's samples have arrived, s (-inf before all have sent one)."""
        return min(self._last_s.values()) if len(self._last_s) >= 2 else -math.inf

    def on_samples(self, placement: str, time_s: np.ndarray, block: SampleBlock) -> None:
        """Recorder callback: keep the block's accelerometer and gyroscope samples."""
        if block.acc_mps2 is None or block.gyr_dps is None:
            return
        columns = {"sensor": placement, "time_s": np.asarray(time_s, dtype=float)}
        if len(time_s):
            self._last_s[placement] = max(self._last_s.get(placement, -math.inf), float(time_s[-1]))
        for k, axis in enumerate("xyz"):
            columns[f"acc_{axis}"] = block.acc_mps2[:, k]
            columns[f"gyr_{axis}"] = block.gyr_dps[:, k]
        self._blocks.append(pd.DataFrame(columns))

    def table(self) -> pd.DataFrame:
        """Everything so far as the samples table (docs/architecture.md), each sensor in time order."""
        blocks = list(self._blocks)  # a snapshot: safe from a worker thread while blocks keep arriving
        if not blocks:
            return pd.DataFrame(columns=["sensor", "time_s"])
        samples = pd.concat(blocks, ignore_index=True).sort_values(["sensor", "time_s"], kind="stable")
        return samples.drop_duplicates(["sensor", "time_s"]).reset_index(drop=True)


def check_step(
    step: Step,
    samples: pd.DataFrame,
    windows: dict[str, tuple[float, float]],
    checks: StepChecks = DEFAULT_STEP_CHECKS,
) -> StepCheck:
    """Whether ``step`` was done in its window (``windows[step.name]``; the standing one is done first).

    Standing must be still (`analysis.calibration.calibrate_standing` refuses a sensor that moved); the
    other steps are judged on the angles of their window with that standing calibration
    (`analysis.calibration_checks`).
    """
    try:
        standing = calibrate_standing(samples, *windows[STANDING.name])
    except ValueError as exc:
        return StepCheck(False, str(exc).split(";")[0])
    if step.name == STANDING.name:
        return StepCheck(True, "stood still")
    start_s, end_s = windows[step.name]
    inside = samples[(samples["time_s"] >= start_s) & (samples["time_s"] <= end_s)]
    if set(inside["sensor"]) < {"lumbar", "thoracic"}:
        return StepCheck(False, "no samples of both sensors in this step: are both on and in range?")
    angles = compute_angles(inside, calibration=standing).angles
    if step.name == BENDS.name:
        return check_bends(angles, checks)
    return check_reached(angles, "flexion" if step.name == MAX_FLEXION.name else "extension", checks)


async def run_steps(
    steps: list[Step],
    session_time_s: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    say: Callable[[str], None],
    check: Callable[[Step, dict[str, tuple[float, float]]], StepCheck],
    *,
    show: Callable[[GuideState], None] | None = None,
    ready_s: int = 3,
    max_tries: int = 3,
    starts_s: dict[str, float] | None = None,
    arrived_s: Callable[[], float] | None = None,
    arrival_wait_s: float = 3.0,
) -> dict[str, tuple[float, float]]:
    """Prompt each step with a countdown, check it, repeat it if it was not done; return the windows.

    Parameters
    ----------
    steps
        The steps, in order.
    session_time_s
        The recording's session clock, in s.
    sleep
        Sleeps on the recording's clock (virtual or real).
    say
        Shows one line to the person (the terminal).
    check
        Judges a step from the windows so far (`check_step` over the recorded samples); it runs in a worker
        thread, so that the recording goes on meanwhile.
    show
        Called with the guide's state at every change (the ``--web`` page), or None.
    ready_s
        Seconds of "get ready" countdown before each step.
    max_tries
        Tries of a step before the calibration gives up.
    starts_s
        Planned start of a step's first try on the session clock, s (a simulated person's timetable): the
        countdown ends then, and the step's window is its timetable's even when the guide runs late. Without
        one, the step starts ``ready_s`` after its prompt.
    arrived_s
        Session time up to which the samples have arrived (`SampleBuffer.arrived_s`): a step is checked
        once its whole window is there (notifications trail the clock, more so on a loaded machine), or
        after ``arrival_wait_s`` more seconds of the session clock (a sensor out of range).

    Raises
    ------
    ImuformError
        When a step was not done in ``max_tries`` tries, with what to do.
    """
    windows: dict[str, tuple[float, float]] = {}
    show = show or (lambda state: None)
    done: list[str] = []
    for number, step in enumerate(steps, start=1):
        state = GuideState(number, len(steps), step.prompt, done=done)
        for tries in range(1, max_tries + 1):
            state.tries = tries
            planned_s = (starts_s or {}).get(step.name) if tries == 1 else None
            start_s = session_time_s() + ready_s if planned_s is None else max(planned_s, session_time_s())
            say(f"{step.prompt}." if tries == 1 else f"Once more: {step.prompt.lower()}.")
            state.phase = "get ready"
            await _count_down(state, start_s, session_time_s, sleep, say, show, "  starting in {}…", ready_s)
            say(f"  {step.go}")
            state.phase = "now"
            start_s = session_time_s() if planned_s is None else planned_s
            await _count_down(state, start_s + step.duration_s, session_time_s, sleep, None, show, "")
            windows[step.name] = (start_s, start_s + step.duration_s)
            give_up_s = session_time_s() + arrival_wait_s
            while arrived_s is not None and arrived_s() < windows[step.name][1] and session_time_s() < give_up_s:
                await sleep(0.05)
            verdict = await asyncio.to_thread(check, step, dict(windows))
            state.message = verdict.message
            if verdict.passed:
                state.phase, state.countdown_s = "done", 0
                done.append(f"{step.prompt}: {verdict.message}")
                say(f"  done: {verdict.message}")
                show(state)
                break
            state.phase, state.countdown_s = "again", 0
            say(f"  not done: {verdict.message}")
            show(state)
        else:
            raise ImuformError(
                f"calibration step '{step.name}' was not done in {max_tries} tries ({state.message}); "
                "run 'imuform calibrate' again"
            )
    return windows


async def _count_down(state, until_s, session_time_s, sleep, say, show, line: str, say_from_s: int = 0) -> None:
    """Count whole seconds down to ``until_s`` on the session clock: each new second is shown, and said
    (``line``) from ``say_from_s`` down."""
    while (left_s := until_s - session_time_s()) > 1e-3:
        second = math.ceil(left_s - 1e-3)
        if second != state.countdown_s:
            state.countdown_s = second
            if say is not None and second <= say_from_s:
                say(line.format(second))
            show(state)
        await sleep(left_s - (second - 1) if second > 1 else left_s)
    state.countdown_s = 0


def calibrate(samples: pd.DataFrame, windows: dict[str, tuple[float, float]]) -> Calibration:
    """The calibration from recorded samples and the steps' windows (session clock, s); it keeps the windows.

    Raises
    ------
    ImuformError
        With what to repeat, when the person moved during standing or the range was not reached.
    """
    try:
        calibration = calibrate_standing(samples, *windows["standing"])
        if "bends" in windows:
            calibration = calibrate_axis_from_bends(samples, calibration, *windows["bends"])
        if "max_flexion" in windows and "max_extension" in windows:
            angles = compute_angles(samples, calibration=calibration).angles
            calibration = calibrate_range_of_motion(
                angles, calibration, flexion=windows["max_flexion"], extension=windows["max_extension"]
            )
    except ValueError as exc:
        raise ImuformError(f"calibration failed: {exc}") from exc
    return calibration


def outcome(calibration: Calibration, limits: Limits) -> str:
    """The closing line: the person's range (when measured) and the limits that now apply."""
    rom = calibration.range_of_motion
    measured = (
        f"Your range: {fmt_num(rom.max_flexion_deg, 0, '°')} flexion, {fmt_num(rom.max_extension_deg, 0, '°')} "
        "extension. "
        if rom is not None
        else ""
    )
    return (
        f"{measured}Your limits: flexion {fmt_num(limits.flexion_limit_deg, 0, '°')}, extension "
        f"{fmt_num(limits.extension_limit_deg, 0, '°')} (profile {limits.profile})."
    )
