"""`imuform report` speed and size on a 1-hour session (2 sensors, 100 Hz, simulated and analysed).

Targets: the report of a 1-hour session renders in ≤ 3 s and the HTML stays ≤ 10 MB. The size
baseline, measured side by side, is plotly's own ``write_html`` of the timeline alone at full
resolution (no decimation): what a straightforward report would start from.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from analysis import analyze_session
from benchmarks.figures import Figure, benchmark_options, print_table
from benchmarks.sessions import gym_session
from dashboards.history import history_table
from dashboards.report import report_figures, write_report
from dashboards.style import LUMBAR_COLOR

TARGET_RENDER_S = 3.0
TARGET_SIZE_MB = 10.0


def full_resolution_timeline_html(analysis, path: Path) -> None:
    """The baseline: the lumbar and trunk series at every sample, written by plotly with plotly.js inline."""
    import plotly.graph_objects as go

    minutes = analysis.angles["time_s"] / 60.0
    fig = go.Figure(
        [
            go.Scatter(x=minutes, y=analysis.angles["trunk_inclination_deg"], name="trunk inclination"),
            go.Scatter(
                x=minutes, y=analysis.angles["lumbar_flexion_deg"], name="lumbar angle", line_color=LUMBAR_COLOR
            ),
        ]
    )
    fig.write_html(path, include_plotlyjs=True)


def run(quick: bool = False) -> list[Figure]:
    """Render the report of a long session, best of three, and compare its size with the baseline."""
    duration_s = 600.0 if quick else 3600.0
    label = f"{duration_s / 60:g} min" if duration_s < 3600 else f"{duration_s / 3600:g} h"
    analysis = analyze_session(gym_session(duration_s))
    history = history_table([(f"2026-11-{day:02d}", analysis) for day in (1, 8, 15)])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        times_s, cpu_s = [], []
        for _ in range(3):
            start, start_cpu = time.perf_counter(), time.process_time()
            write_report(out, analysis, title="bench", history=history)
            times_s.append(time.perf_counter() - start)
            cpu_s.append(time.process_time() - start_cpu)
        size_mb = out.stat().st_size / 1e6
        base = Path(tmp) / "baseline.html"
        full_resolution_timeline_html(analysis, base)
        base_mb = base.stat().st_size / 1e6
    n_charts = len(report_figures(analysis, history))
    note = (
        f"{len(analysis.angles):,} angle rows, {len(analysis.sets)} sets, {len(analysis.reps)} reps, {n_charts} charts"
    )
    return [
        Figure(f"report {label}: render", min(times_s), "s", None if quick else TARGET_RENDER_S, note=note),
        Figure(
            f"report {label}: render CPU time",
            min(cpu_s),
            "s",
            None,
            note="wall time on an idle machine; the machine is shared when wall and CPU differ",
        ),
        Figure(
            f"report {label}: HTML size",
            size_mb,
            "MB",
            None if quick else TARGET_SIZE_MB,
            baseline=base_mb,
            note="plotly.js embedded once (4.7 MB); baseline: one full-resolution chart",
        ),
    ]


if __name__ == "__main__":
    print_table("report speed and size", run(quick=benchmark_options(__doc__).quick))
