"""The BLE commands end to end on the virtual radio: scan, record, calibrate, live."""

from __future__ import annotations

import json

import pytest

from imuform.cli.main import main
from imuform.store import Store

pytestmark = [pytest.mark.ble, pytest.mark.timeout(60)]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_scan_virtual_lists_every_supported_kind_with_battery(home, capsys):
    code, out, _ = run(capsys, "scan", "--virtual", "--json")
    found = json.loads(out)
    assert code == 0
    assert {s["kind"] for s in found} == {"imuform", "movella-dot", "polar-pmd", "witmotion", "thingy52", "metawear"}
    assert all(s["rssi"] == -50 and s["address"].startswith("F0:00:00:00:00:") for s in found)
    assert {s["kind"] for s in found if s["battery_percent"] is not None} >= {"imuform", "movella-dot", "polar-pmd"}


def test_record_virtual_with_dropout_prints_the_report_and_the_session_id_last(home, capsys):
    code, out, err = run(
        capsys,
        "record",
        "--virtual",
        "good_morning",
        "--sets",
        "1",
        "--reps",
        "2",
        "--virtual-dropout",
        "2",
        "--virtual-kind",
        "movella-dot",
    )
    lines = out.strip().splitlines()
    assert code == 0, err
    with Store(home) as store:
        session = store.session(lines[-1])
    assert session["source"] == "virtual" and [s["placement"] for s in session["sensors"]] == ["lumbar", "thoracic"]
    assert [g["placement"] for g in session["gaps"]] == ["lumbar"]
    assert lines[0].startswith("lumbar: movella-dot,") and "1 reconnects" in lines[0]


def test_record_says_on_stderr_which_sensor_it_is_retiming_while_it_finishes(home, capsys):
    code, out, err = run(
        capsys, "record", "--virtual", "deadlift", "--sets", "1", "--reps", "1", "--virtual-kind", "witmotion"
    )
    assert code == 0, err
    assert [line.split(" ", 1)[0] for line in err.splitlines() if "re-timing" in line] == ["lumbar:", "thoracic:"]
    assert out.startswith("lumbar: witmotion,")


def test_record_json_has_the_documented_fields(home, capsys):
    code, out, _ = run(capsys, "record", "--virtual", "deadlift", "--sets", "1", "--reps", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and len(doc["session_id"]) == 12
    for sensor in doc["sensors"]:
        assert {"placement", "kind", "packets", "samples", "lost", "reconnects", "gaps_s"} <= set(sensor)
        assert sensor["samples"] > 1000 and sensor["lost"] == 0


def test_record_without_sensors_says_what_to_do(home, capsys):
    code, _, err = run(capsys, "record")
    assert code == 2 and "--sensor lumbar=ADDRESS" in err
    code, _, err = run(capsys, "record", "--sensor", "hip=AA:BB:CC:DD:EE:FF")
    assert code == 2 and "placement must be one of" in err


def test_calibrate_virtual_stores_neutral_axes_and_range(home, capsys):
    code, out, err = run(capsys, "calibrate", "--virtual", "--bends", "--range", "--json")
    assert code == 0, err
    doc = json.loads(out)
    rom = doc["calibration"]["range_of_motion"]
    assert 45 < rom["max_flexion_deg"] < 75 and 10 < rom["max_extension_deg"] < 40  # the simulated person: 59° / 23°
    with Store(home) as store:
        assert store.range_of_motion().to_dict() == rom
        assert store.calibration(doc["session_id"]).windows.bends is not None
        assert store.stored_calibration(doc["calibration_id"]).strap_on.addresses == {
            "lumbar": "F0:00:00:00:00:01",
            "thoracic": "F0:00:00:00:00:02",
        }


def test_live_virtual_counts_reps_and_cues_past_the_limit(home, capsys):
    code, out, err = run(capsys, "live", "--virtual", "romanian_deadlift", "--reps", "2", "--limit", "15", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["reps"] == 2 and len(doc["sets"]) == 1 and doc["limit_deg"] == 15
    assert len(doc["cues"]) >= 2 and all(c["angle_deg"] > 15 for c in doc["cues"])
    assert all(c["latency_s"] >= 0.0 for c in doc["cues"])  # measured per cue; its size is bench_ble's figure


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_kill_saves_the_recording_like_ctrl_c(home, signal_name):
    """`kill` or a closed terminal ends a recording as Ctrl-C does: saved, summarised, the id last, exit 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "IMUFORM_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "imuform", "record", "--virtual", "deadlift", "--realtime"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 45.0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with Store(home) as store:
                if any(s["samples"] > 200 for s in store.sessions()):
                    break
        proc.send_signal(getattr(signal, signal_name))
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    session_id = out.strip().splitlines()[-1]
    with Store(home) as store:
        (session,) = store.sessions()
        assert session["id"] == session_id and session["samples"] > 200
        assert any(e["kind"] == "clock" for e in store.session(session_id)["events"])  # finished, re-timed
