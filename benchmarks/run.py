"""`make bench`: run every benchmark and print one table; `--check` fails on a missed target.

Each module in `MODULES` exposes ``run(quick: bool = False) -> list[Figure]``. The table shows each
figure, its target and the ratio against the baseline measured side by side in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

from benchmarks.figures import Figure, markdown_table, print_table, wide_console

MODULES = (
    "benchmarks.bench_decode",
    "benchmarks.bench_io",
    "benchmarks.bench_analyze",
    "benchmarks.bench_startup",
    "benchmarks.bench_live",
    "benchmarks.bench_report",
    "benchmarks.bench_ble",
    "benchmarks.accuracy",
    "benchmarks.accuracy_recorded",
    "benchmarks.validate_real",
)
#: `--check` fails when a figure misses its target by more than this fraction.
CHECK_TOLERANCE = 0.30


def machine() -> str:
    """One line describing the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, for a fast look")
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 when a figure misses its target by > {CHECK_TOLERANCE:.0%}"
    )
    parser.add_argument("--only", action="append", default=[], help="run only modules whose name contains this")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    console = wide_console()
    figures: list[Figure] = []
    for name in MODULES:
        if args.only and not any(o in name for o in args.only):
            continue
        start = time.perf_counter()
        module = importlib.import_module(name)
        console.print(f"[dim]running {name} …[/dim]")
        figures.extend(module.run(quick=args.quick))
        console.print(f"[dim]{name} took {time.perf_counter() - start:.0f} s[/dim]")
    title = f"imuform benchmarks ({'quick' if args.quick else 'full'}) on {machine()}"
    print_table(title, figures, console)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(f"{title}\n\n{markdown_table(figures)}")
    if args.check:
        missed = [f for f in figures if f.misses_by() > CHECK_TOLERANCE]
        for f in missed:
            console.print(f"[red]missed by {f.misses_by():.0%}: {f.name} = {f.value:.4g} {f.unit}[/red]")
        return 1 if missed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
