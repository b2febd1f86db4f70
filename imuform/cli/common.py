"""Helpers shared by the CLI commands: the store of the current home, JSON output, the console."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from imuform.store import Store


def open_store(ctx: click.Context) -> Store:
    """The session store of ``--home`` / ``IMUFORM_HOME`` / the per-user data directory."""
    root = ctx.find_root()
    home = (root.obj or {}).get("home")
    return Store(home)


def echo_json(data) -> None:
    """Print data as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str))


def console() -> Console:
    """A rich console on stdout (plain text when stdout is not a terminal)."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 140)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
