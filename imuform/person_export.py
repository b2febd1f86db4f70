"""All of a person's sets and reps as two flat tables, for their own analysis in pandas, DuckDB or a sheet.

``sets`` has one row per analysed set of every session of theirs, ``reps`` one row per rep; both carry the person,
the session and its start, and the set's exercise (the lifter's label first), load and effort. Written as CSV or as
Parquet (by polars: no pyarrow needed to write, and pandas and DuckDB read it as is).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imuform.errors import ImuformError

if TYPE_CHECKING:
    import pandas as pd

    from imuform.store import Store

#: What `write_person_tables` writes.
EXPORT_FORMATS = ("csv", "parquet")
#: The set's columns each rep row carries.
SET_COLUMNS_ON_REPS = ("exercise", "exercise_named_by", "load_kg", "rpe", "rir")


def person_tables(store: Store, person_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sets and reps tables of a person's sessions, oldest first (sessions not yet analysed are analysed).

    Sessions without samples, or that cannot be analysed, are left out.
    """
    import pandas as pd

    from imuform.reference_reps import judge_document
    from imuform.session_analysis import person_documents
    from imuform.session_files import plain_sets

    set_rows, rep_rows = [], []
    for info, doc in person_documents(store, person_id):
        doc = judge_document(store, info["id"], doc)
        where = {"person": info["person"], "session_id": info["id"], "started_at": info["started_at"]}
        for s in doc["sets"]:
            set_rows.append({**where, "session_name": info["name"], **{k: v for k, v in s.items() if k != "reps"}})
            for rep in s["reps"]:
                on_set = {k: s.get(k) for k in SET_COLUMNS_ON_REPS}
                rep_rows.append({**where, "set_index": s["index"], **on_set, **rep})
    sets = pd.DataFrame(set_rows)
    if len(sets):
        sets = plain_sets(sets).rename(columns={"index": "set_index"})
    reps = pd.DataFrame(rep_rows).rename(columns={"index": "rep_index"})
    return sets, reps


def write_person_tables(sets: pd.DataFrame, reps: pd.DataFrame, out_dir: str | Path, fmt: str) -> list[Path]:
    """Write ``sets.<fmt>`` and ``reps.<fmt>`` into ``out_dir`` (`EXPORT_FORMATS`); return the paths."""
    from imuform.io_csv import plain_frame

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImuformError(f"cannot write into {out} ({exc.strerror}); give another OUT directory") from exc
    paths = []
    for name, table in (("sets", sets), ("reps", reps)):
        path = out / f"{name}.{fmt}"
        frame = plain_frame(table)
        if fmt == "csv":
            frame.write_csv(path, null_value="")
        else:
            frame.write_parquet(path)
        paths.append(path)
    return paths
