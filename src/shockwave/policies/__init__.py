"""The policy registry: names (and the literature's aliases) -> policy classes."""

from __future__ import annotations

from typing import Any

from shockwave.errors import UnknownPolicyError
from shockwave.names import ALIASES, DISPLAY_NAMES, PAPER_POLICIES
from shockwave.policies.allox import Allox
from shockwave.policies.base import ClusterView, JobView, Policy, Shares
from shockwave.policies.fifo import Fifo
from shockwave.policies.finish_time_fairness import FinishTimeFairness
from shockwave.policies.gandiva_fair import GandivaFair
from shockwave.policies.isolated import Isolated
from shockwave.policies.max_min_fairness import MaxMinFairness
from shockwave.policies.max_sum_throughput import MaxSumThroughput
from shockwave.policies.min_total_duration import MinTotalDuration
from shockwave.policies.shockwave import ShockwavePolicy

POLICIES: dict[str, type] = {
    "shockwave": ShockwavePolicy,
    "gandiva_fair": GandivaFair,
    "isolated": Isolated,
    "max_min_fairness": MaxMinFairness,
    "finish_time_fairness": FinishTimeFairness,
    "allox": Allox,
    "min_total_duration": MinTotalDuration,
    "max_sum_throughput": MaxSumThroughput,
    "fifo": Fifo,
}

def canonical_name(name: str) -> str:
    """The registry name for ``name`` or one of its aliases; raises ``UnknownPolicyError``."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in POLICIES:
        raise UnknownPolicyError(name, list(POLICIES) + [a for a, t in ALIASES.items() if t in POLICIES])
    return key


def make_policy(name: str, **params: Any) -> Policy:
    """A fresh policy instance (policies may keep state across rounds of one run)."""
    return POLICIES[canonical_name(name)](**params)


__all__ = [
    "ALIASES", "DISPLAY_NAMES", "PAPER_POLICIES", "POLICIES", "ClusterView", "JobView", "Policy", "Shares",
    "canonical_name", "make_policy",
]
