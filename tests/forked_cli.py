"""``python -m MODULE ARGS`` for the tests' command tables, in a fraction of the time a fresh interpreter takes.

A command of ``claims`` or ``hwdb`` spends most of a second importing SymPy, NumPy and pint before it reads
its arguments. The fault and refusal tables run about a hundred such commands. Here one server process per
test worker imports those libraries, and only those, once; each command is a forked child of it that then
runs exactly as ``python -m`` would: in its own folder and environment, with ``sys.argv`` and ``sys.path[0]``
set as the interpreter sets them, ``$PYTHONPATH`` in front of the rest, stdin empty, stdout and stderr to
files, the exit status of ``SystemExit`` or 1 with a traceback, the ``atexit`` handlers run, and a failed
flush of stdout at exit reported with status 120, as CPython does. The project's own modules are imported
afresh in every child, so each reads its environment as a new process would.

What a fork cannot give: settings the interpreter reads only at start-up (``PYTHONHASHSEED``,
``PYTHONIOENCODING``, ``PYTHONWARNINGS``…) and file descriptors passed from the test. A row that needs
either runs in a real subprocess (:func:`needs_a_fresh_interpreter` says which); so do the tests of how a
console script starts (``tests/test_citing_wheel.py``).
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import IO, Any

#: What every command imports before it reads its arguments; imported once, by the server.
PRELOADED = ("sympy", "numpy", "pint")
#: Environment settings the interpreter reads only when it starts: a command given one runs in a real process.
STARTUP_SETTINGS = (
    "PYTHONHASHSEED",
    "PYTHONIOENCODING",
    "PYTHONWARNINGS",
    "PYTHONUTF8",
    "PYTHONSAFEPATH",
    "PYTHONHOME",
)


def needs_a_fresh_interpreter(env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> bool:
    """Whether a command must run in a new interpreter: it passes file descriptors, or sets (or unsets) a
    start-up setting to other than this process's."""
    return bool(pass_fds) or any(env.get(name) != os.environ.get(name) for name in STARTUP_SETTINGS)


class ForkedCommands:
    """The test side: starts the server, sends it a command at a time, and waits with a timeout."""

    def __init__(self) -> None:
        self._server: subprocess.Popen[str] | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="forked-cli-"))

    def _started(self) -> subprocess.Popen[str]:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [sys.executable, __file__, "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        return self._server

    def run(
        self,
        module: str,
        args: list[str] | tuple[str, ...],
        *,
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        stdout_to: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``python -m module *args`` in ``cwd`` with exactly ``env``; stdout captured, or written to the file
        ``stdout_to`` (then ``stdout`` is None, as with ``subprocess.run``)."""
        server = self._started()
        assert server.stdin is not None and server.stdout is not None
        out, err = self._scratch / "stdout", self._scratch / "stderr"
        request = {"module": module, "args": list(args), "cwd": str(cwd), "env": env}
        request |= {"stdout": stdout_to or str(out), "stderr": str(err)}
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        pid = int(json.loads(server.stdout.readline())["pid"])
        ready, _, _ = select.select([server.stdout], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            server.stdout.readline()  # the server's report of the killed child
            raise subprocess.TimeoutExpired([sys.executable, "-m", module, *args], timeout)
        status = int(json.loads(server.stdout.readline())["status"])
        stdout = None if stdout_to else out.read_text(errors="replace")
        return subprocess.CompletedProcess(
            [sys.executable, "-m", module, *args], status, stdout, err.read_text(errors="replace")
        )

    def close(self) -> None:
        if self._server is not None and self._server.poll() is None:
            assert self._server.stdin is not None
            self._server.stdin.close()
            self._server.wait(timeout=30)
        for name in ("stdout", "stderr"):
            (self._scratch / name).unlink(missing_ok=True)
        self._scratch.rmdir()


_COMMANDS: ForkedCommands | None = None


def run_module(
    module: str,
    args: list[str] | tuple[str, ...],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    stdout_to: str | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``python -m module *args`` in ``cwd`` with exactly ``env``: forked from this test process's server, or
    in a new interpreter where a fork cannot stand for one (:func:`needs_a_fresh_interpreter`). Output is text;
    stdout is captured unless it goes to the file ``stdout_to``."""
    global _COMMANDS
    if needs_a_fresh_interpreter(env, pass_fds):
        out = open(stdout_to, "w") if stdout_to else None  # noqa: SIM115
        try:
            return subprocess.run(
                [sys.executable, "-m", module, *args],
                cwd=cwd,
                stdout=out if out is not None else subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                timeout=timeout,
                pass_fds=pass_fds,
            )
        finally:
            if out is not None:
                out.close()
    if _COMMANDS is None:
        _COMMANDS = ForkedCommands()
        atexit.register(_COMMANDS.close)
    return _COMMANDS.run(module, args, cwd=cwd, env=env, timeout=timeout, stdout_to=stdout_to)


# ------------------------------------------------------------------------------------------ the server side


def _serve() -> None:
    for name in PRELOADED:
        __import__(name)
    own_path = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    rest = [entry for entry in sys.path[1:] if entry not in own_path]  # the interpreter's path, minus ours
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, rest)  # never returns
        print(json.dumps({"pid": pid}), flush=True)
        _, wait_status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}), flush=True)


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o644)
    os.dup2(opened, fd)
    os.close(opened)


def _child(request: dict[str, Any], rest: list[str]) -> None:
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _redirect(0, os.devnull, os.O_RDONLY)
        _redirect(1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        _redirect(2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        given = [entry for entry in request["env"].get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path[:] = [os.getcwd(), *given, *rest]  # as `python -m` sets it: the folder, $PYTHONPATH, the rest
        sys.argv = [request["module"], *request["args"]]
        code = _run(request["module"])
        atexit._run_exitfuncs()
        code = _flushed(sys.stdout, code)
        _flushed(sys.stderr, code)
    finally:
        os._exit(code)


def _run(module: str) -> int:
    """Run the module as ``__main__``; its exit status as the interpreter would give it."""
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        if exit.code is None:
            return 0
        if isinstance(exit.code, int):
            return exit.code
        print(exit.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _flushed(stream: IO[str], code: int) -> int:
    """Flush a standard stream at exit; a failure is reported and makes the status 120, as in CPython."""
    try:
        stream.flush()
    except OSError as error:
        with open(2, "w", closefd=False) as stderr:
            print(f"Exception ignored on flushing {stream.name!r}: {error!r}", file=stderr)
        return 120
    return code


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    _serve()
