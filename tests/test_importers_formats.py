"""Synthetic files in every format, quirks included: two sensors imported back to the samples they were
written from; refusals of incomplete, unknown and misaligned input with nothing stored; the CLI; and the
round trip through samples.csv."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from imuform.cli.main import main
from imuform.errors import InputError
from imuform.importers.importing import import_sensors
from imuform.importers.registry import formats
from imuform.importers.streams import ReadOptions
from imuform.importers.text import spread_repeated
from imuform.session_files import export_session, import_session
from imuform.store import Store
from tests import importer_writers as w

ACC, GYR = w.ACC, w.GYR


@pytest.fixture(scope="module")
def lifts() -> pd.DataFrame:
    """Two sensors through a set of 3 deadlifts at 50 Hz (motion, so units are judged)."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(sets=[SetSpec("deadlift", 3, "none")], rate_hz=50.0, seed=3, ideal=True)
    return simulate_session(spec).samples


def placement(lifts: pd.DataFrame, name: str) -> pd.DataFrame:
    return lifts[lifts["sensor"] == name].reset_index(drop=True)


def write_both(kind: str, lifts: pd.DataFrame, folder) -> list[tuple[str, object]]:
    """``(placement, path)`` pairs of both sensors written in format ``kind``."""
    specs = []
    for i, name in enumerate(("lumbar", "thoracic")):
        rows = placement(lifts, name)
        sub = folder / name
        sub.mkdir()
        if kind == "dot-2023":
            specs.append((name, w.movella_dot_csv(rows, sub / f"{name}.csv", name, layout=2023, rate_hz=50.0)))
        elif kind == "dot-2021":
            specs.append((name, w.movella_dot_csv(rows, sub / f"{name}.csv", name, layout=2021, rate_hz=50.0)))
        elif kind == "metabase":
            specs += [(name, p) for p in w.metabase_csvs(rows, sub, f"C42732BE255{i}", 50.0)]
        elif kind == "polar":
            specs += [(name, p) for p in w.polar_txts(rows, sub, f"Polar_Sense_{i}")]
        elif kind == "phyphox":
            specs.append((name, w.phyphox_folder(rows, sub)))
        elif kind == "sensor-logger":
            specs.append((name, w.sensor_logger_folder(rows, sub)))
        elif kind == "shimmer":
            specs.append((name, w.shimmer_csv(rows, sub / f"{name}.csv", f"Shimmer_40A{i}")))
        elif kind == "witmotion-sd":
            specs.append((name, w.witmotion_sd_log(rows, sub / "DATA.TXT")))
        elif kind == "witmotion-text":
            specs.append((name, w.witmotion_text(rows, sub / f"{name}.txt")))
    return specs


# (writer, acc tolerance m/s², gyr tolerance deg/s, time tolerance s)
FORMATS = [
    ("dot-2023", 1e-12, 1e-12, 1e-6),
    ("dot-2021", 1e-12, 1e-12, 1e-6),
    ("metabase", 1e-12, 1e-12, 1e-6),
    ("polar", 1e-12, 1e-12, 1e-6),
    ("phyphox", 1e-6, 1e-6, 1e-6),
    ("sensor-logger", 1e-12, 1e-12, 1e-6),
    ("shimmer", 1e-12, 1e-12, 1e-6),
    ("witmotion-sd", 16 / 32768 * w.G, 2000 / 32768, 1e-3),
    ("witmotion-text", 1e-12, 1e-12, 1e-6),
]


@pytest.mark.parametrize(("kind", "acc_tol", "gyr_tol", "time_tol"), FORMATS, ids=[f[0] for f in FORMATS])
def test_two_sensors_in_each_format_import_back_to_their_samples(tmp_path, lifts, kind, acc_tol, gyr_tol, time_tol):
    store = Store(tmp_path / "home")
    result = import_sensors(store, write_both(kind, lifts, tmp_path))
    got = store.samples(result.session_id)
    for name in ("lumbar", "thoracic"):
        want, have = placement(lifts, name), got[got["sensor"] == name].reset_index(drop=True)
        assert len(have) == len(want)
        assert np.allclose(have["time_s"], want["time_s"], atol=time_tol, rtol=0)
        assert np.allclose(have[ACC], want[ACC], atol=acc_tol * 1.0001 + 1e-9, rtol=1e-12)
        assert np.allclose(have[GYR], want[GYR], atol=gyr_tol * 1.0001 + 1e-9, rtol=1e-12)
    assert not result.notes or all("left out" in n for n in result.notes)


def test_synchronised_dots_date_the_session_by_their_start_time_not_the_import(tmp_path, lifts):
    store = Store(tmp_path / "home")
    result = import_sensors(store, write_both("dot-2023", lifts, tmp_path))
    assert result.merged.clock == "movella-dot-synced"
    started = datetime.fromisoformat(store.session(result.session_id)["started_at"])
    assert started == datetime(2024, 12, 9, 10, 37, 39, 631000, tzinfo=UTC)  # StartTime 11:37:39.631 +0100


def test_the_round_trip_through_samples_csv_leaves_an_import_unchanged(tmp_path, lifts):
    store = Store(tmp_path / "home")
    first = import_sensors(store, write_both("dot-2023", lifts, tmp_path))
    export_session(store, first.session_id, tmp_path / "out")
    again = import_session(store, tmp_path / "out")
    a, b = store.samples(first.session_id), store.samples(again)
    pd.testing.assert_frame_equal(
        a.drop(columns=["device_time_s"], errors="ignore"), b.drop(columns=["device_time_s"], errors="ignore")
    )


def test_sampletimefine_wraps_and_metabase_shared_stamps_are_spread():
    assert spread_repeated(np.array([0.0, 0.0, 0.04, 0.04, 0.08])).tolist() == pytest.approx(
        [0, 0.02, 0.04, 0.06, 0.08]
    )
    assert spread_repeated(np.array([0.0, 0.0, 0.0, 0.06, 0.09])).tolist() == pytest.approx([0, 0.02, 0.04, 0.06, 0.09])


def test_streams_at_different_rates_share_the_faster_time_base_without_bridging_gaps(tmp_path, lifts):
    rows = placement(lifts, "lumbar")
    acc_path, gyr_path = w.metabase_csvs(rows, tmp_path, "C42732BE2550", 50.0)
    # the accelerometer at half the rate, and 2 s of it lost in the middle
    lines = acc_path.read_text().splitlines()
    kept = [lines[0]] + [line for i, line in enumerate(lines[1:]) if i % 2 == 0 and not 1000 <= i < 1100]
    acc_path.write_text("\n".join(kept) + "\n")
    store = Store(tmp_path / "home")
    result = import_sensors(store, [("lumbar", acc_path), ("lumbar", gyr_path)])
    got = store.samples(result.session_id)
    t = got["time_s"].to_numpy()
    # gyroscope-rate rows (50 Hz), none inside the accelerometer's gap (20.0 s to 22.0 s after the start)
    assert np.median(np.diff(t)) == pytest.approx(0.02, abs=1e-6)
    assert not ((t > 20.0 + 0.01) & (t < 22.0 - 0.01)).any()
    assert any("left out: no accelerometer sample around them" in n for n in result.notes)


def _refused(store: Store, specs, pattern: str, **kwargs) -> None:
    with pytest.raises(InputError, match=pattern) as err:
        import_sensors(store, specs, **kwargs)
    assert "\n" not in str(err.value)
    assert store.sessions() == []


def test_one_stream_alone_is_refused_naming_the_file_to_add(tmp_path, lifts):
    store = Store(tmp_path / "home")
    acc, gyr = w.metabase_csvs(placement(lifts, "lumbar"), tmp_path, "C42732BE2550", 50.0)
    _refused(
        store, [("lumbar", acc)], r"Accelerometer_50.000Hz_1.4.4.csv: lumbar has no gyroscope .*_Gyroscope_…Hz_….csv"
    )
    _refused(
        store,
        [("lumbar", gyr)],
        r"Gyroscope_50.000Hz_1.4.4.csv: lumbar has no accelerometer .*_Accelerometer_…Hz_….csv",
    )
    acc, gyr = w.polar_txts(placement(lifts, "lumbar"), tmp_path, "P")
    _refused(store, [("lumbar", gyr)], r"P_GYRO.txt: lumbar has no accelerometer .*_ACC.txt")
    folder = w.sensor_logger_folder(placement(lifts, "lumbar"), tmp_path / "sl")
    (folder / "Gravity.csv").unlink()
    _refused(
        store,
        [("lumbar", folder)],
        r"Accelerometer.csv: lumbar's accelerometer reads a median of .* g, so gravity has been taken out.*Gravity.csv",
    )


def test_streams_or_sensors_that_do_not_overlap_are_refused(tmp_path, lifts):
    store = Store(tmp_path / "home")
    acc, gyr = w.metabase_csvs(placement(lifts, "lumbar"), tmp_path, "C42732BE2550", 50.0, shift_s=3600.0)
    _refused(
        store,
        [("lumbar", acc), ("lumbar", gyr)],
        r"lumbar's accelerometer and gyroscope do not overlap in time \(2024-12-09 10:37:39 UTC to .*\)",
    )
    one = w.polar_txts(placement(lifts, "lumbar"), tmp_path, "A")
    other = w.polar_txts(placement(lifts, "thoracic"), tmp_path, "B", clock_offset_s=600.0)
    _refused(
        store,
        [("lumbar", p) for p in one] + [("thoracic", p) for p in other],
        r"B_GYRO.txt: thoracic starts after lumbar ends",
    )


def test_files_on_unrelated_device_clocks_are_refused(tmp_path, lifts):
    store = Store(tmp_path / "home")
    a = w.xsens_mt_txt(placement(lifts, "lumbar"), tmp_path / "a.txt", 50.0)
    b = w.xsens_mt_txt(placement(lifts, "thoracic"), tmp_path / "b.txt", 50.0)
    _refused(
        store,
        [("lumbar", a), ("thoracic", b)],
        r"a.txt: its times are on the device's own clock, which .*b.txt does not share",
    )


def test_an_unknown_layout_names_the_closest_format_and_what_differed(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Phone timestamp;time [ms];X [mg];Y [mg];Z [mg]\n1;2;3;4;5\n")
    _refused(
        Store(tmp_path / "home"),
        [("lumbar", path)],
        r"export.csv, line 1: not a format imuform knows; closest is polar-sensor-logger .*, but expected a 'sensor timestamp \[ns\]' column",
    )


def test_a_header_unit_is_never_overridden(tmp_path, lifts):
    rows = placement(lifts, "lumbar")
    acc, gyr = w.polar_txts(rows, tmp_path, "P")
    acc.write_text(acc.read_text().replace("[mg]", "[kg]"))
    _refused(
        Store(tmp_path / "home"),
        [("lumbar", acc), ("lumbar", gyr)],
        r"P_ACC.txt, column X \[kg\]: a stream in 'kg' is none imuform imports",
    )


def test_the_gyroscope_cross_correlation_reports_a_clock_offset(tmp_path, lifts):
    one = w.polar_txts(placement(lifts, "lumbar"), tmp_path, "A")
    # the thoracic sensor's clock 0.3 s behind: its movements appear 0.3 s early
    other = w.polar_txts(placement(lifts, "thoracic"), tmp_path, "B", clock_offset_s=-0.3)
    result = import_sensors(Store(tmp_path / "home"), [("lumbar", p) for p in one] + [("thoracic", p) for p in other])
    [check] = result.merged.checks
    assert check.offset_s == pytest.approx(-0.3, abs=0.03) and check.correlation > 0.5
    assert any(re.search(r"thoracic's gyroscope moves -(29\d|30\d) ms", n) for n in result.notes)
    (tmp_path / "same").mkdir()
    aligned = import_sensors(Store(tmp_path / "home2"), write_both("polar", lifts, tmp_path / "same"))
    assert abs(aligned.merged.checks[0].offset_s) < 0.03 and not aligned.notes


def test_witmotion_without_time_packets_takes_the_rate_given(tmp_path, lifts):
    rows = placement(lifts, "lumbar")
    path = w.witmotion_sd_log(rows, tmp_path / "DATA.TXT", with_time=False)
    _refused(
        Store(tmp_path / "home"), [("lumbar", path)], r"DATA.TXT: a WitMotion SD log without time packets .*--rate-hz"
    )
    result = import_sensors(Store(tmp_path / "home"), [("lumbar", path)], options=ReadOptions(rate_hz=50.0))
    assert result.merged.sensors["lumbar"]["rate_hz"] == 50.0


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_formats_imports_with_sensor_and_refuses_with_one_line(home, tmp_path, lifts, capsys):
    code, out, _ = run(capsys, "import", "--format", "list")
    assert code == 0
    for fmt in formats():
        assert f"{fmt.name}: {fmt.title}" in out
    specs = write_both("metabase", lifts, tmp_path)
    args = [a for placement_, path in specs for a in ("--sensor", f"{placement_}={path}")]
    code, out, err = run(capsys, "import", *args, "--name", "bench")
    assert code == 0, err
    session_id = out.strip().splitlines()[-1]
    assert Store().session(session_id)["name"] == "bench"
    code, _, err = run(capsys, "import", "--sensor", f"lumbar={specs[0][1]}")
    assert code == 1 and err.count("\n") == 1 and "lumbar has no gyroscope" in err
    code, _, err = run(capsys, "import", str(specs[0][1]))
    assert code == 2 and "--sensor lumbar=" in err
    code, _, err = run(capsys, "import", str(specs[0][1]), "--sensor", f"lumbar={specs[0][1]}")
    assert code == 2
    code, _, err = run(capsys, "import", "--sensor", f"hip={specs[0][1]}")
    assert code == 2 and "placement must be one of" in err
    code, _, err = run(capsys, "import", "--sensor", f"lumbar={specs[0][1]}", "--format", "nope")
    assert code == 2 and "unknown format 'nope'" in err
    code, _, err = run(capsys, "import", "--sensor", f"lumbar={specs[0][1]}", "--units", "gyr=rad/s")
    assert code == 2 and "--units converts a samples.csv" in err
    assert len(Store().sessions()) == 1


def test_format_given_skips_recognition(tmp_path, lifts):
    specs = write_both("dot-2023", lifts, tmp_path)
    result = import_sensors(Store(tmp_path / "home"), specs, format_name="movella-dot")
    assert result.merged.sensors["lumbar"]["kind"] == "movella-dot"
    assert result.merged.clock == "movella-dot-synced"
    assert math.isclose(result.merged.sensors["lumbar"]["rate_hz"], 50.0)


@pytest.mark.parametrize("euler", [False, True], ids=["quat", "euler"])
def test_dot_sensor_fusion_files_analyse_from_the_sensors_orientation(tmp_path, euler):
    from analysis import analyze_session
    from imuform.ble.virtual_rig import simulate
    from imuform.truth_check import compare_with_truth, summarize

    sim = simulate("deadlift", sets=1, reps=5, rate_hz=60.0, seed=1, fault="lumbar_flexion")
    specs = [
        (name, w.movella_dot_fusion_csv(sim.streams[name], tmp_path / f"{name}.csv", name, euler=euler))
        for name in ("lumbar", "thoracic")
    ]
    store = Store(tmp_path / "home")
    result = import_sensors(store, specs)
    samples = store.samples(result.session_id)
    # the orientations are stored as the files give them
    stored = samples[samples["sensor"] == "lumbar"][["quat_w", "quat_x", "quat_y", "quat_z"]].to_numpy()
    truth = sim.streams["lumbar"].quat_world_sensor_wxyz[: len(stored)]
    assert np.abs(np.einsum("ij,ij->i", stored, truth)).min() > 1 - 1e-9
    analysis = analyze_session(samples)
    summary = summarize(compare_with_truth(sim.truth["sets"], analysis.sets, analysis.reps), len(analysis.reps))
    # measured: peak 0.04°, lockout 0.11° (docs/importers.md)
    assert summary.counted_reps == summary.true_reps == 5
    assert summary.peak_error_max_deg < 1.0 and summary.lockout_error_max_deg < 1.0
    assert summary.flags_agreeing == 5


def test_xsens_counter_wrap_rad_per_s_and_rotation_matrix(tmp_path, lifts):
    from scipy.spatial.transform import Rotation

    rows = placement(lifts, "lumbar")
    path = w.xsens_mt_txt(rows, tmp_path / "MT_012000_000.txt", 50.0)
    # add an orientation as MT Manager writes it: Mat[row][column] of R_world_sensor
    rotation = Rotation.from_euler("xyz", [10.0, -20.0, 30.0], degrees=True)
    matrix = rotation.as_matrix()
    names = [f"Mat[{i}][{j}]" for i in (1, 2, 3) for j in (1, 2, 3)]
    cells = "\t".join(repr(float(matrix[i - 1, j - 1])) for i in (1, 2, 3) for j in (1, 2, 3))
    lines = path.read_text().splitlines()
    lines[4] += "\t" + "\t".join(names)
    lines[5:] = [line + cells + "\t" for line in lines[5:]]
    path.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "home")
    got = store.samples(import_sensors(store, [("lumbar", path)]).session_id)
    assert len(got) == len(rows)  # the counter wrapped from 65535 to 0 after 36 samples
    assert np.allclose(got["time_s"], rows["time_s"], atol=1e-9)
    assert np.allclose(got[GYR], rows[GYR], atol=1e-9)
    quat = got[["quat_w", "quat_x", "quat_y", "quat_z"]].to_numpy()
    assert np.allclose(np.abs(quat @ rotation.as_quat(scalar_first=True)), 1.0)
