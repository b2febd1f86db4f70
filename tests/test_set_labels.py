"""Set labels: the lifter's exercise, load and effort, which win over the classifier everywhere."""

from __future__ import annotations

import json

import pandas as pd

from imuform.cli.main import main
from imuform.store import Store
from imuform.store_sets import KG_PER_LB, SetLabel, label_fields, label_sets, set_labels
from tests.lifts import clean_then_rounded, store_two_sets


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_annotate_names_the_set_and_its_load_everywhere(capsys, home, tmp_path):
    with Store(home) as store:
        sid = store_two_sets(store)
    code, out, err = run(capsys, "annotate", sid, "--set", "2", "--load-lb", "315", "--exercise", "romanian_deadlift")
    assert code == 0, err
    assert "romanian_deadlift (named by you)" in out and f"{315 * KG_PER_LB:.1f} kg" in out
    code, out, err = run(capsys, "annotate", sid, "--set", "2", "--rpe", "8", "--rir", "2", "--json")
    entry = json.loads(out)["set"]
    # figures not given keep their stored value
    assert entry["load_kg"] == 315 * KG_PER_LB and entry["rpe"] == 8 and entry["rir"] == 2
    code, out, _ = run(capsys, "analyze", sid, "--json")
    sets = json.loads(out)["sets"]
    assert [s["exercise_named_by"] for s in sets] == ["classified", "named by you"]
    assert sets[1]["exercise"] == "romanian_deadlift" and sets[1]["exercise_confidence"] == 1.0
    code, out, _ = run(capsys, "analyze", sid)
    assert "named by you · 142.9 kg · RPE 8 · RIR 2" in out
    code, _, err = run(capsys, "export", sid, "--out", str(tmp_path / "out"))
    assert code == 0, err
    exported = pd.read_csv(tmp_path / "out" / "sets.csv")
    assert list(exported["exercise_named_by"]) == ["classified", "named by you"]
    assert abs(exported["load_kg"].iloc[1] - 315 * KG_PER_LB) < 0.01


def test_annotate_refuses_a_set_that_is_not_there_and_stores_nothing(capsys, home):
    with Store(home) as store:
        sid = store_two_sets(store)
    code, _, err = run(capsys, "annotate", sid, "--set", "3", "--load-kg", "100")
    assert code == 1 and err.count("\n") == 1 and "has sets 1-2, not set 3" in err and "imuform analyze" in err
    code, _, err = run(capsys, "annotate", sid, "--set", "1")
    assert code == 2 and "--load-kg" in err
    code, _, err = run(capsys, "annotate", sid, "--set", "1", "--rpe", "11")
    assert code == 2
    with Store(home) as store:
        assert set_labels(store, sid) == {}


def test_the_dashboard_labels_a_set_and_says_why_not_when_it_cannot(home):
    from dashboards.app import create_app
    from imuform.cli.dashboard import store_source

    with Store(home) as store:
        sid = store_two_sets(store)
    source = store_source(str(home))
    app = create_app(source)
    assert "label-save" in str(app.layout) and any("label-status" in key for key in app.callback_map)
    said = source.label_set(sid, 1, "good_morning", 100.0, 7.5)
    assert said.saved and said.message == "Saved set 1: good morning, 100 kg, RPE 7.5."

    with Store(home) as store:
        assert set_labels(store, sid)[1] == SetLabel(1, "good_morning", 100.0, 7.5, None, "you")
    refused = source.label_set(sid, 5, None, 90.0, None)
    assert not refused.saved and refused.message.startswith("Not saved: session")
    assert source.analysis(sid).sets["exercise_named_by"].tolist() == ["named by you", "classified"]


def test_the_analysis_names_the_set_and_the_label_adds_the_rest(capsys, home):
    """The lifter's exercise reaches the analysis, which names the set and judges it as that exercise; the label
    adds only who named it, the load and the effort. The cached document after labelling is what analysing the
    session again gives, also for a label naming the exercise the classifier found."""
    from imuform.session_analysis import run_analysis

    with Store(home) as store:
        sid = store.import_samples(clean_then_rounded(), started_at="2026-11-02T17:00:00+00:00", source="simulate")
    assert run(capsys, "reference", "add", sid, "--set", "1")[0] == 0
    assert "exercise" not in label_fields(SetLabel(1, "good_morning")) | label_fields(None)
    with Store(home) as store:
        classified = run_analysis(store, sid, show_progress=False).sets
        assert list(classified["exercise"]) == ["deadlift", "deadlift"] and classified["exercise_confidence"].max() < 1
        for labels in ([SetLabel(1, "deadlift", 120.0)], [SetLabel(2, "good_morning")]):
            doc = label_sets(store, sid, labels)
            assert store.analysis(sid) == doc
            fresh = run_analysis(store, sid, show_progress=False).to_dict()
            keys = ("exercise", "exercise_confidence", "exercise_named_by", "load_kg", "ref_verdict")
            assert [[s[k] for k in keys] for s in doc["sets"]] == [[s[k] for k in keys] for s in fresh["sets"]]
    assert [s["exercise_confidence"] for s in doc["sets"]] == [1.0, 1.0]
    assert doc["sets"][0]["ref_verdict"].startswith("within your reference")
    assert doc["sets"][1]["ref_verdict"] is None  # judged as a good morning, of which there is no reference
