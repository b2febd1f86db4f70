"""The virtual world's clock, shared by the virtual radio, the virtual sensors and (as host clock) the recorder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class VirtualClock:
    """The virtual world's clock: seconds since start, running up to ``speed`` times faster than real time.

    When the process cannot keep up (too many notifications for the CPU, or other processes take it),
    the replay would fall behind its own clock and every packet would arrive late. Instead the clock
    slows down: the virtual sensors report how late they send (:meth:`report_lateness`) and
    :meth:`regulate` lowers the rate while they fall behind by more than ``max_lateness_s``, and
    raises it back to ``speed`` once they keep up. Time stays continuous throughout.

    Parameters
    ----------
    speed
        Most virtual seconds per real second (1 paces in real time).
    max_lateness_s
        Sending lateness (virtual s) above which the clock slows down. Short stalls (the process
        preempted for a moment) stay below it; a growing backlog does not. A live BLE link rarely
        delays a notification by more than a tenth of a second (a few retried connection events), so a
        replay stays within that: a longer latency that lasts reads, on a sensor without a clock, as lost
        samples (`imuform.ble.stream_assembler.count_notifications`).
    """

    def __init__(self, speed: float = 1.0, max_lateness_s: float = 0.1) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.max_lateness_s = max_lateness_s
        self.rate = speed
        self._lateness_s = 0.0
        self._loop = asyncio.get_running_loop()
        self._real0 = self._loop.time()
        self._virtual0 = 0.0
        self._held_s: float | None = None

    def __call__(self) -> float:
        """Virtual seconds since the clock started (or the reading held by :meth:`held`)."""
        if self._held_s is not None:
            return self._held_s
        return self._virtual0 + (self._loop.time() - self._real0) * self.rate

    @contextlib.contextmanager
    def held(self, time_s: float | None) -> Iterator[None]:
        """Read ``time_s`` inside the block (None: read on as usual).

        The virtual radio delivers a notification to the host with the instant it reached the host's
        controller (`imuform.ble.virtual_radio.VirtualRadio.arrival`): the host code that stamps it runs
        later in real time, and at ``speed`` times real time that processing delay would read as ``speed``
        times longer a latency than any real host has.
        """
        before, self._held_s = self._held_s, time_s if time_s is not None else self._held_s
        try:
            yield
        finally:
            self._held_s = before

    def _set_rate(self, rate: float) -> None:
        self._virtual0, self._real0 = self(), self._loop.time()
        self.rate = rate

    async def sleep(self, duration_s: float) -> None:
        """Sleep for about ``duration_s`` virtual seconds."""
        await asyncio.sleep(duration_s / self.rate)

    async def sleep_until(self, time_s: float) -> None:
        """Sleep until the clock reads ``time_s`` (exactly, whatever the rate does meanwhile)."""
        while (remaining := time_s - self()) > 0:
            await asyncio.sleep(remaining / self.rate)

    def report_lateness(self, lateness_s: float) -> None:
        """A virtual sensor finished sending what was due ``lateness_s`` virtual seconds ago."""
        self._lateness_s = max(self._lateness_s, lateness_s)

    async def regulate(self, period_s: float = 0.05, min_rate: float = 0.05) -> None:
        """Run forever: slow down while the replay falls behind, speed back up to ``speed`` when it keeps up.

        The rate may drop below real time (to ``min_rate``): a machine too busy to carry even a real-time
        stream must not pile up latency, which a sensor without a clock cannot tell from a slower clock.
        """
        while True:
            await asyncio.sleep(period_s)
            lateness_s, self._lateness_s = self._lateness_s, 0.0
            if lateness_s > self.max_lateness_s and self.rate > min_rate:
                self._set_rate(max(min_rate, self.rate * 0.8))
            elif lateness_s < self.max_lateness_s / 2 and self.rate < self.speed:
                self._set_rate(min(self.speed, self.rate * 1.1))
