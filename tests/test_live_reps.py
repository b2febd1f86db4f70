"""Live reps and sets (`analysis.live_reps`): the offline rules, applied as the angles arrive."""

import numpy as np
import pandas as pd

from analysis.live_reps import LIVE_COLUMNS, LiveReps
from analysis.pipeline import analyze_angles
from tests.angle_synth import Rep, build, rest

RATE_HZ = 100.0


def feed(
    table: pd.DataFrame, reps: LiveReps, block: int = 8, refresh_s: float = 0.25, until_s: float | None = None
) -> list:
    """Feed ``table`` in blocks of ``block`` samples, updating every ``refresh_s``; the sets after each update."""
    history, next_s = [], 0.0
    end = len(table) if until_s is None else int(np.searchsorted(table["time_s"], until_s))
    for i in range(0, end, block):
        part = table.iloc[i : min(i + block, end)]
        reps.add({c: part[c].to_numpy() for c in LIVE_COLUMNS})
        if part["time_s"].iloc[-1] >= next_s:
            reps.update()
            history.append((float(part["time_s"].iloc[-1]), len(reps.sets), len(reps.current)))
            next_s += refresh_s
    return history


def session() -> pd.DataFrame:
    floor_set = [
        Rep(depth_deg=80, bottom_s=2.5),
        *[Rep(depth_deg=80, bottom_s=0.8) for _ in range(4)],
        Rep(depth_deg=80, bottom_s=1.0),
    ]
    return build(
        [
            rest(5),
            Rep(depth_deg=70, top_s=0.5),
            rest(12),  # a lone bend: picking up a plate
            *[Rep(depth_deg=70) for _ in range(5)],
            rest(15),  # a set of 5
            *floor_set,
            rest(10),  # a deadlift from the floor: set-up and first pull, 4 more, the bar put down
        ],
        rate_hz=RATE_HZ,
    )


def test_live_sets_equal_the_offline_analysis():
    table = session()
    live = LiveReps(RATE_HZ)
    feed(table, live)
    live.update(final=True)
    sets, reps = analyze_angles(table.assign(lumbar_lateral_bend_deg=np.nan, lumbar_twist_deg=np.nan))  # as live
    assert [len(r) for r in live.sets] == sets["rep_count"].tolist() == [5, 5]
    for live_set, (_, offline) in zip(live.sets, reps.groupby("set_index")):
        np.testing.assert_allclose(live_set["peak_lumbar_flexion_deg"], offline["peak_lumbar_flexion_deg"], atol=1e-9)
        assert live_set["flags"].tolist() == offline["flags"].tolist()
    assert len(live.peaks_deg) == 10


def test_a_lone_bend_shows_until_the_rest_after_it_and_is_then_dropped():
    table = session()
    live = LiveReps(RATE_HZ)
    history = feed(table, live, until_s=15.0)
    assert any(current == 1 for _, _, current in history)  # shown as the first rep of a possible set
    assert history[-1][1:] == (0, 0)  # ten seconds later it was no set


def test_the_put_down_counts_until_the_set_is_over():
    table = session()
    live = LiveReps(RATE_HZ)
    end_of_floor_set_s = float(table["time_s"].iloc[-1]) - 10.0
    history = feed(table, live, until_s=end_of_floor_set_s + 1.0)
    assert history[-1][1:] == (1, 6)  # under way: the put-down looks like a sixth rep
    feed(table.iloc[int(np.searchsorted(table["time_s"], end_of_floor_set_s + 1.0)) :].reset_index(drop=True), live)
    assert [len(r) for r in live.sets] == [5, 5] and live.current.empty


def test_the_window_stays_bounded_while_nothing_happens():
    live = LiveReps(RATE_HZ)
    feed(build([rest(120)], rate_hz=RATE_HZ), live, refresh_s=1.0)
    assert len(live._window["time_s"]) <= 17 * RATE_HZ and live.sets == [] and live.current.empty
