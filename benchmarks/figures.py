"""One format for every benchmark figure, the gate's tolerances, one table printer and a JSON form."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

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
    tolerance
        How far short of its target the figure may fall and still pass `make bench-check`, absolute, in
        ``unit``; None takes `UNIT_TOLERANCE` (or `TIMING_TOLERANCE_SHARE` of the target for timings).
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    baseline: float | None = None
    note: str = ""
    tolerance: float | None = None

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None without a target)."""
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def shortfall(self) -> float:
        """How far the value falls short of the target, in ``unit`` (0 when met or without a target)."""
        if self.target is None or self.met:
            return 0.0
        return self.target - self.value if self.higher_is_better else self.value - self.target

    @property
    def allowed_shortfall(self) -> float | None:
        """The figure's own tolerance, else its unit's; None without a target."""
        if self.target is None:
            return None
        if self.tolerance is not None:
            return self.tolerance
        if self.unit in UNIT_TOLERANCE:
            return UNIT_TOLERANCE[self.unit]
        return TIMING_TOLERANCE_SHARE * abs(self.target)

    @property
    def fails_check(self) -> bool:
        """Whether `make bench-check` fails on this figure: short of its target by its tolerance or more.

        A tolerance of 0 fails on any miss; a target of 0 needs no division.
        """
        return self.target is not None and not self.met and self.shortfall() >= self.allowed_shortfall

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (>1 is better)."""
        if self.baseline is None or self.value == 0 or self.baseline == 0:
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


#: Absolute tolerance of `make bench-check` per unit, in that unit, for figures without their own:
#: percentages of sets or reps 1 point (about two sets of a full accuracy run), angles 0.3° (a fifth of
#: the 1.5° RMSE target), unitless ratios (precision, recall, confidence) 0.01, counts of lost or
#: duplicated samples none at all.
UNIT_TOLERANCE: dict[str, float] = {"%": 1.0, "°": 0.3, "": 0.01, "samples": 0.0, "gaps": 0.0}
#: Timings, throughputs and memory vary with the load of the shared 2-core machine: a figure in any other
#: unit may fall short by this share of its target.
TIMING_TOLERANCE_SHARE = 0.25


def save_figures(figures: list[Figure], path: str | Path) -> None:
    """Write figures as JSON (a list of `Figure.to_dict`), for a later `load_figures`."""
    Path(path).write_text(json.dumps([f.to_dict() for f in figures], indent=1) + "\n", encoding="utf-8")


def load_figures(path: str | Path) -> list[Figure]:
    """Figures written by `save_figures`.

    Raises
    ------
    ValueError
        One line naming the file, the entry and the fix when an entry is not a figure.
    """
    fields = set(Figure.__dataclass_fields__)
    out = []
    for i, entry in enumerate(json.loads(Path(path).read_text(encoding="utf-8"))):
        if not isinstance(entry, dict) or not {"name", "value", "unit"} <= set(entry) or set(entry) - fields:
            raise ValueError(
                f"{path}: entry {i} is not a figure; give name, value, unit and only {', '.join(sorted(fields))}"
            )
        out.append(Figure(**entry))
    return out


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1e5:
        return f"{x:.3g}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:,.1f}"


def _met_text(f: Figure, no: str) -> str:
    """``yes``, ``no`` (failing the gate) or ``short, within ±tolerance`` (passing it)."""
    if f.met is None or f.met:
        return "" if f.met is None else "yes"
    return no if f.fails_check else f"short, within {_fmt(f.allowed_shortfall)}"


def markdown_table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (for the README)."""
    rows = ["| figure | value | target | met | baseline (same run) | note |", "| --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        op = "≥" if f.higher_is_better else "≤"
        target = "–" if f.target is None else f"{op} {_fmt(f.target)} {f.unit}"
        met = _met_text(f, "**no**")
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
        met = _met_text(f, "NO")
        ratio = "–" if f.ratio is None else f"{f.ratio:.1f}×"
        table.add_row(f.name, f"{_fmt(f.value)} {f.unit}", target, met, _fmt(f.baseline), ratio, f.note)
    (console or wide_console()).print(table)


def wide_console() -> Console:
    """A console that does not squeeze tables when output goes to a file or a pipe."""
    import sys

    return Console(width=None if sys.stdout.isatty() else 160)


def benchmark_options(doc: str | None, argv: list[str] | None = None, **flags: str) -> argparse.Namespace:
    """A benchmark script's options: ``--quick`` plus one ``--NAME`` switch per keyword (its help text).

    ``--help`` prints the script's first docstring line and its switches; an unknown option stops the
    script with argparse's one-line usage error instead of being ignored.
    """
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="smaller data, for a fast look")
    for name, help_text in flags.items():
        parser.add_argument(f"--{name}", action="store_true", help=help_text)
    return parser.parse_args(argv)
