"""A build killed at any point leaves a marked folder, no export and no child; the next build equals a clean one.

Each case edits a built copy of the book (a data edit with its pin, or a code edit with a configuration
edit), starts a build that kills itself at a named point (``$CLAIMS_TEST_KILL_AT``, see
:mod:`claims.sphinx.unfinished`), then builds again as a reader would, and compares the result file
by file with a clean build of the same edited tree.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import BOOK_BUILD, copy_repo, edit
from test_stale_build import TRACKED_EDITS, _differences, _site, _sphinx

from claims.mutate import _perturb
from claims.sphinx.speedups import DRAWS_EVERY_FIGURE
from claims.sphinx.unfinished import EXPORTS, KILL_ENV, MARK, UNWRITTEN

pytestmark = pytest.mark.slow

#: (edit, where the build is killed, with which signal): every point once, every edit and both signals,
#: each in as few builds as that takes (every case costs a killed build, a rebuild and, once per edit, a
#: clean build to compare with). The code and the configuration edit are made together: each makes the
#: next build read every page again, so together they are one more such build, and one clean build to
#: compare with rather than two. The kill at ``figures`` follows the data edit, which moves figures: the
#: build killed there draws them itself (not from the user-wide store), so its figure child is drawing.
CASES = [
    ("data and pin", "figures", "SIGKILL"),
    ("data and pin", "exports", "SIGINT"),
    ("code and configuration", "writing", "SIGKILL"),
    ("code and configuration", "reading", "SIGKILL"),
]


def _edit(repo: Path, kind: str) -> None:
    if kind == "data and pin":
        path, name = TRACKED_EDITS["accelerator field"]
        (repo / path).write_text(_perturb((repo / path).read_text(), name, 1.1))
        pinned = subprocess.run([sys.executable, "-m", "claims", "pin"], cwd=repo, capture_output=True, text=True)
        assert pinned.returncode == 0, pinned.stderr
    else:  # every chip's sentence, and every page's title: each re-reads every page
        edit(repo / "claims/sphinx/chip.py", "judged(e)} against the lecture", "judged(e)} set against the lecture")
        edit(repo / "conf.py", 'html_title = "The lecture, verified"', 'html_title = "The lecture, re-verified"')


@pytest.fixture(scope="module")
def built(built_book: Path) -> Path:
    """The shared built book: each case copies it before it edits."""
    return built_book


_CLEAN: dict[str, dict[str, bytes]] = {}


def _clean_site(built: Path, kind: str, where: Path) -> dict[str, bytes]:
    """What a clean build of the edited tree writes (built once per edit)."""
    if kind not in _CLEAN:
        repo = copy_repo(where / "clean-repo")
        _edit(repo, kind)
        clean = _sphinx(repo, where / "clean", *DRAWS_EVERY_FIGURE)
        assert clean.returncode == 0, clean.stderr
        _CLEAN[kind] = _site(where / "clean")
    return _CLEAN[kind]


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working folder is inside ``folder`` (a build's children keep the build's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks and reads /proc")
@pytest.mark.parametrize(("kind", "phase", "how"), CASES, ids=[f"{k}-{p}-{s}" for k, p, s in CASES])
def test_a_killed_build_is_marked_and_the_next_equals_a_clean_one(
    built: Path, kind: str, phase: str, how: str, tmp_path: Path
) -> None:
    """Killed at reading, the figure cache's entries are also folders (a squatted cache): the build that
    follows costs time, not its success."""
    repo = tmp_path / "repo"
    shutil.copytree(built, repo, symlinks=True)
    out = repo / "_build/html"
    _edit(repo, kind)
    squatted = _squat_figure_cache(out) if phase == "reading" else []
    env = {**os.environ, "PYTHONHASHSEED": "0", KILL_ENV: f"{phase}:{how}"}
    command = [*BOOK_BUILD[:-1], str(out), *(DRAWS_EVERY_FIGURE if phase == "figures" else ())]
    killed = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, preexec_fn=_interruptible)
    if how == "SIGKILL":
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    else:
        assert killed.returncode != 0, killed.stderr  # Sphinx ends an interrupt with its own status
    assert (out / MARK).exists(), f"killed at {phase}, the folder is not marked"
    assert not any((out / name).exists() for name in EXPORTS[1:]), "an export outlived the killed build"
    deadline = time.monotonic() + 5
    while _processes_in(repo) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_in(repo) == [], f"killed at {phase}, a child of the build is still running"

    again = _sphinx(repo, out)
    assert again.returncode == 0, again.stderr
    assert not (out / MARK).exists() and not (out / ".doctrees" / UNWRITTEN).exists()
    assert all((out / name).exists() for name in EXPORTS)
    # Sphinx itself keeps the previous configuration's stamp as .buildinfo.bak after any configuration change
    site = {name: data for name, data in _site(out).items() if name != ".buildinfo.bak"}
    assert _differences(site, _clean_site(built, kind, tmp_path)) == []
    assert "Traceback" not in again.stderr and all(entry.is_dir() for entry in squatted)


def _interruptible() -> None:
    """In the killed build, before it starts: SIGINT as a terminal gives it. A test run started in the background
    (``&`` in a script, ``nohup``) ignores SIGINT, and a child inherits that, so it would never be interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _squat_figure_cache(out: Path) -> list[Path]:
    """Put a folder where each of the build folder's figure cache entries is."""
    squatted = sorted((out / ".doctrees/claim-figures").glob("*.json"))
    assert squatted, "the built copy keeps no figure"
    for entry in squatted:
        entry.unlink()
        entry.mkdir()
    return squatted
