"""Writers of the vendor and app formats, for the importer tests: one placement's samples (as the simulator
makes them: time_s from 0, acc in m/s², gyr in deg/s) written as each app writes them, quirks included."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

#: Unix time the synthetic recordings start at (2024-12-09 10:37:39.631 UTC).
START_UNIX_S = 1733740659.631
G = 9.81
ACC = ["acc_x", "acc_y", "acc_z"]
GYR = ["gyr_x", "gyr_y", "gyr_z"]
POLAR_EPOCH_UNIX_S = 946684800.0


def num(v) -> str:
    """A number as its shortest exact text (numpy scalars as Python's)."""
    return repr(v.item() if isinstance(v, np.generic) else v)


def _rows(columns: list[np.ndarray], sep: str = ",", fmt=num) -> list[str]:
    return [sep.join(fmt(v) for v in row) for row in zip(*columns, strict=True)]


def _vectors(rows: pd.DataFrame, names: list[str], factor: float = 1.0) -> list[np.ndarray]:
    return [rows[n].to_numpy() * factor for n in names]


def movella_dot_csv(rows: pd.DataFrame, path: Path, tag: str, *, layout: int = 2023, rate_hz: float = 60.0) -> Path:
    """The DOT app's CSV with Acc and Gyr (a custom mode): the 2023 layout pads metadata with commas and
    separates values by ', '; the 2021 one has a © line. SampleTimeFine (µs) starts 5 s before it wraps."""
    t = rows["time_s"].to_numpy()
    stf = (np.int64(2**32 - 5_000_000) + np.round(t * 1e6).astype(np.int64)) % 2**32
    header = "PacketCounter,SampleTimeFine,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z,Status"
    if layout == 2023:
        pad = "," * 8
        meta = [
            "sep=,",
            f"DeviceTag:,{tag}{pad}",
            f"FirmwareVersion:,2.1.0{pad}",
            f"AppVersion:,2023.6.1{pad}",
            f"SyncStatus:,Synced{pad}",
            f"OutputRate:,{rate_hz:g}Hz{pad}",
            f"FilterProfile:,General{pad}",
            f"Measurement Mode:,Custom Mode 4{pad}",
            f"StartTime:,2024-12-09 11:37:39.631 +0100{pad}",
            f" 2024{pad}",
            "",
        ]
        sep = ", "
    else:
        meta = [
            "sep=,",
            f"DeviceTag:,{tag}",
            "FirmwareVersion:,2.0.0",
            "AppVersion:,2021.0",
            "SyncStatus:,Synced",
            f"OutputRate:,{rate_hz:g}Hz",
            "FilterProfile:,General",
            "Measurement Mode:,Custom Mode 4",
            "StartTime: ,2024-12-09_18:37:39_631 GMT+8",
            "© Xsens Technologies B. V. 2005-2021",
            "",
        ]
        sep = ","
    body = _rows(
        [np.arange(1, len(t) + 1), stf, *_vectors(rows, ACC), *_vectors(rows, GYR), np.zeros(len(t), int)], sep
    )
    path.write_text("\n".join([*meta, header, *body]) + "\n", encoding="utf-8")
    return path


def xsens_mt_txt(rows: pd.DataFrame, path: Path, rate_hz: float) -> Path:
    """MT Manager's text export: // header, tabs, a padded Counter that wraps, Gyr in rad/s, a trailing tab."""
    n = len(rows)
    counter = (65500 + np.arange(n)) % 65536
    names = ["Counter", "Acc_X", "Acc_Y", "Acc_Z", "Gyr_X", "Gyr_Y", "Gyr_Z"]
    lines = [
        "// Start Time: 0",
        f"// Sample rate: {rate_hz:.1f}Hz",
        "// Scenario: 4.9",
        "// Firmware Version: 2.5.1",
        "\t".join(names),
    ]
    gyr = _vectors(rows, GYR, math.radians(1.0))
    lines += [
        f"{c:5d}\t" + "\t".join(num(v) for v in vals) + "\t"
        for c, *vals in zip(counter, *_vectors(rows, ACC), *gyr, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def metabase_csvs(rows: pd.DataFrame, folder: Path, mac: str, rate_hz: float, *, shift_s: float = 0.0) -> list[Path]:
    """MetaBase's two files, in the older spelling (epoc, timestamp (-0800)), every two samples sharing the
    first one's time stamp (as in one BLE packet)."""
    t = START_UNIX_S + rows["time_s"].to_numpy()
    shared = t.copy()
    shared[1::2] = t[0::2][: len(shared[1::2])]
    ms = np.round(shared * 1000).astype(np.int64)
    out = []
    for stream, names, unit, factor, stamp in (
        ("Accelerometer", ACC, "g", 1 / G, ms),
        ("Gyroscope", GYR, "deg/s", 1.0, ms + int(round(shift_s * 1000))),
    ):
        path = folder / f"S_MetaWear_2024-12-09T02.37.39.631_{mac}_{stream}_{rate_hz:.3f}Hz_1.4.4.csv"
        clock = [datetime.fromtimestamp(m / 1000, UTC).strftime("%Y-%m-%dT%H.%M.%S.%f")[:-3] for m in stamp]
        header = f"epoc (ms),timestamp (-0800),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"
        elapsed = (stamp - stamp[0]) / 1000
        body = [
            f"{s},{c},{e:.3f}," + ",".join(num(v) for v in vals)
            for s, c, e, *vals in zip(stamp, clock, elapsed, *_vectors(rows, names, factor), strict=True)
        ]
        path.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
        out.append(path)
    return out


def polar_txts(rows: pd.DataFrame, folder: Path, name: str, *, clock_offset_s: float = 0.0) -> list[Path]:
    """Polar Sensor Logger's _ACC (mg) and _GYRO (dps) files, sensor time in ns since 2000-01-01."""
    ns = np.round((START_UNIX_S + clock_offset_s + rows["time_s"].to_numpy() - POLAR_EPOCH_UNIX_S) * 1e9).astype(
        np.int64
    )
    phone = [
        datetime.fromtimestamp(POLAR_EPOCH_UNIX_S + n / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] for n in ns
    ]
    out = []
    for suffix, names, unit, factor in (("ACC", ACC, "mg", 1000 / G), ("GYRO", GYR, "dps", 1.0)):
        path = folder / f"{name}_{suffix}.txt"
        header = f"Phone timestamp;sensor timestamp [ns];X [{unit}];Y [{unit}];Z [{unit}]"
        body = [
            f"{p};{n};" + ";".join(num(v) for v in vals)
            for p, n, *vals in zip(phone, ns, *_vectors(rows, names, factor), strict=True)
        ]
        path.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
        out.append(path)
    return out


def phyphox_folder(rows: pd.DataFrame, folder: Path) -> Path:
    """phyphox's one-file-per-sensor export as 'CSV (semicolon, decimal comma)', gyroscope in rad/s, with
    meta/time.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta").mkdir(exist_ok=True)
    t = rows["time_s"].to_numpy()

    def comma(v: float) -> str:
        return f"{v:.9E}".replace(".", ",")

    for name, title, names, unit, factor in (
        ("Accelerometer", "Acceleration", ACC, "m/s^2", 1.0),
        ("Gyroscope", "Gyroscope", GYR, "rad/s", math.radians(1.0)),
    ):
        header = ";".join(['"Time (s)"', *(f'"{title} {a} ({unit})"' for a in "xyz")])
        body = _rows([t, *_vectors(rows, names, factor)], ";", comma)
        (folder / f"{name}.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    (folder / "meta" / "time.csv").write_text(
        '"event";"experiment time";"system time";"system time text"\n'
        f'"START";0,000000000000000E0;{comma(START_UNIX_S)};"2024-12-09 10:37:39.631 UTC+00:00"\n',
        encoding="utf-8",
    )
    return folder


def sensor_logger_folder(rows: pd.DataFrame, folder: Path) -> Path:
    """Sensor Logger (iOS): Accelerometer.csv without gravity, Gravity.csv, Gyroscope.csv in rad/s; z,y,x."""
    folder.mkdir(parents=True, exist_ok=True)
    t = rows["time_s"].to_numpy()
    ns = np.round((START_UNIX_S + t) * 1e9).astype(np.int64)
    acc = rows[ACC].to_numpy()
    # gravity: the accelerometer's slow part, as the phone's filter would give it
    kernel = np.ones(25) / 25
    gravity = np.column_stack([np.convolve(np.pad(acc[:, k], 12, mode="edge"), kernel, mode="valid") for k in range(3)])
    gravity *= G / np.linalg.norm(gravity, axis=1, keepdims=True)
    for name, values in (
        ("Accelerometer", acc - gravity),
        ("Gravity", gravity),
        ("Gyroscope", rows[GYR].to_numpy() * math.radians(1.0)),
    ):
        body = _rows([ns, t, values[:, 2], values[:, 1], values[:, 0]])
        (folder / f"{name}.csv").write_text("\n".join(["time,seconds_elapsed,z,y,x", *body]) + "\n", encoding="utf-8")
    (folder / "Metadata.csv").write_text(
        "version,device name,recording time,platform\n1.0,iPhone,x,ios\n", encoding="utf-8"
    )
    return folder


def shimmer_csv(rows: pd.DataFrame, path: Path, device: str) -> Path:
    """Consensys' calibrated export: "sep=;", device id in every column, a units row, trailing ';', CRLF."""
    names = [
        "Timestamp_Unix",
        "Accel_LN_X",
        "Accel_LN_Y",
        "Accel_LN_Z",
        "Gyro_X",
        "Gyro_Y",
        "Gyro_Z",
        "Mag_X",
        "Mag_Y",
        "Mag_Z",
    ]
    units = ["ms", *["m/(s^2)"] * 3, *["deg/s"] * 3, *["local_flux"] * 3]
    ms = np.round((START_UNIX_S + rows["time_s"].to_numpy()) * 1000)
    mag = [np.full(len(rows), 0.5)] * 3
    body = [
        ";".join(num(v) for v in row) + ";"
        for row in zip(ms, *_vectors(rows, ACC), *_vectors(rows, GYR), *mag, strict=True)
    ]
    lines = ['"sep=;"', ";".join(f"{device}_{n}_CAL" for n in names) + ";", ";".join(units) + ";", *body]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def _packet(kind: int, fields: list[int]) -> bytes:
    body = bytes([0x55, kind]) + struct.pack("<4h", *fields)
    return body + bytes([sum(body) & 0xFF])


def witmotion_sd_log(rows: pd.DataFrame, path: Path, *, with_time: bool = True) -> Path:
    """A WT901SD log: per sample a 0x50 time packet (optional), 0x51 acceleration and 0x52 angular rate."""
    out = bytearray()
    acc = np.round(rows[ACC].to_numpy() / G / 16 * 32768).astype(int)
    gyr = np.round(rows[GYR].to_numpy() / 2000 * 32768).astype(int)
    for t, a, w in zip(rows["time_s"].to_numpy(), acc, gyr, strict=True):
        if with_time:
            when = datetime.fromtimestamp(START_UNIX_S + t, UTC)
            ms = int(round(when.microsecond / 1000))
            raw = bytes([when.year - 2000, when.month, when.day, when.hour, when.minute, when.second]) + struct.pack(
                "<H", ms
            )
            out += _packet(0x50, list(struct.unpack("<4h", raw)))
        out += _packet(0x51, [*a.tolist(), 2500])
        out += _packet(0x52, [*w.tolist(), 2500])
    path.write_bytes(bytes(out))
    return path


def witmotion_text(rows: pd.DataFrame, path: Path) -> Path:
    """WitMotion's PC software export, tab-separated, newer column names."""
    names = ["time", *(f"Acceleration {a}(g)" for a in "XYZ"), *(f"Angular velocity {a}(°/s)" for a in "XYZ")]
    stamps = [
        datetime.fromtimestamp(START_UNIX_S + t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for t in rows["time_s"]
    ]
    body = [
        f"{s}\t" + "\t".join(num(v) for v in vals)
        for s, *vals in zip(stamps, *_vectors(rows, ACC, 1 / G), *_vectors(rows, GYR), strict=True)
    ]
    path.write_text("\n".join(["\t".join(names), *body]) + "\n", encoding="utf-8")
    return path


def movella_dot_fusion_csv(stream, path: Path, tag: str, *, euler: bool = False, rate_hz: float = 60.0) -> Path:
    """The DOT app's CSV of a sensor fusion mode: the sensor's orientation (Quat or Euler) and its free
    acceleration ``R a − g``, no raw inertial data. ``stream`` is a simulator `SensorStream` (its true
    orientation stands for the DOT's fused one)."""
    from scipy.spatial.transform import Rotation

    t = stream.time_s
    rotation = Rotation.from_quat(stream.quat_world_sensor_wxyz, scalar_first=True)
    free = rotation.apply(stream.acc_mps2) - np.array([0.0, 0.0, G])
    stf = np.round(1e9 + t * 1e6).astype(np.int64)
    if euler:
        names, orientation = ["Euler_X", "Euler_Y", "Euler_Z"], rotation.as_euler("xyz", degrees=True)
    else:
        names, orientation = ["Quat_W", "Quat_X", "Quat_Y", "Quat_Z"], stream.quat_world_sensor_wxyz
    meta = [
        "sep=,",
        f"DeviceTag:,{tag}",
        "FirmwareVersion:,2.1.0",
        "AppVersion:,2023.6.1",
        "SyncStatus:,Synced",
        f"OutputRate:,{rate_hz:g}Hz",
        "FilterProfile:,General",
        f"Measurement Mode:,Sensor fusion Mode - Extended ({'Euler' if euler else 'Quaternion'})",
        "StartTime:,2024-12-09 11:37:39.631 +0100",
        " 2024",
        "",
    ]
    header = ",".join(["PacketCounter", "SampleTimeFine", *names, "FreeAcc_X", "FreeAcc_Y", "FreeAcc_Z", "Status"])
    columns = [np.arange(1, len(t) + 1), stf, *orientation.T, *free.T, np.zeros(len(t), int)]
    path.write_text("\n".join([*meta, header, *_rows(columns)]) + "\n", encoding="utf-8")
    return path
