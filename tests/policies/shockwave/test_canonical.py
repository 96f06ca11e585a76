"""Shockwave on the bundled canonical input (--compat reference, 32 GPUs, 120 s rounds) against the
published results (tests/data/published-results-canonical.json). One simulation, ~10-20 s."""

from __future__ import annotations

import pytest

from shockwave import Cluster, load_trace, make_sim_config, simulate, summarize
from shockwave.policies.shockwave import ShockwavePolicy

BASELINES = ("finish_time_fairness", "max_min_fairness", "allox", "max_sum_throughput_perf",
             "gandiva_fair")


@pytest.fixture(scope="module")
def run():
    policy = ShockwavePolicy()
    result = simulate(load_trace(), Cluster(num_gpus=32), policy, make_sim_config("reference"))
    return summarize(result), policy.stats, result


def test_canonical_makespan_matches_published_and_beats_baselines(run, published):
    summary, stats, _ = run
    assert summary.jobs_completed == 120
    assert summary.makespan_s == pytest.approx(published["shockwave"]["makespan_s"], rel=0.05)
    for name in BASELINES:
        assert summary.makespan_s <= 0.8 * published[name]["makespan_s"], name
    assert stats.fallback == 0 and stats.replans > 100


def test_canonical_fairness_matches_published(run, published):
    """SPEC Appendix B: avg JCT within 5 %, worst rho <= 1.9, at most 6 % unfair jobs, and the
    lowest unfair fraction of all published policies."""
    summary, _, _ = run
    assert summary.avg_jct_s == pytest.approx(published["shockwave"]["avg_jct_s"], rel=0.05)
    assert summary.worst_ftf_rho <= 1.9
    assert summary.unfair_fraction_pct <= 6.0
    assert all(summary.unfair_fraction_pct < published[name]["unfair_fraction_pct"]
               for name in (*BASELINES, "min_total_duration"))


def test_canonical_first_rounds_equal_the_published_schedule(run, published):
    """Rounds 0-11 run exactly the published job sets (round 12 differs by a tie of equal weight:
    docs/policies.md, "Canonical result")."""
    _, _, result = run
    schedule = published["shockwave"]["per_round_schedule"]
    for index in range(12):
        assert set(result.schedule[index]) == {int(j) for j in schedule[index]}, index
