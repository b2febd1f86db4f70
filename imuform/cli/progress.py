"""`imuform progress`: form against the load on the bar over the weeks, per exercise, and the range of motion."""

from __future__ import annotations

import math
from pathlib import Path

import click
from rich.table import Table

from analysis.classify import EXERCISES
from analysis.display import fmt_num
from imuform.cli.common import console, echo_json, json_option, open_store, person_option


@click.command()
@click.option("--exercise", type=click.Choice(EXERCISES), default=None, help="Only this exercise (default: each).")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the progress page (offline HTML, readable on a phone) to this file.",
)
@json_option
@person_option
@click.pass_context
def progress(ctx: click.Context, exercise: str | None, out_path: str | None, as_json: bool) -> None:
    """Your progress over the weeks: peak lumbar flexion and lumbar share against load, the load at which your
    form breaks (against your reference reps), the trend at matched loads, flagged reps and your range of motion.

    Sets count when they carry a load ('imuform annotate', 'imuform import-log'); the comparison needs a
    reference ('imuform reference add' or 'reference propose').
    """
    from imuform.person_progress import person_progress

    with open_store(ctx, for_person=True) as store:
        found = person_progress(store, store.acting_person_id(), exercise)
    if out_path is not None:
        from dashboards.progress import write_progress_page

        write_progress_page(Path(out_path), found.person, found.exercises, found.records, found.rom)
    if as_json:
        echo_json(found.to_dict())
        return
    print_progress(found)
    if out_path is not None:
        click.echo(f"progress page: {out_path}")


def _signed(value: float, decimals: int = 1, unit: str = "") -> str:
    return fmt_num(value, decimals, unit, signed=True)


def print_progress(found) -> None:
    """The progress as rich tables: per exercise the breaking load, form by load and the trends; the range."""
    out = console()
    out.print(f"[bold]{found.person}[/]: {len(found.records)} loaded set(s)", highlight=False)
    if found.unloaded_sets:
        out.print(
            f"{found.unloaded_sets} set(s) without a load are left out: 'imuform annotate' or 'imuform import-log'",
            style="dim",
        )
    for ex in found.exercises:
        out.print(f"\n[bold]{ex.exercise.replace('_', ' ')}[/]: {ex.breaking_load.reason}", highlight=False)
        table = Table(title_justify="left")
        for col in ("load kg", "sets", "peak flex°", "share", "flagged %", "vs ref°", "broke"):
            table.add_column(col, justify="right")
        for row in ex.by_load:
            table.add_row(
                fmt_num(row.load_kg, 1),
                str(row.sets),
                fmt_num(row.peak_lumbar_flexion_deg, 1),
                fmt_num(row.lumbar_share, 2),
                fmt_num(100 * row.flagged_rep_share),
                _signed(row.reference_diff_deg),
                str(row.broken_sets),
            )
        out.print(table)
        for trend in ex.trends:
            out.print(
                f"  at {fmt_num(trend.load_kg, 1)} kg over weeks {trend.weeks[0]}-{trend.weeks[-1]}: peak flexion "
                f"{_signed(trend.flexion_slope_deg_per_week, 1, '°')}/week, lumbar share "
                f"{_signed(trend.share_slope_per_week, 3)}/week",
                highlight=False,
            )
    rom = found.rom
    if rom.tests:
        change = (
            ""
            if math.isnan(rom.flexion_change_deg)
            else f": flexion {_signed(rom.flexion_change_deg, 1, '°')}, extension "
            f"{_signed(rom.extension_change_deg, 1, '°')} since the first"
        )
        out.print(f"\nrange of motion, {len(rom.tests)} test(s){change}", highlight=False)
    if not found.exercises:
        out.print("No loaded sets yet: give sets a load with 'imuform annotate' or 'imuform import-log'.")
