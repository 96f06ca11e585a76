"""Shared fixtures: the bundled canonical inputs and the published reference results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shockwave.traces import Trace, load_trace
from shockwave.workload.throughput import ThroughputTable, load_throughputs

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def canonical_trace() -> Trace:
    return load_trace()


@pytest.fixture(scope="session")
def throughputs() -> ThroughputTable:
    return load_throughputs()


@pytest.fixture(scope="session")
def published() -> dict:
    return json.loads((DATA / "published-results-canonical.json").read_text())["policies"]
