"""`imuform dashboard`: the Dash app on localhost, reading the session store."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
import threading
import webbrowser
from typing import TYPE_CHECKING

import click
import pandas as pd

from analysis.session import SessionAnalysis
from dashboards.app import POLL_INTERVAL_MS, DataSource, create_app
from dashboards.history import history_table
from dashboards.set_labels import LabelOutcome
from imuform.cli.common import FiniteRange, started_label
from imuform.cli.report import analysed_history
from imuform.errors import ImuformError, InputError
from imuform.session_analysis import run_analysis
from imuform.store import Store

if TYPE_CHECKING:
    import plotly.graph_objects as go


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def store_source(home: str | None) -> DataSource:
    """Data access for the app over the store in ``home``.

    Each call opens its own connection: Dash serves callbacks from several threads and an SQLite
    connection belongs to the thread that opened it. The store's integrity is checked once, when the
    dashboard starts, not on every poll.
    """

    def sessions() -> list[dict]:
        with Store(home, check=False) as store:
            rows = store.sessions()
        several = len({r["person"] for r in rows}) > 1  # a coach's store: whose each session is
        return [
            {
                "id": r["id"],
                "label": f"{started_label(r['started_at'], seconds=False)} · {r['name'] or r['id']} · {_duration(r['duration_s'])}"
                + (f" · {r['person']}" if several else ""),
                "samples": r["samples"],
            }
            for r in rows
        ]

    def analysis(session_id: str) -> SessionAnalysis | None:
        with Store(home, check=False) as store:
            try:
                return run_analysis(store, session_id, show_progress=False)
            except ImuformError:
                return None  # no samples yet, or too little to analyse: the app says so

    def history() -> pd.DataFrame:
        with Store(home, check=False) as store:
            return history_table(analysed_history(store))

    def progress_page(person: str | None) -> str:
        from dashboards.progress import people_page, render_progress_page
        from imuform.person_progress import person_progress
        from imuform.store_people import chosen_person, people

        with Store(home, check=False) as store:
            everyone = people(store)
            if person is None and len(everyone) > 1:
                return people_page([p.name for p in everyone])
            try:
                chosen = chosen_person(store, person)
            except InputError:
                return people_page([p.name for p in everyone], f"No one is named {person!r} here. Whose progress?")
            found = person_progress(store, chosen.id)
        return render_progress_page(found.person, found.exercises, found.records, found.rom)

    def reference_band(result: SessionAnalysis, set_index: int) -> go.Figure | None:
        from dashboards.reference_band import set_band_figure
        from imuform.reference_reps import set_bands

        with Store(home, check=False) as store:
            band = set_bands(store, result, [set_index]).get(set_index)
        return None if band is None else set_band_figure(result, set_index, band.reference, band.curves)

    def label_set(
        session_id: str, set_index: int, exercise: str | None, load_kg: float | None, rpe: float | None
    ) -> LabelOutcome:
        from imuform.store_sets import SetLabel, label_sets

        with Store(home, check=False) as store:
            try:
                label_sets(store, session_id, [SetLabel(set_index, exercise, load_kg, rpe, None, "you")])
            except ImuformError as exc:
                return LabelOutcome(False, f"Not saved: {exc}")
        said = ", ".join(
            part
            for part in (
                exercise and exercise.replace("_", " "),
                load_kg is not None and f"{load_kg:g} kg",
                rpe is not None and f"RPE {rpe:g}",
            )
            if part
        )
        return LabelOutcome(True, f"Saved set {set_index}: {said}.")

    return DataSource(
        sessions=sessions,
        analysis=analysis,
        history=history,
        progress_page=progress_page,
        label_set=label_set,
        reference_band=reference_band,
    )


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ImuformError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another with --port") from exc


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True, help="Port to serve on.")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to serve on (127.0.0.1: this computer only)."
)
@click.option(
    "--allow-network",
    is_flag=True,
    help="Allow a --host other than this computer; every request then needs the token in the printed link.",
)
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@click.option(
    "--poll-s",
    type=FiniteRange(0.2, 60.0),
    default=POLL_INTERVAL_MS / 1000,
    show_default=True,
    help="How often the page checks for new sessions and samples, in s.",
)
@click.pass_context
def dashboard(ctx: click.Context, port: int, host: str, allow_network: bool, no_browser: bool, poll_s: float) -> None:
    """Browse sessions in a web page: pick a session and a set to see its charts.

    While 'imuform record' or 'imuform live' writes a session, the page follows it live. Stop with Ctrl+C.
    The page is served to this computer only, unless --allow-network: then anyone who can reach the
    address and has the printed link (it holds a random token) sees every session.
    """
    local = is_loopback(host)
    if not local and not allow_network:
        raise click.UsageError(
            f"--host {host} would show every session to the network: add --allow-network (the page then needs a token)"
        )
    home = ctx.obj["home"]
    Store(home).close()  # fail early, with the store's own message, if the home is unusable
    _check_port_free(host, port)
    token = None if local and not allow_network else secrets.token_urlsafe(24)
    app = create_app(store_source(home), poll_interval_ms=int(poll_s * 1000), token=token)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the terminal
    shown_host = socket.gethostname() if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host}:{port}/" + (f"?token={token}" if token else "")
    if token:
        click.echo(
            f"imuform: warning: anyone who can reach {host}:{port} and has the link below sees every session;"
            " keep the link private",
            err=True,
        )
    click.echo(f"imuform dashboard on {url} (Ctrl+C to stop)")
    if not no_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    app.run(host=host, port=port, debug=False)
