"""The fault suite's corrupted-CSV family: ≥ 150 seeded variants of a samples.csv, none crashes or poisons."""

from __future__ import annotations

from benchmarks.fault_suite import CsvCorpusConfig, corrupted_csv_corpus, corrupted_csvs


def test_the_corpus_is_seeded_and_covers_every_mutation():
    config = CsvCorpusConfig(variants=160)
    corpus = corrupted_csv_corpus(config, seed=3)
    assert corpus == corrupted_csv_corpus(config, seed=3)
    assert len({data for _, data in corpus}) >= 150


def test_corrupted_csvs_are_refused_in_one_line_or_imported_and_analysed():
    row = corrupted_csvs(CsvCorpusConfig(variants=160), seed=0)
    assert row.runs == 160
    assert row.crashes == 0, row.notes
    assert row.poisoned == 0, row.notes
    assert row.clean_refusals + row.accepted == row.runs
    assert row.with_place == row.clean_refusals  # every refusal names its line (and column where a cell is at fault)
