"""How the book writes a number: a few significant figures, thousands separators, no trailing zeros.

Its own module, with nothing but ``math``, so that what reads only an export (the release history's
"what moved" lines, read by the citation checkers) writes numbers as the book does without loading the
engine or pint.
"""

from __future__ import annotations

import math

SIGNIFICANT = 3


def number(value: float, significant: int = SIGNIFICANT) -> str:
    """``significant`` figures (three unless asked), thousands separators, no trailing zeros."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 15 or magnitude <= -5:
        return f"{value:.{significant - 1}e}"
    decimals = significant - 1 - magnitude
    text = f"{round(value, decimals):,.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
