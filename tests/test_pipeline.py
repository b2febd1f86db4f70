"""analyze_angles and analyze_session: metrics, flags and set summaries, and the JSON document."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis import DEFAULT_LIMITS, PROFILES, analyze_angles, analyze_session
from analysis.calibration import RangeOfMotion
from analysis.limits import resolve_limits
from analysis.pipeline import REP_COLUMNS, SET_COLUMNS
from tests.angle_synth import Rep, build, rest
from tests.conftest import make_samples


def _one_set(reps: list[Rep], **kwargs):
    return analyze_angles(build([rest(3), *reps, rest(3)], rate_hz=50.0), **kwargs)


def test_clean_set_has_metrics_and_no_flags():
    sets, reps = _one_set(
        [Rep(depth_deg=70, lumbar_share=0.1, eccentric_s=1.5, concentric_s=1.0, bottom_s=0.5) for _ in range(5)],
        max_flexion_deg=50.0,
    )
    assert list(sets.columns) == list(SET_COLUMNS) and list(reps.columns) == list(REP_COLUMNS)
    assert len(sets) == 1 and sets.loc[0, "rep_count"] == 5
    assert reps["index"].tolist() == [1, 2, 3, 4, 5] and (reps["set_index"] == 1).all()
    assert all(f == [] for f in reps["flags"])
    assert reps["peak_lumbar_flexion_deg"].between(6, 8).all()
    assert reps["peak_lumbar_flexion_pct"].between(12, 16).all()
    assert reps["peak_trunk_inclination_deg"].between(68, 72).all()
    assert reps["lumbar_share"].between(0.08, 0.12).all() and reps["lumbar_share_rep"].between(0.08, 0.12).all()
    # tempo: 1.5 s down, 0.5 s at the bottom, 1.0 s up; the bottom zone (metrics.BOTTOM_ZONE) takes a share of each
    assert reps["eccentric_s"].between(0.8, 1.5).all() and reps["concentric_s"].between(0.4, 1.0).all()
    assert reps["bottom_pause_s"].between(0.4, 1.0).all()
    assert abs(sets.loc[0, "flexion_trend_deg_per_rep"]) < 0.3
    assert sets.loc[0, "peak_lumbar_flexion_sd_deg"] < 0.5 and sets.loc[0, "movement_sd_s"] < 0.1


@pytest.mark.parametrize(
    ("rep", "flag"),
    [
        (Rep(depth_deg=70, lumbar_share=0.6), "lumbar_flexion"),
        (Rep(depth_deg=70, lumbar_share=0.2, lockout_lumbar_deg=-15, top_s=1.0), "lockout_hyperextension"),
        (Rep(depth_deg=60, lumbar_share=0.0, lumbar_offset_deg=-15), "overarching"),
        (Rep(depth_deg=60, bend_deg=12), "asymmetry"),
        (Rep(depth_deg=60, twist_deg=-14), "asymmetry"),
    ],
)
def test_each_fault_raises_its_flag_with_a_reason(rep, flag):
    _, reps = _one_set([rep] * 4)
    assert all(f == [flag] for f in reps["flags"]), reps["flags"].tolist()
    assert all(len(r) == 1 and r[0] for r in reps["flag_reasons"])


def test_the_last_rep_of_a_set_is_judged_at_its_lockout_as_the_others():
    # a slow ascent reaches the top zone well before the lockout: the last rep has no next rep to run to,
    # so it runs until the trunk has settled at the top (before, its lockout read 3.3° short of -25°)
    _, reps = _one_set([Rep(depth_deg=70, lumbar_share=0.2, lockout_lumbar_deg=-25, concentric_s=3.0, top_s=1.0)] * 4)
    lockout = reps["lockout_lumbar_angle_deg"].to_numpy()
    assert lockout[-1] == pytest.approx(-25.0, abs=0.5)
    assert abs(lockout[-1] - np.median(lockout[:-1])) < 0.6


def test_flexion_drift_over_a_set():
    shares = [0.1, 0.1, 0.15, 0.25, 0.3]  # peak flexion 6°, 6°, 9°, 15°, 18° at 60° depth
    sets, reps = _one_set([Rep(depth_deg=60, lumbar_share=s) for s in shares])
    assert [("flexion_drift" in f) for f in reps["flags"]] == [False, False, False, True, True]
    assert sets.loc[0, "flexion_trend_deg_per_rep"] == pytest.approx(3.3, abs=0.5)
    assert sets.loc[0, "flag_counts"] == {"flexion_drift": 2}


def test_limits_change_the_verdict():
    reps_in = [Rep(depth_deg=70, lumbar_share=0.22) for _ in range(3)]  # peak about 15°
    assert all(f == [] for f in _one_set(reps_in, limits=DEFAULT_LIMITS)[1]["flags"])
    strict = _one_set(reps_in, limits=PROFILES["flexion_intolerant"])[1]
    assert all(f == ["lumbar_flexion"] for f in strict["flags"])
    assert "12° flexion limit" in strict["flag_reasons"][0][0]


def test_percent_limits_need_a_range_of_motion():
    profile = {"profile": "default", "flexion_limit_pct": 50}
    assert resolve_limits(profile, RangeOfMotion(40.0, 20.0)).flexion_limit_deg == 20.0
    with pytest.raises(ValueError, match="calibrate"):
        resolve_limits(profile, None)
    assert resolve_limits({"profile": "extension_intolerant", "flexion_limit_deg": 30}).flexion_limit_deg == 30.0


def test_a_calibrated_range_makes_the_default_limits_personal():
    rom = RangeOfMotion(48.0, 25.0)
    personal = resolve_limits({}, rom)
    assert (personal.flexion_limit_deg, personal.extension_limit_deg) == (36.0, 10.0)  # 75 % and 40 %
    assert resolve_limits({}, None) == DEFAULT_LIMITS
    mixed = resolve_limits({"flexion_limit_deg": 30.0}, rom)
    assert (mixed.flexion_limit_deg, mixed.extension_limit_deg) == (30.0, 10.0)  # explicit degrees win
    assert resolve_limits({"profile": "flexion_intolerant"}, rom) == PROFILES["flexion_intolerant"]


def test_thoracic_flexion_is_measured_with_an_upper_sensor():
    table = build([rest(2), *[Rep() for _ in range(3)], rest(2)], rate_hz=50.0)
    table["thoracic_flexion_deg"] = 0.2 * table["trunk_inclination_deg"]
    _, reps = analyze_angles(table)
    assert reps["peak_thoracic_flexion_deg"].between(11, 13).all()
    _, reps = analyze_angles(table.drop(columns="thoracic_flexion_deg"))
    assert reps["peak_thoracic_flexion_deg"].isna().all()


def test_analyze_session_on_still_sensors_finds_nothing_and_reports_progress():
    stages = []
    result = analyze_session(make_samples(), progress=lambda stage, fraction: stages.append((stage, fraction)))
    assert result.sets.empty and result.reps.empty
    assert stages[0] == ("angles", 0.0) and stages[-1] == ("done", 1.0)
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["sets"] == [] and doc["limits"]["profile"] == "default"


def test_to_dict_has_the_documented_fields():
    from analysis.session import SessionAnalysis

    angles = build([rest(2), *[Rep(depth_deg=70, lumbar_share=0.6) for _ in range(3)], rest(2)], rate_hz=50.0)
    sets, reps = analyze_angles(angles)
    doc = SessionAnalysis(angles=angles, sets=sets, reps=reps, limits=DEFAULT_LIMITS, session_id="abc").to_dict()
    json.dumps(doc, allow_nan=False)
    (s,) = doc["sets"]
    assert {"index", "exercise", "start_s", "end_s", "reps"} <= set(s)
    rep = s["reps"][0]
    for key in (
        "index",
        "start_s",
        "end_s",
        "peak_lumbar_flexion_deg",
        "lockout_lumbar_angle_deg",
        "peak_trunk_inclination_deg",
        "lumbar_share",
        "peak_lateral_bend_deg",
        "flags",
    ):
        assert key in rep
    assert rep["flags"] == ["lumbar_flexion"] and np.isfinite(rep["peak_lumbar_flexion_deg"])


def test_analyze_session_on_simulated_samples_matches_the_truth():
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(
        sets=[
            SetSpec("romanian_deadlift", 5, "lumbar_flexion"),
            SetSpec("back_extension_45", 4, "lockout_hyperextension"),
        ],
        rate_hz=52.0,
        seed=11,
        rest_s=(20.0, 25.0),
    )
    sim = simulate_session(spec)
    result = analyze_session(sim.samples)
    truth = sim.truth["sets"]
    assert result.sets["rep_count"].tolist() == [s["rep_count"] for s in truth]
    assert result.sets["exercise"].tolist()[1] == "back_extension_45"
    assert result.reps["flags"].tolist() == [r["faults"] for s in truth for r in s["reps"]]
    true_peaks = np.array([r["peak_lumbar_flexion_deg"] for s in truth for r in s["reps"]])
    assert np.abs(result.reps["peak_lumbar_flexion_deg"].to_numpy() - true_peaks).max() < 3.0


@pytest.fixture(scope="module")
def deadlift_session():
    """A set of 5 deadlifts from the floor (the put-down is no rep), 50 Hz, with its truth."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    return simulate_session(SessionSpec(sets=[SetSpec("deadlift", 5, "none")], rate_hz=50.0, seed=3))


def _without(samples, sensor: str, start_s: float, end_s: float):
    """The samples with one sensor's rows between ``start_s`` and ``end_s`` removed: a dropout."""
    cut = (samples["sensor"] == sensor) & samples["time_s"].between(start_s, end_s)
    return samples[~cut].reset_index(drop=True)


def test_a_lumbar_gap_over_a_whole_rep_leaves_it_out_and_says_so(deadlift_session):
    true_reps = deadlift_session.truth["sets"][0]["reps"]
    rep3 = true_reps[2]
    result = analyze_session(_without(deadlift_session.samples, "lumbar", rep3["start_s"], rep3["end_s"]))
    (s,) = result.sets.to_dict("records")
    assert s["rep_count"] == 4 and s["unmeasured_rep_count"] == 1
    assert result.reps["index"].tolist() == [1, 2, 4, 5]
    assert len(s["notes"]) == 1 and s["notes"][0].startswith("rep 3 not measured: no lumbar sensor data")
    true_peaks = [r["peak_lumbar_flexion_deg"] for r in true_reps]
    measured = result.reps["peak_lumbar_flexion_deg"].to_numpy()
    assert np.abs(measured - np.delete(true_peaks, 2)).max() < 3.0
    assert np.isfinite(result.sets[["mean_peak_lumbar_flexion_deg", "flexion_trend_deg_per_rep"]].to_numpy()).all()
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_lumbar_gap_over_a_whole_set_keeps_the_set_without_figures(deadlift_session):
    truth = deadlift_session.truth["sets"][0]
    result = analyze_session(_without(deadlift_session.samples, "lumbar", truth["start_s"] - 1, truth["end_s"]))
    (s,) = result.sets.to_dict("records")
    assert s["rep_count"] == 0 and s["unmeasured_rep_count"] == 5 and result.reps.empty
    assert s["notes"][0].startswith("reps 1–5 not measured: no lumbar sensor data")
    assert np.isnan(s["mean_peak_lumbar_flexion_deg"])
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_thoracic_gap_over_a_whole_rep_keeps_the_set_whole_and_says_so(deadlift_session):
    rep3 = deadlift_session.truth["sets"][0]["reps"][2]
    result = analyze_session(_without(deadlift_session.samples, "thoracic", rep3["start_s"], rep3["end_s"]))
    # the trunk is not seen in the gap: the rep there is not counted, the reps either side stay one set
    (s,) = result.sets.to_dict("records")
    assert s["rep_count"] == 4 and s["exercise"] == "deadlift"
    assert len(s["notes"]) == 1 and s["notes"][0].startswith("no thoracic sensor data at")


def _cli(capsys, *args):
    from imuform.cli.main import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_whole_rep_gap_is_analysed_exported_and_reported(home, tmp_path, capsys, deadlift_session):
    from imuform.io_csv import write_samples_csv

    rep3 = deadlift_session.truth["sets"][0]["reps"][2]
    path = write_samples_csv(
        _without(deadlift_session.samples, "lumbar", rep3["start_s"], rep3["end_s"]), tmp_path / "samples.csv"
    )
    code, out, _ = _cli(capsys, "import", str(path))
    sid = out.strip().splitlines()[-1]
    code, out, err = _cli(capsys, "analyze", sid, "--json")
    assert code == 0, err
    (s,) = json.loads(out)["sets"]
    assert [r["index"] for r in s["reps"]] == [1, 2, 4, 5] and s["unmeasured_rep_count"] == 1
    code, out, err = _cli(capsys, "analyze", sid)
    assert code == 0 and "note: rep 3 not measured: no lumbar sensor data" in out
    code, out, err = _cli(capsys, "export", sid, "--out", str(tmp_path / "out"))
    assert code == 0 and err == ""
    sets_csv = (tmp_path / "out" / "sets.csv").read_text()
    assert "rep 3 not measured: no lumbar sensor data" in sets_csv
    assert (tmp_path / "out" / "reps.csv").read_text().count("\n") == 5  # header and 4 reps
    code, _, err = _cli(capsys, "report", sid, "--out", str(tmp_path / "report.html"))
    assert code == 0, err
    assert "Rep 3 not measured" in (tmp_path / "report.html").read_text()


def _time_ms(df):
    df["time_s"] *= 1000.0


def _time_zero(df):
    df["time_s"] = 0.0


def _stray_time(df):
    df.loc[499, "time_s"] = 1e7


def _two_thoracic_samples(df):
    df["sensor"] = np.where(df.index > df.index[df["sensor"] == "thoracic"][1], "drop", df["sensor"])


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_time_ms, r"sensor lumbar samples at 0.1 Hz, where an IMU samples at 5–2000 Hz: its times must be in s"),
        (_time_zero, r"the times of sensor lumbar do not advance \(all 0\)"),
        (_stray_time, r"sensor lumbar spans 2.78e\+03 h, more than 24 h"),
        (_two_thoracic_samples, r"sensor thoracic has 2 sample\(s\), fewer than 3"),
    ],
)
def test_a_stored_session_that_cannot_be_analysed_is_one_line_and_still_exported(home, tmp_path, capsys, edit, reason):
    """Sessions stored before import checked them (or by other tools): one clear line, never a traceback."""
    import re

    from imuform.store import Store

    samples = make_samples()
    edit(samples)
    sid = Store().import_samples(samples[samples["sensor"] != "drop"], name="unchecked")
    for command in (["analyze", sid], ["report", sid, "--out", str(tmp_path / "r.html")]):
        code, _, err = _cli(capsys, *command)
        assert code == 1 and err.strip().count("\n") == 0, err
        assert re.search(f"^imuform: error: cannot analyse session {sid}: {reason}", err.strip()), err
    code, out, err = _cli(capsys, "export", sid, "--out", str(tmp_path / "out"))
    assert code == 0 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["samples.csv", "session.json"]
    assert err.strip().startswith("imuform: exported without analysis (no angles.csv, reps.csv, sets.csv): cannot")


def _short_overlap(df):
    df.loc[df["sensor"] == "thoracic", "time_s"] += 4.0


def _lumbar_acc_zero(df):
    df.loc[df["sensor"] == "lumbar", ["acc_x", "acc_y", "acc_z"]] = 0.0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_short_overlap, "the session is too short to find standing neutral"),
        (_lumbar_acc_zero, r"sensor lumbar at .* s: the accelerometer reads no gravity there"),
    ],
)
def test_sessions_too_short_or_broken_to_calibrate_are_one_clear_error(edit, message):
    samples = make_samples()
    edit(samples)
    with pytest.raises(ValueError, match=message):
        analyze_session(samples)


@pytest.mark.filterwarnings("error")
def test_a_sensor_sampled_at_2_khz_is_analysed():
    # the clock check's upper rate bound holds with the float rounding of 0.5 ms steps
    assert analyze_session(make_samples(n=4000, rate_hz=2000.0)).sets.empty


def test_sets_are_shared_out_by_their_reps_in_runs_that_cover_them_all():
    from analysis.pipeline import _set_shares

    set_of = np.repeat(np.arange(1, 6), [3, 2, 6, 1, 8])  # 20 reps in 5 sets
    shares = _set_shares(set_of, 5, 2)
    assert [s for share in shares for s in share] == [1, 2, 3, 4, 5]
    assert [int(np.isin(set_of, list(share)).sum()) for share in shares] == [11, 9]
    assert _set_shares(np.array([1, 1, 2]), 2, 3) == [range(1, 2), range(2, 3)]  # never an empty share
