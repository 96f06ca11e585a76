"""A real run's result from the service's records: hand-made API answers (``GET /v1/jobs/{id}``,
``/v1/rounds``) in, the exact ``simulate --json`` values out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shockwave.replay.records import (
    MissingMeasurement,
    ServiceRecords,
    batch_size_segments,
    build_result,
    measured_run_time_s,
    measured_speed,
    real_policy_name,
    table_run_time_s,
)
from shockwave.report.runs import make_runs
from shockwave.report.style import policy_label
from shockwave.sim.result import result_from_json, result_to_json
from shockwave.traces.trace import parse_trace_text

TRACE = parse_trace_text(
    '{"model": "ResNet-18", "batch_size": 32, "total_steps": 96, "arrival_s": 0}\n'
    '{"model": "ResNet-50", "batch_size": 64, "gpus": 2, "mode": "gns", "total_steps": 64, '
    '"arrival_s": 20}\n'
    '{"model": "Recommendation", "batch_size": 512, "total_steps": 6, "arrival_s": 30}\n',
    source="t.jsonl")
START_S = 100.0


def attempt(slots: list[int], started: float | None, ended: float | None, outcome: str | None,
            start_samples: int = 0, samples: int | None = None, speed: float | None = None,
            batch_sizes: list[dict[str, int]] | None = None) -> dict[str, Any]:
    return {"slots": slots, "started_s": started, "ended_s": ended, "outcome": outcome,
            "start_samples": start_samples, "samples": samples, "samples_per_s": speed,
            "batch_sizes": batch_sizes or []}


def job(job_id: int, state: str, submitted: float, finished: float | None, batch_size: int,
        samples: int, attempts: list[dict[str, Any]], speed: float | None = None,
        approved: list[tuple[float, int]] = ()) -> dict[str, Any]:
    """A job as ``GET /v1/jobs/{id}`` gives it; ``approved``: (time, size) of approvals."""
    history = [{"at_s": submitted, "round_index": None, "batch_size": batch_size}]
    history += [{"at_s": at, "round_index": 3, "batch_size": size} for at, size in approved]
    return {"id": job_id, "name": f"trace-{job_id}", "state": state, "submitted_s": submitted,
            "finished_s": finished, "spec": {"batch_size": batch_size},
            "progress": {"samples": samples}, "samples_per_s": speed, "attempts": attempts,
            "batch_sizes": history}


JOBS = {
    # Preempted once (yielded at 1024 samples), then completed: two measured speeds.
    0: job(7, "COMPLETED", 100.5, 120.0, 32, 3072, [
        attempt([0], 101.0, 105.0, "yielded", 0, 1024, 512.0),
        attempt([0], 110.0, 120.0, "completed", 1024, 3072, 1024.0)], speed=1024.0),
    # A 2-GPU gang that doubled its batch size after 1024 samples.
    1: job(8, "COMPLETED", 102.0, 130.0, 64, 4096, [
        attempt([0, 1], 121.0, 130.0, "completed", 0, 4096, 2048.0,
                [{"samples": 0, "batch_size": 64}, {"samples": 1024, "batch_size": 128}])],
        approved=[(125.0, 128), (126.0, 128)]),  # a repeated approval adds nothing
    2: job(9, "FAILED", 103.0, 111.0, 512, 0, [attempt([1], 105.0, 111.0, "failed", 0, 0)]),
}


def round_row(index: int, start: float, end: float, placements: dict[str, list[int]]) -> dict:
    return {"index": index, "start_s": start, "end_s": end, "placements": placements,
            "kept": [], "revoked": [], "added": [], "decision_s": 0.0, "bookkeeping_s": 0.0}


ROUNDS = [
    round_row(5, 100.5, 103.5, {"7": [0]}),
    round_row(6, 103.5, 106.5, {"7": [0], "9": [1]}),
    round_row(7, 110.0, 113.0, {"7": [0], "42": [1]}),  # 42: a job that is not the replay's
    round_row(8, 121.0, 124.0, {"8": [0, 1]}),
    round_row(9, 124.0, 127.0, {"8": [0, 1]}),
    round_row(10, 127.0, 133.0, {"8": [0, 1]}),
    round_row(11, 131.0, 134.0, {}),  # after the last job ended: not the replay's
]
RECORDS = ServiceRecords(start_s=START_S, num_gpus=2, jobs=JOBS, rounds=ROUNDS)
INPUTS = {"run": "real", "trace": "t.jsonl", "policy": "gavel"}


def test_the_replay_becomes_a_result_with_times_since_its_start() -> None:
    result = build_result(TRACE, RECORDS, policy="gavel", inputs=INPUTS)
    data = result_to_json(result)
    assert data["policy"] == "max_min_fairness (real)"
    assert (data["num_gpus"], data["num_trace_jobs"], data["inputs"]) == (2, 3, INPUTS)
    first, second = data["jobs"]
    assert {k: first[k] for k in ("id", "model", "batch_size", "gpus", "mode", "arrival_s",
                                  "completion_s", "run_time_s", "attained_s",
                                  "batch_size_timeline")} == {
        "id": 0, "model": "ResNet-18", "batch_size": 32, "gpus": 1, "mode": "static",
        "arrival_s": 0.5, "completion_s": 20.0, "run_time_s": 4.0, "attained_s": 14.0,
        "batch_size_timeline": [[0.5, 32]]}
    assert {k: second[k] for k in ("id", "model", "batch_size", "gpus", "mode", "arrival_s",
                                   "completion_s", "run_time_s", "attained_s",
                                   "batch_size_timeline")} == {
        "id": 1, "model": "ResNet-50", "batch_size": 64, "gpus": 2, "mode": "gns",
        "arrival_s": 2.0, "completion_s": 30.0, "run_time_s": 2.0, "attained_s": 9.0,
        "batch_size_timeline": [[2.0, 64], [25.0, 128]]}
    assert data["gpu_busy_s"] == [4.0 + 10.0 + 9.0, 9.0 + 6.0]
    assert data["makespan_s"] == 30.0
    assert data["round_start_s"] == [0.5, 3.5, 10.0, 21.0, 24.0, 27.0]
    assert data["round_end_s"] == [3.5, 6.5, 13.0, 24.0, 27.0, 30.0]
    assert data["per_round_schedule"] == [{"0": [0]}, {"0": [0], "2": [1]}, {"0": [0]},
                                          {"1": [0, 1]}, {"1": [0, 1]}, {"1": [0, 1]}]
    assert data["stats"] == {
        "attempts": 4, "restarts": 1, "preemptions": 1, "failed_attempts": 1,
        "lost_attempts": 0, "batch_size_changes": 1, "unfinished_jobs": 1, "failed_jobs": 1,
        "cancelled_jobs": 0, "other_jobs": 1, "measured_run_times": 2}


def test_the_result_reads_back_as_a_simulation_result() -> None:
    result = build_result(TRACE, RECORDS, policy="fifo", inputs=INPUTS)
    text = json.dumps(result_to_json(result))
    again = result_from_json(json.loads(text), source="real.json")
    assert again == result


def test_a_profile_table_gives_the_run_time_over_each_batch_size_stretch() -> None:
    rates = {(1, 64): 10.0, (1, 128): 8.0}  # job 0's workload is not in the table
    result = build_result(TRACE, RECORDS, policy="fifo", inputs=INPUTS,
                          rate_of=lambda index, size: rates.get((index, size)))
    # 1024 samples at 64 x 10 samples/s, 3072 at 128 x 8; job 0 falls back to its speed.
    assert [r.run_time_s for r in result.records] == [4.0, 1024 / 640 + 3072 / 1024]
    assert result.stats["measured_run_times"] == 1


def test_batch_size_stretches_start_at_the_submitted_size_and_end_at_the_samples_trained() -> None:
    done = JOBS[1]
    assert batch_size_segments(done) == [(1024, 64), (3072, 128)]
    late = {**done, "attempts": [attempt([0], 0.0, 1.0, "completed", 0, 4096, 1.0,
                                         [{"samples": 1000, "batch_size": 128},
                                          {"samples": 5000, "batch_size": 256}])]}
    assert batch_size_segments(late) == [(1000, 64), (3096, 128)]
    assert batch_size_segments(JOBS[0]) == [(3072, 32)]
    assert table_run_time_s(JOBS[0], {32: 16.0}.get) == 3072 / (32 * 16.0)
    assert table_run_time_s(JOBS[1], {64: 10.0}.get) is None
    assert table_run_time_s({**JOBS[0], "progress": {"samples": 0}}, {32: 16.0}.get) is None


def test_the_measured_speed_weighs_each_attempt_by_its_work() -> None:
    assert measured_speed(JOBS[0]) == 3072 / (1024 / 512 + 2048 / 1024)
    unmeasured = job(1, "COMPLETED", 0.0, 9.0, 8, 800,
                     [attempt([0], 1.0, 3.0, "yielded", 0, 400), attempt([0], 4.0, 9.0,
                                                                          "completed", 0, 800)],
                     speed=200.0)
    assert measured_speed(unmeasured) == 200.0
    assert measured_run_time_s(unmeasured) == 4.0
    silent = {**unmeasured, "samples_per_s": None}
    assert measured_speed(silent) is None
    assert measured_run_time_s(silent) == 2.0 + 5.0  # the time it held its slots
    with pytest.raises(MissingMeasurement, match="job 1 .* without a measured speed"):
        measured_run_time_s({**silent, "attempts": [attempt([0], None, None, "lost")]})


def test_a_real_run_is_labelled_apart_from_a_simulation_of_the_same_policy() -> None:
    assert real_policy_name("Gavel ") == "max_min_fairness (real)"
    assert real_policy_name("shockwave") == "shockwave (real)"
    assert policy_label("shockwave (real)") == "Shockwave (real)"
    assert policy_label("max_min_fairness") == "Gavel"
    real = build_result(TRACE, RECORDS, policy="shockwave", inputs=INPUTS)
    simulated = build_result(TRACE, RECORDS, policy="shockwave", inputs=INPUTS)
    simulated = type(simulated)(**{**simulated.__dict__, "policy": "shockwave"})
    runs = make_runs([simulated, real])
    assert [(run.key, run.label) for run in runs] == [("shockwave", "Shockwave"),
                                                      ("shockwave_real", "Shockwave (real)")]
