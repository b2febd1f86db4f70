"""Online clock synchronisation: map a sensor's clock onto the host's session clock.

A notification leaves the sensor after its last sample was taken and reaches the host some
latency later (connection events, retries, scheduling): ``host = offset + rate · device + latency``
with ``latency ≥ 0``. :class:`ClockSync` keeps, per bin of device time, the packet with the least
apparent latency (the lower envelope), fits the clock rate (drift) robustly with the Theil–Sen
estimator over those points, and takes the offset from the least-latency packet: a packet can
arrive late, never early.

A restarted device clock (power cycle, or a reconnect for sensors whose "clock" is a sample count)
starts a new *epoch*: the rate is shared, the offset is estimated again from the epoch's own points.
"""

from __future__ import annotations

import numpy as np


class ClockSync:
    """Offset and drift of one device clock against the host clock, updated as packets arrive.

    Parameters
    ----------
    max_points
        Envelope points kept (bins are merged when there are more), bounding memory and fit time.
    refit_every
        Packets between refits of the clock rate.
    slew
        Largest correction of the output per second of device time (see :meth:`to_host`).
    max_drift
        Largest plausible rate error of the device clock (crystals: 10⁻⁴; a sample count at a nominal
        rate: a few 10⁻²); fits beyond it, e.g. from a start-up backlog, are clipped.
    """

    def __init__(
        self, max_points: int = 256, refit_every: int = 64, slew: float = 0.01, max_drift: float = 1e-3
    ) -> None:
        self.max_drift = max_drift
        self.max_points = max_points
        self.refit_every = refit_every
        self.slew = slew
        self._last_out: tuple[float, float] | None = None
        self.bin_s = 0.25
        self.rate = 1.0
        self._bins: dict[tuple[int, int], tuple[float, float]] = {}
        self._epoch = 0
        self._offsets: dict[int, float] = {}
        self._since_fit = 0

    @property
    def drift_ppm(self) -> float:
        """Device clock rate error in parts per million (+ when the device clock runs slow)."""
        return (self.rate - 1.0) * 1e6

    @property
    def offset_s(self) -> float:
        """Host time at device time 0 in the current epoch."""
        return self._offsets.get(self._epoch, 0.0)

    def new_epoch(self) -> None:
        """The device clock restarted: keep the rate, estimate the offset afresh."""
        self._epoch += 1
        self._last_out = None

    def add(self, device_time_s: float, host_time_s: float) -> None:
        """Add one packet: the device time of its last sample and its host receive time, in s."""
        key = (self._epoch, int(device_time_s // self.bin_s))
        best = self._bins.get(key)
        if best is None or host_time_s - device_time_s < best[1] - best[0]:
            self._bins[key] = (device_time_s, host_time_s)
        if len(self._bins) > self.max_points:
            self._merge_bins()
        if self._epoch not in self._offsets:
            self._offsets[self._epoch] = host_time_s - self.rate * device_time_s
        self._since_fit += 1
        if self._since_fit >= self.refit_every:
            self.fit()
        else:
            # Until the next fit, only ever lower the offset: a packet can arrive late, never early.
            self._offsets[self._epoch] = min(self._offsets[self._epoch], host_time_s - self.rate * device_time_s)

    def _merge_bins(self) -> None:
        self.bin_s *= 2.0
        merged: dict[tuple[int, int], tuple[float, float]] = {}
        for (epoch, _), (d, h) in self._bins.items():
            key = (epoch, int(d // self.bin_s))
            best = merged.get(key)
            if best is None or h - d < best[1] - best[0]:
                merged[key] = (d, h)
        self._bins = merged

    def fit(self) -> None:
        """Refit the rate over all epochs' envelopes and each epoch's offset."""
        self._since_fit = 0
        epochs = np.array([e for e, _ in self._bins])
        points = np.array(list(self._bins.values()))
        if len(points) < 8:
            return
        # Offsets differ between epochs: fit the slope on device and host times centred per epoch.
        d, h = points[:, 0].copy(), points[:, 1].copy()
        for epoch in np.unique(epochs):
            sel = epochs == epoch
            if sel.sum() >= 2:
                d[sel] -= d[sel].mean()
                h[sel] -= h[sel].mean()
            else:
                d[sel] = np.nan
        keep = np.isfinite(d)
        if keep.sum() >= 8 and np.ptp(d[keep]) > 0:
            from scipy.stats import theilslopes  # imported here: scipy.stats takes 0.4 s to import

            slope = float(theilslopes(h[keep], d[keep]).slope)
            self.rate = float(np.clip(slope, 1.0 - self.max_drift, 1.0 + self.max_drift))
        for epoch in np.unique(epochs):
            sel = epochs == epoch
            self._offsets[int(epoch)] = float(np.min(points[sel, 1] - self.rate * points[sel, 0]))

    def to_host(self, device_time_s: np.ndarray, max_jump_s: float = 1.0) -> np.ndarray:
        """Host times of the next device times in the current epoch, in s, strictly increasing.

        A refit moves the map by a little; rather than stepping (which could reorder samples) the
        output slews towards the fitted map by at most ``slew`` seconds per second, as NTP does.
        After a pause longer than ``max_jump_s`` of device time (a dropout) it joins the map directly.

        Parameters
        ----------
        device_time_s
            Device times of new samples, increasing, later than those of the previous call.
        max_jump_s
            Longest pause in device time that is still slewed across.
        """
        d = np.asarray(device_time_s, dtype=float)
        target = self.offset_s + self.rate * d
        last = self._last_out
        if last is not None and 0 < d[-1] - last[0] and d[0] - last[0] <= max_jump_s:
            span = d[-1] - last[0]
            cont = last[1] + self.rate * (d - last[0])
            step = float(np.clip(target[-1] - cont[-1], -self.slew * span, self.slew * span))
            target = cont + step * (d - last[0]) / span
        self._last_out = (float(d[-1]), float(target[-1]))
        return target
