"""`imuform analyze`'s rep table: fits 80 columns, never splits a number, leaves out empty columns."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from analysis import DEFAULT_LIMITS, analyze_angles
from analysis.session import SessionAnalysis
from imuform.cli.analyze import print_analysis
from tests.angle_synth import Rep, build, rest

NUMBER = re.compile(r"[+−-]?\d+(?:\.\d+)?")


@pytest.fixture(scope="module")
def analysis() -> SessionAnalysis:
    reps = [
        Rep(depth_deg=70, lumbar_share=0.6),
        Rep(depth_deg=70, lumbar_share=0.2, lockout_lumbar_deg=-15, top_s=1.0),
        Rep(depth_deg=60, bend_deg=12),
        Rep(depth_deg=70, lumbar_share=0.6, twist_deg=-14, lockout_lumbar_deg=-15, top_s=1.0),
    ]
    angles = build([rest(3), *reps, rest(3)], rate_hz=50.0)
    sets, rep_table = analyze_angles(angles)
    return SessionAnalysis(angles=angles, sets=sets, reps=rep_table, limits=DEFAULT_LIMITS, session_id="s1")


def _printed(analysis: SessionAnalysis, width: int, wide: bool | None = None) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    print_analysis(analysis, console, wide=wide)
    return console.export_text().splitlines()


def _table_rows(lines: list[str]) -> list[list[str]]:
    """The cells of the rep rows (lines starting with a rep number), split on runs of spaces."""
    return [line.split() for line in lines if re.match(r"^\s+\d+\s{2,}", line)]


def test_80_columns_fit_and_no_number_is_split(analysis):
    lines = _printed(analysis, 80)
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.split()[:1] == ["rep"])
    assert "start s" not in header and "bend°" not in header  # the compact set
    for name in ("rep", "dur s", "down/pause/up s", "trunk°", "flex°", "lockout°", "share", "flags"):
        assert name in header  # whole headers
    rows = _table_rows(lines)
    assert len(rows) == len(analysis.reps)
    for row in rows:  # every numeric cell is a whole number, none cut by "…" or carried to the next line
        numeric = [c for c in row if NUMBER.fullmatch(c) or "/" in c]
        assert all("…" not in c for c in numeric), row
    assert any("lockout" in line for line in lines)  # the flags, in short words
    assert any(line.rstrip().endswith("…") for line in lines)  # a long list of flags is cut visibly
    reasons = [line for line in lines if line.lstrip().startswith("rep ")]
    assert reasons and all("\n" not in r for r in reasons)


def test_empty_columns_are_left_out(analysis):
    header = next(line for line in _printed(analysis, 200) if line.split()[:1] == ["rep"])
    assert analysis.reps["peak_lumbar_flexion_pct"].isna().all()  # no calibrated range: the % column is empty
    assert "% range" not in header
    assert "bend°" in header and "start s" in header  # a wide terminal gets every column


def test_wide_gives_every_column_whole_in_a_narrow_terminal(analysis):
    lines = _printed(analysis, 80, wide=True)
    header = next(line for line in lines if line.split()[:1] == ["rep"])
    for name in ("start s", "hip°", "bend°", "twist°", "lockout°", "flags"):
        assert name in header
    assert any("lockout hyperextension" in line for line in lines)
    assert not any("…" in line for line in lines)
