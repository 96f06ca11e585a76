"""Helpers of the sweep tests: a tiny spec (3 policies x 5 seeds x 2 cluster sizes, 6-job traces;
its 30 runs take well under a second) and running ``shockwave sweep`` in this process."""

from __future__ import annotations

from pathlib import Path

from cli_run import Run, shockwave

TINY = """\
name: tiny
policies: [fifo, gavel, shockwave]
seeds: 5
gpus: [4, 8]
trace:
  num_jobs: 6
  lam: 300
  min_hours: 0.1
  max_hours: 0.5
"""
TINY_RUNS = 30


def write(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def sweep(spec: Path, out: Path, *args: str) -> Run:
    """``shockwave sweep SPEC --out OUT --quiet ARGS...`` in this process."""
    return shockwave("sweep", str(spec), "--out", str(out), "--quiet", *args)
