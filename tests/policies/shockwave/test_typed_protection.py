"""Issue 12's shortest-remaining-time priorities and makespan protection in Shockwave's typed plan
of several GPU types (docs/policies.md, "Shockwave on heterogeneous clusters"): the protected jobs
plan on their fastest type (``typed.protected_homes``), the relaxed priorities carry the
shortest-remaining-time factor, and both are on by default, as on one type. By hand, then whole
runs pinned on a generated trace."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from shockwave import make_sim_config, simulate, summarize
from shockwave.clusters import parse_cluster
from shockwave.metrics import Summary
from shockwave.policies.params import build_policy
from shockwave.policies.shockwave.typed import protected_homes
from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.traces.trace import Trace
from shockwave.workload.throughput import load_throughputs


def test_protected_jobs_plan_on_their_fastest_type_the_others_keep_their_homes():
    # three types; job 0 is fastest on type 1, job 1 on type 0, job 2 ties types 0 and 2
    # (the first wins), job 3 cannot run on type 0 (infinite slowdown) and is fastest on 2
    slowdown = np.array([[1.5, 1.0, 3.0],
                         [1.0, 2.0, 4.0],
                         [1.0, 1.2, 1.0],
                         [np.inf, 1.4, 1.0]])
    homes = np.array([2, 1, 1, 1])
    protected = np.array([True, False, True, True])
    assert protected_homes(homes, slowdown, protected).tolist() == [1, 1, 0, 2]
    assert protected_homes(homes, slowdown, np.zeros(4, dtype=bool)).tolist() == homes.tolist()


@cache
def _trace() -> Trace:
    return generate_trace(GeneratorParams(num_jobs=60, lam_s=30.0, seed=5), load_throughputs())


@cache
def _run(**params: str) -> Summary:
    cluster = parse_cluster("v100:8,p100:4,k80:4")
    result = simulate(_trace().jobs, cluster, build_policy("shockwave", params),
                      make_sim_config("fixed"))
    assert len(result.records) == 60
    return summarize(result)


def _numbers(summary: Summary) -> tuple[float, float, int]:
    return summary.makespan_s, summary.avg_jct_s, summary.rounds


def test_both_off_is_the_former_typed_plan():
    """With ``srpt_power=0`` and ``makespan_slack=0`` the typed plan is the one before either
    reached it: 26,704.6 s / 13,927.7 s / 223 rounds, the default's numbers then."""
    off = _run(srpt_power="0", makespan_slack="0")
    assert _numbers(off) == pytest.approx((26_704.6, 13_927.7, 223), rel=1e-4)


def test_each_helps_on_a_generated_trace_and_both_are_on_by_default():
    """60 jobs on v100:8,p100:4,k80:4 (pinned to 0.1 %, as the other Shockwave goldens): the
    priorities lower the average JCT (13,927.7 -> 12,230.2 s with the protection off), the
    protection the makespan (26,704.6 -> 26,175.1 s with the priorities off); together
    25,684.1 s / 12,307.9 s, 8 rounds fewer than neither."""
    default = _run()
    assert default == _run(srpt_power="1.5", makespan_slack="0.05", makespan_protect="0.8")
    assert _numbers(default) == pytest.approx((25_684.1, 12_307.9, 215), rel=1e-3)
    assert _numbers(_run(srpt_power="0")) == pytest.approx((26_175.1, 13_694.9, 219), rel=1e-3)
    assert _numbers(_run(makespan_slack="0")) == pytest.approx((26_283.2, 12_230.2, 220),
                                                               rel=1e-3)
    off = _run(srpt_power="0", makespan_slack="0")
    assert _run(makespan_slack="0").avg_jct_s < off.avg_jct_s
    assert _run(srpt_power="0").makespan_s < off.makespan_s
    assert default.makespan_s < off.makespan_s and default.avg_jct_s < off.avg_jct_s
