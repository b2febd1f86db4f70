"""`imuform analyze` and `imuform profile` through the real CLI entry point and a temporary store."""

from __future__ import annotations

import json

import pytest

from analysis.calibration import RangeOfMotion
from imuform.cli.main import main
from imuform.store import Store
from tests.conftest import make_samples
from tests.test_calibration import simple_calibration


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_profile_shows_defaults_and_sets_limits(capsys, home):
    code, out, _ = run(capsys, "profile", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["profile"] == "default" and doc["limits"]["flexion_limit_deg"] == 35.0
    code, out, _ = run(capsys, "profile", "--profile", "flexion_intolerant", "--extension-limit", "7", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["limits"]["flexion_limit_deg"] == 12.0 and doc["limits"]["extension_limit_deg"] == 7.0
    code, out, _ = run(capsys, "profile", "--flexion-limit", "15")
    assert code == 0 and "15.0°" in out and "your own" in out
    assert Store(home).profile() == {
        "profile": "flexion_intolerant",
        "extension_limit_deg": 7.0,
        "flexion_limit_deg": 15.0,
    }


def test_profile_percent_limits_need_a_calibrated_range(capsys, home):
    code, _, err = run(capsys, "profile", "--flexion-limit-pct", "40")
    assert code == 1 and "calibrate" in err and err.count("\n") == 1
    with Store(home) as store:
        sid = store.create_session("calibration", source="calibration")
        store.save_calibration(sid, simple_calibration(RangeOfMotion(50.0, 20.0)))
    code, out, _ = run(capsys, "profile", "--flexion-limit-pct", "40", "--extension-limit-pct", "50", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["flexion_limit_pct"] == 40 and doc["limits"]["flexion_limit_deg"] == 20.0
    assert doc["limits"]["extension_limit_deg"] == 10.0


@pytest.mark.parametrize("args", [("--flexion-limit", "10", "--flexion-limit-pct", "20"), ("--flexion-limit", "-3")])
def test_profile_rejects_contradicting_or_negative_limits(capsys, home, args):
    code, _, err = run(capsys, "profile", *args)
    assert code in (1, 2) and err.strip()
    assert Store(home).profile() == {}


def test_analyze_unknown_session_is_one_line(capsys, home):
    code, _, err = run(capsys, "analyze", "beef")
    assert code == 1 and "no session matches" in err and err.count("\n") == 1


def test_analyze_still_session_json_and_tables(capsys, home):
    with Store(home) as store:
        sid = store.import_samples(make_samples(), name="still")
    code, out, _ = run(capsys, "analyze", sid[:6], "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["session_id"] == sid and doc["sets"] == [] and doc["limits"]["profile"] == "default"
    assert Store(home).analysis(sid) == doc  # the printed document is the cached one
    code, out, _ = run(capsys, "analyze", sid, "--profile", "extension_intolerant")
    assert code == 0 and "no sets found" in out and "extension_intolerant" in out


@pytest.fixture(scope="module")
def flexed_session():
    """A simulated set of 4 deadlifts with about 12° of lumbar flexion (clean by default limits)."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(sets=[SetSpec("deadlift", 4, "none")], rate_hz=50.0, seed=2, magnetometer=False)
    return simulate_session(spec)


def test_analyze_simulated_session(capsys, home, flexed_session, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one table row per rep, reasons unwrapped
    with Store(home) as store:
        sid = store.import_samples(flexed_session.samples, name="deadlifts")
    code, out, _ = run(capsys, "analyze", sid, "--json")
    assert code == 0
    doc = json.loads(out)
    (s,) = doc["sets"]
    assert s["index"] == 1 and s["exercise"] == "deadlift" and s["rep_count"] == 4 and len(s["reps"]) == 4
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
        assert key in s["reps"][0]
    true_peaks = [r["peak_lumbar_flexion_deg"] for r in flexed_session.truth["sets"][0]["reps"]]
    assert max(abs(r["peak_lumbar_flexion_deg"] - t) for r, t in zip(s["reps"], true_peaks)) < 3.0
    assert Store(home).analysis(sid)["sets"][0]["rep_count"] == 4
    code, out, _ = run(capsys, "analyze", sid, "--use-mag", "--json")  # no magnetometer here: 6D
    assert code == 0 and json.loads(out)["sets"][0]["rep_count"] == 4

    # a stricter personal limit flags the same reps
    run(capsys, "profile", "--flexion-limit", "5")
    code, out, _ = run(capsys, "analyze", sid[:4], "--json")
    assert all(r["flags"] == ["lumbar_flexion"] for r in json.loads(out)["sets"][0]["reps"])
    code, out, _ = run(capsys, "analyze", sid[:4])
    assert code == 0 and "Set 1: deadlift, 4 reps" in out and "past your 5° flexion limit" in out
