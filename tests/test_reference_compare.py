"""Each set against the lifter's reference reps: in analyze (table and JSON), the exports and the proposal."""

from __future__ import annotations

import json

import pandas as pd

from imuform.cli.main import main
from imuform.store import Store
from tests.lifts import clean_then_rounded


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_rounded_set_is_told_against_the_clean_reference(capsys, home, tmp_path):
    with Store(home) as store:
        sid = store.import_samples(clean_then_rounded(), started_at="2026-11-02T17:00:00+00:00", source="simulate")
    code, out, _ = run(capsys, "analyze", sid, "--json")
    sets = json.loads(out)["sets"]
    assert [s["ref_verdict"] for s in sets] == [None, None]  # no reference yet
    assert run(capsys, "reference", "add", sid, "--set", "1")[0] == 0
    code, out, _ = run(capsys, "analyze", sid, "--json")
    sets = json.loads(out)["sets"]
    assert sets[0]["ref_broke_at_rep"] is None and sets[0]["ref_verdict"].startswith("within your reference")
    assert sets[1]["ref_broke_at_rep"] is not None and "more than your reference" in sets[1]["ref_verdict"]
    assert all(r["ref_rounded"] is False for r in sets[0]["reps"])
    assert sum(r["ref_rounded"] for r in sets[1]["reps"]) >= 3
    assert sets[1]["ref_peak_flexion_diff_deg"] >= 5
    code, out, _ = run(capsys, "analyze", sid)
    assert "vs ref°" in out and "against your reference: rounded" in out
    assert run(capsys, "export", sid, "--out", str(tmp_path))[0] == 0
    reps = pd.read_csv(tmp_path / "reps.csv")
    assert {"ref_peak_flexion_diff_deg", "ref_rounded", "ref_tempo_ratio"} <= set(reps.columns)
    assert pd.read_csv(tmp_path / "sets.csv")["ref_verdict"].notna().all()


def test_the_proposal_picks_the_clean_set(capsys, home):
    with Store(home) as store:
        sid = store.import_samples(clean_then_rounded(), started_at="2026-11-02T17:00:00+00:00", source="simulate")
    code, out, err = run(capsys, "reference", "propose", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [(p["exercise"], p["session_id"], p["set"]) for p in doc["proposals"]] == [("deadlift", sid, 1)]
    assert doc["stored"] == []  # --json without --yes only shows
    code, out, _ = run(capsys, "reference", "propose", "--exercise", "deadlift", "--yes")
    assert code == 0 and "set 1" in out
    code, out, _ = run(capsys, "reference", "list", "--json")
    assert [(r["set"], r["source"]) for r in json.loads(out)] == [(1, "proposed")]


def test_the_report_draws_each_set_over_the_reference_band(capsys, home, tmp_path):
    with Store(home) as store:
        sid = store.import_samples(clean_then_rounded(), started_at="2026-11-02T17:00:00+00:00", source="simulate")
    assert run(capsys, "reference", "add", sid, "--set", "1", "--reps", "1-3")[0] == 0
    code, out, err = run(capsys, "report", sid, "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    assert "Against your reference: rounded" in out  # the summary line of set 2
    page = (tmp_path / "r.html").read_text()
    assert page.count("id='plot-set1_reference'") == 1 and page.count("id='plot-set2_reference'") == 1
    assert "your reference band" in page


def test_the_dashboard_draws_only_the_picked_set_over_the_reference_band(capsys, home, monkeypatch):
    import analysis.reference
    from dashboards.app import create_app
    from imuform.cli.dashboard import store_source

    with Store(home) as store:
        sid = store.import_samples(clean_then_rounded(), started_at="2026-11-02T17:00:00+00:00", source="simulate")
    source = store_source(str(home))
    assert "rep-reference" in str(create_app(source).layout)
    assert source.reference_band(source.analysis(sid), 2) is None  # no reference yet: the app says how to add one
    assert run(capsys, "reference", "add", sid, "--set", "1")[0] == 0
    result = source.analysis(sid)
    curves_of, compared = [], []
    rep_curves, compare_set = analysis.reference.rep_curves, analysis.reference.compare_set
    monkeypatch.setattr(
        analysis.reference, "rep_curves", lambda a, s=None, *x: curves_of.append(s) or rep_curves(a, s, *x)
    )
    monkeypatch.setattr(analysis.reference, "compare_set", lambda *a: compared.append(a) or compare_set(*a))
    band = source.reference_band(result, 2)
    assert curves_of == [2] and compared == []  # the picked set's curves only; the stored comparison titles it
    assert band.layout.title.text.startswith("Against your reference: rounded")
    assert "your reference band" in {trace.name for trace in band.data}
    assert [t.name for t in band.data if (t.name or "").startswith("rep ")] == [f"rep {i}" for i in range(1, 5)]


def test_the_band_chart_shows_the_stored_comparison_as_computing_it_again_would(capsys, home):
    from analysis.reference import compare_set
    from dashboards.reference_band import reference_band_figure, set_band_figure
    from dashboards.style import judgement
    from imuform.reference_reps import set_bands
    from imuform.session_analysis import run_analysis

    with Store(home) as store:
        sid = store.import_samples(clean_then_rounded(), started_at="2026-11-02T17:00:00+00:00", source="simulate")
    assert run(capsys, "reference", "add", sid, "--set", "1", "--reps", "1-3")[0] == 0
    with Store(home) as store:
        result = run_analysis(store, sid, show_progress=False)
        bands = set_bands(store, result)
    assert sorted(bands) == [1, 2]
    for set_index, band in bands.items():
        judgements = {int(r.index): judgement(r.flags) for r in result.reps_of(set_index).itertuples()}
        fresh = compare_set(band.curves, band.reference)
        again = reference_band_figure(band.reference, band.curves, fresh.verdict, judgements)
        assert set_band_figure(result, set_index, band.reference, band.curves).to_json() == again.to_json()
        stored = result.sets[result.sets["index"] == set_index].iloc[0]
        assert stored["ref_verdict"] == fresh.verdict
        assert stored["ref_peak_flexion_diff_deg"] == fresh.peak_flexion_diff_deg
