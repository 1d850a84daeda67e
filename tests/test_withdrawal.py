"""Withdrawing a claim keeps the book green and its citations resolvable; releases in the ID registry agree
with the history; a re-pin says which row or input moved; citation formats date what they are."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from conftest import BOOK_BUILD, REPO, copy_repo, edit
from docutils import nodes
from sphinx.util.inventory import InventoryFile

import hwdb
from claims import citation, evaluate, evaluate_all, get_claim, history, release
from claims.citation import IdRegistry, read_registry, release_problems
from claims.registry import all_claims
from claims.sphinx import changelog, inventory
from claims.sphinx.withdrawn import tombstone_uri

GONE = "training.rl-corpus-ratio"  # changed in release 0.4.0 (firmness): the changelog lists it there
REASON = "Its premise, RL as large as pre-training, cannot be checked against any source."


def _entry(version: str, **data: Any) -> dict[str, Any]:
    return {
        "version": version,
        "judged": "5 tokens",
        "value": 5.0,
        "unit": "token",
        "verdict": "holds",
        "stated": "5",
    } | data


def _release(number: str, claims: dict[str, dict[str, Any]]) -> history.Release:
    return history.Release(number, "2026-12-01", claims)


# --- the registry's releases --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["banana", "0.5", "v0.5.0", "0.5.0-rc1"])
def test_a_withdrawal_release_that_is_no_version_is_refused_naming_the_file(tmp_path: Path, value: str) -> None:
    path = tmp_path / "ids.toml"
    path.write_text(f'[ids]\n[aliases]\n[withdrawn."a.b"]\nreason = "Gone."\nrelease = "{value}"\n')
    with pytest.raises(ValueError, match=rf"ids\.toml: withdrawn claim 'a\.b': release must be .* not '{value}'"):
        read_registry(path)


IDS = {"a.one": {"since": "0.1.0"}, "a.two": {"since": "0.1.0"}}
TWO = (_release("0.1.0", {"a.one": _entry("1" * 12), "a.two": _entry("2" * 12)}),)
ONE_LEFT = (*TWO, _release("0.2.0", {"a.one": _entry("1" * 12)}))


@pytest.mark.parametrize(
    ("releases", "said", "problem"),
    [
        pytest.param(ONE_LEFT, "0.2.0", "", id="the-release-that-removed-it"),
        pytest.param(ONE_LEFT, "0.3.0", "has release = '0.3.0', but release 0.2.0 is the first without it", id="late"),
        pytest.param(TWO, "0.2.0", "", id="not-pinned-yet-and-later"),
        pytest.param(
            TWO,
            "0.1.0",
            "is still in release 0.1.0, so its release ('0.1.0') must be later than the latest release, 0.1.0, "
            "which the next pin records",
            id="not-later",
        ),
    ],
)
def test_a_withdrawal_names_the_release_that_removed_the_id(
    releases: tuple[history.Release, ...], said: str, problem: str
) -> None:
    registry = IdRegistry(IDS, {}, {"a.two": {"reason": "Gone.", "release": said}})
    problems = release_problems(registry, releases)
    assert problems == ([f"withdrawn ID 'a.two' {problem}"] if problem else [])


def test_since_is_the_release_that_first_listed_the_id() -> None:
    renamed = (*ONE_LEFT, _release("0.2.1", {"a.first": _entry("1" * 12)}))
    ids = {**IDS, "a.first": {"since": "0.2.1"}}  # a.one renamed a.first in 0.2.1: each ID has its own since
    tomb = {"a.two": {"reason": "Gone.", "release": "0.2.0"}}
    assert release_problems(IdRegistry(ids, {"a.one": "a.first"}, tomb), renamed) == []
    early = {**ids, "a.first": {"since": "0.1.0"}}
    assert release_problems(IdRegistry(early, {"a.one": "a.first"}, tomb), renamed) == [
        "ID 'a.first' has since = '0.1.0', but release 0.2.1 first published it"
    ]
    unpinned = {**IDS, "a.new": {"since": "0.1.0"}}  # what `ids --register` wrote before it knew the next release
    assert release_problems(IdRegistry(unpinned, {}, {}), TWO) == [
        "ID 'a.new' is in no release yet, so its since ('0.1.0') must be later than the latest release, 0.1.0, "
        "which the next pin records"
    ]
    assert release_problems(IdRegistry({**IDS, "a.new": {"since": "0.2.0"}}, {}, {}), TWO) == []


def test_the_committed_registry_agrees_with_the_committed_history() -> None:
    assert release_problems(read_registry(), history.read()) == []


def test_register_writes_the_release_that_will_first_publish_the_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ids.toml"
    text = citation.IDS_FILE.read_text(encoding="utf-8")
    block = re.search(r'\[ids\."batch\.optimal-size"\]\n(?:[^\[\n].*\n)*\n', text)
    assert block is not None
    path.write_text(text.replace(block.group(0), ""), encoding="utf-8")  # a published ID, unregistered
    new = replace(next(c for c in all_claims() if c.id == "kv.bytes-per-token"), id="kv.brand-new")
    monkeypatch.setattr(citation, "_upcoming", lambda: "7.1.0")
    assert citation.register_new((*all_claims(), new), path) == ["batch.optimal-size", "kv.brand-new"]
    ids = read_registry(path).ids
    first = history.first_listing(history.read(), "batch.optimal-size")
    assert first is not None and ids["batch.optimal-size"]["since"] == first.number  # published long ago
    assert ids["kv.brand-new"]["since"] == "7.1.0"  # not release.VERSION: that release is out without it
    assert citation.register_new((*all_claims(), replace(new, id="kv.newer")), path, since="7.2.0") == ["kv.newer"]
    assert read_registry(path).ids["kv.newer"]["since"] == "7.2.0"


def test_the_next_release_is_what_pin_would_record(tmp_path: Path) -> None:
    evaluations = evaluate_all(hwdb.load([]))
    assert history.upcoming(evaluations) == release.VERSION  # nothing changed since the last pin
    releases = history.read()
    latest = releases[-1]
    fewer = history.Release(
        latest.number, latest.date, {k: v for k, v in latest.claims.items() if k != "kv.bytes-per-token"}
    )
    path = tmp_path / "history.json"
    path.write_text(history.render((*releases[:-1], fewer)))
    major, minor, _ = latest.number.split(".")
    assert history.upcoming(evaluations, path) == f"{major}.{int(minor) + 1}.0"  # an added claim moves the minor


# --- what moved ---------------------------------------------------------------------------------------------


OLD = _entry(
    "a" * 12,
    inputs={"h100-sxm.hbm_bandwidth": "3.35 TB/s", "a100-sxm.hbm_bandwidth": "2039 GB/s", "x.gone": "4 GB"},
    rows={"tpu-v7": [4100.2, "holds"], "h100-sxm": [2000.0, "holds roughly"], "old-chip": [12.0, None]},
)


@pytest.mark.parametrize(
    ("new", "lines"),
    [
        pytest.param(
            {
                "inputs": {**OLD["inputs"], "h100-sxm.hbm_bandwidth": "4 TB/s"},
                "rows": {**OLD["rows"], "tpu-v7": [4350.0, "holds"]},
            },
            ["row tpu-v7: 4,100 → 4,350 tokens", "input h100-sxm.hbm_bandwidth: 3.35 → 4 TB/s"],
            id="a-row-and-an-input",
        ),
        pytest.param(
            {"rows": {**OLD["rows"], "tpu-v7": [4101.7, "holds"]}},
            ["row tpu-v7: 4,100 → 4,102 tokens"],  # as many figures as tell them apart
            id="a-row-that-rounds-the-same",
        ),
        pytest.param(
            {"rows": {**OLD["rows"], "h100-sxm": [2000.0, "holds"]}},
            ["row h100-sxm: 2,000 tokens (holds roughly → holds)"],
            id="a-row-verdict",
        ),
        pytest.param(
            {"inputs": {**OLD["inputs"], "a100-sxm.hbm_bandwidth": "2000 GB/s"}},
            ["input a100-sxm.hbm_bandwidth: 2,039 → 2,000 GB/s"],  # data keeps its own figures
            id="an-input-as-held",
        ),
        pytest.param(
            {
                "inputs": {k: v for k, v in OLD["inputs"].items() if k != "x.gone"} | {"y.new": "1 h"},
                "rows": {k: v for k, v in OLD["rows"].items() if k != "old-chip"} | {"new-chip": [7.0, "holds"]},
            },
            [
                "row new-chip: added, 7 tokens (holds)",
                "row old-chip: dropped, was 12 tokens",
                "input x.gone: no longer used, was 4 GB",
                "input y.new: now used, 1 h",
            ],
            id="added-and-dropped",
        ),
        pytest.param(
            {}, ["statement, tolerance, derivation or an input's plausible range"], id="nothing-recorded-moved"
        ),
    ],
)
def test_what_moved_names_each_row_and_input(new: dict[str, Any], lines: list[str]) -> None:
    after = {**OLD, "version": "b" * 12, **new}
    assert history.what_moved(OLD, after) == lines
    assert history.what_moved(OLD, OLD) == []


def test_what_moved_says_when_the_older_entry_recorded_no_rows_or_inputs() -> None:
    bare = _entry("a" * 12)
    exported = {**OLD, "version": "b" * 12, "release": "0.5.0", "date": "2027-01-15"}  # claims.json's form
    assert history.what_moved(bare, exported) == ["rows and inputs not recorded before release 0.5.0"]
    assert history.what_moved(bare, _entry("b" * 12)) == ["rows and inputs not recorded"]


def test_a_version_published_before_the_recording_takes_its_rows_from_a_later_release() -> None:
    """The content version is a hash of the rows and inputs, so a later release of the same version has them."""
    releases = (_release("0.1.0", {"a.one": _entry("a" * 12)}), _release("0.2.0", {"a.one": OLD}))
    (said,) = history.of_claim(releases, "a.one")
    assert said["release"] == "0.1.0" and said["rows"] == OLD["rows"] and said["inputs"] == OLD["inputs"]
    moved = {**OLD, "version": "b" * 12, "rows": {**OLD["rows"], "tpu-v7": [4350.0, "holds"]}}
    before, after = history.of_claim((*releases, _release("0.3.0", {"a.one": moved})), "a.one")
    assert history.what_moved(before, after) == ["row tpu-v7: 4,100 → 4,350 tokens"]


def test_the_changelog_splits_what_was_once_called_reworded() -> None:
    """Same value and verdict, new version: a row or input moved (which), or nothing recorded did, or the
    older release did not record it."""
    data = {**OLD, "version": "b" * 12, "rows": {**OLD["rows"], "tpu-v7": [4350.0, "holds"]}}
    releases = (
        _release("0.1.0", {"a.data": OLD, "a.words": OLD, "a.old": _entry("a" * 12)}),
        _release("0.2.0", {"a.data": data, "a.words": {**OLD, "version": "c" * 12}, "a.old": _entry("d" * 12)}),
    )
    (_, found), _ = history.changes(releases)
    assert [(c.claim, c.kind) for c in found] == [("a.data", "data"), ("a.old", "unrecorded"), ("a.words", "reworded")]
    item = changelog._line(found[0], lambda claim_id, content: content)
    assert item.astext() == "a.data: 5 tokens (holds), version bbbbbbbbbbbb; row tpu-v7: 4,100 → 4,350 tokens"
    assert [n.astext() for n in item.findall(nodes.literal)] == ["a.data", "tpu-v7"]  # record IDs set as code
    assert set(changelog.WHAT) >= {"data", "reworded", "unrecorded"}


def test_a_history_entry_with_malformed_rows_is_refused_naming_the_claim(tmp_path: Path) -> None:
    bad = _entry("a" * 12, inputs={}, rows={"tpu-v7": "4,100"})
    path = tmp_path / "history.json"
    path.write_text(
        json.dumps({"format": 1, "releases": [{"release": "0.1.0", "date": "2026-12-01", "claims": {"a.b": bad}}]})
    )
    with pytest.raises(
        history.HistoryError, match=r"history\.json: releases\[0\] \(0\.1\.0\): claim 'a\.b': 'rows' must"
    ):
        history.read(path)


# --- links and the inventory --------------------------------------------------------------------------------


@pytest.mark.parametrize(("docname", "uri"), [("changelog", "c/x.gone.html"), ("notebooks/prices", "../c/x.gone.html")])
def test_a_tombstone_link_is_relative_to_the_page(docname: str, uri: str) -> None:
    builder = SimpleNamespace(get_target_uri=lambda doc: f"{doc}.html")
    assert tombstone_uri(builder, docname, "x.gone") == uri  # type: ignore[arg-type]


def _inventory(lines: list[str]) -> bytes:
    head = b"# Sphinx inventory version 2\n# Project: book\n# Version: \n# The remainder is zlib-compressed.\n"
    return head + zlib.compress("".join(f"{line}\n" for line in lines).encode())


def _load(data: bytes) -> Any:
    import io

    return InventoryFile.load(io.BytesIO(data), "", lambda base, uri: uri)


def test_the_inventory_shows_titles_and_keeps_withdrawn_ids() -> None:
    original = _inventory(
        [
            "index std:doc -1 index.html The book",
            "a.one std:claim 1 rooflines.html#claim-$ -",
            "a.old std:claim 1 rooflines.html#claim-$ -",
        ]
    )
    names = {"a.one": "One claim\tits title", "a.old": "One claim (now a.one)"}
    gone = ["a.two std:claim -1 c/a.two.html a.two (withdrawn in release 0.2.0)"]
    rewritten = inventory.rewrite(original, names, gone)
    claims = _load(rewritten)["std:claim"]
    assert claims["a.one"].display_name == "One claim its title" and claims["a.one"].uri == "rooflines.html#claim-a.one"
    assert claims["a.old"].display_name == "One claim (now a.one)"
    assert (
        claims["a.two"].uri == "c/a.two.html" and claims["a.two"].display_name == "a.two (withdrawn in release 0.2.0)"
    )
    assert _load(rewritten)["std:doc"]["index"].display_name == "The book"
    assert inventory.rewrite(rewritten, names, gone) == rewritten  # a second run adds nothing
    with pytest.raises(ValueError, match="not a version-2 Sphinx inventory"):
        inventory.rewrite(b"# Sphinx inventory version 1\n", names, gone)


# --- dates and withdrawn entries in the citation formats ----------------------------------------------------


def test_accessed_is_the_day_the_item_was_made_and_issued_the_release_date(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluation = evaluate(get_claim("kv.bytes-per-token"), hwdb.load([]))
    day = dt.date(2031, 5, 17)
    item = citation.csl_json(evaluation, accessed=day)
    assert item["accessed"] == {"date-parts": [[2031, 5, 17]]}
    assert item["issued"] == {"date-parts": [[int(p) for p in release.DATE.split("-")]]}
    assert "urldate = {2031-05-17}" in citation.bibtex(evaluation, accessed=day)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2030, 2, 3, 23, tzinfo=dt.UTC).timestamp())))
    assert citation.accessed_on() == dt.date(2030, 2, 3)  # a reproducible build dates by its epoch
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert citation.accessed_on() == dt.datetime.now(dt.UTC).date()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH must be a count of seconds"):
        citation.accessed_on()


def test_a_withdrawn_entry_keeps_its_key_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from pybtex.database import parse_string

    said = history.of_claim(history.read(), "kv.bytes-per-token")
    entry = {"reason": "Superseded by a measured figure.", "release": "9.9.0"}
    monkeypatch.setenv(release.BASE_URL_ENV, "https://book.example/")
    bib = citation.withdrawn_bibtex("kv.bytes-per-token", entry, said, accessed=dt.date(2031, 5, 17))
    (parsed,) = parse_string(bib, "bibtex").entries.values()
    assert bib.isascii() and parsed.key == "claim:kv.bytes-per-token"
    assert parsed.fields["url"] == "https://book.example/c/kv.bytes-per-token.html"
    last = said[-1]
    assert parsed.fields["note"].startswith(
        "Withdrawn in release 9.9.0: Superseded by a measured figure; it last said "
    )
    assert f"version {last['release']}+{last['version']}." in parsed.fields["note"]
    item = citation.withdrawn_csl("kv.bytes-per-token", entry, said, accessed=dt.date(2031, 5, 17))
    assert item["id"] == "claim:kv.bytes-per-token" and "withdrawn in release 9.9.0" in item["title"]
    assert item["URL"] == "https://book.example/c/kv.bytes-per-token.html"
    monkeypatch.delenv(release.BASE_URL_ENV)
    assert "URL" not in citation.withdrawn_csl("kv.bytes-per-token", entry, said)  # unpublished: no address


# --- end to end: a withdrawal and a data edit in a copy of the book ------------------------------------------


PIN = """
import datetime as dt, os, sys
import claims, hwdb
assert claims.__file__.startswith(os.getcwd()), claims.__file__  # the copy's package, never the checkout's
from claims import history, lock, published
from claims.registry import evaluate_all
db = hwdb.load([])
evaluations = evaluate_all(db)
lock.write(evaluations, lock.LOCK_FILE)
published.write(published.compare_all(db))
print(history.record(evaluations, today=dt.date.fromisoformat(sys.argv[1])))
"""
SPHINX = [*BOOK_BUILD[:3], "-n", *BOOK_BUILD[3:]]  # nitpicky: a link to a withdrawn claim must resolve


def _pin(repo: Path, day: str) -> str:
    """``python -m claims pin`` on a fixed day; the release recorded."""
    run = subprocess.run([sys.executable, "-c", PIN, day], cwd=repo, capture_output=True, text=True, check=True)
    return run.stdout.strip()


def _withdraw(repo: Path) -> None:
    edit(
        repo / "claims/catalogue/training.py",
        "INFERENCE_EQUALS_PRE, RL_CORPUS_RATIO, LAB_VOLUME",
        "INFERENCE_EQUALS_PRE, LAB_VOLUME",
    )
    page = repo / "book/overtraining.md"
    edit(page, f"```{{claim-worked}} {GONE}\n:name: D_{{pre}}/D_{{RL}}\n```\n\n", "")
    edit(page, f"```{{claim-chip}} {GONE}\n```\n\n", "")
    edit(
        repo / "claims/statements.toml",
        f'"training.inference-equals-pretraining", "{GONE}"]',
        '"training.inference-equals-pretraining"]',
    )


@pytest.fixture(scope="module")
def withdrawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A copy of the book with one claim withdrawn and pinned, then an A100 datasheet correction pinned, built."""
    repo = copy_repo(tmp_path_factory.mktemp("withdrawal") / "repo")
    _withdraw(repo)
    latest = history.read(repo / "claims/history.json")[-1].number
    major, minor, _ = latest.split(".")
    removal = f"{major}.{int(minor) + 1}.0"  # a withdrawal moves the minor number
    edit(
        repo / "claims/ids.toml",
        "[withdrawn]\n",
        f'[withdrawn."{GONE}"]\nreason = "{REASON}"\nrelease = "{removal}"\n\n',
    )
    assert _pin(repo, "2027-01-15") == removal
    edit(repo / "hwdb/data/accelerators/a100-sxm.toml", "value = 2039\n", "value = 2000\n")
    correction = _pin(repo, "2027-01-16")
    build = subprocess.run(SPHINX, cwd=repo, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return repo, removal, correction


@pytest.mark.slow
def test_withdrawal_keeps_the_strict_build_green_and_the_changelog_links_the_tombstone(
    withdrawn: tuple[Path, str, str],
) -> None:
    repo, removal, _ = withdrawn
    out = repo / "_build/html"
    page = (out / "changelog.html").read_text()
    # the withdrawal's own line and the 0.4.0 line that lists the claim's earlier change
    assert page.count(f'href="c/{GONE}.html"') >= 2
    assert 'href="rooflines.html#claim-batch.optimal-size"' in page  # live claims still link their boxes
    tombstone = (out / f"c/{GONE}.html").read_text()
    assert f"withdrawn from the book in release {removal}" in tombstone and html.escape(REASON) in tombstone
    ids = subprocess.run([sys.executable, "-m", "claims", "ids"], cwd=repo, capture_output=True, text=True)
    assert ids.returncode == 0, ids.stderr  # the registry's releases agree with the history


@pytest.mark.slow
def test_withdrawn_entries_stay_in_bib_csl_and_the_inventory(withdrawn: tuple[Path, str, str]) -> None:
    repo, removal, _ = withdrawn
    out = repo / "_build/html"
    bib = (out / "claims.bib").read_text()
    assert f"@misc{{claim:{GONE}," in bib and f"title = {{{{{GONE}: withdrawn in release {removal}}}}}" in bib
    (item,) = [i for i in json.loads((out / "claims.csl.json").read_text()) if i["id"] == f"claim:{GONE}"]
    assert item["title"].startswith(f"{GONE}: withdrawn in release {removal}")
    assert item["note"].startswith(f"Withdrawn in release {removal}: {REASON.rstrip('.')}; it last said ")
    with open(out / "objects.inv", "rb") as handle:
        claims = InventoryFile.load(handle, "", lambda base, uri: uri)["std:claim"]
    assert claims[GONE].uri == f"c/{GONE}.html" and "withdrawn" in claims[GONE].display_name
    assert claims["batch.optimal-size"].display_name == get_claim("batch.optimal-size").title
    export = json.loads((out / "claims.json").read_text())
    jsonschema.validate(export, json.loads((REPO / "claims/claims.schema.json").read_text()))
    assert [w["id"] for w in export["withdrawn"]] == [GONE]


@pytest.mark.slow
def test_a_repin_for_a_row_says_which_row_and_input_moved(withdrawn: tuple[Path, str, str]) -> None:
    repo, _, correction = withdrawn
    export = json.loads((repo / "_build/html/claims.json").read_text())
    train = next(c for c in export["claims"] if c["id"] == "serving.train-interval")
    before, after = train["history"][-2:]
    assert after["release"] == correction and (before["judged"], before["verdict"]) == (
        after["judged"],
        after["verdict"],
    )
    moved = history.what_moved(before, after)
    assert moved[0].startswith("row a100-sxm: ") and moved[-1] == "input a100-sxm.hbm_bandwidth: 2,039 → 2,000 GB/s"
    page = html.unescape(re.sub(r"<[^>]+>", "", (repo / "_build/html/changelog.html").read_text()))  # as read
    assert changelog.WHAT["data"] in page and "input a100-sxm.hbm_bandwidth: 2,039 → 2,000 GB/s" in page


@pytest.mark.slow
def test_a_reference_to_a_withdrawn_claim_in_the_text_says_it_was_withdrawn(withdrawn: tuple[Path, str, str]) -> None:
    repo, removal, _ = withdrawn
    page = repo / "book/overtraining.md"
    original = page.read_text()
    page.write_text(original + f"\nSee {{claim}}`{GONE}`.\n")
    try:
        build = subprocess.run(SPHINX, cwd=repo, capture_output=True, text=True)
    finally:
        page.write_text(original)
    assert build.returncode != 0
    assert f"claim '{GONE}' was withdrawn in release {removal}: {REASON}" in build.stderr
    assert "[claims.withdrawn]" in build.stderr and "reference target not found" not in build.stderr
    assert f'href="c/{GONE}.html"' in (repo / "_build/html/overtraining.html").read_text()
