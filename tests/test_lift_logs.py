"""Strong's and Hevy's CSV exports: read in all their variants, refused with the place when malformed, and
matched to the recorded sets by the workout's time and the rep count."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from imuform.cli.main import main
from imuform.errors import InputError
from imuform.importers.lift_log import KG_PER_LB, read_log_file
from imuform.store import Store
from imuform.store_sets import set_labels
from tests.lifts import store_two_sets

UTC = dt.UTC
STRONG = """Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE
2026-11-02 16:55:00,Pull day,1h 5m,Deadlift (Barbell),W,60,5,0,0,,,
2026-11-02 16:55:00,Pull day,1h 5m,Deadlift (Barbell),1,140,3,0,0,,,8
2026-11-02 16:55:00,Pull day,1h 5m,Deadlift (Barbell),2,140,4,0,0,,,9
2026-11-02 16:55:00,Pull day,1h 5m,Bench Press (Barbell),1,80,5,0,0,,,
2026-11-02 16:55:00,Pull day,1h 5m,Running,1,,,5,1800,,,
"""
STRONG_SEMICOLON = """"Date";"Workout Name";"Exercise Name";"Set Order";"Weight";"Weight Unit";"Reps";"RPE";"Distance";\
"Distance Unit";"Seconds";"Notes";"Workout Notes";"Workout Duration"
"2026-11-02 16:55:00";"Pull day";"Romanian Deadlift (Barbell)";"1";"225";"lbs";"8";"";"";"";"";"";"";"45m"
"""
HEVY = """title,start_time,end_time,description,exercise_title,superset_id,exercise_notes,set_index,set_type,\
weight_lbs,reps,distance_miles,duration_seconds,rpe
Pull day,"2 Nov 2026, 16:55","2 Nov 2026, 18:00",,Good Morning (Barbell),,,0,warmup,95,8,,,
Pull day,"2 Nov 2026, 16:55","2 Nov 2026, 18:00",,Back Extension,,,1,normal,,12,,,7.5
"""


def run(capsys, *args, stdin=None, monkeypatch=None):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_variants_of_both_apps_are_read_in_kg(tmp_path):
    strong = read_log_file(write(tmp_path, "s.csv", STRONG), zone=UTC)
    assert strong.app == "strong"
    assert [(s.exercise, s.warmup, s.load_kg, s.reps) for s in strong.sets[:3]] == [
        ("deadlift", True, 60.0, 5),
        ("deadlift", False, 140.0, 3),
        ("deadlift", False, 140.0, 4),
    ]
    assert strong.sets[3].exercise is None and len(strong.sets) == 4  # bench counted, the run passed over
    assert strong.sets[0].workout_end - strong.sets[0].workout_start == dt.timedelta(hours=1, minutes=5)
    in_lb = read_log_file(write(tmp_path, "s.csv", STRONG), zone=UTC, weight_unit="lb")
    assert in_lb.sets[1].load_kg == pytest.approx(140 * KG_PER_LB)
    semicolon = read_log_file(write(tmp_path, "semi.csv", STRONG_SEMICOLON), zone=UTC)
    assert semicolon.sets[0].exercise == "romanian_deadlift" and semicolon.sets[0].load_kg == pytest.approx(
        225 * KG_PER_LB
    )
    hevy = read_log_file(write(tmp_path, "h.csv", HEVY), zone=UTC)
    assert hevy.app == "hevy" and [s.exercise for s in hevy.sets] == ["good_morning", "back_extension_45"]
    assert hevy.sets[0].warmup and hevy.sets[0].load_kg == pytest.approx(95 * KG_PER_LB) and hevy.sets[1].rpe == 7.5
    assert hevy.sets[0].workout_start == dt.datetime(2026, 11, 2, 16, 55, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (STRONG.replace(",140,3,", ",140,three,"), "line 3, column 'Reps'"),
        (
            STRONG.replace(
                "2026-11-02 16:55:00,Pull day,1h 5m,Deadlift (Barbell),2",
                "02/11/2026,Pull day,1h 5m,Deadlift (Barbell),2",
            ),
            "line 4, column 'Date'",
        ),
        (STRONG.replace(",140,4,0,0,,,9", ",140,4,0,0,,9"), "line 4 has 11 fields"),
        ("when,what\n1,2\n", "neither Strong's nor Hevy's"),
        (HEVY.replace("95,8", "-95,8"), "line 2, column 'weight_lbs'"),
    ],
)
def test_a_malformed_log_is_refused_with_the_place_and_nothing_is_stored(capsys, home, tmp_path, text, where):
    path = write(tmp_path, "log.csv", text)
    with pytest.raises(InputError, match=str(path)):
        read_log_file(path, zone=UTC)
    with Store(home) as store:
        sid = store_two_sets(store)
    code, _, err = run(capsys, "import-log", str(path), "--timezone", "UTC", "--yes")
    assert code == 1 and err.count("\n") == 1 and where in err and str(path) in err
    with Store(home) as store:
        assert set_labels(store, sid) == {}


def test_a_log_labels_the_sets_it_matches_by_time_and_reps(capsys, home, tmp_path):
    with Store(home) as store:
        sid = store_two_sets(store, started_at="2026-11-02T17:00:00+00:00")
        store_two_sets(store, started_at="2026-11-09T17:00:00+00:00")  # a week later: outside the workout
    path = write(tmp_path, "strong.csv", STRONG)
    code, out, err = run(capsys, "import-log", str(path), "--timezone", "UTC", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["applied"] == 0  # --json without --yes only reports
    assert [(m["line"], m["set"], m["confident"]) for m in doc["matches"]] == [(3, 1, True), (4, 2, False)]
    assert doc["unrecorded_lines"] == [2] and doc["unlogged_sets"] == []
    code, out, err = run(capsys, "import-log", str(path), "--timezone", "UTC", "--yes")
    assert code == 0 and "reps differ: confirm" in out and "line 2: Deadlift (Barbell) 5 reps was not recorded" in out
    with Store(home) as store:
        labels = set_labels(store, sid)
    assert list(labels) == [1] and labels[1].load_kg == 140 and labels[1].rpe == 8 and labels[1].source == "strong"
    code, out, _ = run(capsys, "analyze", sid, "--json")
    assert json.loads(out)["sets"][0]["load_kg"] == 140


def test_without_yes_each_mismatch_is_asked(home, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from imuform.cli.main import cli

    with Store(home) as store:
        sid = store_two_sets(store, started_at="2026-11-02T17:00:00+00:00")
    path = write(tmp_path, "strong.csv", STRONG)
    result = CliRunner().invoke(cli, ["import-log", str(path), "--timezone", "UTC"], input="y\ny\n")
    assert result.exit_code == 0, result.output
    assert "labelled 2 set(s)" in result.output
    with Store(home) as store:
        assert {i: lb.load_kg for i, lb in set_labels(store, sid).items()} == {1: 140, 2: 140}
