"""`imuform annotate SESSION --set N`: the exercise, the load on the bar and the effort of a recorded set."""

from __future__ import annotations

import click

from analysis.classify import EXERCISES
from imuform.cli.common import FiniteRange, echo_json, json_option, open_store
from imuform.store_sets import KG_PER_LB, SetLabel, label_sets


@click.command()
@click.argument("session")
@click.option("--set", "set_index", type=click.IntRange(min=1), required=True, help="The set (from 1, as analyze).")
@click.option("--load-kg", type=FiniteRange(0, 1000), metavar="KG", help="Load on the bar in kg.")
@click.option("--load-lb", type=FiniteRange(0, 2205), metavar="LB", help="Load on the bar in lb (stored in kg).")
@click.option("--exercise", type=click.Choice(EXERCISES), help="The exercise (wins over the classifier's).")
@click.option("--rpe", type=FiniteRange(1, 10), help="Rate of perceived exertion, 1-10.")
@click.option("--rir", type=FiniteRange(0, 20), help="Reps in reserve.")
@json_option
@click.pass_context
def annotate(
    ctx: click.Context,
    session: str,
    set_index: int,
    load_kg: float | None,
    load_lb: float | None,
    exercise: str | None,
    rpe: float | None,
    rir: float | None,
    as_json: bool,
) -> None:
    """Say what set N of SESSION was: its exercise, load and effort. Figures not given keep their stored value.

    Your exercise always wins over the classifier's in analyze, the report, the dashboard and the exports
    ("named by you"). The session is analysed first if it was not yet.
    """
    if load_kg is not None and load_lb is not None:
        raise click.UsageError("give the load once: --load-kg KG or --load-lb LB")
    if all(v is None for v in (load_kg, load_lb, exercise, rpe, rir)):
        raise click.UsageError("say something about the set: --load-kg, --load-lb, --exercise, --rpe or --rir")
    if load_lb is not None:
        load_kg = load_lb * KG_PER_LB
    label = SetLabel(set_index, exercise=exercise, load_kg=load_kg, rpe=rpe, rir=rir, source="you")
    with open_store(ctx) as store:
        session_id = store.resolve(session)
        doc = label_sets(store, session_id, [label])
    entry = next(s for s in doc["sets"] if s["index"] == set_index)
    if as_json:
        echo_json({"session_id": session_id, "set": {k: v for k, v in entry.items() if k != "reps"}})
        return
    parts = [f"{entry['exercise']} ({entry['exercise_named_by']})"]
    if entry["load_kg"] is not None:
        parts.append(f"{entry['load_kg']:.1f} kg")
    parts += [f"{name} {entry[name]:g}" for name in ("rpe", "rir") if entry[name] is not None]
    click.echo(f"session {session_id} set {set_index}: {', '.join(parts)}")
