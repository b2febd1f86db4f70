"""A set's reps over the lifter's reference band: each rep's lumbar curve on normalised time (descent 0-0.5,
ascent 0.5-1, so the bottoms line up whatever the tempo) over the band of their reference reps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from analysis.reference import Reference, RepCurve
from analysis.session import SessionAnalysis
from dashboards.style import BAND_FILL, JUDGEMENT_COLORS, LIMIT_COLOR, base_layout, judgement, judgement_key


def reference_band_figure(
    reference: Reference,
    curves: Sequence[RepCurve],
    verdict: str | None = None,
    judgements: Mapping[int, str] | None = None,
) -> go.Figure:
    """The set's rep curves (coloured by their judgement, as in every chart) over the reference band and mean.

    Parameters
    ----------
    reference
        The lifter's reference for the set's exercise.
    curves
        The set's reps, in order.
    verdict
        The set against the reference in one line (`analysis.reference.SetComparison.verdict`); it titles the
        chart.
    judgements
        Each rep's judgement by its number (`dashboards.style.judgement` of its flags); unnamed reps are clean.
    """
    judgements = judgements or {}
    x = np.linspace(0.0, 1.0, len(reference.mean_deg))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=x, y=reference.high_deg, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=reference.low_deg,
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=BAND_FILL,
            name="your reference band",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(x=x, y=reference.mean_deg, mode="lines", line=dict(color=LIMIT_COLOR, dash="dash"), name="reference")
    )
    kinds = [judgements.get(curve.rep_index, "clean") for curve in curves]
    for kind, curve in zip(kinds, curves):
        fig.add_trace(
            go.Scatter(
                x=np.linspace(0.0, 1.0, len(curve.lumbar_flexion_deg)),
                y=curve.lumbar_flexion_deg,
                mode="lines",
                line=dict(color=JUDGEMENT_COLORS[kind], width=1.6 if kind == "clean" else 2.2),
                name=f"rep {curve.rep_index}",
                showlegend=False,
                hovertemplate=f"rep {curve.rep_index}: %{{y:.1f}}°<extra></extra>",
            )
        )
    fig.add_traces(judgement_key(kinds))
    title = "Against your reference" + (f": {verdict}" if verdict is not None else "")
    fig.update_layout(**base_layout(title))
    fig.update_xaxes(
        title_text="down · bottom · up (normalised time)", tickvals=[0, 0.5, 1], ticktext=["top", "bottom", "top"]
    )
    fig.update_yaxes(title_text="lumbar flexion °")
    return fig


def set_band_figure(
    analysis: SessionAnalysis, set_index: int, reference: Reference, curves: Sequence[RepCurve]
) -> go.Figure:
    """`reference_band_figure` of one set, its reps coloured by their flags' judgement and titled by the
    comparison the analysis holds (its sets table's ``ref_verdict``, `imuform.reference_reps.apply_comparisons`).

    Parameters
    ----------
    analysis
        The analysed session, with its comparisons.
    set_index
        The set (from 1).
    reference, curves
        The reference of the set's exercise and the set's rep curves, in order.
    """
    judgements = {int(rep.index): judgement(rep.flags) for rep in analysis.reps_of(set_index).itertuples()}
    row = analysis.sets[analysis.sets["index"] == set_index]
    verdict = row["ref_verdict"].iloc[0] if "ref_verdict" in row and len(row) else None
    return reference_band_figure(reference, curves, verdict if isinstance(verdict, str) else None, judgements)
