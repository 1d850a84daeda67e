"""A disk cache of built derivations, so a fresh process does not redo SymPy's solve and simplify.

Building the 64 derivations (``Claim.build``) is most of what a fresh ``python -m claims verify``
costs beyond importing its libraries. What a build produces depends only on code: the catalogue,
the engine and the libraries. So each claim's :class:`~claims.derivation.Derivation` is pickled under
a key that hashes every Python source file of ``claims/`` and ``hwdb/`` with the SymPy, mpmath,
NumPy and Python versions. Any edit to a derivation (or to anything it could import) changes the
key, and the next run builds afresh; hwdb data is not in the key because no derivation reads it, nor is
the Sphinx adapter, which no derivation can import.

Where: ``$CLAIMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/claims``, else ``~/.cache/claims`` (a user
cache rather than a folder in the checkout: it serves an installed wheel, whose package folder may
be read-only, and a scratch copy of the repository alike; entries are keyed by content, so
checkouts sharing it cannot serve each other stale results). ``CLAIMS_CACHE_DIR=off`` disables it.
The folder is safe to delete at any time. A run that cannot write it simply builds each time.

Each entry also keeps the code of the claim's compiled closed forms (the result and each detail,
:class:`claims.compiled.Source`), so a fresh process skips SymPy's code printer. Beside the
entries, a :class:`Table` per kind keeps results that are functions of the code and of their own
key: the unit factors :mod:`claims.compiled` has checked (by formula and by the units of its
inputs; a signature not yet checked is checked, and added) and :mod:`claims.sensitivity`'s scans
(by claim, value and reference inputs). The pint version and ``hwdb/units.txt`` are in the key
with the rest.

SymPy's own pickling rebuilds each expression *with* evaluation, which can change an unevaluated
step of a derivation (an equation shown unsimplified on purpose) into its evaluated form, and with
it the claim's content version. Expressions are therefore stored node by node and rebuilt with
``evaluate=False``, and an entry is written only if it comes back identical (``srepr`` and ``==``)
to what was built. Each file carries a SHA-256 of its payload; a file that is unreadable, does not
match its hash or does not unpickle is ignored with a note on stderr and rebuilt.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import pickle
import platform
import shutil
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sympy as sp
from sympy.core.basic import Basic

from hwdb.files import framed, unframed, write_atomic
from hwdb.parsed import ENV_VAR, cache_root

from . import compiled
from .derivation import Derivation

__all__ = ["ENV_VAR", "Table", "cache_root", "derivation", "dumps", "key", "load_entry", "loads"]

PACKAGE_DIR = Path(__file__).resolve().parent
HWDB_DIR = PACKAGE_DIR.parent / "hwdb"
FORMAT = b"claims-derivation-cache 2\n"
FACTORS = "unit-factors.pickle"
KEEP = 8  # key folders kept; older ones (other checkouts, earlier edits) are pruned


def _versions() -> str:
    found = []
    for name in ("sympy", "mpmath", "numpy", "pint"):
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}=?")
    return ";".join([*found, f"python={platform.python_version()}", sys.implementation.cache_tag or ""])


#: The Sphinx adapter (ARCHITECTURE.md, "Where each job lives"): code no derivation can run, because the engine,
#: the catalogue and all they import load without Sphinx (rule 3; tests/test_derivation_cache.py checks it). An
#: edit to a page's box or chip keeps every entry.
SPHINX_ADAPTER = ("sphinx", "sphinxext.py", "sphinxnodes.py", "hwdb_tables.py", "citing.py")


def in_sphinx_adapter(path: Path) -> bool:
    """Whether a file of ``claims/`` belongs to the Sphinx adapter (:data:`SPHINX_ADAPTER`)."""
    return path.is_relative_to(PACKAGE_DIR) and path.relative_to(PACKAGE_DIR).parts[0] in SPHINX_ADAPTER


def code_digest(digest: Any, files: list[Path]) -> None:
    """Add each file's path (from the checkout's root) and bytes to ``digest``."""
    for path in files:
        digest.update(path.relative_to(PACKAGE_DIR.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")


@cache
def key() -> str:
    """A hash of every Python file a derivation could run (claims/ but its Sphinx adapter, and hwdb/), hwdb's
    unit definitions and the library versions."""
    digest = hashlib.sha256(_versions().encode())
    found = (p for folder in (PACKAGE_DIR, HWDB_DIR) for p in folder.rglob("*.py"))
    files = sorted(p for p in found if "__pycache__" not in p.parts and not in_sphinx_adapter(p))
    code_digest(digest, [*files, HWDB_DIR / "units.txt"])
    return digest.hexdigest()[:32]


def _rebuild(cls: type[Basic], args: tuple[Any, ...]) -> Basic:
    """One SymPy node, rebuilt from its arguments without evaluating (exactly as it was stored)."""
    try:
        return cls(*args, evaluate=False)
    except TypeError:  # a class without an ``evaluate`` flag builds its arguments as given
        return cls(*args)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Basic) and not isinstance(obj, type) and not obj.is_Atom and obj.args:
            return (_rebuild, (type(obj), obj.args))
        return NotImplemented


def _expressions(derivation: Derivation) -> list[Any]:
    return [*(s.math for s in derivation.steps), derivation.result, *(d.expr for d in derivation.details)]


def _identical(a: Derivation, b: Derivation) -> bool:
    """Equal, and every expression the same node for node (``srepr``), so nothing shown or hashed moves."""
    left, right = _expressions(a), _expressions(b)
    if a != b or len(left) != len(right):
        return False
    return all(sp.srepr(x) == sp.srepr(y) for x, y in zip(left, right, strict=True))


def _formulas(derivation: Derivation) -> list[Any]:
    """The closed forms evaluated per row: the result, then each detail."""
    return [derivation.result, *(d.expr for d in derivation.details)]


def _framed(value: Any) -> bytes:
    """A cache file's bytes (format line, SHA-256, payload), the value pickled node by node."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return framed(FORMAT, buffer.getvalue())


def _unframed(data: bytes) -> Any:
    try:
        payload = unframed(FORMAT, data, "derivation cache file")
    except ValueError as exc:
        raise CorruptEntry(str(exc)) from None
    try:
        return pickle.loads(payload)
    except Exception as exc:  # any unpickling failure means the same: do not use it
        raise CorruptEntry(f"it does not unpickle ({type(exc).__name__}: {exc})") from None


def dumps(derivation: Derivation) -> bytes:
    """The derivation, with its formulas' compiled sources, as a cache file's bytes."""
    return _framed((derivation, tuple(compiled.source_of(f) for f in _formulas(derivation))))


class CorruptEntry(Exception):
    """A cache file that cannot be trusted."""


def load_entry(data: bytes) -> tuple[Derivation, tuple[compiled.Source | None, ...]]:
    """The derivation and its formulas' sources in a cache file's bytes, or :class:`CorruptEntry`."""
    value = _unframed(data)
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Derivation)):
        raise CorruptEntry(f"it holds a {type(value).__name__}, not a Derivation with its sources")
    derivation, sources = value
    if not (
        isinstance(sources, tuple)
        and len(sources) == len(_formulas(derivation))
        and all(s is None or isinstance(s, compiled.Source) for s in sources)
    ):
        raise CorruptEntry("its compiled sources do not match its formulas")
    return derivation, sources


def loads(data: bytes) -> Derivation:
    """The derivation in a cache file's bytes, or :class:`CorruptEntry`."""
    return load_entry(data)[0]


def _note(message: str) -> None:
    print(f"note: derivation cache: {message}", file=sys.stderr)


def _prune(root: Path, current: Path) -> None:
    """Keep the newest key folders; a folder another process is using is rebuilt if it vanishes."""
    try:
        folders = sorted((p for p in root.iterdir() if p.is_dir() and p != current), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for stale in folders[: max(0, len(folders) - (KEEP - 1))]:
        shutil.rmtree(stale, ignore_errors=True)


def _write(path: Path, data: bytes) -> None:
    fresh = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, data)
    if fresh:
        _prune(path.parent.parent, path.parent)


def _store(path: Path, derivation: Derivation) -> None:
    data = dumps(derivation)
    try:
        if not _identical(loads(data), derivation):
            return  # this derivation does not survive the round trip exactly: always build it
        _write(path, data)
    except (OSError, CorruptEntry):
        return  # an unwritable cache only costs time


def _seed(claim_id: str, derivation: Derivation, sources: tuple[compiled.Source | None, ...] | None) -> None:
    """Hand the claim's formulas to :mod:`claims.compiled` under stable names, with their sources if cached."""
    names = ["result", *(f"detail:{d.name}" for d in derivation.details)]
    for i, (name, formula) in enumerate(zip(names, _formulas(derivation), strict=True)):
        compiled.seed(formula, f"{claim_id}/{name}", None if sources is None else sources[i])


class Table:
    """A table of results kept in the key's folder: read on first use, written back at exit if it grew.

    For results that are functions of the code (in the key) and of the arguments in their own keys,
    such as :mod:`claims.compiled`'s unit factors and :mod:`claims.sensitivity`'s elasticities. A file
    that cannot be trusted is ignored with a note, and the results are computed again.
    """

    def __init__(
        self, name: str, what: str, entries: dict[Any, Any] | None = None, grown: Callable[[], bool] | None = None
    ) -> None:
        """``entries``: a dict another module fills itself, saying so through ``grown``."""
        self.name, self.what = name, what
        self.entries: dict[Any, Any] = {} if entries is None else entries
        self.grew = False
        self._grown = grown
        self._path: Path | None = None
        self._loaded = False

    def _load(self) -> None:
        self._loaded = True
        root = cache_root()
        if root is None:
            return
        self._path = root / "derivations" / key() / self.name
        try:
            loaded = _unframed(self._path.read_bytes())
            if not isinstance(loaded, dict):
                raise CorruptEntry(f"it holds a {type(loaded).__name__}, not a table")
            self.entries.update(loaded)
        except FileNotFoundError:
            pass
        except (OSError, CorruptEntry) as exc:
            _note(f"ignoring {self._path}: {exc}; {self.what} run again")
        atexit.register(self.save)

    def get(self, entry: Any) -> Any:
        if not self._loaded:
            self._load()
        return self.entries.get(entry)

    def put(self, entry: Any, value: Any) -> None:
        if not self._loaded:
            self._load()
        self.entries[entry] = value
        self.grew = True

    def save(self) -> None:
        if self._path is None or not (self.grew or (self._grown is not None and self._grown())):
            return
        with contextlib.suppress(OSError):
            _write(self._path, _framed(dict(self.entries)))


#: The unit factors :mod:`claims.compiled` checked, by formula and input units (it adds to the dict itself).
FACTOR_TABLE = Table(FACTORS, "unit checks", compiled.persisted_factors, lambda: bool(compiled.new_factors))


def derivation(claim_id: str, build: Callable[[], Derivation]) -> Derivation:
    """The claim's derivation from the cache, or built (and stored) when there is no usable entry."""
    root = cache_root()
    if root is None:
        return build()
    path = root / "derivations" / key() / f"{claim_id}.pickle"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        _note(f"cannot read {path} ({exc}); building {claim_id} instead")
        data = None
    FACTOR_TABLE.get(None)  # read the factors this key has checked, before any formula is evaluated
    if data is not None:
        try:
            derivation, sources = load_entry(data)
            _seed(claim_id, derivation, sources)
            return derivation
        except CorruptEntry as exc:
            _note(f"ignoring {path}: {exc}; building {claim_id} again")
    built = build()
    _store(path, built)
    _seed(claim_id, built, None)
    return built
