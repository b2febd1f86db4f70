"""Set summary: per-rep peak flexion and lockout angle against the limit band, trend, tempo and flags."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from analysis.display import fmt_num
from analysis.session import SessionAnalysis
from dashboards.style import (
    CLEAN_COLOR,
    EXTENSION_COLOR,
    EXTENSION_FLAGS,
    FLEXION_COLOR,
    FLEXION_FLAGS,
    JUDGEMENT_COLORS,
    TEMPO_COLORS,
    TRUNK_COLOR,
    base_layout,
    judgement,
    limit_band,
    row_axes,
    stacked_axes,
    styled_figure,
)

TEMPO_NAMES = {"eccentric_s": "down", "bottom_pause_s": "pause", "concentric_s": "up"}


def set_summary_figure(analysis: SessionAnalysis, set_index: int) -> go.Figure:
    """Per-rep bars of one set.

    Parameters
    ----------
    analysis
        The analysed session.
    set_index
        Set number (from 1).

    Returns
    -------
    plotly.graph_objects.Figure
        Top: peak lumbar flexion and lockout angle (lighter) per rep against the limit band, each bar in the
        colour of the limit it crossed (`dashboards.style`),
        the set's peak-flexion trend (``flexion_trend_deg_per_rep``) and a warning marker above each
        flagged rep (hover for the reasons). Bottom: tempo per rep, lowering, pause and lifting time
        stacked. The legend sits below.
    """
    reps = analysis.reps_of(set_index)
    x = reps["index"].to_numpy().astype(int)
    peak = reps["peak_lumbar_flexion_deg"].to_numpy(dtype=float)
    lockout = reps["lockout_lumbar_angle_deg"].to_numpy(dtype=float)
    flags = reps["flags"].tolist()
    reasons = ["<br>".join(r) if len(r) else "no flags" for r in reps["flag_reasons"]]

    angles = [
        go.Bar(
            x=x,
            y=peak,
            name="peak flexion",
            customdata=[(fmt_num(v, signed=True), r) for v, r in zip(peak, reasons)],
            marker_color=[FLEXION_COLOR if FLEXION_FLAGS & set(f) else CLEAN_COLOR for f in flags],
            hovertemplate="rep %{x}: peak flexion %{customdata[0]}°<br>%{customdata[1]}<extra></extra>",
        ),
        go.Bar(
            x=x,
            y=lockout,
            name="lockout",
            customdata=[(fmt_num(v, signed=True), r) for v, r in zip(lockout, reasons)],  # no "-0" (conventions)
            # the lockout bar is the lighter one: its colour says the same as the peak bar's
            marker_color=[EXTENSION_COLOR if EXTENSION_FLAGS & set(f) else CLEAN_COLOR for f in flags],
            marker_opacity=0.5,
            hovertemplate="rep %{x}: lockout %{customdata[0]}°<br>%{customdata[1]}<extra></extra>",
        ),
    ]

    # the analysis' least-squares slope; the fitted line passes through the mean rep
    set_row = analysis.sets[analysis.sets["index"] == set_index]
    slope = float(set_row["flexion_trend_deg_per_rep"].iloc[0]) if len(set_row) else float("nan")
    if np.isfinite(slope) and np.isfinite(peak).all():
        slope_label = fmt_num(slope, 1, signed=True)
        angles.append(
            go.Scatter(
                x=x,
                y=peak.mean() + slope * (x - x.mean()),
                mode="lines",
                name=f"trend {slope_label}°/rep",
                line=dict(color=TRUNK_COLOR, width=1.5, dash="dot"),
                hoverinfo="skip",
            )
        )

    flagged = np.array([len(f) > 0 for f in flags], dtype=bool)
    if flagged.any():
        top = np.fmax(peak, 0.0) + 3.0
        angles.append(
            go.Scatter(
                x=x[flagged],
                y=top[flagged],
                mode="markers",
                name="flagged",
                marker=dict(
                    symbol="triangle-down",
                    size=11,
                    color=[JUDGEMENT_COLORS[judgement(flags[i])] for i in np.flatnonzero(flagged)],
                    line=dict(width=1, color="white"),
                ),
                customdata=[reasons[i] for i in np.flatnonzero(flagged)],
                hovertemplate="rep %{x}<br>%{customdata}<extra></extra>",
            )
        )

    # barmode "group" applies to the whole figure: the tempo bars share one offset group and stack by
    # their explicit bases instead.
    base_s = np.zeros(len(x))
    tempo = []
    for column, name in TEMPO_NAMES.items():
        phase_s = np.nan_to_num(reps[column].to_numpy(dtype=float))
        tempo.append(
            go.Bar(
                x=x,
                y=phase_s,
                base=base_s.copy(),
                offsetgroup="tempo",
                name=name,
                marker_color=TEMPO_COLORS[column],
                **row_axes(2),
                hovertemplate="rep %{x}: " + name + " %{y:.1f} s<extra></extra>",
            )
        )
        base_s += phase_s
    layout = base_layout(f"Set {set_index}: rep by rep", height_px=440, legend_on_top=False)
    # seven legend entries wrap to four lines on a phone: below the plot, plotly makes room for them
    layout["legend"].update(yanchor="top", y=-0.1)
    layout.update(barmode="group", bargap=0.25, **stacked_axes([0.68, 0.32], 0.08, ["lumbar (°)", "tempo (s)"], ""))
    layout["xaxis2"]["dtick"] = 1  # one tick per rep: "rep by rep" in the title names them
    return styled_figure(layout, *limit_band(analysis.limits, axis=1), data=angles + tempo)
