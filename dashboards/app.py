"""The Dash app: browse sessions, pick a set, see its charts, and follow a recording live.

Data access is injected (`DataSource`), so this package never reads the store itself: the CLI passes
functions that do. While a session grows (``record`` or ``live`` is writing it) the app notices through
its sample count, polled with ``dcc.Interval``, and re-draws; it re-analyses in proportion to the new data
(`dashboards.follow`), and in full once the recording stops.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

import dash
import flask
import numpy as np
import pandas as pd
from dash import Input, Output, State, dcc, html, no_update

from analysis.lifter_labels import label_text
from analysis.session import SessionAnalysis
from analysis.timebase import describe_sync
from dashboards.follow import FollowConfig, reanalysis_due
from dashboards.history import has_trend, history_figure
from dashboards.rep_cards import RepCard, curve_alt, fact_class, rep_cards
from dashboards.report import set_figures
from dashboards.set_labels import SAVED_ID, LabelSet, label_controls, register_label_callbacks
from dashboards.style import PLOT_CONFIG, message_figure, palette_css
from dashboards.summary import session_summary, set_flagged
from dashboards.timeline import timeline_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: How often the app polls for new sessions and new samples, in ms.
POLL_INTERVAL_MS = 2000
#: Cookie that carries the access token after the first visit with ``?token=``.
TOKEN_COOKIE = "imuform_token"
_NO_REFERENCE = "no reference reps for this exercise yet: imuform reference propose, or reference add SESSION --set N"
SET_CHART_IDS = {"summary": "set-summary", "lumbar": "rep-lumbar", "rhythm": "rep-rhythm", "stick": "rep-stick"}


@dataclass
class DataSource:
    """How the app reaches the data.

    Attributes
    ----------
    sessions
        Returns the sessions, newest first, as dicts with ``id``, ``label`` (shown in the picker) and
        ``samples`` (sample count; a count that grows between polls marks a live recording).
    analysis
        Returns the analysis of a session id, or ``None`` when there is nothing to analyse yet.
    history
        Returns a `dashboards.history.history_table` of all analysed sessions, or ``None`` for none.
    progress_page
        Returns the progress page (`dashboards.progress`) of a person named, or of the store's only one, as HTML;
        served at ``/progress?person=NAME``.
    label_set
        Checks and stores the lifter's label of a set and says how it went (`dashboards.set_labels.LabelOutcome`);
        without it the app shows no label card.
    reference_band
        Returns the figure of one set of an analysis (by set index) over the lifter's reference band
        (`dashboards.reference_band.set_band_figure`), None when the set has no reference; without it the app
        shows no reference chart.
    """

    sessions: Callable[[], list[dict]]
    analysis: Callable[[str], SessionAnalysis | None]
    history: Callable[[], pd.DataFrame] | None = None
    progress_page: Callable[[str | None], str] | None = None
    label_set: LabelSet | None = None
    reference_band: Callable[[SessionAnalysis, int], go.Figure | None] | None = None


def _graph(graph_id: str, title: str) -> html.Div:
    return html.Div(
        dcc.Graph(id=graph_id, figure=message_figure(title, "pick a session"), config=PLOT_CONFIG),
        className="card",
    )


def _summary(analysis: SessionAnalysis | None) -> list:
    if analysis is None:
        return [html.P("No analysis yet: the session has no complete reps.", className="headline")]
    lines = session_summary(analysis)
    items = [
        html.Li(text, className="flagged" if set_flagged(analysis, row.index) else "clean")
        for row, text in zip(analysis.sets.itertuples(), lines[1:])
    ]
    return [
        html.P(lines[0], className="headline"),
        html.Ul(items),
        html.P(describe_sync(analysis.sync), className="sync"),
    ]


def _rep_card(card: RepCard) -> html.Article:
    """A rep's card as Dash components: the same classes as the report's (`dashboards.rep_cards.rep_cards_html`)."""
    facts = [
        html.Div(
            [html.Dt(f.label), html.Dd([f.value] + ([" ", html.Small(f.limit)] if f.limit else []))],
            className=fact_class(f),
        )
        for f in card.facts
    ]
    return html.Article(
        [
            html.Header([html.B(f"Rep {card.rep_index}"), html.Span(card.verdict, className="verdict")]),
            html.Img(src=card.curve_uri, alt=curve_alt(card)),
            html.Dl(facts),
        ]
        + ([html.Ul([html.Li(r) for r in card.reasons], className="reasons")] if card.reasons else []),
        className=f"rep-card {card.kind}",
        id=f"set{card.set_index}-rep{card.rep_index}",
    )


def require_token(server: flask.Flask, token: str) -> None:
    """Refuse (403) every request that carries neither ``?token=`` nor the cookie the first good one sets.

    Like Jupyter's: the link printed once holds the token; the page's own requests then send the cookie.
    """

    def granted(value: str | None) -> bool:
        return value is not None and secrets.compare_digest(value.encode(), token.encode())

    @server.before_request
    def check() -> None:
        if not (granted(flask.request.args.get("token")) or granted(flask.request.cookies.get(TOKEN_COOKIE))):
            flask.abort(403, "this imuform dashboard needs the link with its token (printed when it started)")

    @server.after_request
    def remember(response: flask.Response) -> flask.Response:
        if granted(flask.request.args.get("token")):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response


def create_app(
    source: DataSource,
    poll_interval_ms: int = POLL_INTERVAL_MS,
    token: str | None = None,
    follow: FollowConfig | None = None,
) -> dash.Dash:
    """Build the Dash app.

    Parameters
    ----------
    source
        The injected data access.
    poll_interval_ms
        Poll period for new sessions and samples, in ms.
    token
        When given, every request must carry it (`require_token`): for an app served beyond this computer.
    follow
        How often a growing session is analysed again (`dashboards.follow`; ``None``: the defaults).

    Returns
    -------
    dash.Dash
        Serve it with ``app.run(port=...)`` or through ``app.server`` (a Flask app). All scripts are
        served locally: no CDN.
    """
    app = dash.Dash(__name__, title="imuform", serve_locally=True, update_title=None)
    if token is not None:
        require_token(app.server, token)
    # the report's styles, inline: one stylesheet for both, and nothing to ship beside the package
    css = (Path(__file__).parent / "page.css").read_text(encoding="utf-8")
    app.index_string = app.index_string.replace("{%css%}", "{%css%}\n<style>" + palette_css() + css + "</style>")
    follow = follow or FollowConfig()
    if source.progress_page is not None:
        app.server.add_url_rule("/progress", "progress", lambda: source.progress_page(flask.request.args.get("person")))
    # One analysis, of the version (session id and sample count) on view.
    cache: dict[str, tuple[int, SessionAnalysis | None]] = {}
    lock = Lock()
    grown_at_s: dict[str, float] = {}  # when each session's sample count last grew (monotonic s)
    seen_samples: dict[str, int] = {}  # each session's sample count at the last poll

    def analysis_of(version: dict | None) -> SessionAnalysis | None:
        if not version:
            return None
        with lock:
            hit = cache.get(version["id"])
            if hit is None or hit[0] != version["samples"]:
                cache.clear()
                cache[version["id"]] = (version["samples"], source.analysis(version["id"]))
            return cache[version["id"]][1]

    def forget(session_id: str) -> None:
        with lock:
            cache.pop(session_id, None)

    register_label_callbacks(app, source.label_set, analysis_of, forget)

    app.layout = html.Main(
        [
            html.Header(
                [
                    html.H1("imuform"),
                    html.Div(id="status", className="meta"),
                    html.A("Progress over weeks", href="progress"),
                ],
                className="top",
            ),
            html.Div(
                html.Div(
                    dcc.Dropdown(id="session", clearable=False, placeholder="pick a session"),
                    className="session-picker",
                ),
                className="controls card",
            ),
            html.Section(id="summary", className="card summary"),
            _graph("timeline", "Session timeline"),
            html.H2("Sets"),
            dcc.RadioItems(id="set", options=[], className="set-picker"),
            *([label_controls()] if source.label_set is not None else []),
            _graph(SET_CHART_IDS["summary"], "Rep by rep"),
            html.Div(
                [_graph(SET_CHART_IDS[k], k) for k in ("lumbar", "rhythm", "stick")]
                + ([_graph("rep-reference", "reference")] if source.reference_band is not None else []),
                className="grid",
            ),
            html.H3("Rep by rep"),
            html.Div(id="rep-cards", className="rep-cards"),
            html.H2("History"),
            _graph("history", "History"),
            dcc.Interval(id="poll", interval=poll_interval_ms),
            dcc.Store(id="version"),
            dcc.Store(id=SAVED_ID),
        ]
    )

    @app.callback(
        Output("session", "options"),
        Output("session", "value"),
        Output("version", "data"),
        Output("status", "children"),
        Input("poll", "n_intervals"),
        State("session", "value"),
        State("version", "data"),
    )
    def poll(_n, session_id, version):
        """New sessions join the picker; a changed sample count of the picked one re-draws it."""
        sessions = source.sessions()
        options = [{"label": s["label"], "value": s["id"]} for s in sessions]
        if not sessions:
            return options, None, None, "No sessions yet: record or import one."
        if session_id not in {s["id"] for s in sessions}:
            session_id = sessions[0]["id"]
        samples = next(s["samples"] for s in sessions if s["id"] == session_id)
        now_s = time.monotonic()
        if seen_samples.get(session_id, samples) != samples:
            grown_at_s[session_id] = now_s
        seen_samples[session_id] = samples
        # a recording writes every half second: quiet for a few polls means it stopped
        live = now_s - grown_at_s.get(session_id, -np.inf) < 3 * poll_interval_ms / 1000
        new = {"id": session_id, "samples": samples, "live": live}
        if (
            live
            and version
            and version.get("id") == session_id
            and version.get("live")
            and not reanalysis_due(version["samples"], samples, follow)
        ):
            new = version  # keep the analysis on view while the session grows; in full once it stops
        status = html.Span("● recording: updating live", className="live") if live else f"{len(sessions)} sessions"
        return options, session_id, (no_update if new == version else new), status

    @app.callback(
        Output("summary", "children"),
        Output("timeline", "figure"),
        Output("set", "options"),
        Output("set", "value"),
        Output("history", "figure"),
        Input("version", "data"),
        Input(SAVED_ID, "data"),
        State("set", "value"),
        State("set", "options"),
    )
    def show_session(version, _saved, set_index, previous_options):
        """Summary, timeline and set picker of the picked session."""
        history = source.history() if source.history else None
        history_fig = (
            history_figure(history)
            if history is not None and has_trend(history)
            else message_figure("History", "your trends show here once two sessions are analysed")
        )
        if not version:
            return _summary(None), message_figure("Session timeline", "no session"), [], None, history_fig
        analysis = analysis_of(version)
        if analysis is None:
            return _summary(None), message_figure("Session timeline", "no data yet"), [], None, history_fig
        options = [
            {
                "label": " · ".join(
                    filter(None, [f"Set {s.index}", str(s.exercise).replace("_", " "), str(s.rep_count), label_text(s)])
                ),
                "value": int(s.index),
            }
            for s in analysis.sets.itertuples()
        ]
        values = [o["value"] for o in options]
        # keep the picked set; whoever watched the newest set keeps following the newest one
        was_newest = bool(previous_options) and set_index == previous_options[-1]["value"]
        chosen = set_index if set_index in values and not was_newest else (values[-1] if values else None)
        return _summary(analysis), timeline_figure(analysis), options, chosen, history_fig

    @app.callback(
        Output("set", "value", allow_duplicate=True),
        Input("timeline", "clickData"),
        State("version", "data"),
        prevent_initial_call=True,
    )
    def pick_from_timeline(click, version):
        """Clicking the timeline inside a set picks that set."""
        points = (click or {}).get("points") or []
        analysis = analysis_of(version)
        if not points or analysis is None:
            return no_update
        time_s = 60.0 * float(points[0]["x"])
        hit = analysis.sets[(analysis.sets["start_s"] <= time_s) & (time_s <= analysis.sets["end_s"])]
        return int(hit["index"].iloc[0]) if len(hit) else no_update

    reference_outputs = [Output("rep-reference", "figure")] if source.reference_band is not None else []

    @app.callback(
        [Output(graph_id, "figure") for graph_id in SET_CHART_IDS.values()],
        Output("rep-cards", "children"),
        *reference_outputs,
        Input("set", "value"),
        Input("version", "data"),
        Input(SAVED_ID, "data"),
    )
    def show_set(set_index, version, _saved):
        """The charts and rep cards of the picked set, and its reps over the lifter's reference band."""
        analysis = analysis_of(version)
        if analysis is None or set_index is None:
            return (
                [message_figure("", "no set picked") for _ in SET_CHART_IDS]
                + [[]]
                + [message_figure("", "no set picked") for _ in reference_outputs]
            )
        figures = set_figures(analysis, int(set_index))
        out = [figures[key] for key in SET_CHART_IDS] + [[_rep_card(c) for c in rep_cards(analysis, int(set_index))]]
        if reference_outputs:
            band = source.reference_band(analysis, int(set_index))
            out.append(band or message_figure("Against your reference", _NO_REFERENCE))
        return out

    return app
