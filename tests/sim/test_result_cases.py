"""Saved results read back by ``result_from_json``: errors name the file and the JSON path
inside the result's own place in its file (``results[1].jobs[0].id``), and every boundary of
the consistency checks is where docs/results.md puts it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shockwave.errors import InputError
from shockwave.sim.result import JobRecord, SimResult, result_from_json, result_to_json

RECORDS = (
    JobRecord(0, "LM", 10, 1, "static", 0.0, 100.0, 50.0),
    JobRecord(1, "LM", 10, 2, "static", 10.0, 10.0, 60.0),  # completes at its arrival: allowed
)
RESULT = SimResult(
    policy="fifo", num_gpus=2, records=RECORDS, schedule=({0: (0,)}, {1: (1, 0)}),
    round_start_s=(0.0, 100.0), round_end_s=(100.0, 100.0), gpu_busy_s=(100.0, 0.0),
    makespan_s=100.0, num_trace_jobs=3,
)
DOCUMENT = result_to_json(RESULT)


def error(document: Any, **kw: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        result_from_json(document, **kw)
    return caught.value


def changed(**fields: Any) -> dict:
    document = copy.deepcopy(DOCUMENT)
    document.update(fields)
    return document


def test_a_saved_result_reads_back_as_it_was():
    again = result_from_json(copy.deepcopy(DOCUMENT))
    assert again.records == RESULT.records
    assert again.schedule == RESULT.schedule
    assert again.round_end_s == (100.0, 100.0)  # a round may end when it starts


def test_errors_name_the_file_and_the_path_inside_the_results_place():
    document = changed(num_gpus=0)
    err = error(document, source="runs.json", prefix="results[1]")
    assert str(err) == "runs.json: results[1].num_gpus: must be at least 1, got 0"
    assert err.path == "runs.json" and err.field == "results[1].num_gpus"
    err = error(document, source="runs.json")
    assert str(err) == "runs.json: num_gpus: must be at least 1, got 0"
    err = error(document)
    assert str(err) == "num_gpus: must be at least 1, got 0"


def test_paths_inside_lists_join_without_a_dot():
    jobs = copy.deepcopy(DOCUMENT["jobs"])
    jobs[0]["id"] = 1
    err = error(changed(jobs=jobs), source="r.json", prefix="results[0]")
    assert str(err) == "r.json: results[0].jobs[1].id: appears twice, got 1"
    err = error([1, 2], source="r.json", prefix="results[2]")
    assert str(err) == "r.json: results[2]: not a simulation result (expected a JSON object)"
    err = error("text", source="r.json")
    assert str(err) == "r.json: not a simulation result (expected a JSON object)"


def test_consistency_errors_name_the_file_too():
    err = error(changed(round_end_s=[100.0, 99.0]), source="r.json", prefix="results[3]")
    assert str(err) == ("r.json: results[3].round_end_s[1]: must not be before the round's "
                        "start 100 s, got 99")


def test_job_ids_must_be_below_the_trace_size():
    jobs = copy.deepcopy(DOCUMENT["jobs"])
    jobs[1]["id"] = 3
    assert str(error(changed(jobs=jobs))) == (
        "jobs[1].id: must be less than num_trace_jobs (3), got 3")
    jobs[1]["id"] = 2
    assert result_from_json(changed(jobs=jobs)).records[1].job_id == 2


def test_a_gang_as_wide_as_the_cluster_is_fine_one_wider_is_not():
    jobs = copy.deepcopy(DOCUMENT["jobs"])
    assert jobs[1]["gpus"] == 2 == DOCUMENT["num_gpus"]
    jobs[1]["gpus"] = 3
    assert str(error(changed(jobs=jobs))) == "jobs[1].gpus: must be at most num_gpus (2), got 3"


def test_completion_before_arrival_is_refused():
    jobs = copy.deepcopy(DOCUMENT["jobs"])
    jobs[1]["completion_s"] = 9.5
    assert str(error(changed(jobs=jobs))) == (
        "jobs[1].completion_s: must not be before the job's arrival 10 s, got 9.5")


def test_schedule_keys_are_job_ids_below_the_trace_size():
    schedule = copy.deepcopy(DOCUMENT["per_round_schedule"])
    schedule[0] = {"2": [0]}
    assert result_from_json(changed(per_round_schedule=schedule)).schedule[0] == {2: (0,)}
    schedule[0] = {"3": [0]}
    assert str(error(changed(per_round_schedule=schedule))) == (
        'per_round_schedule[0]["3"]: keys must be job ids 0 to 2 written in decimal, got "3"')
    key = "9" * 60
    schedule[0] = {key: [0]}
    assert str(error(changed(per_round_schedule=schedule))).endswith(
        f'written in decimal, got "{"9" * 39}')


def test_a_job_that_is_not_an_object_is_named_as_such():
    jobs = copy.deepcopy(DOCUMENT["jobs"])
    jobs[0] = 5
    assert str(error(changed(jobs=jobs))) == "jobs[0]: expected an object, got 5"
