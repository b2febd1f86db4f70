"""Helpers shared by the CLI commands: the store of the current home, JSON output, the console."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime

import click
from rich.console import Console

from imuform.store import Store
from imuform.store_people import act_for


def open_store(ctx: click.Context, *, for_person: bool = False) -> Store:
    """The session store of ``--home`` / ``IMUFORM_HOME`` / the per-user data directory.

    With ``for_person`` it records, lists and profiles for the person of ``--person`` (`person_option`), or the
    store's only person; a store of several people without ``--person`` is refused.
    """
    store = Store((ctx.find_root().obj or {}).get("home"))
    if for_person:
        try:
            act_for(store, person_name(ctx))
        except BaseException:
            store.close()
            raise
    return store


def person_name(ctx: click.Context) -> str | None:
    """The ``--person`` given to the command (or ``IMUFORM_PERSON``), None when none was."""
    return (ctx.find_root().obj or {}).get("person")


def _remember_person(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.find_root().ensure_object(dict)["person"] = value
    return value


#: ``--person NAME`` of the commands that record, list or judge for one person (`open_store`).
person_option = click.option(
    "--person",
    metavar="NAME",
    envvar="IMUFORM_PERSON",
    expose_value=False,
    callback=_remember_person,
    help="Whose data (see 'imuform people'); not needed in a store of one person. Env IMUFORM_PERSON.",
)


def started_at_time(text: str) -> datetime | None:
    """A session's start time as stored (ISO 8601; without a zone, UTC), or ``None`` when it is no date.

    Old imports stored whatever their session.json said; one such value must not break the others.
    """
    try:
        when = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def started_label(text: str, *, seconds: bool = True) -> str:
    """A session's start time for people, as stored (``2025-03-01 10:00:00``), or ``unknown date``."""
    when = started_at_time(text)
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") if when else "unknown date"


def echo_json(data) -> None:
    """Print data as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str))


def console() -> Console:
    """A rich console on stdout (plain text when stdout is not a terminal)."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


class FiniteRange(click.FloatRange):
    """A `click.FloatRange` that also refuses nan and infinity (which FloatRange lets through): usage errors."""

    def convert(self, value, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


#: A finite number above zero: a rate, a duration, a timeout, a scale factor, a limit.
POSITIVE = FiniteRange(0.0, min_open=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
