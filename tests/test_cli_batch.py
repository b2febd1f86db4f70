"""`imuform analyze --all`: many sessions, one start-up, forked workers, a real store."""

from __future__ import annotations

import json

import pytest

from imuform.cli.main import main
from imuform.store import Store


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def deadlifts():
    """A simulated set of 4 deadlifts (50 Hz, no magnetometer): small, with reps to find."""
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(sets=[SetSpec("deadlift", 4, "none")], rate_hz=50.0, seed=2, magnetometer=False)
    return simulate_session(spec).samples


def test_analyze_all_stores_what_analyze_stores(capsys, home, deadlifts):
    days = ("2026-03-01T09:00:00+00:00", "2026-03-08T09:00:00+00:00", "2026-03-15T09:00:00+00:00")
    with Store(home) as store:
        ids = [store.import_samples(deadlifts, name=f"day {k}", started_at=day) for k, day in enumerate(days)]
    code, out, _ = run(capsys, "analyze", "--all", "--jobs", "2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert [s["session_id"] for s in doc["sessions"]] == ids[::-1]  # newest first, as `imuform sessions`
    assert all(s["error"] is None and s["sets"] == 1 and s["reps"] == 4 for s in doc["sessions"])
    assert doc["workers"] == 2 and doc["sessions_per_min"] > 0
    with Store(home) as store:
        batch_docs = {sid: store.analysis(sid) for sid in ids}
    # the forked workers' documents are those of one `imuform analyze SESSION`
    code, out, _ = run(capsys, "analyze", ids[1], "--json")
    assert code == 0 and json.loads(out) == batch_docs[ids[1]]

    code, out, _ = run(capsys, "analyze", "--all", "--since", "2026-03-05", "--until", "2026-03-08", "--json")
    assert code == 0 and [s["session_id"] for s in json.loads(out)["sessions"]] == [ids[1]]
    code, out, _ = run(capsys, "analyze", "--all", "--jobs", "1")
    assert code == 0 and "3 sessions in" in out and "with 1 worker" in out


def test_analyze_all_goes_on_past_a_bad_session(capsys, home, deadlifts):
    with Store(home) as store:
        good = store.import_samples(deadlifts, name="good")
        empty = store.create_session("nothing recorded")
    code, out, err = run(capsys, "analyze", "--all", "--json")
    assert code == 1 and err.count("\n") == 1 and "1 of 2 sessions could not be analysed" in err
    outcome = {s["session_id"]: s for s in json.loads(out)["sessions"]}
    assert "no samples" in outcome[empty]["error"] and outcome[good]["reps"] == 4
    assert Store(home).analysis(good) is not None and Store(home).analysis(empty) is None


@pytest.mark.parametrize(
    "args", [(), ("--all", "abc123"), ("abc123", "--since", "2026-01-01"), ("--all", "--since", "March")]
)
def test_analyze_all_usage_errors(capsys, home, args):
    code, _, err = run(capsys, "analyze", *args)
    assert code == 2 and "Error" in err


def test_analyze_all_with_nothing_stored(capsys, home):
    code, out, _ = run(capsys, "analyze", "--all")
    assert code == 0 and "no stored sessions" in out


def test_a_worker_that_dies_fails_the_unfinished_sessions_instead_of_hanging(capsys, home, deadlifts, monkeypatch):
    import os

    import imuform.cli.batch as batch

    with Store(home) as store:
        ids = [store.import_samples(deadlifts, name=f"s{k}") for k in range(3)]
    real = batch.analyze_stored

    def dies_on_the_first(store, session_id, **options):
        if session_id == ids[0]:
            os._exit(9)  # as when the kernel kills a worker that ran out of memory
        return real(store, session_id, **options)

    monkeypatch.setattr(batch, "analyze_stored", dies_on_the_first)  # the forked workers inherit it
    outcomes = batch.analyze_sessions(str(home), ids, workers=2)
    assert outcomes[0].error == batch.DIED
    # what was stored stays stored; nothing half-written
    with Store(home) as store:
        for outcome in outcomes:
            assert (store.analysis(outcome.session_id) is not None) == (outcome.error is None)
