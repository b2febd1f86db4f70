"""Reference reps: the band, the comparison of later reps, the rep where form broke, the proposal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.limits import DEFAULT_LIMITS
from analysis.metrics import rep_metrics
from analysis.reference import (
    Reference,
    ReferenceConfig,
    build_reference,
    compare_rep,
    compare_set,
    form_broke_at,
    propose_reference,
    rep_curve,
    rep_curves,
)
from analysis.session import ANGLE_COLUMNS, SessionAnalysis

RATE_HZ = 100.0


def _session(peaks_deg: list[list[float]], depth_deg: float = 80.0, rep_s: float = 3.0) -> SessionAnalysis:
    """Sets of raised-cosine reps whose lumbar flexion peaks at the given values (deg), 2 s apart."""
    t_parts, trunk_parts, lumbar_parts, rows = [], [], [], []
    t0 = 0.0
    for set_index, peaks in enumerate(peaks_deg, 1):
        for rep_index, peak in enumerate(peaks, 1):
            n = int(rep_s * RATE_HZ)
            shape = 0.5 - 0.5 * np.cos(np.linspace(0.0, 2 * np.pi, n))
            rest = np.zeros(int(2.0 * RATE_HZ))
            t_parts.append(t0 + np.arange(n + len(rest)) / RATE_HZ)
            trunk_parts.append(np.r_[depth_deg * shape, rest])
            lumbar_parts.append(np.r_[peak * shape, rest])
            rows.append((set_index, rep_index, t0, t0 + (n - 1) / RATE_HZ))
            t0 += (n + len(rest)) / RATE_HZ
    trunk = np.concatenate(trunk_parts)
    lumbar = np.concatenate(lumbar_parts)
    angles = pd.DataFrame(
        {
            "time_s": np.concatenate(t_parts),
            "lumbar_flexion_deg": lumbar,
            "lumbar_lateral_bend_deg": 0.0,
            "lumbar_twist_deg": 0.0,
            "trunk_inclination_deg": trunk,
            "pelvis_inclination_deg": trunk - lumbar,
        }
    )[list(ANGLE_COLUMNS)]
    reps = pd.DataFrame([{"set_index": s, "index": r, **rep_metrics(angles, a, b), "flags": []} for s, r, a, b in rows])
    sets = pd.DataFrame({"index": range(1, len(peaks_deg) + 1), "exercise": "deadlift"})
    return SessionAnalysis(angles=angles, sets=sets, reps=reps, limits=DEFAULT_LIMITS, session_id="s1")


def test_curve_is_on_normalised_time_with_the_bottom_in_the_middle():
    analysis = _session([[20.0]])
    curve = rep_curves(analysis)[0]
    config = ReferenceConfig()
    assert len(curve.lumbar_flexion_deg) == len(config.phase_grid) == 2 * config.points_per_phase
    assert curve.lumbar_flexion_deg[config.points_per_phase] == pytest.approx(20.0, abs=0.1)
    assert curve.lumbar_flexion_deg[0] == pytest.approx(0.0, abs=0.1)
    assert curve.lumbar_flexion_deg[-1] == pytest.approx(0.0, abs=0.1)
    assert (curve.set_index, curve.rep_index, curve.session_id) == (1, 1, "s1")


def test_a_gap_is_not_bridged():
    analysis = _session([[20.0]])
    t = analysis.angles["time_s"]
    analysis.angles.loc[(t > 0.5) & (t < 1.0), "lumbar_flexion_deg"] = np.nan
    curve = rep_curve(analysis.angles, analysis.reps.iloc[0])
    assert np.isnan(curve.lumbar_flexion_deg).sum() > 0
    assert np.isfinite(curve.lumbar_flexion_deg).sum() > 50


def test_band_is_mean_plus_minus_k_sd_with_a_floor():
    analysis = _session([[18.0, 20.0, 22.0]])
    config = ReferenceConfig(band_sd_k=2.0, band_floor_deg=3.0)
    ref = build_reference(rep_curves(analysis), "deadlift", config)
    bottom = config.points_per_phase
    assert ref.mean_deg[bottom] == pytest.approx(20.0, abs=0.1)
    assert ref.high_deg[bottom] - ref.mean_deg[bottom] == pytest.approx(2.0 * 2.0, abs=0.1)  # SD of 18, 20, 22
    # near the top the reps agree: the floor holds the band open
    assert ref.high_deg[0] - ref.mean_deg[0] == pytest.approx(3.0)
    assert ref.peak_lumbar_flexion_deg == pytest.approx(20.0, abs=0.1)
    assert ref.lumbar_share == pytest.approx(0.25, abs=0.01)
    assert len(ref.reps) == 3


def test_reference_round_trips_through_json():
    analysis = _session([[18.0, 20.0]])
    ref = build_reference(rep_curves(analysis), "deadlift")
    back = Reference.from_dict(ref.to_dict())
    assert back.exercise == "deadlift" and back.reps == ref.reps
    np.testing.assert_allclose(back.high_deg, ref.high_deg)
    assert back.peak_lumbar_flexion_deg == ref.peak_lumbar_flexion_deg


def test_a_reference_needs_a_measured_rep():
    analysis = _session([[20.0]])
    analysis.angles["lumbar_flexion_deg"] = np.nan
    analysis.reps["peak_lumbar_flexion_deg"] = np.nan
    with pytest.raises(ValueError, match="no measured rep"):
        build_reference(rep_curves(analysis), "deadlift")


def test_rep_comparison_figures():
    ref = build_reference(rep_curves(_session([[20.0, 20.0]])), "deadlift")
    later = rep_curves(_session([[27.0]], rep_s=3.6))[0]
    c = compare_rep(later, ref)
    assert c.peak_flexion_diff_deg == pytest.approx(7.0, abs=0.1)
    assert c.lumbar_share_diff == pytest.approx(7.0 / 80.0, abs=0.01)
    assert c.tempo_ratio == pytest.approx(1.2, abs=0.01)
    assert c.rounded and 0 < c.above_band_share <= c.outside_band_share <= 1
    clean = compare_rep(rep_curves(_session([[21.0]]))[0], ref)
    assert not clean.rounded and clean.outside_band_share == 0


@pytest.mark.parametrize(
    ("rounded", "expected"),
    [
        ([False] * 5, None),
        ([False, False, False, True, True], 4),
        ([True] * 5, 1),
        ([False, True, False, False, False], None),  # one rounded rep among clean ones
        ([False, False, True, True, False, True, True], 3),  # one clean rep after the break
        ([False, False, False, False, True], 5),
    ],
)
def test_form_broke_at(rounded, expected):
    assert form_broke_at(rounded, 0.75) == expected


def test_set_verdicts():
    ref = build_reference(rep_curves(_session([[20.0, 20.0]])), "deadlift")
    later = _session([[20.5, 19.5, 21.0, 27.0, 27.5], [29.0, 29.0, 29.0], [20.0, 21.0]])
    broke = compare_set(rep_curves(later, 1), ref)
    assert broke.broke_at_rep == 4
    assert broke.verdict == "rounded 7° more than your reference from rep 4 on"
    every = compare_set(rep_curves(later, 2), ref)
    assert every.verdict == "rounded 9° more than your reference on every rep"
    held = compare_set(rep_curves(later, 3), ref)
    assert held.broke_at_rep is None and held.verdict.startswith("within your reference")
    assert held.to_dict()["reps"][0]["rep_index"] == 1


def test_proposal_picks_the_full_depth_set_with_the_least_lumbar_flexion():
    deep = _session([[20.0, 21.0, 20.0], [14.0, 15.0, 14.0], [25.0, 25.0]])
    shallow = _session([[8.0, 8.0, 8.0]], depth_deg=40.0)
    curves = rep_curves(deep) + [c.__class__(**{**c.__dict__, "session_id": "s2"}) for c in rep_curves(shallow)]
    proposal = propose_reference(curves, "deadlift")
    assert (proposal.session_id, proposal.set_index, proposal.rep_indices) == ("s1", 2, (1, 2, 3))
    assert "set 2" in proposal.reason
    assert propose_reference([], "deadlift") is None
