"""Metrics edge cases and the less-travelled fields, by hand (docs/results.md): empty runs,
percentiles, the contention factor, utilisation and lease extensions."""

from __future__ import annotations

import pytest

from shockwave.metrics import (
    UNFAIR_RHO,
    Summary,
    fair_share_factor,
    ftf_rhos,
    jcts_s,
    lease_extension_pct,
    makespan_s,
    summarize,
    unfair_fraction_pct,
    utilization,
)
from shockwave.sim.result import JobRecord, SimResult


def _record(job_id: int, arrival: float, completion: float, run_time: float) -> JobRecord:
    return JobRecord(job_id, "LM", 10, 1, "static", arrival, completion, run_time)


def _result(records: tuple[JobRecord, ...], num_gpus: int = 2, **kw) -> SimResult:
    return SimResult(policy="fifo", num_gpus=num_gpus, records=records,
                     schedule=kw.get("schedule", ()), round_start_s=kw.get("starts", ()),
                     round_end_s=kw.get("ends", ()), gpu_busy_s=kw.get("busy", ()),
                     makespan_s=0.0, num_trace_jobs=kw.get("num_trace_jobs", len(records)))


def test_an_empty_run_has_zero_everywhere():
    summary = summarize(_result(()))
    assert makespan_s(()) == 0.0
    assert summary == Summary(makespan_s=0.0, makespan_over_lb=0.0, avg_jct_s=0.0, p50_jct_s=0.0, p99_jct_s=0.0,
                              worst_ftf_rho=0.0, worst_themis_rho=0.0, max_slowdown=0.0,
                              unfair_fraction_pct=0.0, cluster_util=0.0,
                              rounds=0, lease_extension_pct=0.0, jobs_completed=0)
    assert unfair_fraction_pct([]) == 0.0


def test_makespan_counts_from_time_zero_not_from_the_first_arrival():
    records = (_record(0, 500.0, 700.0, 200.0), _record(1, 600.0, 650.0, 50.0))
    assert makespan_s(records) == 700.0
    assert list(jcts_s(records)) == [200.0, 50.0]


def test_percentiles_interpolate_linearly_like_numpy():
    # JCTs 10, 20, ..., 100: p50 = 55, p99 = 91 + 0.91 * 9 = 99.1.
    records = tuple(_record(i, 0.0, 10.0 * (i + 1), 10.0 * (i + 1)) for i in range(10))
    summary = summarize(_result(records, num_gpus=10))
    assert summary.avg_jct_s == pytest.approx(55.0)
    assert summary.p50_jct_s == pytest.approx(55.0)
    assert summary.p99_jct_s == pytest.approx(99.1)
    assert summary.jobs_completed == 10
    # Every job ran alone (JCT = run time) with N = G: rho is exactly 1 for all, none unfair.
    assert summary.worst_ftf_rho == pytest.approx(1.0)
    assert summary.unfair_fraction_pct == 0.0


def test_contention_factor_is_jobs_over_gpus_but_never_below_one():
    assert fair_share_factor(8, 4) == 2.0
    assert fair_share_factor(3, 4) == 1.0
    assert fair_share_factor(4, 4) == 1.0
    assert fair_share_factor(5, 4) == 1.25


def test_rho_uses_the_trace_size_and_the_gpu_count_given():
    # One record of a 6-job trace on 2 GPUs: factor 3; jct 90, T_j 10 -> rho 3.
    records = (_record(0, 10.0, 100.0, 10.0),)
    assert ftf_rhos(records, 6, 2) == [pytest.approx(3.0)]
    summary = summarize(_result(records, num_gpus=2, num_trace_jobs=6))
    assert summary.worst_ftf_rho == pytest.approx(3.0)
    assert summary.unfair_fraction_pct == 100.0


def test_the_worst_rho_is_the_maximum_not_the_last_or_first():
    records = (_record(0, 0.0, 10.0, 10.0), _record(1, 0.0, 40.0, 10.0),
               _record(2, 0.0, 20.0, 10.0))
    assert summarize(_result(records, num_gpus=3)).worst_ftf_rho == pytest.approx(4.0)


def test_unfair_threshold_is_the_papers():
    assert UNFAIR_RHO == 1.05
    assert unfair_fraction_pct([1.0500001, 1.05, 0.2, 3.0]) == 50.0
    assert unfair_fraction_pct([2.0, 2.0], threshold=2.0) == 0.0
    assert unfair_fraction_pct([2.0, 1.0, 1.0, 1.0, 1.0], threshold=1.5) == 20.0


def test_utilization_is_the_mean_busy_share_over_the_makespan():
    assert utilization([50.0, 100.0, 0.0, 50.0], 100.0) == pytest.approx(0.5)
    assert utilization([3.0], 4.0) == pytest.approx(0.75)
    assert utilization([1.0, 1.0], 0.0) == 0.0
    assert utilization([1.0, 1.0], -5.0) == 0.0
    assert utilization([], 10.0) == 0.0
    assert isinstance(utilization([3.0], 4.0), float)


def test_cluster_utilization_in_the_summary_divides_by_the_makespan_of_the_records():
    records = (_record(0, 0.0, 200.0, 100.0),)
    summary = summarize(_result(records, num_gpus=2, busy=(200.0, 50.0)))
    assert summary.cluster_util == pytest.approx((1.0 + 0.25) / 2)


def test_lease_extensions_without_times_count_every_placement():
    schedule = ({0: (0, 1), 1: (2,)}, {0: (1, 0), 1: (3,)}, {0: (1, 0)}, {})
    # r1: job 0 keeps {0, 1} (order does not matter), job 1 moves -> 1 of 2.
    # r2: job 0 keeps, job 1 not placed -> 1 of 2. r3: job 0 not placed -> 0 of 1.
    assert lease_extension_pct(schedule) == pytest.approx(100 * 2 / 5)
    assert lease_extension_pct(()) == 0.0
    assert lease_extension_pct(({0: (0,)},)) == 0.0
    assert lease_extension_pct(({0: (0,)}, {0: (0,)})) == 100.0


def test_a_job_finishing_exactly_at_the_round_start_is_no_opportunity():
    schedule = ({0: (0,), 1: (1,)}, {1: (1,)})
    starts = (0.0, 100.0)
    # Job 0 completes exactly at 100 s, when round 1 starts: not an opportunity.
    assert lease_extension_pct(schedule, starts, {0: 100.0, 1: 300.0}) == 100.0
    # Job 0 still running at 100 s and not given its GPU again: an opportunity missed.
    assert lease_extension_pct(schedule, starts, {0: 100.5, 1: 300.0}) == 50.0
    # A job without a completion time counts as still running.
    assert lease_extension_pct(schedule, starts, {1: 300.0}) == 50.0
    # Times count only when both are given.
    assert lease_extension_pct(schedule, starts, None) == 50.0
    assert lease_extension_pct(schedule, None, {0: 100.0, 1: 300.0}) == 50.0


def test_summary_lease_extensions_use_round_starts_and_completions():
    records = (_record(0, 0.0, 100.0, 100.0), _record(1, 0.0, 250.0, 250.0))
    schedule = ({0: (0,), 1: (1,)}, {1: (1,)}, {1: (0,)})
    result = _result(records, schedule=schedule, starts=(0.0, 100.0, 200.0),
                     ends=(100.0, 200.0, 250.0), busy=(200.0, 250.0))
    # r1: job 0 done at 100 -> skipped; job 1 keeps GPU 1. r2: job 1 moves to GPU 0 -> 1 of 2.
    summary = summarize(result)
    assert summary.lease_extension_pct == 50.0
    assert summary.rounds == 3


def test_summary_as_dict_has_every_field_by_name():
    records = (_record(0, 0.0, 100.0, 50.0),)
    summary = summarize(_result(records, num_gpus=1, busy=(50.0,)))
    assert summary.as_dict() == {
        "makespan_s": 100.0, "makespan_over_lb": 2.0, "avg_jct_s": 100.0, "p50_jct_s": 100.0, "p99_jct_s": 100.0,
        "worst_ftf_rho": 2.0, "worst_themis_rho": 2.0, "max_slowdown": 2.0,
        "unfair_fraction_pct": 100.0, "cluster_util": 0.5, "rounds": 0,
        "lease_extension_pct": 0.0, "jobs_completed": 1,
    }


def test_a_makespan_under_one_second_still_has_a_utilization():
    assert utilization([0.25, 0.5], 0.5) == pytest.approx(0.75)
