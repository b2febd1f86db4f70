"""Dashboards: figures, summary text, decimation, the HTML report and the `report` command.

The session is a synthetic angle table (tests/angle_synth.py) run through the real set, rep and flag
pipeline (`analysis.analyze_angles`): a clean deadlift set, a set whose last three reps round the lower
back (31°, 33°, 35°), and a Romanian deadlift set that hyperextends at lockout on reps 2, 4 and 6.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from analysis import analyze_angles
from analysis.limits import DEFAULT_LIMITS
from analysis.session import SessionAnalysis
from dashboards.decimate import decimate_for_display, minmax_indices
from dashboards.history import HISTORY_COLUMNS, history_figure, history_table
from dashboards.rep_cards import rep_cards, rep_cards_html
from dashboards.rep_charts import (
    normalised_rep,
    rep_lumbar_figure,
    rhythm_figure,
    stick_figure,
    stick_points,
    worst_moment_index,
)
from dashboards.report import render_report, report_figures
from dashboards.set_summary import set_summary_figure
from dashboards.style import CLEAN_COLOR, EXTENSION_COLOR, FLEXION_COLOR, JUDGEMENT_COLORS, judgement
from dashboards.summary import rep_ranges, session_summary
from dashboards.timeline import TIMELINE_BUCKETS, timeline_figure
from imuform.cli.main import main
from imuform.store import Store
from tests.angle_synth import Rep, build, rest
from tests.conftest import make_samples

FLAGGED_PEAKS_DEG = (46.0, 48.0, 50.0)  # past the 35° default flexion limit
HYPEREXTENDED_REPS = (2, 4, 6)


def demo_angles(n_sets: int = 3) -> pd.DataFrame:
    """Angle table of the demo session, cut after ``n_sets`` sets (for a recording still in progress)."""
    sets = [
        [Rep(depth_deg=70, lumbar_share=0.15) for _ in range(8)],
        [Rep(depth_deg=70, lumbar_share=0.15 if i < 5 else FLAGGED_PEAKS_DEG[i - 5] / 70) for i in range(8)],
        [
            Rep(depth_deg=70, lumbar_share=0.1, lockout_lumbar_deg=-14.0 if i + 1 in HYPEREXTENDED_REPS else -2.0)
            for i in range(8)
        ],
    ]
    parts = [rest(5.0)]
    for reps in sets[:n_sets]:
        parts += [*reps, rest(30.0)]
    return build(parts, rate_hz=100.0)


def demo_analysis(n_sets: int = 3) -> SessionAnalysis:
    """The demo session analysed by the real pipeline."""
    angles = demo_angles(n_sets)
    sets, reps = analyze_angles(angles, DEFAULT_LIMITS)
    return SessionAnalysis(angles=angles, sets=sets, reps=reps, limits=DEFAULT_LIMITS, session_id="0123456789ab")


@pytest.fixture(scope="module")
def analysis() -> SessionAnalysis:
    return demo_analysis()


def test_demo_session_is_what_the_tests_expect(analysis):
    assert list(analysis.sets["rep_count"]) == [8, 8, 8]
    flexed = analysis.reps_of(2)
    assert [i for i, f in zip(flexed["index"], flexed["flags"]) if "lumbar_flexion" in f] == [6, 7, 8]
    arched = analysis.reps_of(3)
    assert (
        tuple(i for i, f in zip(arched["index"], arched["flags"]) if "lockout_hyperextension" in f)
        == HYPEREXTENDED_REPS
    )


# decimation ---------------------------------------------------------------------------------------
def test_minmax_decimation_keeps_every_extreme_and_gap():
    rng = np.random.default_rng(1)
    t = np.arange(360_000) / 100.0
    y = rng.normal(0.0, 1.0, t.size)
    y[123_457] = 50.0  # one spike: the flag a chart must not hide
    y[200_000:200_500] = np.nan  # a gap of 5 s
    t_kept, y_kept = decimate_for_display(t, y, 1000)
    assert len(t_kept) <= 3000 and np.all(np.diff(t_kept) > 0)
    assert 50.0 in y_kept and np.nanmin(y_kept) == np.nanmin(y)
    assert np.isnan(y_kept).any(), "a bucket inside the gap keeps a NaN so the line breaks"


def test_short_series_are_not_decimated():
    assert np.array_equal(minmax_indices(np.arange(10.0), 100), np.arange(10))


# summary text -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "numbers,text",
    [([3], "rep 3"), ([2, 6, 7, 8], "reps 2, 6–8"), ([1, 2], "reps 1, 2"), ([5, 1, 2, 3], "reps 1–3, 5")],
)
def test_rep_ranges(numbers, text):
    assert rep_ranges(numbers) == text


def test_session_summary_in_plain_language(analysis):
    lines = session_summary(analysis)
    exercises = ", ".join(dict.fromkeys(e.replace("_", " ") for e in analysis.sets["exercise"]))
    assert lines[0] == f"3 sets, 24 reps of {exercises}: 6 reps flagged."
    assert re.fullmatch(
        r"Set 1 \([a-z ]+\): 8 clean reps, peak flexion \d+°, inside your 35° flexion limit\.", lines[1]
    )
    assert "reps 6–8 flexed past your limit (46°, 48°, 50°)" in lines[2]
    assert "lockout hyperextension on 3 of 8 reps" in lines[3]


# figures ------------------------------------------------------------------------------------------
def test_timeline_shades_sets_numbers_reps_and_draws_the_band(analysis):
    fig = timeline_figure(analysis)
    set_rects = [(s.x0, s.x1) for s in fig.layout.shapes if s.type == "rect" and s.yref == "paper"]
    assert set_rects == [(a / 60, b / 60) for a, b in zip(analysis.sets["start_s"], analysis.sets["end_s"])]
    reps = next(t for t in fig.data if t.name == "reps")
    assert len(reps.x) == len(analysis.reps) and reps.text[0] == "1"
    # every rep marked in the colour of its judgement, a flexed rep in the flexion colour only
    kinds = [judgement(f) for f in analysis.reps["flags"]]
    assert list(reps.marker.color) == [JUDGEMENT_COLORS[k] for k in kinds]
    assert sum(c == FLEXION_COLOR for c in reps.marker.color) == 3 and kinds.count("extension") == 3
    # labels thinned so no two crowd on a phone: flagged reps numbered first
    labelled_s = 60.0 * np.asarray(reps.x)[np.asarray(reps.text) != ""]
    assert np.diff(np.sort(labelled_s)).min() >= (analysis.angles["time_s"].iloc[-1] / 16) - 1e-9
    assert "8" in set(reps.text[8:16])  # the worst rep of set 2
    limits = {round(s.y0, 6) for s in fig.layout.shapes if s.type == "line"}
    assert {35.0, -10.0} <= limits


def test_timeline_of_an_hour_is_decimated_for_display():
    t = np.arange(360_000) / 100.0
    angles = pd.DataFrame(
        {
            "time_s": t,
            **{
                c: np.sin(t)
                for c in (
                    "lumbar_flexion_deg",
                    "lumbar_lateral_bend_deg",
                    "lumbar_twist_deg",
                    "trunk_inclination_deg",
                    "pelvis_inclination_deg",
                )
            },
        }
    )
    empty = pd.DataFrame(columns=["index", "exercise", "start_s", "end_s", "rep_count"])
    reps = pd.DataFrame(columns=["set_index", "index", "bottom_s", "peak_lumbar_flexion_deg", "flags", "flag_reasons"])
    fig = timeline_figure(SessionAnalysis(angles=angles, sets=empty, reps=reps, limits=DEFAULT_LIMITS))
    assert all(len(trace.x) <= 3 * TIMELINE_BUCKETS for trace in fig.data)


def test_set_summary_bars_trend_flags_and_tempo(analysis):
    fig = set_summary_figure(analysis, 2)
    peak = next(t for t in fig.data if t.name == "peak flexion")
    assert np.allclose(peak.y[-3:], FLAGGED_PEAKS_DEG, atol=1.0)
    assert list(peak.marker.color[-3:]) == ["#dc2626"] * 3 and peak.marker.color[0] != "#dc2626"
    trend = next(t for t in fig.data if t.name.startswith("trend"))
    assert trend.name.startswith("trend +") and trend.y[-1] > trend.y[0]
    flagged = next(t for t in fig.data if t.name == "flagged")
    assert list(flagged.x) == [6, 7, 8] and "past your 35° flexion limit" in flagged.customdata[0]
    tempo = [t for t in fig.data if t.name in ("down", "pause", "up")]
    assert len(tempo) == 3 and np.allclose(tempo[2].base, np.add(tempo[0].y, tempo[1].y))


def test_rep_charts_one_line_per_rep_with_the_band(analysis):
    for make in (rep_lumbar_figure, rhythm_figure):
        fig = make(analysis, 2)
        lines = [t for t in fig.data if t.name and t.name.startswith("rep ")]
        assert [t.name for t in lines] == [f"rep {i}" for i in range(1, 9)]
        # coloured by judgement: reps 6-8 past the flexion limit, the others clean
        assert [t.line.color for t in lines] == [CLEAN_COLOR] * 5 + [FLEXION_COLOR] * 3
        assert any(s.type == "rect" for s in fig.layout.shapes)
    lumbar = rep_lumbar_figure(analysis, 2)
    assert lumbar.data[0].x[0] == 0 and lumbar.data[0].x[-1] == 100
    assert np.nanmax(lumbar.data[7].y) == pytest.approx(FLAGGED_PEAKS_DEG[2], abs=1.0)


def test_rep_cards_show_the_curve_and_the_numbers_that_flagged_each_rep(analysis):
    cards = rep_cards(analysis, 3)
    assert [c.rep_index for c in cards] == list(range(1, 9))
    arched = cards[HYPEREXTENDED_REPS[0] - 1]
    assert arched.kind == "extension" and arched.verdict == "past extension limit"
    peak, lockout = arched.facts[:2]
    assert lockout.past == "extension" and lockout.value == "−14°" and lockout.limit == "extension limit 10°"
    assert not peak.past and peak.value.startswith("+")
    assert any("arched 14° into extension" in r for r in arched.reasons)
    svg = base64.b64decode(arched.curve_uri.split(",", 1)[1]).decode()
    assert "<polyline" in svg and EXTENSION_COLOR in svg and "<rect" in svg  # the curve over the band
    page = rep_cards_html(cards)
    assert page.count("<article class='rep-card") == 8 and "-0" not in page and "−0" not in page


def test_the_palette_is_the_one_the_conventions_write_down():
    conventions = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text(encoding="utf-8")
    display = conventions[conventions.index("## Display") :]
    assert all(color in display for color in JUDGEMENT_COLORS.values())
    assert judgement(["lumbar_flexion", "lockout_hyperextension"]) == "flexion" and judgement([]) == "clean"
    assert judgement(["overarching"]) == "extension" and judgement(["asymmetry"]) == "other"


def test_normalised_rep_spans_the_rep():
    rep = pd.DataFrame({"time_s": [10.0, 10.5, 11.0], "lumbar_flexion_deg": [0.0, 10.0, 0.0]})
    norm = normalised_rep(rep, ("lumbar_flexion_deg",), n_points=5)
    assert np.allclose(norm["pct"], [0, 25, 50, 75, 100]) and np.allclose(norm["lumbar_flexion_deg"], [0, 5, 10, 5, 0])


def test_stick_figure_geometry():
    x, z = stick_points(0.0, 0.0)
    assert np.allclose(x, 0.0) and np.all(np.diff(z) > 0), "upright neutral stands straight up"
    x, z = stick_points(0.0, 90.0)
    assert z[-1] == pytest.approx(z[-2]) and x[-1] > x[-2], "90° of lumbar flexion lays the thoracic spine forward"
    x, z = stick_points(45.0, 0.0)
    assert np.allclose(np.diff(x), np.diff(z)), "a flat back hinged 45° at the hips is one straight line"


def test_worst_moment_weighs_each_direction_by_its_limit():
    # 15° of flexion is 0.43 of a 35° limit; 9° of extension is 0.9 of a 10° limit: the lockout is worse
    assert worst_moment_index(np.array([0.0, 15.0, 0.0, -9.0, 0.0]), DEFAULT_LIMITS) == 3
    assert worst_moment_index(np.full(3, np.nan), DEFAULT_LIMITS) is None


def test_stick_figure_shows_the_lockout_of_a_hyperextended_rep(analysis):
    fig = stick_figure(analysis, 3)
    rep = HYPEREXTENDED_REPS[0]
    stick = next(t for t in fig.data if t.name == f"rep {rep}")
    bend_deg = np.degrees(
        np.arctan2(stick.x[3] - stick.x[2], stick.y[3] - stick.y[2]) - np.arctan2(stick.x[1], stick.y[1])
    )
    lockout = analysis.reps_of(3)["lockout_lumbar_angle_deg"].iloc[rep - 1]
    assert bend_deg == pytest.approx(lockout, abs=0.5) and lockout < -DEFAULT_LIMITS.extension_limit_deg


def test_history_from_analyses_and_cached_documents(analysis):
    table = history_table([("2026-11-08", analysis.to_dict()), ("2026-11-01", analysis)])
    exercises = set(analysis.sets["exercise"])
    assert list(table.columns) == list(HISTORY_COLUMNS) and len(table) == 2 * len(exercises)
    assert table["date"].is_monotonic_increasing
    first, second = (table[table["date"] == d].set_index("exercise") for d in table["date"].unique())
    assert first.drop(columns="date").equals(second.drop(columns="date")), "a cached document gives the same row"
    assert first["reps"].sum() == 24 and first["sets"].sum() == 3 and first["flagged_reps"].sum() == 6
    assert first["max_peak_lumbar_flexion_deg"].max() == pytest.approx(analysis.reps["peak_lumbar_flexion_deg"].max())
    assert first["min_lockout_lumbar_angle_deg"].min() == pytest.approx(analysis.reps["lockout_lumbar_angle_deg"].min())
    fig = history_figure(table, DEFAULT_LIMITS)
    assert {t.name for t in fig.data if t.showlegend is not False} == {e.replace("_", " ") for e in exercises}


# report -------------------------------------------------------------------------------------------
def test_report_is_one_offline_file_with_the_summary_on_top(analysis):
    history = history_table([("2026-11-01", analysis), ("2026-11-08", analysis)])
    page = render_report(analysis, title="Monday pulls", subtitle="22 Nov", history=history)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert page.count(get_plotlyjs()) == 1
    own = page.replace(get_plotlyjs(), "")  # plotly.js names a map server for geo charts, which we never draw
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://", own), "nothing may load from the network"
    assert page.index("reps 6–8 flexed past your limit") < page.index("plot-timeline")
    figures = report_figures(analysis, history)
    assert len(figures) == 1 + 4 * 3 + 1
    for key in figures:
        blob = re.search(rf"<script type='application/json' id='plot-{key}-data'>(.*?)</script>", page, re.S).group(1)
        assert json.loads(blob.replace("<\\/", "</"))["data"]


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_command_writes_html_and_says_so(capsys, home, tmp_path):
    with Store(home) as store:
        sid = store.import_samples(make_samples(), name="still standing")
    out_file = tmp_path / "r" / "report.html"
    code, out, err = run(capsys, "report", sid[:5], "--out", str(out_file), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["html"] == str(out_file) and out_file.stat().st_size == doc["html_bytes"]
    assert doc["summary"] == ["No sets found in this session."]
    assert "still standing" in out_file.read_text(encoding="utf-8")


def test_report_unknown_session_is_one_line(capsys, home):
    code, _, err = run(capsys, "report", "beef")
    assert code == 1 and "no session matches" in err and err.count("\n") == 1


def test_dashboard_data_source_reads_the_store(home):
    from imuform.cli.dashboard import store_source

    with Store(home) as store:
        sid = store.import_samples(make_samples(), name="still standing")
    source = store_source(str(home))
    (session,) = source.sessions()
    assert session["id"] == sid and session["samples"] == 1000 and "still standing" in session["label"]
    analysis = source.analysis(sid)
    assert isinstance(analysis, SessionAnalysis) and analysis.sets.empty
    history = source.history()
    assert list(history.columns) == list(HISTORY_COLUMNS) and history.empty  # no sets, nothing to chart


def test_dashboard_on_a_busy_port_is_one_line(capsys, home):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, _, err = run(capsys, "dashboard", "--no-browser", "--port", str(busy.getsockname()[1]))
    assert code == 1 and "pick another with --port" in err and err.count("\n") == 1


def test_following_a_growing_session_costs_work_in_proportion_to_it():
    from dashboards.follow import FollowConfig, reanalysis_due

    config = FollowConfig(growth=0.02, min_new_samples=500)
    analysed = [400]
    for samples in range(800, 720_001, 400):  # an hour at 2 × 100 Hz, polled every 2 s while it is written
        if reanalysis_due(analysed[-1], samples, config):
            analysed.append(samples)
    assert sum(analysed) < 60 * 720_000  # every poll would be 1,800 analyses, 900 × 720,000 samples
    assert len(analysed) < 400
    assert all(b >= max(a + 500, 1.02 * a) for a, b in zip(analysed, analysed[1:]))
    assert 720_000 - analysed[-1] < 0.02 * 720_000  # the view lags by at most 2 % of the session
