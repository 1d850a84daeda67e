"""The explore page's data: every per-accelerator claim, re-derivable in the page for any chip and model.

A claim evaluated per accelerator reads some fields from the row's record (the chip) and,
often, fields of one model record (DeepSeek-V3). The page lets the reader pick another chip
and another model, or type numbers, and re-derives each such claim from its SymPy closed
form printed to JavaScript, judged by the policy's bands (:func:`claims.calculator.judge`).
Every number comes from hwdb through this module; :func:`with_model` is the same rebinding
in Python, so tests can hold the page to the engine. Each field carries the rules a typed value
must meet (:func:`claims.calculator.rules`), and ``ordered`` the pairs of one record's fields whose
order is physical (active ≤ total parameters). A verdict is the lecture's only on the claim's own
case: with another model, the page shows the value and no verdict.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import sympy as sp

from hwdb import Database, Record
from hwdb.derived import field_of

from . import calculator, formatting, plausible
from .engine import Claim, Evaluation

HARDWARE_KIND = "accelerator"
MODEL_KIND = "model"


def hardware_claims(evaluations: dict[str, Evaluation]) -> list[Evaluation]:
    """Claims evaluated per accelerator that the page can re-derive (not mere reported figures)."""
    return [
        e
        for e in evaluations.values()
        if e.claim.rows is not None and e.claim.rows.kind == HARDWARE_KIND and calculator.spec(e) is not None
    ]


def model_of(claim: Claim, db: Database) -> str | None:
    """The one model record the claim's value reads (None if none, or more than one)."""
    used = set(claim.derivation.result.free_symbols)
    models = {
        i.record
        for i in claim.inputs
        if i.symbol in used and i.record is not None and i.record in db.records and db[i.record].kind == MODEL_KIND
    }
    return models.pop() if len(models) == 1 else None


def with_model(claim: Claim, db: Database, model_id: str) -> Claim:
    """The claim with its value's model inputs read from another model record (what the page computes).

    Only inputs of the value move; a detail's input (shown in the box, not on the page) keeps its record.
    """
    current = model_of(claim, db)
    if current is None:
        return claim
    used = claim.derivation.result.free_symbols
    inputs = tuple(replace(i, record=model_id) if i.record == current and i.symbol in used else i for i in claim.inputs)
    return replace(claim, inputs=inputs)


def _field_entry(record: Record, name: str) -> dict[str, Any] | None:
    f = field_of(record, name)
    if f is None:
        return None
    show = calculator.shown(f.si, f.quantity.units)
    return {"si": f.si, "text": show.text, "unit": show.label, "factor": show.factor}


def _fields(
    db: Database, kind: str, names: dict[str, tuple[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The editable fields of one kind, and each record of that kind with its values."""
    specs = [
        {
            "group": kind,
            "label": text,
            "spellings": calculator.spellings(unit),
            **calculator.rules(name, unit),
        }
        for name, (text, unit) in names.items()
    ]
    records = [
        {
            "id": r.id,
            "name": r.name,
            "values": {name: _field_entry(r, name) for name in names},
        }
        for r in sorted(db.of_kind(kind), key=lambda r: r.name.lower())
        if any(field_of(r, name) is not None for name in names)
    ]
    return specs, records


def data(evaluations: dict[str, Evaluation], db: Database) -> dict[str, Any]:
    """Everything the explore page needs, as JSON-ready data."""
    chosen = hardware_claims(evaluations)
    hw_names: dict[str, tuple[str, Any]] = {}
    model_names: dict[str, tuple[str, Any]] = {}
    claims: list[dict[str, Any]] = []
    for e in chosen:
        claim = e.claim
        assert claim.rows is not None
        model = model_of(claim, db)
        result = e.derivation.result
        by_name = {str(s): s for s in sorted(result.free_symbols, key=str)}  # a stable order: stable pages
        constants = {str(c.symbol): c for c in claim.constants}
        names: dict[sp.Symbol, sp.Symbol] = {}
        args: list[dict[str, Any]] = []
        for item in claim.inputs:
            symbol = by_name.get(str(item.symbol))
            if symbol is None or symbol in names:
                continue
            names[symbol] = sp.Symbol(f"v{len(names)}")
            if item.record is None:
                unit = field_of(e.reference.record, item.field) if e.reference.record else None
                assert unit is not None
                hw_names.setdefault(item.field, (item.label or item.field, unit.quantity.units))
                args.append({"group": HARDWARE_KIND, "field": item.field})
            elif item.record == model:
                model_field = field_of(db[model], item.field)  # a config field, or one derived from them
                assert model_field is not None
                model_names.setdefault(item.field, (item.label or item.field, model_field.quantity.units))
                args.append({"group": MODEL_KIND, "field": item.field})
            else:
                f = field_of(db[item.record], item.field)
                assert f is not None
                args.append(
                    {
                        "group": "fixed",
                        "si": f.si,
                        "label": item.label or str(item.symbol),
                        "key": f"{item.record}.{item.field}",
                        "shown": formatting.field_value(f),
                    }
                )
        fixed: dict[str, float] = {}
        for name, symbol in by_name.items():
            if symbol not in names:
                names[symbol] = sp.Symbol(f"c{len(fixed)}")
                fixed[str(names[symbol])] = constants[name].si
        in_scope = [r.id for r in db.of_kind(HARDWARE_KIND) if claim.rows.in_scope(r)]
        claims.append(
            {
                "id": claim.id,
                "title": claim.title,
                "url": claim.url,
                "expr": sp.jscode(result.xreplace(names)),  # a renaming of symbols: xreplace, not subs's search
                "args": args,
                "constants": fixed,
                "to_unit": calculator.to_claim_unit(claim.unit),
                "format": calculator.result_format(e),
                "judge": calculator.judge(e),
                "rule": claim.rows.rule,
                "rows": e.population.rows if e.population else len(e.rows),
                "in_scope": sorted(in_scope),
                "why_scope": claim.rows.why_scope,
                "model": model,
                "stated": formatting.stated(e),
                "verdict": e.verdict.value,
            }
        )
    hw_fields, accelerators = _fields(db, HARDWARE_KIND, hw_names)
    model_fields, models = _fields(db, MODEL_KIND, model_names)
    references = Counter(e.claim.rows.reference for e in chosen if e.claim.rows is not None)
    model_defaults = Counter(c["model"] for c in claims if c["model"])
    fields = hw_fields + model_fields
    keys = [(f["group"], f["field"]) for f in fields]
    return {
        "fields": fields,
        "ordered": [["{}.{}".format(*keys[i]), "{}.{}".format(*keys[j])] for i, j in plausible.ordered(keys)],
        "accelerators": accelerators,
        "models": models,
        "claims": claims,
        "default_accelerator": references.most_common(1)[0][0] if references else None,
        "default_model": model_defaults.most_common(1)[0][0] if model_defaults else None,
    }
