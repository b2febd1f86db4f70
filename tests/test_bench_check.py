"""`make bench-check`: each figure held to an absolute tolerance of its own, zero targets, kept figures."""

from __future__ import annotations

import json

import pytest

from benchmarks.figures import Figure, benchmark_options, load_figures, save_figures
from benchmarks.run import main


def _rep_count(value: float) -> Figure:
    return Figure("rep count exact", value, "%", 99.0, True)


@pytest.mark.parametrize(
    ("figure", "fails"),
    [
        (_rep_count(100.0), False),
        (_rep_count(98.2), False),  # short by 0.8 point: inside the 1-point tolerance
        (_rep_count(98.0), True),  # short by a whole point
        (_rep_count(70.0), True),  # the old 30 % relative tolerance let this pass
        (Figure("flags precision", 0.67, "", 0.95, True), True),
        (Figure("flags precision", 0.945, "", 0.95, True), False),
        (Figure("peak lumbar flexion error p95", 2.2, "°", 2.0), False),
        (Figure("peak lumbar flexion error p95", 2.35, "°", 2.0), True),
        (Figure("samples lost", 0.0, "samples", 0.0), False),
        (Figure("samples lost", 1.0, "samples", 0.0), True),  # a zero target, missed: no division
        (Figure("time sync error p99", 6.0, "ms", 5.0), False),  # timings: a quarter of the target
        (Figure("time sync error p99", 6.3, "ms", 5.0), True),
        (Figure("decode", 7.4e6, "samples/s", 1e7, True), True),
        (Figure("rep count exact", 94.0, "%", 99.0, True, tolerance=5.0), True),  # its own tolerance wins
        (Figure("rep count exact", 95.0, "%", 99.0, True, tolerance=5.0), False),
        (Figure("information only", 1.0, "%"), False),
    ],
)
def test_each_figure_is_held_to_its_own_absolute_tolerance(figure, fails):
    assert figure.fails_check is fails


def test_check_fails_on_kept_figures_with_a_98_percent_rep_count(tmp_path, capsys):
    good = tmp_path / "figures.json"
    save_figures([_rep_count(99.6), Figure("samples lost", 0.0, "samples", 0.0)], good)
    assert main(["--check", "--from", str(good)]) == 0
    copy = tmp_path / "copy.json"
    doc = json.loads(good.read_text())
    doc[0]["value"] = 98.0
    copy.write_text(json.dumps(doc))
    assert main(["--check", "--from", str(copy)]) == 1
    assert "short by 1 %" in capsys.readouterr().out


def test_kept_figures_round_trip_and_bad_ones_get_one_line(tmp_path, capsys):
    figures = [_rep_count(98.5), Figure("lumbar angle RMSE", 1.1, "°", 1.5, note="120 sessions", tolerance=0.2)]
    path = tmp_path / "figures.json"
    save_figures(figures, path)
    assert load_figures(path) == figures
    path.write_text(json.dumps([{"name": "x", "value": 1.0}]))
    assert main(["--check", "--from", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "entry 0" in err


def test_a_bout_of_other_movements_named_a_lift_fails_the_gate():
    import pandas as pd

    from benchmarks.accuracy import classification_figures, other_classes

    bouts = [
        {"kind": "seated_bends", "start_s": 10.0, "end_s": 30.0},
        {"kind": "twists", "start_s": 50.0, "end_s": 60.0},
    ]
    sets = pd.DataFrame(
        {
            "start_s": [12.0, 100.0],
            "end_s": [25.0, 130.0],
            "exercise": ["other", "deadlift"],
            "exercise_confidence": [0.8, 0.9],
        }
    )
    # the twists made no set at all: other, sure
    assert other_classes(bouts, sets) == [("seated_bends", "other", 0.8), ("twists", "other", 1.0)]
    lifts = [("deadlift", "deadlift", 5, 5, 0.9), ("good_morning", "romanian_deadlift", 6, 6, 0.6)]
    record = {"sets": lifts, "other": other_classes(bouts, sets)}
    figures = {f.name: f for f in classification_figures([{"measured": record}], "measured", "")}
    assert not any(f.fails_check for f in figures.values())
    sets.loc[0, "exercise"] = "good_morning"
    record["other"] = other_classes(bouts, sets)
    figures = {f.name: f for f in classification_figures([{"measured": record}], "measured", "")}
    assert figures["bouts of other movements counted as a lift"].fails_check
    assert figures["exercise classification, hinge as one"].value == pytest.approx(100.0 * 3 / 4)


def test_a_lockout_is_as_near_its_decision_as_the_overarching_limit():
    from benchmarks.accuracy import judged_margin

    # arched throughout by 0.5°: the truth does not judge the lockout, an analysis may judge it
    assert judged_margin({"overarching": 0.5, "lumbar_flexion": -20.0}, "lockout_hyperextension") == 0.5
    # not overarching by 1°: the lockout, 6° past its limit, hangs on the overarching decision
    assert judged_margin({"overarching": -1.0, "lockout_hyperextension": 6.0}, "lockout_hyperextension") == -1.0
    assert judged_margin({"overarching": -9.0, "lockout_hyperextension": 3.0}, "lockout_hyperextension") == 3.0
    assert judged_margin({"overarching": -9.0}, "flexion_drift") is None


def test_a_benchmark_script_explains_its_switches_and_refuses_an_unknown_one(capsys):
    options = benchmark_options("Cost per hour.\n\nMore.", [], cost="the cost rows alone")
    assert (options.quick, options.cost) == (False, False)
    assert benchmark_options(None, ["--quick", "--cost"], cost="the cost rows alone").cost
    with pytest.raises(SystemExit) as stop:
        benchmark_options("Cost per hour.", ["--help"], cost="the cost rows alone")
    assert stop.value.code == 0
    shown = capsys.readouterr().out
    assert "Cost per hour." in shown and "--cost" in shown and "the cost rows alone" in shown
    with pytest.raises(SystemExit) as stop:
        benchmark_options("Cost per hour.", ["--cots"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --cots" in capsys.readouterr().err
