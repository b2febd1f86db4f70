"""Rep detection on synthetic angle tables: dead-stop, touch-and-go, back extensions, rates, gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from analysis import analyze_angles, analyze_session
from analysis.reps import find_excursions
from tests.angle_synth import Rep, build, rest
from tests.test_angles import imu_rows


def _true_starts(parts, rate_hz: float) -> list[float]:
    """Start times of the Rep items of ``parts``, from the durations they are built with."""
    t, starts = 0.0, []
    for part in parts:
        if isinstance(part, Rep):
            starts.append(t)
            t += (
                sum(
                    max(round(x * rate_hz), 1) for x in (part.eccentric_s, part.bottom_s, part.concentric_s, part.top_s)
                )
                / rate_hz
            )
        else:
            t += round(part[1] * rate_hz) / rate_hz
    return starts


@pytest.mark.parametrize("rate_hz", [25.0, 100.0, 200.0])
def test_dead_stop_reps_and_boundaries(rate_hz):
    parts = [rest(3), *[Rep(top_s=1.5, bottom_s=1.0) for _ in range(5)], rest(3)]
    found = find_excursions(build(parts, rate_hz=rate_hz))
    assert len(found) == 5
    starts = np.array(_true_starts(parts, rate_hz))
    # boundaries are placed where the trunk leaves the top posture: within a few hundredths of a rep
    assert np.abs(found["start_s"].to_numpy() - starts).max() < 0.3
    assert np.all(found["bottom_s"] > found["start_s"]) and np.all(found["end_s"] > found["bottom_s"])
    assert np.all(found["end_s"].to_numpy()[:-1] <= found["start_s"].to_numpy()[1:])


def test_touch_and_go_reps_are_separated():
    parts = [rest(2), *[Rep(eccentric_s=0.6, bottom_s=0.0, concentric_s=0.5, top_s=0.0) for _ in range(8)], rest(2)]
    found = find_excursions(build(parts, rate_hz=50.0))
    assert len(found) == 8
    # with no pause at the top, one rep ends where the next starts
    assert np.allclose(found["end_s"].to_numpy()[:-1], found["start_s"].to_numpy()[1:], atol=0.2)


@pytest.mark.parametrize("top_deg", [45.0, 90.0])
def test_back_extension_reps_start_from_the_bench_angle(top_deg):
    bench = {"trunk_inclination_deg": top_deg, "pelvis_inclination_deg": top_deg}
    parts = [
        rest(5),
        rest(3, **bench),
        *[Rep(top_deg=top_deg, depth_deg=65, top_s=0.2) for _ in range(10)],
        rest(3, **bench),
        rest(5),
    ]
    found = find_excursions(build(parts, rate_hz=100.0))
    assert len(found) == 10
    assert np.allclose(found["top_start_deg"], top_deg, atol=3)


def test_shallow_bends_are_not_reps():
    found = find_excursions(build([rest(2), *[Rep(depth_deg=14) for _ in range(5)], rest(2)]))
    assert found.empty


def test_reps_across_a_gap_are_dropped():
    table = build([rest(2), *[Rep(top_s=1.0) for _ in range(4)], rest(2)])
    gap = (table["time_s"] > 5.0) & (table["time_s"] < 7.0)
    table.loc[gap, table.columns[1:]] = np.nan
    found = find_excursions(table)
    assert len(found) == 3
    assert not ((found["start_s"] < 7.0) & (found["end_s"] > 5.0)).any()


@pytest.fixture(scope="module")
def deadlifts():
    """Touch-and-go and dead-stop deadlift sets from the simulator, with its between-set activity."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(
        sets=[SetSpec("deadlift", 6, "none", touch_and_go=True), SetSpec("deadlift", 5, "none", touch_and_go=False)],
        rate_hz=50.0,
        seed=5,
        ideal=True,
        magnetometer=False,
        rest_s=(20.0, 25.0),
    )
    return simulate_session(spec)


def test_simulated_touch_and_go_and_dead_stop_deadlifts(deadlifts):
    from analysis import analyze_angles

    sets, reps = analyze_angles(deadlifts.truth_angles)
    assert sets["rep_count"].tolist() == [6, 5]
    for s in deadlifts.truth["sets"]:
        found = reps[reps["set_index"] == s["index"]]
        true_bottoms = np.array([r["bottom_s"] for r in s["reps"]])
        # every rep's deepest point is found; the boundaries sit in the top pauses around it
        assert np.abs(found["bottom_s"].to_numpy() - true_bottoms).max() < 0.3
        true_starts = np.array([r["start_s"] for r in s["reps"]])
        assert np.all(found["start_s"].to_numpy() >= true_starts - 0.1)
        assert np.all(found["start_s"].to_numpy() <= true_starts + 2.0)


def test_rep_metrics_take_a_table_or_its_columns_as_arrays():
    from analysis.metrics import REP_METRIC_COLUMNS, rep_metrics

    angles = build([rest(2), *[Rep() for _ in range(3)], rest(2)])
    columns = {name: angles[name].to_numpy() for name in angles.columns}
    for rep in find_excursions(angles).itertuples():
        from_table = rep_metrics(angles, rep.start_s, rep.end_s, 60.0)
        from_arrays = rep_metrics(columns, rep.start_s, rep.end_s, 60.0)
        assert list(from_table) == list(REP_METRIC_COLUMNS)
        np.testing.assert_array_equal(list(from_table.values()), list(from_arrays.values()))


def _bump(t: np.ndarray, start_s: float, duration_s: float) -> np.ndarray:
    """A smooth 0 → 1 → 0 bump over ``duration_s`` from ``start_s``."""
    x = np.clip((t - start_s) / duration_s, 0.0, 1.0)
    return 0.5 * (1 - np.cos(2 * np.pi * x))


def _min_jerk(a_deg: float, b_deg: float, duration_s: float, rate_hz: float) -> np.ndarray:
    x = np.linspace(0.0, 1.0, max(int(duration_s * rate_hz), 2))
    return a_deg + (b_deg - a_deg) * (10 * x**3 - 15 * x**4 + 6 * x**5)


@pytest.mark.parametrize("bounce_deg", [5.0, 15.0, 30.0])
def test_deep_fast_bends_with_a_bounce_count_once(bounce_deg):
    # down to 85° in 0.3 s, a rebound of bounce_deg and back half way in 0.2 s, up in 0.4 s: four reps, one set
    rate = 50.0
    parts = [np.zeros(100)]
    for _ in range(4):
        parts += [
            _min_jerk(0.0, 85.0, 0.3, rate),
            _min_jerk(85.0, 85.0 - bounce_deg, 0.1, rate),
            _min_jerk(85.0 - bounce_deg, 85.0 - bounce_deg / 2, 0.1, rate),
            _min_jerk(85.0 - bounce_deg / 2, 0.0, 0.4, rate),
            np.zeros(30),
        ]
    trunk = np.concatenate([*parts, np.zeros(100)])
    zero = np.zeros_like(trunk)
    angles = pd.DataFrame(
        {
            "time_s": np.arange(len(trunk)) / rate,
            "lumbar_flexion_deg": 0.3 * trunk,
            "lumbar_lateral_bend_deg": zero,
            "lumbar_twist_deg": zero,
            "trunk_inclination_deg": trunk,
            "pelvis_inclination_deg": 0.7 * trunk,
        }
    )
    assert len(find_excursions(angles)) == 4
    sets, _ = analyze_angles(angles)
    assert sets["rep_count"].tolist() == [4]


def test_side_bends_and_twists_of_45_degrees_from_the_sensors_are_no_reps():
    # TrunkyXL's protocol from two strapped sensors: stand, 3 flexions of 45°, then side bends and twists
    # of ±45° each way (pelvis still): 3 reps
    rate = 50.0
    t = np.arange(0, 64, 1 / rate)
    flexion, bend, twist = (np.zeros_like(t) for _ in range(3))
    for k in range(3):
        flexion += 45 * _bump(t, 5.0 + 4 * k, 3.0)
        for side in (1, -1):
            bend += side * 45 * _bump(t, 19.0 + 8 * k + (4.0 if side < 0 else 0.0), 3.0)
            twist += side * 45 * _bump(t, 43.0 + 7 * k + (4.0 if side < 0 else 0.0), 3.0)
    rng = np.random.default_rng(3)
    straps = {
        p: Rotation.from_euler("xyz", rng.uniform(-15, 15, 3), degrees=True).as_matrix() for p in ("lumbar", "thoracic")
    }
    trunk = Rotation.from_euler("YXZ", np.column_stack([flexion, bend, -twist]), degrees=True).as_matrix()
    samples = pd.concat(
        [
            imu_rows("lumbar", t, np.tile(np.eye(3), (len(t), 1, 1)), straps["lumbar"], rng),
            imu_rows("thoracic", t, trunk, straps["thoracic"], rng),
        ],
        ignore_index=True,
    )
    result = analyze_session(samples)
    assert len(result.reps) == 3, result.reps[["start_s", "peak_trunk_inclination_deg"]]
