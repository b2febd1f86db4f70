"""Accuracy through the product's own recording path, for every sensor kind.

`benchmarks.accuracy` feeds simulated samples straight into the analysis. A lifter's data take another
path, and this benchmark takes it too: each simulated session (`imuform.simulator`, realistic sensor
errors, its clocks offset by up to ±50 ms and drifting by up to ±50 ppm) is streamed by virtual sensors
of one kind (each kind's own wire format, `firmware_protocol`) over the virtual BLE radio (Bumble) through
bleak into the recorder and the store (`imuform.ble.virtual_rig.record_virtual`), with radio jitter
(link-layer retries), notification loss and one sensor switched on 1-2 s after the other, then analysed
by `imuform.session_analysis.run_analysis`, as `imuform analyze` does:

- ``record → analyze``: calibrated automatically from the session's own standing;
- ``calibrate → record → analyze`` (rows tagged "calibrated"): ``imuform calibrate --virtual --bends`` of
  the same simulated person with the same strapping (same seed) first stores the person's calibration,
  which the session's analysis then uses.

The truth is moved onto the recorded session's clock (session time = true time - ``clock_start_s``) and
compared by `imuform.truth_check`, the code `imuform demo` uses: rep count exact per set, lumbar angle
RMSE over the sets, peak flexion and lockout angle errors of matched reps (p95), flag precision and recall.

Sensor-to-sensor clock offset (not median-removed): each stored sample is matched to the true sample it
came from (`match_samples`), its error is its stored ``time_s`` minus its true time on the session clock,
each sensor's median error is taken in every 1 s window of true time, and the figure is the p99 over the
windows of ``|error_lumbar - error_thoracic|``.

Targets as on the import path: rep count exact in ≥ 99 % of sets, RMSE ≤ 1.5°, peak and lockout errors
≤ 2° at p95, flags ≥ 0.95, clock offset ≤ 5 ms at p99. Run ``python -m benchmarks.accuracy_recorded``
(``--quick``: one session per kind). The radio's timing differs from run to run, so a session over its clock
offset target keeps what it recorded in ``artifacts/accuracy_recorded`` (`keep_session`), and ``--replay FILE``
finishes it again with the code at hand (`replay`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import math
import pickle
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.accuracy import MIN_FLAG_CASES
from benchmarks.figures import Figure, print_table
from benchmarks.sessions import CACHE
from firmware_protocol import MODELS, get_model
from imuform.ble.stream_assembler import AssemblerConfig, StreamAssembler
from imuform.ble.virtual_rig import record_virtual
from imuform.ble.virtual_sensor import SensorStream
from imuform.cli.main import main as imuform_cli
from imuform.session_analysis import run_analysis
from imuform.simulator import SessionSpec, SetSpec, simulate_session
from imuform.store import Store
from imuform.truth_check import (
    FlagCounts,
    TruthComparison,
    TruthTargets,
    compare_with_truth,
    lumbar_squared_errors_deg2,
)
from imuform.virtual_truth import on_session_clock

WORKERS = 2
FULL_SESSIONS, QUICK_SESSIONS = 7, 1
#: Where a session over its clock offset target leaves what it recorded, for `--replay`.
KEPT = CACHE.parent / "accuracy_recorded"
KINDS = tuple(sorted(MODELS))
#: Virtual seconds per real second (the virtual clock slows down by itself when the machine lags).
SPEED = 20.0
#: (exercise, fault of the second set) cycled over the sessions; the first set is always clean.
PLAN = (
    ("deadlift", "lumbar_flexion"),
    ("romanian_deadlift", "lockout_hyperextension"),
    ("good_morning", "overarching"),
    ("deadlift", "asymmetry"),
    ("romanian_deadlift", "flexion_drift"),
    ("back_extension_45", "rounded_back_extension"),
    ("good_morning", "none"),
)
#: Seed of a kind's first session (every kind records the same lifters), and sets per session.
FIRST_SEED = 100
SETS_PER_SESSION = 2
TARGETS = TruthTargets()


@dataclass(frozen=True)
class MatchConfig:
    """How stored samples are matched to the true samples they came from.

    Attributes
    ----------
    window_s
        A stored sample's true sample is searched within ± this of its stored time (session clock).
    ratio
        A 6-D match is kept when its distance is below ``ratio`` × the second-best candidate's.
    gyr_scale
        Factor bringing deg/s to rad/s, so that m/s² and angular rate weigh alike in the distance.
    device_tolerance
        A device time maps to a true sample when within this fraction of a sample period of it.
    offset_window_s
        Length of the windows of true time in which each sensor's median time error is taken.
    min_window_samples
        Matched samples a sensor needs in a window for the window to count.
    offset_target_ms
        The clock offset's target at p99, ms; a session above it keeps what it recorded (`keep_session`).
    """

    window_s: float = 1.0
    ratio: float = 0.5
    gyr_scale: float = math.pi / 180.0
    device_tolerance: float = 0.25
    offset_window_s: float = 1.0
    min_window_samples: int = 5
    offset_target_ms: float = 5.0


@dataclass
class SampleMatch:
    """Stored samples of one sensor matched to true samples.

    Attributes
    ----------
    index
        Per stored sample, the index of its true sample in the simulated stream, or -1.
    method
        ``"device time"`` when the stored device clock mapped onto the simulated one, else ``"6-D"``.
    """

    index: np.ndarray
    method: str

    @property
    def fraction(self) -> float:
        """Share of the stored samples that were matched."""
        return float(np.mean(self.index >= 0)) if len(self.index) else 0.0


def _vectors(acc: np.ndarray, gyr: np.ndarray, config: MatchConfig) -> np.ndarray:
    return np.hstack([acc, gyr * config.gyr_scale])


def match_by_vectors(
    stored_time_s: np.ndarray, stored: np.ndarray, true_time_s: np.ndarray, true: np.ndarray, config: MatchConfig
) -> np.ndarray:
    """Nearest true sample by 6-D (acc, gyr) distance within ±``window_s``, kept where unambiguous.

    A match is kept when its distance is below ``ratio`` × the next candidate's, and when no other stored
    sample matched the same true sample (a sample stored twice matches neither time).

    Parameters
    ----------
    stored_time_s, stored
        Stored times (session clock) and (n, 6) vectors.
    true_time_s, true
        True times on the session clock and (m, 6) vectors of the simulated stream.

    Returns
    -------
    numpy.ndarray
        Index into the true samples per stored sample, -1 where unmatched.
    """
    n, m = len(stored_time_s), len(true_time_s)
    if not n or not m:
        return np.full(n, -1)
    j0 = np.searchsorted(true_time_s, stored_time_s)
    period_s = float(np.median(np.diff(true_time_s))) if m > 1 else 1.0
    reach = int(np.ceil(config.window_s / period_s)) + 1
    best = np.full(n, np.inf)
    second = np.full(n, np.inf)
    best_j = np.full(n, -1)
    for lag in range(-reach, reach + 1):
        j = j0 + lag
        valid = (j >= 0) & (j < m)
        jc = np.clip(j, 0, m - 1)
        valid &= np.abs(true_time_s[jc] - stored_time_s) <= config.window_s
        d = np.sum((stored - true[jc]) ** 2, axis=1)
        d = np.where(valid & np.isfinite(d), d, np.inf)
        better = d < best
        second = np.where(better, best, np.minimum(second, d))
        best_j = np.where(better, jc, best_j)
        best = np.where(better, d, best)
    keep = np.isfinite(best) & (best <= config.ratio**2 * second)
    index = np.where(keep, best_j, -1)
    taken, counts = np.unique(index[index >= 0], return_counts=True)
    index[np.isin(index, taken[counts > 1])] = -1
    return fill_between_anchors(index)


def fill_between_anchors(index: np.ndarray) -> np.ndarray:
    """Match the stored rows between two matches that are as far apart in the truth as in the store.

    Quiet standing gives near-identical vectors, so 6-D matches thin out there; between two kept
    matches ``a < b`` with ``index[b] - index[a] == b - a`` no sample was lost or repeated, so row
    ``a + k`` is true sample ``index[a] + k``.
    """
    anchors = np.flatnonzero(index >= 0)
    out = index.copy()
    for a, b in zip(anchors[:-1], anchors[1:]):
        if b - a > 1 and index[b] - index[a] == b - a:
            out[a + 1 : b] = index[a] + np.arange(1, b - a)
    return out


def match_by_device_time(
    device_time_s: np.ndarray, by_vectors: np.ndarray, clocks: list[np.ndarray], period_s: float, config: MatchConfig
) -> np.ndarray | None:
    """Map stored device times onto one of the simulated clocks; None when none maps.

    A stored device time is the simulated sensor's own clock (or, for synchronised Movella DOTs, the
    shared true time) up to a constant (a clock's epoch, the decoder's unwrapping). The constant is the
    median difference over the 6-D matches; the clock that keeps those differences within
    ``device_tolerance`` periods is used, and each stored sample maps to the true sample at its device
    time, where one lies within that tolerance.
    """
    matched = by_vectors >= 0
    tolerance_s = config.device_tolerance * period_s
    if matched.sum() < 10 or not np.isfinite(device_time_s).all():
        return None
    for clock in clocks:
        diffs = device_time_s[matched] - clock[by_vectors[matched]]
        constant = float(np.median(diffs))
        if np.median(np.abs(diffs - constant)) > tolerance_s:
            continue
        wanted = device_time_s - constant
        k = np.clip(np.searchsorted(clock, wanted), 1, len(clock) - 1)
        k -= np.abs(clock[k - 1] - wanted) < np.abs(clock[k] - wanted)
        return np.where(np.abs(clock[k] - wanted) <= tolerance_s, k, -1)
    return None


def match_samples(rows: pd.DataFrame, stream: SensorStream, clock_start_s: float, config: MatchConfig) -> SampleMatch:
    """Match one sensor's stored rows to the samples its virtual sensor streamed (``stream``, on true time).

    Sensors that store ``device_time_s`` are matched by it where it maps to a true sample
    (`match_by_device_time`); the others, and device times that map nowhere, by their 6-D vectors
    (`match_by_vectors`, with `fill_between_anchors`).
    """
    acc, gyr = (rows[[f"{g}_{a}" for a in "xyz"]].to_numpy(float) for g in ("acc", "gyr"))
    true_session_s = stream.time_s - clock_start_s
    by_vectors = match_by_vectors(
        rows["time_s"].to_numpy(float),
        _vectors(acc, gyr, config),
        true_session_s,
        _vectors(stream.acc_mps2, stream.gyr_dps, config),
        config,
    )
    if "device_time_s" in rows:
        period_s = float(np.median(np.diff(stream.time_s)))
        clocks = [c for c in (stream.device_time_s, stream.time_s) if c is not None]
        by_device = match_by_device_time(rows["device_time_s"].to_numpy(float), by_vectors, clocks, period_s, config)
        if by_device is not None:
            return SampleMatch(np.where(by_device >= 0, by_device, by_vectors), "device time")
    return SampleMatch(by_vectors, "6-D")


def time_errors(
    rows_of: dict[str, pd.DataFrame], streams: dict[str, SensorStream], clock_start_s: float, config: MatchConfig
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, SampleMatch]]:
    """Per placement, the true times (session clock) of its matched stored samples and their stored times'
    errors (stored minus true), and the matches (`match_samples`)."""
    errors, matches = {}, {}
    for placement, rows in rows_of.items():
        match = match_samples(rows, streams[placement], clock_start_s, config)
        ok = match.index >= 0
        true_s = streams[placement].time_s[match.index[ok]] - clock_start_s
        errors[placement] = (true_s, rows["time_s"].to_numpy()[ok] - true_s)
        matches[placement] = match
    return errors, matches


def offset_differences_s(errors: dict[str, tuple[np.ndarray, np.ndarray]], config: MatchConfig) -> np.ndarray:
    """Per window of true time, ``|median error lumbar - median error thoracic|``, s.

    Parameters
    ----------
    errors
        Per placement: (true time on the session clock, stored time minus it) of the matched samples.
    """
    medians = []
    for placement in ("lumbar", "thoracic"):
        true_s, err_s = errors[placement]
        window = pd.Series(err_s).groupby(np.floor(true_s / config.offset_window_s))
        sizes = window.size()
        medians.append(window.median()[sizes >= config.min_window_samples])
    both = pd.concat(medians, axis=1, join="inner")
    return np.abs(both.iloc[:, 0] - both.iloc[:, 1]).to_numpy()


@dataclass
class PathResult:
    """One analysis of a recorded session against the truth (one path: automatic or stored calibration)."""

    comparison: TruthComparison
    squared_errors_deg2: np.ndarray

    @property
    def rmse_deg(self) -> float:
        """Lumbar angle RMSE over the sets, deg."""
        return float(np.sqrt(np.mean(self.squared_errors_deg2))) if len(self.squared_errors_deg2) else math.nan


@dataclass
class SessionResult:
    """Everything measured on one recorded session.

    Attributes
    ----------
    kind, seed
        Sensor kind and simulation seed.
    auto, calibrated
        ``record → analyze`` and ``calibrate → record → analyze`` (None when calibration failed).
    offset_differences_s
        Sensor-to-sensor clock offset error per 1 s window, s.
    match_fraction
        Share of stored samples matched to true samples, per placement.
    match_method
        How they were matched, per placement.
    faults
        The radio faults drawn for the session, for the notes.
    error
        Why the session failed, or empty.
    wall_s
        Real time the session took.
    kept
        Where the session's recording was kept (over its clock offset target, `keep_session`), or empty.
    """

    kind: str
    seed: int
    auto: PathResult | None = None
    calibrated: PathResult | None = None
    offset_differences_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    match_fraction: dict[str, float] = field(default_factory=dict)
    match_method: dict[str, str] = field(default_factory=dict)
    faults: str = ""
    error: str = ""
    wall_s: float = 0.0
    kept: str = ""


def rate_for(kind: str) -> float:
    """The session rate for a kind: 100 Hz where the model has it, else its fastest rate below."""
    rates = MODELS[kind].rates_hz
    return 100.0 if 100.0 in rates else float(max(r for r in rates if r <= 100.0))


def session_spec(kind: str, index: int) -> SessionSpec:
    """The ``index``-th session: a clean set then a set with the plan's fault, 3-5 reps each."""
    exercise, fault = PLAN[index % len(PLAN)]
    seed = FIRST_SEED + index
    reps = 3 + seed % 3
    return SessionSpec(
        sets=[SetSpec(exercise, reps, "none"), SetSpec(exercise, reps, fault)],
        rate_hz=rate_for(kind),
        seed=seed,
        rest_s=(20.0, 30.0),
    )


def _analyse(store: Store, session_id: str, truth: dict, truth_angles: pd.DataFrame) -> PathResult:
    analysis = run_analysis(store, session_id, show_progress=False)
    windows = [(s["start_s"], s["end_s"]) for s in truth["sets"]]
    return PathResult(
        compare_with_truth(truth["sets"], analysis.sets, analysis.reps),
        lumbar_squared_errors_deg2(analysis.angles, truth_angles, windows),
    )


def evaluate(job: tuple[str, int], config: MatchConfig | None = None) -> SessionResult:
    """Record, analyse (both paths) and compare one session (a worker's job)."""
    kind, index = job
    config = config or MatchConfig()
    spec = session_spec(kind, index)
    result = SessionResult(kind, spec.seed)
    start = time.perf_counter()
    rng = np.random.default_rng([spec.seed, KINDS.index(kind)])
    late = str(rng.choice(["lumbar", "thoracic"]))
    late_s, jitter_s, loss = float(rng.uniform(1.0, 2.0)), float(rng.uniform(0.005, 0.03)), float(rng.uniform(0, 0.02))
    result.faults = f"{late} on at {late_s:.1f} s, jitter ≤ {1000 * jitter_s:.0f} ms, loss {100 * loss:.1f} %"
    sim = simulate_session(spec)
    try:
        rigs = []
        with tempfile.TemporaryDirectory() as home, Store(home) as store:
            report = asyncio.run(
                record_virtual(
                    store,
                    kind=kind,
                    rate_hz=spec.rate_hz,
                    simulated=sim,
                    speed=SPEED,
                    seed=spec.seed,
                    jitter_s=jitter_s,
                    loss=loss,
                    late_start_s={late: late_s},
                    name=f"accuracy_recorded {kind} {spec.seed}",
                    on_rig=rigs.append,
                )
            )
            truth, truth_angles = on_session_clock(sim.truth, sim.truth_angles, report.clock_start_s)
            samples = store.samples(report.session_id)
            # what each virtual sensor sent: the simulated stream, resampled to the configured rate when the
            # sensor's drifting clock made the data's rate differ from it
            streams = {placement: rig.stream for placement, rig in rigs[0].sensors.items()}
            errors, matches = time_errors(dict(tuple(samples.groupby("sensor"))), streams, report.clock_start_s, config)
            result.match_fraction = {placement: m.fraction for placement, m in matches.items()}
            result.match_method = {placement: m.method for placement, m in matches.items()}
            result.offset_differences_s = offset_differences_s(errors, config)
            if len(result.offset_differences_s) and (
                1000.0 * np.percentile(result.offset_differences_s, 99) > config.offset_target_ms
            ):
                result.kept = keep_session(store, report.session_id, streams, report.clock_start_s, kind, spec)
            result.auto = _analyse(store, report.session_id, truth, truth_angles)
            # the person calibrates (same seed: same person, same strapping); the analysis then uses it
            args = ["--home", home, "calibrate", "--virtual", "--virtual-kind", kind, "--seed", str(spec.seed)]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
                code = imuform_cli([*args, "--bends"])
            if code == 0:
                result.calibrated = _analyse(store, report.session_id, truth, truth_angles)
            else:
                result.error = f"calibration failed: {err.getvalue().strip()}"
    except Exception as exc:  # noqa: BLE001 - a failed session is a figure, not a crash
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result.error = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
    result.wall_s = time.perf_counter() - start
    return result


def keep_session(
    store: Store, session_id: str, streams: dict[str, SensorStream], clock_start_s: float, kind: str, spec: SessionSpec
) -> str:
    """Keep what a session over its clock offset target recorded: every notification as it arrived (placement,
    host time, payload) and what each virtual sensor sent, so that `replay` can finish it again with other code.
    The radio's timing differs from run to run, so a failing session cannot be recorded again at will."""
    KEPT.mkdir(parents=True, exist_ok=True)
    path = KEPT / f"{kind}_{spec.seed}.pkl"
    kept = {
        "kind": kind,
        "rate_hz": spec.rate_hz,
        "clock_start_s": clock_start_s,
        "raw": list(store.raw_packets(session_id)),
        "streams": streams,
    }
    path.write_bytes(pickle.dumps(kept))
    return str(path)


def replay(path: Path, config: MatchConfig | None = None) -> np.ndarray:
    """Finish a kept session's notifications again with this code (`imuform.ble.stream_assembler`, as the
    recorder does at the end of a recording, each sensor on its own: the pooled clock of sensors that share one,
    `ClockSync.pooled`, is not rebuilt, nor the end of a link lost for good) and return its clock offset
    differences per window, s."""
    config = config or MatchConfig()
    kept = pickle.loads(path.read_bytes())
    model = get_model(kept["kind"])
    rows_of = {}
    for placement in kept["streams"]:
        assembler = StreamAssembler(model, AssemblerConfig(rate_hz=kept["rate_hz"]))
        blocks = [
            out.block
            for where, host_s, payload in kept["raw"]
            if where == placement and (out := assembler.feed(bytes(payload), host_s)) is not None
        ]
        acc, gyr = (np.concatenate([getattr(b, name) for b in blocks]) for name in ("acc_mps2", "gyr_dps"))
        columns = {f"{g}_{a}": v[:, i] for g, v in (("acc", acc), ("gyr", gyr)) for i, a in enumerate("xyz")}
        rows_of[placement] = pd.DataFrame({"time_s": assembler.finalize().time_s, **columns})
    errors, _ = time_errors(rows_of, kept["streams"], kept["clock_start_s"], config)
    return offset_differences_s(errors, config)


def collect(sessions_per_kind: int, kinds: tuple[str, ...] = KINDS) -> list[SessionResult]:
    """Evaluate ``sessions_per_kind`` sessions of every kind on `WORKERS` processes."""
    jobs = [(kind, i) for i in range(sessions_per_kind) for kind in kinds]
    with Pool(WORKERS) as pool:
        return pool.map(evaluate, jobs, chunksize=1)


def _p95(errors: np.ndarray) -> float:
    return float(np.percentile(np.abs(errors), 95)) if len(errors) else math.nan


def path_figures(label: str, paths: list[PathResult | None]) -> list[Figure]:
    """Rep count, RMSE, peak and lockout errors and flags of one path over a kind's sessions."""
    done = [p for p in paths if p is not None]
    failed = len(paths) - len(done)
    sets = [s for p in done for s in p.comparison.sets]
    exact = sum(s.rep_count_exact for s in sets)
    spurious = sum(p.comparison.spurious_sets for p in done)
    rmse = np.array([p.rmse_deg for p in done])
    peaks = np.concatenate([p.comparison.peak_errors_deg() for p in done]) if done else np.empty(0)
    lockouts = np.concatenate([p.comparison.lockout_errors_deg() for p in done]) if done else np.empty(0)
    flags = FlagCounts()
    for p in done:
        for counts in p.comparison.flag_counts().values():
            flags += counts
    reps = sum(len(p.comparison.reps) for p in done)
    limit = TARGETS.max_rep_error_deg
    figs = [
        Figure(
            f"{label}: rep count exact",
            100.0 * exact / max(len(sets) + failed * SETS_PER_SESSION, 1),
            "%",
            99.0,
            True,
            note=f"{len(sets)} sets, {spurious} spurious sets"
            + (f", {failed} sessions not analysed" if failed else ""),
        ),
        Figure(
            f"{label}: lumbar angle RMSE",
            float(np.sqrt(np.nanmean(rmse**2))) if len(rmse) else math.nan,
            "°",
            1.5,
            note=f"over the sets, {len(rmse)} sessions, worst {np.nanmax(rmse):.2f}°" if len(rmse) else "",
        ),
        Figure(
            f"{label}: peak flexion error p95",
            _p95(peaks),
            "°",
            limit,
            note=f"{len(peaks)} of {reps} reps matched, max {np.max(np.abs(peaks)):.2f}°" if len(peaks) else "",
        ),
        Figure(
            f"{label}: lockout angle error p95",
            _p95(lockouts),
            "°",
            limit,
            note=f"max {np.max(np.abs(lockouts)):.2f}°" if len(lockouts) else "",
        ),
    ]
    for name, other, other_name in (("precision", flags.fp, "fp"), ("recall", flags.fn, "fn")):
        cases = flags.tp + other
        figs.append(
            Figure(
                f"{label}: flags {name}",
                flags.tp / cases if cases else math.nan,
                "",
                0.95 if cases >= MIN_FLAG_CASES else None,
                True,
                note=f"tp {flags.tp}, {other_name} {other}",
            )
        )
    return figs


def kind_figures(kind: str, results: list[SessionResult]) -> list[Figure]:
    """All figures of one sensor kind."""
    mine = [r for r in results if r.kind == kind]
    diffs_ms = 1000.0 * np.concatenate([r.offset_differences_s for r in mine])
    fractions = [f for r in mine for f in r.match_fraction.values()]
    methods = sorted({m for r in mine for m in r.match_method.values()})
    errors = [f"seed {r.seed}: {r.error}" for r in mine if r.error]
    wall = sum(r.wall_s for r in mine)
    offset_note = (
        f"{len(diffs_ms)} windows of 1 s, median {np.median(diffs_ms):.2f} ms, max {np.max(diffs_ms):.1f} ms; "
        f"matched by {' / '.join(methods)}, {100 * min(fractions):.1f}-{100 * max(fractions):.1f} % of samples"
        if len(diffs_ms)
        else "no 1 s window had matched samples of both sensors: "
        + ", ".join(f"{100 * f:.1f} %" for f in fractions)
        + " of samples matched"
    )
    return [
        *path_figures(kind, [r.auto for r in mine]),
        Figure(
            f"{kind}: clock offset error p99",
            float(np.percentile(diffs_ms, 99)) if len(diffs_ms) else math.nan,
            "ms",
            MatchConfig().offset_target_ms,
            note=offset_note,
        ),
        *path_figures(f"{kind}, calibrated", [r.calibrated for r in mine]),
        Figure(
            f"{kind}: sessions completed",
            float(len(mine) - len(errors)),
            "sessions",
            float(len(mine)),
            True,
            note=f"{rate_for(kind):g} Hz, {wall:.0f} s of worker time" + (f"; {'; '.join(errors)}" if errors else ""),
        ),
    ]


def figures_of(results: list[SessionResult]) -> list[Figure]:
    """Every kind's figures, kind by kind."""
    return [f for kind in KINDS if any(r.kind == kind for r in results) for f in kind_figures(kind, results)]


def run(quick: bool = False) -> list[Figure]:
    """Record, analyse and compare; return the figures."""
    return figures_of(collect(QUICK_SESSIONS if quick else FULL_SESSIONS))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SESSIONS} session per kind, not {FULL_SESSIONS}")
    parser.add_argument("--sessions", type=int, help="sessions per kind")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    parser.add_argument(
        "--replay", type=Path, nargs="+", help="finish kept sessions again (artifacts/accuracy_recorded)"
    )
    args = parser.parse_args()
    if args.replay:
        for path in args.replay:
            ms = 1000.0 * replay(path)
            print(
                f"{path.name}: clock offset p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms, {len(ms)} windows"
            )
        raise SystemExit(0)
    results = collect(args.sessions or (QUICK_SESSIONS if args.quick else FULL_SESSIONS), tuple(args.kind or KINDS))
    print_table("accuracy through the recording path (virtual sensors, BLE, recorder, store)", figures_of(results))
    for r in results:
        kept = f"; over the clock target, kept in {r.kept}" if r.kept else ""
        print(f"{r.kind} seed {r.seed}: {r.faults}; {r.wall_s:.0f} s" + (f"; {r.error}" if r.error else "") + kept)
