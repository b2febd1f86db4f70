"""The live pipeline: angles as samples arrive, reps and sets, and a cue when flexion passes the limit.

:class:`LiveView` is a recorder sample callback. It feeds every block to ``analysis.live.LiveAngles``
(online orientation of both sensors) and raises a :class:`Cue` the moment the lumbar flexion crosses the
person's limit (:class:`CuePolicy` says when it may fire again); it times itself: the cue latency is
measured from the block's arrival (the BLE notification that carried it) to the cue. Reps and sets are
counted by the offline rules (``analysis.live_reps.LiveReps``) when the caller asks, a few times a second
(`LiveView.refresh_reps`), so that the notification path stays short.

Everything the terminal panel (`LiveView.render`) and the phone page (`imuform.live_web`) show comes from
one :class:`LiveState` (`LiveView.state`): the two screens cannot disagree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from rich.console import Group
from rich.text import Text

from analysis.calibration import Calibration
from analysis.display import fmt_num, past_limit
from analysis.limits import DEFAULT_LIMITS
from analysis.live import LiveAngles
from analysis.live_reps import LiveReps
from analysis.pipeline import max_flexion_of
from firmware_protocol import SampleBlock


@dataclass(frozen=True)
class CuePolicy:
    """When the limit cue fires.

    Attributes
    ----------
    rearm_deg
        After a cue, flexion must come back this far below the limit before the next crossing cues
        again, in deg: one cue per excursion past the limit, not one per wobble around it.
    paired_within_s
        Only angles at times both sensors have reached (within this, s) are judged: ahead of the other
        sensor's newest sample the angle pairs with that stale sample, and on a loaded machine, where one
        sensor's notifications come late, that made a rising lifter look flexed again (a second cue).
        Those times are judged when the late sensor's samples arrive.
    """

    rearm_deg: float = 10.0
    paired_within_s: float = 0.02

    def explain(self, limit_deg: float) -> str:
        """The policy in one sentence for the person."""
        return (
            f"One tone the moment your lower back flexes past {limit_deg:.0f}°. It sounds again only after you "
            f"have come back under {limit_deg - self.rearm_deg:.0f}° ({self.rearm_deg:.0f}° below the limit), "
            "so at most once per rep. Putting the bar down or bending for a plate past the limit cues too: it "
            "watches your back, not only your reps."
        )


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
class SensorState:
    """One sensor's link as the live screens show it.

    Attributes
    ----------
    placement
        Where it is worn.
    connected
        Whether its link is up (False while it reconnects).
    battery_percent
        Battery at connection, or None when unreadable.
    last_time_s
        Session time of its newest sample, s (NaN before the first).
    """

    placement: str
    connected: bool = True
    battery_percent: float | None = None
    last_time_s: float = float("nan")


@dataclass
class LiveState:
    """What the live screens show at one moment (the terminal panel and the phone page).

    Attributes
    ----------
    time_s
        Session time of the newest sample, s.
    lumbar_deg, trunk_deg
        Lumbar flexion (extension negative) and trunk inclination now, deg.
    flexion_limit_deg, extension_limit_deg
        The person's band: flexion up to the first, extension down to minus the second, deg.
    over_limit
        Whether the lumbar flexion is past the limit now.
    set_number
        The set shown (under way, else the last finished one; 0 before any).
    rep_peaks_deg
        Peak lumbar flexion of each rep of that set, deg.
    angle_text, band_text, rep_peak_texts
        The angle, the band and the peaks as written (`analysis.display`: true minus, never "-0", a peak past the
        limit never rounds onto it).
    sets_done, reps_done
        Finished sets and their reps.
    cues
        Cues so far.
    cues_in_reps
        Those of them during a rep (the others came between reps, e.g. putting the bar down).
    recording
        False once the recording is over (the numbers are final).
    cue_policy
        The cue policy in words.
    sensors
        Each sensor's link.
    sync_lag_s
        How far the sensors' newest samples are apart, s (NaN until both stream): the angles pair the
        sensors' samples in time, so a large lag means the angle lags too.
    arrived_s
        ``time.perf_counter()`` when the newest block arrived (for latency measurements).
    """

    time_s: float
    lumbar_deg: float
    trunk_deg: float
    flexion_limit_deg: float
    extension_limit_deg: float
    over_limit: bool
    set_number: int
    rep_peaks_deg: list[float]
    angle_text: str
    band_text: str
    rep_peak_texts: list[str]
    sets_done: int
    reps_done: int
    cues: int
    cues_in_reps: int
    cue_policy: str
    recording: bool = True
    sensors: list[SensorState] = field(default_factory=list)
    sync_lag_s: float = float("nan")
    arrived_s: float = float("nan")

    def to_dict(self) -> dict:
        """Plain dict for JSON; NaN becomes None."""
        return _no_nan(asdict(self))


def _no_nan(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


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
    extension_limit_deg
        The personal extension limit (magnitude), deg: the other edge of the band drawn.
    cue_policy
        When the cue fires.

    Attributes
    ----------
    listeners
        Called without arguments after every change of the state (e.g. to push it to a page).
    """

    def __init__(
        self,
        calibration: Calibration,
        rate_hz: float | dict[str, float],
        limit_deg: float,
        on_cue: Callable[[Cue], None] | None = None,
        extension_limit_deg: float = DEFAULT_LIMITS.extension_limit_deg,
        cue_policy: CuePolicy | None = None,
    ):
        self.angles = LiveAngles(calibration, rate_hz)
        self.limit_deg = limit_deg
        self.extension_limit_deg = extension_limit_deg
        self.cue_policy = cue_policy or CuePolicy()
        self.on_cue = on_cue
        thoracic_hz = rate_hz["thoracic"] if isinstance(rate_hz, dict) else rate_hz
        self.reps = LiveReps(thoracic_hz, max_flexion_deg=max_flexion_of(calibration.range_of_motion))
        self.cues: list[Cue] = []
        self.lumbar_deg = float("nan")
        self.trunk_deg = float("nan")
        self.listeners: list[Callable[[], None]] = []
        self._sensors = {p: SensorState(p) for p in ("lumbar", "thoracic")}
        self._links: list = []
        self.recording = True
        self._arrived_s = float("nan")
        self._armed = True

    def on_start(self, session_id: str, links: list) -> None:
        """Recorder ``on_start``: follow the links' state (connected, battery) from now on."""
        self._links = list(links)

    def on_samples(self, placement: str, time_s: np.ndarray, block: SampleBlock) -> None:
        """Recorder callback: update the angles, the reps and the cue with one block."""
        arrived = time.perf_counter()
        if block.acc_mps2 is None or block.gyr_dps is None:
            return
        if placement in self._sensors and len(time_s):
            self._sensors[placement].last_time_s = float(time_s[-1])
        out = self.angles.feed(placement, time_s, block.acc_mps2, block.gyr_dps)
        if not out:
            return
        self._arrived_s = arrived
        lumbar = out["lumbar_flexion_deg"]
        trunk = out["trunk_inclination_deg"]
        self.lumbar_deg, self.trunk_deg = float(lumbar[-1]), float(trunk[-1])
        if placement == "thoracic":
            # the trunk is the thoracic sensor: its sample times carry the angles once, in order
            self.reps.add(out)
        other = self._sensors["thoracic" if placement == "lumbar" else "lumbar"].last_time_s
        paired = np.isfinite(lumbar) & (time_s <= other + self.cue_policy.paired_within_s)
        for i in np.flatnonzero(paired):
            if self._armed and lumbar[i] > self.limit_deg:
                self._armed = False
                cue = Cue(float(time_s[i]), float(lumbar[i]), self.limit_deg, 0.0)
                if self.on_cue is not None:
                    self.on_cue(cue)
                cue.latency_s = time.perf_counter() - arrived
                self.cues.append(cue)
            elif lumbar[i] < self.limit_deg - self.cue_policy.rearm_deg:
                self._armed = True
        self._changed()

    def refresh_reps(self, *, final: bool = False) -> None:
        """Count the reps of the angles so far (`analysis.live_reps.LiveReps`): a few times a second, off
        the notification path; ``final`` once the recording is over."""
        self.reps.update(final=final)
        self.recording = not final
        self._changed()

    def _changed(self) -> None:
        for listener in self.listeners:
            listener()

    def state(self) -> LiveState:
        """What the screens show now."""
        sets, current = list(self.reps.sets), self.reps.current
        shown = current if len(current) else (sets[-1] if sets else current)
        peaks = [float(p) for p in shown.get("peak_lumbar_flexion_deg", [])]
        for link in self._links:
            sensor = self._sensors.setdefault(link.report.placement, SensorState(link.report.placement))
            sensor.connected = link.connected.is_set()
            sensor.battery_percent = link.report.battery_percent
        last = [s.last_time_s for s in self._sensors.values()]
        return LiveState(
            time_s=float(np.nanmax(last)) if np.isfinite(last).any() else float("nan"),
            lumbar_deg=self.lumbar_deg,
            trunk_deg=self.trunk_deg,
            flexion_limit_deg=self.limit_deg,
            extension_limit_deg=self.extension_limit_deg,
            over_limit=bool(np.isfinite(self.lumbar_deg) and self.lumbar_deg > self.limit_deg),
            set_number=len(sets) + 1 if len(current) else len(sets),
            rep_peaks_deg=peaks,
            angle_text=fmt_num(self.lumbar_deg, 0, "°"),
            band_text=f"extension {fmt_num(self.extension_limit_deg, 0, '°')} to flexion "
            f"{fmt_num(self.limit_deg, 0, '°')}",
            rep_peak_texts=[
                f"{past_limit(p, self.limit_deg)[0]}°" if p > self.limit_deg else fmt_num(p, 0, "°") for p in peaks
            ],
            sets_done=len(sets),
            reps_done=sum(len(r) for r in sets),
            cues=len(self.cues),
            cues_in_reps=self._cues_in_reps([*sets, current]),
            cue_policy=self.cue_policy.explain(self.limit_deg),
            recording=self.recording,
            sensors=[SensorState(**asdict(s)) for s in self._sensors.values()],
            sync_lag_s=float(np.max(last) - np.min(last)),
            arrived_s=self._arrived_s,
        )

    def _cues_in_reps(self, tables: list) -> int:
        """How many cues fell inside a rep of these reps tables."""
        windows = [(r.start_s, r.end_s) for reps in tables if len(reps) for r in reps.itertuples()]
        return sum(any(start <= c.time_s <= end for start, end in windows) for c in self.cues)

    def render(self) -> Group:
        """The live panel: angle (red past the limit), the set's reps and their peaks."""
        s = self.state()
        angle = Text(
            f"lumbar flexion {s.lumbar_deg:6.1f}°   limit {s.flexion_limit_deg:.0f}°",
            style="bold white on red" if s.over_limit else "bold green",
        )
        peaks = "  ".join(f"[red]{p:.0f}°[/red]" if p > s.flexion_limit_deg else f"{p:.0f}°" for p in s.rep_peaks_deg)
        reps = Text.from_markup(f"set {s.set_number or '–'}: reps {len(s.rep_peaks_deg)}   peaks {peaks or '–'}")
        return Group(
            angle,
            Text(f"trunk inclination {fmt_num(s.trunk_deg, 0, '°'):>5}"),
            reps,
            Text(
                f"sets done {s.sets_done}, reps {s.reps_done}   cues {s.cues} ({s.cues_in_reps} in reps)",
                style="red" if s.cues else "",
            ),
        )
