"""Every heterogeneity-aware (``*_perf``) policy in whole simulations on clusters of several GPU
types, with Gavel-style jobs and Gavel's throughput table: every job completes, no type is
over-committed, each gang runs whole on one type where the job can run; and, on one small
case, each aware policy but finish-time fairness beats its agnostic twin by that policy's own
objective (pinned; see ``PINNED``, and ``benchmarks/bench_hetero_policies.py`` for all six on
36:36:36)."""

from __future__ import annotations

import dataclasses
import warnings
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shockwave import JobSpec, make_sim_config, simulate
from shockwave.metrics import (
    alone_run_times,
    ftf_rhos,
    makespan_s,
    normalized_shares,
    speed_efficiency,
)
from shockwave.model import Cluster
from shockwave.policies import POLICIES, make_policy
from shockwave.sim.result import SimResult
from shockwave.traces.gavel_jobs import GavelJobParams, generate_gavel_trace
from shockwave.workload.throughput import load_throughputs

GAVEL = load_throughputs("gavel")
PERF = sorted(name for name in POLICIES if name.endswith("_perf"))
TYPES = ("v100", "p100", "k80")
STEPS_DIVISOR = 100
"""Gavel's durations (half an hour to a week) shrunk to keep each run to ~100 rounds."""


def test_every_aware_policy_of_the_registry_is_tested():
    assert PERF == ["fifo_perf", "finish_time_fairness_perf", "gandiva_fair_perf",
                    "max_min_fairness_perf", "max_sum_throughput_perf", "min_total_duration_perf"]


@cache
def gavel_jobs(seed: int, num_jobs: int, lam_s: float,
               divisor: int = STEPS_DIVISOR) -> tuple[JobSpec, ...]:
    """A Gavel-style trace with its steps divided by ``divisor``."""
    trace = generate_gavel_trace(GavelJobParams(num_jobs=num_jobs, lam_s=lam_s, seed=seed), GAVEL)
    return tuple(dataclasses.replace(job, total_steps=max(1, job.total_steps // divisor),
                                     duration_s=max(1.0, job.duration_s / divisor))
                 for job in trace.trace.jobs)


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    kinds = draw(st.lists(st.sampled_from(TYPES), min_size=2, max_size=3, unique=True))
    groups = []
    for gpu_type in kinds:
        per_server = draw(st.sampled_from([1, 2, 4]))
        groups.append((gpu_type, per_server * draw(st.integers(min_value=1, max_value=3)),
                       per_server))
    return Cluster.of_types(groups)


def _run(policy: str, jobs: list[JobSpec], cluster: Cluster) -> SimResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return simulate(jobs, cluster, make_policy(policy), make_sim_config("fixed"),
                        throughputs=GAVEL)


def _check_run(result: SimResult, jobs: list[JobSpec], cluster: Cluster) -> None:
    specs = {job.job_id: job for job in jobs}
    for placements in result.schedule:
        used = [gpu for ids in placements.values() for gpu in ids]
        assert len(used) == len(set(used)) and all(0 <= g < cluster.num_gpus for g in used)
        for gpu_type in cluster.gpu_types:  # no type over-committed
            assert sum(cluster.type_of(g) == gpu_type for g in used) <= cluster.count(gpu_type)
        for job_id, ids in placements.items():
            spec = specs[job_id]
            assert len(ids) == spec.gpus  # the whole gang
            kinds = {cluster.type_of(g) for g in ids}
            assert len(kinds) == 1  # on one type
            assert GAVEL.lookup(spec.model, spec.batch_size, spec.gpus, kinds.pop()) > 0
    assert {r.job_id for r in result.records} == set(specs)  # every job completes
    assert result.stats["unfinished_jobs"] == 0 and result.stats["forced_completions"] == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster=clusters(), seed=st.integers(min_value=0, max_value=10_000),
       num_jobs=st.integers(min_value=1, max_value=8),
       lam_s=st.sampled_from([0.0, 60.0, 600.0, 3000.0]))
@pytest.mark.parametrize("policy", PERF)
def test_aware_policies_run_random_gavel_jobs_on_random_clusters(policy, cluster, seed,
                                                                 num_jobs, lam_s):
    widest = max(cluster.count(t) for t in cluster.gpu_types)
    jobs = [job for job in gavel_jobs(seed, num_jobs, lam_s) if job.gpus <= widest]
    if not jobs:
        return
    _check_run(_run(policy, jobs, cluster), jobs, cluster)


SMALL = Cluster.of_types([("v100", 4, 4), ("p100", 4, 4), ("k80", 4, 4)])
"""The small case: 4:4:4, 24 Gavel-style jobs of seed 3 arriving every 10 minutes on average
(gangs of 8 left out), steps divided by 10 (3 minutes to 17 hours on a V100): long enough
that the 120 s rounds and the 20 s restarts do not decide the objectives."""


@cache
def small_jobs() -> list[JobSpec]:
    return [job for job in gavel_jobs(3, 24, 600.0, 10) if job.gpus <= 4]


@cache
def small_run(policy: str) -> SimResult:
    return _run(policy, small_jobs(), SMALL)


def _worst_share(result: SimResult) -> float:
    return min(normalized_shares(result.records, alone_run_times(small_jobs(), SMALL, GAVEL)))


def _speed_efficiency(result: SimResult) -> float:
    return speed_efficiency(result.records, result.gpu_busy_s,
                            alone_run_times(small_jobs(), SMALL, GAVEL))


def _worst_rho(result: SimResult) -> float:
    return max(ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus))


def _avg_jct_s(result: SimResult) -> float:
    return sum(r.jct_s for r in result.records) / len(result.records)


def _makespan_s(result: SimResult) -> float:
    return makespan_s(result.records)


# policy, its objective, higher is better, (agnostic, aware) pinned (deterministic runs; the
# LP-based policies to their solver's tolerance). Re-pinned once, deliberately, when the aware
# LPs began to start from the last allocation's basis (heterogeneous.BasisMemory): where an LP's
# optimum is not unique another optimal vertex can be found, and the runs drift from there
# (finish-time fairness 2.008 -> 1.966, min total duration 29,300.5 -> 29,319.3 s). Again when
# max-min fairness began to solve its level and tie-break as one lexicographic LP
# (LevelProgram.lexicographic): every allocation's level and summed normalised throughput are
# the two-LP answer's to 1e-9, but 7 of its 42 allocations take another vertex of a tied
# tie-break (0.584 -> 0.779). And when finish-time fairness began to read its optimum (and
# its tie-break's shares) off an LP's basis where that basis stays optimal
# (LevelProgram.level_at), instead of a last LP at the best ratio found (within 1e-8 of it):
# 1.966 -> 2.008. The agnostic twins were re-pinned when the default mode came to keep Gavel's
# deficits to 1e-6 s (issue 10; SimConfig.deficit_resolution_s): their flat shares, spread over
# the types, leave deficits equal but for rounding, which now tie and go to job order. Moved:
# max_min_fairness 0.473 -> 0.747, finish_time_fairness 2.442 -> 1.940, min_total_duration
# 35,661.7 -> 34,008.3 s, max_sum_throughput 0.6999 -> 0.7070; no aware run moved. On this case
# the agnostic finish-time fairness's worst rho thus depends on how float ties break (2.442 or
# 1.940), and is now better than the aware policy's 2.008: the case is too small to show that
# policy's gain, which the 36:36:36 table of bench_hetero_policies.py shows (9.82 -> 4.33);
# its pins are kept, its comparison is not asserted here. Min total duration's vertices moved
# when its next allocation came to start from the largest level's basis (BasisMemory.freeze) and
# its tie-break to run the primal simplex (29,319.3 -> 29,281.7 s), and again when its rows came
# to be held in horizon units (_horizon_unit), back to 29,319.3 s; each time every allocation
# kept the horizon and the summed rate of a cold solve (to 6e-16).
PINNED = [
    ("max_min_fairness", _worst_share, True, (0.7474757011196281, 0.7791914061161066)),
    ("finish_time_fairness", _worst_rho, None, (1.9403158961146392, 2.00810952963887)),
    ("min_total_duration", _makespan_s, False, (34008.33097830803, 29319.314965719113)),
    ("max_sum_throughput", _speed_efficiency, True, (0.7069837243715283, 0.7750205987811583)),
    ("fifo", _avg_jct_s, False, (7518.73038646836, 5711.979573037855)),
    ("gandiva_fair", _worst_share, True, (0.3071617705227273, 0.831445265893727)),
]


@pytest.mark.parametrize(("policy", "objective", "higher", "pinned"), PINNED,
                         ids=[p for p, *_ in PINNED])
def test_the_aware_policy_improves_its_own_objective_on_a_small_case(policy, objective, higher,
                                                                     pinned):
    agnostic, aware = objective(small_run(policy)), objective(small_run(f"{policy}_perf"))
    _check_run(small_run(f"{policy}_perf"), small_jobs(), SMALL)
    assert (agnostic, aware) == pytest.approx(pinned, rel=1e-6)
    if higher is not None:
        assert aware > agnostic if higher else aware < agnostic
