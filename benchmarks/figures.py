"""One format for every benchmark figure, and one table printer."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass
class Figure:
    """A measured figure against its target.

    Attributes
    ----------
    name
        What was measured, e.g. ``"decode imuform format"``.
    value
        The measured value, in ``unit``.
    unit
        Unit of ``value`` and ``target``, e.g. ``"samples/s"``, ``"s"``, ``"deg"``, ``"%"``.
    target
        The target value, or ``None`` for a figure shown for information.
    higher_is_better
        Whether the target is a floor (True) or a ceiling (False).
    baseline
        The baseline's value measured side by side in the same run, or ``None``.
    note
        Short context: data size, method.
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    baseline: float | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None without a target)."""
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def misses_by(self) -> float:
        """Relative shortfall against the target (0 when met)."""
        if self.target is None or self.met:
            return 0.0
        if self.higher_is_better:
            return (self.target - self.value) / self.target
        return (self.value - self.target) / self.target

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (>1 is better)."""
        if self.baseline is None or self.value == 0 or self.baseline == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1e5:
        return f"{x:.3g}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:,.1f}"


def markdown_table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (for the README)."""
    rows = ["| figure | value | target | met | baseline (same run) | note |", "| --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        op = "≥" if f.higher_is_better else "≤"
        target = "–" if f.target is None else f"{op} {_fmt(f.target)} {f.unit}"
        met = {None: "", True: "yes", False: "**no**"}[f.met]
        base = "–" if f.baseline is None else f"{_fmt(f.baseline)} {f.unit}" + (f" ({f.ratio:.1f}×)" if f.ratio else "")
        rows.append(f"| {f.name} | {_fmt(f.value)} {f.unit} | {target} | {met} | {base} | {f.note} |")
    return "\n".join(rows) + "\n"


def print_table(title: str, figures: list[Figure], console: Console | None = None) -> None:
    """Print figures as one table: value, target, met, baseline and ratio."""
    table = Table(title=title)
    for col in ("figure", "value", "target", "met", "baseline", "× baseline", "note"):
        table.add_column(col)
    for f in figures:
        op = "≥" if f.higher_is_better else "≤"
        target = "–" if f.target is None else f"{op} {_fmt(f.target)} {f.unit}"
        met = {None: "", True: "yes", False: "NO"}[f.met]
        ratio = "–" if f.ratio is None else f"{f.ratio:.1f}×"
        table.add_row(f.name, f"{_fmt(f.value)} {f.unit}", target, met, _fmt(f.baseline), ratio, f.note)
    (console or wide_console()).print(table)


def wide_console() -> Console:
    """A console that does not squeeze tables when output goes to a file or a pipe."""
    import sys

    return Console(width=None if sys.stdout.isatty() else 160)
