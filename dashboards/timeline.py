"""Session timeline: trunk and pelvis inclination above, lumbar angle below, sets shaded, reps numbered."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from analysis.session import SessionAnalysis
from dashboards.decimate import decimate_for_display
from dashboards.style import (
    FLAG_COLOR,
    LUMBAR_COLOR,
    OK_COLOR,
    PELVIS_COLOR,
    SET_FILL,
    TRUNK_COLOR,
    base_layout,
    limit_band,
    row_axes,
    stacked_axes,
    styled_figure,
)

#: Pixel buckets for the decimated series: about the widest chart on a laptop.
TIMELINE_BUCKETS = 1500


def _line(
    analysis: SessionAnalysis, column: str, name: str, color: str, width: float = 1.4, row: int = 1
) -> go.Scatter:
    """A decimated angle series as a line in row ``row``, time in minutes."""
    t_s, y_deg = decimate_for_display(
        analysis.angles["time_s"].to_numpy(), analysis.angles[column].to_numpy(), TIMELINE_BUCKETS
    )
    return go.Scatter(
        x=t_s / 60.0,
        y=y_deg,
        name=name,
        mode="lines",
        line=dict(color=color, width=width),
        hovertemplate="%{y:.0f}°<extra>" + name + "</extra>",
        **row_axes(row),
    )


def timeline_figure(analysis: SessionAnalysis, title: str = "Session timeline") -> go.Figure:
    """The whole session on one time axis.

    Parameters
    ----------
    analysis
        The analysed session.
    title
        Chart title.

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows sharing the time axis (minutes): trunk and pelvis inclination (the hip hinge), and
        lumbar angle against the personal limit band. Sets are shaded and labelled; each rep is a
        numbered marker at its peak flexion, red when flagged (hover for the reasons).
    """
    traces = [
        _line(analysis, "trunk_inclination_deg", "trunk inclination", TRUNK_COLOR),
        _line(analysis, "pelvis_inclination_deg", "pelvis inclination", PELVIS_COLOR, 1.1),
        _line(analysis, "lumbar_flexion_deg", "lumbar angle", LUMBAR_COLOR, 1.6, row=2),
    ]
    reps = analysis.reps
    if len(reps):
        flagged = reps["flags"].map(len).to_numpy() > 0
        reasons = reps["flag_reasons"].map(lambda r: "<br>".join(r) if len(r) else "no flags")
        traces.append(
            go.Scatter(
                x=reps["bottom_s"].to_numpy() / 60.0,
                y=reps["peak_lumbar_flexion_deg"].to_numpy(),
                mode="markers+text",
                name="reps",
                text=reps["index"].astype(int).astype(str),
                textposition="top center",
                textfont=dict(size=9, color=TRUNK_COLOR),
                marker=dict(size=7, color=np.where(flagged, FLAG_COLOR, OK_COLOR), line=dict(width=1, color="white")),
                customdata=np.stack([reps["set_index"].to_numpy(), reasons.to_numpy()], axis=1),
                hovertemplate="set %{customdata[0]} rep %{text}: peak %{y:.0f}°<br>%{customdata[1]}<extra></extra>",
                showlegend=False,
                cliponaxis=False,
                **row_axes(2),
            )
        )

    shapes, annotations = limit_band(analysis.limits, axis=2)
    for s in analysis.sets.itertuples():
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=s.start_s / 60.0,
                x1=s.end_s / 60.0,
                y0=0,
                y1=1,
                fillcolor=SET_FILL,
                line_width=0,
                layer="below",
            )
        )
        annotations.append(
            dict(
                x=(s.start_s + s.end_s) / 120.0,
                y=1.0,
                xref="x",
                yref="paper",
                yanchor="top",
                text=f"Set {s.index}",
                showarrow=False,
                font=dict(size=10, color=TRUNK_COLOR),
                bgcolor="rgba(255,255,255,0.7)",
            )
        )
    layout = base_layout(title, height_px=440)
    layout.update(stacked_axes([0.45, 0.55], 0.06, ["inclination (°)", "lumbar (°, + flexion)"], "time (min)"))
    return styled_figure(layout, shapes, annotations, data=traces)
