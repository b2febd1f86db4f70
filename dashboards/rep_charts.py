"""Per-rep spine charts of one set: lumbar angle over the rep, lumbo-pelvic rhythm, and a stick figure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.display import fmt_num
from analysis.limits import Limits
from analysis.session import SessionAnalysis
from dashboards.style import (
    JUDGEMENT_COLORS,
    NEUTRAL_COLOR,
    TRUNK_COLOR,
    base_layout,
    judgement,
    judgement_key,
    limit_band,
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
    """Reps of a set and each rep's judgement (`dashboards.style.judgement`)."""
    reps = analysis.reps_of(set_index)
    return reps, [judgement(f) for f in reps["flags"]]


def _rep_hover(rep_number: int, reasons) -> str:
    return f"rep {rep_number}" + ("<br>" + "<br>".join(reasons) if len(reasons) else "")


def rep_lumbar_figure(analysis: SessionAnalysis, set_index: int) -> go.Figure:
    """Lumbar angle against normalised rep time, one line per rep coloured by its judgement (`dashboards.style.judgement`).

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
    reps, kinds = _set_reps(analysis, set_index)
    traces = []
    for rep, kind in zip(reps.itertuples(), kinds):
        norm = normalised_rep(rep_slice(analysis.angles, rep.start_s, rep.end_s), ("lumbar_flexion_deg",))
        traces.append(
            go.Scatter(
                x=norm["pct"],
                y=norm["lumbar_flexion_deg"],
                mode="lines",
                name=f"rep {rep.index}",
                showlegend=False,
                line=dict(color=JUDGEMENT_COLORS[kind], width=2.2 if len(rep.flags) else 1.5, dash="solid"),
                hovertemplate="%{y:.0f}° at %{x:.0f}%<extra>" + _rep_hover(rep.index, rep.flag_reasons) + "</extra>",
            )
        )
    layout = base_layout(f"Set {set_index}: lumbar angle through each rep")
    layout.update(xaxis=dict(title_text="rep time (%)", range=[0, 100]), yaxis=dict(title_text="lumbar (°, + flexion)"))
    return styled_figure(layout, *limit_band(analysis.limits), data=traces + judgement_key(kinds))


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
    reps, kinds = _set_reps(analysis, set_index)
    traces = []
    for rep, kind in zip(reps.itertuples(), kinds):
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
                line=dict(color=JUDGEMENT_COLORS[kind], width=1.6),
                hovertemplate="hips %{x:.0f}°, lumbar %{y:.0f}°<extra>"
                + _rep_hover(rep.index, rep.flag_reasons)
                + (f"<br>lumbar share {fmt_num(share, 2)}" if np.isfinite(share) else "")
                + "</extra>",
            )
        )
    layout = base_layout(f"Set {set_index}: hips vs lower back")
    layout.update(
        xaxis=dict(title_text="pelvis inclination, hip hinge (°)"), yaxis=dict(title_text="lumbar (°, + flexion)")
    )
    return styled_figure(layout, *limit_band(analysis.limits), data=traces + judgement_key(kinds))


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


@dataclass(frozen=True)
class WorstMoment:
    """A rep's pose at the sample that goes furthest towards a limit (`worst_moment_index`).

    Attributes
    ----------
    rep_index
        Rep number within its set (from 1).
    time_into_rep_s
        When, from the rep's start, in s.
    lumbar_flexion_deg, pelvis_inclination_deg, trunk_inclination_deg
        The angles there, degrees (docs/conventions.md).
    severity
        The lumbar angle as a fraction of the limit it goes towards (1 = on the limit).
    kind
        The rep's judgement (`dashboards.style.judgement`).
    """

    rep_index: int
    time_into_rep_s: float
    lumbar_flexion_deg: float
    pelvis_inclination_deg: float
    trunk_inclination_deg: float
    severity: float
    kind: str


def worst_moments(analysis: SessionAnalysis, set_index: int) -> list[WorstMoment]:
    """Each rep's worst moment, in rep order (reps without a finite lumbar angle are left out)."""
    reps, kinds = _set_reps(analysis, set_index)
    limits = analysis.limits
    out = []
    for rep, kind in zip(reps.itertuples(), kinds):
        rows = rep_slice(analysis.angles, rep.start_s, rep.end_s)
        i = worst_moment_index(rows["lumbar_flexion_deg"].to_numpy(), limits)
        if i is None:
            continue
        pose = rows.iloc[i]
        lumbar_deg = float(pose["lumbar_flexion_deg"])
        out.append(
            WorstMoment(
                rep_index=int(rep.index),
                time_into_rep_s=float(pose["time_s"] - rep.start_s),
                lumbar_flexion_deg=lumbar_deg,
                pelvis_inclination_deg=float(pose["pelvis_inclination_deg"]),
                trunk_inclination_deg=float(pose["trunk_inclination_deg"]),
                severity=max(lumbar_deg / limits.flexion_limit_deg, -lumbar_deg / limits.extension_limit_deg),
                kind=kind,
            )
        )
    return out


def lumbar_words(lumbar_flexion_deg: float) -> str:
    """The lumbar angle in words, its size as a magnitude: "flexed 46°", "arched 14°", "neutral"."""
    text = fmt_num(abs(lumbar_flexion_deg))
    if text == "0":
        return "neutral"
    return f"flexed {text}°" if lumbar_flexion_deg > 0 else f"arched {text}°"


def stick_figure(analysis: SessionAnalysis, set_index: int, max_listed: int = 10) -> go.Figure:
    """Sagittal stick figures of pelvis, lumbar and thoracic segments at each rep's worst moment, with their angles.

    Parameters
    ----------
    analysis
        The analysed session.
    set_index
        Set number (from 1).
    max_listed
        Most reps whose angles are listed beside the figure (the worst ones, then in rep order).

    Returns
    -------
    plotly.graph_objects.Figure
        Left: one figure per rep from a common hip, coloured by its judgement, over the calibrated upright
        neutral in grey; the person faces right and the worst rep is drawn bold with its lumbar angle and
        hip hinge written on it. Right: the angles drawn, one line per rep (lumbar angle, signed, and hips).
    """
    moments = worst_moments(analysis, set_index)
    x0, z0 = stick_points(0.0, 0.0)
    traces = [
        go.Scatter(
            x=x0,
            y=z0,
            mode="lines",
            name="neutral",
            showlegend=False,
            line=dict(color=NEUTRAL_COLOR, width=3, dash="dot"),
            hoverinfo="skip",
        )
    ]
    xs, zs = [x0], [z0]
    worst = max(moments, key=lambda m: m.severity, default=None)
    for m in moments:
        x, z = stick_points(m.pelvis_inclination_deg, m.lumbar_flexion_deg)
        xs.append(x)
        zs.append(z)
        color = JUDGEMENT_COLORS[m.kind]
        label = (
            f"rep {m.rep_index} at {fmt_num(m.time_into_rep_s, 1)} s: lumbar {fmt_num(m.lumbar_flexion_deg, signed=True)}°, "
            f"hips {fmt_num(m.pelvis_inclination_deg)}°, trunk {fmt_num(m.trunk_inclination_deg)}°"
        )
        traces.append(
            go.Scatter(
                x=x,
                y=z,
                mode="lines+markers",
                name=f"rep {m.rep_index}",
                showlegend=False,
                line=dict(color=color, width=4 if m is worst else 1.8),
                opacity=1.0 if m is worst else 0.55,
                marker=dict(size=[9, 6, 6, 6], color=color),
                hovertemplate=label + "<extra></extra>",
            )
        )
    note = dict(showarrow=False, font=dict(size=10, color=TRUNK_COLOR))
    notes = [
        dict(x=0, y=0, text="hip", yshift=-12, **note),
        dict(x=x0[-1], y=z0[-1], text="neutral", yshift=10, **note),
    ]
    if worst is not None:
        x, z = stick_points(worst.pelvis_inclination_deg, worst.lumbar_flexion_deg)
        bold = dict(showarrow=False, font=dict(size=11, color=JUDGEMENT_COLORS[worst.kind]))
        notes += [
            dict(
                x=x[2],
                y=z[2],
                text=f"rep {worst.rep_index}: lumbar {lumbar_words(worst.lumbar_flexion_deg)}",
                xanchor="left",
                xshift=8,
                yshift=6,
                **bold,
            ),
            dict(x=0, y=0, text=f"hips {fmt_num(worst.pelvis_inclination_deg)}°", xanchor="right", xshift=-10, **bold),
        ]
        listed = sorted(sorted(moments, key=lambda m: -m.severity)[:max_listed], key=lambda m: m.rep_index)
        lines = ["<b>rep  lumbar  hips</b>"] + [
            f"<span style='color:{JUDGEMENT_COLORS[m.kind]}'>{m.rep_index}  "
            f"{fmt_num(m.lumbar_flexion_deg, signed=True)}°  {fmt_num(m.pelvis_inclination_deg)}°</span>"
            for m in listed
        ]
        if len(moments) > len(listed):
            lines.append(f"{len(moments) - len(listed)} more in the rep cards")
        notes.append(
            dict(
                x=1,
                y=1,
                xref="paper",
                yref="paper",
                xanchor="right",
                yanchor="top",
                align="left",
                text="<br>".join(lines),
                showarrow=False,
                font=dict(size=10, color=TRUNK_COLOR),
            )
        )
    all_x, all_z = np.concatenate(xs), np.concatenate(zs)
    layout = base_layout(f"Set {set_index}: spine at each rep's worst moment", legend_on_top=False)
    layout.update(
        xaxis=dict(
            title_text="forward →",
            showticklabels=False,
            showgrid=False,
            zeroline=False,
            domain=[0, 0.6],
            range=[min(all_x.min(), 0.0) - 0.35, all_x.max() + 0.35],
        ),
        yaxis=dict(
            title_text="up",
            showticklabels=False,
            showgrid=False,
            zeroline=False,
            scaleanchor="x",
            scaleratio=1,
            range=[min(all_z.min(), 0.0) - 0.25, all_z.max() + 0.2],
        ),
    )
    return styled_figure(layout, annotations=notes, data=traces)
