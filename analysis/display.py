"""Numbers as people read them: one rounding and one sign language for every text (docs/conventions.md, "Display")."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Decimals a value compared with a limit may gain so that "past the limit" stays true once rounded.
MAX_EXTRA_DECIMALS = 3


def fmt_num(value: float | None, decimals: int = 0, unit: str = "", *, signed: bool = False) -> str:
    """``value`` rounded to ``decimals``, "–" when missing, never "-0" or "+0".

    Parameters
    ----------
    value
        The number; None or NaN gives "–".
    decimals
        Digits after the point.
    unit
        Appended as is (e.g. "°", " s").
    signed
        Write "+" before positive values (zero stays unsigned).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{float(value):.{decimals}f}"
    if float(text) == 0:
        return f"{0:.{decimals}f}{unit}"
    if text.startswith("-"):
        return "−" + text[1:] + unit  # a true minus sign, as in the docs
    return ("+" if signed else "") + text + unit


def past_limit(value: float, limit: float, decimals: int = 0) -> tuple[str, str]:
    """``value`` and ``limit`` (both magnitudes, ``value`` > ``limit``) formatted so the text reads as past the limit.

    Both are rounded the same way; where they would look equal (or the value smaller), both get one more
    decimal, up to `MAX_EXTRA_DECIMALS` more; a value closer to the limit than that is rounded up.
    """
    for places in range(decimals, decimals + MAX_EXTRA_DECIMALS + 1):
        if round(value, places) > round(limit, places):
            return fmt_num(value, places), fmt_num(limit, places)
    scale = 10.0**places
    return fmt_num(math.ceil(value * scale) / scale, places), fmt_num(limit, places)


@dataclass(frozen=True)
class CsvPrecision:
    """Decimals of the tables people open (reps.csv, sets.csv), chosen by the unit in a column's name.

    Parameters
    ----------
    angle_decimals
        Columns in degrees (``*_deg``, ``*_deg_per_rep``): 0.1°.
    time_decimals
        Columns in seconds (``*_s``): 0.01 s.
    percent_decimals
        Columns in percent (``*_pct``): 0.1 %.
    ratio_decimals
        Unitless ratios (``lumbar_share``, ``exercise_confidence``, …): 0.001.
    """

    angle_decimals: int = 1
    time_decimals: int = 2
    percent_decimals: int = 1
    ratio_decimals: int = 3

    def decimals(self, column: str) -> int:
        """Decimals of a float column, from the unit its name ends in (a ratio when it names none)."""
        if column.endswith(("_deg", "_deg_per_rep")):
            return self.angle_decimals
        if column.endswith("_s"):
            return self.time_decimals
        if column.endswith("_pct"):
            return self.percent_decimals
        return self.ratio_decimals
