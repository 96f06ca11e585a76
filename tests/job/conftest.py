"""Fixtures of the job-library tests: a clean environment contract, the fake service, and the
reference (uninterrupted) runs that interrupted runs must match bit for bit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from job_fakes import FakeService, clean_environ


@pytest.fixture
def job_env() -> Iterator[dict[str, str]]:
    """A clean contract for in-process runs; set keys on the returned dict before ``init()``."""
    with mock.patch.dict(os.environ, clean_environ(), clear=True):
        yield os.environ  # type: ignore[misc]


@pytest.fixture
def fake() -> Iterator[FakeService]:
    service = FakeService().start()
    yield service
    try:
        service.stop()
    except OSError:
        pass


@pytest.fixture(scope="session")
def reference_params(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trainer's final parameters after an uninterrupted standalone run (1 rank)."""
    return _reference(tmp_path_factory.mktemp("reference"), [])


@pytest.fixture(scope="session")
def manual_reference_params(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same with ``--manual-sgd`` (the trainer as the subprocess tests run it)."""
    return _reference(tmp_path_factory.mktemp("reference-manual"), ["--manual-sgd"])


def _reference(tmp: Path, extra: list[str]) -> Path:
    import job_trainer

    out = tmp / "params.pt"
    with mock.patch.dict(os.environ, clean_environ(), clear=True):
        sess = job_trainer.train(job_trainer.parse(["--params-out", str(out), *extra]),
                                 exit_process=False)
    assert sess.exit_code == 0
    return out
