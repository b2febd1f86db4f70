"""Rep detection: forward excursions of the trunk from its top posture and back again.

A rep is found as a peak of trunk inclination (`scipy.signal.find_peaks` with a prominence floor) on a
low-passed copy of the signal. Walking out from the peak on either side, the top posture is where the
trunk turns back (touch-and-go) or stalls (a pause at the top); the rep starts when the trunk leaves
the top posture and ends when it is back. The raw angles are never altered: smoothing only places the
boundaries.

Backward leans, lateral bends and twists do not raise trunk inclination (it is the forward tilt from
vertical, see docs/conventions.md); excursions that do not tip the trunk forward of vertical (the
return to upright between backward leans) or that lie in a gap of the data are rejected. The top
postures before and after a rep may differ: a hyperextended lockout leans back 20° and more from the
posture the rep started from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.peaks import find_peaks
from analysis.running import maximum_filter1d, minimum_filter1d
from analysis.zero_phase import butter, sosfiltfilt


@dataclass(frozen=True)
class RepRules:
    """The rep finder's thresholds (`find_excursions`), in units, each with where it comes from.

    None of them is fitted: they were set by hand, and tests/test_reps.py, the simulator's benchmark
    (`benchmarks/accuracy.py`) and the real recordings (`benchmarks/validate_real.py`: TrunkyXL, SpineWise)
    check them.

    Attributes
    ----------
    min_excursion_deg
        Smallest forward excursion of the trunk, from the top posture on both sides, that counts as a
        rep: squats lean the trunk 30° and more (Hales et al. 2009: trunk lean at the squat's bottom);
        a crouch that sways the trunk by 20° is no rep. Also the peaks' prominence floor.
    smooth_cutoff_hz
        Cut-off of the low-pass that places rep boundaries: reps are slower than 1 Hz (the fastest
        simulated and TrunkyXL reps take more than 1.5 s).
    max_phase_s
        Longest eccentric or concentric phase searched for a top posture, s (slow tempo sets use 3-4 s).
    turn_deg
        The trunk has reached a top posture where it turns back by this much (touch-and-go), deg.
    stall_deg, stall_s
        ... or where it moves less than ``stall_deg`` for ``stall_s`` (a pause at the top) after coming up at
        least half ``min_excursion_deg``.
    min_bottom_inclination_deg
        The deepest point tips the trunk at least this far forward of vertical: between backward leans
        the trunk only comes back to upright, while a hyperextended lockout may lean back 20° and more
        before the next rep tips forward.
    top_zone, top_tolerance_deg
        A rep leaves and regains its top posture within this fraction of its excursion, and at least
        ``top_tolerance_deg``.
    max_missing_fraction
        Largest fraction of missing samples inside a rep: a rep whose descent and ascent were seen still
        counts across a short radio gap (its metrics use the samples that arrived).
    """

    min_excursion_deg: float = 25.0
    smooth_cutoff_hz: float = 2.0
    max_phase_s: float = 8.0
    turn_deg: float = 3.0
    stall_deg: float = 1.5
    stall_s: float = 0.4
    min_bottom_inclination_deg: float = 20.0
    top_zone: float = 0.05
    top_tolerance_deg: float = 2.0
    max_missing_fraction: float = 0.5


DEFAULT_REP_RULES = RepRules()

EXCURSION_COLUMNS = (
    "start_s",
    "bottom_s",
    "end_s",
    "top_reached_s",
    "top_start_deg",
    "top_end_deg",
    "bottom_deg",
    "excursion_deg",
    "descent_dps",
    "ascent_dps",
)


def rate_of(time_s: np.ndarray) -> float:
    """Sample rate of a uniformly sampled series, in Hz, from the median step."""
    steps = np.diff(np.asarray(time_s, dtype=float))
    steps = steps[np.isfinite(steps) & (steps > 0)]
    if len(steps) == 0:
        raise ValueError("need at least two samples with increasing time_s to find a sample rate")
    return float(1.0 / np.median(steps))


def smooth_deg(
    angle_deg: np.ndarray, rate_hz: float, cutoff_hz: float = DEFAULT_REP_RULES.smooth_cutoff_hz
) -> np.ndarray:
    """Zero-phase low-pass of an angle series; NaN gaps are bridged linearly before filtering.

    Parameters
    ----------
    angle_deg
        Angle series in degrees, uniformly sampled, NaN in gaps.
    rate_hz
        Sample rate in Hz.
    cutoff_hz
        Cut-off frequency of the 2nd-order Butterworth low-pass, in Hz.

    Returns
    -------
    numpy.ndarray
        The smoothed series, finite everywhere (all NaN when the input has no finite value).
    """
    filled = np.array(angle_deg, dtype=float)
    gap = np.isnan(filled)
    if gap.all():
        return filled
    if gap.any():
        # linear between the samples either side of a gap, the nearest sample's value before the first and
        # after the last (pandas' interpolate(limit_direction="both"), which costs 20 ms an hour more)
        known = np.flatnonzero(~gap)
        filled[gap] = np.interp(np.flatnonzero(gap), known, filled[known])
    if cutoff_hz >= 0.45 * rate_hz:
        return filled
    sos = butter(2, cutoff_hz, fs=rate_hz, output="sos")
    # sosfiltfilt needs more samples than its default padding, 3 (2 sections + 1); very short series stay unfiltered
    if len(filled) <= 3 * (2 * len(sos) + 1):
        return filled
    return sosfiltfilt(sos, filled)


def _top_offsets(away_deg: np.ndarray, still: np.ndarray, stall_n: int, rules: RepRules) -> tuple[int, int]:
    """Offsets of the top posture along a trunk series that starts at a rep's deepest point.

    Parameters
    ----------
    away_deg
        Smoothed trunk inclination from the deepest point outwards (backwards in time for the start).
    still
        Per offset, whether the trunk holds still (``rules.stall_deg``) over the ``stall_n`` samples
        (``rules.stall_s``) from there on, in the direction of ``away_deg``.
    stall_n
        ``rules.stall_s`` in samples.
    rules
        The thresholds.

    Returns
    -------
    tuple of int
        The offset of the lowest inclination before the trunk turns back or stalls (the top posture),
        and the offset where the trunk has settled into it: the end of the stall where it stalls, the
        top posture itself where it turns back first (meaningful walking forwards in time only).
    """
    running_min = np.minimum.accumulate(away_deg)
    stop = len(away_deg)
    turned = np.flatnonzero(away_deg > running_min + rules.turn_deg)
    if len(turned):
        stop = turned[0]
    risen = away_deg[: len(still)] <= away_deg[0] - rules.min_excursion_deg / 2
    stalled = np.flatnonzero(still & risen)
    stalls_first = len(stalled) and stalled[0] + 1 < stop
    if stalls_first:
        stop = stalled[0] + 1
    top = int(np.argmin(away_deg[:stop]))
    # a stall holds within rules.stall_deg, less than the turn: the trunk cannot turn back inside it
    settled = min(int(stalled[0]) + stall_n - 1, len(away_deg) - 1) if stalls_first else top
    return top, max(top, settled)


def find_excursions(
    angles: pd.DataFrame, rate_hz: float | None = None, rules: RepRules = DEFAULT_REP_RULES
) -> pd.DataFrame:
    """Forward trunk excursions that count as reps, in time order.

    Parameters
    ----------
    angles
        Angle table with ``time_s`` and ``trunk_inclination_deg`` (docs/conventions.md), uniformly
        sampled, NaN in gaps.
    rate_hz
        Sample rate in Hz; estimated from ``time_s`` when ``None``.
    rules
        The thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per rep with `EXCURSION_COLUMNS`: rep boundaries and deepest point (s), where the
        trunk reaches the top posture after the rep (``top_reached_s``, at or after ``end_s``, which is
        where it enters the top zone), the top postures before and after and the deepest trunk
        inclination (deg), the excursion (the smaller rise from either top posture, deg) and the peak
        trunk speeds going down and coming up (deg/s).
    """
    empty = pd.DataFrame(columns=list(EXCURSION_COLUMNS), dtype=float)
    if len(angles) < 3:
        return empty
    t = angles["time_s"].to_numpy(dtype=float)
    rate_hz = rate_hz or rate_of(t)
    raw = angles["trunk_inclination_deg"].to_numpy(dtype=float)
    trunk = smooth_deg(raw, rate_hz, rules.smooth_cutoff_hz)
    if not np.isfinite(trunk).any():
        return empty
    max_phase = int(rules.max_phase_s * rate_hz)
    stall_n = max(int(rules.stall_s * rate_hz), 2)
    # still_ahead[i]: the trunk moves less than stall_deg over samples i … i + stall_n - 1
    ahead = -(stall_n // 2)
    still_ahead = (
        maximum_filter1d(trunk, stall_n, origin=ahead) - minimum_filter1d(trunk, stall_n, origin=ahead)
    ) < rules.stall_deg
    still_ahead[len(trunk) - stall_n + 1 :] = False
    # wlen bounds the prominence search to one rep either side, so a long session's far-away minima
    # do not make a shallow wobble look prominent
    peaks, _ = find_peaks(trunk, prominence=rules.min_excursion_deg, wlen=2 * max_phase + 1)
    rows = []
    for k, ip in enumerate(peaks):
        lo = peaks[k - 1] if k > 0 else max(ip - max_phase, 0)
        hi = peaks[k + 1] if k + 1 < len(peaks) else min(ip + max_phase, len(trunk) - 1)
        # walking backwards in time, the window of offset j ends at sample ip - j
        il = (
            ip
            - _top_offsets(trunk[lo : ip + 1][::-1], still_ahead[lo : max(ip - stall_n + 2, lo)][::-1], stall_n, rules)[
                0
            ]
        )
        right, settled = _top_offsets(trunk[ip : hi + 1], still_ahead[ip : max(hi - stall_n + 2, ip)], stall_n, rules)
        ir = ip + right
        top_l, top_r, bottom = trunk[il], trunk[ir], trunk[ip]
        excursion = bottom - max(top_l, top_r)
        if excursion < rules.min_excursion_deg or bottom < rules.min_bottom_inclination_deg:
            continue
        tol_l = max(rules.top_tolerance_deg, rules.top_zone * (bottom - top_l))
        tol_r = max(rules.top_tolerance_deg, rules.top_zone * (bottom - top_r))
        i0 = il + int(np.flatnonzero(trunk[il : ip + 1] <= top_l + tol_l)[-1])
        i1 = ip + int(np.flatnonzero(trunk[ip : ir + 1] <= top_r + tol_r)[0])
        if np.isnan(raw[i0 : i1 + 1]).mean() > rules.max_missing_fraction:
            continue
        speed_dps = np.gradient(trunk[i0 : i1 + 1]) * rate_hz
        j = ip - i0
        rows.append(
            (
                t[i0],
                t[ip],
                t[i1],
                t[ip + settled],
                top_l,
                top_r,
                bottom,
                excursion,
                speed_dps[: j + 1].max(),
                -speed_dps[j:].min(),
            )
        )
    if not rows:
        return empty
    return pd.DataFrame(rows, columns=list(EXCURSION_COLUMNS))
