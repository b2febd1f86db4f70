"""One card per rep: its lumbar curve against the person's band and the numbers that judged it.

The cards answer "which rep, what, how much" where a table would scroll sideways on a phone. A card is a
`RepCard` (data); the report writes it as HTML (`rep_cards_html`) and the Dash app as components.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import numpy as np

from analysis.display import fmt_num, past_limit
from analysis.limits import Limits
from analysis.session import SessionAnalysis
from dashboards.rep_charts import normalised_rep, rep_slice
from dashboards.style import BAND_FILL, JUDGEMENT_COLORS, JUDGEMENT_NAMES, LIMIT_COLOR, judgement


@dataclass(frozen=True)
class SparklineSize:
    """The drawing of a rep's curve on its card, in SVG user units (the card scales it to its width).

    Parameters
    ----------
    width, height
        Size of the drawing.
    margin_deg
        Room above the flexion limit and below the extension limit, degrees.
    """

    width: int = 200
    height: int = 56
    margin_deg: float = 5.0


@dataclass(frozen=True)
class Fact:
    """One number on a card: ``label`` ``value`` (against ``limit``); ``past`` names the judgement (``flexion``,
    ``extension``) when the value crossed that limit, else it is empty."""

    label: str
    value: str
    limit: str = ""
    past: str = ""


@dataclass(frozen=True)
class RepCard:
    """What a rep's card shows.

    Attributes
    ----------
    set_index, rep_index
        Which rep (numbers from 1).
    kind
        Its judgement (`dashboards.style.judgement`): the colour of the card's edge and curve.
    verdict
        The judgement in words (`dashboards.style.JUDGEMENT_NAMES`).
    facts
        Peak flexion against the flexion limit, lockout against the extension limit, tempo, lumbar share.
    reasons
        The flags' sentences (`analysis.flags`), which carry the numbers of the other flags.
    curve_uri
        The lumbar curve over the rep against the band, as an SVG ``data:`` URI (an ``<img>`` in both the
        report and the app).
    """

    set_index: int
    rep_index: int
    kind: str
    verdict: str
    facts: tuple[Fact, ...]
    reasons: tuple[str, ...]
    curve_uri: str


def angle_facts(peak_deg: float, lockout_deg: float, limits: Limits) -> tuple[Fact, Fact]:
    """Peak flexion against the flexion limit and lockout against the extension limit, as the tables sign them.

    Angles are signed (docs/conventions.md, "Display"), limits magnitudes named by their direction; a value
    past its limit is written so that rounding cannot make it look inside (`analysis.display.past_limit`).
    """
    flex_limit, ext_limit = limits.flexion_limit_deg, limits.extension_limit_deg
    if np.isfinite(peak_deg) and peak_deg > flex_limit:
        value, limit = past_limit(peak_deg, flex_limit)
        peak = Fact("peak", f"+{value}°", f"flexion limit {limit}°", past="flexion")
    else:
        peak = Fact("peak", f"{fmt_num(peak_deg, signed=True)}°", f"flexion limit {fmt_num(flex_limit)}°")
    if np.isfinite(lockout_deg) and -lockout_deg > ext_limit:
        value, limit = past_limit(-lockout_deg, ext_limit)
        lockout = Fact("lockout", f"−{value}°", f"extension limit {limit}°", past="extension")
    else:
        lockout = Fact("lockout", f"{fmt_num(lockout_deg, signed=True)}°", f"extension limit {fmt_num(ext_limit)}°")
    return peak, lockout


def curve_svg(lumbar_deg: np.ndarray, limits: Limits, color: str, size: SparklineSize = SparklineSize()) -> str:
    """A rep's lumbar curve (0–100 % of the rep) over the band between the limits, as SVG text.

    Parameters
    ----------
    lumbar_deg
        Lumbar angle over the rep on an even time axis, degrees (+ flexion); NaN where unknown.
    limits
        The personal limits.
    color
        The curve's colour (its judgement's).
    size
        The drawing's size.
    """
    flex, ext = limits.flexion_limit_deg, -limits.extension_limit_deg
    finite = lumbar_deg[np.isfinite(lumbar_deg)]
    top = max(flex, finite.max() if finite.size else flex) + size.margin_deg
    bottom = min(ext, finite.min() if finite.size else ext) - size.margin_deg

    def y_of(angle_deg: float) -> float:
        return size.height * (top - angle_deg) / (top - bottom)

    x = np.linspace(0.0, size.width, len(lumbar_deg))
    points = " ".join(f"{xi:.1f},{y_of(yi):.1f}" for xi, yi in zip(x, lumbar_deg) if np.isfinite(yi))
    band = f"<rect x='0' y='{y_of(flex):.1f}' width='{size.width}' height='{y_of(ext) - y_of(flex):.1f}' fill='{BAND_FILL}'/>"
    lines = "".join(
        f"<line x1='0' x2='{size.width}' y1='{y_of(v):.1f}' y2='{y_of(v):.1f}' stroke='{c}' stroke-width='1' "
        f"stroke-dasharray='{dash}'/>"
        for v, c, dash in ((flex, LIMIT_COLOR, "4 3"), (ext, LIMIT_COLOR, "4 3"), (0.0, "#cbd5e1", "1 2"))
    )
    curve = f"<polyline points='{points}' fill='none' stroke='{color}' stroke-width='2.2' stroke-linejoin='round'/>"
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {size.width} {size.height}' "
        f"preserveAspectRatio='none'>{band}{lines}{curve}</svg>"
    )


def rep_cards(analysis: SessionAnalysis, set_index: int) -> list[RepCard]:
    """The cards of one set's reps, in rep order.

    Parameters
    ----------
    analysis
        The analysed session.
    set_index
        Set number (from 1).
    """
    cards = []
    for rep in analysis.reps_of(set_index).itertuples():
        kind = judgement(rep.flags)
        norm = normalised_rep(rep_slice(analysis.angles, rep.start_s, rep.end_s), ("lumbar_flexion_deg",))
        svg = curve_svg(norm["lumbar_flexion_deg"], analysis.limits, JUDGEMENT_COLORS[kind])
        peak, lockout = angle_facts(
            float(rep.peak_lumbar_flexion_deg), float(rep.lockout_lumbar_angle_deg), analysis.limits
        )
        tempo = "/".join(fmt_num(v, 1) for v in (rep.eccentric_s, rep.bottom_pause_s, rep.concentric_s))
        share = getattr(rep, "lumbar_share", float("nan"))
        cards.append(
            RepCard(
                set_index=int(set_index),
                rep_index=int(rep.index),
                kind=kind,
                verdict=JUDGEMENT_NAMES[kind],
                facts=(peak, lockout, Fact("down/pause/up", f"{tempo} s"), Fact("lumbar share", fmt_num(share, 2))),
                reasons=tuple(rep.flag_reasons),
                curve_uri="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
            )
        )
    return cards


def curve_alt(card: RepCard) -> str:
    """The text alternative of a card's curve."""
    return f"lumbar angle through rep {card.rep_index} against your limits"


def fact_class(fact: Fact) -> str:
    """CSS classes of a fact: ``fact``, and ``past`` with the limit's judgement when it crossed one."""
    return f"fact past {fact.past}" if fact.past else "fact"


def rep_cards_html(cards: list[RepCard]) -> str:
    """The cards as HTML for the report (classes styled in page.css)."""
    out = []
    for card in cards:
        facts = "".join(
            f"<div class='{fact_class(f)}'><dt>{html.escape(f.label)}</dt>"
            f"<dd>{html.escape(f.value)}{f' <small>{html.escape(f.limit)}</small>' if f.limit else ''}</dd></div>"
            for f in card.facts
        )
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in card.reasons)
        out.append(
            f"<article class='rep-card {card.kind}' id='set{card.set_index}-rep{card.rep_index}'>"
            f"<header><b>Rep {card.rep_index}</b><span class='verdict'>{html.escape(card.verdict)}</span></header>"
            f"<img src='{card.curve_uri}' alt='{html.escape(curve_alt(card))}'>"
            f"<dl>{facts}</dl>" + (f"<ul class='reasons'>{reasons}</ul>" if reasons else "") + "</article>"
        )
    return f"<div class='rep-cards'>{''.join(out)}</div>"
