"""An analysis against the simulator's truth: sets, reps, peaks, lockouts and flags, matched by time.

The truth side is read from the truth document (``truth.json``: its ``sets``, each with ``reps``) as the
simulator wrote it; nothing of it is recomputed here with the analysis' rules. Both sides must be on one
clock: a virtual recording's truth is moved onto the session clock first
(`imuform.virtual_truth.on_session_clock`). `imuform demo` and ``benchmarks/accuracy_recorded.py`` share
this module, so the demo's verdict and the benchmark's figures mean the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import FLAGS


def overlap_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Length of the overlap of two intervals, s (0 when they are apart)."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def match_intervals(true: list[tuple[float, float]], found: list[tuple[float, float]]) -> list[int | None]:
    """For each true interval, the index of the found interval overlapping it most (None without overlap)."""
    out = []
    for t in true:
        overlaps = [overlap_s(t, f) for f in found]
        out.append(int(np.argmax(overlaps)) if overlaps and max(overlaps) > 0 else None)
    return out


@dataclass
class RepMatch:
    """One true rep and what the analysis found for it.

    Attributes
    ----------
    set_index, rep_index
        The true set and rep (from 1).
    true_peak_deg, true_lockout_deg
        True peak lumbar flexion and lockout lumbar angle, deg.
    true_flags
        Flags the truth says the rep earns.
    found_peak_deg, found_lockout_deg
        The analysis' values for the matched rep, deg (NaN when no rep matched).
    found_flags
        The matched rep's flags, or None when no rep matched.
    """

    set_index: int
    rep_index: int
    true_peak_deg: float
    true_lockout_deg: float
    true_flags: tuple[str, ...]
    found_peak_deg: float = math.nan
    found_lockout_deg: float = math.nan
    found_flags: tuple[str, ...] | None = None

    @property
    def matched(self) -> bool:
        """Whether the analysis found a rep overlapping this one."""
        return self.found_flags is not None

    @property
    def peak_error_deg(self) -> float:
        """Found minus true peak lumbar flexion, deg (NaN when unmatched)."""
        return self.found_peak_deg - self.true_peak_deg

    @property
    def lockout_error_deg(self) -> float:
        """Found minus true lockout angle, deg (NaN when unmatched)."""
        return self.found_lockout_deg - self.true_lockout_deg

    @property
    def flags_agree(self) -> bool:
        """Whether the rep was found and got exactly the true flags."""
        return self.matched and set(self.found_flags) == set(self.true_flags)


@dataclass
class SetMatch:
    """One true set and the analysis' set overlapping it most.

    Attributes
    ----------
    index, exercise, true_reps
        The true set.
    found_exercise, found_reps
        The matched set's exercise and rep count (None and 0 when no set matched).
    """

    index: int
    exercise: str
    true_reps: int
    found_exercise: str | None = None
    found_reps: int = 0

    @property
    def rep_count_exact(self) -> bool:
        """Whether the analysis counted exactly the true reps."""
        return self.found_reps == self.true_reps


@dataclass
class FlagCounts:
    """Agreement of one flag over reps: true positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __iadd__(self, other: FlagCounts) -> FlagCounts:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn
        return self


@dataclass
class TruthComparison:
    """An analysis compared with the truth.

    Attributes
    ----------
    sets
        Per true set.
    reps
        Per true rep.
    spurious_rep_flags
        Flags of found reps that overlap no true rep (each a false positive).
    spurious_sets
        Found sets that match no true set.
    """

    sets: list[SetMatch] = field(default_factory=list)
    reps: list[RepMatch] = field(default_factory=list)
    spurious_rep_flags: list[str] = field(default_factory=list)
    spurious_sets: int = 0

    def flag_counts(self) -> dict[str, FlagCounts]:
        """Per flag: reps flagged by both (tp), by the analysis only (fp), by the truth only (fn)."""
        counts = {f: FlagCounts() for f in FLAGS}
        for rep in self.reps:
            found = set(rep.found_flags or ())
            for f in FLAGS:
                counts[f] += FlagCounts(
                    int(f in rep.true_flags and f in found),
                    int(f not in rep.true_flags and f in found),
                    int(f in rep.true_flags and f not in found),
                )
        for f in self.spurious_rep_flags:
            counts[f].fp += 1
        return counts

    def peak_errors_deg(self) -> np.ndarray:
        """Peak lumbar flexion errors of the matched reps, deg."""
        return np.array([r.peak_error_deg for r in self.reps if r.matched], dtype=float)

    def lockout_errors_deg(self) -> np.ndarray:
        """Lockout angle errors of the matched reps, deg."""
        return np.array([r.lockout_error_deg for r in self.reps if r.matched], dtype=float)


def compare_with_truth(truth_sets: list[dict], sets: pd.DataFrame, reps: pd.DataFrame) -> TruthComparison:
    """Match found sets and reps to the true ones by overlap in time and compare them.

    Parameters
    ----------
    truth_sets
        ``truth["sets"]`` of a truth document, on the analysis' clock.
    sets, reps
        The analysis' set and rep tables (`analysis.session.SessionAnalysis`).

    Returns
    -------
    TruthComparison
    """
    found_sets = list(zip(sets["start_s"], sets["end_s"])) if len(sets) else []
    set_match = match_intervals([(s["start_s"], s["end_s"]) for s in truth_sets], found_sets)
    out = TruthComparison()
    matched_found_reps: set = set()
    for s, k in zip(truth_sets, set_match):
        found_reps = reps[reps["set_index"] == int(sets.iloc[k]["index"])] if k is not None else reps.iloc[:0]
        out.sets.append(
            SetMatch(
                int(s["index"]),
                s["exercise"],
                int(s["rep_count"]),
                sets.iloc[k]["exercise"] if k is not None else None,
                len(found_reps),
            )
        )
        rep_match = match_intervals(
            [(r["start_s"], r["end_s"]) for r in s["reps"]], list(zip(found_reps["start_s"], found_reps["end_s"]))
        )
        for r, j in zip(s["reps"], rep_match):
            rep = RepMatch(
                int(s["index"]),
                int(r["index"]),
                float(r["peak_lumbar_flexion_deg"]),
                float(r["lockout_lumbar_angle_deg"]),
                tuple(r["faults"]),
            )
            if j is not None:
                row = found_reps.iloc[j]
                matched_found_reps.add(found_reps.index[j])
                rep.found_peak_deg = float(row["peak_lumbar_flexion_deg"])
                rep.found_lockout_deg = float(row["lockout_lumbar_angle_deg"])
                rep.found_flags = tuple(row["flags"])
            out.reps.append(rep)
    for flags in reps.loc[~reps.index.isin(list(matched_found_reps)), "flags"]:
        out.spurious_rep_flags.extend(flags)
    out.spurious_sets = len(found_sets) - len({k for k in set_match if k is not None})
    return out


def lumbar_squared_errors_deg2(
    angles: pd.DataFrame, truth_angles: pd.DataFrame, windows_s: list[tuple[float, float]]
) -> np.ndarray:
    """Squared lumbar flexion errors (deg²) at the measured times inside ``windows_s``, gaps left out.

    The true angles are interpolated to the measured times; both tables must be on one clock.
    """
    t = angles["time_s"].to_numpy()
    inside = np.zeros(len(t), dtype=bool)
    for start, end in windows_s:
        inside |= (t >= start) & (t <= end)
    true = np.interp(t[inside], truth_angles["time_s"], truth_angles["lumbar_flexion_deg"])
    err = angles["lumbar_flexion_deg"].to_numpy()[inside] - true
    return err[np.isfinite(err)] ** 2


@dataclass(frozen=True)
class TruthTargets:
    """What agreeing with the truth means for one session (the demo's verdict; the benchmark's p95 targets).

    Attributes
    ----------
    max_rep_error_deg
        Largest error of a rep's peak lumbar flexion or lockout angle, deg.
    """

    max_rep_error_deg: float = 2.0


@dataclass
class ComparisonSummary:
    """A comparison in a few numbers.

    Attributes
    ----------
    true_reps, counted_reps
        Reps in the truth, reps the analysis counted (all of its sets).
    exact_sets, true_sets
        Sets counted exactly, sets in the truth.
    matched_reps
        True reps the analysis found.
    peak_error_max_deg, peak_error_p95_deg, lockout_error_max_deg, lockout_error_p95_deg
        Largest and 95th-percentile absolute errors over the matched reps, deg (NaN without one).
    flags_agreeing
        True reps found with exactly their true flags.
    spurious_flags
        Flags on found reps that match no true rep.
    """

    true_reps: int
    counted_reps: int
    exact_sets: int
    true_sets: int
    matched_reps: int
    peak_error_max_deg: float
    peak_error_p95_deg: float
    lockout_error_max_deg: float
    lockout_error_p95_deg: float
    flags_agreeing: int
    spurious_flags: int

    def misses(self, targets: TruthTargets | None = None) -> list[str]:
        """What misses ``targets`` (default: `TruthTargets()`), one phrase each (empty when all is met)."""
        out = []
        limit = (targets or TruthTargets()).max_rep_error_deg
        for what, worst in (("peak flexion", self.peak_error_max_deg), ("lockout angle", self.lockout_error_max_deg)):
            if not worst <= limit:  # NaN (no rep matched) misses too
                out.append(f"{what} off by up to {worst:.1f}° (target ≤ {limit:g}°)")
        if self.exact_sets < self.true_sets or self.counted_reps != self.true_reps:
            out.append(
                f"{self.counted_reps} reps counted of {self.true_reps} "
                f"({self.exact_sets} of {self.true_sets} sets counted exactly)"
            )
        if self.flags_agreeing < self.true_reps or self.spurious_flags:
            out.append(
                f"flags differ on {self.true_reps - self.flags_agreeing} of {self.true_reps} reps"
                + (f", {self.spurious_flags} flags on reps that were not there" if self.spurious_flags else "")
            )
        return out


def _abs_stats(errors: np.ndarray) -> tuple[float, float]:
    """Largest and 95th-percentile absolute error (NaN, NaN when empty)."""
    if not len(errors):
        return math.nan, math.nan
    err = np.abs(errors)
    return float(np.max(err)), float(np.percentile(err, 95))


def summarize(comparison: TruthComparison, counted_reps: int) -> ComparisonSummary:
    """The summary of a comparison; ``counted_reps`` is the number of reps the analysis found in all."""
    peak_max, peak_p95 = _abs_stats(comparison.peak_errors_deg())
    lock_max, lock_p95 = _abs_stats(comparison.lockout_errors_deg())
    return ComparisonSummary(
        true_reps=len(comparison.reps),
        counted_reps=counted_reps,
        exact_sets=sum(s.rep_count_exact for s in comparison.sets),
        true_sets=len(comparison.sets),
        matched_reps=sum(r.matched for r in comparison.reps),
        peak_error_max_deg=peak_max,
        peak_error_p95_deg=peak_p95,
        lockout_error_max_deg=lock_max,
        lockout_error_p95_deg=lock_p95,
        flags_agreeing=sum(r.flags_agree for r in comparison.reps),
        spurious_flags=len(comparison.spurious_rep_flags),
    )
