"""The simulator's truth with virtual recordings: kept, exported on the session clock, compared by the demo."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from imuform.cli.demo import demo_spec
from imuform.cli.main import main
from imuform.simulator import SessionSpec, SetSpec, simulate_session
from imuform.store import Store
from imuform.truth_check import compare_with_truth, summarize
from imuform.virtual_truth import SIMULATION_EVENT, on_session_clock, spec_from_dict, spec_to_dict

pytestmark = [pytest.mark.ble, pytest.mark.timeout(120)]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_spec_survives_json():
    spec = SessionSpec(sets=[SetSpec("good_morning", 3, "overarching")], rate_hz=60.0, seed=5, rest_s=(20.0, 30.0))
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec


def test_truth_moves_onto_the_session_clock_instants_only():
    truth = {
        "duration_s": 50.0,
        "sets": [{"start_s": 30.0, "end_s": 40.0, "reps": [{"bottom_s": 33.0, "eccentric_s": 1.5}]}],
    }
    angles = pd.DataFrame({"time_s": [0.0, 0.5], "lumbar_flexion_deg": [1.0, 2.0]})
    moved, moved_angles = on_session_clock(truth, angles, 0.25)
    assert moved["sets"][0]["start_s"] == 29.75 and moved["sets"][0]["reps"][0]["bottom_s"] == 32.75
    assert moved["duration_s"] == 50.0 and moved["sets"][0]["reps"][0]["eccentric_s"] == 1.5
    assert moved["session_clock_start_s"] == 0.25 and truth["sets"][0]["start_s"] == 30.0
    assert moved_angles["time_s"].tolist() == [-0.25, 0.25] and angles["time_s"].tolist() == [0.0, 0.5]


def test_export_of_a_virtual_recording_writes_the_truth_on_the_session_clock(home, tmp_path, capsys):
    code, out, err = run(capsys, "record", "--virtual", "deadlift", "--sets", "1", "--reps", "2", "--seed", "3")
    assert code == 0, err
    session_id = out.strip().splitlines()[-1]
    with Store(home) as store:
        events = [e for e in store.session(session_id)["events"] if e["kind"] == SIMULATION_EVENT]
    assert len(events) == 1
    clock_start_s = events[0]["detail"]["clock_start_s"]
    assert clock_start_s < 0  # the simulated person begins once every sensor streams, after the session clock starts

    code, out, err = run(capsys, "export", session_id, "--out", str(tmp_path / "out"), "--no-analysis")
    assert code == 0, err
    assert {"truth.json", "truth_angles.csv"} <= {p.rsplit("/", 1)[-1] for p in out.split()}
    exported = json.loads((tmp_path / "out" / "truth.json").read_text())
    exported_angles = pd.read_csv(tmp_path / "out" / "truth_angles.csv")

    code, _, err = run(capsys, "simulate", "--exercise", "deadlift", "--sets", "1", "--reps", "2", "--seed", "3",
                       "--out", str(tmp_path / "sim"))  # fmt: skip
    assert code == 0, err
    simulated = json.loads((tmp_path / "sim" / "truth.json").read_text())
    simulated_angles = pd.read_csv(tmp_path / "sim" / "truth_angles.csv")
    # same schema, every instant moved by clock_start_s, durations and angles unchanged
    assert set(exported) == set(simulated) | {"session_clock_start_s"}
    assert exported["session_clock_start_s"] == pytest.approx(clock_start_s)
    for true_set, session_set in zip(simulated["sets"], exported["sets"], strict=True):
        assert session_set["start_s"] == pytest.approx(true_set["start_s"] - clock_start_s)
        for true_rep, session_rep in zip(true_set["reps"], session_set["reps"], strict=True):
            assert session_rep["bottom_s"] == pytest.approx(true_rep["bottom_s"] - clock_start_s)
            assert session_rep["duration_s"] == pytest.approx(true_rep["duration_s"])
    assert list(exported_angles.columns) == list(simulated_angles.columns)
    np.testing.assert_allclose(exported_angles["time_s"], simulated_angles["time_s"] - clock_start_s, atol=1e-8)
    np.testing.assert_allclose(exported_angles["lumbar_flexion_deg"], simulated_angles["lumbar_flexion_deg"])


def test_export_refuses_a_truth_the_simulator_no_longer_reproduces(home, tmp_path, capsys):
    code, out, err = run(capsys, "record", "--virtual", "deadlift", "--sets", "1", "--reps", "1")
    assert code == 0, err
    session_id = out.strip().splitlines()[-1]
    with Store(home) as store:
        store.conn.execute("UPDATE events SET detail = json_set(detail, '$.truth_sha256', 'stale')")
        store.conn.commit()
    code, out, err = run(capsys, "export", session_id, "--out", str(tmp_path / "out"), "--no-analysis")
    assert code == 0
    assert "exported without truth.json" in err and "no longer reproduces" in err
    assert not (tmp_path / "out" / "truth.json").exists() and (tmp_path / "out" / "samples.csv").exists()


def test_demo_simulates_the_same_data_on_every_run():
    first = simulate_session(demo_spec("deadlift", "lockout_hyperextension", 3, 60.0, 7))
    second = simulate_session(demo_spec("deadlift", "lockout_hyperextension", 3, 60.0, 7))
    pd.testing.assert_frame_equal(first.samples, second.samples)
    assert first.truth == second.truth


def test_demo_prints_each_rep_against_the_truth_and_a_verdict(home, tmp_path, capsys):
    code, out, err = run(capsys, "demo", "--reps", "3", "--report", str(tmp_path / "report.html"))
    assert code == 0, err
    assert "measured vs the simulator's truth, per rep" in out
    assert "errors against the truth (" in out and "peak flexion max" in out and "lockout angle max" in out
    assert "reps counted:" in out and "flags agree on" in out
    # a plain verdict either way
    assert ("within the targets" in out) != ("the demo misses its targets" in out)
    session_id = out.strip().splitlines()[-1]
    with Store(home) as store:
        assert any(e["kind"] == SIMULATION_EVENT for e in store.session(session_id)["events"])


def _truth_set(start_s: float, peaks: list[float], faults: list[list[str]]) -> dict:
    reps = [
        {"index": i + 1, "start_s": start_s + 4 * i, "end_s": start_s + 4 * i + 3.5, "peak_lumbar_flexion_deg": p,
         "lockout_lumbar_angle_deg": -2.0, "faults": f}
        for i, (p, f) in enumerate(zip(peaks, faults))
    ]  # fmt: skip
    return {"index": 1, "exercise": "deadlift", "start_s": start_s, "end_s": reps[-1]["end_s"], "rep_count": len(reps),
            "reps": reps}  # fmt: skip


def test_comparison_matches_reps_by_time_and_says_what_misses():
    truth = [_truth_set(10.0, [12.0, 25.0, 13.0], [[], ["lumbar_flexion"], []])]
    sets = pd.DataFrame({"index": [1], "exercise": ["deadlift"], "start_s": [10.1], "end_s": [21.0]})
    reps = pd.DataFrame(
        {
            "set_index": [1, 1],
            "start_s": [10.1, 14.2],  # the third rep was missed
            "end_s": [13.4, 17.4],
            "peak_lumbar_flexion_deg": [12.5, 21.0],
            "lockout_lumbar_angle_deg": [-2.1, -1.0],
            "flags": [[], ["lumbar_flexion"]],
        }
    )
    comparison = compare_with_truth(truth, sets, reps)
    assert [r.matched for r in comparison.reps] == [True, True, False]
    assert comparison.reps[1].peak_error_deg == pytest.approx(-4.0)
    assert comparison.flag_counts()["lumbar_flexion"].tp == 1
    summary = summarize(comparison, counted_reps=len(reps))
    assert summary.peak_error_max_deg == pytest.approx(4.0)
    misses = summary.misses()
    assert any("peak flexion off by up to 4.0°" in m for m in misses)
    assert any("2 reps counted of 3" in m for m in misses)
    assert any("flags differ on 1 of 3 reps" in m for m in misses)


def test_the_truths_angle_table_has_the_analysis_columns():
    # the simulator's truth may not import analysis (tests/test_layering.py), so it names the columns itself;
    # truth and measurement are compared column by column, so the two lists must stay one schema
    from analysis import session
    from imuform.simulator import truth

    assert truth.ANGLE_COLUMNS == session.ANGLE_COLUMNS and truth.THORACIC_COLUMN == session.THORACIC_COLUMN
