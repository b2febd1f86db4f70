"""Put every sensor on one session clock, find gaps, resample, and report the sync quality.

Each sensor's samples are counted (from device timestamps when the sensor has them, else from host receive
times at the nominal rate) and the count is regressed against the session clock: the slope gives the
sensor's true period and so its clock drift, the fit removes BLE arrival jitter. Missing counts are gaps.
The offset between sensors is cross-checked by correlating their gyroscope norms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.despike import FLOOR_ACC_MPS2, FLOOR_GYR_DPS, FLOOR_MAG_UT, despike
from analysis.display import fmt_num
from analysis.lines import line_fit
from analysis.quiet import mask_runs
from analysis.running import minimum_filter1d

#: Gaps longer than this are never interpolated across, in s.
MAX_GAP_S = 0.2


@dataclass(frozen=True)
class SyncCheckConfig:
    """When the gyroscope cross-check of two sensors' clocks is applied (`cross_check`).

    Attributes
    ----------
    apply_correlation
        Normalised correlation of the gyroscope norms above which the offset found is trusted: hinges
        correlate at 0.84–0.98 between pelvis and thorax in the simulator (12 sessions, 4 exercises);
        below 0.7 there is too little common motion to tell clocks apart.
    body_lag_s
        Largest offset put down to the body itself between sensors whose clocks were synchronised
        (device timestamps fitted by the recorder, or a shared clock): the thorax and pelvis rotate
        within 3 ms of each other in the simulator's hinges, and the recorder's clocks agree within
        5 ms, so a larger disagreement is the clocks' and is corrected; below it the clocks are kept,
        as the lag may be the body's own.
    """

    apply_correlation: float = 0.7
    body_lag_s: float = 0.05


SYNC_CHECK = SyncCheckConfig()
#: Sensor rates that real devices use; a fitted rate within `NOMINAL_TOLERANCE` of one is that one plus drift.
NOMINAL_RATES_HZ = (
    10.0,
    12.5,
    20.0,
    25.0,
    26.0,
    30.0,
    40.0,
    50.0,
    52.0,
    60.0,
    100.0,
    104.0,
    120.0,
    200.0,
    208.0,
    400.0,
    416.0,
)
NOMINAL_TOLERANCE = 0.005
#: Window of the lower envelope that tells BLE latency (passing) from lost samples (a lasting step), in s.
ENVELOPE_S = 0.5
#: Stretch of samples whose earliest arrival witnesses the clock in the final fit, in s.
LOWER_FIT_BLOCK_S = 2.0

IMU_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


@dataclass(frozen=True)
class ClockLimits:
    """What a sensor's clock can be: the rates IMUs sample at and the longest session.

    Attributes
    ----------
    min_rate_hz
        Below this no rep of a few seconds can be measured; wearables sample at 12.5 Hz and up.
    max_rate_hz
        Wearables sample at up to 416 Hz (README, sensors table), research IMUs at 1–2 kHz (BROAD:
        286 Hz; Xsens MTi: 2 kHz).
    max_duration_s
        Longest session, in s: a day. Longer spans come from times in the wrong unit or a stray time,
        and would make a grid of billions of samples.
    rate_tolerance
        Relative margin on the rates: a sensor set to 2000 Hz runs a little fast (clock drift, up to
        100 ppm) and its times are rounded.
    """

    min_rate_hz: float = 5.0
    max_rate_hz: float = 2000.0
    max_duration_s: float = 24 * 3600.0
    rate_tolerance: float = 0.01

    def period_range_s(self) -> tuple[float, float]:
        """Shortest and longest sample period, in s, margin included."""
        return 1.0 / (self.max_rate_hz * (1 + self.rate_tolerance)), 1.0 / (
            self.min_rate_hz * (1 - self.rate_tolerance)
        )


CLOCK_LIMITS = ClockLimits()
#: Fewest samples of a sensor whose clock can be fitted (`fit_clock`).
MIN_SAMPLES = 3
MAG_COLUMNS = ("mag_x", "mag_y", "mag_z")


@dataclass
class ClockFit:
    """A sensor's clock on the session clock: sample ``k`` was taken at ``start_s + period_s * index[k]``.

    Attributes
    ----------
    index
        Integer sample count of each received sample (gaps leave holes).
    start_s
        Session time of count 0, in s (for receive times: of its earliest possible arrival).
    period_s
        True sample period on the session clock, in s.
    nominal_rate_hz
        The rate the sensor was set to.
    drift_ppm
        Clock drift: positive when the sensor samples faster than nominal.
    jitter_ms
        Standard deviation of the input times around a straight line (BLE arrival jitter), in ms.
    source
        ``"device"`` when counts came from device timestamps, ``"host"`` when from receive times.
    """

    index: np.ndarray
    start_s: float
    period_s: float
    nominal_rate_hz: float
    drift_ppm: float
    jitter_ms: float
    source: str

    @property
    def rate_hz(self) -> float:
        """True sampling rate on the session clock, in Hz."""
        return 1.0 / self.period_s

    def times_s(self, index: np.ndarray | None = None) -> np.ndarray:
        """Session times of sample counts (default: of the received samples), in s."""
        return self.start_s + self.period_s * (self.index if index is None else index)


def nominal_rate_hz(rate_hz: float) -> float:
    """The standard device rate a measured rate is closest to, or the measured rate when none is close."""
    rates = np.asarray(NOMINAL_RATES_HZ)
    best = rates[np.argmin(np.abs(rates / rate_hz - 1.0))]
    return float(best) if abs(best / rate_hz - 1.0) < NOMINAL_TOLERANCE else float(rate_hz)


def _device_counts(device_time_s: np.ndarray, period_s: float) -> np.ndarray:
    """Integer counts from device timestamps: the elapsed device time in periods, strictly increasing."""
    raw = np.round((device_time_s - device_time_s[0]) / period_s).astype(np.int64)
    i = np.arange(len(raw))
    return np.maximum.accumulate(raw - i) + i


def samples_per_step(rate_hz: float, cap_hz: float, tolerance: float) -> int:
    """Every how many samples a sensor at ``rate_hz`` is read so that it is read at ``cap_hz`` or a little faster:
    ``k = rate // cap_hz`` (1 below twice ``cap_hz``, or for an unknown rate).

    A sensor's rate is its clock's, off its nominal one by its oscillator's error (±1–2 % for MEMS parts,
    docs/ble.md): a rate up to ``tolerance`` (a share) below a multiple of ``cap_hz`` counts as that multiple,
    so a 100 Hz sensor running 0.01 % slow is read at 50 Hz as one running fast.
    """
    if not np.isfinite(rate_hz) or cap_hz <= 0:
        return 1
    return max(1, int(rate_hz * (1.0 + tolerance) // cap_hz))


def _counts_on_a_line(time_s: np.ndarray, tolerance: float) -> np.ndarray | None:
    """Integer counts of times that lie on a line of whole periods, None when they do not.

    A recorder's samples are re-timed onto their clock's fitted line, and many apps write regular
    timestamps: each step is then a whole number of periods (more than one where samples were lost), to
    within ``tolerance`` of a period, and the counts are the steps rounded. There is no latency to tell from
    a loss, which `_host_counts` is for.
    """
    steps = np.diff(time_s)
    period = float(np.median(steps))
    if not period > 0:
        return None
    periods = np.round(steps / period)
    if (periods < 1).any() or np.abs(steps - periods * period).max() > tolerance * period:
        return None
    return np.concatenate([[0], np.cumsum(periods.astype(np.int64))])


def _host_counts(time_s: np.ndarray, envelope_s: float = ENVELOPE_S) -> np.ndarray:
    """Integer counts from host receive times, which are late by a one-sided, jittery latency.

    Relative to a line through the arrival order, lost samples raise the residual by whole periods for
    good, while latency raises it only for a while; the forward-looking minimum (lower envelope) keeps the
    first and drops the second. The first passes round the envelope's steps one by one, so a wrong
    starting period (a trend) cannot add up to counts; later passes round its level, which is exact once
    the period, refitted on the counts each pass, is right.
    """
    n = len(time_s)
    order = np.arange(n)
    counts = order.copy()
    slope = float((time_s[-1] - time_s[0]) / max(1, n - 1))
    for step_pass in (True, True, False, False, False, False, False, False):
        resid = time_s - slope * order
        window = max(1, int(round(envelope_s / slope)))
        # forward-looking minimum over samples i .. i + window - 1
        envelope = minimum_filter1d(resid, window, mode="nearest", origin=-(window // 2))
        # The last window has no future to look at: it shares one minimum instead of trusting late arrivals.
        envelope[-window:] = resid[-window:].min()
        if step_pass:
            level = np.concatenate([[0], np.cumsum(np.round(np.diff(envelope) / slope))])
        else:
            level = np.round((envelope - envelope[0]) / slope)
        new = order + np.maximum.accumulate(np.maximum(0, level)).astype(np.int64)
        if not step_pass and np.array_equal(new, counts):
            break
        counts = new
        slope = line_fit(counts, time_s)[0]
    # a step is snapped within the default envelope's reach, however long the envelope looked ahead
    return _snap_steps_to_gaps(time_s, counts, max(1, int(round(ENVELOPE_S / slope))))


def _snap_steps_to_gaps(time_s: np.ndarray, counts: np.ndarray, window: int) -> np.ndarray:
    """Move each cluster of count steps to the longest arrival interval near it, where the samples were lost.

    The envelope rises a little before a gap (its window runs out of low-latency samples), so a step can
    land a few samples early.
    """
    missing = counts - np.arange(len(counts))
    step_at = np.flatnonzero(np.diff(missing) > 0)
    if len(step_at) == 0:
        return counts
    dt = np.diff(time_s)
    clusters = np.split(step_at, np.flatnonzero(np.diff(step_at) > window) + 1)
    new_steps = np.zeros(len(dt), dtype=np.int64)
    for cluster in clusters:
        lo, hi = max(0, cluster[0] - window), min(len(dt), cluster[-1] + window + 1)
        new_steps[lo + int(np.argmax(dt[lo:hi]))] += int(missing[cluster[-1] + 1] - missing[cluster[0]])
    return np.arange(len(counts)) + np.concatenate([[0], np.cumsum(new_steps)])


def _first_minima(values: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Index of the (first) smallest value in each run of equal ``block`` numbers (``block`` non-decreasing)."""
    starts = np.flatnonzero(np.diff(block, prepend=block[0] - 1))
    lowest = np.minimum.reduceat(values, starts)
    hits = np.flatnonzero(values == np.repeat(lowest, np.diff(np.append(starts, len(values)))))
    return hits[np.unique(block[hits], return_index=True)[1]]


def fit_clock(
    time_s: np.ndarray,
    device_time_s: np.ndarray | None = None,
    nominal_hz: float | None = None,
    envelope_s: float = ENVELOPE_S,
    line_tolerance: float = 0.01,
) -> ClockFit:
    """Fit one sensor's clock against the session clock.

    Parameters
    ----------
    time_s
        Session (host) time of each sample, in s, in arrival order.
    device_time_s
        The sensor's own unwrapped timestamps, in s, or None.
    nominal_hz
        The rate the sensor was set to; estimated from the data when None.
    envelope_s
        Without device timestamps: how long a rise in arrival times must last to count as lost samples
        rather than latency, in s (`_host_counts`).
    line_tolerance
        Without device timestamps: times whose every step is a whole number of periods to within this share
        of a period lie on a line and are counted by their steps (`_counts_on_a_line`). 1 % of a period (0.1 ms
        at 100 Hz) is far below the 2.5–10 ms that BLE arrivals spread over (docs/ble.md), so arrival times
        never pass for a line, while timestamps rounded to the microsecond do.

    Returns
    -------
    ClockFit
    """
    t = np.asarray(time_s, dtype=float)
    if len(t) < MIN_SAMPLES:
        raise ValueError(f"a sensor needs at least {MIN_SAMPLES} samples to fit its clock")
    use_device = device_time_s is not None and np.isfinite(device_time_s).all()
    if use_device:
        ref = np.asarray(device_time_s, dtype=float)
        steps = np.diff(ref)
        # Median of positive steps: robust to gaps and to repeated timestamps.
        device_period = float(np.median(steps[steps > 0]))
        index = _device_counts(ref, device_period)
    else:
        on_a_line = _counts_on_a_line(t, line_tolerance)
        index = _host_counts(t, envelope_s) if on_a_line is None else on_a_line
    slope, intercept = line_fit(index, t)
    residual = t - (intercept + slope * index)
    # Latency only ever delays a sample, and retries hold back whole runs of them: the earliest arrival of
    # each stretch is the best witness of the clock, so the line is refitted through those.
    block = (index - index[0]) // max(1, int(round(LOWER_FIT_BLOCK_S / slope)))
    earliest = _first_minima(residual, block)
    if len(earliest) >= 3:
        slope, intercept = line_fit(index[earliest], t[earliest])
    nominal = nominal_hz or nominal_rate_hz(1.0 / device_period if use_device else 1.0 / slope)
    return ClockFit(
        index=index,
        start_s=float(intercept),
        period_s=float(slope),
        nominal_rate_hz=float(nominal),
        drift_ppm=float((1.0 / (slope * nominal) - 1.0) * 1e6),
        jitter_ms=float(np.std(residual) * 1e3),
        source="device" if use_device else "host",
    )


def find_gaps(clock: ClockFit) -> list[dict]:
    """Missing samples of one sensor as ``{"start_s", "end_s", "duration_s", "missing"}`` dicts.

    ``start_s``/``end_s`` are the last sample before and the first after the gap.
    """
    jumps = np.flatnonzero(np.diff(clock.index) > 1)
    times = clock.times_s()
    return [
        {
            "start_s": float(times[i]),
            "end_s": float(times[i + 1]),
            "duration_s": float(times[i + 1] - times[i]),
            "missing": int(clock.index[i + 1] - clock.index[i] - 1),
        }
        for i in jumps
    ]


@dataclass
class RegularSeries:
    """One sensor on its own regular grid (one row per sample count), missing samples filled, despiked.

    Short gaps (≤ `MAX_GAP_S`) are linearly interpolated; ``segment`` numbers the stretches between long
    gaps, which must never be bridged (``-1`` on the rows inside a long gap).
    """

    placement: str
    time_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_dps: np.ndarray
    mag_uT: np.ndarray | None
    segment: np.ndarray
    clock: ClockFit

    @property
    def rate_hz(self) -> float:
        """Sampling rate of this grid, in Hz."""
        return self.clock.rate_hz

    def stretches(self) -> list[tuple[int, int]]:
        """Rows ``[start, end)`` of each stretch between long gaps, in time order."""
        if len(self.segment) == 0:
            return []
        starts = np.flatnonzero(np.diff(self.segment, prepend=self.segment[0] - 1))
        ends = np.append(starts[1:], len(self.segment))
        keep = self.segment[starts] >= 0
        return list(zip(starts[keep].tolist(), ends[keep].tolist()))


def regularize(placement: str, rows: pd.DataFrame, clock: ClockFit, max_gap_s: float = MAX_GAP_S) -> RegularSeries:
    """Place one sensor's rows on its regular grid of sample counts.

    Parameters
    ----------
    placement
        The sensor's placement.
    rows
        That sensor's rows of the samples table, in time order.
    clock
        Its fitted clock (`fit_clock`).
    max_gap_s
        Longest gap that is interpolated, in s.

    Returns
    -------
    RegularSeries
    """
    n = int(clock.index[-1]) + 1
    mag_cols = [c for c in MAG_COLUMNS if c in rows and rows[c].notna().all()]
    cols = list(IMU_COLUMNS) + (mag_cols if len(mag_cols) == 3 else [])
    # the rows' columns, views of the table's where they are float: no (n, 9) copy of the rows
    columns = [rows[c].to_numpy(dtype=float) for c in cols]
    present = np.zeros(n, dtype=bool)
    present[clock.index] = True
    gap_mask = ~present
    gap_starts, gap_ends = mask_runs(gap_mask)
    long_gap = np.zeros(n, dtype=bool)
    # a run of k missing samples spans k + 1 periods
    long_gap[gap_mask] = np.repeat(gap_ends - gap_starts + 1 > max_gap_s * clock.rate_hz, gap_ends - gap_starts)
    # one contiguous (n, 3) array per vector (acc, gyr, mag): despiked in place, handed on without copies, and
    # each let go on its own (the magnetometer outlives the others, `analysis.angles.AnglesResult`)
    filled = [np.empty((n, 3)) for _ in range(len(cols) // 3)]
    for block in filled:
        block[gap_mask] = np.nan
    holes = np.flatnonzero(gap_mask)
    # a missing count lies between the received samples either side of its gap (or before the first one):
    # interpolating between those alone gives np.interp's figures over all samples to the bit, without a
    # pass over the whole column
    edges = np.flatnonzero(np.diff(clock.index) > 1)
    near = np.unique(np.concatenate([[0], edges, edges + 1]))
    for c, values in enumerate(columns):
        column = filled[c // 3][:, c % 3]
        column[clock.index] = values
        ok = np.isfinite(values)
        # only the missing counts and NaN cells need interpolating: the rest are the samples themselves
        if ok.all():
            column[holes] = np.interp(holes, clock.index[near], values[near], left=np.nan, right=np.nan)
            continue
        fill = np.flatnonzero(~np.isfinite(column))
        column[fill] = np.interp(fill, clock.index[ok], values[ok], left=np.nan, right=np.nan) if ok.any() else np.nan
    for block in filled:
        block[long_gap] = np.nan
    seg_starts, seg_ends = mask_runs(~long_gap)
    segment = np.full(n, -1)
    segment[~long_gap] = np.repeat(np.arange(len(seg_starts)), seg_ends - seg_starts)
    floors = [FLOOR_ACC_MPS2, FLOOR_GYR_DPS, FLOOR_MAG_UT]
    for i0, i1 in zip(seg_starts, seg_ends):
        for j, floor in enumerate(floors[: len(cols) // 3]):
            despike(filled[j][i0:i1], floor, in_place=True)
    return RegularSeries(
        placement=placement,
        time_s=clock.times_s(np.arange(n)),
        acc_mps2=filled[0],
        gyr_dps=filled[1],
        mag_uT=filled[2] if len(cols) == 9 else None,
        segment=segment,
        clock=clock,
    )


def fast_fft_length(n: int) -> int:
    """The smallest length >= ``n`` with no prime factor above 5, where an FFT is fast
    (``scipy.fft.next_fast_len(n, real=True)``)."""
    best = 1 << max(n - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        odd = power5
        while odd < best:
            # the smallest power of two that lifts odd = 3^i 5^j to n or above
            best = min(best, odd << max(0, (-(-n // odd) - 1).bit_length()))
            odd *= 3
        power5 *= 5
    return best


def xcorr_offset_s(
    time_a_s: np.ndarray,
    gyr_a_dps: np.ndarray,
    time_b_s: np.ndarray,
    gyr_b_dps: np.ndarray,
    *,
    rate_hz: float = 100.0,
    max_lag_s: float = 1.0,
) -> tuple[float, float]:
    """Offset of sensor b's clock against sensor a's from their gyroscope norms.

    Parameters
    ----------
    time_a_s, time_b_s
        Session times of each sensor's samples, in s.
    gyr_a_dps, gyr_b_dps
        ``(n, 3)`` gyroscopes, in deg/s (NaN rows are ignored).
    rate_hz
        Rate of the common grid the norms are compared on, in Hz.
    max_lag_s
        Largest offset searched, in s.

    Returns
    -------
    offset_s, correlation
        ``offset_s`` > 0 when b's events appear later than a's (subtract it from b's times to align);
        ``correlation`` is the normalised correlation at that offset (NaN without common motion).
    """
    start, end = max(time_a_s[0], time_b_s[0]), min(time_a_s[-1], time_b_s[-1])
    if end - start < 4 * max_lag_s:
        return float("nan"), float("nan")
    grid = np.arange(start, end, 1.0 / rate_hz)

    def norm_on_grid(t: np.ndarray, g: np.ndarray) -> np.ndarray:
        norm = np.sqrt(np.einsum("ij,ij->i", g, g))
        ok = np.isfinite(norm)
        x = np.interp(grid, t[ok], norm[ok])
        return x - x.mean()

    a, b = norm_on_grid(time_a_s, gyr_a_dps), norm_on_grid(time_b_s, gyr_b_dps)
    denom = np.sqrt(np.einsum("i,i->", a, a) * np.einsum("i,i->", b, b))
    if denom <= 0:
        return float("nan"), float("nan")
    # Circular correlation by FFT, zero-padded so that none of the lags searched wraps (a length of the series
    # plus the largest lag; all lags would need twice the series, and twice the time); only those are kept.
    # (numpy.fft rather than scipy.signal.correlate or scipy.fft: those load scipy.stats or scipy.special at
    # start-up; numpy's pocketfft gives scipy.fft's figures to the bit.)
    max_lag = int(np.floor(max_lag_s * rate_hz))
    size = fast_fft_length(len(a) + max_lag)
    circular = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.arange(-min(max_lag, len(a) - 1), min(max_lag, len(b) - 1) + 1)
    corr = circular[lags % size] / denom
    i = int(np.argmax(corr))
    # Parabolic interpolation of the peak gives sub-sample resolution.
    shift = 0.0
    if 0 < i < len(corr) - 1:
        y0, y1, y2 = corr[i - 1], corr[i], corr[i + 1]
        den = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / den if den != 0 else 0.0
    return float((lags[i] + shift) / rate_hz), float(corr[i])


def sync_quality(sensors: dict, xcorr: dict) -> str:
    """Label the time base ``"good"``, ``"fair"`` or ``"poor"``.

    Poor when a sensor lost more than 5 % of its samples, a sensor without device timestamps arrives with
    more than 50 ms of jitter (its counts, and so its gaps, become guesses), or the gyro cross-check shows
    an uncorrected offset over 100 ms with clear correlation; fair at a fifth of those.
    """
    label = 0
    for s in sensors.values():
        lost = s["missing_samples"] / max(1, s["missing_samples"] + s["samples"])
        jitter_ms = s["jitter_ms"] if s["clock_source"] == "host" else 0.0
        label = max(label, 2 if lost > 0.05 or jitter_ms > 50 else 1 if lost > 0.01 or jitter_ms > 10 else 0)
    for check in xcorr.values():
        off, corr = check["offset_s"], check["correlation"]
        if np.isfinite(off) and corr >= 0.5 and not check["applied"]:
            label = max(label, 2 if abs(off) > 0.1 else 1 if abs(off) > 0.02 else 0)
    return ("good", "fair", "poor")[label]


def median_step_s(time_s: np.ndarray) -> float:
    """Median of the positive steps between consecutive times (the sample period, robust to gaps and
    repeats), in the unit of ``time_s``; NaN when the times never advance."""
    steps = np.diff(time_s)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else float("nan")


def check_clock(placement: str, time_s: np.ndarray, limits: ClockLimits = CLOCK_LIMITS) -> None:
    """Refuse a sensor whose times cannot be an IMU's: too few, not advancing, at an impossible rate or
    over more than a day.

    Parameters
    ----------
    placement
        The sensor's placement, for the message.
    time_s
        Its sample times, sorted, in s.
    limits
        What an IMU's clock can be.

    Raises
    ------
    ValueError
        Naming the sensor, what is wrong and what to do.
    """
    if len(time_s) < MIN_SAMPLES:
        raise ValueError(
            f"sensor {placement} has {len(time_s)} sample(s), fewer than {MIN_SAMPLES}; record it for longer"
        )
    period_s = median_step_s(time_s)
    if not np.isfinite(period_s):
        raise ValueError(
            f"the times of sensor {placement} do not advance (all {time_s[0]:.6g}); time_s must count the seconds"
        )
    shortest_s, longest_s = limits.period_range_s()
    rate_hz = 1.0 / period_s
    if not shortest_s <= period_s <= longest_s:
        raise ValueError(
            f"sensor {placement} samples at {rate_hz:.3g} Hz, where an IMU samples at {limits.min_rate_hz:g}–"
            f"{limits.max_rate_hz:g} Hz: its times must be in s; import it again with the right --units"
        )
    duration_s = float(time_s[-1] - time_s[0])
    if duration_s > limits.max_duration_s:
        raise ValueError(
            f"sensor {placement} spans {duration_s / 3600:.3g} h, more than {limits.max_duration_s / 3600:g} h: "
            f"a stray time; fix it in the samples and import them again"
        )


def regularize_sensor(
    placement: str,
    rows: pd.DataFrame,
    nominal_hz: float | None = None,
    max_gap_s: float = MAX_GAP_S,
) -> tuple[RegularSeries, dict]:
    """Fit one sensor's clock and regularise its samples: the per-sensor part of `align_sensors`.

    Parameters
    ----------
    placement
        The sensor's placement.
    rows
        That sensor's rows of the samples table; ``device_time_s`` is used where present.
    nominal_hz
        Its nominal rate in Hz; estimated when None.
    max_gap_s
        Longest gap that is interpolated, in s.

    Returns
    -------
    series, report
        The `RegularSeries` and the sensor's entry of the sync report (see `align_sensors`).
    """
    if not rows["time_s"].is_monotonic_increasing:
        rows = rows.sort_values("time_s", kind="stable")
    check_clock(placement, rows["time_s"].to_numpy(dtype=float))
    device = rows["device_time_s"].to_numpy(dtype=float) if "device_time_s" in rows else None
    clock = fit_clock(rows["time_s"].to_numpy(dtype=float), device, nominal_hz)
    series = regularize(placement, rows, clock, max_gap_s)
    gaps = find_gaps(clock)
    report = {
        "rate_hz": clock.rate_hz,
        "nominal_rate_hz": clock.nominal_rate_hz,
        "offset_s": clock.start_s + clock.period_s * int(clock.index[0]),
        "drift_ppm": clock.drift_ppm,
        "jitter_ms": clock.jitter_ms,
        "clock_source": clock.source,
        "samples": int(len(rows)),
        "missing_samples": int(sum(g["missing"] for g in gaps)),
        "gaps": gaps,
        "long_gaps": int(sum(g["duration_s"] > max_gap_s for g in gaps)),
    }
    return series, report


def clock_relation(times_s: list[np.ndarray], device_time: bool) -> str:
    """How the sensors' timestamps relate, for `cross_check`.

    Parameters
    ----------
    times_s
        Each sensor's ``time_s`` column (its rows of the samples table, `sensor_rows`), in s.
    device_time
        Whether the samples table has a ``device_time_s`` column.

    Returns
    -------
    str
        ``"shared"``: every sensor has the same sample instants (one clock, e.g. a row-per-instant CSV);
        ``"synchronised"``: device timestamps that the recorder put on the session clock; ``"own"``: each
        sensor on its own clock with nothing tying them together (imports), off by up to tens of ms.
    """
    if _shared_instants(times_s):
        return "shared"
    return "synchronised" if device_time else "own"


def cross_check(
    series: dict[str, RegularSeries], report: dict[str, dict], clocks: str, config: SyncCheckConfig = SYNC_CHECK
) -> dict:
    """Cross-check every sensor's clock against the lumbar one's by their gyroscopes, and label the sync.

    Parameters
    ----------
    series
        `RegularSeries` per placement; the times of a sensor whose offset is applied are shifted in place.
    report
        Per placement its sync report entry (`regularize_sensor`), its ``offset_s`` corrected in place.
    clocks
        How the sensors' clocks relate (`clock_relation`). On their own clocks, any clear offset is
        corrected; on clocks the recorder synchronised, only an offset beyond the body's own lag
        (``config.body_lag_s``); on one shared clock none (an offset there is the body's own).
    config
        Thresholds (`SyncCheckConfig`).

    Returns
    -------
    dict
        The sync report of `align_sensors`; each ``xcorr`` entry says whether it was ``applied`` and why
        (``reason``).
    """
    reference = "lumbar" if "lumbar" in series else next(iter(series))
    ref = series[reference]
    xcorr = {}
    for placement, s in series.items():
        if placement == reference:
            continue
        off, corr = xcorr_offset_s(ref.time_s, ref.gyr_dps, s.time_s, s.gyr_dps)
        if not np.isfinite(off) or not np.isfinite(corr):
            applied, reason = False, "no common motion to compare"
        elif corr < config.apply_correlation:
            applied, reason = False, f"correlation {corr:.2f} below {config.apply_correlation:g}: clocks kept"
        elif clocks == "own":
            applied, reason = True, "sensors on their own clocks: offset corrected"
        elif clocks == "shared":
            applied, reason = False, "one shared clock: an offset is the body's own, kept"
        elif abs(off) > config.body_lag_s:
            applied = True
            reason = f"clocks disagree with the gyroscopes by {off * 1e3:+.0f} ms: corrected"
        else:
            applied = False
            reason = f"within the body's own lag ({config.body_lag_s * 1e3:.0f} ms): synchronised clocks kept"
        if applied:
            s.clock.start_s -= off
            s.time_s = s.time_s - off
            report[placement]["offset_s"] -= off
        xcorr[placement] = {
            "reference": reference,
            "offset_s": off,
            "correlation": corr,
            "applied": applied,
            "reason": reason,
        }
    return {"sensors": report, "xcorr": xcorr, "quality": sync_quality(report, xcorr)}


def describe_sync(sync: dict) -> str:
    """The sync report of `align_sensors` in one line: quality, each sensor's clock, the gyroscope check."""
    if not sync:
        return "sync: unknown"
    parts = []
    for placement, s in sync.get("sensors", {}).items():
        clock = "device clock" if s.get("clock_source") == "device" else "receive times"
        lost = s.get("missing_samples", 0)
        parts.append(
            f"{placement} {clock}, drift {fmt_num(s.get('drift_ppm', 0.0), signed=True)} ppm"
            + (f", {lost} samples missing" if lost else "")
        )
    for placement, check in sync.get("xcorr", {}).items():
        off, corr = check.get("offset_s"), check.get("correlation")
        if off is not None and np.isfinite(off):
            parts.append(
                f"gyroscope check {placement} {fmt_num(off * 1e3, signed=True)} ms (r {fmt_num(corr, 2)}): {check.get('reason', '')}"
            )
        else:
            parts.append(f"gyroscope check {placement}: {check.get('reason', 'no common motion')}")
    return f"sync {sync.get('quality', 'unknown')}: " + "; ".join(parts)


def align_sensors(
    samples: pd.DataFrame,
    *,
    nominal_hz: dict[str, float] | None = None,
    max_gap_s: float = MAX_GAP_S,
) -> tuple[dict[str, RegularSeries], dict]:
    """Fit every sensor's clock, regularise its samples and report the sync quality.

    Parameters
    ----------
    samples
        The samples table (docs/architecture.md); ``device_time_s`` is used where present.
    nominal_hz
        Known nominal rate per placement, in Hz; estimated when missing.
    max_gap_s
        Longest gap that is interpolated, in s.

    Returns
    -------
    series, sync
        `RegularSeries` per placement, and the sync report: per sensor ``rate_hz``, ``nominal_rate_hz``,
        ``offset_s`` (session time of its first sample), ``drift_ppm``, ``jitter_ms``, ``clock_source``,
        ``samples``, ``missing_samples``, ``gaps`` and ``long_gaps``; ``xcorr`` per sensor against the
        lumbar one (``offset_s``, ``correlation``, ``applied``: corrected when the sensors keep their own
        clocks); ``quality`` (`sync_quality`).
    """
    rows_of = sensor_rows(samples)
    series: dict[str, RegularSeries] = {}
    report: dict[str, dict] = {}
    for placement, rows in rows_of:
        series[placement], report[placement] = regularize_sensor(
            placement, rows, (nominal_hz or {}).get(placement), max_gap_s
        )
    times = [rows["time_s"].to_numpy(dtype=float) for _, rows in rows_of]
    return series, cross_check(series, report, clock_relation(times, "device_time_s" in samples))


def sensor_rows(samples: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Each sensor's rows of a samples table, in order of first appearance.

    The store and samples.csv keep each sensor's rows together: those come out as slices (no copy, no
    hashing of 10⁶ sensor names); any other order goes through a groupby.
    """
    sensor = samples["sensor"].to_numpy()
    if len(sensor) == 0:
        return []
    bounds = np.concatenate([[0], np.flatnonzero(sensor[1:] != sensor[:-1]) + 1, [len(sensor)]])
    names = sensor[bounds[:-1]].tolist()
    if len(set(names)) == len(names):
        return [(name, samples.iloc[i0:i1]) for name, i0, i1 in zip(names, bounds[:-1], bounds[1:])]
    return list(samples.groupby("sensor", sort=False))


def _shared_instants(times: list[np.ndarray]) -> bool:
    """True when every sensor (``time_s`` per sensor) reports the same sample times (one clock, e.g. a
    row-per-instant CSV)."""
    return all(len(t) == len(times[0]) and np.allclose(t, times[0]) for t in times[1:])


def common_grid(series: dict[str, RegularSeries], rate_hz: float | None = None) -> np.ndarray:
    """Session times of the common grid: the sensors' overlap at ``rate_hz`` (default: the fastest sensor)."""
    rate = rate_hz or max(s.clock.nominal_rate_hz for s in series.values())
    start = max(s.time_s[0] for s in series.values())
    end = min(s.time_s[-1] for s in series.values())
    return start + np.arange(max(0, int(np.floor((end - start) * rate + 1e-9)) + 1)) / rate
