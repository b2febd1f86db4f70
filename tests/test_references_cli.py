"""Reference reps per person and exercise: chosen, listed, removed; refused with the fix when out of range."""

from __future__ import annotations

import json

from imuform.cli.main import main
from imuform.store import Store
from imuform.store_people import add_person
from tests.lifts import store_two_sets


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_references_are_added_listed_and_removed_per_person(capsys, home):
    with Store(home) as store:
        sid = store_two_sets(store)
        add_person(store, "Ann")
    code, out, err = run(capsys, "reference", "add", sid, "--set", "1", "--reps", "1-2", "--json")
    assert code == 0, err
    ref = json.loads(out)
    assert ref["exercise"] == "deadlift" and ref["reps"] == [1, 2] and ref["set"] == 1
    code, out, _ = run(capsys, "reference", "list", "--person", "me", "--json")
    assert [r["id"] for r in json.loads(out)] == [ref["id"]]
    code, out, _ = run(capsys, "reference", "list", "--person", "Ann", "--json")
    assert json.loads(out) == []
    code, _, err = run(capsys, "reference", "remove", str(ref["id"]), "--person", "Ann")
    assert code == 1 and "no reference" in err  # not Ann's to remove
    code, _, err = run(capsys, "reference", "add", sid, "--set", "1", "--person", "Ann")
    assert code == 1 and "is me's, not Ann's" in err
    assert run(capsys, "reference", "remove", str(ref["id"]), "--person", "me")[0] == 0
    code, out, _ = run(capsys, "reference", "list", "--person", "me")
    assert "No references yet" in out


def test_a_reference_outside_the_session_is_refused_and_nothing_stored(capsys, home):
    with Store(home) as store:
        sid = store_two_sets(store)
    for args, says in (
        (["--set", "5"], "not set 5"),
        (["--set", "1", "--reps", "2-9"], "give --reps within 1-3"),
        (["--set", "1", "--reps", "3-1"], "is no rep range"),
        (["--set", "1", "--reps", "x"], "is no rep range"),
    ):
        code, _, err = run(capsys, "reference", "add", sid, *args)
        assert code == 1 and err.count("\n") == 1 and says in err, (args, err)
    code, out, _ = run(capsys, "reference", "list", "--json")
    assert json.loads(out) == []
