"""Running the real ``shockwave`` command in-process, as a user's shell would, with its output."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from shockwave.cli import main


@dataclass(frozen=True)
class Run:
    """What one command did: its exit status and what it printed."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def shockwave(*args: str) -> Run:
    """``shockwave ARGS...`` through ``shockwave.cli.main``, the console script's entry point."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Run(code, out.getvalue(), err.getvalue())


def one_line_error(run: Run) -> str:
    """The single ``error: ...`` line a bad input gets (exit 2, no traceback)."""
    assert run.exit_code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert "Traceback" not in run.output
    return lines[0]
