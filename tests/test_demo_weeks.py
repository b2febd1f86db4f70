"""`imuform demo --weeks`: weeks of a simulated lifter, labelled from their Strong log, as a progress page."""

from __future__ import annotations

import json

import pytest

from imuform.cli.main import main
from imuform.store import Store
from imuform.store_people import person_named


@pytest.fixture(scope="session")
def weeks_demo(tmp_path_factory):
    """One week (three sessions) of the demo, in its own home, once per test run; (home, page, output)."""
    import contextlib
    import io

    home = tmp_path_factory.mktemp("weeks_home")
    page = home / "progress.html"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--home", str(home), "demo", "--weeks", "1", "--seed", "3", "--report", str(page)])
    assert code == 0, out.getvalue()
    return home, page, out.getvalue()


def test_the_demo_labels_compares_and_writes_the_progress_page(weeks_demo):
    home, page, out = weeks_demo
    assert page.is_file() and "against the simulator's truth" in out and "sets labelled" in out
    assert "rep where form broke found within 1 rep" in out and "breaking load" in out
    with Store(home) as store:
        lifter = person_named(store, "demo lifter")
        assert len(store.sessions(lifter.id)) == 3
    assert (home / "progress-strong.csv").is_file()


def test_progress_shows_the_lifters_sets_against_load_and_their_range(weeks_demo, capsys):
    home = weeks_demo[0]
    code = main(["--home", str(home), "progress", "--person", "demo lifter", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["person"] == "demo lifter"
    assert [e["exercise"] for e in doc["exercises"]] == ["deadlift", "romanian_deadlift"]
    assert all(r["load_kg"] > 0 for r in doc["records"]) and len(doc["records"]) >= 20
    assert any(r["reference_diff_deg"] is not None for r in doc["records"])
    assert len(doc["rom"]["tests"]) == 3
    code = main(["--home", str(home), "progress", "--person", "demo lifter", "--exercise", "deadlift"])
    out = capsys.readouterr().out
    assert code == 0 and "deadlift" in out and "load kg" in out and "range of motion, 3 test(s)" in out


def test_progress_of_an_unknown_person_is_refused(weeks_demo, capsys):
    code = main(["--home", str(weeks_demo[0]), "progress", "--person", "nobody"])
    assert code == 1 and "no person named 'nobody'" in capsys.readouterr().err


def test_the_dashboard_serves_each_persons_progress_page(weeks_demo):
    from dashboards.app import create_app
    from imuform.cli.dashboard import store_source

    client = create_app(store_source(str(weeks_demo[0]))).server.test_client()
    page = client.get("/progress?person=demo lifter")
    assert page.status_code == 200 and "demo lifter: progress" in page.text and "plot-deadlift_load" in page.text
    index = client.get("/progress")  # the demo's home holds 'me' and 'demo lifter'
    assert index.status_code == 200 and "progress?person=demo%20lifter" in index.text
    assert "No one is named" in client.get("/progress?person=nobody").text
