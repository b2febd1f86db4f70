"""One look for every chart: colours, the base layout and the personal limit band."""

from __future__ import annotations

import plotly.graph_objects as go

from analysis.display import fmt_num
from analysis.limits import Limits

# The palette: each colour means one thing in every chart, card and text (docs/conventions.md, "Display").
#: Past the flexion limit (rounding): the flexion and fatigue-drift flags.
FLEXION_COLOR = "#dc2626"
#: Past the extension limit (arching): the lockout-hyperextension and overarching flags.
EXTENSION_COLOR = "#7c3aed"
#: Flagged for something else (left/right asymmetry).
OTHER_FLAG_COLOR = "#d97706"
#: A rep inside the limits.
CLEAN_COLOR = "#2563eb"
#: The person's range: the band between the limits and the limit lines.
LIMIT_COLOR = "#16a34a"
BAND_FILL = "rgba(34, 197, 94, 0.12)"
#: Signals, not judgements: greys and teal, never a judgement's colour.
LUMBAR_COLOR = "#1e293b"
TRUNK_COLOR = "#64748b"
PELVIS_COLOR = "#0d9488"
NEUTRAL_COLOR = "#94a3b8"
SET_FILL = "rgba(148, 163, 184, 0.16)"
#: One colour per exercise in the history: none of them a judgement's colour.
EXERCISE_COLORS = ("#0d9488", "#334155", "#65a30d", "#0891b2", "#78716c")
TEMPO_COLORS = {"eccentric_s": "#cbd5e1", "bottom_pause_s": "#fcd34d", "concentric_s": "#64748b"}
#: Flags by the limit they judge; each kind has one colour (`JUDGEMENT_COLORS`) and one name.
FLEXION_FLAGS = frozenset({"lumbar_flexion", "flexion_drift"})
EXTENSION_FLAGS = frozenset({"lockout_hyperextension", "overarching"})
JUDGEMENT_COLORS = {
    "flexion": FLEXION_COLOR,
    "extension": EXTENSION_COLOR,
    "other": OTHER_FLAG_COLOR,
    "clean": CLEAN_COLOR,
}
JUDGEMENT_NAMES = {
    "flexion": "past flexion limit",
    "extension": "past extension limit",
    "other": "uneven left/right",
    "clean": "inside your limits",
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

_AXIS = dict(
    gridcolor="#EBF0F8",
    linecolor="#EBF0F8",
    zerolinecolor="#EBF0F8",
    zerolinewidth=2,
    ticks="",
    automargin=True,
    title_standoff=12,
)
#: The look of plotly's "plotly_white" in the few settings we use. The full template costs 16 ms and 6 kB
#: per chart, too much for a report of a hundred charts.
THEME = go.layout.Template(
    layout=dict(
        plot_bgcolor="white",
        paper_bgcolor="white",
        font_color="#334155",
        hoverlabel_align="left",
        xaxis=_AXIS,
        yaxis=_AXIS,
    )
)

#: Plotly config for every chart: resizes with the page, no logo, no scroll-wheel zoom, and a toolbar of four
#: buttons (zoom, pan, reset, PNG); page.css shows it only on charts wide enough to hold it beside the title.
PLOT_CONFIG = {
    "responsive": True,
    "displaylogo": False,
    "scrollZoom": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
}


def base_layout(title: str, height_px: int = 340, legend_on_top: bool = True) -> dict:
    """Layout shared by all charts: white template, compact margins, legend on top.

    Parameters
    ----------
    title
        Chart title.
    height_px
        Chart height in pixels; widths follow the page.
    legend_on_top
        Whether a legend goes between the title and the plot (it gets room there).
    """
    return dict(
        title=dict(text=title, x=0.01, xanchor="left", y=0.985, yref="container", yanchor="top", font=dict(size=15)),
        template=THEME,
        height=height_px,
        # room above the plot for the title and, below it, a one or two line legend
        margin=dict(l=52, r=16, t=86 if legend_on_top else 44, b=44),
        font=dict(family=FONT, size=12),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0, font=dict(size=11)),
        hovermode="closest",
    )


def palette_css() -> str:
    """The palette as CSS custom properties (``--flexion``, ``--extension``, ``--other``, ``--clean``, ``--limit``)
    for page.css, so the pages take their colours from here too."""
    colors = {**JUDGEMENT_COLORS, "limit": LIMIT_COLOR}
    return ":root { " + " ".join(f"--{name}: {color};" for name, color in colors.items()) + " }"


def judgement(flags) -> str:
    """What a rep's flags say, as one key of `JUDGEMENT_COLORS`: flexion before extension before other flags.

    Parameters
    ----------
    flags
        The rep's flag names (``analysis.flags``).
    """
    names = set(flags)
    if names & FLEXION_FLAGS:
        return "flexion"
    if names & EXTENSION_FLAGS:
        return "extension"
    return "other" if names else "clean"


def judgement_key(kinds) -> list[go.Scatter]:
    """Legend entries (invisible traces) naming the colours of the judgements in ``kinds``, in palette order."""
    present = set(kinds)
    return [
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=JUDGEMENT_NAMES[kind],
            line=dict(color=color, width=2.5),
            hoverinfo="skip",
        )
        for kind, color in JUDGEMENT_COLORS.items()
        if kind in present
    ]


def limit_band(limits: Limits, axis: int = 1) -> tuple[list[dict], list[dict]]:
    """The person's range (extension limit to flexion limit) shaded, both limits as labelled dashed lines.

    Plain layout dicts rather than ``add_hrect``/``add_hline``: plotly validates those one by one, which
    costs more than the rest of a chart; `styled_figure` takes everything in one pass.

    Parameters
    ----------
    limits
        The personal limits, degrees from calibrated neutral.
    axis
        Number of the subplot axis pair whose y axis carries lumbar angle in degrees (1 for ``x``/``y``).

    Returns
    -------
    (shapes, annotations)
        Layout shapes and annotations.
    """
    suffix = "" if axis == 1 else str(axis)
    xref, yref = f"x{suffix} domain", f"y{suffix}"
    flex, ext = limits.flexion_limit_deg, -limits.extension_limit_deg
    shapes = [
        dict(
            type="rect",
            xref=xref,
            yref=yref,
            x0=0,
            x1=1,
            y0=ext,
            y1=flex,
            fillcolor=BAND_FILL,
            line_width=0,
            layer="below",
        )
    ]
    annotations = []
    for y, label, anchor in (
        (flex, f"flexion limit {fmt_num(flex)}°", "bottom"),
        (ext, f"extension limit {fmt_num(-ext)}°", "top"),  # a limit is a magnitude
    ):
        shapes.append(
            dict(
                type="line",
                xref=xref,
                yref=yref,
                x0=0,
                x1=1,
                y0=y,
                y1=y,
                layer="below",
                line=dict(color=LIMIT_COLOR, width=1, dash="dash"),
            )
        )
        annotations.append(
            dict(
                xref=xref,
                yref=yref,
                x=1,
                y=y,
                xanchor="right",
                yanchor=anchor,
                text=label,
                showarrow=False,
                font=dict(size=10, color=LIMIT_COLOR),
            )
        )
    return shapes, annotations


def stacked_axes(row_heights: list[float], spacing: float, y_titles: list[str], x_title: str) -> dict:
    """Layout axes for rows stacked over one shared x axis, ticks on the bottom row.

    What ``make_subplots(rows=n, shared_xaxes=True)`` lays out, without its 20 ms per chart. Traces
    of row ``i`` (from 1) use ``xaxis="x<i>"``, ``yaxis="y<i>"`` (no number for row 1).

    Parameters
    ----------
    row_heights
        Relative heights of the rows, top first.
    spacing
        Gap between rows, as a fraction of the plot height.
    y_titles
        Y axis title per row.
    x_title
        Title of the shared x axis.
    """
    n = len(row_heights)
    scale = (1.0 - spacing * (n - 1)) / sum(row_heights)
    axes, top = {}, 1.0
    for i, (height, y_title) in enumerate(zip(row_heights, y_titles), start=1):
        suffix = "" if i == 1 else str(i)
        bottom = max(top - height * scale, 0.0)
        axes[f"yaxis{suffix}"] = dict(domain=[bottom, top], anchor=f"x{suffix}", title_text=y_title)
        axes[f"xaxis{suffix}"] = dict(
            anchor=f"y{suffix}", **(dict(title_text=x_title) if i == n else dict(matches=f"x{n}", showticklabels=False))
        )
        top = bottom - spacing
    return axes


def row_axes(row: int) -> dict:
    """The ``xaxis``/``yaxis`` trace properties that put a trace in row ``row`` (from 1) of `stacked_axes`."""
    suffix = "" if row == 1 else str(row)
    return dict(xaxis=f"x{suffix}", yaxis=f"y{suffix}")


def styled_figure(layout: dict, shapes: list[dict] = (), annotations: list[dict] = (), data: list = ()) -> go.Figure:
    """A figure built in one go from its traces, layout, shapes and annotations.

    Passing everything to the constructor validates it once; ``update_layout`` after the fact costs
    about 15 ms a chart, which a report of a hundred charts cannot afford. Charts with rows of plots
    take their axes from `stacked_axes`.
    """
    return go.Figure(data=list(data), layout={**layout, "shapes": list(shapes), "annotations": list(annotations)})


def message_figure(title: str, message: str, height_px: int = 340) -> go.Figure:
    """A chart with no data that says why (no sets yet, no session picked)."""
    note = dict(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=13, color=TRUNK_COLOR)
    )
    layout = base_layout(title, height_px=height_px, legend_on_top=False)
    return styled_figure({**layout, "xaxis": {"visible": False}, "yaxis": {"visible": False}}, annotations=[note])
