"""`imuform people`: the people of a store (list), `people add NAME`, `people rename OLD NEW`."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from imuform.cli.common import console, echo_json, json_option, open_store
from imuform.store_people import add_person, rename_person, session_counts
from imuform.store_people import people as people_of


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def people(ctx: click.Context, as_json: bool) -> None:
    """List the people of the store (a coach's athletes, a physio's clients) with their session counts."""
    if ctx.invoked_subcommand is not None:
        return
    with open_store(ctx) as store:
        everyone = people_of(store)
        counts = session_counts(store)
    rows = [{"id": p.id, "name": p.name, "created_at": p.created_at, "sessions": counts.get(p.id, 0)} for p in everyone]
    if as_json:
        echo_json(rows)
        return
    table = Table(title=f"{len(rows)} person(s)", title_justify="left")
    for col in ("name", "sessions", "added"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["name"]), str(r["sessions"]), r["created_at"][:10])
    console().print(table)


@people.command()
@click.argument("name")
@click.pass_context
def add(ctx: click.Context, name: str) -> None:
    """Add a person named NAME."""
    with open_store(ctx) as store:
        person = add_person(store, name)
    click.echo(f"added {person.name}; give --person {person.name!r} to record, import or analyse for them")


@people.command()
@click.argument("old")
@click.argument("new")
@click.pass_context
def rename(ctx: click.Context, old: str, new: str) -> None:
    """Rename the person OLD to NEW; their sessions, profile and references stay theirs."""
    with open_store(ctx) as store:
        person = rename_person(store, old, new)
    click.echo(f"renamed {old} to {person.name}")
