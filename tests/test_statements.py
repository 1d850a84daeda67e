"""The table of the lecture's statements: complete, consistent with the catalogue, loud when broken."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import edit

from claims import ClaimError, all_claims, statements
from claims.statements import Statement, check_against, parse

#: The lecture's list runs to item 48 (../shared/lecture/claims.md); the last is qualitative.
LAST_STATEMENT = 48

GOOD = """
last_statement = 2

[statements.1]
topic = "a"
claims = ["x.one"]

[statements.2]
topic = "b"
claims = []
unchecked = "qualitative"
"""


def test_the_shipped_table_covers_every_statement_and_every_claim() -> None:
    table = statements.load()
    assert [s.number for s in table] == list(range(1, LAST_STATEMENT + 1))
    named = {claim_id for s in table for claim_id in s.claims}
    assert named == {c.id for c in all_claims()}


def test_statements_without_a_claim_are_few_and_say_why() -> None:
    bare = [s for s in statements.load() if not s.claims]
    assert all(s.unchecked for s in bare)
    # Only the qualitative item and the lifetime-compute premise (no closed form) lack a claim.
    assert [s.number for s in bare] == [31, LAST_STATEMENT]


#: A figure, but not the digits inside a name such as GPT-4 (as in tests/test_engine.py).
FIGURE = re.compile(r"(?<![\w.\-/])\d+(?:[.,]\d+)*")


def test_topics_and_notes_name_no_figure_of_their_own() -> None:
    """The book renders these as plain text: its figures must come from claims, not from the table."""
    for s in statements.load():
        for text in (s.topic, s.unchecked):
            assert not FIGURE.findall(text), f"statement {s.number}: {text!r} types a figure"


def test_parse_reads_a_well_formed_table() -> None:
    assert parse(GOOD) == (Statement(1, "a", ("x.one",)), Statement(2, "b", (), "qualitative"))


HEAD = "last_statement = 1\n"
ENTRY = "[statements.1]\ntopic = 'a'\nclaims = ['x']\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD.replace("1", "2") + ENTRY, r"statement\(s\) \[2\] are missing"),
        (HEAD + ENTRY + "[statements.2]\ntopic = 'b'\nclaims = ['y']\n", r"\[2\] lie beyond last_statement = 1"),
        (ENTRY, "last_statement must be"),
        (
            HEAD + "[statements.1]\ntopic = 'a'\nclaims = []\n",
            r"\[statements\.1\]: has no claim, so 'unchecked' must say why",
        ),
        (HEAD + ENTRY.replace("claims", "claim"), r"\[statements\.1\]: unknown field\(s\) \['claim'\]"),
        (HEAD + ENTRY.replace("statements.1", "statements.one"), r"\[statements\.one\]: the key must be"),
        (HEAD + ENTRY.replace("statements.1", "statements.01"), r"\[statements\.01\]: the key must be"),
        (HEAD + ENTRY.replace("statements.1", "statements.0"), r"\[statements\.0\]: the key must be"),
        (HEAD + ENTRY.replace("statements.1", 'statements."\u00b2"'), r"the key must be"),
        (HEAD + "[statements]\n1 = 'a'\n", r"\[statements\.1\]: must be a table"),
        (HEAD + ENTRY.replace("'a'", "''"), r"\[statements\.1\]\.topic: a non-empty string"),
        (HEAD + ENTRY.replace("['x']", "'x'"), r"\[statements\.1\]\.claims: a list of claim IDs"),
        (HEAD + ENTRY.replace("['x']", "[1]"), r"\[statements\.1\]\.claims: a list of claim IDs"),
        (HEAD + ENTRY.replace("['x']", "['x', 'x']"), r"\[statements\.1\]\.claims: \['x'\] listed more than once"),
        (HEAD + ENTRY + "unchecked = 3\n", r"\[statements\.1\]\.unchecked: must be a string"),
        ("[statements.1\n", "not valid TOML"),
        (HEAD, r"needs a \[statements\.N\] table"),
    ],
)
def test_a_malformed_table_is_refused_naming_the_entry(text: str, message: str) -> None:
    with pytest.raises(ClaimError, match=r"statements\.toml.*" + message):
        parse(text, "claims/statements.toml")


def test_an_unknown_claim_is_refused() -> None:
    table = parse(GOOD.replace("x.one", "batch.nope"))
    with pytest.raises(ClaimError, match=r"\[statements\.1\]\.claims names unknown claim 'batch\.nope'"):
        check_against(table, all_claims())


def test_a_claim_that_answers_to_no_statement_is_refused() -> None:
    table = tuple(s for s in statements.load() if s.number != 11)
    with pytest.raises(ClaimError, match=r"\['serving\.second-hbm-pass'\] answer to no statement"):
        check_against(table, all_claims())


def test_the_export_names_each_claims_statements() -> None:
    out = subprocess.run([sys.executable, "-m", "claims", "export"], capture_output=True, text=True, check=True)
    exported = {c["id"]: c["source"]["statements"] for c in json.loads(out.stdout)["claims"]}
    assert exported["serving.second-hbm-pass"] == [11]
    assert exported["rack.total-params-ceiling"] == [20, 21]
    assert all(numbers for numbers in exported.values())


def test_a_broken_table_fails_the_cli_with_a_clear_error(repo_copy: Path) -> None:
    edit(repo_copy / "claims/statements.toml", '"serving.second-hbm-pass"', '"serving.second-pass"')
    result = subprocess.run(
        [sys.executable, "-m", "claims", "statements"], cwd=repo_copy, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "[statements.11].claims names unknown claim 'serving.second-pass'" in result.stderr
