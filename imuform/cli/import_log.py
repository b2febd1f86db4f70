"""`imuform import-log LOG.csv`: a Strong or Hevy log's exercise, load and RPE onto the recorded sets."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.markup import escape
from rich.table import Table

from imuform.cli.common import console, echo_json, json_option, open_store, person_option


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.tzinfo:
    if value is None:
        return dt.datetime.now().astimezone().tzinfo  # the machine's, which is the phone's for most people
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.BadParameter(f"{value!r} is no time zone; give one like Europe/Berlin or UTC") from exc


def _row(m, sure: str) -> tuple[str, ...]:
    logged, recorded = m.logged, m.recorded
    load = "–" if logged.load_kg is None else f"{logged.load_kg:.1f}"
    return (
        str(logged.line),
        f"{logged.workout_start:%Y-%m-%d %H:%M} {escape(logged.workout)}",
        escape(logged.exercise_name),
        load,
        str(logged.reps),
        f"{recorded.session_id} set {recorded.set_index}",
        str(recorded.rep_count),
        sure,
    )


@click.command("import-log")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--app", type=click.Choice(["auto", "strong", "hevy"]), default="auto", show_default=True, help="Whose export."
)
@click.option(
    "--weight-unit",
    type=click.Choice(["kg", "lb"]),
    help="Unit of a Strong export that does not name it (the app's unit setting; default kg).",
)
@click.option("--timezone", "zone", callback=_zone, help="Time zone of the log's times (default: this machine's).")
@click.option(
    "--yes", "-y", is_flag=True, help="Apply the confident matches without asking (mismatches are left as they are)."
)
@json_option
@person_option
@click.pass_context
def import_log(
    ctx: click.Context, path: str, app: str, weight_unit: str | None, zone: dt.tzinfo, yes: bool, as_json: bool
) -> None:
    """Match a Strong or Hevy CSV export to your recorded sets, and label them with its exercise, load and RPE.

    A logged set matches a recorded one when the recording falls in the workout's time window and the two
    agree in order and rep count. Confident matches are applied after you confirm (--yes: at once); sets
    whose rep counts differ are listed and asked one by one, and sets found on one side only are listed.
    """
    from imuform.importers.lift_log import read_log_file
    from imuform.lift_log_matching import MatchRules, apply_matches, match_log, recorded_sets

    log = read_log_file(path, app, weight_unit=weight_unit, zone=zone)
    slack = dt.timedelta(minutes=MatchRules().window_slack_min)
    with open_store(ctx, for_person=True) as store:
        windows = {(s.workout_start - slack, s.workout_end + slack) for s in log.sets if s.exercise is not None}
        found = match_log(log, recorded_sets(store, windows))
        if not as_json:
            _print(found)
        if yes or as_json:  # --json without --yes only reports
            chosen = list(found.confident) if yes else []
        else:
            chosen = list(found.confident)
            if chosen and not click.confirm(f"Label {len(chosen)} set(s) whose reps agree?", default=True):
                chosen = []
            chosen += [
                m
                for m in found.mismatches
                if click.confirm(
                    f"Line {m.logged.line} ({m.logged.reps} reps) is {m.recorded.session_id} set "
                    f"{m.recorded.set_index} ({m.recorded.rep_count} reps found)?",
                    default=False,
                )
            ]
        applied = apply_matches(store, log.app, chosen)
    if as_json:
        echo_json(
            {
                "app": log.app,
                "applied": applied,
                "matches": [
                    {
                        "line": m.logged.line,
                        "session_id": m.recorded.session_id,
                        "set": m.recorded.set_index,
                        "logged_reps": m.logged.reps,
                        "recorded_reps": m.recorded.rep_count,
                        "load_kg": m.logged.load_kg,
                        "confident": m.confident,
                    }
                    for m in found.matches
                ],
                "unrecorded_lines": [s.line for s in found.unrecorded],
                "unlogged_sets": [{"session_id": r.session_id, "set": r.set_index} for r in found.unlogged],
            }
        )
        return
    click.echo(f"labelled {applied} set(s) from {log.app.capitalize()}'s log {path}")


def _print(found) -> None:
    out = console()
    if not found.matches:
        out.print("No logged set falls in a recorded session: check --timezone and --person.")
    else:
        table = Table(title="logged sets and the recorded sets they match", title_justify="left")
        for col in ("line", "workout", "exercise", "kg", "reps", "recorded", "reps found", "match"):
            table.add_column(col)
        for m in found.matches:
            table.add_row(*_row(m, "yes" if m.confident else "reps differ: confirm"))
        out.print(table)
    for s in found.unrecorded:
        out.print(f"line {s.line}: {escape(s.exercise_name)} {s.reps} reps was not recorded", markup=False)
    for r in found.unlogged:
        out.print(f"{r.session_id} set {r.set_index} ({r.rep_count} reps) is not in the log", markup=False)
