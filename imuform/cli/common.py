"""Helpers shared by the CLI commands: the store of the current home, JSON output, the console."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime

import click
from rich.console import Console

from imuform.store import Store


def open_store(ctx: click.Context) -> Store:
    """The session store of ``--home`` / ``IMUFORM_HOME`` / the per-user data directory."""
    root = ctx.find_root()
    home = (root.obj or {}).get("home")
    return Store(home)


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
