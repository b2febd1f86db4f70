"""Every real export in ../shared/exports: recognised, read with the rates, units and counts its header and
rows state, and imported (or refused with one line naming the missing stream and the file to add)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from imuform.errors import InputError
from imuform.importers.importing import import_sensors, read_inputs
from imuform.importers.registry import detect_format
from imuform.importers.streams import ReadOptions
from imuform.store import Store
from imuform.units import GRAVITY_MPS2

EXPORTS = Path(__file__).resolve().parents[1].parent / "shared" / "exports"
RAD_S_IN_DPS = math.degrees(1.0)

pytestmark = pytest.mark.skipif(not EXPORTS.is_dir(), reason="../shared/exports is absent (real vendor exports)")

METABASE = "metabase/A-bench-heavy2-rpe8_MetaWear_2019-01-11T16.10.08.270_C42732BE255C_{}.csv"
METABASE_ACC = METABASE.format("Accelerometer_12.500Hz_1.4.4")
METABASE_GYR = METABASE.format("Gyroscope_25.000Hz_1.4.4")


def data_rows(relative: str, header_line: int) -> int:
    """Non-blank lines after the header (1-based ``header_line``), counted from the file itself."""
    lines = (EXPORTS / relative).read_text(encoding="utf-8-sig", errors="replace").splitlines()
    return sum(1 for line in lines[header_line:] if line.strip(" ,;\t"))


def read_one(relative: str, **options):
    [entry] = read_inputs([("lumbar", EXPORTS / relative)], options=ReadOptions(**options))
    return entry.file


def streams_of(file) -> dict:
    return {s.kind: s for s in file.streams}


# (file, format, rate the file states or None, stream kinds)
EXPECTED_FORMATS = [
    (METABASE_ACC, "metabase", 12.5, {"acc"}),
    (METABASE_GYR, "metabase", 25.0, {"gyr"}),
    ("movella_dot_app/LF3_20241209_1137.csv", "movella-dot", 60.0, {"quat", "free_acc"}),
    ("movella_dot_app/LFemur_20210820_202113_831.csv", "movella-dot", 60.0, {"quat", "free_acc"}),
    ("movella_dot_sdk/logfile_D4-22-CD-00-4D-68.csv", "movella-dot", 60.0, {"quat", "free_acc"}),
    ("xsens_mt_manager/data_xsens.txt", "xsens-mt", 50.0, {"acc", "gyr", "quat"}),
    ("polar_sensor_logger/Polar_Sense_GYRO_first_lines.txt", "polar-sensor-logger", None, {"gyr"}),
    ("polar_sensor_logger/Polar_Sense_MAGN.txt", "polar-sensor-logger", None, {"mag"}),
    ("sensor_logger/Accelerometer.csv", "sensor-logger", None, {"acc"}),
    ("sensor_logger/Gyroscope.csv", "sensor-logger", None, {"gyr"}),
    ("phyphox/acceleration_with_g/Raw_Data.csv", "phyphox", None, {"acc"}),
    ("phyphox/multi_sensor/Accelerometer.csv", "phyphox", None, {"acc"}),
    ("phyphox/multi_sensor/Gyroscope.csv", "phyphox", None, {"gyr"}),
    ("shimmer_consensys/read_test_data.csv", "shimmer", None, {"acc", "gyr"}),
    ("witmotion_sd/example_data.TXT", "witmotion-sd", 10.0, {"acc", "gyr", "quat"}),
]


def test_every_shared_export_is_listed_here():
    listed = {e[0] for e in EXPECTED_FORMATS}
    files = {
        str(p.relative_to(EXPORTS))
        for p in EXPORTS.rglob("*")
        if p.is_file() and p.name != "README.md" and "meta" not in p.relative_to(EXPORTS).parts
    }
    assert files == listed


@pytest.mark.parametrize(("relative", "name", "rate_hz", "kinds"), EXPECTED_FORMATS, ids=lambda v: str(v)[:40])
def test_each_export_is_recognised_from_its_content_and_read(relative, name, rate_hz, kinds):
    assert detect_format(EXPORTS / relative).name == name
    file = read_one(relative, rate_hz=10.0)  # the rate only matters to the WitMotion log, which has no time
    assert file.format == name
    assert file.rate_hz == rate_hz
    assert file.kinds() == kinds
    for stream in file.streams:
        assert np.isfinite(stream.values).all() and (np.diff(stream.time_s) > 0).all()


def test_movella_dot_app_2021_and_2023_times_counts_and_orientation():
    new = read_one("movella_dot_app/LF3_20241209_1137.csv")
    quat = streams_of(new)["quat"]
    assert len(quat.time_s) == data_rows("movella_dot_app/LF3_20241209_1137.csv", 12)
    # SampleTimeFine in µs: 599385919 then 599402586
    assert quat.time_s[1] == pytest.approx(16.667e-3, abs=1e-9)
    # Euler 12.32289981842041, 14.672966003417969, 73.90444946289062 deg, as R = Rz Ry Rx
    from scipy.spatial.transform import Rotation

    expect = Rotation.from_euler("ZYX", [73.90444946289062, 14.672966003417969, 12.32289981842041], degrees=True)
    assert np.allclose(np.abs(quat.values[0] @ expect.as_quat(scalar_first=True)), 1.0)
    # StartTime 2024-12-09 11:37:39.631 +0100
    assert quat.unix_offset_s == pytest.approx(1733740659.631)
    assert new.address == "LF-3" and new.firmware == "2.1.0"
    old = read_one("movella_dot_app/LFemur_20210820_202113_831.csv")
    quat = streams_of(old)["quat"]
    assert streams_of(old)["free_acc"].values[0] == pytest.approx([0.016456, 0.019243, -0.046306])
    assert len(quat.time_s) == data_rows("movella_dot_app/LFemur_20210820_202113_831.csv", 12)
    assert quat.values[0] == pytest.approx([0.411830, -0.431467, -0.561427, -0.573619])
    assert quat.time_s[1] == pytest.approx(16.667e-3, abs=1e-9)
    # StartTime 2021-08-20_20:21:13_829 GMT+8
    assert quat.unix_offset_s == pytest.approx(1629462073.829)


def test_movella_dot_sdk_tick_is_found_from_the_data():
    file = read_one("movella_dot_sdk/logfile_D4-22-CD-00-4D-68.csv")
    quat = streams_of(file)["quat"]
    # 432 rows, of which the last 13 hold a time and no values; steps of ~167 ticks at 60 Hz: 100 µs ticks
    assert len(quat.time_s) == data_rows("movella_dot_sdk/logfile_D4-22-CD-00-4D-68.csv", 1) - 13 == 419
    assert quat.time_s[1] == pytest.approx((340713 - 340546) * 1e-4)
    assert any("13 rows with a time but no values" in n for n in file.notes)


def test_xsens_mt_manager_rate_from_header_and_gyro_in_rad_per_s():
    file = read_one("xsens_mt_manager/data_xsens.txt")
    s = streams_of(file)
    assert len(s["acc"].time_s) == data_rows("xsens_mt_manager/data_xsens.txt", 5) == 953
    assert s["acc"].time_s[1] - s["acc"].time_s[0] == pytest.approx(1 / 50.0)
    assert s["acc"].values[0] == pytest.approx([4.374240, 8.578849, -1.814515])
    assert s["gyr"].values[0] == pytest.approx(np.array([0.059158, -0.030138, 0.050860]) * RAD_S_IN_DPS)
    assert s["quat"].values[0] == pytest.approx([0.567189, 0.769786, 0.003829, 0.292765])
    assert "mag" not in s and any("Mag_X..Z left out" in n for n in file.notes)


def test_metabase_units_from_column_names_and_epoch_times():
    acc = streams_of(read_one(METABASE_ACC))["acc"]
    gyr = streams_of(read_one(METABASE_GYR))["gyr"]
    assert len(acc.time_s) == data_rows(METABASE_ACC, 1) == 206
    assert len(gyr.time_s) == data_rows(METABASE_GYR, 1) == 414
    assert acc.values[0] == pytest.approx(np.array([0.010, 0.964, -0.087]) * GRAVITY_MPS2)
    assert gyr.values[0] == pytest.approx([0.122, -5.488, -3.841])
    assert acc.unix_time_s()[0] == pytest.approx(1547219408.431)
    assert np.median(np.diff(acc.time_s)) == pytest.approx(0.08)


def test_polar_units_and_epoch_2000():
    gyr = streams_of(read_one("polar_sensor_logger/Polar_Sense_GYRO_first_lines.txt"))["gyr"]
    mag = streams_of(read_one("polar_sensor_logger/Polar_Sense_MAGN.txt"))["mag"]
    assert len(gyr.time_s) == data_rows("polar_sensor_logger/Polar_Sense_GYRO_first_lines.txt", 1) == 39
    assert len(mag.time_s) == data_rows("polar_sensor_logger/Polar_Sense_MAGN.txt", 1)
    assert gyr.values[0] == pytest.approx([0.35, 0.14, 1.19])
    assert mag.values[0] == pytest.approx([-124.95, -41.25, 24.75])  # gauss to µT
    # 704201974831222483 ns after 2000-01-01 UTC; the phone stamped it 2022-04-25 11:39:37
    assert gyr.unix_time_s()[0] == pytest.approx(946684800 + 704201974.831222483)


def test_sensor_logger_column_order_and_rad_per_s():
    acc = streams_of(read_one("sensor_logger/Accelerometer.csv"))["acc"]
    gyr = streams_of(read_one("sensor_logger/Gyroscope.csv"))["gyr"]
    # header time,seconds_elapsed,z,y,x
    assert acc.values[0] == pytest.approx([2.553125563177466, 0.5297403520546853, 1.3691425733476876])
    assert gyr.values[0] == pytest.approx(
        np.array([-0.539340615272522, -0.10497740656137466, -0.839608907699585]) * RAD_S_IN_DPS
    )
    assert acc.unix_time_s()[0] == pytest.approx(1760565906.248623)
    assert len(acc.time_s) == data_rows("sensor_logger/Accelerometer.csv", 1)


def test_phyphox_both_files_and_the_unix_start_from_meta():
    acc = streams_of(read_one("phyphox/multi_sensor/Accelerometer.csv"))["acc"]
    gyr = streams_of(read_one("phyphox/multi_sensor/Gyroscope.csv"))["gyr"]
    assert len(acc.time_s) == data_rows("phyphox/multi_sensor/Accelerometer.csv", 1)
    assert len(gyr.time_s) == data_rows("phyphox/multi_sensor/Gyroscope.csv", 1)
    assert gyr.values[0] == pytest.approx(np.array([-2.871690877e-2, -7.556324825e-3, -8.267381229e-3]) * RAD_S_IN_DPS)
    assert acc.unix_offset_s == pytest.approx(1.750383375135371e9)
    assert gyr.time_s[0] == pytest.approx(7.314666669e-3)


def test_shimmer_units_row_and_device_id():
    file = read_one("shimmer_consensys/read_test_data.csv")
    s = streams_of(file)
    assert len(s["acc"].time_s) == data_rows("shimmer_consensys/read_test_data.csv", 3) == 90
    assert s["acc"].values[0] == pytest.approx([-1.434782608695652, 10.0, 0.5543478260869565])
    assert s["gyr"].values[0] == pytest.approx([0.13740458015267176, 1.8778625954198473, -0.183206106870229])
    assert file.address == "Shimmer_40AC"
    assert any("local_flux" in n for n in file.notes)


def test_witmotion_sd_packets_decoded_with_the_given_rate():
    file = read_one("witmotion_sd/example_data.TXT", rate_hz=10.0)
    s = streams_of(file)
    assert len(s["acc"].time_s) == 2017 == (EXPORTS / "witmotion_sd/example_data.TXT").stat().st_size // 44
    # first packet 55 51 03 00 0b 00 4d 08: (3, 11, 2125) / 32768 × 16 g
    assert s["acc"].values[0] == pytest.approx(np.array([3, 11, 2125]) / 32768 * 16 * GRAVITY_MPS2)
    assert s["acc"].time_s[1] == pytest.approx(0.1)


def test_witmotion_sd_without_a_rate_is_refused_naming_the_option():
    with pytest.raises(InputError, match=r"example_data.TXT: a WitMotion SD log without time packets .* --rate-hz"):
        read_one("witmotion_sd/example_data.TXT")


IMPORTED = [
    # (files for lumbar, rate stored, samples stored)
    ([METABASE_ACC, METABASE_GYR], 25.0, None),
    (["xsens_mt_manager/data_xsens.txt"], 50.0, 953),
    (["phyphox/multi_sensor"], None, None),
    (["shimmer_consensys/read_test_data.csv"], None, 90),
    (["witmotion_sd/example_data.TXT"], 10.0, 2017),
]


@pytest.mark.parametrize(("files", "rate_hz", "count"), IMPORTED, ids=lambda v: str(v)[:40])
def test_complete_exports_import_as_sessions(tmp_path, files, rate_hz, count):
    store = Store(tmp_path)
    result = import_sensors(store, [("lumbar", EXPORTS / f) for f in files], options=ReadOptions(rate_hz=10.0))
    [sensor] = store.session(result.session_id)["sensors"]
    samples = store.samples(result.session_id)
    if rate_hz is not None:
        assert sensor["rate_hz"] == rate_hz
    if count is not None:
        assert len(samples) == count
    assert samples["time_s"].iloc[0] == 0.0


def test_metabase_streams_merge_on_the_gyroscope_time_base_within_the_accelerometer(tmp_path):
    store = Store(tmp_path)
    result = import_sensors(store, [("lumbar", EXPORTS / METABASE_ACC), ("lumbar", EXPORTS / METABASE_GYR)])
    samples = store.samples(result.session_id)
    gyr = streams_of(read_one(METABASE_GYR))["gyr"].unix_time_s()
    acc = streams_of(read_one(METABASE_ACC))["acc"].unix_time_s()
    inside = (gyr >= acc[0]) & (gyr <= acc[-1])
    assert len(samples) == inside.sum()
    assert store.session(result.session_id)["started_at"].startswith("2019-01-11T15:10:08.431")


REFUSED = [
    (["polar_sensor_logger/Polar_Sense_GYRO_first_lines.txt", "polar_sensor_logger/Polar_Sense_MAGN.txt"],
     r"lumbar has no accelerometer \(the file holds gyroscope and magnetometer\); add the recording's …_ACC.txt"),
    (["polar_sensor_logger/Polar_Sense_MAGN.txt"], r"lumbar has no accelerometer"),
    (["sensor_logger"], r"Accelerometer.csv: lumbar's accelerometer reads a median of 0.0\d+ g, so gravity has been taken out .* Gravity.csv"),
    (["phyphox/acceleration_with_g/Raw_Data.csv"], r"Raw_Data.csv: lumbar has no gyroscope \(the file holds accelerometer\); export phyphox's .*Gyroscope"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "pattern"), REFUSED, ids=lambda v: str(v)[:40])
def test_incomplete_exports_are_refused_with_one_line_and_nothing_stored(tmp_path, files, pattern):
    store = Store(tmp_path)
    with pytest.raises(InputError, match=pattern) as err:
        import_sensors(store, [("lumbar", EXPORTS / f) for f in files])
    assert "\n" not in str(err.value) and str(EXPORTS) in str(err.value)
    assert store.sessions() == []


DOT_FUSION = [
    ("movella_dot_app/LF3_20241209_1137.csv", 12, 60.0),
    ("movella_dot_app/LFemur_20210820_202113_831.csv", 12, 60.0),
    ("movella_dot_sdk/logfile_D4-22-CD-00-4D-68.csv", 1, 60.0),
]


@pytest.mark.parametrize(("relative", "header_line", "rate_hz"), DOT_FUSION, ids=lambda v: str(v)[:40])
def test_dot_sensor_fusion_exports_import_from_their_orientation(tmp_path, relative, header_line, rate_hz):
    store = Store(tmp_path)
    result = import_sensors(store, [("lumbar", EXPORTS / relative)])
    samples = store.samples(result.session_id)
    [sensor] = store.session(result.session_id)["sensors"]
    assert sensor["rate_hz"] == rate_hz and sensor["kind"] == "movella-dot"
    # every row with values is kept but those with no neighbouring orientation to take a rate from
    rows = data_rows(relative, header_line)
    assert rows - 20 <= len(samples) <= rows
    assert np.allclose(np.linalg.norm(samples[["quat_w", "quat_x", "quat_y", "quat_z"]], axis=1), 1.0, atol=1e-3)
    assert any("holds the sensor's orientation, not its raw inertial data" in n for n in result.notes)


def test_a_file_in_no_known_format_names_the_closest_and_what_differed():
    with pytest.raises(InputError, match=r"device.csv, line 1: not a format imuform knows; closest is .* but expected"):
        detect_format(EXPORTS / "phyphox/multi_sensor/meta/device.csv")
