"""`imuform calibrations` and `--calibration`: a virtual calibration applies to the next virtual recording of
the same person and strap-on, is set aside for another person's, never reaches imports unless named, and can
be deleted."""

from __future__ import annotations

import json

from imuform.cli.main import main
from imuform.io_csv import write_samples_csv
from imuform.session_files import export_session
from imuform.store import Store
from tests.conftest import make_samples
from tests.test_calibration import simple_calibration


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def analyze(capsys, session: str, *args: str) -> dict:
    code, out, err = run(capsys, "analyze", session, "--json", *args)
    assert code == 0, err
    return json.loads(out)


def record(capsys, seed: int) -> str:
    code, out, err = run(capsys, "record", "--virtual", "deadlift", "--sets", "1", "--reps", "2", "--seed", str(seed))
    assert code == 0, err
    return out.strip().splitlines()[-1]


def test_a_virtual_calibration_belongs_to_its_strap_on(home, capsys, tmp_path):
    code, out, err = run(capsys, "calibrate", "--virtual", "--bends", "--json")
    assert code == 0, err
    calibrated = json.loads(out)
    cal_id, cal_session = calibrated["calibration_id"], calibrated["session_id"]
    later = record(capsys, seed=0)  # the same simulated person, strapped on the same way
    other = record(capsys, seed=1)  # another person (or strap-on) on the same virtual sensors

    doc = analyze(capsys, later)
    assert doc["calibration_source"]["id"] == cal_id and doc["calibration_source"]["session_id"] == cal_session
    assert "same sensors" in doc["calibration_source"]["reason"] and doc["notes"] == []
    assert doc["calibration"]["method"] == "guided"

    # another strap-on: the check sets the calibration aside, says so in one line, and analyses as uncalibrated
    doc = analyze(capsys, other)
    assert doc["calibration_source"]["id"] is None and doc["calibration"]["method"] == "auto"
    assert len(doc["notes"]) == 1 and "does not fit this session's own standing" in doc["notes"][0]
    assert doc["sets"] == analyze(capsys, other, "--calibration", "none")["sets"]
    code, out, _ = run(capsys, "analyze", other)
    assert code == 0 and "does not fit it (see notes)" in out and out.count("note: ") == 1

    # an import takes a stored calibration only when named
    code, _, err = run(capsys, "export", later, "--out", str(tmp_path / "later"), "--no-analysis")
    assert code == 0, err
    code, out, err = run(capsys, "import", str(tmp_path / "later"))
    assert code == 0, err
    imported = out.strip().splitlines()[-1]
    doc = analyze(capsys, imported)
    assert doc["calibration_source"]["id"] is None and "imported session" in doc["calibration_source"]["reason"]
    doc = analyze(capsys, imported, "--calibration", str(cal_id))
    assert (
        doc["calibration_source"]["id"] == cal_id and f"--calibration {cal_id}" in doc["calibration_source"]["reason"]
    )

    code, out, err = run(capsys, "calibrations", "--json")
    assert code == 0, err
    (listed,) = json.loads(out)
    assert listed["id"] == cal_id and listed["session_id"] == cal_session
    assert listed["sensors"] == {"lumbar": "F0:00:00:00:00:01", "thoracic": "F0:00:00:00:00:02"}
    assert listed["measured"] == ["neutral", "axes from bends (lumbar, thoracic)"]
    assert set(listed["applies_to"]) == {cal_session, later, other}  # by the rule; the check comes at analysis
    code, out, _ = run(capsys, "calibrations")
    assert code == 0 and cal_session in out and "axes from bends" in out

    code, out, err = run(capsys, "calibrations", "delete", str(cal_id), "--yes")
    assert code == 0 and f"deleted calibration #{cal_id}" in out
    doc = analyze(capsys, later)
    assert (
        doc["calibration_source"]["id"] is None
        and "no calibration of these sensors" in doc["calibration_source"]["reason"]
    )
    code, out, _ = run(capsys, "calibrations", "--json")
    assert json.loads(out) == []


def test_calibration_choices_are_checked(home, capsys, tmp_path):
    code, _, err = run(capsys, "analyze", "beef", "--calibration", "sometimes")
    assert code == 2 and "give auto, none or a calibration id" in err
    code, _, err = run(capsys, "calibrations", "delete", "7", "--yes")
    assert code == 1 and err.count("\n") == 1 and "no calibration #7" in err
    write_samples_csv(make_samples(), tmp_path / "samples.csv")
    code, out, err = run(capsys, "import", str(tmp_path / "samples.csv"))
    assert code == 0, err
    session = out.strip().splitlines()[-1]
    for command in ("analyze", "report", "export"):
        extra = {"report": ("--out", str(tmp_path / "r.html")), "export": ("--out", str(tmp_path / "x"))}
        code, _, err = run(capsys, command, session, "--calibration", "#7", *extra.get(command, ()))
        assert code == 1 and err.count("\n") == 1 and "no calibration #7" in err, command


def test_an_import_with_a_damaged_calibration_is_refused_whole(home, capsys, tmp_path):
    with Store(home) as store:
        session = store.import_samples(make_samples(), name="calibrated")
        store.save_calibration(session, simple_calibration())
        export_session(store, session, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "session.json").read_text())
    doc["calibration"]["sensors"]["lumbar"]["up_sensor"] = [0.0, 0.0, 3.0]
    (tmp_path / "out" / "session.json").write_text(json.dumps(doc))
    code, _, err = run(capsys, "import", str(tmp_path / "out"))
    assert code == 1 and err.count("\n") == 1
    assert (
        "session.json, field calibration.sensors.lumbar.up_sensor: not a unit vector" in err
        and 'remove "calibration"' in err
    )
    with Store(home) as store:
        assert len(store.sessions()) == 1  # nothing stored
