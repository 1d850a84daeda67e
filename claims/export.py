"""The machine-readable form of an evaluation (``python -m claims export``, ``claims.json``)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hwdb import Field, Source, display_path

from . import formatting, history, release, statements, typeset
from .citation import content_version, permalink, read_registry
from .engine import Evaluation, InputValue, Row, Rows
from .policy import EVIDENCE, RULES, STRENGTH, WORDINGS, Verdict, verdict_text
from .sensitivity import analyse

EXPORT_VERSION = 1
LECTURE = {
    "title": "The math behind how LLMs are trained and served",
    "speakers": ["Reiner Pope", "Dwarkesh Patel"],
    "date": "2026-04-29",
    "url": "https://www.dwarkesh.com/p/reiner-pope",
}


def source_json(source: Source) -> dict[str, Any]:
    return {
        "id": source.id,
        "title": source.title,
        "publisher": source.publisher,
        "url": source.url,
        "retrieved": source.retrieved.isoformat(),
    }


def field_json(field: Field) -> dict[str, Any]:
    q = field.quantity
    return {
        "value": float(q.magnitude),
        "unit": str(q.units),
        "value_si": field.si,
        "printed": {"value": field.printed_value, "unit": field.printed_unit},
        "convention": field.convention,
        "per_chips": field.per_chips,
        "source": source_json(field.source),
    }


def input_json(item: InputValue) -> dict[str, Any]:
    return {
        "symbol": item.symbol,
        "label": item.label,
        "record": item.record.id,
        "field": item.field.name,
        "file": item.field.file,  # an overlay's value names the overlay, not the record's base file
        **field_json(item.field),
    }


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def row_json(row: Row, rows: Rows | None = None) -> dict[str, Any]:
    """A row as exported; ``vote`` names the vote it belongs to where its claim counts one vote per group."""
    assert row.record is not None
    vote = rows.voter_of(row.record) if rows is not None and rows.voter and row.counts else None
    return {
        "record": row.record.id,
        "name": row.record.name,
        "value": row.value,
        "verdict": verdict_text(row.verdict),
        "counts": row.counts,
        "margin": row.margin,
        "vote": vote,
        "details": dict(row.details),
    }


def claim_json(
    evaluation: Evaluation, table: tuple[statements.Statement, ...], releases: tuple[history.Release, ...] = ()
) -> dict[str, Any]:
    claim = evaluation.claim
    stated = claim.stated
    holds, rough = stated.bands()
    derivation = evaluation.derivation
    return {
        "id": claim.id,
        "aliases": sorted(old for old, new in read_registry().aliases.items() if new == claim.id),
        "version": content_version(evaluation),
        "title": claim.title,
        "statement": claim.statement,
        "kind": claim.kind,
        "source": {
            "lecture": LECTURE,
            "section": claim.section,
            "statements": list(statements.of_claim(table, claim.id)),
        },
        "evidence": {
            "class": evaluation.evidence,
            "meaning": EVIDENCE[evaluation.evidence],
            "declared": claim.evidence,
            "inputs": sorted(evaluation.evidence_inputs, key=STRENGTH.index),
        },
        "margin": evaluation.margin,
        "marginal": evaluation.marginal,
        "marginal_why": evaluation.marginal_why,
        "judged": formatting.judged(evaluation),
        "population": (
            None
            if evaluation.population is None
            else {**asdict(evaluation.population), "meaning": RULES[evaluation.population.rule]}
        ),
        "value": evaluation.value,
        "value_in_stated_unit": formatting.in_stated_unit(evaluation, evaluation.value),
        "unit": claim.unit,
        "display": formatting.claim_quantity(claim, evaluation.value),
        "stated_display": formatting.stated(evaluation),
        "stated": {
            "value": stated.value,
            "unit": stated.unit,
            "low": stated.low,
            "high": stated.high,
            "text": stated.text,
            "marker": stated.marker,
            "why": stated.why,
        },
        "tolerance": {
            "wording": stated.wording,
            "meaning": WORDINGS[stated.wording].meaning,
            "holds": [_bound(holds[0]), _bound(holds[1])],
            "holds_roughly": [_bound(rough[0]), _bound(rough[1])] if rough else None,
            "unit": stated.unit,
        },
        "verdict": evaluation.verdict.value,
        "lecture_arithmetic": (
            None
            if claim.own is None
            else {
                "text": claim.own.text,
                "figures": {str(s): v for s, v in claim.own.figures},
                "value": claim.own.value,
                "unit": stated.unit,
                "closes": evaluation.own_verdict is Verdict.HOLDS,
                "verdict": verdict_text(evaluation.own_verdict),
            }
        ),
        "finding": formatting.finding(evaluation),
        "url": claim.url,
        "permalink": permalink(claim.id),
        "history": history.of_claim(releases, claim.id, read_registry().aliases),
        "inputs": [input_json(i) for i in evaluation.reference.inputs],
        "constants": [
            {"symbol": str(c.symbol), "value": c.value, "unit": c.unit, "why": c.why} for c in claim.constants
        ],
        "rows": [row_json(r, claim.rows) for r in evaluation.rows if r.record is not None],
        "rows_rule": (
            {
                "kind": claim.rows.kind,
                "reference": claim.rows.reference,
                "rule": claim.rows.rule,
                "meaning": RULES[claim.rows.rule],
                "why_reference": claim.rows.why_reference,
                "scope": dict(claim.rows.scope),
                "why_scope": claim.rows.why_scope,
                "skipped": [{"record": rid, "missing_field": f} for rid, f in evaluation.skipped],
            }
            if claim.rows
            else None
        ),
        "details": [
            {"name": d.name, "label": d.label, "value": evaluation.reference.details[d.name], "unit": d.unit}
            for d in derivation.details
        ],
        "checks": [{"name": name, "value": value} for name, value in derivation.checks],
        "elasticities": [
            {
                "input": a.input.key,
                "elasticity": a.elasticity,
                "flip_factor": a.flip_factor,
                "flips_to": a.flips_to.value if a.flips_to else None,
            }
            for a in analyse(evaluation)
        ],
        "sensitivity": [
            {
                "input": s.input.key,
                "low": float(s.input.field.low.magnitude) if s.input.field.low is not None else None,
                "high": float(s.input.field.high.magnitude) if s.input.field.high is not None else None,
                "unit": str(s.input.field.quantity.units),
                "value_low": s.low,
                "value_high": s.high,
                "verdict_low": s.verdict_low.value,
                "verdict_high": s.verdict_high.value,
            }
            for s in evaluation.sensitivity
        ],
        "derivation": {
            "steps": [{"text": s.text, "latex": typeset.latex(s.math)} for s in derivation.steps],
            "result": typeset.latex(derivation.result),
        },
    }


def document(
    evaluations: dict[str, Evaluation], hwdb_fingerprint: str, overlays: Sequence[Path] = ()
) -> dict[str, Any]:
    """The export; ``overlays`` (the reader's own data) are named, so private numbers never pass as the book's."""
    table = statements.load()
    releases = () if overlays else history.read()  # the book's releases describe the book's numbers only
    registry = read_registry()
    return {
        "version": EXPORT_VERSION,
        "hwdb_overlays": [display_path(p) for p in overlays],
        "release": {"version": release.VERSION, "date": release.DATE, "title": release.TITLE},
        "base_url": release.base_url(),
        "hwdb_fingerprint": hwdb_fingerprint,
        "claims": [claim_json(e, table, releases) for e in evaluations.values()],
        "releases": [{"release": r.number, "date": r.date} for r in releases],
        "withdrawn": [
            {
                "id": cid,
                "reason": entry["reason"],
                "release": entry["release"],
                "permalink": permalink(cid),
                "history": history.of_claim(releases, cid),
            }
            for cid, entry in sorted(registry.withdrawn.items())
        ],
    }


def dumps(evaluations: dict[str, Evaluation], hwdb_fingerprint: str, overlays: Sequence[Path] = ()) -> str:
    # Strict JSON: a NaN or an infinity is a bug to refuse, not a token to print.
    text = json.dumps(document(evaluations, hwdb_fingerprint, overlays), indent=2, ensure_ascii=False, allow_nan=False)
    return text + "\n"
