"""Metrics against hand-computed values (SPEC 5)."""

from __future__ import annotations

import pytest

from shockwave.metrics import (
    active_jobs_per_round,
    ftf_rho,
    lease_extension_pct,
    makespan_lower_bound_s,
    makespan_s,
    slowdowns,
    summarize,
    themis_rhos,
    unfair_fraction_pct,
    utilization,
)
from shockwave.sim.result import JobRecord, SimResult, result_from_json, result_to_json


def _record(job_id: int, arrival: float, completion: float, run_time: float) -> JobRecord:
    return JobRecord(job_id, "LM", 10, 1, "static", arrival, completion, run_time)


RECORDS = (
    _record(0, 0.0, 100.0, 50.0),    # jct 100, rho = 100 / (50 * 2) = 1.0
    _record(1, 10.0, 250.0, 60.0),   # jct 240, rho = 240 / 120 = 2.0
    _record(2, 20.0, 120.0, 100.0),  # jct 100, rho = 0.5
    _record(3, 30.0, 240.0, 100.0),  # jct 210, rho = 1.05 (not unfair: threshold is strict)
)


def _result() -> SimResult:
    schedule = ({0: (0,), 1: (1,)}, {0: (0,), 2: (1,)}, {1: (0,), 3: (1,)}, {1: (0,), 3: (1,)})
    return SimResult(
        policy="fifo", num_gpus=2, records=RECORDS, schedule=schedule,
        round_start_s=(0.0, 100.0, 120.0, 200.0), round_end_s=(100.0, 120.0, 200.0, 250.0),
        gpu_busy_s=(200.0, 100.0), makespan_s=250.0, num_trace_jobs=4,
    )


def test_rho_uses_the_static_contention_factor():
    assert ftf_rho(RECORDS[0], num_jobs=4, num_gpus=2) == pytest.approx(1.0)
    assert ftf_rho(RECORDS[1], num_jobs=4, num_gpus=2) == pytest.approx(2.0)
    assert ftf_rho(RECORDS[0], num_jobs=1, num_gpus=2) == pytest.approx(2.0)  # max(1, N/G) = 1


def test_unfair_fraction_counts_rho_strictly_above_threshold():
    assert unfair_fraction_pct([1.0, 2.0, 0.5, 1.05]) == 25.0


def test_summary_on_a_hand_computed_run():
    summary = summarize(_result())
    assert summary.makespan_s == 250.0 == makespan_s(RECORDS)
    assert summary.avg_jct_s == pytest.approx((100 + 240 + 100 + 210) / 4)
    assert summary.p50_jct_s == pytest.approx(155.0)
    assert summary.worst_ftf_rho == pytest.approx(2.0)
    assert summary.unfair_fraction_pct == 25.0
    assert summary.cluster_util == pytest.approx((200 / 250 + 100 / 250) / 2)
    assert summary.rounds == 4
    assert summary.worst_themis_rho == pytest.approx(240 / 70)
    assert summary.max_slowdown == pytest.approx(4.0)
    # Lower bound: job 1's path, 10 + 60 = 70; the work from t = 0, 0 + 310 / 2 = 155; from
    # t = 10, 10 + 260 / 2 = 140: 155.
    assert summary.makespan_over_lb == pytest.approx(250 / 155)
    assert all(type(v) in (float, int) for v in summary.as_dict().values())  # JSON, CSV: no numpy


def test_themis_rho_divides_by_the_contention_each_job_met():
    """Jobs in the system at the round starts 0, 100, 120, 200: 1, 3, 2, 2. Job 0 lived through
    round 0 (1 job: factor 1), job 2 through round 1 (3 jobs on 2 GPUs: 1.5), jobs 1 and 3
    through rounds 1-3 (mean 7/3 jobs: 7/6); the static factor is 4/2 = 2 for all."""
    starts = (0.0, 100.0, 120.0, 200.0)
    assert list(active_jobs_per_round(RECORDS, starts)) == [1.0, 3.0, 2.0, 2.0]
    assert themis_rhos(RECORDS, starts, num_gpus=2) == pytest.approx(
        [100 / 50, 240 / (60 * 7 / 6), 100 / (100 * 1.5), 210 / (100 * 7 / 6)])
    assert slowdowns(RECORDS) == pytest.approx([2.0, 4.0, 1.0, 2.1])


def test_themis_rho_of_a_job_with_no_round_in_its_life_is_its_slowdown():
    assert themis_rhos(RECORDS[:1], (), num_gpus=2) == pytest.approx([2.0])
    assert themis_rhos((), (0.0,), num_gpus=2) == []


def test_lease_extensions_ignore_jobs_that_finished():
    # Round 1 (starts at 100): job 0 finished at 100, no opportunity; job 1 not placed -> 0 of 1.
    # Round 2 (120): job 0 and job 2 (done at 120) finished -> no opportunity.
    # Round 3 (200): jobs 1 and 3 keep their GPUs -> 2 of 2.
    r = _result()
    completion = {rec.job_id: rec.completion_s for rec in RECORDS}
    assert lease_extension_pct(r.schedule, r.round_start_s, completion) == pytest.approx(200 / 3)
    assert lease_extension_pct(r.schedule) == pytest.approx(100 * 3 / 6)


def test_utilization_of_an_idle_cluster_is_zero():
    assert utilization([0.0, 0.0], 100.0) == 0.0
    assert utilization([], 0.0) == 0.0


def test_json_round_trip_keeps_every_metric():
    result = _result()
    again = result_from_json(result_to_json(result))
    assert summarize(again) == summarize(result)
    assert again.schedule == result.schedule


def test_the_makespan_lower_bound_takes_release_times_and_critical_paths():
    # Critical paths 50, 40, 30 and 140; the work from each arrival on: 0 + 170 / 2, 10 + 120 / 2,
    # 100 + 40 / 2. The last job's own path decides: 140.
    assert makespan_lower_bound_s([0, 10, 10, 100], [1, 2, 1, 1], [50, 30, 20, 40], 2) == 140.0
    # Two long jobs that arrive late on one GPU: 100 + 120 beats every critical path (160) and
    # all the work from t = 0 (130).
    assert makespan_lower_bound_s([100, 0, 100], [1, 1, 1], [60, 10, 60], 1) == 220.0
    assert makespan_lower_bound_s([], [], [], 4) == 0.0
