"""Per-rep spine charts of one set: lumbar angle over the rep, lumbo-pelvic rhythm, and a stick figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.limits import Limits
from analysis.session import SessionAnalysis
from dashboards.style import (
    LOCKOUT_COLOR,
    TRUNK_COLOR,
    base_layout,
    limit_band,
    rep_colorbar_trace,
    rep_colors,
    styled_figure,
)

#: Points per rep on the normalised time axis (0 to 100 % in 1 % steps).
REP_POINTS = 101
#: Relative segment lengths of the sagittal stick figure: sacrum/pelvis, lumbar spine, thoracic spine.
PELVIS_LENGTH = 0.35
LUMBAR_LENGTH = 0.45
THORACIC_LENGTH = 1.0


def rep_slice(angles: pd.DataFrame, start_s: float, end_s: float) -> pd.DataFrame:
    """Rows of the angle table from ``start_s`` to ``end_s`` (inclusive), in s."""
    t = angles["time_s"].to_numpy()
    i0, i1 = np.searchsorted(t, [start_s, end_s], side="left")
    return angles.iloc[i0 : min(i1 + 1, len(t))]


def normalised_rep(rep: pd.DataFrame, columns: tuple[str, ...], n_points: int = REP_POINTS) -> dict[str, np.ndarray]:
    """Resample a rep's angles onto 0–100 % of the rep's time.

    Parameters
    ----------
    rep
        Angle rows of one rep (see `rep_slice`).
    columns
        Angle columns to resample.
    n_points
        Points on the normalised axis.

    Returns
    -------
    dict
        ``pct`` (0 to 100) and one array per column, NaN where the rep has no finite sample.
    """
    t = rep["time_s"].to_numpy(dtype=float)
    pct = np.linspace(0.0, 100.0, n_points)
    out = {"pct": pct}
    span_s = t[-1] - t[0] if len(t) > 1 else 0.0
    for column in columns:
        y = rep[column].to_numpy(dtype=float)
        ok = np.isfinite(y)
        if span_s <= 0 or ok.sum() < 2:
            out[column] = np.full(n_points, np.nan)
            continue
        out[column] = np.interp(pct, 100.0 * (t[ok] - t[0]) / span_s, y[ok])
    return out


def _set_reps(analysis: SessionAnalysis, set_index: int):
    """Reps of a set and one colour per rep."""
    reps = analysis.reps_of(set_index)
    return reps, rep_colors(len(reps))


def _rep_key(n_reps: int) -> list[go.Scatter]:
    """The colour bar keying the rep colours (none for a set without reps)."""
    return [rep_colorbar_trace(n_reps)] if n_reps else []


def _rep_hover(rep_number: int, reasons) -> str:
    return f"rep {rep_number}" + ("<br>" + "<br>".join(reasons) if len(reasons) else "")


def rep_lumbar_figure(analysis: SessionAnalysis, set_index: int) -> go.Figure:
    """Lumbar angle against normalised rep time, one line per rep coloured by rep number.

    Parameters
    ----------
    analysis
        The analysed session.
    set_index
        Set number (from 1).

    Returns
    -------
    plotly.graph_objects.Figure
        Lines over 0–100 % of each rep with the personal limit band; late reps rising above early ones
        show fatigue.
    """
    reps, colors = _set_reps(analysis, set_index)
    traces = []
    for rep, color in zip(reps.itertuples(), colors):
        norm = normalised_rep(rep_slice(analysis.angles, rep.start_s, rep.end_s), ("lumbar_flexion_deg",))
        traces.append(
            go.Scatter(
                x=norm["pct"],
                y=norm["lumbar_flexion_deg"],
                mode="lines",
                name=f"rep {rep.index}",
                showlegend=False,
                line=dict(color=color, width=2.2 if len(rep.flags) else 1.5, dash="solid"),
                hovertemplate="%{y:.0f}° at %{x:.0f}%<extra>" + _rep_hover(rep.index, rep.flag_reasons) + "</extra>",
            )
        )
    layout = base_layout(f"Set {set_index}: lumbar angle through each rep", legend_on_top=False)
    layout.update(xaxis=dict(title_text="rep time (%)", range=[0, 100]), yaxis=dict(title_text="lumbar (°, + flexion)"))
    return styled_figure(layout, *limit_band(analysis.limits), data=traces + _rep_key(len(reps)))


def rhythm_figure(analysis: SessionAnalysis, set_index: int) -> go.Figure:
    """Hip hinge against lumbar angle (the lumbo-pelvic rhythm), one loop per rep.

    Parameters
    ----------
    analysis
        The analysed session.
    set_index
        Set number (from 1).

    Returns
    -------
    plotly.graph_objects.Figure
        x: pelvis inclination (the hinge at the hips), y: lumbar angle. A flat loop inside the band
        means the movement came from the hips; a rising one means the lower back did part of it.
    """
    reps, colors = _set_reps(analysis, set_index)
    traces = []
    for rep, color in zip(reps.itertuples(), colors):
        rows = rep_slice(analysis.angles, rep.start_s, rep.end_s)
        norm = normalised_rep(rows, ("pelvis_inclination_deg", "lumbar_flexion_deg"))
        share = getattr(rep, "lumbar_share", float("nan"))
        traces.append(
            go.Scatter(
                x=norm["pelvis_inclination_deg"],
                y=norm["lumbar_flexion_deg"],
                mode="lines",
                name=f"rep {rep.index}",
                showlegend=False,
                line=dict(color=color, width=1.6),
                hovertemplate="hips %{x:.0f}°, lumbar %{y:.0f}°<extra>"
                + _rep_hover(rep.index, rep.flag_reasons)
                + (f"<br>lumbar share {share:.2f}" if np.isfinite(share) else "")
                + "</extra>",
            )
        )
    layout = base_layout(f"Set {set_index}: hips vs lower back", legend_on_top=False)
    layout.update(
        xaxis=dict(title_text="pelvis inclination, hip hinge (°)"), yaxis=dict(title_text="lumbar (°, + flexion)")
    )
    return styled_figure(layout, *limit_band(analysis.limits), data=traces + _rep_key(len(reps)))


def worst_moment_index(lumbar_flexion_deg: np.ndarray, limits: Limits) -> int | None:
    """Index of the sample that goes furthest towards or past a limit.

    Flexion is measured in fractions of the flexion limit and extension in fractions of the extension
    limit, so a rep that hyperextends at lockout shows its lockout, and one that rounds shows its
    deepest flexion.

    Parameters
    ----------
    lumbar_flexion_deg
        Lumbar angle of one rep, degrees (+ flexion).
    limits
        The personal limits.

    Returns
    -------
    int or None
        None when the rep has no finite sample.
    """
    y = np.asarray(lumbar_flexion_deg, dtype=float)
    if not np.isfinite(y).any():
        return None
    severity = np.fmax(y / limits.flexion_limit_deg, -y / limits.extension_limit_deg)
    return int(np.nanargmax(severity))


def stick_points(pelvis_inclination_deg: float, lumbar_flexion_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Sagittal stick figure from the hip upwards, facing right (+x forward, +z up).

    The pelvis (sacrum) segment tilts by the pelvis inclination and the thoracic segment by that plus
    the lumbar angle, so the drawn bend is exactly the angle the flags judge; the lumbar spine between
    them is drawn at the mean of its end tilts, as two sensors cannot say where along the lumbar curve
    the bend happens.

    Parameters
    ----------
    pelvis_inclination_deg
        Forward tilt of the pelvis from vertical, degrees.
    lumbar_flexion_deg
        Lumbar angle, degrees (+ flexion), see docs/conventions.md.

    Returns
    -------
    (x, z)
        Four points: hip, top of the sacrum (L5/S1), top of the lumbar spine (T12), top of the thoracic
        spine.
    """
    tilts = np.radians(
        [
            pelvis_inclination_deg,
            pelvis_inclination_deg + lumbar_flexion_deg / 2.0,
            pelvis_inclination_deg + lumbar_flexion_deg,
        ]
    )
    lengths = np.array([PELVIS_LENGTH, LUMBAR_LENGTH, THORACIC_LENGTH])
    x = np.concatenate([[0.0], np.cumsum(lengths * np.sin(tilts))])
    z = np.concatenate([[0.0], np.cumsum(lengths * np.cos(tilts))])
    return x, z


def stick_figure(analysis: SessionAnalysis, set_index: int) -> go.Figure:
    """Sagittal stick figures of pelvis, lumbar and thoracic segments at each rep's worst moment.

    Parameters
    ----------
    analysis
        The analysed session.
    set_index
        Set number (from 1).

    Returns
    -------
    plotly.graph_objects.Figure
        One figure per rep from a common hip, coloured by rep number, over the calibrated upright
        neutral in grey. The person faces right.
    """
    reps, colors = _set_reps(analysis, set_index)
    x0, z0 = stick_points(0.0, 0.0)
    traces = [
        go.Scatter(
            x=x0,
            y=z0,
            mode="lines",
            name="neutral",
            showlegend=False,
            line=dict(color=LOCKOUT_COLOR, width=3, dash="dot"),
            hoverinfo="skip",
        )
    ]
    for rep, color in zip(reps.itertuples(), colors):
        rows = rep_slice(analysis.angles, rep.start_s, rep.end_s)
        i = worst_moment_index(rows["lumbar_flexion_deg"].to_numpy(), analysis.limits)
        if i is None:
            continue
        pose = rows.iloc[i]
        x, z = stick_points(pose["pelvis_inclination_deg"], pose["lumbar_flexion_deg"])
        label = (
            f"rep {rep.index} at {pose['time_s'] - rep.start_s:.1f} s: lumbar {pose['lumbar_flexion_deg']:.0f}°, "
            f"hips {pose['pelvis_inclination_deg']:.0f}°, trunk {pose['trunk_inclination_deg']:.0f}°"
        )
        traces.append(
            go.Scatter(
                x=x,
                y=z,
                mode="lines+markers",
                name=f"rep {rep.index}",
                showlegend=False,
                line=dict(color=color, width=3.5 if len(rep.flags) else 2.5),
                marker=dict(size=[9, 6, 6, 6], color=color),
                hovertemplate=label + "<extra></extra>",
            )
        )
    label = dict(showarrow=False, font=dict(size=10, color=TRUNK_COLOR))
    layout = base_layout(f"Set {set_index}: spine at each rep's worst moment", legend_on_top=False)
    layout.update(
        xaxis=dict(title_text="forward →", showticklabels=False, zeroline=False, range=[-0.6, 1.9]),
        yaxis=dict(
            title_text="up", showticklabels=False, zeroline=False, scaleanchor="x", scaleratio=1, range=[-0.2, 1.9]
        ),
    )
    notes = [
        dict(x=0, y=0, text="hip", yshift=-12, **label),
        dict(x=x0[-1], y=z0[-1], text="neutral", yshift=10, **label),
    ]
    return styled_figure(layout, annotations=notes, data=traces + _rep_key(len(reps)))
