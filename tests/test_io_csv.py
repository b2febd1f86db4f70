"""samples.csv: lossless round trips and one clear error line for every kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.calibration import calibrate_standing
from imuform.errors import InputError
from imuform.io_csv import read_samples_csv, write_samples_csv
from imuform.session_files import export_session, import_session
from imuform.store import Store
from tests.conftest import make_samples


def test_export_import_export_is_lossless(home, tmp_path):
    store = Store()
    df = make_samples(mag=True, quat=True)
    sid = store.import_samples(df, name="orig", sensors={"lumbar": {"kind": "movella-dot", "rate_hz": 60.0}})
    with store.writer(sid) as w:
        w.add_gap(store.session(sid)["sensors"][0]["id"], 1.0, 2.0, "dropout")
        w.add_event(0.5, "set_start", {"set": 1})
    store.save_calibration(sid, calibrate_standing(df, 0.5, 4.5))
    export_session(store, sid, tmp_path / "a")
    sid2 = import_session(store, tmp_path / "a")
    export_session(store, sid2, tmp_path / "b")
    assert (tmp_path / "a" / "samples.csv").read_bytes() == (tmp_path / "b" / "samples.csv").read_bytes()
    a = json.loads((tmp_path / "a" / "session.json").read_text())
    b = json.loads((tmp_path / "b" / "session.json").read_text())
    for key in ("name", "sensors", "gaps", "events", "calibration", "started_at"):
        assert a[key] == b[key], key
    back = store.samples(sid2)
    np.testing.assert_array_equal(back.drop(columns="sensor").to_numpy(), df.drop(columns="sensor").to_numpy())


def _write(tmp_path, text: str):
    path = tmp_path / "samples.csv"
    path.write_text(text)
    return path


HEADER = "sensor,time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"
ROW = "lumbar,{t},0.1,0.2,9.8,1,2,3\n"


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("", r"samples\.csv, line 1: the file is empty"),
        (HEADER, r"line 2: the file has a header but no samples"),
        ("sensor,time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y\n", r"line 1: missing column\(s\) gyr_z"),
        (HEADER.replace("\n", ",mag_x\n"), r"line 1: mag columns are incomplete"),
        (HEADER.replace("\n", ",temp\n"), r"line 1: unknown column\(s\) temp"),
        (HEADER + ROW.format(t=0) + "lumbar,0.01,abc,0.2,9.8,1,2,3\n", r"line 3, column acc_x: 'abc' is not a number"),
        (HEADER + ROW.format(t=0) + "lumbar,0.01,,0.2,9.8,1,2,3\n", r"line 3, column acc_x: an empty cell"),
        (HEADER + ROW.format(t=0) + "lumbar,0.01,inf,0.2,9.8,1,2,3\n", r"line 3, column acc_x"),
        (HEADER + ROW.format(t=1) + ROW.format(t=0.5), r"line 3, column time_s: time goes backwards"),
        (HEADER + ROW.format(t=0) + "neck,0.01,0.1,0.2,9.8,1,2,3\n", r"line 3, column sensor: unknown sensor 'neck'"),
        (
            HEADER + "lumbar,0,0.01,0.02,0.99,1,2,3\nlumbar,0.01,0.01,0.02,0.99,1,2,3\n",
            r"looks like g, not m/s²; multiply",
        ),
        (HEADER + "lumbar,0,10,20,990,1,2,3\n", r"looks like mg"),
        (HEADER + ROW.format(t=0) + "lumbar,0.01,0.1\n", r"line 3, column acc_y: an empty cell"),
    ],
)
def test_bad_input_is_one_clear_line_and_stores_nothing(home, tmp_path, text, pattern):
    path = _write(tmp_path, text)
    store = Store()
    with pytest.raises(InputError, match=pattern) as err:
        import_session(store, path)
    assert "\n" not in str(err.value)
    assert str(path) in str(err.value)
    assert store.sessions() == []


def test_bad_session_json(home, tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    write_samples_csv(make_samples(), d / "samples.csv")
    (d / "session.json").write_text('{"name": }')
    with pytest.raises(InputError, match=r"session.json, line 1, column 10: invalid JSON"):
        import_session(Store(), d)
    (d / "session.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="not an imuform session.json"):
        import_session(Store(), d)


def test_directory_without_samples(home, tmp_path):
    with pytest.raises(InputError, match="holds no samples.csv"):
        import_session(Store(), tmp_path)


def test_rows_are_grouped_by_sensor_in_placement_order(tmp_path):
    df = make_samples(n=20, placements=("thoracic", "lumbar"))
    interleaved = df.iloc[np.argsort(np.r_[np.arange(20), np.arange(20)], kind="stable")]
    write_samples_csv(interleaved, tmp_path / "samples.csv")
    back = read_samples_csv(tmp_path / "samples.csv")
    assert list(back["sensor"].unique()) == ["lumbar", "thoracic"]
    assert (np.diff(back.loc[back.sensor == "lumbar", "time_s"]) > 0).all()


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=6),
    st.sampled_from(["lumbar", "thoracic", "", "nan", "1e400", '"', ",", "9.81"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=10), max_size=6), header=st.booleans())
def test_fuzzed_csv_is_read_or_refused_with_input_error(tmp_path, rows, header):
    text = (HEADER if header else "") + "".join(",".join(r) + "\n" for r in rows)
    path = tmp_path / "fuzz.csv"
    path.write_text(text)
    try:
        df = read_samples_csv(path)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert set(df["sensor"]) <= {"lumbar", "thoracic", "upper_thoracic", "thigh"}
        assert np.isfinite(df.drop(columns="sensor").to_numpy()).all()


def test_bytes_that_are_not_utf8_after_the_header_name_their_line(tmp_path):
    path = write_samples_csv(make_samples(n=50), tmp_path / "samples.csv")
    lines = path.read_bytes().split(b"\n")
    lines[30] = lines[30][:5] + b"\xff\xfe" + lines[30][5:]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"samples\.csv, line 31: not UTF-8 text"):
        read_samples_csv(path)
