"""Session timeline: trunk and pelvis inclination above, lumbar angle below, sets shaded, reps numbered."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from analysis.display import fmt_num
from analysis.session import SessionAnalysis
from dashboards.decimate import decimate_for_display
from dashboards.style import (
    JUDGEMENT_COLORS,
    LUMBAR_COLOR,
    PELVIS_COLOR,
    SET_FILL,
    TRUNK_COLOR,
    base_layout,
    judgement,
    judgement_key,
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


def thinned_labels(time_s: np.ndarray, min_gap_s: float, priority: np.ndarray) -> np.ndarray:
    """Which marks get a label, no two labels closer than ``min_gap_s``; the highest ``priority`` first.

    Parameters
    ----------
    time_s
        Times of the marks, s.
    min_gap_s
        Least time between two labels, s.
    priority
        One number per mark: marks are labelled from the highest down where they fit, ties in time order.

    Returns
    -------
    numpy.ndarray
        One bool per mark.
    """
    keep = np.zeros(len(time_s), dtype=bool)
    for i in np.argsort(-np.asarray(priority, dtype=float), kind="stable"):
        if not keep.any() or np.abs(time_s[keep] - time_s[i]).min() >= min_gap_s:
            keep[i] = True
    return keep


def timeline_figure(
    analysis: SessionAnalysis, title: str = "Session timeline", label_gap_fraction: float = 1 / 16
) -> go.Figure:
    """The whole session on one time axis.

    Parameters
    ----------
    analysis
        The analysed session.
    title
        Chart title.
    label_gap_fraction
        Least gap between two rep-number labels, as a fraction of the session: 1/16 keeps two-digit labels
        apart on a phone (about 18 px on a 290 px wide plot); flagged reps are numbered first, and every rep
        is still marked.

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows sharing the time axis (minutes): trunk and pelvis inclination (the hip hinge), and
        lumbar angle against the personal limit band. Sets are shaded and labelled; each rep is a
        marker at its peak flexion in the colour of its judgement (hover for the reasons), numbered where the
        labels have room (`thinned_labels`).
    """
    traces = [
        _line(analysis, "trunk_inclination_deg", "trunk inclination", TRUNK_COLOR),
        _line(analysis, "pelvis_inclination_deg", "pelvis inclination", PELVIS_COLOR, 1.1),
        _line(analysis, "lumbar_flexion_deg", "lumbar angle", LUMBAR_COLOR, 1.6, row=2),
    ]
    reps = analysis.reps
    if len(reps):
        kinds = [judgement(f) for f in reps["flags"]]
        reasons = reps["flag_reasons"].map(lambda r: "<br>".join(r) if len(r) else "no flags")
        bottom_s = reps["bottom_s"].to_numpy(dtype=float)
        span_s = float(analysis.angles["time_s"].iloc[-1] - analysis.angles["time_s"].iloc[0])
        # the worst flagged reps are numbered first
        limits = analysis.limits
        severity = np.fmax(
            reps["peak_lumbar_flexion_deg"].to_numpy(dtype=float) / limits.flexion_limit_deg,
            -reps["lockout_lumbar_angle_deg"].to_numpy(dtype=float) / limits.extension_limit_deg,
        )
        flagged = np.array(kinds) != "clean"
        shown = thinned_labels(bottom_s, span_s * label_gap_fraction, np.where(flagged, 1.0 + severity, 0.0))
        numbers = reps["index"].astype(int).astype(str).to_numpy()
        peaks = [fmt_num(v, signed=True) for v in reps["peak_lumbar_flexion_deg"]]
        traces.append(
            go.Scatter(
                x=bottom_s / 60.0,
                y=reps["peak_lumbar_flexion_deg"].to_numpy(),
                mode="markers+text",
                name="reps",
                text=np.where(shown, numbers, ""),
                textposition="top center",
                textfont=dict(size=10, color=TRUNK_COLOR),
                marker=dict(size=7, color=[JUDGEMENT_COLORS[k] for k in kinds], line=dict(width=1, color="white")),
                customdata=np.stack([reps["set_index"].to_numpy(), numbers, peaks, reasons.to_numpy()], axis=1),
                hovertemplate="set %{customdata[0]} rep %{customdata[1]}: peak %{customdata[2]}°<br>"
                "%{customdata[3]}<extra></extra>",
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
    traces += judgement_key(kinds if len(reps) else [])
    layout = base_layout(title, height_px=480, legend_on_top=False)
    # six legend entries in two columns below the plot (plotly makes room there): on top they would wrap over
    # the title on a phone
    layout["legend"].update(yanchor="top", y=-0.14, entrywidth=0.5, entrywidthmode="fraction")
    layout.update(stacked_axes([0.45, 0.55], 0.06, ["inclination (°)", "lumbar (°, + flexion)"], "time (min)"))
    return styled_figure(layout, shapes, annotations, data=traces)
