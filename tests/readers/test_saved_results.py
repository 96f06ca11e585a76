"""Saved results (``shockwave report RESULTS.json``): checked whole when read, so a bad file
ends in one line naming the file and the JSON path of the field, never in a figure worker."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from samples import small_result

from shockwave.cli_report import load_results
from shockwave.errors import InputError
from shockwave.sim.result import result_from_json, result_to_json

DOCUMENT = result_to_json(small_result())


def _error(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_results(path)
    message = str(caught.value)
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


def _set(path: str, value: Any) -> dict:
    """DOCUMENT with the value at ``path`` (``a.0.b``: keys and list indices) replaced."""
    document = copy.deepcopy(DOCUMENT)
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("num_gpus", 0, "num_gpus: must be at least 1, got 0"),
        ("num_gpus", 1e400, "num_gpus: expected an integer, got inf"),
        ("jobs.1.id", float("inf"), "jobs[1].id: expected an integer, got inf"),
        ("jobs.1.id", 1.5, "jobs[1].id: expected an integer, got 1.5"),
        ("jobs.1.id", 7, "jobs[1].id: must be less than num_trace_jobs (3), got 7"),
        ("jobs.2.id", 0, "jobs[2].id: appears twice, got 0"),
        ("jobs.2.completion_s", float("nan"), "jobs[2].completion_s: must be finite, got nan"),
        ("jobs.2.run_time_s", 0, "jobs[2].run_time_s: must be more than 0, got 0"),
        ("jobs.2.gpus", 8, "jobs[2].gpus: must be at most num_gpus (4), got 8"),
        ("jobs.0.batch_size_timeline", [[0, "32"]],
         "jobs[0].batch_size_timeline[0][1]: expected an integer, got '32'"),
        ("policy", "p" * 300,
         "policy: must be at most 64 characters, got '" + "p" * 40 + "'..."),
        ("policy", "", "policy: must not be empty, got ''"),
        ("policy", "a\nb", "policy: must not contain control characters, got 'a\\nb'"),
        ("jobs.0.model", "Res Net", "jobs[0].model: the model name must be one word of letters, "
                                    "digits and . _ + -, got 'Res Net'"),
        ("makespan_s", float("inf"), "makespan_s: must be finite, got inf"),
        ("round_start_s", [0.0, 100.0], "round_start_s: expected 3 values (one per round of "
                                        "per_round_schedule), got 2"),
        ("round_end_s.1", "x", "round_end_s[1]: expected a number, got 'x'"),
        ("round_end_s.1", 50.0, "round_end_s[1]: must not be before the round's start 100 s, "
                                "got 50"),
        ("gpu_busy_s", [1.0], "gpu_busy_s: expected 4 values (one per GPU), got 1"),
        ("gpu_busy_s.0", True, "gpu_busy_s[0]: expected a number, got true"),
        ("per_round_schedule.0", {"x": [0]}, 'per_round_schedule[0]["x"]: keys must be job ids '
                                             '0 to 2 written in decimal, got "x"'),
        ("per_round_schedule.0", {"0": [4]},
         'per_round_schedule[0]["0"][0]: GPU id must be less than num_gpus (4), got 4'),
        ("per_round_schedule.0", {"0": [1], "1": [1]},
         'per_round_schedule[0]["1"][0]: GPU id is used twice in the round, got 1'),
        ("per_round_schedule.0", {"0": []},
         'per_round_schedule[0]["0"]: a job placed in a round holds at least one GPU'),
        ("per_round_schedule.0", [[0]], "per_round_schedule[0]: expected an object, got a list"),
        ("num_trace_jobs", 2, "jobs: has 3 jobs but num_trace_jobs is 2"),
    ],
)
def test_bad_fields_are_named_by_their_json_path(tmp_path: Path, path: str, value: Any,
                                                 message: str) -> None:
    assert _error(tmp_path, _set(path, value)) == message


def test_missing_fields_say_what_the_file_should_be(tmp_path: Path) -> None:
    document = copy.deepcopy(DOCUMENT)
    del document["per_round_schedule"]
    assert _error(tmp_path, document) == (
        "per_round_schedule: missing field (expected the output of 'shockwave simulate --json')")


def test_results_inside_a_report_file_are_named_by_their_position(tmp_path: Path) -> None:
    report = {"generated_by": "shockwave report", "results": [DOCUMENT, _set("num_gpus", 0)]}
    assert _error(tmp_path, report) == "results[1].num_gpus: must be at least 1, got 0"
    assert _error(tmp_path, [DOCUMENT, 5]) == (
        "[1]: not a simulation result (expected a JSON object)")


def test_a_saved_result_round_trips_byte_for_byte(tmp_path: Path) -> None:
    text = json.dumps(DOCUMENT)
    path = tmp_path / "r.json"
    path.write_text("\ufeff" + text, encoding="utf-8")  # a byte-order mark is ignored
    (again,) = load_results(path)
    assert again == small_result()
    assert json.dumps(result_to_json(again)) == text


def test_unread_keys_are_ignored() -> None:
    document = {**DOCUMENT, "avg_jct_s": "not read", "future_key": [1]}
    assert result_from_json(document) == small_result()


def test_python_callers_get_the_path_without_a_file() -> None:
    with pytest.raises(InputError) as caught:
        result_from_json(_set("jobs.0.arrival_s", -1))
    assert str(caught.value) == "jobs[0].arrival_s: must be at least 0, got -1"
