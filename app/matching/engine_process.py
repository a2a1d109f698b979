"""Solving a background run in a child process at a lower CPU priority.

A matching run on a large market keeps a core busy for its whole time limit. On Linux the
scheduler shares the CPU between *sessions* first (automatic process grouping), so a solver
running in the job worker's session takes as much CPU as the web server's session whatever
its nice level (see ``matching_engine.priority``). The background run therefore solves in a
child process that leads a session of its own and lowers both its nice level and its
session group's: ``python -m matching_engine solve - --nice N`` with the document on stdin
and the result on stdout. Its memory is given back when it exits. It is killed if the run is
interrupted (a job timeout raised in the calling thread) and, on Linux, when the thread that
started it dies (``PR_SET_PDEATHSIG``): a work horse killed outright must not leave a solver
running on in its own session for the rest of its time limit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

#: On Linux the child first asks to be killed when the thread that started it dies (prctl
#: option 1, PR_SET_PDEATHSIG: it holds for this process only, not for anything it forks),
#: gives up if that parent is already gone, then runs the engine's command line.
LINUX_LAUNCH = """\
import ctypes, os, runpy, signal, sys
parent = int(sys.argv.pop(1))
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
if os.getppid() != parent:
    sys.exit("the process that started the solver is gone")
sys.argv[0] = "matching_engine"
runpy.run_module("matching_engine", run_name="__main__", alter_sys=True)
"""


class EngineProcessError(RuntimeError):
    """The child process failed for a reason other than the document (killed, crashed)."""


def _engine_root() -> Path:
    """The directory that holds the ``matching_engine`` package (found without importing it)."""
    spec = importlib.util.find_spec("matching_engine")
    if spec is None or spec.origin is None:
        raise EngineProcessError("the matching_engine package cannot be found")
    return Path(spec.origin).resolve().parent.parent


def solve_in_child(document: dict, nice: int) -> dict:
    """The engine's result for ``document``, computed by a child process at nice ``nice``.

    Raises ``matching_engine.InputError`` for a document the engine refuses (exit code 2,
    its message), ``EngineProcessError`` if the process died or printed no result.
    """
    from matching_engine.__main__ import EXIT_BAD_INPUT
    from matching_engine.errors import InputError

    arguments = ["solve", "-", "--compact", "--nice", str(nice)]
    command = ([sys.executable, "-c", LINUX_LAUNCH, str(os.getpid()), *arguments]
               if sys.platform == "linux" else [sys.executable, "-m", "matching_engine",
                                                *arguments])
    process = subprocess.Popen(command, cwd=_engine_root(), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, env=os.environ.copy())
    try:
        out, err = process.communicate(json.dumps(document).encode("utf-8"))
    finally:
        if process.poll() is None:  # interrupted while it solved: do not leave it running
            process.kill()
            process.wait()
    message = err.decode("utf-8", "replace").strip()
    if process.returncode == EXIT_BAD_INPUT:
        raise InputError(message.removeprefix("error: ") or "the engine refused the document")
    if process.returncode != 0:
        last = message.splitlines()[-1] if message else "no message"
        how = (f"was killed by signal {-process.returncode}" if process.returncode < 0
               else f"exited with code {process.returncode}")
        raise EngineProcessError(f"the solving process {how} ({last})")
    try:
        return json.loads(out)
    except ValueError as exc:
        raise EngineProcessError(f"the solving process printed no result: {exc}") from exc
