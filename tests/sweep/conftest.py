"""Sweep fixtures: a spec file in the test's folder, and the tiny sweep run once locally for the
tests that compare against it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sweep_helpers import TINY, sweep, write


@pytest.fixture()
def spec_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a spec's text to ``sweep.yaml`` in the test's folder; its path."""
    return lambda text: write(tmp_path, text)


@pytest.fixture(scope="session")
def tiny_local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of the tiny sweep, run once on 2 local processes (no report)."""
    folder = tmp_path_factory.mktemp("tiny-local")
    spec = write(folder, TINY)
    run = sweep(spec, folder / "out", "--jobs", "2", "--no-report")
    assert run.exit_code == 0, run.output
    return folder / "out"
