"""The live pipeline: angles as samples arrive, a rep counter, and a cue when flexion passes the limit.

:class:`LiveView` is a recorder sample callback. It feeds every block to ``analysis.live.LiveAngles``
(online orientation of both sensors), counts reps on the trunk inclination with hysteresis, keeps each
rep's peak lumbar flexion, and raises a :class:`Cue` the moment the lumbar flexion crosses the
person's limit. It times itself: the cue latency is measured from the block's arrival (the BLE
notification that carried it) to the cue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from rich.console import Group
from rich.text import Text

from analysis.live import LiveAngles
from firmware_protocol import SampleBlock

#: Trunk inclination (deg) above which a hinge rep is under way, and below which it has ended.
REP_START_DEG = 35.0
REP_END_DEG = 20.0
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


@dataclass
class RepCounter:
    """Counts hinge reps online: a rep starts when the trunk tips past ``start_deg`` and ends below ``end_deg``."""

    start_deg: float = REP_START_DEG
    end_deg: float = REP_END_DEG
    peaks_deg: list[float] = field(default_factory=list)
    _in_rep: bool = False
    _peak_deg: float = -np.inf

    def update(self, trunk_deg: np.ndarray, lumbar_deg: np.ndarray) -> int:
        """Feed a block of trunk inclination and lumbar flexion (deg); return the reps completed in it."""
        done = 0
        for trunk, lumbar in zip(trunk_deg, lumbar_deg):
            if not self._in_rep and trunk > self.start_deg:
                self._in_rep, self._peak_deg = True, -np.inf
            if self._in_rep:
                if np.isfinite(lumbar):
                    self._peak_deg = max(self._peak_deg, float(lumbar))
                if trunk < self.end_deg:
                    self._in_rep = False
                    self.peaks_deg.append(self._peak_deg)
                    done += 1
        return done


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
        self, calibration: dict, rate_hz: float | dict[str, float], limit_deg: float, on_cue: Callable[[Cue], None] | None = None
    ):
        self.angles = LiveAngles(calibration, rate_hz)
        self.limit_deg = limit_deg
        self.on_cue = on_cue
        self.reps = RepCounter()
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
        self.reps.update(trunk, lumbar)
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

    def render(self) -> Group:
        """The live panel: angle (red past the limit), reps and their peaks."""
        over = np.isfinite(self.lumbar_deg) and self.lumbar_deg > self.limit_deg
        angle = Text(f"lumbar flexion {self.lumbar_deg:6.1f}°   limit {self.limit_deg:.0f}°",
                     style="bold white on red" if over else "bold green")
        peaks = "  ".join(
            f"[red]{p:.0f}°[/red]" if p > self.limit_deg else f"{p:.0f}°" for p in self.reps.peaks_deg[-12:]
        )
        reps = Text.from_markup(f"reps {len(self.reps.peaks_deg)}   peaks {peaks or '–'}")
        return Group(angle, Text(f"trunk inclination {self.trunk_deg:6.1f}°"), reps,
                     Text(f"cues {len(self.cues)}", style="red" if self.cues else ""))
