"""Fixtures for the policy tests; the helpers themselves live in ``policy_helpers``."""

from __future__ import annotations

import pytest
from policy_helpers import make_view

from shockwave.policies.base import ClusterView


@pytest.fixture
def two_job_view() -> ClusterView:
    """Two 1-GPU jobs with equal work on a 1-GPU cluster, both just arrived."""
    from policy_helpers import J

    return make_view([J(), J()], num_gpus=1)
