"""From notifications to samples on the session clock: the pure part of recording one sensor.

A :class:`StreamAssembler` takes each notification's payload with its host receive time and hands back
the new samples stamped on the session clock. It knows nothing of BLE, asyncio or the store (the
connection lives in `imuform.ble.recorder.SensorLink`), so it is tested on its own with made-up arrivals.
Its steps, per notification:

1. **De-duplication.** After a reconnect, firmware may send again what it sent before the drop. With a
   device clock a sample at or before the last device time is a repeat; without one only the bytes tell,
   so the payloads just before the drop are remembered.
2. **Decoding** with the model's ``firmware_protocol`` decoder, and pairing acceleration with angular
   rate when a sensor sends them in separate packets (:class:`ChannelJoiner`).
3. **Sample times on the device's scale.** With a device clock: its timestamps; a clock that jumps back
   restarted and starts a new epoch. Without one: the sample count at the nominal rate, a new epoch after
   every reconnect (the sensor's counting restarts with the stream). Lost notifications would shrink a
   count-based time axis, so a notification arriving later than its count allows by more than
   ``gap_threshold_s`` advances the count by the samples that must have been lost.
4. **Clock sync** (`imuform.ble.timesync.ClockSync`): the online map, for what is stored while recording.

:meth:`StreamAssembler.finalize` then refits every sample's time over the whole recording, one line per
epoch, never squeezed to catch up (with a device clock the lower envelope of every arrival; without one
the sensor's own sample period, `sample_period`, and the lost samples counted on it,
`count_notifications`), and finds the gaps and losses on those final times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import median_filter, minimum_filter1d

from firmware_protocol import ProtocolError, SampleBlock, SensorModel
from imuform.ble.timesync import ClockFitSummary, ClockSync, ClockSyncConfig, envelope_points, lower_envelope_fit
from imuform.ble.viterbi import viterbi_path


@dataclass(frozen=True)
class AssemblerConfig:
    """Parameters of :class:`StreamAssembler`.

    Attributes
    ----------
    rate_hz
        The rate the sensor was set to, in Hz.
    gap_threshold_s
        Holes in the samples at least this long are gaps (recorded, never interpolated); shorter ones count
        as lost samples. Default (None): ``max(0.25 s, 10 periods)``: a quarter second is longer than any
        BLE retry sequence within one supervision timeout, and ten periods keep slow sensors from calling
        every lost packet a gap.
    dedupe_window
        Payloads remembered before a drop to recognise re-sent ones (sensors without a clock); firmware
        retransmit buffers hold a few dozen notifications.
    clock_restart_s
        A device clock that jumps back by more than this restarted (a power cycle, or a wrap the decoder
        missed), in s.
    loss_envelope_s
        Without a device clock: the first estimate of lost samples is the largest no arrival of the next
        this many seconds contradicts (`count_notifications`). A live BLE link holds notifications back
        at most until its supervision timeout (≤ 6 s on common hosts) ends it.
    count_margin
        Without a device clock: the fraction of a period by which an arrival may seem early and still
        bound the first estimate of lost samples from above.
    max_count_drift
        Largest plausible rate error of a sample count at the nominal rate (sensors without a clock):
        MEMS sensors' internal oscillators are specified to ±1-2 %.
    count_median_window
        Without a device clock: notifications in the running median of the arrivals whose phase gives the
        sample period (`sample_period`); 25 keep its spread to about 2 ms under 30 ms of retry jitter.
    count_period_span_s
        Without a device clock: the period search starts on chunks of this length, in s (`sample_period`).
    count_period_steps
        Without a device clock: candidate periods per cycle of phase drift over a chunk (`sample_period`).
    count_latency_bin_s
        Without a device clock: the bin width of the arrival-latency histogram the counts are scored on
        (`most_likely_lost`), in s; connection events put latencies on a lattice of a few ms.
    count_passes
        Without a device clock: Viterbi passes at most, each on the latencies the one before gives
        (`most_likely_lost`).
    pair_arrival_s
        Channels sent in separate packets without device times (MetaWear): the two halves of one sample
        leave together, so halves arriving further apart than this were not sent together
        (`ChannelJoiner`). Retries delay a link's queue in order, a few connection intervals (7.5–30 ms)
        at most; with 20 ms of simulated retry jitter, 15 ms dropped 1.4 % of the samples needlessly.
    """

    rate_hz: float
    gap_threshold_s: float | None = None
    dedupe_window: int = 64
    clock_restart_s: float = 10.0
    loss_envelope_s: float = 10.0
    count_margin: float = 0.4
    max_count_drift: float = 0.05
    count_median_window: int = 25
    count_period_span_s: float = 5.0
    count_period_steps: int = 8
    count_latency_bin_s: float = 0.00025
    count_passes: int = 4
    pair_arrival_s: float = 0.05

    @property
    def period_s(self) -> float:
        """Nominal sample period, in s."""
        return 1.0 / self.rate_hz

    @property
    def gap_s(self) -> float:
        """The gap threshold in force, in s."""
        return self.gap_threshold_s if self.gap_threshold_s is not None else max(0.25, 10 * self.period_s)


@dataclass
class Gap:
    """A stretch without samples of one sensor, on the session clock.

    Attributes
    ----------
    start_s, end_s
        The last sample before and the first after (or the end of the recording), in s.
    reason
        Why: ``"link lost; reconnected"``, ``"link lost; not reconnected before the end"`` or
        ``"samples missing"``.
    """

    start_s: float
    end_s: float
    reason: str


@dataclass
class AssemblerCounts:
    """What the assembler has seen so far.

    Attributes
    ----------
    packets
        Notifications received (duplicates included).
    samples
        Samples handed on.
    duplicates
        Samples (or payloads) dropped as already received.
    undecodable
        Payloads the decoder refused.
    """

    packets: int = 0
    samples: int = 0
    duplicates: int = 0
    undecodable: int = 0


@dataclass
class Assembled:
    """The new samples of one notification.

    Attributes
    ----------
    time_s
        (n,) session times (the online map).
    block
        The samples.
    device_time_s
        (n,) the sensor's own timestamps, or None for sensors without a clock.
    gaps
        Gaps that this notification closed (a reconnect's), on the online times.
    """

    time_s: np.ndarray
    block: SampleBlock
    device_time_s: np.ndarray | None
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class FinalTimes:
    """The recording's samples re-timed over the whole recording.

    Attributes
    ----------
    time_s
        (n,) session time of every sample handed on, in the order handed on.
    gaps
        Every gap, on those times.
    lost
        Samples missing in holes shorter than the gap threshold.
    clock
        How the clock was fitted.
    """

    time_s: np.ndarray
    gaps: list[Gap]
    lost: int
    clock: ClockFitSummary


@dataclass
class _ChannelQueue:
    """One channel's samples waiting for the other: values, device times (NaN when none) and arrivals."""

    values: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    device_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    arrival_s: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, values: np.ndarray, device_s: np.ndarray, arrival_s: float) -> None:
        self.values = np.concatenate([self.values, values])
        self.device_s = np.concatenate([self.device_s, device_s])
        self.arrival_s = np.concatenate([self.arrival_s, np.full(len(values), float(arrival_s))])

    def keep(self, which: np.ndarray | slice) -> None:
        self.values, self.device_s, self.arrival_s = self.values[which], self.device_s[which], self.arrival_s[which]

    def __len__(self) -> int:
        return len(self.values)


class ChannelJoiner:
    """Pairs acceleration and angular rate that a sensor sends in separate packets (MetaWear, Polar).

    Blocks holding both pass through. A block with only one of the two is queued until the other
    arrives. Samples with device times (Polar) are paired by time, within ``tolerance_s``: a lost packet of
    one channel then costs its own samples, not the alignment of every later pair. Samples without (MetaWear)
    come as acceleration then angular rate, and are paired in that order: an acceleration still waiting when
    the next one comes, and an angular rate with no acceleration waiting, lost their partners on the air and
    are dropped, so a lost packet costs its own sample, not the alignment of the pairs after it. A pair
    whose two packets arrived more than ``arrival_tolerance_s`` apart was not sent together either. A pair keeps the acceleration's device time. Blocks with neither channel
    (a quaternion or magnetometer packet alone) carry no row for the samples table and are dropped.

    Parameters
    ----------
    tolerance_s
        Largest difference of the two channels' device times in one pair, in s (half a sample period).
    arrival_tolerance_s
        Largest difference of the two channels' arrivals in one pair without device times, in s.
    """

    def __init__(self, tolerance_s: float = 0.0, arrival_tolerance_s: float = np.inf) -> None:
        self.tolerance_s = tolerance_s
        self.arrival_tolerance_s = arrival_tolerance_s
        self._acc, self._gyr = _ChannelQueue(), _ChannelQueue()

    def push(self, block: SampleBlock, arrival_s: float = 0.0) -> SampleBlock:
        """Return the complete samples available after ``block``, received at ``arrival_s`` (possibly none)."""
        has_acc, has_gyr = block.acc_mps2 is not None, block.gyr_dps is not None
        if has_acc and has_gyr:
            return block
        if not (has_acc or has_gyr):
            return SampleBlock.empty()
        timed = block.device_time_s is not None
        device_s = np.asarray(block.device_time_s, dtype=float) if timed else np.full(block.n, np.nan)
        if has_acc:
            if not timed:
                # untimed halves come acceleration first: one still waiting never got its rotation
                self._acc.keep(slice(len(self._acc), None))
            self._acc.add(np.asarray(block.acc_mps2), device_s, arrival_s)
        else:
            self._gyr.add(np.asarray(block.gyr_dps), device_s, arrival_s)
            if not timed:
                # rotation beyond the waiting accelerations lost its acceleration
                self._gyr.keep(slice(0, len(self._acc)))
        if not (len(self._acc) and len(self._gyr)):
            return SampleBlock.empty()
        if np.isfinite(self._acc.device_s).all() and np.isfinite(self._gyr.device_s).all():
            return self._pair_by_time()
        return self._pair_in_order()

    def _pair_in_order(self) -> SampleBlock:
        """Pairs in arrival order; the first of a pair whose partner arrived much later lost it and goes."""
        acc, gyr = self._acc, self._gyr
        while len(acc) and len(gyr) and abs(gyr.arrival_s[0] - acc.arrival_s[0]) > self.arrival_tolerance_s:
            (acc if acc.arrival_s[0] < gyr.arrival_s[0] else gyr).keep(slice(1, None))
        limit = min(len(acc), len(gyr))
        together = np.abs(gyr.arrival_s[:limit] - acc.arrival_s[:limit]) <= self.arrival_tolerance_s
        n = int(np.argmin(together)) if not together.all() else limit
        if not n:
            return SampleBlock.empty()
        device = acc.device_s[:n] if np.isfinite(acc.device_s[:n]).all() else None
        out = SampleBlock(device_time_s=device, acc_mps2=acc.values[:n], gyr_dps=gyr.values[:n])
        acc.keep(slice(n, None))
        gyr.keep(slice(n, None))
        return out

    def _pair_by_time(self) -> SampleBlock:
        """Pairs of equal device time; what can no longer find its partner (older than the other channel's
        newest sample) is dropped."""
        ta, tg = self._acc.device_s, self._gyr.device_s
        nearest = np.clip(np.searchsorted(tg, ta), 1, len(tg)) - 1
        better = np.minimum(nearest + 1, len(tg) - 1)
        nearest = np.where(np.abs(tg[better] - ta) < np.abs(tg[nearest] - ta), better, nearest)
        match = np.abs(tg[nearest] - ta) <= self.tolerance_s
        out = SampleBlock(
            device_time_s=ta[match], acc_mps2=self._acc.values[match], gyr_dps=self._gyr.values[nearest[match]]
        )
        used = np.zeros(len(tg), dtype=bool)
        used[nearest[match]] = True
        self._acc.keep(~match & (ta > tg[-1] - self.tolerance_s))
        self._gyr.keep(~used & (tg > ta[-1] - self.tolerance_s))
        return out if out.n else SampleBlock.empty()


def _ranks(n: np.ndarray) -> np.ndarray:
    """0, 1, …, n_j − 1 for each group size n_j, concatenated."""
    return np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)


def count_notifications(arrival_s: np.ndarray, n: np.ndarray, period_s: float, config: AssemblerConfig) -> np.ndarray:
    """The count of each notification's first sample, for a sensor without a clock: lost samples counted.

    Notification ``j`` carries samples ``c_j … c_j + n_j − 1`` and arrives after its last one was taken,
    ``a_j = T0 + P · (c_j + n_j − 1) + latency_j`` with ``latency_j ≥ 0``. On the line of the sensor's own
    period ``P`` (`sample_period`: a rate error would otherwise read as losses, or hide them), a loss moves
    every later arrival up by whole periods. The steps:

    1. **A first estimate** (`_bound_lost`): the largest whole number of lost samples no arrival of the
       next ``config.loss_envelope_s`` contradicts.
    2. **The most likely counts** (`most_likely_lost`): a Viterbi path over the lost counts each
       arrival's latency allows, scored by the epoch's own latency histogram.

    Parameters
    ----------
    arrival_s
        (m,) host arrival time of each notification, in s, increasing.
    n
        (m,) samples in each notification.
    period_s
        The sensor's sample period, in s (`sample_period`, or the nominal one where it cannot tell).
    config
        The first estimate (``loss_envelope_s``, ``count_margin``) and the refinement
        (``count_latency_bin_s``, ``count_passes``).

    Returns
    -------
    numpy.ndarray
        (m,) the count of each notification's first sample (0 for the first).
    """
    received = np.cumsum(n) - 1  # count of each notification's last sample, were nothing lost
    lost = _bound_lost(arrival_s, received, period_s, config.count_margin, config)
    lost = most_likely_lost(arrival_s, received, period_s, lost, config)
    return received + lost - n + 1


def sample_period(
    arrival_s: np.ndarray, received: np.ndarray, period_s: float, config: AssemblerConfig
) -> float | None:
    """The period a sensor without a clock sampled at, from the phase of its arrivals, in s.

    With ``z_j = a_j − Q · r_j`` (``r_j`` the samples received up to notification ``j``), a running median
    of ``z`` over ``config.count_median_window`` notifications is ``T0 + P·lost + median latency +
    (P − Q)·r``: the median latency is steady (unlike the quickest arrival, which a retry-laden link reaches
    only now and then), a loss adds a whole period ``P``, and a wrong ``Q`` turns it by ``(P − Q)`` per
    sample. So at ``Q = P`` the median, taken modulo ``Q``, stays put: the candidate whose phases
    ``2π · median / Q`` line up best (the largest mean resultant length) is the period. The search runs
    coarse to fine, as the phase of a pulse train is timed:

    1. Candidates every ``Q² / (config.count_period_steps · S)`` over ``Q = P · (1 ± max_count_drift)``,
       scored on chunks of ``S = config.count_period_span_s`` (each chunk's own phase, powers summed),
       so a long recording sharpens the peak without needing a finer grid.
    2. Each following round: chunks four times longer, a grid four times finer within three steps of the
       best so far, until one chunk spans the epoch.

    A median taken at one period stands for neighbouring candidates too (shifted by ``(Q − Q0) · r``)
    while ``|Q − Q0| ·`` window stays under half a millisecond, so few medians are taken. The powers are
    first taken from float32 cosines and sines with a bound on their error (`_rough_phase_power`); only the
    candidates that bound cannot rule out (one, on every recording tried) get the exact power of complex
    exponentials: the same period, in a fifth of the time.

    Parameters
    ----------
    arrival_s
        (m,) arrival of each notification, in s, increasing.
    received
        (m,) count of each notification's last sample, were nothing lost.
    period_s
        Nominal sample period, in s.
    config
        ``max_count_drift``, ``count_median_window``, ``count_period_span_s`` and ``count_period_steps``.

    Returns
    -------
    float or None
        The sample period, in s; None for an epoch shorter than one chunk (or than two median windows).
    """
    a = arrival_s - arrival_s[0]
    r = (received - received[0]).astype(float)
    total_s = float(a[-1])
    span_s = config.count_period_span_s
    if total_s < span_s or len(a) < 2 * config.count_median_window:
        return None
    window = config.count_median_window
    pivot_step = 2 * _PIVOT_SMEAR_S / window
    low, high = period_s * (1 - config.max_count_drift), period_s * (1 + config.max_count_drift)

    def running_median(pivot: float) -> np.ndarray:
        return median_filter(a - pivot * r, size=window, mode="nearest")

    while True:
        span_s = min(span_s, total_s)
        step = period_s**2 / (config.count_period_steps * span_s)
        candidates = np.arange(low, high + step, step)
        chunk_starts = np.flatnonzero(np.r_[True, np.diff(np.floor(a / span_s)) != 0])
        group = np.rint((candidates - low) / pivot_step)
        power, error = np.empty(len(candidates)), np.empty(len(candidates))
        for k in np.unique(group):
            pivot = low + k * pivot_step
            median = running_median(pivot)
            # r counts whole samples: (z − (Q − pivot) · r) / Q and (z + pivot · r) / Q differ by whole cycles
            moved = median + pivot * r
            for i in np.flatnonzero(group == k):  # one candidate at a time: its arrays stay in the cache
                power[i], error[i] = _rough_phase_power(moved, candidates[i], chunk_starts)
        # the exact power only for the candidates the rough one cannot rule out: the same argmax
        finalists = np.flatnonzero(power + error >= np.max(power - error))
        for k in np.unique(group[finalists]):
            pivot = low + k * pivot_step
            mine = finalists[group[finalists] == k]
            power[mine] = _phase_power(running_median(pivot), r, candidates[mine], pivot, chunk_starts)
        best = float(candidates[finalists[np.argmax(power[finalists])]])
        if span_s >= total_s:
            return best
        low, high = best - 3 * step, best + 3 * step
        span_s *= 4


def _phase_power(
    median: np.ndarray, r: np.ndarray, candidates: np.ndarray, pivot: float, chunk_starts: np.ndarray
) -> np.ndarray:
    """Per candidate period ``Q``: the chunks' powers of ``exp(2πi · z / Q)`` summed, ``z`` the running
    median taken at ``pivot`` moved to ``Q`` (`sample_period`)."""
    shifted = median[None, :] - (candidates - pivot)[:, None] * r[None, :]
    phasor = np.exp(2j * np.pi * shifted / candidates[:, None])
    chunk = np.add.reduceat(phasor, chunk_starts, axis=1)
    return (np.abs(chunk) ** 2).sum(axis=1)


def _rough_phase_power(moved: np.ndarray, candidate: float, chunk_starts: np.ndarray) -> tuple[float, float]:
    """`_phase_power` of one candidate from float32 cosines and sines of ``2π · moved / candidate`` (a
    fraction of the time of complex exponentials), and a bound on how far it may be off."""
    cycles = moved / candidate
    cycles -= np.rint(cycles)
    angle = np.multiply(cycles, 2 * np.pi, dtype=np.float32, casting="same_kind")
    real = np.add.reduceat(np.cos(angle), chunk_starts, dtype=np.float64)
    imag = np.add.reduceat(np.sin(angle), chunk_starts, dtype=np.float64)
    # Each phasor is off by less than 1e-6 (the angle's float32 rounding 2e-7, float32 cosine and sine a few
    # 1e-8, the cycles' float64 rounding 1e-10); taking 1e-5, a chunk's sum is off by at most 1e-5 per phasor,
    # its power by (2 |sum| + off) · off.
    off = np.diff(np.r_[chunk_starts, len(moved)]) * 1e-5
    return float((real**2 + imag**2).sum()), float((off * (2 * np.hypot(real, imag) + off)).sum())


#: A running median taken at one candidate period stands in for candidates whose phase drift over the
#: median's window stays below this, in s (a tenth of the 2.5-10 ms over which latencies spread).
_PIVOT_SMEAR_S = 0.0005


def _bound_lost(
    arrival_s: np.ndarray, received: np.ndarray, period_s: float, margin: float, config: AssemblerConfig
) -> np.ndarray:
    """Lost counts as the largest no arrival of the next ``config.loss_envelope_s`` contradicts, on one line."""
    x = (arrival_s - period_s * received) / period_s
    ahead = max(int(config.loss_envelope_s * len(x) / max(arrival_s[-1] - arrival_s[0], period_s)), 1)
    bound = minimum_filter1d(x, size=ahead, origin=-(ahead // 2), mode="nearest")
    lost = np.maximum.accumulate(np.floor(bound + margin).astype(np.int64))
    return lost - lost[0]


def _latency_log_density(
    latency_s: np.ndarray, period_s: float, config: AssemblerConfig
) -> tuple[np.ndarray, float, float]:
    """Log density of latencies (a histogram smoothed by two bins), its lowest latency and bin, in s."""
    bin_s = config.count_latency_bin_s
    low_s, high_s = -2 * period_s, 8 * period_s  # later than this: the histogram's last bin
    edges = np.arange(low_s, high_s + bin_s, bin_s)
    counts, _ = np.histogram(np.clip(latency_s, low_s, edges[-1] - bin_s / 2), bins=edges)
    kernel = np.exp(-0.5 * np.arange(-4, 5) ** 2 / 4.0)
    density = np.convolve(counts.astype(float), kernel / kernel.sum(), mode="same") / len(latency_s)
    return np.log(density + 1e-7), low_s, bin_s


def _rise_cost(lost: np.ndarray) -> float:
    """Log of the fraction of notifications after which samples were lost."""
    rises = max(int(np.count_nonzero(np.diff(lost))), 1)
    return float(np.log(min(max(rises / len(lost), 1e-4), 0.1)))


def most_likely_lost(
    arrival_s: np.ndarray, received: np.ndarray, period_s: float, lost: np.ndarray, config: AssemblerConfig
) -> np.ndarray:
    """The most likely lost counts on one line (a Viterbi path), for a sensor without a clock.

    Each notification may have lost any count that puts its latency, ``a_j − P · (r_j + lost_j)``,
    within the histogram's range (two periods before the first estimate's quickest percent to eight
    after), or up to two fewer than the estimate: the states follow the arrivals, so a first estimate
    off by several samples can be mended, and an arrival a stalled host held back for seconds is not
    taken for a loss. Each latency is scored by the log density of the latencies the estimate before gives over
    the epoch (a histogram of ``config.count_latency_bin_s`` bins, smoothed by two bins); lost counts
    never shrink, and each rise costs the log of the fraction of notifications after which samples were
    lost, so a loss is counted only when the arrivals after it are, together, more likely one or more
    periods later than not. Up to ``config.count_passes`` passes, each on the histogram the pass before
    gives (a histogram taken from miscounted stretches has a false mode one period later).

    Parameters
    ----------
    arrival_s
        (m,) arrival of each notification, in s.
    received
        (m,) count of each notification's last sample, were nothing lost.
    period_s
        Sample period, in s (`sample_period`).
    lost
        (m,) the first estimate of samples lost before each notification.
    config
        The histogram bin (``count_latency_bin_s``) and the passes (``count_passes``).

    Returns
    -------
    numpy.ndarray
        (m,) samples lost before each notification, non-decreasing, 0 for the first.
    """
    for _ in range(config.count_passes):
        latency_s = arrival_s - period_s * (received + lost)
        line_s = float(np.percentile(latency_s, 1))
        log_density, low_s, bin_s = _latency_log_density(latency_s - line_s, period_s, config)
        refined = _viterbi_lost(arrival_s - line_s - period_s * received, period_s, log_density, low_s, bin_s, lost)
        if np.array_equal(refined, lost):
            break
        lost = refined
    return lost


def _viterbi_lost(
    level_s: np.ndarray, period_s: float, log_density: np.ndarray, low_s: float, bin_s: float, lost: np.ndarray
) -> np.ndarray:
    """The Viterbi path of `most_likely_lost`: ``level_s = P · lost + latency`` per notification."""
    high_s = low_s + bin_s * len(log_density)
    # the least lost count each state band starts from: the one putting the latency at the histogram's
    # top, or two below the estimate when that is less (arrivals a stalled host held back for longer)
    base = np.minimum(np.ceil((level_s - high_s) / period_s).astype(np.int64), lost - 2)
    states = int(np.ceil((high_s - low_s) / period_s)) + 1
    latency_s = level_s[:, None] - period_s * (base[:, None] + np.arange(states)[None, :])
    score_each = log_density[np.clip(((latency_s - low_s) / bin_s).astype(np.int64), 0, len(log_density) - 1)]
    score_each[latency_s < low_s] = -np.inf
    path = base + viterbi_path(score_each, np.diff(base), _rise_cost(lost))
    return path - path[0]


def _subset(block: SampleBlock, keep: np.ndarray) -> SampleBlock:
    return SampleBlock(**{name: getattr(block, name)[keep] for name in block.channels()})


class StreamAssembler:
    """One sensor's notifications in, its samples on the session clock out.

    Parameters
    ----------
    model
        The sensor model (its decoder, and whether it has a device clock).
    config
        Rate, gap threshold, de-duplication window.
    decoder_context
        Extra keyword arguments of the model's decoder (Polar's delta-frame factors).
    """

    def __init__(self, model: SensorModel, config: AssemblerConfig, **decoder_context) -> None:
        self.model = model
        self.config = config
        self.has_clock = model.has_device_clock
        self.sync = ClockSync(
            ClockSyncConfig() if self.has_clock else ClockSyncConfig(max_drift=config.max_count_drift)
        )
        self.decoder = model.decoder(rate_hz=config.rate_hz, **decoder_context)
        self.counts = AssemblerCounts()
        self._joiner = ChannelJoiner(tolerance_s=0.5 * config.period_s, arrival_tolerance_s=config.pair_arrival_s)
        self._recent: deque[bytes] = deque(maxlen=config.dedupe_window)
        self._before_drop: set[bytes] = set()
        self._after_drop = 0
        self._dropped_at_s: float | None = None  # host time of a drop not yet followed by samples
        self._drops_s: list[float] = []  # host times of every drop, to name the gaps they cause
        self._last_device_s: float | None = None
        self._last_time_s: float | None = None
        self._count = 0
        # per sample handed on: device time (or count time) and epoch, for the final fit
        self._device: list[np.ndarray] = []
        self._epoch: list[np.ndarray] = []
        # per notification without a device clock: epoch, arrival and samples, for the final fit
        self._arrivals: list[tuple[int, float, int]] = []

    def set_decoder_context(self, **decoder_context) -> None:
        """Rebuild the decoder with new context (Polar's start answer carries its delta-frame factors)."""
        self.decoder = self.model.decoder(rate_hz=self.config.rate_hz, **decoder_context)

    def link_lost(self, host_s: float) -> None:
        """The link dropped at host time ``host_s`` (session clock)."""
        self._dropped_at_s = host_s
        self._drops_s.append(host_s)
        self._before_drop = set(self._recent)
        self._after_drop = self.config.dedupe_window

    def link_restored(self) -> None:
        """The link is back: the decoder's packet state starts afresh (sequence counters, deltas)."""
        self.decoder.reset()

    def feed(self, payload: bytes, host_s: float) -> Assembled | None:
        """One notification received at host time ``host_s``; the samples it completes, if any."""
        self.counts.packets += 1
        if not self.has_clock:
            # Without a device clock only the bytes tell a re-sent payload from a new one.
            if self._after_drop:
                self._after_drop -= 1
                if payload in self._before_drop:
                    self.counts.duplicates += 1
                    return None
            self._recent.append(payload)
        try:
            block, _ = self.decoder.feed(payload)
        except ProtocolError:
            self.counts.undecodable += 1
            return None
        block = self._joiner.push(block, host_s)
        if not block.n:
            return None
        if block.device_time_s is None or not self.has_clock:
            device_s, block = self._count_times(block, host_s), block
        else:
            kept = self._device_times(block)
            if kept is None:
                return None
            device_s, block = kept
        self.sync.add(float(device_s[-1]), host_s)
        time_s = self.sync.to_host(device_s)
        gaps = []
        if self._dropped_at_s is not None and self._last_time_s is not None:
            gaps.append(Gap(self._last_time_s, float(time_s[0]), "link lost; reconnected"))
        self._dropped_at_s = None
        self._last_time_s = float(time_s[-1])
        self._device.append(device_s)
        self._epoch.append(np.full(len(device_s), self.sync.epoch))
        self.counts.samples += block.n
        return Assembled(time_s, block, device_s if self.has_clock else None, gaps)

    def _device_times(self, block: SampleBlock) -> tuple[np.ndarray, SampleBlock] | None:
        """The block's device times, with samples already received dropped; a restarted clock starts an epoch."""
        device_s = np.asarray(block.device_time_s, dtype=float)
        previous_s = self._last_device_s
        if previous_s is not None and device_s[0] < previous_s - self.config.clock_restart_s:
            self.sync.new_epoch()
            previous_s = None
        if previous_s is not None:
            keep = device_s > previous_s + 0.5 * self.config.period_s
            if not keep.all():
                self.counts.duplicates += int((~keep).sum())
                block, device_s = _subset(block, keep), device_s[keep]
                if not block.n:
                    return None
        self._last_device_s = float(device_s[-1])
        return device_s, block

    def _count_times(self, block: SampleBlock, host_s: float) -> np.ndarray:
        """Count-based device times; a new epoch after a drop; counts advanced over lost notifications."""
        period = self.config.period_s
        if self._dropped_at_s is not None:
            self.sync.new_epoch()
            self._count = 0
        elif self._count:
            # The next sample's count, mapped online, should not be far before this arrival.
            expected_s = self.sync.offset_s + self.sync.rate * (self._count + block.n - 1) * period
            late_s = host_s - expected_s
            if late_s > self.config.gap_s:
                self._count += int(np.floor(late_s / (self.sync.rate * period)))
        self._arrivals.append((self.sync.epoch, host_s, block.n))
        device_s = (self._count + np.arange(block.n)) * period
        self._count += block.n
        return device_s

    def finalize(self, end_s: float | None = None, shared: ClockSync | None = None) -> FinalTimes:
        """Every sample's session time over the whole recording, and its gaps and losses.

        Parameters
        ----------
        end_s
            Session time the recording ended, in s (for a link lost and never restored).
        shared
            The pooled sync of sensors sharing this sensor's clock (`ClockSync.pooled`), or None.
        """
        if not self._device:
            return FinalTimes(np.empty(0), [], 0, self.sync.summary())
        device = np.concatenate(self._device)
        epoch = np.concatenate(self._epoch)
        if self.has_clock:
            sync = shared or self.sync
            time_s, clock = sync.final_map(device, epoch), sync.summary()
        else:
            time_s, clock = self._final_count_times(epoch)
        gaps, lost = self._holes(time_s, epoch)
        if self._dropped_at_s is not None and end_s is not None and end_s > time_s[-1]:
            gaps.append(Gap(float(time_s[-1]), float(end_s), "link lost; not reconnected before the end"))
        return FinalTimes(time_s, gaps, lost, clock)

    def _final_count_times(self, epoch: np.ndarray) -> tuple[np.ndarray, ClockFitSummary]:
        """Sensors without a clock: every sample's count from the arrivals of the whole recording, then its time.

        Per epoch, `sample_period` finds the sensor's period and `count_notifications` the count of each
        notification's first sample. One rate for all epochs (one oscillator: the epochs' periods weighted
        by their notifications) and one offset per epoch, below every arrival of a notification's last
        sample, map every count to session time: the time base is as straight as the sensor's oscillator,
        and rests on the quickest arrival of each epoch. When no epoch is long enough to find the period,
        the lower envelope of the arrivals gives the rate (`imuform.ble.timesync.lower_envelope_fit`).
        """
        arrivals = np.array(self._arrivals, dtype=float).reshape(-1, 3)
        arrival_epoch = arrivals[:, 0].astype(int)
        nominal = self.config.period_s
        count = np.empty(len(epoch))
        last_count = np.empty(len(arrivals))
        periods, weights = [], []
        for e in np.unique(arrival_epoch):
            mine = arrival_epoch == e
            n = arrivals[mine, 2].astype(np.int64)
            period = sample_period(arrivals[mine, 1], np.cumsum(n) - 1, nominal, self.config)
            if period is not None:
                periods.append(period)
                weights.append(int(mine.sum()))
            first = count_notifications(arrivals[mine, 1], n, period or nominal, self.config)
            count[epoch == e] = np.repeat(first, n) + _ranks(n)
            last_count[mine] = first + n - 1
        epochs = int(epoch[-1]) + 1
        if periods:
            rate = float(np.average(periods, weights=weights)) / nominal
            above = arrivals[:, 1] - rate * nominal * last_count
            epoch_offset = np.array([above[arrival_epoch == e].min() for e in range(epochs)])
            points = len(arrivals)
        else:
            envelope = envelope_points(last_count * nominal, arrivals[:, 1], arrival_epoch, self.sync.config.bin_s)
            rate, offsets = lower_envelope_fit(*envelope, max_drift=self.config.max_count_drift)
            epoch_offset = np.array([offsets[e] for e in range(epochs)])
            points = len(envelope[0])
        out = epoch_offset[epoch.astype(int)] + rate * nominal * count
        latency_ms = (arrivals[:, 1] - epoch_offset[arrival_epoch] - rate * last_count * nominal) * 1e3
        summary = ClockFitSummary(
            method="sample-count",
            offset_s=float(epoch_offset[-1]),
            drift_ppm=float((1.0 / rate - 1.0) * 1e6),
            points=points,
            span_s=float(out[-1] - out[0]),
            latency_ms_p50=float(np.percentile(latency_ms, 50)),
            latency_ms_p95=float(np.percentile(latency_ms, 95)),
            epochs=epochs,
        )
        return out, summary

    def _holes(self, time_s: np.ndarray, epoch: np.ndarray) -> tuple[list[Gap], int]:
        """Gaps (holes ≥ the gap threshold, and every change of epoch) and lost samples (shorter holes)."""
        period = self.config.period_s
        steps = np.diff(time_s)
        new_epoch = np.diff(epoch) != 0
        gaps, lost = [], 0
        for i in np.flatnonzero((steps > 1.5 * period) | new_epoch):
            start, end = float(time_s[i]), float(time_s[i + 1])
            if steps[i] < self.config.gap_s and not new_epoch[i]:
                lost += int(np.rint(steps[i] / period)) - 1
                continue
            dropped = any(start - 1.0 <= d <= end for d in self._drops_s)
            gaps.append(Gap(start, end, "link lost; reconnected" if dropped else "samples missing"))
        return gaps, lost
