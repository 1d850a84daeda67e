"""A disk cache of built derivations, so a fresh process does not redo SymPy's solve and simplify.

Building the 64 derivations (``Claim.build``) is most of what a fresh ``python -m claims verify``
costs beyond importing its libraries. What a build produces depends only on code: the catalogue,
the engine and the libraries. So each claim's :class:`~claims.engine.Derivation` is pickled under
a key that hashes every Python source file of ``claims/`` and ``hwdb/`` with the SymPy, mpmath,
NumPy and Python versions. Any edit to a derivation (or to anything it could import) changes the
key, and the next run builds afresh; hwdb data is not in the key because no derivation reads it.

Where: ``$CLAIMS_CACHE_DIR``, else ``$XDG_CACHE_HOME/claims``, else ``~/.cache/claims`` (a user
cache rather than a folder in the checkout: it serves an installed wheel, whose package folder may
be read-only, and a scratch copy of the repository alike; entries are keyed by content, so
checkouts sharing it cannot serve each other stale results). ``CLAIMS_CACHE_DIR=off`` disables it.
The folder is safe to delete at any time. A run that cannot write it simply builds each time.

SymPy's own pickling rebuilds each expression *with* evaluation, which can change an unevaluated
step of a derivation (an equation shown unsimplified on purpose) into its evaluated form, and with
it the claim's content version. Expressions are therefore stored node by node and rebuilt with
``evaluate=False``, and an entry is written only if it comes back identical (``srepr`` and ``==``)
to what was built. Each file carries a SHA-256 of its payload; a file that is unreadable, does not
match its hash or does not unpickle is ignored with a note on stderr and rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import platform
import shutil
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.core.basic import Basic

if TYPE_CHECKING:
    from .engine import Derivation

PACKAGE_DIR = Path(__file__).resolve().parent
HWDB_DIR = PACKAGE_DIR.parent / "hwdb"
ENV_VAR = "CLAIMS_CACHE_DIR"
FORMAT = b"claims-derivation-cache 1\n"
KEEP = 8  # key folders kept; older ones (other checkouts, earlier edits) are pruned


def cache_root() -> Path | None:
    """The cache folder, or None when ``$CLAIMS_CACHE_DIR`` is ``off``."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "claims"


def _versions() -> str:
    found = []
    for name in ("sympy", "mpmath", "numpy"):
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}=?")
    return ";".join([*found, f"python={platform.python_version()}", sys.implementation.cache_tag or ""])


@cache
def key() -> str:
    """A hash of every Python file a derivation could run, and the library versions."""
    digest = hashlib.sha256(_versions().encode())
    found = (p for folder in (PACKAGE_DIR, HWDB_DIR) for p in folder.rglob("*.py"))
    files = sorted(p for p in found if "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(PACKAGE_DIR.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
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


def dumps(derivation: Derivation) -> bytes:
    """The derivation as a cache file's bytes: format line, SHA-256 of the payload, payload."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(derivation)
    payload = buffer.getvalue()
    return FORMAT + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


class CorruptEntry(Exception):
    """A cache file that cannot be trusted."""


def loads(data: bytes) -> Derivation:
    """The derivation in a cache file's bytes, or :class:`CorruptEntry`."""
    from .engine import Derivation

    if not data.startswith(FORMAT):
        raise CorruptEntry("not a derivation cache file of this format")
    digest, _, payload = data[len(FORMAT) :].partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise CorruptEntry("its content does not match its SHA-256")
    try:
        value = pickle.loads(payload)
    except Exception as exc:  # any unpickling failure means the same: do not use it
        raise CorruptEntry(f"it does not unpickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, Derivation):
        raise CorruptEntry(f"it holds a {type(value).__name__}, not a Derivation")
    return value


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


def _store(path: Path, derivation: Derivation) -> None:
    data = dumps(derivation)
    try:
        if not _identical(loads(data), derivation):
            return  # this derivation does not survive the round trip exactly: always build it
        fresh = not path.parent.exists()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(path)
        if fresh:
            _prune(path.parent.parent, path.parent)
    except (OSError, CorruptEntry):
        return  # an unwritable cache only costs time


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
    if data is not None:
        try:
            return loads(data)
        except CorruptEntry as exc:
            _note(f"ignoring {path}: {exc}; building {claim_id} again")
    built = build()
    _store(path, built)
    return built
