"""All of a person's sets and reps as CSV or Parquet, read back as written."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pytest

from imuform.cli.main import main
from imuform.store import Store
from imuform.store_people import add_person
from tests.lifts import store_two_sets


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def coach_store(home, capsys):
    """Two people: 'me' with two sessions (the second labelled), Ann with none."""
    with Store(home) as store:
        store_two_sets(store, started_at="2026-11-02T17:00:00+00:00")
        later = store_two_sets(store, started_at="2026-11-09T17:00:00+00:00")
        add_person(store, "Ann")
    assert main(["annotate", later, "--set", "1", "--load-kg", "150", "--rpe", "9"]) == 0
    capsys.readouterr()
    return later


def test_a_persons_sets_and_reps_export_as_csv_and_parquet_alike(capsys, coach_store, tmp_path):
    code, out, err = run(capsys, "export", "--person", "me", "--format", "csv", str(tmp_path / "csv"), "--json")
    assert code == 0, err
    assert json.loads(out)["sets"] == 4 and json.loads(out)["reps"] == 12
    code, _, err = run(capsys, "export", "--person", "me", "--format", "parquet", str(tmp_path / "pq"))
    assert code == 0, err
    for name in ("sets", "reps"):
        from_csv = pl.read_csv(tmp_path / "csv" / f"{name}.csv")
        from_parquet = pl.read_parquet(tmp_path / "pq" / f"{name}.parquet")
        assert from_parquet.columns == from_csv.columns and from_parquet.height == from_csv.height
    sets = pd.read_csv(tmp_path / "csv" / "sets.csv")
    assert list(sets["started_at"].str[:10]) == ["2026-11-02"] * 2 + ["2026-11-09"] * 2  # oldest first
    assert sets["load_kg"].iloc[2] == 150 and sets["rpe"].iloc[2] == 9 and sets["load_kg"].isna().sum() == 3
    reps = pd.read_csv(tmp_path / "csv" / "reps.csv")
    assert {"person", "session_id", "set_index", "rep_index", "exercise", "load_kg", "peak_lumbar_flexion_deg"} <= set(
        reps.columns
    )
    assert (reps["load_kg"] == 150).sum() == 3


def test_pandas_reads_the_parquet_as_is(capsys, coach_store, tmp_path):
    pytest.importorskip("pyarrow", reason="pandas reads Parquet through pyarrow, which is not installed here")
    assert run(capsys, "export", "--person", "me", "--format", "parquet", str(tmp_path))[0] == 0
    assert len(pd.read_parquet(tmp_path / "reps.parquet")) == 12


def test_a_person_without_sessions_exports_empty_tables_and_bad_usage_is_refused(capsys, coach_store, tmp_path):
    code, out, _ = run(capsys, "export", "--person", "Ann", "--format", "csv", str(tmp_path / "ann"), "--json")
    assert code == 0 and json.loads(out)["sets"] == 0
    code, _, err = run(capsys, "export", "--format", "csv", str(tmp_path / "x"))
    assert code == 1 and "--person NAME" in err and not (tmp_path / "x").exists()
    code, _, err = run(capsys, "export", "--person", "me", "--format", "csv", str(tmp_path), "--out", str(tmp_path))
    assert code == 2
