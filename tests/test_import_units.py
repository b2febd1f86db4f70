"""Import: units recognised from the data (refused, or converted with --units), and values that cannot be a
recording refused with one line and nothing stored."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analysis import analyze_session
from analysis.calibration import Calibration
from imuform.cli.main import main
from imuform.errors import InputError
from imuform.io_csv import write_samples_csv
from imuform.session_files import import_session
from imuform.store import Store
from imuform.units import DEFAULT_DETECTION, Units, gyro_tilt_ratio, parse_units
from tests.conftest import make_samples

GYR = ["gyr_x", "gyr_y", "gyr_z"]
ACC = ["acc_x", "acc_y", "acc_z"]


@pytest.fixture(scope="module")
def lifts():
    """Samples of a set of 5 deadlifts at 50 Hz (the gyroscope needs motion to be judged)."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(sets=[SetSpec("deadlift", 5, "none")], rate_hz=50.0, seed=3, ideal=True)
    return simulate_session(spec).samples


def _refused(store: Store, path, pattern: str) -> InputError:
    """Import ``path``; it must be refused with one line matching ``pattern`` that names the file, and
    store nothing."""
    with pytest.raises(InputError, match=pattern) as err:
        import_session(store, path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert store.sessions() == []
    return err.value


def _reps(samples) -> np.ndarray:
    reps = analyze_session(samples).reps
    return reps[["start_s", "peak_lumbar_flexion_deg", "peak_trunk_inclination_deg", "lumbar_share"]].to_numpy()


WRONG_UNITS = [
    # (quantity, columns, factor from samples.csv's unit to the file's, --units, message)
    ("gyr", GYR, math.pi / 180, "gyr=rad/s", r"column gyr_x: sensor lumbar reads (0.9\d|1) per rad/s of tilt .* looks like "
     r"rad/s, not deg/s; multiply gyr_x, gyr_y and gyr_z by 57.2958, or import with --units gyr=rad/s"),
    ("time", ["time_s"], 1e3, "time=ms", r"column time_s: sensor lumbar steps by a median of 20: a 0.05 Hz sample "
     r"rate if in s, which looks like ms, not s; multiply time_s by 0.001, or import with --units time=ms"),
    ("time", ["time_s"], 1e6, "time=us", r"column time_s: .* looks like µs, not s; .* --units time=us"),
    ("time", ["time_s"], 1e9, "time=ns", r"column time_s: .* looks like ns, not s; .* --units time=ns"),
    ("acc", ACC, 1 / 9.81, "acc=g", r"column acc_x: sensor lumbar reads a median acceleration of 1(.0\d)? m/s², which "
     r"looks like g, not m/s²; multiply acc_x, acc_y and acc_z by 9.81, or import with --units acc=g"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "columns", "factor", "units", "message"), WRONG_UNITS)
def test_a_wrong_unit_is_refused_and_converted_with_units(home, tmp_path, lifts, key, columns, factor, units, message):
    other = lifts.copy()
    other[columns] *= factor
    path = write_samples_csv(other, tmp_path / "samples.csv")
    store = Store()
    _refused(store, path, message)
    sid = import_session(store, path, units=parse_units(units))
    converted = store.samples(sid)
    np.testing.assert_allclose(converted[columns].to_numpy(), lifts[columns].to_numpy(), rtol=1e-12)
    # the same analysis as the file in samples.csv's units, down to float rounding of the conversion
    np.testing.assert_allclose(_reps(converted), _reps(lifts), rtol=1e-5, atol=1e-4)


def test_units_declared_for_a_file_already_in_samples_csv_units_are_refused(home, tmp_path, lifts):
    path = write_samples_csv(lifts, tmp_path / "samples.csv")
    with pytest.raises(InputError, match=r"looks like deg/s, not rad/s; the file is in deg/s already: leave gyr="):
        import_session(Store(), path, units=Units(gyr="rad/s"))


def test_the_cli_takes_units_and_refuses_bad_ones_as_usage_errors(home, tmp_path, lifts, capsys):
    rad = lifts.copy()
    rad[GYR] = np.radians(rad[GYR])
    path = write_samples_csv(rad, tmp_path / "samples.csv")
    assert main(["import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--units gyr=rad/s" in err
    assert main(["import", str(path), "--units", "gyr=rad/s", "--json"]) == 0
    sid = json.loads(capsys.readouterr().out)["session_id"]
    np.testing.assert_allclose(Store().samples(sid)[GYR].to_numpy(), lifts[GYR].to_numpy(), rtol=1e-12)
    assert main(["import", str(path), "--units", "gyr=furlongs"]) == 2
    assert "unknown unit 'furlongs' for gyr" in capsys.readouterr().err
    assert main(["import", str(path), "--units", "speed=fast"]) == 2


def test_gyro_tilt_ratio_does_not_depend_on_how_many_windows_are_judged_at_a_time(lifts):
    rows = lifts[lifts["sensor"] == "thoracic"]
    t, acc, gyr = rows["time_s"].to_numpy(), rows[ACC].to_numpy().T, rows[GYR].to_numpy().T
    whole = gyro_tilt_ratio(t, acc, gyr, DEFAULT_DETECTION, chunk_rows=len(t))
    for chunk_rows in (1, 97, 1000):
        assert gyro_tilt_ratio(t, acc, gyr, DEFAULT_DETECTION, chunk_rows=chunk_rows) == whole


def test_gyro_tilt_ratio_is_57_in_deg_per_s_1_in_rad_per_s_and_undecided_without_motion(lifts):
    rows = lifts[lifts["sensor"] == "thoracic"]
    t, acc, gyr = rows["time_s"].to_numpy(), rows[ACC].to_numpy().T, rows[GYR].to_numpy().T
    ratio_dps, tilting_s = gyro_tilt_ratio(t, acc, gyr, DEFAULT_DETECTION)
    assert 45 < ratio_dps < 60 and tilting_s > 5
    assert gyro_tilt_ratio(t, acc, np.radians(gyr), DEFAULT_DETECTION)[0] == pytest.approx(ratio_dps * np.pi / 180)
    still = make_samples()
    still = still[still["sensor"] == "lumbar"]
    assert np.isnan(
        gyro_tilt_ratio(
            still["time_s"].to_numpy(), still[ACC].to_numpy().T, still[GYR].to_numpy().T, DEFAULT_DETECTION
        )[0]
    )


def _edited(tmp_path, edit) -> object:
    """samples.csv of two still sensors (5 s at 100 Hz) after ``edit(table)``."""
    df = make_samples(mag=True)
    edit(df)
    return write_samples_csv(df, tmp_path / "samples.csv")


def _set(row: int, column: str, value: float):
    def edit(df):
        df.loc[row, column] = value

    return edit


BAD_VALUES = [
    # a repeated row (line 12 is row 10, the same time as row 9)
    (_set(10, "time_s", 0.09), r"line 12, column time_s: time 0.09 s repeats for sensor lumbar \(line 11 has it too\); delete"),
    (lambda df: df.__setitem__("time_s", 0.0), r"lines 2–501, column time_s: all 500 times of sensor lumbar are 0; "),
    (_set(499, "time_s", 1e7), r"line 501, column time_s: time jumps from 4.98 s to 1e\+07 s for sensor lumbar, a session of "
     r"2.78e\+03 h \(at most 24 h\); fix or delete that row"),
    (_set(0, "time_s", -1e6), r"line 2, column time_s: time jumps from -1e\+06 s to 0.01 s"),
    (_set(999, "time_s", 1e6), r"line 1001, column time_s: time jumps from 4.983 s to 1e\+06 s for sensor thoracic"),
    (_set(20, "acc_y", 1e308), r"line 22, column acc_y: 1e\+308 m/s² is beyond any accelerometer's range \(at most 490.5 m/s²\)"),
    (_set(30, "gyr_z", -6000.0), r"line 32, column gyr_z: -6000 deg/s is beyond any gyroscope's range \(at most 5000 deg/s\)"),
    (_set(40, "gyr_x", 1e308), r"line 42, column gyr_x: 1e\+308 deg/s is beyond"),
    (_set(50, "mag_x", -1e308), r"line 52, column mag_x: -1e\+308 µT is beyond any magnetometer's range"),
    (lambda df: df.__setitem__("time_s", df["time_s"] / 1000), r"column time_s: sensor lumbar steps by a median of 1e-05: a 1e\+05 "
     r"Hz sample rate if in s, which fits no unit imuform knows \(s, ms, µs, ns; an IMU samples at 5–2000 Hz\)"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "pattern"), BAD_VALUES)
def test_values_that_cannot_be_a_recording_are_refused_with_one_line_and_nothing_stored(home, tmp_path, edit, pattern):
    _refused(Store(), _edited(tmp_path, edit), pattern)


def test_a_rate_of_2_khz_is_still_an_imu(home, tmp_path):
    # 0.5 ms steps: the fastest research IMUs; the times must not be taken for ms
    path = _edited(tmp_path, lambda df: df.__setitem__("time_s", df["time_s"] / 20))
    assert import_session(Store(), path)


GOOD_SENSOR = {"R_sensor_segment": np.eye(3).tolist(), "up_sensor": [0.0, 0.0, 1.0], "axis_source": "assumed"}
GOOD_CALIBRATION = Calibration.from_dict(
    {
        "method": "guided",
        "windows": {"standing": [0.5, 4.5]},
        "sensors": {p: GOOD_SENSOR for p in ("lumbar", "thoracic")},
    }
).to_dict()


def calibration_with(lumbar: dict) -> dict:
    """`GOOD_CALIBRATION` with the lumbar entry replaced."""
    return {**GOOD_CALIBRATION, "sensors": {**GOOD_CALIBRATION["sensors"], "lumbar": {**GOOD_SENSOR, **lumbar}}}


BAD_SESSION_FIELDS = [
    ({"calibration": "garbage"}, r"field calibration: expected an object"),
    ({"calibration": calibration_with({"R_sensor_segment": [[1, 0], [0, 1]]})},
     r"field calibration.sensors.lumbar.R_sensor_segment: expected 3 rows of 3 numbers.*; fix it or remove \"calibration\""),
    ({"calibration": calibration_with({"R_sensor_segment": (2 * np.eye(3)).tolist()})},
     r"field calibration.sensors.lumbar.R_sensor_segment: not a rotation matrix"),
    ({"calibration": {**GOOD_CALIBRATION, "sensors": {"lumbar": GOOD_SENSOR}}},
     r"field calibration.sensors: no thoracic sensor, which the session has"),
    ({"calibration": {**GOOD_CALIBRATION, "range_of_motion": {"max_flexion_deg": "far"}}},
     r"field calibration.range_of_motion \(max_flexion_deg, max_extension_deg\): expected 2 finite numbers"),
    ({"started_at": "yesterday"}, r"field started_at: 'yesterday' is not an ISO 8601 time; write it as"),
    ({"started_at": 17}, r"field started_at: 17 is not an ISO 8601 time"),
    ({"events": {"kind": "x"}}, r"field events: dict, not a list"),
    ({"events": [{"time_s": "soon", "kind": "set_start"}]}, r"field events\[0\].time_s: 'soon' is not a time"),
    ({"events": [{"time_s": 1.0}]}, r"field events\[0\].kind: None is not a name"),
    ({"events": [{"time_s": 1.0, "kind": "cue", "detail": [1]}]}, r"field events\[0\].detail: \[1\] is not an object"),
    ({"gaps": [{"placement": "lumbar", "start_s": 2.0, "end_s": 1.0}]},
     r"field gaps\[0\]: start_s 2.0 and end_s 1.0 are not a time span; give two numbers in s, start_s ≤ end_s"),
    ({"gaps": [{"placement": "neck", "start_s": 1.0, "end_s": 2.0}]}, r"field gaps\[0\].placement: 'neck' is no placement"),
    ({"gaps": ["dropout"]}, r"field gaps\[0\]: 'dropout' is not an object"),
    ({"sensors": [{"placement": "lumbar", "rate_hz": "fast"}]}, r"field sensors\[0\].rate_hz: 'fast' is not a rate in Hz"),
    ({"name": ["a"]}, r"field name: \['a'\] is not a string"),
    ({"version": "1"}, r"field version: '1' is not a format version"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "pattern"), BAD_SESSION_FIELDS)
def test_bad_session_json_fields_are_refused_with_nothing_stored(home, tmp_path, fields, pattern):
    folder = tmp_path / "session"
    folder.mkdir()
    write_samples_csv(make_samples(), folder / "samples.csv")
    (folder / "session.json").write_text(json.dumps({"format": "imuform-session", "version": 1, **fields}))
    store = Store()
    with pytest.raises(InputError, match=pattern) as err:
        import_session(store, folder)
    assert "\n" not in str(err.value) and str(folder / "session.json") in str(err.value)
    assert store.sessions() == []


def test_good_session_json_fields_are_stored(home, tmp_path):
    folder = tmp_path / "session"
    folder.mkdir()
    write_samples_csv(make_samples(), folder / "samples.csv")
    doc = {
        "started_at": "2026-03-01T18:30:00+00:00",
        "gaps": [{"placement": "lumbar", "start_s": 1.0, "end_s": 1.5, "reason": "dropout"}],
        "events": [{"time_s": 0.5, "kind": "set_start", "detail": {"set": 1}}],
        "calibration": GOOD_CALIBRATION,
    }
    (folder / "session.json").write_text(json.dumps(doc))
    store = Store()
    info = store.session(import_session(store, folder))
    assert info["started_at"] == doc["started_at"] and info["gaps"] == doc["gaps"] and info["events"] == doc["events"]
    assert store.calibration(info["id"]).to_dict() == GOOD_CALIBRATION


def test_a_stored_infinite_rate_is_shown_and_exported_as_unknown(home, tmp_path, capsys):
    """Imports with repeated times used to store rate_hz = inf, which broke show --json and the exported JSON."""
    store = Store()
    sid = store.import_samples(make_samples(), name="old import")
    store.conn.execute("UPDATE sensors SET rate_hz = ? WHERE session_id = ?", (float("inf"), sid))
    assert main(["show", sid, "--json"]) == 0
    assert all(s["rate_hz"] is None for s in json.loads(capsys.readouterr().out)["sensors"])
    assert main(["export", sid, "--out", str(tmp_path / "out"), "--no-analysis"]) == 0
    doc = json.loads((tmp_path / "out" / "session.json").read_text(), parse_constant=pytest.fail)
    assert all(s["rate_hz"] is None for s in doc["sensors"])
