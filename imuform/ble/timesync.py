"""Clock synchronisation: map a sensor's clock onto the host's session clock.

A notification leaves the sensor after its last sample was taken and reaches the host some latency later
(connection events, retries, scheduling): ``host = offset + rate · device + latency`` with ``latency ≥ 0``.
A packet can arrive late, never early, so the clock map is the line *below* every (device, host) point that
lies closest to them: the lower envelope of the points, fitted by the linear programme of Moon, Skelly and
Towsley (1999), "Estimation and removal of clock skew from network delay measurements" (IEEE INFOCOM):
minimise the sum of the points' heights above the line, subject to none lying below it. Unlike a least-squares
or Theil–Sen fit, the answer does not move when latency grows for a while (a busy host, a backlog after
connecting, radio retries): it rests on the earliest arrivals only.

A restarted device clock (power cycle, or a reconnect for sensors whose "clock" is a sample count) starts a
new *epoch*: the rate is shared (the same crystal), each epoch gets its own offset.

:meth:`ClockSync.to_host` is the online map, refitted as packets arrive (for the live view and for what is
stored while recording); :meth:`ClockSync.final_map` is the map fitted on the whole recording, which the
recorder writes over the stored times when it finishes (`imuform.ble.stream_assembler`). Neither ever
squeezes or stretches time to catch up: the map is one straight line per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog


@dataclass(frozen=True)
class ClockSyncConfig:
    """Parameters of :class:`ClockSync`.

    Attributes
    ----------
    bin_s
        Initial width of the device-time bins, in s; each bin keeps its earliest arrival (the envelope point).
        A quarter second holds 5–50 notifications at usual rates, so a bin almost always has one that
        arrived at the first connection event.
    max_points
        Envelope points kept; bins double in width when there are more, bounding memory and fit time
        (a fit of 512 points takes about 2 ms).
    refit_every
        Packets between online refits.
    max_drift
        Largest plausible rate error of the device clock: crystals are specified to ±20–50 ppm and MEMS
        oscillators to ±100 ppm, so 5·10⁻⁴ leaves a margin while a latency floor that moves over a
        recording (a host falling behind) cannot tilt the map further; a sample count at a nominal rate
        can be off by a few percent (`imuform.ble.stream_assembler.AssemblerConfig.max_count_drift`).
    """

    bin_s: float = 0.25
    max_points: int = 512
    refit_every: int = 64
    max_drift: float = 5e-4


@dataclass(frozen=True)
class ClockFitSummary:
    """How a sensor's clock was put on the session clock.

    Attributes
    ----------
    method
        ``"lower-envelope"`` (fitted on the earliest arrivals), ``"first-packet"`` (too few points to fit),
        either with ``"shared-"`` before it for sensors on one shared clock (fitted on all their arrivals),
        or ``"sample-count"`` (no device clock: counts at the nominal rate, refitted on the arrivals).
    offset_s
        Session time of device time 0 in the last epoch, in s.
    drift_ppm
        Device clock rate error, positive when the device clock runs fast against the host's (as
        `analysis.timebase.ClockFit`).
    points
        Envelope points the fit rests on.
    span_s
        Device time the points span, in s.
    latency_ms_p50, latency_ms_p95
        Arrival latency above the fitted line over the envelope points, in ms: how tightly the earliest
        arrivals follow the line (a confidence: a few ms is a good fit).
    epochs
        Clock epochs (restarts) in the recording.
    """

    method: str
    offset_s: float
    drift_ppm: float
    points: int
    span_s: float
    latency_ms_p50: float
    latency_ms_p95: float
    epochs: int

    def to_dict(self) -> dict:
        """JSON-able form (a session event's detail)."""
        return dict(self.__dict__)


def lower_envelope_fit(
    device_s: np.ndarray, host_s: np.ndarray, epoch: np.ndarray, max_drift: float
) -> tuple[float, dict[int, float]]:
    """The line(s) below all points closest to them: one rate, one offset per epoch.

    Parameters
    ----------
    device_s, host_s
        (n,) device time and host arrival time of each point, in s.
    epoch
        (n,) integer epoch of each point.
    max_drift
        Bound on ``|rate − 1|``.

    Returns
    -------
    rate, offsets
        ``host ≈ offsets[epoch] + rate · device`` on the earliest arrivals, every point on or above it.
    """
    epochs = np.unique(epoch)
    centre = {int(e): float(device_s[epoch == e].mean()) for e in epochs}
    d = device_s - np.array([centre[int(e)] for e in epoch])
    # variables: rate, then one offset per epoch (at the epoch's mean device time, for conditioning)
    column = np.searchsorted(epochs, epoch) + 1
    a_ub = np.zeros((len(d), len(epochs) + 1))
    a_ub[:, 0] = d
    a_ub[np.arange(len(d)), column] = 1.0
    cost = -a_ub.sum(axis=0)  # maximise the line's sum = minimise the sum of heights above it
    bounds = [(1.0 - max_drift, 1.0 + max_drift)] + [(None, None)] * len(epochs)
    result = linprog(cost, A_ub=a_ub, b_ub=host_s, bounds=bounds, method="highs")
    if not result.success:
        rate = 1.0
        offsets = {int(e): float(np.min(host_s[epoch == e] - device_s[epoch == e])) for e in epochs}
        return rate, offsets
    rate = float(result.x[0])
    offsets = {int(e): float(result.x[i + 1] - rate * centre[int(e)]) for i, e in enumerate(epochs)}
    return rate, offsets


def envelope_points(
    device_s: np.ndarray, host_s: np.ndarray, epoch: np.ndarray, bin_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The earliest arrival (least ``host − device``) in each bin of device time, per epoch.

    Parameters
    ----------
    device_s, host_s, epoch
        (n,) device time, host arrival time and epoch of each point.
    bin_s
        Bin width in device time, in s.

    Returns
    -------
    device_s, host_s, epoch
        The envelope points.
    """
    key = np.floor(device_s / bin_s)
    order = np.lexsort((host_s - device_s, key, epoch))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (np.diff(key[order]) != 0) | (np.diff(epoch[order]) != 0)
    pick = order[first]
    return device_s[pick], host_s[pick], epoch[pick]


class ClockSync:
    """Offset and drift of one device clock against the host clock, updated as packets arrive.

    Parameters
    ----------
    config
        Bin width, points kept, refit interval and drift bound.
    """

    def __init__(self, config: ClockSyncConfig | None = None) -> None:
        self.config = config or ClockSyncConfig()
        self.bin_s = self.config.bin_s
        #: How many sensors' arrivals the fit pools (more than one for sensors sharing a clock).
        self.sensors = 1
        self.rate = 1.0
        self._bins: dict[tuple[int, int], tuple[float, float]] = {}
        self._epoch = 0
        self._offsets: dict[int, float] = {}
        self._since_fit = 0
        self._last_out: float | None = None

    @classmethod
    def pooled(cls, syncs: list[ClockSync]) -> ClockSync:
        """One sync over the arrivals of several sensors that stamp one shared clock (synchronised DOTs).

        Each sensor's earliest arrivals witness the same clock, so pooled they give one map, and the
        sensors cannot disagree on the session clock. Only single-epoch syncs can be pooled.
        """
        pooled = cls(syncs[0].config)
        pooled.sensors = len(syncs)
        pooled.bin_s = max(s.bin_s for s in syncs)
        for sync in syncs:
            for d, h in sync._bins.values():
                key = (0, int(d // pooled.bin_s))
                best = pooled._bins.get(key)
                if best is None or h - d < best[1] - best[0]:
                    pooled._bins[key] = (d, h)
        while len(pooled._bins) > pooled.config.max_points:
            pooled._merge_bins()
        pooled.fit()
        return pooled

    @property
    def drift_ppm(self) -> float:
        """Device clock rate error in parts per million (+ when the device clock runs slow)."""
        return (self.rate - 1.0) * 1e6

    @property
    def epoch(self) -> int:
        """The current epoch (0 until the device clock first restarts)."""
        return self._epoch

    @property
    def offset_s(self) -> float:
        """Host time at device time 0 in the current epoch."""
        return self._offsets.get(self._epoch, 0.0)

    def new_epoch(self) -> None:
        """The device clock restarted: keep the rate, estimate the offset afresh."""
        self._epoch += 1

    def add(self, device_time_s: float, host_time_s: float) -> None:
        """Add one packet: the device time of its last sample and its host receive time, in s."""
        key = (self._epoch, int(device_time_s // self.bin_s))
        best = self._bins.get(key)
        if best is None or host_time_s - device_time_s < best[1] - best[0]:
            self._bins[key] = (device_time_s, host_time_s)
        if len(self._bins) > self.config.max_points:
            self._merge_bins()
        # Until the next fit, only ever lower the offset: a packet can arrive late, never early.
        offset = host_time_s - self.rate * device_time_s
        self._offsets[self._epoch] = min(self._offsets.get(self._epoch, offset), offset)
        self._since_fit += 1
        if self._since_fit >= self.config.refit_every:
            self.fit()

    def _merge_bins(self) -> None:
        self.bin_s *= 2.0
        merged: dict[tuple[int, int], tuple[float, float]] = {}
        for (epoch, _), (d, h) in self._bins.items():
            key = (epoch, int(d // self.bin_s))
            best = merged.get(key)
            if best is None or h - d < best[1] - best[0]:
                merged[key] = (d, h)
        self._bins = merged

    def _points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        epochs = np.array([e for e, _ in self._bins], dtype=int)
        points = np.array(list(self._bins.values()), dtype=float).reshape(-1, 2)
        return points[:, 0], points[:, 1], epochs

    def fit(self) -> None:
        """Refit the rate and every epoch's offset on the lower envelope of all points so far."""
        self._since_fit = 0
        device, host, epochs = self._points()
        span = max((np.ptp(device[epochs == e]) for e in np.unique(epochs)), default=0.0)
        # A rate needs a baseline: over a few seconds, latency (ms) would swamp drift (µs per s).
        if len(device) >= 8 and span >= 10.0:
            self.rate, self._offsets = lower_envelope_fit(device, host, epochs, self.config.max_drift)
        else:
            for e in np.unique(epochs):
                sel = epochs == e
                self._offsets[int(e)] = float(np.min(host[sel] - self.rate * device[sel]))

    def to_host(self, device_time_s: np.ndarray) -> np.ndarray:
        """Online host times of the next device times in the current epoch, in s, strictly increasing.

        The map is the current fit; a refit that moved it earlier than samples already mapped would
        reorder them, so such samples are held just after the last one (the final map puts them right).
        """
        out = self.offset_s + self.rate * np.asarray(device_time_s, dtype=float)
        if self._last_out is not None and out[0] <= self._last_out:
            out = np.maximum(out, self._last_out + 1e-6 * np.arange(1, len(out) + 1))
        self._last_out = float(out[-1])
        return out

    def final_map(self, device_time_s: np.ndarray, epoch: np.ndarray) -> np.ndarray:
        """Host times of device times in their epochs, by a fit over every packet received.

        Parameters
        ----------
        device_time_s
            (n,) device times, in s.
        epoch
            (n,) the epoch of each.
        """
        self.fit()
        offsets = np.array([self._offsets.get(int(e), np.nan) for e in range(int(np.max(epoch, initial=0)) + 1)])
        return offsets[np.asarray(epoch, dtype=int)] + self.rate * np.asarray(device_time_s, dtype=float)

    def summary(self) -> ClockFitSummary:
        """How well the current fit rests on its points."""
        device, host, epochs = self._points()
        if len(device) == 0:
            return ClockFitSummary("first-packet", 0.0, 0.0, 0, 0.0, float("nan"), float("nan"), 1)
        offsets = np.array([self._offsets.get(int(e), np.nan) for e in epochs])
        latency_ms = (host - offsets - self.rate * device) * 1e3
        span = max(np.ptp(device[epochs == e]) for e in np.unique(epochs))
        fitted = len(device) >= 8 and span >= 10.0
        return ClockFitSummary(
            method=("shared-" if self.sensors > 1 else "") + ("lower-envelope" if fitted else "first-packet"),
            offset_s=self.offset_s,
            drift_ppm=(1.0 / self.rate - 1.0) * 1e6,
            points=len(device),
            span_s=float(span),
            latency_ms_p50=float(np.percentile(latency_ms, 50)),
            latency_ms_p95=float(np.percentile(latency_ms, 95)),
            epochs=self._epoch + 1,
        )
