"""The dependency record behind incremental builds: what a read notes, and which digests an edit moves."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

import hwdb
from claims.sphinx import dependencies, notebook_trace
from claims.sphinx.dependencies import Digests, Key, Recorder, TrackedEvaluations, evaluate_traced, track
from hwdb import Database


@cache
def _db() -> Database:
    return hwdb.load_from(hwdb.DATA_DIR)


@cache
def _traced() -> tuple[dict[str, object], dict[str, frozenset[Key]]]:
    evaluations, traces = evaluate_traced(track(_db(), Recorder(None)))
    return dict(evaluations), traces


def test_reads_of_the_tracked_database_are_noted() -> None:
    recorder = Recorder(None)
    db = track(_db(), recorder)
    with recorder.capture() as keys:
        db["h100-sxm"]["hbm_bandwidth"]
        db.records["b200"].has("hbm_capacity")
        db.of_kind("price-sheet")
        db.sources["anthropic-pricing"]
    assert keys == {
        ("record", "h100-sxm"),
        ("field", "h100-sxm", "hbm_bandwidth"),
        ("record", "b200"),
        ("field", "b200", "hbm_capacity"),
        ("kind", "price-sheet"),
        ("source", "anthropic-pricing"),
    }
    with recorder.capture() as keys:
        list(db)
        list(db["h100-sxm"].fields.values())
        db.users_of("anthropic-pricing")
    assert {("records",), ("fields", "h100-sxm")} <= keys


def test_a_what_if_copy_still_notes_what_it_copied() -> None:
    recorder = Recorder(None)
    db = track(_db(), recorder)
    quantity = db["h100-sxm"]["hbm_bandwidth"].quantity * 2
    with recorder.capture() as keys:
        changed = db.with_value("h100-sxm", "hbm_bandwidth", quantity, "what-if")
        changed.of_kind("accelerator")
    assert {("records",), ("fields", "h100-sxm"), ("kind", "accelerator")} <= keys


def test_evaluations_note_the_claims_looked_up() -> None:
    recorder = Recorder(None)
    evaluations = TrackedEvaluations(_traced()[0], recorder)  # type: ignore[arg-type]
    with recorder.capture() as keys:
        evaluations.get("kv.bytes-per-token")
        _ = "batch.optimal-size" in evaluations
        evaluations["serving.train-interval"]
    assert keys == {("claim", c) for c in ("kv.bytes-per-token", "batch.optimal-size", "serving.train-interval")}
    with recorder.capture() as keys:
        list(evaluations.values())
    assert keys == {("claims",)}


def test_each_claims_trace_holds_the_inputs_it_shows() -> None:
    evaluations, traces = _traced()
    for claim_id, evaluation in evaluations.items():
        for item in evaluation.inputs():  # type: ignore[attr-defined]
            if not item.field.basis:
                assert ("field", item.record.id, item.field.name) in traces[claim_id], (claim_id, item.key)


def test_an_edit_moves_the_digests_of_exactly_what_reads_it() -> None:
    _, traces = _traced()
    db = _db()
    edited = db.with_value(
        "claude-haiku-4-5", "output_price", db["claude-haiku-4-5"]["output_price"].quantity * 1.1, "an edit"
    )
    before, after = Digests(db, traces), Digests(edited, traces)
    moved = {c for c in traces if before.of(("claim", c)) != after.of(("claim", c))}
    readers = {c for c, trace in traces.items() if ("field", "claude-haiku-4-5", "output_price") in trace}
    assert readers and moved == readers
    assert before.of(("field", "claude-haiku-4-5", "output_price")) != after.of(
        ("field", "claude-haiku-4-5", "output_price")
    )
    assert before.of(("field", "claude-haiku-4-5", "input_price")) == after.of(
        ("field", "claude-haiku-4-5", "input_price")
    )
    assert before.of(("kind", "price-sheet")) == after.of(("kind", "price-sheet"))  # names and ids only
    assert before.of(("everything",)) != after.of(("everything",))
    assert before.of(("claims",)) != after.of(("claims",))


def test_record_refuses_to_guess_the_page() -> None:
    class Env:
        class current_document:  # mimics Sphinx's attribute
            docname = ""

    with pytest.raises(ValueError, match="no page is being read"):
        dependencies.record(Env(), claims=["kv.bytes-per-token"])  # type: ignore[arg-type]


class _App:
    def __init__(self, doctreedir: str, digests: Digests | None) -> None:
        self.doctreedir = doctreedir
        self._claims_tracking = dependencies.Tracking(Recorder(None), digests)


class _Env:
    def __init__(self, docs: dict[str, dict[Key, str]]) -> None:
        self.found_docs = set(docs) | {"new"}
        self.all_docs = dict.fromkeys(docs, 0)
        setattr(self, dependencies.ENV_KEY, docs)


def test_outdated_pages_are_those_whose_digests_moved_or_were_never_recorded(tmp_path: Path) -> None:
    _, traces = _traced()
    digests = Digests(_db(), traces)
    field = ("field", "claude-haiku-4-5", "output_price")
    env = _Env(
        {
            "current": {
                field: digests.of(field),
                ("claim", "kv.bytes-per-token"): digests.of(("claim", "kv.bytes-per-token")),
            },
            "moved": {field: "an older digest"},
            "untrusted": {field: dependencies.UNTRUSTED},
            "prose-only": {},
        }
    )
    del getattr(env, dependencies.ENV_KEY)["prose-only"]  # read before the record existed
    app = _App(str(tmp_path), digests)
    stale = dependencies.outdated(app, env, {"new"}, set(), set())  # type: ignore[arg-type]
    assert stale == ["moved", "prose-only", "untrusted"]
    # Until a build finishes, the pages it re-reads for their data stay pending for the next one.
    assert json.loads((tmp_path / dependencies.PENDING).read_text()) == stale
    getattr(env, dependencies.ENV_KEY).update({doc: {field: digests.of(field)} for doc in stale})
    assert dependencies.outdated(app, env, set(), set(), set()) == stale  # type: ignore[arg-type]
    dependencies.finished(app, None)  # type: ignore[arg-type]
    assert dependencies.outdated(app, env, set(), set(), set()) == []  # type: ignore[arg-type]
    app._claims_tracking.digests = None  # the claims failed to evaluate: every page is read again
    assert dependencies.outdated(app, env, set(), set(), set()) == sorted(env.found_docs)  # type: ignore[arg-type]


def _spec(claim: str, **options: object) -> str:
    return json.dumps({"claim": claim, "options": options}, sort_keys=True)


def _edited_db(record: str, field: str, factor: float) -> Database:
    from claims.scenario import scaled

    return scaled(_db(), {f"{record}.{field}": factor})


def test_a_notebooks_evaluation_is_replayed_and_moves_only_when_what_it_shows_moves() -> None:
    """A notebook page depends on what each of its evaluations shows, run again on the new data."""
    _, traces = _traced()
    decode = ("scenario", _spec("pricing.decode-premium"))
    on_h200 = ("scenario", _spec("kv.bytes-per-token", hw="h200"))
    fp8 = ("scenario", _spec("batch.optimal-size", swap={"bf16": "fp8"}, fields={"bf16_flops": "fp8_flops"}))
    before = Digests(_db(), traces)
    price = Digests(_edited_db("claude-haiku-4-5", "output_price", 1.1), traces)
    assert before.of(decode) != price.of(decode)  # that notebook prints every price sheet's row
    assert before.of(fp8) == price.of(fp8)  # a price sheet is nothing to the balanced batch
    chip = Digests(_edited_db("h100-sxm", "hbm_bandwidth", 1.1), traces)
    assert before.of(fp8) != chip.of(fp8)  # its rows include the H100
    assert before.of(on_h200) != chip.of(on_h200)  # its H200 case sets the reference; the H100 is still a row
    assert before.of(decode) == chip.of(decode)  # no price sheet reads an accelerator
    assert before.of(decode) == Digests(_db(), traces).of(decode)  # the same data: the same digest


def test_a_replay_that_fails_now_is_a_change() -> None:
    _, traces = _traced()
    gone = ("scenario", _spec("kv.bytes-per-token", hw="no-such-chip"))
    digests = Digests(_db(), traces)
    assert digests.of(gone) != digests.of(("scenario", _spec("kv.bytes-per-token", hw="h200")))
    assert dependencies.replayed(gone[1], _db()).startswith("fails: ValueError: hw=no-such-chip")


def test_a_trace_is_read_as_replayable_evaluations_or_not_at_all(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        json.dumps({"claim": "a.b", "options": {"hw": "h200"}, "broad": False})
        + "\n"
        + json.dumps({"claim": "a.b", "options": {"hw": "h200"}, "broad": False})
        + "\n"
    )
    assert notebook_trace._traced(trace) == [_spec("a.b", hw="h200")]
    with trace.open("a") as out:
        out.write(json.dumps({"claim": "a.b", "options": {}, "broad": True}) + "\n")  # a database of its own
    assert notebook_trace._traced(trace) is None
    trace.write_text("")
    assert notebook_trace._traced(trace) is None  # ran no evaluation: what it shows cannot be told
    trace.write_text("not json\n")
    assert notebook_trace._traced(trace) is None


@pytest.mark.parametrize(
    ("code", "untraced"),
    [
        ('claims.evaluate("x", hw="h200")', False),
        ("import hwdb\nhwdb.load()", True),
        ('claims.evaluate("x").evaluation.rows', True),
        ('r.inputs[0].record.fields["x"]', True),
        ('open("data.csv")', True),
    ],
)
def test_code_that_reads_data_outside_an_evaluation_depends_on_everything(code: str, untraced: bool) -> None:
    source = f"---\nkernelspec:\n  name: python3\n---\n\nSome hwdb prose.\n\n```{{code-cell}} ipython3\n{code}\n```\n"
    cells = [m.group(2) for m in dependencies.CODE_CELL.finditer(source)]
    assert cells == [code + "\n"]
    assert any(word in cell for cell in cells for word in dependencies.UNTRACED_READS) is untraced


def test_a_figure_reading_one_case_depends_on_that_case() -> None:
    """Through a ReferenceView, the reference row notes ("reference", id); the other rows note the claim."""
    evaluations, traces = _traced()
    recorder = Recorder(None)
    views = dependencies.reference_views(evaluations, recorder)  # type: ignore[arg-type]
    with recorder.capture() as keys:
        batch = views["batch.optimal-size"]
        _ = batch.value, batch.reference.details, batch.claim.stated
    assert keys == {("reference", "batch.optimal-size")}
    with recorder.capture() as keys:
        _ = views["batch.optimal-size"].rows
    assert keys == {("claim", "batch.optimal-size")}
    with recorder.capture() as keys:
        _ = views["rooflines.hardware-ratio"].verdict  # a population's verdict speaks for every row
    assert keys == {("claim", "rooflines.hardware-ratio")}

    def digest(db: Database) -> str:
        return Digests(db, traces, dependencies.evaluate_traced(track(db, Recorder(None)))[0]).of(
            ("reference", "batch.optimal-size")
        )

    before = digest(_db())
    assert digest(_edited_db("h100-sxm", "hbm_bandwidth", 1.1)) == before  # another row
    assert digest(_edited_db("gb200", "hbm_bandwidth", 1.1)) != before  # the reference chip
    assert digest(_edited_db("deepseek-v3", "total_params", 1.1)) != before  # the model it serves


def test_a_value_shown_on_a_page_moves_only_when_its_text_does() -> None:
    """A role or listing notes ("shown", kind, argument): the page depends on that text, not on the claim."""
    import claims.sphinxext  # noqa: F401  registers what the book's roles and listings show

    _, traces = _traced()

    def digests(db: Database) -> Digests:
        return Digests(db, traces, dependencies.evaluate_traced(track(db, Recorder(None)))[0])

    detail = ("shown", "claim-value", "batch.optimal-size#kv_per_token")
    value = ("shown", "claim-value", "batch.optimal-size")
    listed = ("shown", "claim-index", "pricing.decode-premium")
    before, model = digests(_db()), digests(_edited_db("deepseek-v3", "total_params", 1.1))
    assert model.of(value) != before.of(value)  # the batch moves with the model's size…
    assert model.of(detail) == before.of(detail)  # …its KV bytes per token do not
    assert model.of(("claim", "batch.optimal-size")) != before.of(("claim", "batch.optimal-size"))
    price = digests(_edited_db("claude-haiku-4-5", "output_price", 1.1))
    assert price.of(("claim", "pricing.decode-premium")) != before.of(("claim", "pricing.decode-premium"))
    assert price.of(listed) == before.of(listed)  # one sheet's row moved; the judged value and verdict did not
    assert before.of(("shown", "claim-value", "no.such-claim")) != before.of(value)


def test_a_kind_of_text_nobody_registered_or_that_fails_says_so_in_its_digest() -> None:
    """Either can only follow a code change (which re-reads every page); a text that fails now differs from the
    text it gave before."""
    _, traces = _traced()
    digests = Digests(_db(), traces, {})
    unknown = digests._text(("shown", "no-such-kind", "x"))
    assert unknown.startswith("unknown kind")

    def broken(evaluations: object, argument: str) -> str:
        raise KeyError(argument)

    dependencies.SHOWN["broken-for-the-test"] = broken
    try:
        assert digests._text(("shown", "broken-for-the-test", "x")) == "fails: KeyError: 'x'"
    finally:
        del dependencies.SHOWN["broken-for-the-test"]
