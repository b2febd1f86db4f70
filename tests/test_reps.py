"""Rep detection on synthetic angle tables: dead-stop, touch-and-go, back extensions, rates, gaps."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.reps import find_excursions
from tests.angle_synth import Rep, build, rest


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
