"""Clumsy-user and attacker probes: one bad input never breaks the rest of the store or the CLI."""

from __future__ import annotations

import json

import pytest

from imuform.cli.main import main
from imuform.io_csv import write_samples_csv
from imuform.store import Store
from tests.conftest import make_samples


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def session_dir(tmp_path, **meta):
    """A directory with a samples.csv and a session.json holding ``meta``."""
    folder = tmp_path / "session"
    folder.mkdir()
    write_samples_csv(make_samples(), folder / "samples.csv")
    (folder / "session.json").write_text(json.dumps({"format": "imuform-session", "version": 1, **meta}))
    return folder


@pytest.mark.parametrize(
    "meta",
    [
        {"events": [{"kind": "x"}]},
        {"events": [{"time_s": 1.0, "kind": "set_start"}, {"time_s": "soon", "kind": "x"}]},
        {"gaps": [{"placement": "lumbar", "start_s": 1.0}]},
    ],
)
def test_failed_import_stores_nothing(capsys, home, tmp_path, meta):
    code, out, err = run(capsys, "import", str(session_dir(tmp_path, **meta)))
    assert code == 1 and err.count("\n") == 1 and out == ""
    with Store(home) as store:
        assert store.sessions() == []
        counts = [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sensors", "sample_blocks")]
    assert counts == [0, 0]


def test_import_keeps_gaps_events_and_calibration(capsys, home, tmp_path):
    meta = {
        "gaps": [{"placement": "lumbar", "start_s": 1.0, "end_s": 2.0, "reason": "dropout"}],
        "events": [{"time_s": 0.5, "kind": "set_start", "detail": {"set": 1}}],
        "calibration": {"method": "guided"},
    }
    code, out, _ = run(capsys, "import", str(session_dir(tmp_path, **meta)))
    assert code == 0
    with Store(home) as store:
        info = store.session(out.strip())
        assert info["gaps"] == meta["gaps"] and info["events"] == meta["events"]
        assert store.calibration(info["id"]) == {"method": "guided"}


def bad_date_store(home) -> tuple[str, str]:
    """A store with two analysed sessions, one of whose start time (stored before import checked it) is no date."""
    doc = {"sets": [{"exercise": "deadlift", "reps": [{"peak_lumbar_flexion_deg": 12.0, "duration_s": 3.0}]}]}
    with Store(home) as store:
        good = store.import_samples(make_samples(), name="good", started_at="2025-03-01T10:00:00+00:00")
        naive = store.import_samples(make_samples(), name="naive", started_at="2025-03-02 10:00")
        bad = store.import_samples(make_samples(), name="bad", started_at="not a date")
        for sid in (good, naive, bad):
            store.save_analysis(sid, doc)
    return good, bad


def test_a_bad_start_date_shows_as_unknown_and_breaks_nothing(capsys, home, tmp_path):
    from imuform.cli.dashboard import store_source

    good, bad = bad_date_store(home)
    source = store_source(str(home))
    assert len(source.history()) == 2  # the session without a date has no place on the time axis
    labels = {s["id"]: s["label"] for s in source.sessions()}
    assert labels[bad].startswith("unknown date") and labels[good].startswith("2025-03-01 10:00")
    code, out, _ = run(capsys, "sessions")
    assert code == 0 and "unknown date" in out and "2025-03-01 10:00:00" in out
    code, out, err = run(capsys, "report", good, "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    code, out, err = run(capsys, "report", bad, "--out", str(tmp_path / "bad.html"))
    assert code == 0, err
    assert "unknown date" in (tmp_path / "bad.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("text", ["[red]x[/blue]", "[/]", "[bold]unclosed", "[link=file:///etc/passwd]x"])
def test_user_text_with_rich_markup_is_printed_as_it_is(capsys, home, tmp_path, text):
    write_samples_csv(make_samples(), tmp_path / "samples.csv")
    code, out, _ = run(capsys, "import", str(tmp_path / "samples.csv"), "--name", text)
    sid = out.strip()
    with Store(home) as store:
        store.conn.execute("UPDATE sessions SET notes = ?, source = ? WHERE id = ?", (text, text, sid))
        store.conn.execute("UPDATE sensors SET model = ?, firmware = ?", (text, text))
    for args in (["sessions"], ["show", sid]):
        code, out, err = run(capsys, *args)
        assert code == 0, err
        assert text in out
