"""Labelling a set in the Dash app: its exercise, the load on the bar and the RPE (what ``imuform annotate`` does).

`label_controls` is the card under the set picker; `register_label_callback` saves through
`DataSource.label_set`, which checks and stores the label (the lifter's exercise wins over the classifier).
"""

from __future__ import annotations

from collections.abc import Callable

import dash
from dash import Input, Output, State, dcc, html

from analysis.classify import EXERCISES

#: ``label_set(session_id, set_index, exercise, load_kg, rpe)``: stores a set's label and returns one line
#: saying what was saved, or why not.
LabelSet = Callable[[str, int, "str | None", "float | None", "float | None"], str]


def label_controls() -> html.Div:
    """The card: exercise, load (kg) and RPE of the set on view, and a Save button."""
    return html.Div(
        [
            dcc.Dropdown(
                id="label-exercise",
                options=[{"label": e.replace("_", " "), "value": e} for e in EXERCISES],
                placeholder="exercise (as classified)",
            ),
            dcc.Input(id="label-load-kg", type="number", min=0, max=1000, step=0.5, placeholder="load kg"),
            dcc.Input(id="label-rpe", type="number", min=1, max=10, step=0.5, placeholder="RPE"),
            html.Button("Save", id="label-save"),
            html.Div(id="label-status", className="meta"),
        ],
        className="controls card set-label",
    )


def register_label_callback(app: dash.Dash, label_set: LabelSet | None) -> None:
    """Save the label of the set on view when Save is pressed (nothing to register without ``label_set``)."""
    if label_set is None:
        return

    @app.callback(
        Output("label-status", "children"),
        Input("label-save", "n_clicks"),
        State("version", "data"),
        State("set", "value"),
        State("label-exercise", "value"),
        State("label-load-kg", "value"),
        State("label-rpe", "value"),
        prevent_initial_call=True,
    )
    def save(_clicks, version, set_index, exercise, load_kg, rpe):
        if not version or set_index is None:
            return "Pick a session and a set first."
        if exercise is None and load_kg is None and rpe is None:
            return "Give the exercise, the load or the RPE."
        return label_set(version["id"], int(set_index), exercise, load_kg, rpe)
