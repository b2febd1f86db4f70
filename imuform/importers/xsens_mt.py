"""Xsens MT Manager (MT Software) text exports of MTi sensors.

``//`` header lines (``// Sample rate: 50.0Hz``, start time, firmware), then a tab-separated table with a
space-padded ``Counter`` or ``PacketCounter`` (16 bits, wraps) and a trailing tab. ``Acc_*`` in m/s²,
``Gyr_*`` in rad/s (MT Manager's unit), ``Mag_*`` in arbitrary units normalised to the Earth field (not
imported), orientation as ``Quat_w..z``, a rotation matrix ``Mat[i][j]`` or ``Roll, Pitch, Yaw`` (deg).
Times come from ``SampleTimeFine`` (10 kHz) when exported, else from the counter and the header's rate.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imuform.errors import InputError
from imuform.importers.orientation import quat_from_euler_xyz_deg, quat_from_matrices
from imuform.importers.registry import Format, Match, marks
from imuform.importers.streams import DEFAULT_OPTIONS, ReadOptions, SensorFile, Stream
from imuform.importers.text import Head, find_columns, read_table, read_text, unit_factor, unwrap_counter, vectors

NAME = "xsens-mt"
#: SampleTimeFine of MTi devices counts at 10 kHz.
MTI_TICK_S = 1e-4
RATE_LINE = re.compile(r"//\s*Sample rate:\s*([\d.]+)\s*Hz", re.IGNORECASE)


def _header_index(lines) -> int | None:
    for i, line in enumerate(lines):
        if not line.startswith("//") and "\t" in line:
            return i if any(c in line for c in ("Acc_X", "Gyr_X", "Quat_w", "Quat_q0", "Mat[1][1]")) else None
    return None


def detect(head: Head) -> Match:
    return marks(
        head,
        [
            ("'//' header lines", lambda h: bool(h.lines) and h.lines[0].startswith("//")),
            ("a tab-separated header with Acc_X, Gyr_X or Quat_w", lambda h: _header_index(h.lines) is not None),
        ],
    )


def read(path: Path, options: ReadOptions = DEFAULT_OPTIONS) -> SensorFile:
    text = read_text(path)
    lines = text.splitlines()
    header = _header_index(lines)
    if header is None:
        raise InputError(f"{path}: no tab-separated header with Acc_X or Gyr_X after the // lines; export again")
    comments = lines[:header]
    rate = next((float(m.group(1)) for line in comments if (m := RATE_LINE.match(line))), None)
    firmware = next((line.split(":", 1)[1].strip() for line in comments if "Firmware Version" in line), None)
    table = read_table(path, text, header, "\t")
    columns = table.columns
    if fine := find_columns(columns, ["SampleTimeFine"]):
        ticks = unwrap_counter(table.integers(fine[0]), 2**32)
        time_s = ticks * MTI_TICK_S
    elif counter := (find_columns(columns, ["PacketCounter"]) or find_columns(columns, ["Counter"])):
        if rate is None:
            raise InputError(
                f"{path}, line 1: no '// Sample rate: …Hz' line and no SampleTimeFine column; export with "
                f"the sample rate header or with SampleTimeFine"
            )
        counts = unwrap_counter(table.integers(counter[0]), 2**16)
        time_s = counts / rate
    else:
        raise InputError(
            f"{path}, line {header + 1}: no Counter, PacketCounter or SampleTimeFine column; export with one"
        )
    # devices recorded together (one MT Manager recording, one start time) share the counter
    start = next((line.split(":", 1)[1].strip() for line in comments if "Start Time" in line), None)
    clock = f"{NAME}:start {start}" if start not in (None, "", "0") else f"{NAME}:{path.resolve()}"
    streams = []
    notes = []

    def add(kind: str, values: np.ndarray) -> None:
        streams.append(Stream(kind, time_s, values, path, table.lines, clock))

    if acc := find_columns(columns, ["Acc_X", "Acc_Y", "Acc_Z"]):
        add("acc", vectors(table, acc))
    if gyr := find_columns(columns, ["Gyr_X", "Gyr_Y", "Gyr_Z"]):
        add("gyr", vectors(table, gyr, unit_factor(path, gyr[0], "gyr", "rad/s")))
    if quat := (
        find_columns(columns, ["Quat_w", "Quat_x", "Quat_y", "Quat_z"])
        or find_columns(columns, ["Quat_q0", "Quat_q1", "Quat_q2", "Quat_q3"])
    ):
        add("quat", vectors(table, quat))
    elif matrix := find_columns(columns, [f"Mat[{i}][{j}]" for i in (1, 2, 3) for j in (1, 2, 3)]):
        add("quat", quat_from_matrices(vectors(table, matrix).reshape(-1, 3, 3)))
    elif euler := find_columns(columns, ["Roll", "Pitch", "Yaw"]):
        add("quat", quat_from_euler_xyz_deg(vectors(table, euler)))
    if find_columns(columns, ["Mag_X", "Mag_Y", "Mag_Z"]):
        notes.append(f"{path.name}: Mag_X..Z left out (arbitrary units normalised to the Earth field, not µT)")
    hint = "export Acc_X..Z and Gyr_X..Z from MT Manager (Exporters: Calibrated data)"
    return SensorFile(
        NAME,
        tuple(streams),
        rate_hz=rate,
        model="Xsens MTi",
        firmware=firmware,
        notes=tuple(notes),
        missing_hint={"acc": hint, "gyr": hint},
    )


FORMAT = Format(
    name=NAME,
    title="Xsens MT Manager text export (MTi)",
    units="rate from '// Sample rate', Acc m/s², Gyr rad/s, Quat, Mat[i][j] or Roll/Pitch/Yaw deg; Mag not imported",
    needs="one file per sensor with Acc_* and Gyr_*, and a Sample rate header or SampleTimeFine",
    example="imuform import --sensor lumbar=MT_0120_000.txt --sensor thoracic=MT_0121_000.txt",
    detect=detect,
    read=read,
)
