"""`imuform sessions`, `imuform show SESSION` and `imuform delete SESSION`.

Names, notes and sensor fields are the user's (or an imported file's) text: escaped wherever rich prints them,
so brackets show as typed instead of being read as markup.
"""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from imuform.cli.common import console, echo_json, json_option, open_store, person_name, person_option, started_label


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


@click.command()
@json_option
@person_option
@click.pass_context
def sessions(ctx: click.Context, as_json: bool) -> None:
    """List stored sessions, newest first."""
    with open_store(ctx, for_person=person_name(ctx) is not None) as store:
        rows = store.sessions()
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No sessions yet. Try 'imuform demo', 'imuform simulate --import' or 'imuform import samples.csv'.")
        return
    table = Table(title=f"{len(rows)} session(s)")
    # a coach's store of several people says whose each session is
    whose = len({r["person"] for r in rows}) > 1
    for col in ("id", "started", *(["person"] if whose else []), "name", "sensors", "duration", "samples", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            escape(r["id"]),
            started_label(r["started_at"]),
            *([escape(r["person"])] if whose else []),
            escape(r["name"]),
            escape(", ".join(r["sensors"])),
            _duration(r["duration_s"]),
            f"{r['samples']:,}",
            escape(r["source"]),
        )
    console().print(table)


@click.command()
@click.argument("session")
@json_option
@click.pass_context
def show(ctx: click.Context, session: str, as_json: bool) -> None:
    """Show one SESSION (an id or a unique prefix): sensors, samples, gaps and events."""
    with open_store(ctx) as store:
        info = store.session(session)
    if as_json:
        echo_json(info)
        return
    out = console()
    out.print(f"[bold]Session {escape(info['id'])}[/bold]  {escape(info['name'])}")
    out.print(
        f"started {started_label(info['started_at'])}  source {escape(info['source'])}  raw packets {info['raw_packets']:,}"
        f"  analysed {'yes' if info['analysed'] else 'no'}"
    )
    if info["notes"]:
        out.print(f"notes: {escape(info['notes'])}")
    table = Table(title="Sensors")
    for col in ("placement", "kind", "model", "address", "rate Hz", "firmware", "samples", "span s"):
        table.add_column(col)
    for s in info["sensors"]:
        span = f"{s['start_s']:.1f}–{s['end_s']:.1f}" if s["start_s"] is not None else "–"
        rate = f"{s['rate_hz']:g}" if s["rate_hz"] else "–"
        text = [escape(s[key]) for key in ("placement", "kind", "model", "address")]
        table.add_row(*text, rate, escape(s["firmware"]), f"{s['samples']:,}", span)
    out.print(table)
    if info["gaps"]:
        out.print(
            "Gaps: "
            + "; ".join(
                f"{escape(g['placement'])} {g['start_s']:.1f}–{g['end_s']:.1f} s ({escape(g['reason'])})"
                for g in info["gaps"]
            )
        )
    for e in info["events"]:
        if e["kind"] == "clock":
            d = e["detail"]
            out.print(
                f"clock {d.get('placement', '?')}: {d.get('method', '?')} over {d.get('points', 0)} points, offset "
                f"{d.get('offset_s', float('nan')):+.3f} s, drift {d.get('drift_ppm', float('nan')):+.0f} ppm, latency "
                f"above the fit p50 {d.get('latency_ms_p50', float('nan')):.1f} ms / p95 "
                f"{d.get('latency_ms_p95', float('nan')):.1f} ms",
                markup=False,
            )
    if info["events"]:
        out.print("Events: " + "; ".join(f"{e['time_s']:.1f} s {escape(e['kind'])}" for e in info["events"]))


@click.command()
@click.argument("session")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.pass_context
def delete(ctx: click.Context, session: str, yes: bool) -> None:
    """Delete SESSION (an id or a unique prefix) and all its samples, raw packets and analyses."""
    with open_store(ctx) as store:
        session_id = store.resolve(session)
        if not yes and not click.confirm(f"Delete session {session_id} and all its data?", default=False):
            click.echo("nothing deleted", err=True)
            raise click.exceptions.Exit(1)
        store.delete(session_id)
    click.echo(f"deleted {session_id}")
