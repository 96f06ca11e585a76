"""The policy registry: names (and the literature's aliases) -> policy classes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Any

from shockwave.errors import UnknownPolicyError
from shockwave.names import ALIASES, DISPLAY_NAMES, PAPER_POLICIES
from shockwave.policies.base import ClusterView, JobView, Policy, Shares, TypedShares

_WHERE: dict[str, str] = {
    "shockwave": "shockwave.policies.shockwave:ShockwavePolicy",
    "gandiva_fair": "shockwave.policies.gandiva_fair:GandivaFair",
    "isolated": "shockwave.policies.isolated:Isolated",
    "max_min_fairness": "shockwave.policies.max_min_fairness:MaxMinFairness",
    "finish_time_fairness": "shockwave.policies.finish_time_fairness:FinishTimeFairness",
    "allox": "shockwave.policies.allox:Allox",
    "min_total_duration": "shockwave.policies.min_total_duration:MinTotalDuration",
    "max_sum_throughput": "shockwave.policies.max_sum_throughput:MaxSumThroughput",
    "fifo": "shockwave.policies.fifo:Fifo",
    "max_min_fairness_perf": "shockwave.policies.max_min_fairness_perf:MaxMinFairnessPerf",
    "finish_time_fairness_perf":
        "shockwave.policies.finish_time_fairness_perf:FinishTimeFairnessPerf",
    "min_total_duration_perf": "shockwave.policies.min_total_duration_perf:MinTotalDurationPerf",
    "max_sum_throughput_perf": "shockwave.policies.max_sum_throughput_perf:MaxSumThroughputPerf",
    "gandiva_fair_perf": "shockwave.policies.gandiva_fair_perf:GandivaFairPerf",
    "fifo_perf": "shockwave.policies.fifo_perf:FifoPerf",
}
"""Each ``*_perf`` policy is the heterogeneity-aware variant of the policy without the suffix
(Gavel's ``_Perf`` policies; docs/baseline-policies.md): typed shares on a cluster of several GPU
types, and exactly the plain policy's shares on one type."""


class _Registry(Mapping[str, type]):
    """Name -> policy class, importing a policy's module only when it is first used (a run of
    one policy does not pay for the others' solvers)."""

    def __getitem__(self, name: str) -> type:
        module, _, attr = _WHERE[name].partition(":")
        return getattr(import_module(module), attr)

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


POLICIES: Mapping[str, type] = _Registry()


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
    "ALIASES", "DISPLAY_NAMES", "PAPER_POLICIES", "POLICIES", "ClusterView", "JobView", "Policy",
    "Shares", "TypedShares",
    "canonical_name", "make_policy",
]
