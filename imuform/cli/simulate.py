"""`imuform simulate`: a simulated session with its ground truth, written to a directory."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from rich.markup import escape

from imuform.cli.common import FiniteRange, console, echo_json, json_option, open_store, person_option
from imuform.errors import InputError
from imuform.simulator import EXERCISES, FAULTS, PLACEMENTS, SessionSpec, SetSpec, SimulatedSession, simulate_session
from imuform.simulator.exercises import compatible


def _store(ctx: click.Context, sim: SimulatedSession, name: str) -> str:
    """Store the simulated samples with their device clock, and the gaps a receiver would notice."""
    meta = {
        p: {"kind": "simulated", "model": "imuform simulator", "rate_hz": s.params.rate_hz}
        for p, s in sim.streams.items()
    }
    with open_store(ctx, for_person=True) as store:
        samples = pd.concat([s.samples(device_time=True) for s in sim.streams.values()], ignore_index=True)
        gaps = [
            {"placement": placement, "start_s": start_s, "end_s": end_s, "reason": "packet loss"}
            for placement, stream in sim.streams.items()
            for start_s, end_s in stream.gaps()
        ]
        return store.import_samples(
            samples, name=name, notes=f"simulated, seed {sim.spec.seed}", sensors=meta, gaps=gaps, source="simulate"
        )


def _summary(sim: SimulatedSession, out: Path) -> dict:
    return {
        "out": str(out),
        "files": [str(out / f) for f in ("samples.csv", "truth.json", "truth_angles.csv")],
        "duration_s": sim.truth["duration_s"],
        "samples": len(sim.samples),
        "sets": [
            {
                "exercise": s["exercise"],
                "fault": s["fault"],
                "reps": s["rep_count"],
                "start_s": s["start_s"],
                "end_s": s["end_s"],
                "flagged_reps": sum(bool(r["faults"]) for r in s["reps"]),
            }
            for s in sim.truth["sets"]
        ],
    }


@click.command()
@click.option(
    "--exercise", type=click.Choice(EXERCISES), default="deadlift", show_default=True, help="Exercise of every set."
)
@click.option("--reps", type=click.IntRange(1, 50), default=5, show_default=True, help="Reps per set.")
@click.option("--sets", "n_sets", type=click.IntRange(1, 20), default=3, show_default=True, help="Number of sets.")
@click.option("--fault", type=click.Choice(FAULTS), default="none", show_default=True, help="Form fault of every set.")
@click.option(
    "--rate-hz", type=FiniteRange(25.0, 400.0), default=100.0, show_default=True, help="Sensor rate, 25-400 Hz."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed: the same options and seed give the same files."
)
@click.option(
    "--sensors",
    default="lumbar,thoracic",
    show_default=True,
    help="Placements: lumbar,thoracic[,upper_thoracic][,thigh].",
)
@click.option(
    "--ideal", is_flag=True, help="Perfect sensors: no noise, bias, misalignment, clock error or packet loss."
)
@click.option("--no-mag", is_flag=True, help="Leave out the magnetometer.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory to write into (default: ./simulated).",
)
@click.option(
    "--import", "do_import", is_flag=True, help="Also store the result as a session; its id is the last line."
)
@click.option("--list", "do_list", is_flag=True, help="List the exercises and faults and exit.")
@json_option
@person_option
@click.pass_context
def simulate(
    ctx: click.Context,
    exercise: str,
    reps: int,
    n_sets: int,
    fault: str,
    rate_hz: float,
    seed: int,
    sensors: str,
    ideal: bool,
    no_mag: bool,
    out_dir: str | None,
    do_import: bool,
    do_list: bool,
    as_json: bool,
) -> None:
    """Simulate a gym session with known truth: samples.csv, truth.json and truth_angles.csv.

    Quiet standing for calibration, a range-of-motion check, then the sets with rest, walking, sitting
    and plate loading between them, seen through realistic IMUs (misalignment, noise, bias drift,
    clock drift, packet loss). truth.json holds every set and rep with the flags a correct analysis
    must raise.
    """
    if do_list:
        listing = {"exercises": list(EXERCISES), "faults": list(FAULTS), "placements": list(PLACEMENTS)}
        if as_json:
            echo_json(listing)
        else:
            for key, names in listing.items():
                click.echo(f"{key}: {', '.join(names)}")
        return
    if not compatible(exercise, fault):
        raise click.UsageError(
            f"--fault {fault} needs a back extension; use --exercise back_extension_45 or back_extension_90"
        )
    placements = tuple(p.strip() for p in sensors.split(",") if p.strip())
    spec = SessionSpec(
        sets=[SetSpec(exercise, reps, fault) for _ in range(n_sets)],
        rate_hz=rate_hz,
        sensors=placements,
        seed=seed,
        ideal=ideal,
        magnetometer=not no_mag,
    )
    try:
        spec.validate()
    except InputError as exc:  # the spec is made of the options alone
        raise click.UsageError(str(exc)) from None
    sim = simulate_session(spec)
    out = sim.write(out_dir or "simulated")
    summary = _summary(sim, out)
    if do_import:
        summary["session_id"] = _store(ctx, sim, name=f"simulated {exercise} {fault} seed {seed}")
    if as_json:
        echo_json(summary)
        return
    con = console()
    con.print(
        f"simulated {summary['duration_s']:.0f} s, {summary['samples']} samples from {', '.join(placements)} at {rate_hz:g} Hz"
    )
    for i, s in enumerate(summary["sets"], 1):
        con.print(
            f"set {i}: {s['reps']} × {s['exercise']} ({s['fault']}), {s['start_s']:.1f}-{s['end_s']:.1f} s, {s['flagged_reps']} reps flagged in truth"
        )
    con.print(f"wrote {escape(', '.join(summary['files']))}")
    if do_import:
        click.echo(summary["session_id"])
