"""docs/conventions.md holds: the angle definitions, their signs and the column names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from analysis.angles import compute_angles
from analysis.display import fmt_num, past_limit
from analysis.flags import rep_flags
from analysis.limits import DEFAULT_LIMITS, Limits
from analysis.rotations import cardan_angles_deg, inclination_deg, matrices_from_quat_wxyz, rotation_yxz_deg
from analysis.session import ANGLE_COLUMNS, THORACIC_COLUMN
from tests.test_angles import imu_rows

DOC = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text()


def rot(axis: str, angle_deg: float) -> np.ndarray:
    return Rotation.from_euler(axis, angle_deg, degrees=True).as_matrix()


def test_doc_names_every_angle_column():
    names = set(re.findall(r"`(\w+_deg)`", DOC))
    assert set(ANGLE_COLUMNS[1:]) | {THORACIC_COLUMN} <= names
    assert "R_rel = R_y(flexion) · R_x(lateral_bend) · R_z(−twist)" in DOC
    assert "atan2(−f_z, u_z)" in DOC


def test_flexion_tips_the_top_forward_and_is_positive():
    R = rot("y", 25)  # about y (left)
    assert R[:, 2][0] > 0  # the thoracic up axis moves forward (+x)
    flexion, bend, twist = cardan_angles_deg(R[None])
    assert flexion[0] == pytest.approx(25) and abs(bend[0]) < 1e-9 and abs(twist[0]) < 1e-9


def test_lateral_bend_to_the_right_is_positive():
    R = rot("x", 10)
    assert R[:, 2][1] < 0  # up axis moves to -y: the right
    flexion, bend, twist = cardan_angles_deg(R[None])
    assert bend[0] == pytest.approx(10) and abs(flexion[0]) < 1e-9


def test_twist_to_the_right_is_positive():
    R = rot("z", -15)
    assert R[:, 0][1] < 0  # the chest (forward axis) turns to -y: the right
    assert cardan_angles_deg(R[None])[2][0] == pytest.approx(15)


def test_cardan_round_trip():
    rng = np.random.default_rng(3)
    for flexion, bend, twist in rng.uniform([-40, -20, -20], [80, 20, 20], (50, 3)):
        got = cardan_angles_deg(rotation_yxz_deg(flexion, bend, twist)[None])
        assert np.allclose([g[0] for g in got], [flexion, bend, twist])


@pytest.mark.parametrize("tilt_deg", [0.0, 30.0, 90.0, 135.0])
def test_inclination_forward_positive_and_past_horizontal(tilt_deg):
    R = rot("z", 70) @ rot("y", tilt_deg)  # any heading: inclination needs none
    assert inclination_deg(R[None])[0] == pytest.approx(tilt_deg)
    assert inclination_deg(rot("y", -tilt_deg)[None])[0] == pytest.approx(-tilt_deg)


@pytest.mark.parametrize(
    "motion,column",
    [
        ("y", "lumbar_flexion_deg"),
        ("x", "lumbar_lateral_bend_deg"),
        ("-z", "lumbar_twist_deg"),
    ],
)
def test_pipeline_signs_on_imu_data(motion, column):
    """A pure thoracic motion measured by two crooked sensors comes out with the documented sign."""
    import pandas as pd

    rate_hz = 50.0
    t = np.arange(0, 16, 1 / rate_hz)
    # Stand 3 s, two slow forward bends (to find the axis), stand, then the tested motion peaking at 20°.
    bends = np.where((t > 3) & (t < 7), 30 * 0.5 * (1 - np.cos(np.pi * (t - 3))), 0.0)
    test = np.where((t > 9) & (t < 13), 20 * np.sin(np.pi * (t - 9) / 4), 0.0)
    sign = -1.0 if motion.startswith("-") else 1.0
    rng = np.random.default_rng(0)
    R_wl = np.repeat(rot("z", 40)[None], len(t), axis=0)
    R_bends = Rotation.from_euler("y", bends[:, None], degrees=True).as_matrix()
    R_rel = R_bends @ Rotation.from_euler(motion[-1], sign * test[:, None], degrees=True).as_matrix()
    straps = {"lumbar": rot("xyz", [12, -15, 8]), "thoracic": rot("xyz", [-10, 18, -6]) @ rot("x", 180)}
    samples = pd.concat(
        [
            imu_rows("lumbar", t, R_wl, straps["lumbar"], rng),
            imu_rows("thoracic", t, R_wl @ R_rel, straps["thoracic"], rng),
        ]
    )
    angles = compute_angles(samples).angles
    during = angles[(angles["time_s"] > 10.5) & (angles["time_s"] < 11.5)]
    assert during[column].mean() > 15


def test_closed_forms_match_scipy():
    r = Rotation.random(500, random_state=3)
    quat = r.as_quat(scalar_first=True)
    assert np.allclose(matrices_from_quat_wxyz(quat), r.as_matrix(), atol=1e-12)
    flexion, bend, twist = cardan_angles_deg(r.as_matrix())
    expected = r.as_euler("YXZ", degrees=True)
    diff = np.column_stack([flexion, bend, -twist]) - expected
    assert np.abs((diff + 180) % 360 - 180).max() < 1e-9
    nan = np.full((1, 3, 3), np.nan)
    assert all(np.isnan(a).all() for a in cardan_angles_deg(nan))
    assert np.isnan(matrices_from_quat_wxyz(np.full((1, 4), np.nan))).all()


# Display: one sign language and rounding that never contradicts a limit (docs/conventions.md, "Display").


def test_doc_has_the_display_rules():
    assert "## Display" in DOC and "analysis/display.py" in DOC


@pytest.mark.parametrize(
    ("value", "decimals", "signed", "text"),
    [
        (-0.4, 0, True, "0"),
        (0.3, 0, True, "0"),
        (-0.04, 1, False, "0.0"),
        (-17.2, 0, True, "−17"),
        (16.0, 0, True, "+16"),
    ],
)
def test_no_signed_zero_and_a_true_minus(value, decimals, signed, text):
    assert fmt_num(value, decimals, signed=signed) == text
    assert fmt_num(float("nan")) == fmt_num(None) == "–"


@pytest.mark.parametrize(
    ("value", "limit"), [(12.3, 12.0), (12.04, 12.0), (35.49, 35.0), (10.0004, 10.0), (48.0, 35.0)]
)
def test_past_limit_never_reads_as_within_it(value, limit):
    shown, bound = past_limit(value, limit)
    assert len(shown.partition(".")[2]) == len(bound.partition(".")[2])  # the same precision
    assert float(shown) > float(bound)


def _reasons(peak, lockout, mean, bend=0.0, twist=0.0, limits=DEFAULT_LIMITS) -> list[str]:
    metrics = {
        "peak_lumbar_flexion_deg": peak,
        "lockout_lumbar_angle_deg": lockout,
        "mean_lumbar_angle_deg": mean,
        "peak_lateral_bend_deg": bend,
        "peak_twist_deg": twist,
    }
    return [reason for _, reason in rep_flags(metrics, limits)]


def test_flag_reasons_speak_one_sign_language():
    limits = Limits(flexion_limit_deg=12.0, extension_limit_deg=10.0)
    flexed, arched = _reasons(12.3, -17.2, 2.0, limits=limits)
    assert flexed == "lower back flexed to 12.3°, past your 12.0° flexion limit"
    assert arched.endswith("lower back arched 17° into extension at lockout, past your 10° extension limit")
    (overarching,) = _reasons(-12.0, -14.0, -10.2)
    assert "10.2° into extension on average, past your 10.0° extension limit" in overarching
    texts = _reasons(40.0, -10.4, 3.0, bend=-8.3) + _reasons(0.2, -0.3, -0.1, twist=9.0)
    assert texts and not any(re.search(r"[-−+]\d|[-−+]0\b|hyperextended to", t) for t in texts), texts


def test_tables_and_labels_use_the_same_signs():
    from dashboards.rep_cards import angle_facts
    from dashboards.style import limit_band

    peak, lockout = angle_facts(16.2, -0.4, DEFAULT_LIMITS)
    assert (peak.value, lockout.value) == ("+16°", "0°")
    assert (peak.limit, lockout.limit) == ("flexion limit 35°", "extension limit 10°")
    peak, lockout = angle_facts(35.2, -10.04, DEFAULT_LIMITS)  # past both limits by less than the rounding
    assert (peak.value, peak.limit, peak.past) == ("+35.2°", "flexion limit 35.0°", "flexion")
    assert (lockout.value, lockout.limit, lockout.past) == ("−10.04°", "extension limit 10.00°", "extension")
    _, annotations = limit_band(DEFAULT_LIMITS)
    assert [a["text"] for a in annotations] == ["flexion limit 35°", "extension limit 10°"]
