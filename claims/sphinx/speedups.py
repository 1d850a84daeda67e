"""The build's speed-ups: what each one is, and the one setting that turns them on and off.

None of them changes a byte of the site (the tests build both ways and compare); each only makes a
build on the 2-core machine take less time. ``nox -s bench`` measures, in alternation, what each saves
of a clean build and of a rebuild after a model edit, and the README's bench section shows the table.

``claims_speedups`` in ``conf.py`` (or ``-D claims_speedups=…`` on the command line) says which run:

* ``"all"`` (the default) or ``"none"``;
* names, to run only those: ``"ahead"``;
* names with a minus, to run all but those: ``"-collector"``.

An unknown name fails the build, naming it. The names are :data:`SPEEDUPS`' keys.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

SWITCH = "claims_speedups"

#: Each speed-up, by name: the module that holds it, and what it does.
SPEEDUPS = {
    "ahead": (
        "claims.sphinx.work_ahead",
        "figures and notebooks of the pages to be read, drawn and run in forked children while the build "
        "reads the other pages",
    ),
    "store": (
        "claims.sphinx.figure_store",
        "figures kept in the user cache by what they show, so a clean build draws only what no build drew",
    ),
    "collector": (
        "claims.sphinx.collector",
        "Python's cycle collector kept off what the build holds to the end, and its full passes made rarer",
    ),
}


def chosen(value: str) -> frozenset[str]:
    """The speed-ups a setting turns on; ValueError naming what is not a speed-up."""
    words = [w.strip() for w in value.split(",") if w.strip()]
    if words == ["all"]:
        return frozenset(SPEEDUPS)
    if words in (["none"], []):
        return frozenset()
    names = [w.removeprefix("-") for w in words]
    unknown = [n for n in names if n not in SPEEDUPS]
    if unknown:
        raise ValueError(f"{', '.join(map(repr, unknown))} (the speed-ups are {', '.join(sorted(SPEEDUPS))})")
    removing = [w.startswith("-") for w in words]
    if any(removing) and not all(removing):
        raise ValueError(f"{value!r} mixes names to run with names to leave out; give one kind")
    return frozenset(SPEEDUPS) - set(names) if all(removing) else frozenset(names)


def option(setting: str) -> list[str]:
    """The ``sphinx-build`` arguments that give ``claims_speedups`` the value ``setting``."""
    return ["-D", f"{SWITCH}={setting}"]


#: A build that draws every figure itself rather than serve it from the figure store: what the tests compare
#: a build with, and what the benchmark times as a clean build.
DRAWS_EVERY_FIGURE = tuple(option("-store"))


def enabled(config: Config, name: str) -> bool:
    """Whether the speed-up ``name`` runs in this build (all do where the setting is not registered)."""
    if name not in SPEEDUPS:
        raise KeyError(name)
    if SWITCH not in config:
        return True
    return name in chosen(str(config[SWITCH]))


def _check(app: Sphinx, config: Config) -> None:
    try:
        chosen(str(config[SWITCH]))
    except ValueError as problem:
        raise ConfigError(f"{SWITCH}: not a speed-up: {problem}") from None


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value(SWITCH, "all", "", str)  # changes no output: no page is re-read when it changes
    app.connect("config-inited", _check)
    for module, _ in SPEEDUPS.values():
        app.setup_extension(module)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
