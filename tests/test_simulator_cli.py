"""`imuform simulate`: files, listing, errors and --import."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.session import ANGLE_COLUMNS
from imuform.cli.main import main
from imuform.io_csv import read_samples_csv
from imuform.simulator import EXERCISES, FAULTS
from imuform.store import Store


def test_simulate_writes_samples_truth_and_angles(tmp_path, capsys):
    out = tmp_path / "sim"
    argv = [
        "simulate",
        "--exercise",
        "deadlift",
        "--reps",
        "4",
        "--sets",
        "2",
        "--fault",
        "lockout_hyperextension",
        "--rate-hz",
        "50",
        "--seed",
        "7",
        "--out",
        str(out),
        "--sensors",
        "lumbar,thoracic,upper_thoracic",
    ]
    assert main(argv) == 0
    samples = read_samples_csv(out / "samples.csv")
    assert set(samples["sensor"]) == {"lumbar", "thoracic", "upper_thoracic"}
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth["sets"]) == 2
    for s in truth["sets"]:
        assert s["exercise"] == "deadlift" and len(s["reps"]) == 4 and s["start_s"] < s["end_s"]
        for rep in s["reps"]:
            assert rep["faults"] in ([], ["lockout_hyperextension"])
            assert rep["start_s"] < rep["bottom_s"] < rep["end_s"]
            # the fault plan puts the lockout 3° short of the -10° limit or further: the truth follows it
            assert rep["lockout_lumbar_angle_deg"] < -5.0
            assert rep["lockout_lumbar_angle_deg"] == pytest.approx(rep["planned"]["lockout_lumbar_angle_deg"], abs=0.5)
    for p in ("lumbar", "thoracic", "upper_thoracic"):
        assert len(truth["sensor_params"][p]["misalignment_deg"]) == 3
    angles = pd.read_csv(out / "truth_angles.csv")
    assert list(angles.columns) == [*ANGLE_COLUMNS, "thoracic_flexion_deg"]
    assert "set 2: 4 × deadlift" in capsys.readouterr().out


def test_list_and_list_json(capsys):
    assert main(["simulate", "--list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["exercises"] == list(EXERCISES) and listing["faults"] == list(FAULTS)
    assert main(["simulate", "--list"]) == 0
    assert "romanian_deadlift" in capsys.readouterr().out


def test_bad_options_are_usage_errors(tmp_path, capsys):
    assert main(["simulate", "--exercise", "squat", "--fault", "rounded_back_extension", "--out", str(tmp_path)]) == 2
    assert "back_extension_45" in capsys.readouterr().err
    assert main(["simulate", "--rate-hz", "5", "--out", str(tmp_path)]) == 2
    assert "25.0<=x<=400.0" in capsys.readouterr().err
    assert main(["simulate", "--sensors", "lumbar", "--out", str(tmp_path)]) == 2
    assert "lumbar,thoracic" in capsys.readouterr().err
    assert main(["simulate", "--fault", "flexion_drift", "--reps", "2", "--out", str(tmp_path)]) == 2
    assert "at least 3" in capsys.readouterr().err


def test_import_stores_the_session_and_prints_its_id_last(tmp_path, capsys):
    home = tmp_path / "home"
    assert (
        main(
            [
                "--home",
                str(home),
                "simulate",
                "--sets",
                "1",
                "--reps",
                "3",
                "--rate-hz",
                "25",
                "--out",
                str(tmp_path / "s"),
                "--import",
            ]
        )
        == 0
    )
    session_id = capsys.readouterr().out.strip().splitlines()[-1]
    with Store(home) as store:
        info = store.session(session_id)
        assert info["source"] == "simulate"
        stored = store.samples(session_id)
    written = read_samples_csv(tmp_path / "s" / "samples.csv")
    assert len(stored) == len(written)
    assert stored["device_time_s"].notna().all()
