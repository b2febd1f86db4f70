"""History across sessions, per exercise: peak flexion, lockout angle, reps and volume over the weeks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.display import fmt_num
from analysis.limits import Limits
from analysis.session import SessionAnalysis
from dashboards.style import EXERCISE_COLORS, base_layout, limit_band, row_axes, stacked_axes, styled_figure

#: Tick labels as fine as the ticks are apart (plotly ``dtick`` in ms), so no two ticks read the same.
DATE_TICK_FORMATS = (
    (None, 1000, "%H:%M:%S.%L"),
    (1000, 60_000, "%H:%M:%S"),
    (60_000, 12 * 3600 * 1000, "%d %b %H:%M"),
    (12 * 3600 * 1000, "M1", "%d %b"),
    ("M1", "M12", "%b %Y"),
    ("M12", None, "%Y"),
)
HISTORY_COLUMNS = (
    "date",
    "exercise",
    "sets",
    "reps",
    "max_peak_lumbar_flexion_deg",
    "mean_peak_lumbar_flexion_deg",
    "min_lockout_lumbar_angle_deg",
    "time_under_load_s",
    "flagged_reps",
)


#: When a session was recorded, in hover labels.
WHEN = "%{x|%d %b %Y %H:%M}"


def _signed(values: pd.Series) -> np.ndarray:
    """Angles as the tables write them (`analysis.display.fmt_num`): signed, never "-0"."""
    return np.array([fmt_num(v, signed=True) for v in values], dtype=object)


def history_table(entries: Iterable[tuple[date | datetime | str, SessionAnalysis | Mapping]]) -> pd.DataFrame:
    """One row per session and exercise, from analysed sessions.

    Parameters
    ----------
    entries
        ``(session date, analysis)`` pairs; the analysis is a `SessionAnalysis` or its ``to_dict()``
        document (as cached in the store), so old sessions need no re-analysis.

    Returns
    -------
    pandas.DataFrame
        Columns `HISTORY_COLUMNS`, sorted by date. ``time_under_load_s`` (the summed duration of the
        reps) stands for training volume, as loads are not recorded.
    """
    rows = []
    for when, analysis in entries:
        doc = analysis.to_dict() if isinstance(analysis, SessionAnalysis) else analysis
        by_exercise: dict[str, list[dict]] = {}
        for s in doc.get("sets", []):
            by_exercise.setdefault(s["exercise"], []).append(s)
        for exercise, sets in by_exercise.items():
            reps = [r for s in sets for r in s["reps"]]

            def values(key: str, reps: list[dict] = reps) -> np.ndarray:
                return np.array([np.nan if r.get(key) is None else r[key] for r in reps], dtype=float)

            peak, lockout, duration = (
                values("peak_lumbar_flexion_deg"),
                values("lockout_lumbar_angle_deg"),
                values("duration_s"),
            )
            finite_peak = peak[np.isfinite(peak)]
            rows.append(
                {
                    "date": pd.Timestamp(when),
                    "exercise": exercise,
                    "sets": len(sets),
                    "reps": len(reps),
                    "max_peak_lumbar_flexion_deg": float(finite_peak.max()) if finite_peak.size else np.nan,
                    "mean_peak_lumbar_flexion_deg": float(finite_peak.mean()) if finite_peak.size else np.nan,
                    "min_lockout_lumbar_angle_deg": float(np.nanmin(lockout)) if np.isfinite(lockout).any() else np.nan,
                    "time_under_load_s": float(np.nansum(duration)),
                    "flagged_reps": sum(bool(r.get("flags")) for r in reps),
                }
            )
    table = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    return table.sort_values(["date", "exercise"], ignore_index=True)


def has_trend(table: pd.DataFrame) -> bool:
    """Whether a history table spans two sessions or more (one session is not a trend)."""
    return table["date"].nunique() >= 2


def history_figure(table: pd.DataFrame, limits: Limits | None = None, title: str = "History") -> go.Figure:
    """Trends across sessions, one colour per exercise.

    Parameters
    ----------
    table
        Output of `history_table`.
    limits
        The person's current limits, drawn as a band on the flexion and lockout rows; ``None`` draws none.
    title
        Chart title.

    Returns
    -------
    plotly.graph_objects.Figure
        Rows sharing the date axis: peak lumbar flexion (session maximum, with the mean dotted),
        worst lockout angle, reps, and time under load.
    """
    traces, rows_of = [], []
    for k, (exercise, rows) in enumerate(table.groupby("exercise", sort=True)):
        color = EXERCISE_COLORS[k % len(EXERCISE_COLORS)]
        name = str(exercise).replace("_", " ")
        common = dict(x=rows["date"], legendgroup=name, line=dict(color=color), marker=dict(color=color, size=7))
        traces += [
            go.Scatter(
                y=rows["max_peak_lumbar_flexion_deg"],
                name=name,
                mode="lines+markers",
                customdata=np.stack([_signed(rows["max_peak_lumbar_flexion_deg"]), rows["flagged_reps"]], axis=1),
                hovertemplate=WHEN
                + ": max %{customdata[0]}°, %{customdata[1]} reps flagged<extra>"
                + name
                + "</extra>",
                **common,
            ),
            go.Scatter(
                y=rows["mean_peak_lumbar_flexion_deg"],
                name=name + " (mean)",
                mode="lines",
                showlegend=False,
                customdata=_signed(rows["mean_peak_lumbar_flexion_deg"]),
                hovertemplate=WHEN + ": mean %{customdata}°<extra>" + name + "</extra>",
                **{**common, "line": dict(color=color, dash="dot")},
            ),
            go.Scatter(
                y=rows["min_lockout_lumbar_angle_deg"],
                name=name,
                mode="lines+markers",
                showlegend=False,
                customdata=_signed(rows["min_lockout_lumbar_angle_deg"]),
                hovertemplate=WHEN + ": lockout %{customdata}°<extra>" + name + "</extra>",
                **common,
            ),
            go.Scatter(
                y=rows["reps"],
                name=name,
                mode="lines+markers",
                showlegend=False,
                hovertemplate=WHEN + ": %{y} reps<extra>" + name + "</extra>",
                **common,
            ),
            go.Scatter(
                y=rows["time_under_load_s"] / 60.0,
                name=name,
                mode="lines+markers",
                showlegend=False,
                hovertemplate=WHEN + ": %{y:.1f} min<extra>" + name + "</extra>",
                **common,
            ),
        ]
        rows_of += [1, 1, 2, 3, 4]
    shapes, annotations = [], []
    for axis in (1, 2) if limits is not None else ():
        band_shapes, band_notes = limit_band(limits, axis=axis)
        shapes += band_shapes
        annotations += band_notes
    layout = base_layout(title, height_px=640)
    layout["legend"]["y"] = 1.04
    layout.update(stacked_axes([1, 1, 1, 1], 0.04, ["peak flexion (°)", "lockout (°)", "reps", "under load (min)"], ""))
    # dates, as fine as the ticks are apart: the time of day only when they are hours apart
    layout["xaxis4"]["tickformatstops"] = [dict(dtickrange=[lo, hi], value=fmt) for lo, hi, fmt in DATE_TICK_FORMATS]
    for trace, row in zip(traces, rows_of):
        trace.update(row_axes(row))
    return styled_figure(layout, shapes, annotations, data=traces)
