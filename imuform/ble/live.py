"""The live pipeline: angles as samples arrive, reps and sets, and a cue when flexion passes the limit.

:class:`LiveView` is a recorder sample callback. It feeds every block to ``analysis.live.LiveAngles``
(online orientation of both sensors) and raises a :class:`Cue` the moment the lumbar flexion crosses the
person's limit; it times itself: the cue latency is measured from the block's arrival (the BLE
notification that carried it) to the cue. Reps and sets are counted by the offline rules
(``analysis.live_reps.LiveReps``) when the caller asks, a few times a second (`LiveView.refresh_reps`),
so that the notification path stays short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Group
from rich.text import Text

from analysis.calibration import Calibration
from analysis.live import LiveAngles
from analysis.live_reps import LiveReps
from analysis.pipeline import max_flexion_of
from firmware_protocol import SampleBlock

#: Flexion must fall this far below the limit before the cue can fire again, in deg.
CUE_REARM_DEG = 3.0


@dataclass
class Cue:
    """One limit crossing.

    Attributes
    ----------
    time_s
        Session time of the sample that crossed, s.
    angle_deg, limit_deg
        Lumbar flexion at the crossing and the limit, deg.
    latency_s
        From the notification's arrival to the cue, s (host processing).
    """

    time_s: float
    angle_deg: float
    limit_deg: float
    latency_s: float


class LiveView:
    """Live lumbar angle, reps and cues from the recorder's sample blocks.

    Parameters
    ----------
    calibration
        The person's calibration (lumbar and thoracic).
    rate_hz
        Sample rate of the sensors, Hz (one for all, or by placement).
    limit_deg
        The personal lumbar flexion limit, deg.
    on_cue
        Called with each :class:`Cue` (e.g. to ring the bell).
    """

    def __init__(
        self,
        calibration: Calibration,
        rate_hz: float | dict[str, float],
        limit_deg: float,
        on_cue: Callable[[Cue], None] | None = None,
    ):
        self.angles = LiveAngles(calibration, rate_hz)
        self.limit_deg = limit_deg
        self.on_cue = on_cue
        thoracic_hz = rate_hz["thoracic"] if isinstance(rate_hz, dict) else rate_hz
        self.reps = LiveReps(thoracic_hz, max_flexion_deg=max_flexion_of(calibration.range_of_motion))
        self.cues: list[Cue] = []
        self.lumbar_deg = float("nan")
        self.trunk_deg = float("nan")
        self._armed = True

    def on_samples(self, placement: str, time_s: np.ndarray, block: SampleBlock) -> None:
        """Recorder callback: update the angles, the reps and the cue with one block."""
        arrived = time.perf_counter()
        if block.acc_mps2 is None or block.gyr_dps is None:
            return
        out = self.angles.feed(placement, time_s, block.acc_mps2, block.gyr_dps)
        if not out:
            return
        lumbar = out["lumbar_flexion_deg"]
        trunk = out["trunk_inclination_deg"]
        self.lumbar_deg, self.trunk_deg = float(lumbar[-1]), float(trunk[-1])
        if placement == "thoracic":
            # the trunk is the thoracic sensor: its sample times carry the angles once, in order
            self.reps.add(out)
        for i in np.flatnonzero(np.isfinite(lumbar)):
            if self._armed and lumbar[i] > self.limit_deg:
                self._armed = False
                cue = Cue(float(time_s[i]), float(lumbar[i]), self.limit_deg, 0.0)
                if self.on_cue is not None:
                    self.on_cue(cue)
                cue.latency_s = time.perf_counter() - arrived
                self.cues.append(cue)
            elif lumbar[i] < self.limit_deg - CUE_REARM_DEG:
                self._armed = True

    def refresh_reps(self, *, final: bool = False) -> None:
        """Count the reps of the angles so far (`analysis.live_reps.LiveReps`): a few times a second, off
        the notification path; ``final`` once the recording is over."""
        self.reps.update(final=final)

    def render(self) -> Group:
        """The live panel: angle (red past the limit), the set's reps and their peaks."""
        over = np.isfinite(self.lumbar_deg) and self.lumbar_deg > self.limit_deg
        angle = Text(
            f"lumbar flexion {self.lumbar_deg:6.1f}°   limit {self.limit_deg:.0f}°",
            style="bold white on red" if over else "bold green",
        )
        sets, current = list(self.reps.sets), self.reps.current
        shown = current if len(current) else (sets[-1] if sets else current)
        number = len(sets) + 1 if len(current) else len(sets)
        peaks = "  ".join(
            f"[red]{p:.0f}°[/red]" if p > self.limit_deg else f"{p:.0f}°"
            for p in shown.get("peak_lumbar_flexion_deg", [])
        )
        reps = Text.from_markup(f"set {number or '–'}: reps {len(shown)}   peaks {peaks or '–'}")
        return Group(
            angle,
            Text(f"trunk inclination {self.trunk_deg:6.1f}°"),
            reps,
            Text(
                f"sets done {len(sets)}, reps {sum(len(r) for r in sets)}   cues {len(self.cues)}",
                style="red" if self.cues else "",
            ),
        )
