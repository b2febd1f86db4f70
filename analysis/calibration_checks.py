"""Whether a guided calibration step was done: bent far enough forward or back, bent forward often enough.

The standing step is checked by `analysis.calibration.calibrate_standing` itself (it refuses a sensor that
moved). The other steps are judged on the angles of their window, computed with the standing calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.display import fmt_num


@dataclass(frozen=True)
class StepChecks:
    """What counts as a step done.

    Attributes
    ----------
    min_flexion_deg
        Lumbar flexion the forward bend must reach, deg: well short of anyone's range (typically 40–60°),
        past what merely leaning reaches.
    min_extension_deg
        Lumbar extension (magnitude) the backward lean must reach, deg.
    bend_trunk_deg
        Trunk inclination that counts as one forward bend, deg.
    min_bends
        Forward bends the bends step needs (the prompt asks for three).
    """

    min_flexion_deg: float = 20.0
    min_extension_deg: float = 5.0
    bend_trunk_deg: float = 30.0
    min_bends: int = 3


DEFAULT_STEP_CHECKS = StepChecks()


@dataclass(frozen=True)
class StepCheck:
    """The verdict on one try of a step: passed or not, and what to tell the person."""

    passed: bool
    message: str


def check_reached(angles: pd.DataFrame, direction: str, checks: StepChecks = DEFAULT_STEP_CHECKS) -> StepCheck:
    """Whether the lumbar angle reached far enough into ``direction`` (``"flexion"`` or ``"extension"``).

    Parameters
    ----------
    angles
        Angles of the step's window (`analysis.angles.compute_angles`, with the standing calibration).
    direction
        ``"flexion"`` (forward) or ``"extension"`` (back).
    checks
        The thresholds.
    """
    lumbar = angles["lumbar_flexion_deg"].to_numpy()
    if not np.isfinite(lumbar).any():
        return StepCheck(False, "no lumbar angle in this step (a sensor dropped out?)")
    if direction == "flexion":
        reached, need = float(np.nanmax(lumbar)), checks.min_flexion_deg
    else:
        reached, need = -float(np.nanmin(lumbar)), checks.min_extension_deg
    text = f"{fmt_num(max(reached, 0.0), 0, '°')} of {direction}"
    if reached >= need:
        return StepCheck(True, f"reached {text}")
    return StepCheck(False, f"only {text}, bend further (at least {fmt_num(need, 0, '°')})")


def check_bends(angles: pd.DataFrame, checks: StepChecks = DEFAULT_STEP_CHECKS) -> StepCheck:
    """Whether the trunk bent forward past `StepChecks.bend_trunk_deg` at least `StepChecks.min_bends` times."""
    trunk = angles["trunk_inclination_deg"].to_numpy()
    down = np.nan_to_num(trunk, nan=0.0) >= checks.bend_trunk_deg
    bends = int(np.count_nonzero(down[1:] & ~down[:-1]) + (1 if len(down) and down[0] else 0))
    if bends >= checks.min_bends:
        return StepCheck(True, f"{bends} bends")
    return StepCheck(
        False,
        f"{bends} bend{'s' if bends != 1 else ''} past {fmt_num(checks.bend_trunk_deg, 0, '°')}; "
        f"bend forward {checks.min_bends} times",
    )
