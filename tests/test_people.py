"""People in one store: a coach's athletes, each with their sessions, profile and calibrations."""

from __future__ import annotations

import json
import sqlite3

from imuform.cli.main import main
from imuform.io_csv import write_samples_csv
from imuform.session_analysis import personal_limits
from imuform.store import DB_NAME, MIGRATIONS, Store
from imuform.store_people import FIRST_PERSON, add_person, people, person_named, person_of_session
from tests.conftest import make_samples


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_new_store_holds_one_person_who_needs_no_name(home):
    with Store(home) as store:
        assert [p.name for p in people(store)] == [FIRST_PERSON]
        session_id = store.import_samples(make_samples())
        assert person_of_session(store, session_id).name == FIRST_PERSON
        assert store.sessions()[0]["person"] == FIRST_PERSON


def test_a_store_from_before_people_gives_everything_to_the_first_person(home):
    home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(home / DB_NAME, isolation_level=None)
    for version, step in enumerate(MIGRATIONS[:3], start=1):
        conn.executescript(f"BEGIN; {step} PRAGMA user_version = {version}; COMMIT;")
    conn.execute("INSERT INTO sessions (id, started_at) VALUES ('abc123abc123', '2025-01-01T10:00:00+00:00')")
    conn.execute("INSERT INTO profile (key, value) VALUES ('profile', ?)", (json.dumps({"flexion_limit_deg": 25}),))
    conn.close()
    with Store(home) as store:
        assert person_of_session(store, "abc123").name == FIRST_PERSON
        assert store.profile() == {"flexion_limit_deg": 25}
        ann = add_person(store, "Ann")
        assert store.profile(ann.id) == {}


def test_people_add_rename_and_list(capsys, home):
    assert run(capsys, "people", "add", "Ann")[0] == 0
    assert run(capsys, "people", "rename", "me", "Bo")[0] == 0
    code, out, _ = run(capsys, "people", "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)] == ["Bo", "Ann"]
    code, _, err = run(capsys, "people", "add", "ann")
    assert code == 1 and err.count("\n") == 1 and "already a person named 'ann'" in err
    code, _, err = run(capsys, "people", "rename", "Cy", "Dee")
    assert code == 1 and err.count("\n") == 1 and "no person named 'Cy'" in err and "people add" in err
    code, _, err = run(capsys, "people", "add", "  ")
    assert code == 1 and "cannot be empty" in err


def test_several_people_need_a_name_and_keep_their_own_sessions_and_profiles(capsys, home, tmp_path):
    csv = tmp_path / "samples.csv"
    write_samples_csv(make_samples(), csv)
    run(capsys, "people", "add", "Ann")
    code, _, err = run(capsys, "import", str(csv))
    assert code == 1 and err.count("\n") == 1 and "2 people (me, Ann)" in err and "--person NAME" in err
    with Store(home) as store:
        assert store.sessions() == []  # nothing stored on the refusal
    code, _, err = run(capsys, "import", str(csv), "--person", "Zed")
    assert code == 1 and "no person named 'Zed'" in err
    assert run(capsys, "import", str(csv), "--person", "ann")[0] == 0
    assert run(capsys, "import", str(csv), "--person", "me")[0] == 0
    code, out, _ = run(capsys, "sessions", "--person", "Ann", "--json")
    assert [s["person"] for s in json.loads(out)] == ["Ann"]
    code, out, _ = run(capsys, "sessions")
    assert code == 0 and "person" in out and "Ann" in out
    assert run(capsys, "profile", "--person", "Ann", "--flexion-limit", "30")[0] == 0
    code, out, _ = run(capsys, "profile", "--person", "me", "--json")
    assert json.loads(out)["flexion_limit_deg"] is None
    with Store(home) as store:
        ann = person_named(store, "ANN")
        anns = store.sessions(ann.id)[0]["id"]
        # a session is judged by its own person's limits, whoever the handle acts for
        assert personal_limits(store, None, person_of_session(store, anns).id).flexion_limit_deg == 30
        assert personal_limits(store, None).flexion_limit_deg != 30


def test_analyze_takes_a_person_for_all_and_checks_a_sessions_owner(capsys, home):
    from tests.lifts import store_two_sets

    with Store(home) as store:
        store_two_sets(store, name="mine")
        ann = add_person(store, "Ann")
        store.person_id = ann.id
        anns = store_two_sets(store, name="Ann's")
    code, _, err = run(capsys, "analyze", anns, "--person", "me")
    assert code == 1 and err.count("\n") == 1 and "is Ann's, not me's" in err
    assert run(capsys, "analyze", anns, "--person", "Ann", "--json")[0] == 0
    code, out, err = run(capsys, "analyze", "--all", "--person", "Ann", "--json", "--jobs", "1")
    assert code == 0, err
    assert [s["session_id"] for s in json.loads(out)["sessions"]] == [anns]
