"""The derivation cache: exact round trips, served when the code is unchanged, rebuilt when it is not,
and a corrupt entry ignored with a note."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from conftest import copy_repo, edit

from claims import derivation_cache
from claims.engine import Derivation
from claims.registry import all_claims, get_claim


def _exprs(d: Derivation) -> list[str]:
    return [sp.srepr(e) for e in (*(s.math for s in d.steps), d.result, *(x.expr for x in d.details))]


@pytest.mark.parametrize("claim", all_claims(), ids=lambda c: c.id)
def test_every_derivation_comes_back_from_the_cache_exactly(claim: object) -> None:
    """Node for node: an unevaluated step (an equation kept unsimplified) must stay unevaluated."""
    built = claim.build()  # type: ignore[attr-defined]
    back = derivation_cache.loads(derivation_cache.dumps(built))
    assert back == built
    assert _exprs(back) == _exprs(built)
    assert [sp.latex(s.math) for s in back.steps] == [sp.latex(s.math) for s in built.steps]


def test_pickle_would_evaluate_an_unevaluated_step() -> None:
    """Why the cache rebuilds nodes without evaluating: SymPy's own pickling changes this step."""
    import pickle

    steps = get_claim("reversible.feistel-invertible").build().steps
    unevaluated = [s.math for s in steps if isinstance(s.math, sp.Basic) and s.math != s.math.doit()]
    assert unevaluated, "the Feistel proof keeps a step unevaluated"
    assert any(sp.srepr(pickle.loads(pickle.dumps(m))) != sp.srepr(m) for m in unevaluated)
    for m in unevaluated:
        assert sp.srepr(derivation_cache.loads(derivation_cache.dumps(Derivation((), m))).result) == sp.srepr(m)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(derivation_cache.ENV_VAR, str(folder))
    return folder


def _counting(derivation: Derivation) -> tuple[list[int], object]:
    calls: list[int] = []

    def build() -> Derivation:
        calls.append(1)
        return derivation

    return calls, build


def test_a_second_process_is_served_from_the_cache(cache_dir: Path) -> None:
    built = get_claim("serving.train-interval").build()
    calls, build = _counting(built)
    first = derivation_cache.derivation("serving.train-interval", build)  # type: ignore[arg-type]
    again = derivation_cache.derivation("serving.train-interval", build)  # type: ignore[arg-type]
    assert calls == [1] and first == again == built
    assert len(list(cache_dir.rglob("*.pickle"))) == 1


@pytest.mark.parametrize(
    ("damage", "note"),
    [
        (lambda data: b"garbage", "not a derivation cache file"),
        (lambda data: data[:-5] + b"XXXXX", "does not match its SHA-256"),
        (lambda data: data[:-40], "does not match its SHA-256"),
    ],
)
def test_a_corrupt_entry_is_ignored_with_a_note_and_rebuilt(
    cache_dir: Path, capsys: pytest.CaptureFixture[str], damage: object, note: str
) -> None:
    built = get_claim("kv.bytes-per-token").build()
    calls, build = _counting(built)
    derivation_cache.derivation("kv.bytes-per-token", build)  # type: ignore[arg-type]
    (entry,) = cache_dir.rglob("*.pickle")
    entry.write_bytes(damage(entry.read_bytes()))  # type: ignore[operator]
    assert derivation_cache.derivation("kv.bytes-per-token", build) == built  # type: ignore[arg-type]
    assert calls == [1, 1]
    err = capsys.readouterr().err
    assert "note: derivation cache: ignoring" in err and note in err and "kv.bytes-per-token" in err
    assert derivation_cache.loads(entry.read_bytes()) == built  # rewritten whole


def test_a_payload_that_is_not_a_derivation_is_refused() -> None:
    import hashlib
    import pickle

    payload = pickle.dumps({"not": "a derivation"})
    data = derivation_cache.FORMAT + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    with pytest.raises(derivation_cache.CorruptEntry, match="not a Derivation"):
        derivation_cache.loads(data)


def test_off_disables_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(derivation_cache.ENV_VAR, "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert derivation_cache.cache_root() is None
    calls, build = _counting(get_claim("serving.train-interval").build())
    derivation_cache.derivation("serving.train-interval", build)  # type: ignore[arg-type]
    derivation_cache.derivation("serving.train-interval", build)  # type: ignore[arg-type]
    assert calls == [1, 1] and not list(tmp_path.rglob("*.pickle"))


def test_the_default_folder_is_the_users_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(derivation_cache.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert derivation_cache.cache_root() == tmp_path / "xdg" / "claims"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert derivation_cache.cache_root() == tmp_path / "home" / ".cache" / "claims"


PROBE = """
import sympy as sp
from claims import derivation_cache
from claims.registry import get_claim
print(derivation_cache.key())
print(sp.srepr(get_claim("serving.train-interval").derivation.result))
"""


def _probe(repo: Path, cache: Path) -> tuple[str, str]:
    env = {"PATH": "/usr/bin:/bin", derivation_cache.ENV_VAR: str(cache)}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=repo, env=env, capture_output=True, text=True, check=True)
    key, result = done.stdout.split("\n")[:2]
    return key, result


def test_editing_a_derivation_changes_the_key_and_rebuilds_it(tmp_path: Path) -> None:
    repo, cache = copy_repo(tmp_path / "repo"), tmp_path / "cache"
    key, result = _probe(repo, cache)
    assert (cache / "derivations" / key / "serving.train-interval.pickle").is_file()
    assert _probe(repo, cache) == (key, result)  # served from the entry just written
    module = repo / "claims/catalogue/serving.py"
    original = module.read_text()
    edit(module, "result=M / W,", "result=2 * M / W,")
    edited_key, edited_result = _probe(repo, cache)
    assert edited_key != key and edited_result != result
    assert edited_result == sp.srepr(2 * sp.Symbol("M_HBM", positive=True) / sp.Symbol("W", positive=True))
    module.write_text(original)
    assert _probe(repo, cache) == (key, result)


#: Everything a derivation or a figure's drawing can run, loaded and run: it must need none of the Sphinx adapter.
NO_ADAPTER = """
import sys
import hwdb
from claims.registry import all_claims, evaluate_all
from claims.figures import FIGURES
db = hwdb.load()
evaluations = evaluate_all(db)
for claim in all_claims():
    claim.build()
for name in ("scale-up-domains", "decode-roofline", "reversible-memory"):  # one of each family of figures
    FIGURES[name].render(db, evaluations)
adapter = ("sphinx", "docutils", "myst_parser", "myst_nb", "claims.sphinx", "claims.sphinxext", "claims.sphinxnodes",
           "claims.hwdb_tables", "claims.citing")
print(sorted(m for m in sys.modules if m.split(".")[0] in adapter or m.startswith(adapter)))
"""


def test_no_derivation_or_figure_runs_the_sphinx_adapter() -> None:
    """Why an edit to the adapter keeps the derivation cache (``SPHINX_ADAPTER``): building every derivation,
    evaluating every claim and drawing a figure of each family, in a fresh interpreter, loads none of it."""
    done = subprocess.run([sys.executable, "-c", NO_ADAPTER], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_an_edit_to_the_adapter_keeps_the_derivations_and_redraws_only_for_the_figure_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's chip is not on the figure path: editing it keeps both keys. The module that notes what a figure
    read is: editing it keeps the derivations but redraws the figures. A derivation's module changes both."""
    from claims.sphinx import figure_cache

    repo = copy_repo(tmp_path / "repo")
    monkeypatch.setattr(derivation_cache, "PACKAGE_DIR", repo / "claims")
    monkeypatch.setattr(derivation_cache, "HWDB_DIR", repo / "hwdb")

    def keys() -> tuple[str, str]:
        derivation_cache.key.cache_clear()
        figure_cache._code_of_drawing.cache_clear()
        return derivation_cache.key(), figure_cache._code_of_drawing()

    try:
        derivations, figures = keys()
        assert repo / "claims/sphinx/tracked.py" in figure_cache.figure_path()
        assert repo / "claims/sphinx/chip.py" not in figure_cache.figure_path()
        edit(repo / "claims/sphinx/chip.py", "judged(e)} against the lecture", "judged(e)} set against the lecture")
        assert keys() == (derivations, figures)
        (repo / "claims/sphinx/tracked.py").write_text((repo / "claims/sphinx/tracked.py").read_text() + "\n# noted\n")
        edited = keys()
        assert edited[0] == derivations and edited[1] != figures
        edit(repo / "claims/catalogue/serving.py", "result=M / W,", "result=2 * M / W,")
        assert keys()[0] != derivations
    finally:
        monkeypatch.undo()
        derivation_cache.key.cache_clear()
        figure_cache._code_of_drawing.cache_clear()


def test_a_sympy_upgrade_changes_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = derivation_cache._versions()
    from importlib.metadata import version

    monkeypatch.setattr(derivation_cache, "version", lambda name: "99.0" if name == "sympy" else version(name))
    assert derivation_cache._versions() != before and "sympy=99.0" in derivation_cache._versions()


@pytest.mark.parametrize("claim", all_claims(), ids=lambda c: c.id)
def test_a_cached_formula_computes_what_lambdify_computes(claim: object) -> None:
    """The entry keeps each formula's compiled code; rebuilt, it gives lambdify's numbers on the same floats."""
    import random

    from claims.compiled import lambdified

    built = claim.build()  # type: ignore[attr-defined]
    _, sources = derivation_cache.load_entry(derivation_cache.dumps(built))
    formulas = [built.result, *(d.expr for d in built.details)]
    assert len(sources) == len(formulas)
    rng = random.Random(claim.id)  # type: ignore[attr-defined]
    for formula, source in zip(formulas, sources, strict=True):
        assert source is not None, "every catalogue formula calls only NumPy, so every one is cached"
        assert source.symbols == tuple(sorted(formula.free_symbols, key=str))
        reference = lambdified(formula, source.symbols)
        for _ in range(3):
            args = [rng.uniform(0.5, 2.0) for _ in source.symbols]
            assert source.function()(*args) == pytest.approx(reference(*args), rel=1e-12)


FACTORS_PROBE = """
import hwdb
from claims.registry import evaluate_all
e = evaluate_all(hwdb.load())
print(repr(e["rooflines.hardware-ratio"].value))
"""


def test_a_damaged_factor_table_is_ignored_with_a_note(cache_dir: Path) -> None:
    """A fresh process reads the checked unit factors; a damaged table costs time and a note, never a number."""
    env = {"PATH": "/usr/bin:/bin", derivation_cache.ENV_VAR: str(cache_dir)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", FACTORS_PROBE], env=env, capture_output=True, text=True)

    first = run()
    assert first.returncode == 0, first.stderr
    (table,) = cache_dir.rglob(derivation_cache.FACTORS)
    second = run()
    assert second.stdout == first.stdout and not second.stderr
    table.write_bytes(table.read_bytes()[:-10] + b"0123456789")
    damaged = run()
    assert damaged.returncode == 0 and damaged.stdout == first.stdout
    assert "note: derivation cache: ignoring" in damaged.stderr and "unit checks run again" in damaged.stderr
    assert not run().stderr  # written again whole by the run that noticed
