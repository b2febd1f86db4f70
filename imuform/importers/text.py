"""Reading the text files the apps write: lines, delimited tables and the units named in headers."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from imuform.errors import InputError
from imuform.units import QUANTITIES

#: Bytes read to recognise a file.
HEAD_BYTES = 16384

#: Unit spellings in the apps' headers, to (quantity, unit name in `imuform.units.QUANTITIES`).
UNIT_SPELLINGS = {
    "m/s^2": ("acc", "m/s2"),
    "m/s²": ("acc", "m/s2"),
    "m/(s^2)": ("acc", "m/s2"),
    "m/s2": ("acc", "m/s2"),
    "g": ("acc", "g"),
    "mg": ("acc", "mg"),
    "deg/s": ("gyr", "deg/s"),
    "dps": ("gyr", "deg/s"),
    "°/s": ("gyr", "deg/s"),
    "rad/s": ("gyr", "rad/s"),
    "s": ("time", "s"),
    "ms": ("time", "ms"),
    "us": ("time", "us"),
    "µs": ("time", "us"),
    "ns": ("time", "ns"),
}
#: Magnetic field units to µT (imuform.units covers time, acc and gyr only).
MAG_TO_UT = {"µt": 1.0, "ut": 1.0, "t": 1e6, "mt": 1e3, "nt": 1e-3, "g": 100.0, "gauss": 100.0, "mg": 0.1}


@dataclass(frozen=True)
class Head:
    """The start of a file, to recognise its format.

    Attributes
    ----------
    path
        The file.
    data
        Its first `HEAD_BYTES` bytes.
    lines
        Those bytes as text lines (UTF-8, BOM dropped, undecodable bytes replaced), without line ends.
    """

    path: Path
    data: bytes
    lines: tuple[str, ...]

    @classmethod
    def of(cls, path: Path) -> Head:
        """Read the head of ``path``."""
        with path.open("rb") as fh:
            data = fh.read(HEAD_BYTES)
        text = data.decode("utf-8-sig", errors="replace")
        lines = text.splitlines()
        if len(data) == HEAD_BYTES and lines:
            lines = lines[:-1]  # the last line may be cut
        return cls(path, data, tuple(lines))


def read_text(path: Path) -> str:
    """The whole file as text (UTF-8, else Latin-1, which every byte decodes)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class Table:
    """A delimited table of text cells, with the file line of each row.

    Attributes
    ----------
    path
        The file.
    cells
        The cells as stripped strings, columns named by the stripped header.
    lines
        The file line (1-based) of each row.
    """

    path: Path
    cells: pd.DataFrame
    lines: np.ndarray

    @property
    def columns(self) -> list[str]:
        return list(self.cells.columns)

    def without_rows(self, drop: np.ndarray) -> Table:
        """The table without the rows where ``drop`` is true."""
        keep = ~np.asarray(drop, dtype=bool)
        return Table(self.path, self.cells[keep].reset_index(drop=True), self.lines[keep])

    def numbers(self, column: str, *, decimal_comma: bool = False) -> np.ndarray:
        """Column ``column`` as floats; refuse the first cell that is not a number."""
        text = self.cells[column]
        if decimal_comma:
            text = text.str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            i = bad[0]
            cell = self.cells[column].iloc[i]
            shown = "an empty cell" if cell == "" else repr(cell)
            raise InputError(
                f"{self.path}, line {self.lines[i]}, column {column}: {shown} is not a number; fix or delete that row"
            )
        return values

    def integers(self, column: str) -> np.ndarray:
        """Column ``column`` as exact 64-bit integers (ns time stamps lose digits as floats)."""
        text = self.cells[column]
        ok = text.str.fullmatch(r"-?\d+")
        if not ok.all():
            i = int(np.flatnonzero(~ok.to_numpy())[0])
            raise InputError(
                f"{self.path}, line {self.lines[i]}, column {column}: {text.iloc[i]!r} is not a whole number; "
                f"fix or delete that row"
            )
        return text.astype(np.int64).to_numpy()


def read_table(path: Path, text: str, header_line: int, sep: str) -> Table:
    """The table whose header is on 0-based line ``header_line`` of ``text``.

    Cells are stripped of spaces and quotes; a trailing separator is dropped, and so are blank lines.
    """
    rows = text.splitlines()[header_line:]
    if len(sep) == 1:
        # a trailing separator on some rows (Xsens data rows, Shimmer) is no extra column
        rows = [row.rstrip().rstrip(sep) for row in rows]
    numbered = [(header_line + 1 + i, row) for i, row in enumerate(rows) if row.strip(" \t" + sep)]
    if len(numbered) < 2:
        raise InputError(f"{path}, line {header_line + 2}: the file has a header but no samples; export some data")
    body = "\n".join(row for _, row in numbered)
    try:
        cells = pd.read_csv(
            io.StringIO(body),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            index_col=False,  # rows with a trailing separator keep their first column
            engine="python" if len(sep) > 1 else "c",
        )
    except pd.errors.ParserError as exc:
        raise InputError(
            f"{path}: malformed table ({str(exc).strip().splitlines()[-1]}); every row needs the header's cells"
        ) from exc
    cells.columns = [str(c).strip().strip('"').strip() for c in cells.columns]
    cells = cells.apply(lambda col: col.str.strip().str.strip('"'))
    return Table(path, cells, np.array([n for n, _ in numbered[1:]], dtype=np.int64))


def unit_factor(path: Path, column: str, quantity: str, unit: str) -> float:
    """The factor that converts ``column``'s values, in ``unit`` as its header says, to imuform's unit.

    Raises
    ------
    InputError
        When the header names a unit imuform cannot convert for that quantity.
    """
    if quantity == "mag":
        factor = MAG_TO_UT.get(unit.strip().lower())
    else:
        found = UNIT_SPELLINGS.get(unit.strip())
        factor = QUANTITIES[quantity].factors[found[1]] if found and found[0] == quantity else None
    if factor is None:
        known = MAG_TO_UT if quantity == "mag" else [k for k, (q, _) in UNIT_SPELLINGS.items() if q == quantity]
        raise InputError(
            f"{path}, column {column}: the header's unit {unit!r} is not one imuform converts for this column "
            f"(known: {', '.join(known)}); export in one of those"
        )
    return factor


def spread_repeated(time_s: np.ndarray) -> np.ndarray:
    """Times with runs of one repeated stamp spread evenly up to the next stamp.

    Some apps (MetaBase) stamp several samples of one BLE packet with the packet's time; the samples
    were taken at even steps between that stamp and the next.
    """
    t = np.asarray(time_s, dtype=float).copy()
    if len(t) < 2:
        return t
    starts = np.flatnonzero(np.concatenate([[True], np.diff(t) != 0]))
    if len(starts) == len(t):
        return t
    ends = np.append(starts[1:], len(t))
    distinct = t[starts]
    steps = np.diff(distinct)
    fallback = float(np.median(steps / np.diff(starts))) if len(steps) else 0.0
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        n = b - a
        if n == 1:
            continue
        span = steps[k] if k < len(steps) else fallback * n
        t[a:b] = distinct[k] + span * np.arange(n) / n
    return t


def rate_of(time_s: np.ndarray) -> float:
    """The median sample rate of increasing times, in Hz (NaN with fewer than two samples)."""
    steps = np.diff(time_s)
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else math.nan


def axis_stream(
    table: Table, axis: re.Pattern, names: str, kind_of_unit: dict[str, str], accepted: str, unit_alias=None
) -> tuple[str, np.ndarray]:
    """One stream written as three ``axis (unit)`` columns (MetaBase, Polar Sensor Logger): its kind and values.

    Parameters
    ----------
    table
        The file's table.
    axis
        Matches an axis column, groups (axis name, unit).
    names
        The three axis names in order, e.g. ``"xyz"``.
    kind_of_unit
        The stream (``acc``, ``gyr``, ``mag``) each header unit belongs to.
    accepted
        What the app writes, for the refusal (e.g. ``"ACC in mg, GYRO in dps, MAGN in G"``).
    unit_alias
        Optional map of a header's unit spelling to the one `unit_factor` knows.

    Returns
    -------
    kind, values
        The stream and its ``(n, 3)`` values in imuform's units.
    """
    axes = {m.group(1): (c, m.group(2)) for c in table.columns if (m := axis.match(c))}
    if set(axes) != set(names):
        raise InputError(
            f"{table.path}, line 1: expected {', '.join(names)} axis columns with their units; export again"
        )
    column, unit = axes[names[0]]
    kind = kind_of_unit.get(unit)
    if kind is None:
        raise InputError(
            f"{table.path}, column {column}: a stream in {unit!r} is none imuform imports ({accepted}); give those files"
        )
    columns = [axes[a][0] for a in names]
    return kind, vectors(table, columns, unit_factor(table.path, column, kind, (unit_alias or {}).get(unit, unit)))


def vectors(table: Table, columns: list[str], factor: float = 1.0, *, decimal_comma: bool = False) -> np.ndarray:
    """Columns ``columns`` of ``table`` as an ``(n, len(columns))`` float array times ``factor``."""
    return np.column_stack([table.numbers(c, decimal_comma=decimal_comma) for c in columns]) * factor


def find_columns(columns: list[str], names: list[str]) -> list[str] | None:
    """``names`` as spelled in ``columns`` (compared without case), or ``None`` unless all are there."""
    lower = {c.lower(): c for c in columns}
    found = [lower.get(n.lower()) for n in names]
    return None if None in found else found


def unwrap_counter(ticks: np.ndarray, modulus: int) -> np.ndarray:
    """An unsigned counter that wraps at ``modulus``, unwrapped into increasing integers."""
    ticks = np.asarray(ticks, dtype=np.int64)
    wraps = np.concatenate([[0], np.cumsum(np.diff(ticks) < -modulus // 2)])
    return ticks + wraps * modulus
