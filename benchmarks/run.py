"""`make bench`: run every benchmark and print one table; `--check` fails on a missed target.

Each module in `MODULES` exposes ``run(quick: bool = False) -> list[Figure]``. The table shows each
figure, its target and the ratio against the baseline measured side by side in the same run. `--check`
exits 1 when a figure falls short of its target by its own absolute tolerance or more
(`Figure.fails_check`); `--json` keeps the figures and `--from` checks kept figures without running.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

from benchmarks.figures import Figure, load_figures, markdown_table, print_table, save_figures, wide_console

MODULES = (
    "benchmarks.bench_decode",
    "benchmarks.bench_io",
    "benchmarks.bench_analyze",
    "benchmarks.bench_startup",
    "benchmarks.bench_live",
    "benchmarks.bench_live_web",
    "benchmarks.bench_report",
    "benchmarks.bench_ble",
    "benchmarks.bench_finalize",
    "benchmarks.accuracy",
    "benchmarks.accuracy_recorded",
    "benchmarks.validate_real",
    "benchmarks.fault_suite",
    "benchmarks.progress_accuracy",
)


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
        "--check", action="store_true", help="exit 1 when a figure falls short of its target by its tolerance or more"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON (for --from)")
    parser.add_argument("--from", dest="from_json", metavar="FILE", help="take the figures from FILE, run nothing")
    parser.add_argument("--only", action="append", default=[], help="run only modules whose name contains this")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown (for the README)")
    args = parser.parse_args(argv)
    console = wide_console()
    figures: list[Figure] = []
    if args.from_json:
        try:
            figures = load_figures(args.from_json)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for name in () if args.from_json else MODULES:
        if args.only and not any(o in name for o in args.only):
            continue
        start = time.perf_counter()
        module = importlib.import_module(name)
        console.print(f"[dim]running {name} …[/dim]")
        figures.extend(module.run(quick=args.quick))
        console.print(f"[dim]{name} took {time.perf_counter() - start:.0f} s[/dim]")
    title = (
        f"figures kept in {args.from_json}"
        if args.from_json
        else f"imuform benchmarks ({'quick' if args.quick else 'full'}) on {machine()}"
    )
    print_table(title, figures, console)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(f"{title}\n\n{markdown_table(figures)}")
    if args.json:
        save_figures(figures, args.json)
    if args.check:
        failed = [f for f in figures if f.fails_check]
        for f in failed:
            console.print(
                f"[red]short by {f.shortfall():.4g} {f.unit} (tolerance {f.allowed_shortfall:.4g}): "
                f"{f.name} = {f.value:.4g} {f.unit}, target {f.target:.4g}[/red]"
            )
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
