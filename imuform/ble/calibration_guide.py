"""The guided calibration: prompts and countdowns while sensors record, then the calibration itself.

The person stands neutral (always), optionally bends forward slowly a few times (measures each
sensor's flexion axis) and optionally bends fully forward and back (their range of motion). Each step's
window on the session clock goes to ``analysis.calibration``, which turns the recorded samples into
the calibration stored with the calibration session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pandas as pd

from analysis.angles import compute_angles
from analysis.calibration import (
    Calibration,
    calibrate_axis_from_bends,
    calibrate_range_of_motion,
    calibrate_standing,
)
from imuform.errors import ImuformError


@dataclass(frozen=True)
class Step:
    """One calibration step: its name, what to tell the person, and how long it lasts (s)."""

    name: str
    prompt: str
    duration_s: float


STANDING = Step("standing", "Stand tall and still, arms relaxed, looking ahead", 5.0)
BENDS = Step("bends", "Bend forward slowly from the hips three times, back flat, then stand up", 12.0)
MAX_FLEXION = Step("max_flexion", "Bend forward as far as is comfortable, let your back round, and hold", 4.0)
MAX_EXTENSION = Step("max_extension", "Lean back as far as is comfortable and hold", 4.0)


def steps_for(bends: bool, range_of_motion: bool) -> list[Step]:
    """The steps of a calibration: standing, then the optional bends and range of motion."""
    return [STANDING] + ([BENDS] if bends else []) + ([MAX_FLEXION, MAX_EXTENSION] if range_of_motion else [])


async def run_steps(
    steps: list[Step],
    session_time_s: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    say: Callable[[str], None],
    ready_s: int = 3,
) -> dict[str, tuple[float, float]]:
    """Prompt each step with a countdown and return its window on the session clock.

    Parameters
    ----------
    steps
        The steps, in order.
    session_time_s
        The recording's session clock, in s.
    sleep
        Sleeps on the recording's clock (virtual or real).
    say
        Shows one line to the person.
    ready_s
        Seconds of "get ready" countdown before each step.
    """
    windows = {}
    for step in steps:
        say(f"{step.prompt}.")
        for k in range(ready_s, 0, -1):
            say(f"  starting in {k}…")
            await sleep(1.0)
        say("  now — hold it")
        start = session_time_s()
        remaining = step.duration_s
        while remaining > 0:
            await sleep(min(1.0, remaining))
            remaining -= 1.0
        windows[step.name] = (start, session_time_s())
        say("  done")
    return windows


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
