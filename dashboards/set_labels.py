"""Labelling a set in the Dash app: its exercise, the load on the bar and the RPE (what ``imuform annotate`` does).

`label_controls` is the card under the set picker; `register_label_callbacks` saves through
`DataSource.label_set`, which checks and stores the label (the lifter's exercise wins over the classifier), and
shows the set on view's label in the card. A saved label is on view at once: the app sets its analysis of the
session aside, and the session's views draw again from the analysis with the label (`SAVED_ID`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dash
from dash import Input, Output, State, dcc, html, no_update

from analysis.classify import EXERCISES
from analysis.lifter_labels import NAMED_BY_YOU

if TYPE_CHECKING:
    from analysis.session import SessionAnalysis

#: The store whose data changes each time a label is saved: the session's views take it as an input.
SAVED_ID = "labels-saved"


@dataclass(frozen=True)
class LabelOutcome:
    """What saving a label did.

    Attributes
    ----------
    saved
        Whether the label was stored.
    message
        One line saying what was saved, or why not.
    """

    saved: bool
    message: str


#: ``label_set(session_id, set_index, exercise, load_kg, rpe)``: checks and stores a set's label.
LabelSet = Callable[[str, int, "str | None", "float | None", "float | None"], LabelOutcome]


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


def shown_label(
    analysis: SessionAnalysis | None, set_index: int | None
) -> tuple[str | None, float | None, float | None]:
    """What the card shows of a set: the exercise the lifter named (None when classified), the load in kg and the
    RPE (None where not known)."""
    if analysis is None or set_index is None:
        return None, None, None
    row = analysis.sets[analysis.sets["index"] == set_index]
    if not len(row):
        return None, None, None
    row = row.iloc[0]

    def known(name: str) -> float | None:
        value = row.get(name)
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    named = row.get("exercise_named_by") == NAMED_BY_YOU
    return (str(row["exercise"]) if named else None), known("load_kg"), known("rpe")


def register_label_callbacks(
    app: dash.Dash,
    label_set: LabelSet | None,
    analysis_of: Callable[[dict | None], SessionAnalysis | None],
    forget: Callable[[str], None],
) -> None:
    """Save the label of the set on view when Save is pressed, and show the set's label in the card (nothing to
    register without ``label_set``).

    Parameters
    ----------
    app
        The app, whose layout holds `label_controls` and a ``dcc.Store`` with id `SAVED_ID`.
    label_set
        Stores a label.
    analysis_of
        The app's analysis of a session version (the ``version`` store's data).
    forget
        Sets the app's analysis of a session (by id) aside, so the views draw from one with the new label.
    """
    if label_set is None:
        return

    @app.callback(
        Output("label-status", "children"),
        Output(SAVED_ID, "data"),
        Input("label-save", "n_clicks"),
        State("version", "data"),
        State("set", "value"),
        State("label-exercise", "value"),
        State("label-load-kg", "value"),
        State("label-rpe", "value"),
        prevent_initial_call=True,
    )
    def save(clicks, version, set_index, exercise, load_kg, rpe):
        if not version or set_index is None:
            return "Pick a session and a set first.", no_update
        if exercise is None and load_kg is None and rpe is None:
            return "Give the exercise, the load or the RPE.", no_update
        outcome = label_set(version["id"], int(set_index), exercise, load_kg, rpe)
        if not outcome.saved:
            return outcome.message, no_update
        forget(version["id"])  # the analysis on view was made without the label
        return outcome.message, clicks

    @app.callback(
        Output("label-exercise", "value"),
        Output("label-load-kg", "value"),
        Output("label-rpe", "value"),
        Input("set", "value"),
        Input("version", "data"),
        Input(SAVED_ID, "data"),
    )
    def show(set_index, version, _saved):
        return shown_label(analysis_of(version), set_index)
