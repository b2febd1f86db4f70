"""`imuform reference`: a person's reference reps per exercise (add, list, remove, propose)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from analysis.classify import EXERCISES
from imuform.cli.common import console, echo_json, json_option, open_store, person_name, person_option
from imuform.errors import InputError
from imuform.store_references import add_reference, parse_rep_range, references, remove_reference


def _entry(ref) -> dict:
    return {
        "id": ref.id,
        "exercise": ref.exercise,
        "session_id": ref.session_id,
        "set": ref.set_index,
        "reps": [ref.first_rep, ref.last_rep],
        "source": ref.source,
        "created_at": ref.created_at,
    }


@click.group()
def reference() -> None:
    """Your reference reps per exercise: later reps are compared with them (analyze, report, progress)."""


@reference.command()
@click.argument("session")
@click.option("--set", "set_index", type=click.IntRange(min=1), required=True, help="The set (from 1, as analyze).")
@click.option("--reps", "rep_range", default=None, metavar="FIRST-LAST", help="Reps of the set (default: all of it).")
@json_option
@person_option
@click.pass_context
def add(ctx: click.Context, session: str, set_index: int, rep_range: str | None, as_json: bool) -> None:
    """Make reps of set N of SESSION (yours, for its exercise) a reference."""
    from imuform.session_analysis import analysed_document
    from imuform.store_people import check_owner, person_of_session

    with open_store(ctx) as store:
        session_id = store.resolve(session)
        person = person_of_session(store, session_id)
        check_owner(store, session_id, person_name(ctx))
        doc = analysed_document(store, session_id)
        sets = {int(s["index"]): s for s in doc["sets"]}
        if set_index not in sets:
            raise InputError(
                f"session {session_id} has {len(sets)} set(s), not set {set_index}; 'imuform analyze {session_id}'"
                " lists them"
            )
        count = int(sets[set_index]["rep_count"])
        first, last = parse_rep_range(rep_range) if rep_range else (1, count)
        if last > count:
            raise InputError(f"set {set_index} of session {session_id} has {count} reps; give --reps within 1-{count}")
        ref = add_reference(store, person.id, sets[set_index]["exercise"], session_id, set_index, (first, last))
    if as_json:
        echo_json(_entry(ref))
        return
    click.echo(
        f"reference #{ref.id} of {person.name} for {ref.exercise.replace('_', ' ')}: session {session_id} set "
        f"{set_index}, reps {first}-{last}"
    )


@reference.command("list")
@click.option("--exercise", default=None, help="Only this exercise's references.")
@json_option
@person_option
@click.pass_context
def list_(ctx: click.Context, exercise: str | None, as_json: bool) -> None:
    """List your references, oldest first."""
    with open_store(ctx, for_person=True) as store:
        rows = references(store, store.acting_person_id(), exercise)
    if as_json:
        echo_json([_entry(r) for r in rows])
        return
    if not rows:
        click.echo("No references yet: 'imuform reference add SESSION --set N' or 'imuform reference propose'.")
        return
    table = Table(title=f"{len(rows)} reference(s)", title_justify="left")
    for col in ("id", "exercise", "session", "set", "reps", "chosen"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.id),
            escape(r.exercise.replace("_", " ")),
            r.session_id,
            str(r.set_index),
            f"{r.first_rep}-{r.last_rep}",
            f"{'by you' if r.source == 'you' else 'proposed'} {r.created_at[:10]}",
        )
    console().print(table)


@reference.command()
@click.argument("reference_id", metavar="ID", type=click.IntRange(min=1))
@person_option
@click.pass_context
def remove(ctx: click.Context, reference_id: int) -> None:
    """Remove reference ID (its session and reps stay)."""
    with open_store(ctx, for_person=True) as store:
        remove_reference(store, store.acting_person_id(), reference_id)
    click.echo(f"removed reference #{reference_id}")


@reference.command()
@click.option("--exercise", type=click.Choice(EXERCISES), default=None, help="Only this exercise (default: each).")
@click.option("--yes", "-y", is_flag=True, help="Store the proposals without asking.")
@json_option
@person_option
@click.pass_context
def propose(ctx: click.Context, exercise: str | None, yes: bool, as_json: bool) -> None:
    """Propose references from your sessions: per exercise the set with the least lumbar flexion for its hinge.

    Each proposal is shown for you to confirm (--yes stores them all; --json only shows them).
    """
    from imuform.reference_reps import propose as propose_for

    with open_store(ctx, for_person=True) as store:
        person_id = store.acting_person_id()
        exercises = [exercise] if exercise else _exercises_of(store, person_id)
        proposals = [p for p in (propose_for(store, person_id, e) for e in exercises) if p is not None]
        stored = []
        for p in proposals:
            reps = (min(p.rep_indices), max(p.rep_indices))
            if as_json and not yes:
                continue
            if not as_json:
                click.echo(
                    f"{p.exercise.replace('_', ' ')}: session {p.session_id} set {p.set_index}, reps {reps[0]}-{reps[1]}"
                    f" — {p.reason}"
                )
            if yes or click.confirm("Make these reps your reference?", default=True):
                stored.append(add_reference(store, person_id, p.exercise, p.session_id, p.set_index, reps, "proposed"))
    if as_json:
        echo_json(
            {
                "proposals": [
                    {
                        "exercise": p.exercise,
                        "session_id": p.session_id,
                        "set": p.set_index,
                        "reps": list(p.rep_indices),
                        "lumbar_share": p.lumbar_share,
                        "reason": p.reason,
                    }
                    for p in proposals
                ],
                "stored": [_entry(r) for r in stored],
            }
        )
    elif not proposals:
        click.echo("Nothing to propose yet: it needs sets of at least two measured reps of an exercise.")


def _exercises_of(store, person_id: int) -> list[str]:
    """The exercises of a person's analysed sets (the lifter's label first), in the order of EXERCISES."""
    from imuform.session_analysis import person_documents

    found = {s["exercise"] for _, doc in person_documents(store, person_id) for s in doc["sets"]}
    return [e for e in EXERCISES if e in found]
