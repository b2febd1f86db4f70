"""Reference reps: a lifter's own best-form reps of an exercise, and how a later rep compares with them.

A rep is compared on its lumbar curve over normalised time (the descent mapped onto 0-0.5, the ascent onto
0.5-1, so the bottoms line up whatever the tempo) and on its figures: peak flexion, lockout angle, lumbar
share (`analysis.metrics`, docs/conventions.md "Lumbo-pelvic rhythm") and duration. The reference is the
mean curve of the chosen reps with a band of ``k`` standard deviations, never narrower than a floor in
degrees. Form breaks in a set at the first rep from which the reps keep rounding more than the reference
(`form_broke_at`). The rules and their numbers: docs/analysis.md, "Reference reps".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analysis.display import fmt_num
from analysis.session import SessionAnalysis, jsonable


@dataclass(frozen=True)
class ReferenceConfig:
    """Numbers of the reference band, the comparison and the proposal.

    Attributes
    ----------
    points_per_phase
        Samples of each phase (descent, ascent) on normalised time.
    band_sd_k
        Half-width of the band in standard deviations of the reference reps: 2 SD hold about 95 % of a
        lifter's own clean reps if their scatter is normal.
    band_floor_deg
        Smallest half-width of the band, deg: a band from a few very consistent reps would otherwise be
        narrower than the measurement (peak flexion error p95 1.4° in the README's accuracy table, about
        twice that at other points of the curve).
    deviation_deg
        A rep rounds more than the reference when its peak flexion exceeds the reference's by at least
        this, deg: above the measurement error (p95 1.4°) plus the ±1-2° a lifter's depth of flexion
        scatters from rep to rep, so a clean rep stays below it. imuform's own error budget, not a
        clinical threshold.
    persist_share
        Form broke at rep ``r`` when rep ``r`` rounds and at least this share of the reps from ``r`` on
        do: one clean rep after the break does not undo it, one rounded rep among clean ones is not a break.
    proposal_depth_share
        The automatic proposal considers only sets whose median trunk range reaches this share of the
        median over all sets of the exercise (a shallow set has little lumbar flexion for the wrong reason).
    proposal_min_reps
        Fewest measured reps a proposed set has.
    """

    points_per_phase: int = 50
    band_sd_k: float = 2.0
    band_floor_deg: float = 3.0
    deviation_deg: float = 5.0
    persist_share: float = 0.75
    proposal_depth_share: float = 0.85
    proposal_min_reps: int = 2

    @property
    def phase_grid(self) -> np.ndarray:
        """Normalised time of the curve samples: 0 the rep's start, 0.5 the bottom, 1 its end."""
        n = self.points_per_phase
        return np.r_[np.linspace(0.0, 0.5, n, endpoint=False), np.linspace(0.5, 1.0, n)]


DEFAULT_REFERENCE_CONFIG = ReferenceConfig()


@dataclass(frozen=True)
class RepCurve:
    """One measured rep, ready to be compared: its lumbar curve on normalised time and its figures.

    Attributes
    ----------
    set_index, rep_index
        The rep's set and its number within the set (both from 1).
    lumbar_flexion_deg
        Lumbar flexion at `ReferenceConfig.phase_grid`, deg (NaN where the sensor had a gap).
    peak_lumbar_flexion_deg, lockout_lumbar_angle_deg, lumbar_share, trunk_inclination_range_deg, duration_s
        The rep's metrics (`analysis.metrics.REP_METRIC_COLUMNS`).
    session_id
        The store's id of the session, when known.
    """

    set_index: int
    rep_index: int
    lumbar_flexion_deg: np.ndarray
    peak_lumbar_flexion_deg: float
    lockout_lumbar_angle_deg: float
    lumbar_share: float
    trunk_inclination_range_deg: float
    duration_s: float
    session_id: str | None = None


def _phase_curve(t: np.ndarray, y: np.ndarray, t0: float, t1: float, n: int, endpoint: bool) -> np.ndarray:
    """``y`` resampled at ``n`` instants evenly spread over ``[t0, t1]``; an instant next to a NaN sample (a
    sensor gap) stays NaN, as linear interpolation leaves it, so gaps are not bridged."""
    if len(t) < 2 or t1 <= t0:
        return np.full(n, np.nan)
    return np.interp(np.linspace(t0, t1, n, endpoint=endpoint), t, y)


def rep_curve(
    angles: pd.DataFrame | Mapping[str, np.ndarray],
    rep: Mapping,
    *,
    session_id: str | None = None,
    config: ReferenceConfig = DEFAULT_REFERENCE_CONFIG,
) -> RepCurve:
    """The `RepCurve` of one rep.

    Parameters
    ----------
    angles
        The session's angle table (`SessionAnalysis.angles`), or its ``time_s`` and ``lumbar_flexion_deg``
        columns as arrays (quicker for many reps).
    rep
        The rep's row of `SessionAnalysis.reps` (a mapping with ``set_index``, ``index``, ``start_s``,
        ``bottom_s``, ``end_s`` and the metrics).
    session_id
        The store's id of the session, when known.
    config
        Curve resolution.
    """
    t = np.asarray(angles["time_s"])
    start, bottom, end = float(rep["start_s"]), float(rep["bottom_s"]), float(rep["end_s"])
    if not math.isfinite(bottom):
        bottom = 0.5 * (start + end)
    i0, i1 = np.searchsorted(t, [start, end])
    i0, i1 = max(i0 - 1, 0), min(i1 + 1, len(t))
    tt, y = t[i0:i1], np.asarray(angles["lumbar_flexion_deg"])[i0:i1]
    n = config.points_per_phase
    curve = np.r_[_phase_curve(tt, y, start, bottom, n, False), _phase_curve(tt, y, bottom, end, n, True)]
    return RepCurve(
        set_index=int(rep["set_index"]),
        rep_index=int(rep["index"]),
        lumbar_flexion_deg=curve,
        peak_lumbar_flexion_deg=float(rep["peak_lumbar_flexion_deg"]),
        lockout_lumbar_angle_deg=float(rep["lockout_lumbar_angle_deg"]),
        lumbar_share=float(rep["lumbar_share"]),
        trunk_inclination_range_deg=float(rep["trunk_inclination_range_deg"]),
        duration_s=float(rep["duration_s"]),
        session_id=session_id,
    )


def rep_curves(
    analysis: SessionAnalysis,
    set_index: int | None = None,
    reps: Sequence[int] | None = None,
    config: ReferenceConfig = DEFAULT_REFERENCE_CONFIG,
) -> list[RepCurve]:
    """The `RepCurve` of every rep of a session, of one set, or of some reps of one set.

    Parameters
    ----------
    analysis
        The analysed session (its ``session_id`` is carried into the curves).
    set_index
        Only this set (from 1); None for all sets.
    reps
        Only these rep numbers of the set (from 1); None for all.
    config
        Curve resolution.
    """
    table = analysis.reps if set_index is None else analysis.reps_of(set_index)
    if reps is not None:
        table = table[table["index"].isin(list(reps))]
    # the two columns once: a table looks each column up again for each of hundreds of reps
    columns = {c: analysis.angles[c].to_numpy() for c in ("time_s", "lumbar_flexion_deg")}
    return [rep_curve(columns, row, session_id=analysis.session_id, config=config) for row in table.to_dict("records")]


@dataclass(frozen=True)
class RepKey:
    """Where a rep was measured: session (store id), set and rep number (from 1)."""

    session_id: str | None
    set_index: int
    rep_index: int


def _nanmean(x: Sequence[float]) -> float:
    values = np.asarray(x, dtype=float)
    return float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else float("nan")


@dataclass(frozen=True)
class Reference:
    """A lifter's reference for one exercise: the band of their chosen reps and its figures.

    Attributes
    ----------
    exercise
        The exercise the reps are of.
    mean_deg, sd_deg
        Mean and standard deviation of the reference reps' lumbar flexion at `ReferenceConfig.phase_grid`.
    low_deg, high_deg
        The band: mean ∓ max(k·SD, floor), deg.
    peak_lumbar_flexion_deg, lockout_lumbar_angle_deg, lumbar_share, trunk_inclination_range_deg, duration_s
        Means of the reference reps' figures.
    reps
        The reps it was built from.
    """

    exercise: str
    mean_deg: np.ndarray
    sd_deg: np.ndarray
    low_deg: np.ndarray
    high_deg: np.ndarray
    peak_lumbar_flexion_deg: float
    lockout_lumbar_angle_deg: float
    lumbar_share: float
    trunk_inclination_range_deg: float
    duration_s: float
    reps: tuple[RepKey, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """Plain JSON (NaN as None) for the store; `from_dict` reads it back."""
        return jsonable(
            {
                "exercise": self.exercise,
                "mean_deg": self.mean_deg,
                "sd_deg": self.sd_deg,
                "low_deg": self.low_deg,
                "high_deg": self.high_deg,
                "peak_lumbar_flexion_deg": self.peak_lumbar_flexion_deg,
                "lockout_lumbar_angle_deg": self.lockout_lumbar_angle_deg,
                "lumbar_share": self.lumbar_share,
                "trunk_inclination_range_deg": self.trunk_inclination_range_deg,
                "duration_s": self.duration_s,
                "reps": [[k.session_id, k.set_index, k.rep_index] for k in self.reps],
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping) -> Reference:
        """The reference `to_dict` wrote."""

        def array(name: str) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in data[name]], dtype=float)

        def number(name: str) -> float:
            return float("nan") if data[name] is None else float(data[name])

        return cls(
            exercise=str(data["exercise"]),
            mean_deg=array("mean_deg"),
            sd_deg=array("sd_deg"),
            low_deg=array("low_deg"),
            high_deg=array("high_deg"),
            peak_lumbar_flexion_deg=number("peak_lumbar_flexion_deg"),
            lockout_lumbar_angle_deg=number("lockout_lumbar_angle_deg"),
            lumbar_share=number("lumbar_share"),
            trunk_inclination_range_deg=number("trunk_inclination_range_deg"),
            duration_s=number("duration_s"),
            reps=tuple(RepKey(s, int(i), int(r)) for s, i, r in data.get("reps", [])),
        )


def build_reference(
    curves: Sequence[RepCurve], exercise: str, config: ReferenceConfig = DEFAULT_REFERENCE_CONFIG
) -> Reference:
    """The reference band and figures of the chosen reps.

    Parameters
    ----------
    curves
        The reference reps (at least one with a measured peak flexion).
    exercise
        Their exercise.
    config
        Band width.

    Raises
    ------
    ValueError
        When no rep has a measured lumbar curve.
    """
    measured = [c for c in curves if math.isfinite(c.peak_lumbar_flexion_deg)]
    if not measured:
        raise ValueError("no measured rep to build a reference from; choose reps the lumbar sensor recorded")
    stack = np.vstack([c.lumbar_flexion_deg for c in measured])
    finite = np.isfinite(stack)
    count = finite.sum(axis=0)
    filled = np.where(finite, stack, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, filled.sum(axis=0) / count, np.nan)
        var = np.where(count > 1, (np.where(finite, stack - mean, 0.0) ** 2).sum(axis=0) / (count - 1), 0.0)
    sd = np.where(count > 0, np.sqrt(var), np.nan)
    half = np.maximum(config.band_sd_k * sd, config.band_floor_deg)
    return Reference(
        exercise=exercise,
        mean_deg=mean,
        sd_deg=sd,
        low_deg=mean - half,
        high_deg=mean + half,
        peak_lumbar_flexion_deg=_nanmean([c.peak_lumbar_flexion_deg for c in measured]),
        lockout_lumbar_angle_deg=_nanmean([c.lockout_lumbar_angle_deg for c in measured]),
        lumbar_share=_nanmean([c.lumbar_share for c in measured]),
        trunk_inclination_range_deg=_nanmean([c.trunk_inclination_range_deg for c in measured]),
        duration_s=_nanmean([c.duration_s for c in measured]),
        reps=tuple(RepKey(c.session_id, c.set_index, c.rep_index) for c in measured),
    )


@dataclass(frozen=True)
class RepComparison:
    """One rep against the reference (differences are the rep's figure minus the reference's).

    Attributes
    ----------
    set_index, rep_index
        The rep (from 1).
    peak_flexion_diff_deg
        Peak lumbar flexion difference, deg (+: rounded more).
    lockout_diff_deg
        Lockout lumbar angle difference, deg (−: further into extension).
    lumbar_share_diff
        Lumbar share difference (+: more of the hinge from the lower back).
    tempo_ratio
        The rep's duration over the reference's (> 1 slower).
    outside_band_share
        Share of the curve's measured samples outside the band, 0-1.
    above_band_share
        Share of them above it (more flexed), 0-1.
    rounded
        Peak flexion at least `ReferenceConfig.deviation_deg` above the reference's (False when unmeasured).
    """

    set_index: int
    rep_index: int
    peak_flexion_diff_deg: float
    lockout_diff_deg: float
    lumbar_share_diff: float
    tempo_ratio: float
    outside_band_share: float
    above_band_share: float
    rounded: bool


def compare_rep(
    curve: RepCurve, reference: Reference, config: ReferenceConfig = DEFAULT_REFERENCE_CONFIG
) -> RepComparison:
    """How one rep differs from the reference."""
    y = curve.lumbar_flexion_deg
    ok = np.isfinite(y) & np.isfinite(reference.low_deg)
    n = int(ok.sum())
    above = float(np.sum(y[ok] > reference.high_deg[ok]) / n) if n else float("nan")
    below = float(np.sum(y[ok] < reference.low_deg[ok]) / n) if n else float("nan")
    peak_diff = curve.peak_lumbar_flexion_deg - reference.peak_lumbar_flexion_deg
    tempo = curve.duration_s / reference.duration_s if reference.duration_s > 0 else float("nan")
    return RepComparison(
        set_index=curve.set_index,
        rep_index=curve.rep_index,
        peak_flexion_diff_deg=float(peak_diff),
        lockout_diff_deg=float(curve.lockout_lumbar_angle_deg - reference.lockout_lumbar_angle_deg),
        lumbar_share_diff=float(curve.lumbar_share - reference.lumbar_share),
        tempo_ratio=float(tempo),
        outside_band_share=above + below,
        above_band_share=above,
        rounded=bool(math.isfinite(peak_diff) and peak_diff >= config.deviation_deg),
    )


def form_broke_at(rounded: Sequence[bool], persist_share: float = DEFAULT_REFERENCE_CONFIG.persist_share) -> int | None:
    """The rep (from 1) from which the rounding persists, or None.

    Rep ``r`` is the break when it rounds and at least ``persist_share`` of the reps from ``r`` to the
    last do; the first such rep is returned.
    """
    flags = np.asarray(rounded, dtype=bool)
    for r in np.flatnonzero(flags):
        if flags[r:].mean() >= persist_share:
            return int(r) + 1
    return None


@dataclass(frozen=True)
class SetComparison:
    """A set's reps against the reference, and the verdict.

    Attributes
    ----------
    set_index
        The set (from 1).
    reps
        Each rep's comparison, in order.
    broke_at_rep
        The rep from which form broke (`form_broke_at`), None when it held.
    peak_flexion_diff_deg
        Median peak flexion difference of the reps from the break on (of all reps when form held), deg.
    verdict
        One plain-language line, e.g. "rounded 7° more than your reference from rep 4 on".
    """

    set_index: int
    reps: tuple[RepComparison, ...]
    broke_at_rep: int | None
    peak_flexion_diff_deg: float
    verdict: str

    def to_dict(self) -> dict:
        """Plain JSON (NaN as None) for ``analyze --json`` and exports."""
        return jsonable(asdict(self))


def _median(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    return float(np.median(x[np.isfinite(x)])) if np.isfinite(x).any() else float("nan")


def _verdict(reps: Sequence[RepComparison], broke_at: int | None, diff_deg: float) -> str:
    if not math.isfinite(diff_deg):
        return "no measured rep to compare with your reference"
    if broke_at is None:
        return f"within your reference: peak flexion {fmt_num(diff_deg, signed=True)}° on the median rep"
    size = fmt_num(diff_deg)
    if broke_at == 1 and all(r.rounded for r in reps):
        return f"rounded {size}° more than your reference on every rep"
    return f"rounded {size}° more than your reference from rep {broke_at} on"


def compare_set(
    curves: Sequence[RepCurve], reference: Reference, config: ReferenceConfig = DEFAULT_REFERENCE_CONFIG
) -> SetComparison:
    """A set's reps (in order) against the reference: each rep, the rep where form broke, the verdict.

    Parameters
    ----------
    curves
        The set's reps, in order (`rep_curves` with ``set_index``).
    reference
        The lifter's reference for the set's exercise.
    config
        Thresholds.
    """
    reps = tuple(compare_rep(c, reference, config) for c in curves)
    broke = form_broke_at([r.rounded for r in reps], config.persist_share)
    tail = reps if broke is None else reps[broke - 1 :]
    diff = _median([r.peak_flexion_diff_deg for r in tail])
    return SetComparison(
        set_index=curves[0].set_index if curves else 0,
        reps=reps,
        broke_at_rep=broke,
        peak_flexion_diff_deg=diff,
        verdict=_verdict(reps, broke, diff),
    )


@dataclass(frozen=True)
class ReferenceProposal:
    """Reps proposed as the reference of an exercise, for the lifter to confirm.

    Attributes
    ----------
    exercise
        The exercise.
    session_id, set_index
        The proposed set.
    rep_indices
        Its measured reps (from 1).
    lumbar_share
        The set's median lumbar share (the least of the candidate sets).
    reason
        One line saying why this set, for the confirmation prompt.
    """

    exercise: str
    session_id: str | None
    set_index: int
    rep_indices: tuple[int, ...]
    lumbar_share: float
    reason: str


def propose_reference(
    curves: Sequence[RepCurve], exercise: str, config: ReferenceConfig = DEFAULT_REFERENCE_CONFIG
) -> ReferenceProposal | None:
    """Propose the set with the least lumbar flexion for the same trunk range among a lifter's sets.

    Among the sets with at least `ReferenceConfig.proposal_min_reps` measured reps whose median trunk
    range reaches `ReferenceConfig.proposal_depth_share` of the median over all sets, the one with the
    smallest median lumbar share (lumbar flexion per degree of trunk inclination) is proposed.

    Parameters
    ----------
    curves
        Every rep of the exercise to choose from (several sessions: ``session_id`` tells them apart).
    exercise
        Their exercise.
    config
        Proposal rule.

    Returns
    -------
    ReferenceProposal or None
        None when no set qualifies.
    """
    sets: dict[tuple[str | None, int], list[RepCurve]] = {}
    for c in curves:
        if math.isfinite(c.peak_lumbar_flexion_deg) and math.isfinite(c.lumbar_share):
            sets.setdefault((c.session_id, c.set_index), []).append(c)
    sets = {k: v for k, v in sets.items() if len(v) >= config.proposal_min_reps}
    if not sets:
        return None
    depth = {k: _median([c.trunk_inclination_range_deg for c in v]) for k, v in sets.items()}
    floor = config.proposal_depth_share * _median(list(depth.values()))
    share = {k: _median([c.lumbar_share for c in v]) for k, v in sets.items() if depth[k] >= floor}
    best = min(share, key=lambda k: (share[k], _median([c.peak_lumbar_flexion_deg for c in sets[k]])))
    session_id, set_index = best
    return ReferenceProposal(
        exercise=exercise,
        session_id=session_id,
        set_index=set_index,
        rep_indices=tuple(c.rep_index for c in sets[best]),
        lumbar_share=share[best],
        reason=(
            f"set {set_index} had the least lumbar flexion for its hinge of your {len(share)} full-depth "
            f"{exercise} sets: lumbar share {fmt_num(share[best], 2)} over a {fmt_num(depth[best])}° trunk range"
        ),
    )
