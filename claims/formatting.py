"""How numbers, units and findings are written: one place, used by the CLI and the book."""

from __future__ import annotations

import math
import re

from hwdb import Field
from hwdb.units import parse_unit

from .engine import Claim, Evaluation

SIGNIFICANT = 3


def number(value: float, significant: int = SIGNIFICANT) -> str:
    """Three significant figures, thousands separators, no trailing zeros."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 15 or magnitude <= -5:
        return f"{value:.{significant - 1}e}"
    decimals = significant - 1 - magnitude
    rounded = round(value, decimals)
    text = f"{rounded:,.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


#: Counts are written the way the field writes them: 100B parameters, 200k tokens.
COUNT_UNITS = {"param": "parameters", "token": "tokens"}
COUNT_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
COUNT_DIMENSIONS = {"param": parse_unit("param").dimensionality, "token": parse_unit("token").dimensionality}


def unit(text: str) -> str:
    """A compact unit label ("B/tok", "ms"); empty for dimensionless."""
    parsed = parse_unit(text)
    if parsed.dimensionless and parsed == parse_unit("1"):
        return ""
    return f"{parsed:~P}"


def _count(value: float, unit_text: str) -> tuple[float, str] | None:
    """(value in plain tokens or parameters, their name) for a count-like unit."""
    parsed = parse_unit(unit_text)
    for name, dimensionality in COUNT_DIMENSIONS.items():
        if parsed.dimensionality == dimensionality:
            factor = float((1 * parsed).to(parse_unit(name)).magnitude)
            return value * factor, COUNT_UNITS[name]
    return None


def quantity(value: float, unit_text: str, significant: int = SIGNIFICANT) -> str:
    """A value with its unit; counts as "200k tokens", ratios as "9×", percentages as "98.4 %"."""
    count = _count(value, unit_text)
    if count is not None:
        plain, name = count
        for scale, suffix in COUNT_SUFFIXES:
            if abs(plain) >= max(scale, 1e5):
                return f"{number(plain / scale, significant)}{suffix} {name}"
        return f"{number(plain, significant)} {name}"
    if unit_text == "percent":
        return f"{number(value, significant)} %"
    label = unit(unit_text)
    if not label:
        return f"{number(value, significant)}×" if value >= 1 else number(value, significant)
    return f"{number(value, significant)} {label}"


def factor(k: float) -> str:
    """A multiplicative change: ×1.25 or ÷1.5; any change at all for exact statements."""
    if abs(math.log(k)) < 1e-6:
        return "any change"
    return f"×{number(k)}" if k >= 1 else f"÷{number(1 / k)}"


def claim_quantity(claim: Claim, value: float) -> str:
    """A claim's value as the book writes it: counts with their noun, the rest by unit."""
    if claim.noun:
        return f"{number(value)} {claim.noun}"
    return quantity(value, claim.unit)


def stated(evaluation: Evaluation) -> str:
    s = evaluation.claim.stated
    text = claim_quantity(evaluation.claim, s.value) if s.unit == evaluation.claim.unit else quantity(s.value, s.unit)
    if s.low is not None and s.high is not None:
        label = text.split(" ", 1)[1] if " " in text else ""
        text = f"{number(s.low)}–{number(s.high)} {label}".strip()
    return ("at least " if s.wording == "at-least" else "") + text


def field_value(field: Field, significant: int = 5) -> str:
    """An hwdb field in the unit its source printed, after normalisation.

    Data is shown to five significant figures (a datasheet's 2,765 GB/s stays 2,765),
    and whole counts exactly (a 9,216-chip pod is not a 9,220-chip pod).
    """
    q = field.quantity
    magnitude = float(q.magnitude)
    if q.dimensionless:
        return f"{round(magnitude):,}" if magnitude.is_integer() else number(magnitude, significant)
    return quantity(magnitude, str(q.units), significant)


PLACEHOLDER = re.compile(r"\{(value|stated|detail|in)(?::([^}]+))?\}")


def finding(evaluation: Evaluation) -> str:
    """Fill a claim's finding template from its evaluation (reference row)."""
    claim = evaluation.claim
    row = evaluation.reference
    details = {d.name: d for d in evaluation.derivation.details}
    inputs = {i.symbol: i for i in row.inputs}

    def fill(match: re.Match[str]) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "value":
            return claim_quantity(claim, row.value)
        if kind == "stated":
            return stated(evaluation)
        if kind == "detail":
            if key not in details:
                raise KeyError(f"claim {claim.id}: finding names unknown detail '{key}'")
            return quantity(row.details[key], details[key].unit)
        if key not in inputs:
            raise KeyError(f"claim {claim.id}: finding names unknown input '{key}'")
        return field_value(inputs[key].field)

    return PLACEHOLDER.sub(fill, claim.finding)
