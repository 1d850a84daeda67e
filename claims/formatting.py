"""How numbers, units and findings are written: one place, used by the CLI and the book."""

from __future__ import annotations

import math
import re
from typing import Any

from hwdb import Field, Quantity
from hwdb.units import parse_unit

from .engine import Claim, Detail, Evaluation
from .number_text import SIGNIFICANT as SIGNIFICANT
from .number_text import number as number
from .policy import Verdict

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
        if 0 < value < 0.01:  # a small share reads better as one part in N than as 0.000489
            return f"1/{number(1 / value, significant)}"
        return f"{number(value, significant)}×" if value >= 1 else number(value, significant)
    text = number(value, significant)
    if label.isalpha() and len(label) > 3 and text != "1":  # a spelled-out unit takes a plural: "2 months"
        label += "s"
    return f"{text} {label}"


def factor(k: float) -> str:
    """A multiplicative change: ×1.25 or ÷1.5; any change at all for exact statements."""
    if abs(math.log(k)) < 1e-6:
        return "any change"
    size = k if k >= 1 else 1 / k
    digits = next(d for d in range(SIGNIFICANT, 9) if number(size, d) != "1" or d == 8)  # never "×1"
    return f"×{number(size, digits)}" if k >= 1 else f"÷{number(size, digits)}"


#: Plurals that are not the singular plus "s", for the head noun of a count ("1 pass over HBM").
_SINGULARS = {"passes": "pass", "dies": "die", "batches": "batch", "indices": "index", "boxes": "box"}
_PREPOSITIONS = frozenset({"per", "over", "of", "in", "on", "for", "to", "across", "from", "with"})


def singular(noun: str) -> str:
    """A count's noun phrase for one: "NVLink domains" → "NVLink domain", "passes over HBM" → "pass over HBM".

    The nouns are written in the plural, since most counts are not one; the head is the last word before
    the first preposition ("experts per GPU"), or the last word.
    """
    words = noun.split(" ")
    head = next((i - 1 for i, w in enumerate(words) if i > 0 and w in _PREPOSITIONS), len(words) - 1)
    word = words[head]
    if word in _SINGULARS:
        words[head] = _SINGULARS[word]
    elif word.endswith("ies") and len(word) > 4:
        words[head] = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        words[head] = word[:-1]
    return " ".join(words)


def counted(value: float, noun: str, significant: int = SIGNIFICANT) -> str:
    """A number and the noun it counts, singular where the number reads "1": "1 NVLink domain", "2 hops"."""
    text = number(value, significant)
    return f"{text} {singular(noun) if text == '1' else noun}"


def claim_quantity(claim: Claim, value: float) -> str:
    """A claim's value as the book writes it: counts with their noun, the rest by unit.

    An exact statement is written to five figures, so "2,048" is not shown as "2,050".
    """
    digits = 5 if claim.stated.wording == "exact" else SIGNIFICANT
    if value == 0:  # a proof's zero (a derivative, a dependence) has no magnitude to give a unit to
        return "zero"
    if claim.noun:
        return counted(value, claim.noun, digits)
    return quantity(value, claim.unit, digits)


#: What the rows of a population claim are, by record kind, for "14 of 23 accelerators".
ROW_NOUNS = {
    "accelerator": "accelerators",
    "statistic": "reported figures",
    "price-sheet": "price sheets",
    "memory-tier": "devices",
    "model": "models",
    "deployment": "deployments",
    "system": "systems",
    "interconnect": "links",
}


def detail(spec: Detail, value: float) -> str:
    """A detail's value: a count with its noun ("17.9 GPUs"), the rest by unit.

    A detail beside an exact value asks for more figures (``digits``), so "4,096" is not shown as "4,100".
    """
    digits = spec.digits or SIGNIFICANT
    return counted(value, spec.noun, digits) if spec.noun else quantity(value, spec.unit, digits)


def skipped(records: tuple[tuple[str, str], ...], kind: str) -> str:
    """Which records have no row, named where few and counted per missing field where many."""
    by_field: dict[str, list[str]] = {}
    for record_id, field_name in records:
        by_field.setdefault(field_name, []).append(record_id)
    parts = [
        ", ".join(ids) + f" (no {name})" if len(ids) <= 4 else f"{len(ids)} other {kind} records (no {name})"
        for name, ids in by_field.items()
    ]
    return "No row for " + "; ".join(parts) + "."


def in_stated_unit(evaluation: Evaluation, value: float) -> float:
    """A value of the claim in the unit of the lecture's figure, where its bands are."""
    claim = evaluation.claim
    if claim.stated.unit == claim.unit:
        return value
    return float(Quantity(value, parse_unit(claim.unit)).to(parse_unit(claim.stated.unit)).magnitude)


def judged(evaluation: Evaluation) -> str:
    """What the verdict is on: the case's value, or a population's count of rows in the bands."""
    p = evaluation.population
    if p is None:
        return claim_quantity(evaluation.claim, evaluation.value)
    assert evaluation.claim.rows is not None
    rows = evaluation.claim.rows
    noun = rows.noun or ROW_NOUNS.get(rows.kind, "rows")
    if p.voter:
        noun = f"{rows.voter_noun} ({p.members} {noun}, one vote per {p.voter})"
    text = f"{p.holds} of {p.rows} {noun} hold"
    if p.within_rough > p.holds:
        text += f", {p.within_rough} within the rough band"
    return text


def margin(evaluation: Evaluation, flag: bool = True) -> str:
    """How far the judged value may move before the verdict changes: "4.2 %", or why there is no such figure.

    ``flag`` appends "(marginal)" to a marginal one, for places that do not say so beside it.
    """
    if evaluation.evidence == "none":
        return "no verdict"
    if evaluation.margin is None:
        return "exact statement" if evaluation.claim.stated.wording == "exact" else "no move changes it"
    shown = "0 % (on a band's edge)" if evaluation.margin < 1e-6 else f"{number(100 * evaluation.margin)} %"
    return f"{shown} (marginal)" if flag and evaluation.marginal else shown


def band(evaluation: Evaluation, interval: tuple[float, float]) -> str:
    """One tolerance band, written like the claim's values and in their unit: "16–25 ms", "≥ 1"."""
    lo, hi = interval
    claim = evaluation.claim

    def write(v: float) -> str:
        """In the claim's own unit, so a band reads beside the value it judges (26.3 µs against 949 µs)."""
        if claim.stated.unit == claim.unit:
            return claim_quantity(claim, v)
        return claim_quantity(
            claim, float(Quantity(v, parse_unit(claim.stated.unit)).to(parse_unit(claim.unit)).magnitude)
        )

    if math.isinf(hi):
        return f"≥ {write(lo)}"
    low, high = write(lo), write(hi)
    low_num, _, low_unit = low.partition(" ")
    high_num, _, high_unit = high.partition(" ")
    if low_unit == high_unit and not low_num.endswith("×"):
        return f"{low_num}–{high_num} {high_unit}".strip()
    return f"{low}–{high}"


def bands(evaluation: Evaluation) -> str:
    """Both tolerance bands: 'holds 16–25 ms, roughly 10–40 ms'."""
    stated_ = evaluation.claim.stated
    if stated_.wording == "exact":
        return f"holds only at exactly {in_stated(evaluation, stated_.value)}, no rough band"
    holds, rough = stated_.bands()
    text = f"holds {band(evaluation, holds)}"
    return text + (f", roughly {band(evaluation, rough)}" if rough else ", no rough band")


def in_stated(evaluation: Evaluation, value_in_stated_unit: float) -> str:
    """A value already in the lecture's unit, written like the claim's values."""
    claim = evaluation.claim
    if claim.stated.unit == claim.unit:
        return claim_quantity(claim, value_in_stated_unit)
    return quantity(value_in_stated_unit, claim.stated.unit)


def own_arithmetic(evaluation: Evaluation) -> str | None:
    """The lecture checked against itself, in one sentence; None where it has no arithmetic."""
    own, verdict = evaluation.claim.own, evaluation.own_verdict
    if own is None or verdict is None:
        return None
    result = f"The lecture's own arithmetic, {own.text}, gives {in_stated(evaluation, own.value)}"
    if verdict is Verdict.HOLDS:
        return result + f": it closes on the figure it states ({stated(evaluation)})."
    return result + f", which does not close on the {stated(evaluation)} it states ({verdict.value} by the same bands)."


def stated(evaluation: Evaluation) -> str:
    s = evaluation.claim.stated
    text = claim_quantity(evaluation.claim, s.value) if s.unit == evaluation.claim.unit else quantity(s.value, s.unit)
    if s.low is not None and s.high is not None:
        high = claim_quantity(evaluation.claim, s.high) if s.unit == evaluation.claim.unit else quantity(s.high, s.unit)
        label = high.split(" ", 1)[1] if " " in high else ""  # the plural: "1–2 racks", never "1–2 rack"
        text = f"{number(s.low)}–{number(s.high)} {label}".strip()
    return ("at least " if s.wording == "at-least" else "") + text


def field_value(field: Field, significant: int = 5) -> str:
    """An hwdb field in the unit its source printed, after normalisation.

    Data is shown with as many significant figures as it has, up to five (a datasheet's
    2,765 GB/s stays 2,765), and whole counts exactly (a 9,216-chip pod is not a 9,220-chip
    pod). A value that five figures cannot write exactly (a third, a rack figure divided by
    72 chips) is a computed one and gets the book's usual three.
    """
    q: Any = field.quantity
    if 0 < abs(float(q.magnitude)) < 1 and not q.dimensionless:
        compact = q.to_compact()  # a rack's 4.6 PB/s over 144 chips reads as 31.9 TB/s, not 0.0319 PB/s
        # ... but a byte is never split: half a byte per parameter is 0.5 B/param, not 500 mB/param.
        split_byte = any(f"{prefix}byte" in str(compact.units) for prefix in ("milli", "micro", "nano"))
        if 1 <= abs(float(compact.magnitude)) < 1000 and not split_byte:
            q = compact
    magnitude = float(q.magnitude)
    if q.dimensionless and magnitude.is_integer():
        return f"{round(magnitude):,}"
    digits = next((d for d in range(1, significant + 1) if _exact_in(magnitude, d)), SIGNIFICANT)
    if q.dimensionless:
        return number(magnitude, digits)
    return quantity(magnitude, str(q.units), digits)


def _exact_in(value: float, digits: int) -> bool:
    """Whether ``value`` is written exactly (to round-off) with this many significant figures."""
    if value == 0 or not math.isfinite(value):
        return True
    rounded = float(f"{value:.{digits - 1}e}")
    return abs(rounded - value) <= 1e-9 * abs(value)


PLACEHOLDER = re.compile(r"\{(value|stated|own|judged|detail|in)(?::([^}]+))?\}")


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
        if kind == "judged":
            return judged(evaluation)
        if kind == "own":
            if claim.own is None:
                raise KeyError(f"claim {claim.id}: finding names the lecture's own arithmetic, which it has none of")
            return in_stated(evaluation, claim.own.value)
        if kind == "detail":
            if key not in details:
                raise KeyError(f"claim {claim.id}: finding names unknown detail '{key}'")
            return detail(details[key], row.details[key])
        if key not in inputs:
            raise KeyError(f"claim {claim.id}: finding names unknown input '{key}'")
        return field_value(inputs[key].field)

    return PLACEHOLDER.sub(fill, claim.finding)
