"""What a user waits for at the command line: start-up, cost per hour, memory, many sessions at once.

Every figure here is the wall time of a fresh `imuform` process, start-up included, as a user meets it
(`python -c` running the console script's `main`, which also reports the process's own peak memory):

- start-up: `sessions`, `show`, `analyze` and `report` on a 1-minute session, median of `RUNS`, against
  the bare interpreter's start-up;
- marginal cost per hour of 2-sensor 100 Hz data: `analyze` of a 1-hour session minus that of the 1-minute
  one, at the command line and in-process (`benchmarks.bench_analyze`'s child, imports excluded), against
  the baseline (`benchmarks.baseline`: ahrs Madgwick per sample) on the same hour in the same run;
- peak memory of `import` and `analyze` of a 1-hour and a 4-hour session (the process's own `VmHWM`;
  the forked worker of `analysis.parallel` has its own), and per hour of data beyond the first
  (``--memory`` measures only these);
- sessions per minute of `analyze --all` over `BATCH_SESSIONS` simulated sessions, against one
  `analyze SESSION` call per session (measured on `BASELINE_SESSIONS` of them).

The machine may be shared: the load average before the start-up runs is printed with those figures, and
the load before and after the cost runs with the cost rows. ``--cost`` measures the cost rows alone (the
1-minute session's `analyze` start-up, which the command-line row subtracts, and the marginal cost per hour).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.baseline import baseline_pipeline
from benchmarks.bench_analyze import time_analyze
from benchmarks.figures import Figure, benchmark_options, print_table
from benchmarks.sessions import gym_session
from imuform.io_csv import write_samples_csv
from imuform.simulator import SessionSpec, SetSpec, simulate_session
from imuform.store import Store

RUNS = 5
TARGET_STARTUP_S = 1.0
TARGET_SESSIONS_S = 0.3
TARGET_PER_HOUR_S = 1.0
TARGET_SPEEDUP = 40.0
TARGET_RSS_MB = 600.0
BATCH_SESSIONS = 100
#: Distinct simulated sessions the batch is made of (each stored ``BATCH_SESSIONS / BATCH_DISTINCT`` times).
BATCH_DISTINCT = 10
BASELINE_SESSIONS = 10

# The console script's own code, plus the process's peak memory on the last line of stderr.
_CLI = """
import sys
from imuform.cli.main import leave, main
code = main(sys.argv[1:])
try:
    with open("/proc/self/status") as f:
        hwm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
except OSError:
    import resource
    hwm_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write(f"\\nVmHWM_MB {hwm_kb / 1024:.1f}\\n")
leave(code)
"""


def cli(home: Path, *args: str) -> tuple[float, float, str]:
    """Wall time (s) and peak RSS (MB) of one fresh ``imuform --home HOME ARGS…`` process, and its stdout."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CLI, "--home", str(home), *args], capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    *message, peak = out.stderr.strip().splitlines() or [""]
    if out.returncode != 0 or not peak.startswith("VmHWM_MB"):
        raise RuntimeError(f"imuform {' '.join(args)} failed: {(message or [peak])[-1]}")
    return wall_s, float(peak.split()[1]), out.stdout


def median_cli(home: Path, *args: str, runs: int = RUNS) -> tuple[float, float]:
    """Median wall time (s) and largest peak RSS (MB) of ``runs`` fresh processes."""
    results = [cli(home, *args) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def interpreter_start_s(runs: int = RUNS) -> float:
    """Median wall time of ``python -c pass``: the floor of any command."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def short_session(seed: int = 0):
    """About a minute of one deadlift set (2 sensors, 100 Hz, magnetometers), as `imuform simulate` makes."""
    return simulate_session(SessionSpec(sets=[SetSpec("deadlift", 5, "none")], rate_hz=100.0, seed=seed)).samples


def batch_sessions(count: int):
    """``count`` distinct gym sessions of about 5 minutes (3 sets: deadlift, RDL, good morning)."""
    kinds = (("deadlift", "none"), ("romanian_deadlift", "lumbar_flexion"), ("good_morning", "none"))
    for seed in range(count):
        sets = [SetSpec(exercise, 5 + seed % 3, fault) for exercise, fault in kinds]
        yield simulate_session(SessionSpec(sets=sets, rate_hz=100.0, seed=100 + seed)).samples


def _load() -> float:
    """The 1-minute load average (NaN where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _hours(samples) -> float:
    return float(samples["time_s"].max() - samples["time_s"].min()) / 3600.0


def startup_figures(home: Path, session_id: str, tmp: Path) -> tuple[list[Figure], float]:
    """Start-up of the everyday commands on a short session; also returns analyze's median (s)."""
    load = _load()
    base_s = interpreter_start_s()
    commands = {
        "sessions": (("sessions",), TARGET_SESSIONS_S),
        "show": (("show", session_id), TARGET_STARTUP_S),
        "analyze": (("analyze", session_id, "--json"), TARGET_STARTUP_S),
        "report": (("report", session_id, "--out", str(tmp / "report.html"), "--no-history"), TARGET_STARTUP_S),
    }
    figures, analyze_s = [], 0.0
    for name, (args, target) in commands.items():
        wall_s, _ = median_cli(home, *args)
        analyze_s = wall_s if name == "analyze" else analyze_s
        figures.append(
            Figure(
                f"start-up: imuform {name}",
                wall_s,
                "s",
                target,
                baseline=base_s,
                note=f"1-min session, fresh processes, median of {RUNS}; baseline `python -c pass`; load {load:.1f}",
            )
        )
    return figures, analyze_s


def marginal_figures(home: Path, short: tuple[str, float], long: tuple[str, float], samples, short_cli_s: float):
    """Marginal cost per hour (long minus short session) at the command line and in-process, and the
    baseline's cost per hour on the long session's samples; also returns the long analysis' peak RSS (MB)."""
    (short_id, short_h), (long_id, long_h) = short, long
    load_before = _load()
    long_cli_s, long_rss_mb = median_cli(home, "analyze", long_id, "--json")
    inproc_short = time_analyze(home, short_id, RUNS)["s"]
    inproc_long = time_analyze(home, long_id, RUNS)["s"]
    start = time.perf_counter()
    baseline_pipeline(samples)
    baseline_per_h = (time.perf_counter() - start) / long_h
    per_h_cli = (long_cli_s - short_cli_s) / (long_h - short_h)
    per_h_inproc = (inproc_long - inproc_short) / (long_h - short_h)
    span = f"{long_h * 60:.0f} min {long_cli_s:.2f} s − {short_h * 60:.1f} min {short_cli_s:.2f} s"
    load = f"load {load_before:.1f} → {_load():.1f}"
    figures = [
        Figure(
            "analyze marginal cost per hour, command line",
            per_h_cli,
            "s/h",
            TARGET_PER_HOUR_S,
            baseline=baseline_per_h,
            note=f"fresh processes, medians of {RUNS}: {span}; baseline ahrs Madgwick per sample, same hour; {load}",
        ),
        Figure(
            "analyze marginal cost per hour, in-process",
            per_h_inproc,
            "s/h",
            TARGET_PER_HOUR_S,
            baseline=baseline_per_h,
            note=f"imports excluded, medians of {RUNS}: {inproc_long:.2f} s − {inproc_short:.2f} s; {load}",
        ),
        Figure(
            "analyze speed-up over the baseline, command line",
            baseline_per_h / per_h_cli,
            "×",
            TARGET_SPEEDUP,
            higher_is_better=True,
            note="Madgwick cost per hour / marginal cost per hour at the command line",
        ),
    ]
    return figures, long_rss_mb


def memory_figures(tmp: Path, sessions: dict[str, object], analyze_rss: dict[str, float]) -> list[Figure]:
    """Peak RSS of `imuform import samples.csv` and `imuform analyze` per session length."""
    figures = []
    for label, samples in sessions.items():
        csv_path = tmp / f"import-{label.replace(' ', '')}.csv"
        write_samples_csv(samples, csv_path)
        home = tmp / f"import-home-{label.replace(' ', '')}"
        import_s, import_rss_mb, out = cli(home, "import", str(csv_path), "--json")
        csv_path.unlink()
        note = f"{len(samples):,} samples; the process's own VmHWM"
        figures.append(
            Figure(f"import {label} peak RSS", import_rss_mb, "MB", TARGET_RSS_MB, note=f"{note}, {import_s:.1f} s")
        )
        if label in analyze_rss:
            figures.append(Figure(f"analyze {label} peak RSS", analyze_rss[label], "MB", TARGET_RSS_MB, note=note))
    return figures


def per_hour_figures(memory: list[Figure]) -> list[Figure]:
    """Peak memory per hour of data beyond the first: (4 h − 1 h) / 3, for import and analyze."""
    peak = {f.name: f.value for f in memory}
    return [
        Figure(
            f"{command} memory per hour of data",
            (peak[f"{command} 4 h peak RSS"] - peak[f"{command} 1 h peak RSS"]) / 3.0,
            "MB/h",
            note="(4 h − 1 h) / 3 of the peak RSS rows",
        )
        for command in ("import", "analyze")
        if f"{command} 4 h peak RSS" in peak and f"{command} 1 h peak RSS" in peak
    ]


def memory_rows(tmp: Path, lengths: dict[str, object], analyze_rss: dict[str, float]) -> list[Figure]:
    """The memory rows of ``lengths`` (label: samples table): each session whose ``analyze`` peak is not in
    ``analyze_rss`` yet is stored and analysed first; then `memory_figures` and `per_hour_figures`."""
    home = tmp / "home"
    for label, samples in lengths.items():
        if label not in analyze_rss:
            with Store(home) as store:
                session_id = store.import_samples(samples, name=label)
            _, analyze_rss[label], _ = cli(home, "analyze", session_id, "--json")
    memory = memory_figures(tmp, lengths, analyze_rss)
    return memory + per_hour_figures(memory)


def memory_run() -> list[Figure]:
    """Only the memory rows: `import` and `analyze` of the 1-hour and the 4-hour session, and per hour of data."""
    with tempfile.TemporaryDirectory() as tmp_name:
        return memory_rows(Path(tmp_name), {"1 h": gym_session(3600.0), "4 h": gym_session(4 * 3600.0)}, {})


def batch_figures(tmp: Path, count: int) -> list[Figure]:
    """Sessions per minute of `analyze --all` against one `analyze SESSION` call per session."""
    home = tmp / "batch-home"
    distinct = max(1, min(BATCH_DISTINCT, count))
    with Store(home) as store:
        ids = []
        for k, samples in enumerate(batch_sessions(distinct)):
            copies = count // distinct + (k < count % distinct)
            ids += [store.import_samples(samples, name=f"batch {k}.{c}") for c in range(copies)]
        minutes = sum(s["duration_s"] for s in store.sessions()) / 60
    wall_s, _, out = cli(home, "analyze", "--all", "--json")
    workers = json.loads(out)["workers"]
    n_base = min(BASELINE_SESSIONS, count)
    one_by_one_s = sum(cli(home, "analyze", session_id, "--json")[0] for session_id in ids[:n_base])
    return [
        Figure(
            f"analyze --all, {count} sessions",
            60.0 * count / wall_s,
            "sessions/min",
            None,
            higher_is_better=True,
            baseline=60.0 * n_base / one_by_one_s,
            note=f"{minutes / count:.1f} min each ({distinct} distinct simulated), {workers} workers, "
            f"{wall_s:.1f} s with start-up; baseline one `analyze` per session ({n_base} of them)",
        )
    ]


def run(quick: bool = False, cost_only: bool = False) -> list[Figure]:
    """All figures: start-up, marginal cost per hour, memory (1 h and, unless quick, 4 h), batch rate; with
    ``cost_only`` the marginal cost rows alone."""
    long_s = 600.0 if quick else 3600.0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        short = short_session()
        long = gym_session(long_s)
        with Store(home) as store:
            short_id = store.import_samples(short, name="short")
            long_id = store.import_samples(long, name="long")
        if cost_only:
            short_cli_s, _ = median_cli(home, "analyze", short_id, "--json")
            figures = []
        else:
            figures, short_cli_s = startup_figures(home, short_id, tmp)
        marginal, long_rss_mb = marginal_figures(
            home, (short_id, _hours(short)), (long_id, _hours(long)), long, short_cli_s
        )
        figures += marginal
        if cost_only:
            return figures
        long_label = f"{long_s / 60:g} min" if quick else "1 h"
        lengths = {long_label: long} if quick else {long_label: long, "4 h": gym_session(4 * 3600.0)}
        figures += memory_rows(tmp, lengths, {long_label: long_rss_mb})
        figures += batch_figures(tmp, 20 if quick else BATCH_SESSIONS)
    return figures


if __name__ == "__main__":
    options = benchmark_options(
        __doc__,
        memory="measure only the peak memory of import and analyze",
        cost="measure only the marginal cost per hour (and the short session's analyze start-up)",
    )
    if options.memory:
        print_table("peak memory of import and analyze", memory_run())
    else:
        title = "marginal cost per hour" if options.cost else "start-up, cost per hour, memory, many sessions"
        print_table(title, run(quick=options.quick, cost_only=options.cost))
