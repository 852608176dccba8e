"""Worker processes: fresh interpreters that serve tasks, one JSON line each, over stdin and stdout.

The ``--jobs`` fits (:mod:`.prefetch`), the cost table's one interpreter per model
(:mod:`.cost`) and ``benchmarks/time_to_accuracy.py`` run their work this way. A worker is
``python -m <module> <flag>``; it reads one task per line on stdin and answers each with one line
that starts with :data:`RESULT_MARK` (anything else it prints is not a reply).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .output import json_default

#: Marks a worker's result line on its stdout.
RESULT_MARK = "@@paper-fit "

#: The folder that holds ``benchmarks/``: workers import the code their parent runs, whatever
#: their working directory.
ROOT = Path(__file__).resolve().parents[2]


def module_command(module: str, *args: str) -> list[str]:
    """The command that runs ``python -m module *args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment with ``extra`` set and :data:`ROOT` first on ``PYTHONPATH``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **extra, "PYTHONPATH": path}


def serve(handle: Callable[[dict], dict]) -> None:
    """A worker's loop: answer each task line on stdin with ``handle(task)``, one result line."""
    for line in sys.stdin:
        print(RESULT_MARK + json.dumps(handle(json.loads(line)), default=json_default), flush=True)


class WorkerProcess:
    """``python -m module *args``, fed one task at a time: one interpreter and torch start per
    worker, not per task. It starts with the first task, and again with the next task after it
    died. ``echo`` prints what the worker prints besides its replies; ``env`` is set in its
    environment, ``stderr`` takes its standard error (default: this process's)."""

    def __init__(
        self,
        module: str,
        *args: str,
        env: dict[str, str] | None = None,
        stderr: IO[str] | int | None = None,
        echo: bool = False,
    ) -> None:
        self.command = module_command(module, *args)
        self.env = worker_env(**(env or {}))
        self.stderr, self.echo = stderr, echo
        self.proc: subprocess.Popen[str] | None = None

    def ask(self, task: dict) -> dict | None:
        """Send ``task``; the worker's reply, or None if it died before replying."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                text=True,
                bufsize=1,
                env=self.env,
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(task) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        for line in self.proc.stdout:
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
            if self.echo:
                print(line, end="", flush=True)
        return None

    def close(self) -> None:
        """End the worker (it exits at the end of its input) and wait for it."""
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait()
