"""reps.csv and sets.csv are for people: plain cells, numbers rounded to their precision; samples.csv stays lossless."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from analysis import DEFAULT_LIMITS, FLAGS, analyze_angles
from analysis.display import CsvPrecision
from analysis.session import SessionAnalysis
from imuform.io_csv import read_samples_csv, write_samples_csv
from imuform.session_files import export_analysis
from tests.angle_synth import Rep, build, rest
from tests.conftest import make_samples


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    reps = [Rep(depth_deg=70, lumbar_share=0.6), Rep(depth_deg=70, lumbar_share=0.2, lockout_lumbar_deg=-15, top_s=1.0)]
    angles = build([rest(3), *reps, *reps, rest(3)], rate_hz=50.0)
    sets, rep_table = analyze_angles(angles)
    sets.at[0, "notes"] = ["rep 3 not measured: no lumbar sensor data"]
    analysis = SessionAnalysis(angles=angles, sets=sets, reps=rep_table, limits=DEFAULT_LIMITS)
    out = tmp_path_factory.mktemp("export")
    export_analysis(analysis, out)
    return analysis, out


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _decimals(cell: str) -> int:
    return len(cell.partition(".")[2])


@pytest.mark.parametrize("name", ["reps.csv", "sets.csv"])
def test_numbers_are_rounded_to_their_precision_without_signed_zero(exported, name):
    _, out = exported
    rows = _rows(out / name)
    precision = CsvPrecision()
    float_cells = 0
    for row in rows:
        for column, cell in row.items():
            if re.fullmatch(r"-?\d+\.\d+", cell):
                float_cells += 1
                assert _decimals(cell) <= precision.decimals(column), (column, cell)
            assert not re.fullmatch(r"-0(\.0+)?", cell), (column, cell)
    assert float_cells > 10


def test_sets_csv_has_plain_columns(exported):
    analysis, out = exported
    (row,) = _rows(out / "sets.csv")
    assert not any(c in cell for cell in row.values() for c in "{}[]"), row
    counts = analysis.sets.loc[0, "flag_counts"]
    assert counts  # the fixture has flagged reps
    for flag in FLAGS:
        assert int(row[f"flagged_{flag}_reps"]) == counts.get(flag, 0)
    assert row["notes"] == "rep 3 not measured: no lumbar sensor data."
    assert float(row["exercise_confidence"]) == pytest.approx(analysis.sets.loc[0, "exercise_confidence"], abs=5e-4)


def test_reps_csv_keeps_one_row_per_rep_with_its_flags(exported):
    analysis, out = exported
    rows = _rows(out / "reps.csv")
    assert len(rows) == len(analysis.reps)
    assert [r["flags"] for r in rows] == [";".join(f) for f in analysis.reps["flags"]]
    peaks = [float(r["peak_lumbar_flexion_deg"]) for r in rows]
    assert np.allclose(peaks, analysis.reps["peak_lumbar_flexion_deg"], atol=0.05)


def test_samples_csv_stays_lossless(tmp_path):
    samples = make_samples()  # noisy floats with no short decimal form
    back = read_samples_csv(write_samples_csv(samples, tmp_path / "samples.csv"))
    for column in ("time_s", "acc_x", "gyr_z"):
        assert np.array_equal(np.sort(back[column].to_numpy()), np.sort(samples[column].to_numpy()))
