"""`samples.csv`, the exchange format: reading with validation, and writing.

Every problem with an input file is reported as one `InputError` line that names the file, the line
and the column where it is, and what to do about it. Nothing is stored before a file has passed.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from imuform.errors import InputError
from imuform.sample_checks import check_samples
from imuform.store import PLACEMENTS, VECTOR_COLUMNS
from imuform.units import CSV_UNITS, Units

REQUIRED_COLUMNS = ("sensor", "time_s", *VECTOR_COLUMNS["acc"], *VECTOR_COLUMNS["gyr"])
OPTIONAL_GROUPS = {"mag": VECTOR_COLUMNS["mag"], "quat": VECTOR_COLUMNS["quat"]}
ALL_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_GROUPS["mag"], *OPTIONAL_GROUPS["quat"])
#: Rows parsed at a time when reading a samples.csv (about 15 MB of parser memory).
CHUNK_ROWS = 1 << 17


def _undecodable_line(path: Path) -> int:
    """Number of the first line of ``path`` that is not UTF-8 (1-based; 0 when every line decodes)."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            row = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}, line {_undecodable_line(path)}: not UTF-8 text ({exc.reason}); export the samples as UTF-8 CSV"
        ) from exc
    if not row or not any(cell.strip() for cell in row):
        raise InputError(
            f"{path}, line 1: the file is empty; it needs a header line '{','.join(REQUIRED_COLUMNS)}' and samples"
        )
    return [cell.strip() for cell in row]


def _check_columns(path: Path, header: list[str]) -> list[str]:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"{path}, line 1: missing column(s) {', '.join(missing)}; the header must start with "
            f"'{','.join(REQUIRED_COLUMNS)}'"
        )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputError(f"{path}, line 1: column(s) {', '.join(dupes)} appear more than once; keep one of each")
    for group, names in OPTIONAL_GROUPS.items():
        have = [n for n in names if n in header]
        if have and len(have) != len(names):
            lacking = [n for n in names if n not in header]
            raise InputError(
                f"{path}, line 1: {group} columns are incomplete (missing {', '.join(lacking)}); give all of {', '.join(names)} or none"
            )
    unknown = [c for c in header if c not in ALL_COLUMNS]
    if unknown:
        raise InputError(
            f"{path}, line 1: unknown column(s) {', '.join(unknown)}; allowed are {', '.join(ALL_COLUMNS)}"
        )
    return [c for c in header]


def _locate_bad_cell(path: Path, header: list[str], numeric_cols: list[str]) -> pd.DataFrame:
    """Slow path for a file the fast parser refused: read cells as text and report the first bad one.

    Returns the parsed table when no cell is bad after all (e.g. only blank optional cells).
    """
    try:
        raw = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            skipinitialspace=True,
            engine="c",
        )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}, line {_undecodable_line(path)}: not UTF-8 text ({exc.reason}); export the samples as UTF-8 CSV"
        ) from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        # pandas names the line as "Expected 8 fields in line 465, saw 9"
        found = re.search(r"fields in line (\d+), saw (\d+)", detail)
        if found:
            raise InputError(
                f"{path}, line {found[1]}: {found[2]} cells where the header has {len(header)};"
                " remove the extra commas or fix the row"
            ) from exc
        raise InputError(f"{path}: malformed CSV ({detail}); every row needs {len(header)} cells") from exc
    raw.columns = [c.strip() for c in raw.columns]
    out = {"sensor": raw["sensor"]}
    for col in numeric_cols:
        series = raw[col]
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna() & series.notna()
        if col in REQUIRED_COLUMNS:
            bad |= values.isna()
        bad |= np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            cell = series.iloc[i]
            shown = "an empty cell" if pd.isna(cell) else repr(str(cell))
            raise InputError(f"{path}, line {i + 2}, column {col}: {shown} is not a number; fix or delete that row")
        out[col] = values.to_numpy(dtype=float)
    return pd.DataFrame(out)


def read_samples_csv(path: str | Path, units: Units = CSV_UNITS) -> pd.DataFrame:
    """Read and validate a `samples.csv`.

    Parameters
    ----------
    path
        The CSV file (columns as in the README: ``sensor,time_s,acc_*,gyr_*`` then optional ``mag_*``
        and ``quat_*``; time in s from session start, acc in m/s², gyr in deg/s, mag in µT).
    units
        The units of the file's time, acceleration and angular rate when they are not those
        (``imuform import --units``): converted on reading. Each quantity's unit is also recognised
        from the data (`imuform.sample_checks`), and a file that looks like another unit is refused.

    Returns
    -------
    pandas.DataFrame
        The samples table in samples.csv's units, float columns, rows of each sensor in time order.

    Raises
    ------
    InputError
        One line naming the file, line and column of the first problem and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; give a samples.csv or a directory holding one")
    header = _check_columns(path, _header(path))
    numeric_cols = [c for c in ALL_COLUMNS if c in header and c != "sensor"]
    df = _read_in_chunks(path, numeric_cols)
    if df is None:
        df = _locate_bad_cell(path, header, numeric_cols)
    if df.empty:
        raise InputError(f"{path}, line 2: the file has a header but no samples; record or export some data first")

    names, codes = _sensor_codes(df["sensor"])
    known = np.array([name in PLACEMENTS for name in names])
    unknown = ~known[codes]
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(
            f"{path}, line {i + 2}, column sensor: unknown sensor {names[codes[i]]!r}; use a placement: {', '.join(PLACEMENTS)}"
        )
    df["sensor"] = names[codes]

    units.convert(df)
    check_samples(path, df, units)
    # rows grouped by sensor in placement order (stable); a file written that way, as imuform writes it, is kept
    rank = np.array([PLACEMENTS.index(name) if name in PLACEMENTS else -1 for name in names])[codes]
    if (np.diff(rank) < 0).any():
        df = df.take(np.argsort(rank, kind="stable"))
    return df.reset_index(drop=True)


def _read_in_chunks(path: Path, numeric_cols: list[str], chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame | None:
    """The table, parsed a chunk of rows at a time into columns allocated once; None when a cell is not a
    finite number (or a required one is empty), for `_locate_bad_cell` to name.

    Parsing the whole file at once holds the parser's buffers and the chunks it concatenates beside the
    table, about four times the table (1 GB for 4 hours of two sensors); this holds the table and one chunk.
    The sensor column is a category (a few stripped names, one code per row).
    """
    import numpy as np

    # at most one row per line: the columns are allocated for that many and cut to the rows parsed
    with path.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) + 1
    columns = {col: np.empty(lines) for col in numeric_cols}
    codes = np.empty(lines, dtype=np.intp)
    names: dict[str, int] = {}
    rows = 0
    try:
        reader = pd.read_csv(
            path,
            dtype={"sensor": "category", **dict.fromkeys(numeric_cols, "float64")},
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            skipinitialspace=True,
            engine="c",
            chunksize=chunk_rows,
        )
        with reader:
            for chunk in reader:
                chunk.columns = [c.strip() for c in chunk.columns]
                end = rows + len(chunk)
                for col in numeric_cols:
                    values = chunk[col].to_numpy()
                    if np.isinf(values).any() or (col in REQUIRED_COLUMNS and np.isnan(values).any()):
                        return None
                    columns[col][rows:end] = values
                sensor = chunk["sensor"]
                # this chunk's categories as indices into the names of the whole file; an empty cell is ""
                local = [names.setdefault(str(c).strip(), len(names)) for c in sensor.cat.categories]
                local.append(names.setdefault("", len(names)))
                codes[rows:end] = np.asarray(local, dtype=np.intp)[sensor.cat.codes.to_numpy()]
                rows = end
    except (ValueError, pd.errors.ParserError):
        return None
    sensor = pd.Categorical.from_codes(codes[:rows], categories=list(names))
    return pd.DataFrame({"sensor": sensor, **{c: v[:rows] for c, v in columns.items()}}, copy=False)


def _sensor_codes(sensor: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The stripped sensor names (an empty cell is "") and each row's index into them."""
    if isinstance(sensor.dtype, pd.CategoricalDtype):
        return np.asarray(sensor.cat.categories, dtype=object), sensor.cat.codes.to_numpy().astype(np.intp)
    # the text column of `_locate_bad_cell`
    codes, uniques = pd.factorize(sensor.fillna("").astype(str).str.strip())
    return np.asarray(uniques, dtype=object), codes.astype(np.intp)


def write_samples_csv(samples: pd.DataFrame, path: str | Path) -> Path:
    """Write a samples table as `samples.csv` (lossless: each float is written as its shortest exact repr).

    Optional column groups are written when any row has them; ``device_time_s`` is not part of the
    exchange format and is left out.
    """
    cols = list(REQUIRED_COLUMNS)
    for names in OPTIONAL_GROUPS.values():
        if all(n in samples for n in names) and samples[list(names)].notna().any().any():
            cols.extend(names)
    return write_csv(samples[cols], path)


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV: floats as their shortest exact repr, NaN as an empty cell.

    Columns holding lists (flags) are joined with ``;``, dicts are written as JSON.
    """
    path = Path(path)
    # polars formats floats with the shortest exact representation (ryu), ten times faster than pandas
    plain_frame(table).write_csv(path, null_value="")
    return path


def plain_frame(table: pd.DataFrame) -> pl.DataFrame:
    """A table as a polars frame of plain cells (`write_csv`'s): lists joined with ``;``, dicts as JSON, NaN null."""
    columns = {}
    for name in table.columns:
        values = table[name]
        if values.dtype.kind in "fiub":
            columns[name] = values.to_numpy()
        else:
            columns[name] = [_cell(v) for v in values]
    return pl.DataFrame(columns).fill_nan(None)


def _cell(value) -> str:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)
