"""Issue 8's reproduced trace problems, each with the exact message it now ends in.

A bad value ends in one line, ``FILE:LINE: FIELD: what is wrong``, naming the bound it breaks;
the reference (TSV) and JSON Lines readers refuse exactly the same values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from shockwave.errors import InputError
from shockwave.limits import MAX_EPOCHS
from shockwave.model import JobSpec
from shockwave.traces import load_trace
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.trace import from_jobs
from shockwave.traces.tsv import FIELDS, format_tsv, parse_tsv
from shockwave.workload.adaptation import build_profile, load_workload_facts
from shockwave.workload.throughput import load_throughputs

# The canonical trace's first job, field by field.
LM = ["LM (batch size 10)", "python3 main.py --cuda --data %s/wikitext2 --batch_size 10",
      "language_modeling", "--steps", "1", "134583", "1", "gns", "1", "-1.000000", "1418", "0"]
JOB = {"model": "LM", "batch_size": 10, "gpus": 1, "mode": "gns", "total_steps": 134583,
       "duration_s": 1418, "arrival_s": 0, "priority_weight": 1, "slo": -1,
       "command": LM[1], "working_directory": LM[2], "num_steps_arg": LM[3],
       "needs_data_dir": True}


def tsv(**changes: str) -> str:
    """The LM line with some fields (by reference column name) replaced."""
    fields = list(LM)
    for name, value in changes.items():
        fields[FIELDS.index(name)] = value
    return "\t".join(fields) + "\n"


def jsonl(**changes: object) -> str:
    return json.dumps({**JOB, **changes}) + "\n"


def tsv_error(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_tsv(text, source="t.trace")
    return str(caught.value)


def jsonl_error(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_jsonl(text, source="t.jsonl")
    return str(caught.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arrival_time": "1.8e308"}, "arrival_time: must be finite, got inf"),
        ({"arrival_time": "1e13"}, "arrival_time: must be at most 1e+12 s, got 1e+13"),
        ({"arrival_time": "1.7e308"}, "arrival_time: must be at most 1e+12 s, got 1.7e+308"),
        ({"arrival_time": "१२"}, "arrival_time: expected a number, got '१२'"),
        ({"arrival_time": "1_0"}, "arrival_time: expected a number, got '1_0'"),
        ({"total_steps": "१२"}, "total_steps: expected an integer, got '१२'"),
        ({"scale_factor": "２"}, "scale_factor: expected an integer, got '２'"),
        ({"job_type": "LM (batch size १०)"},
         "job_type: expected 'Model (batch size N)', got 'LM (batch size १०)'"),
        ({"total_steps": "1" * 300},
         "total_steps: must be at most 1e+12, got an integer of 300 digits"),
        ({"total_steps": "1" * 5000},
         "total_steps: expected an integer of at most 4000 digits, got '" + "1" * 40 + "'..."),
        ({"total_steps": "10000000000000"},
         "total_steps: must be at most 1e+12, got 10000000000000"),
        ({"priority_weight": "0"}, "priority_weight: must be more than 0, got 0.0"),
        ({"priority_weight": "2e6"}, "priority_weight: must be at most 1e+06, got 2e+06"),
        ({"SLO": "nan"}, "SLO: must be finite, got nan"),
        ({"scale_factor": "100001"}, "scale_factor: must be at most 100000, got 100001"),
        ({"job_type": "LM (batch size 0)"}, "job_type: the batch size must be at least 1, got 0"),
        ({"job_type": "L\u00e9M (batch size 10)"},
         "job_type: the model name must be one word of letters, digits and . _ + -, got 'LéM'"),
        ({"duration": "-1"}, "duration: must be at least 0 s, got -1.0"),
        ({"mode": "elastic"}, "mode: expected one of static, accordion, gns, got 'elastic'"),
    ],
)
def test_reference_values_are_refused_with_a_located_message(changes: dict, message: str) -> None:
    assert tsv_error(tsv(**changes)) == f"t.trace:1: {message}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"arrival_s": 1e13}, "arrival_s: must be at most 1e+12 s, got 1e+13"),
        ({"arrival_s": float("inf")}, "arrival_s: must be finite, got inf"),
        ({"total_steps": 10**15}, "total_steps: must be at most 1e+12, got 1000000000000000"),
        ({"total_steps": 10**300},
         "total_steps: must be at most 1e+12, got an integer of 301 digits"),
        ({"priority_weight": 0}, "priority_weight: must be more than 0, got 0"),
        ({"slo": float("nan")}, "slo: must be finite, got nan"),
        ({"gpus": 100001}, "gpus: must be at most 100000, got 100001"),
        ({"batch_size": 2**20 + 1}, "batch_size: must be at most 1.04858e+06, got 1048577"),
        ({"model": "x" * 65}, "model: must be at most 64 characters, got '" + "x" * 40 + "'..."),
        ({"gpus": True}, "gpus: expected an integer, got true"),
    ],
)
def test_jsonl_values_are_refused_with_a_located_message(changes: dict, message: str) -> None:
    assert jsonl_error(jsonl(**changes)) == f"t.jsonl:1: {message}"


def test_jsonl_integer_beyond_pythons_digit_limit_is_a_located_error() -> None:
    text = '{"model": "LM", "batch_size": 10, "arrival_s": 0, "total_steps": ' + "1" * 5000 + "}"
    assert jsonl_error(text) == "t.jsonl:1: line: not valid JSON: an integer has too many digits"


@pytest.mark.parametrize("text", [tsv(), jsonl()])
def test_a_leading_byte_order_mark_is_ignored(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bom.trace"
    path.write_text(text, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    job = load_trace(path).jobs[0]
    assert (job.model, job.job_type) == ("LM", "LM (batch size 10)")


# One value per field at, just inside and just outside each bound, in both formats' spelling:
# (reference column, its text, JSON key, its value).
SAME_VALUES = [
    ("arrival_time", "1000000000000", "arrival_s", 10**12),
    ("arrival_time", "1000000000000.5", "arrival_s", 1e12 + 0.5),
    ("arrival_time", "-0.5", "arrival_s", -0.5),
    ("duration", "0", "duration_s", 0),
    ("duration", "1e12", "duration_s", 1e12),
    ("duration", "1.1e12", "duration_s", 1.1e12),
    ("total_steps", "1", "total_steps", 1),
    ("total_steps", "0", "total_steps", 0),
    ("total_steps", "1000000000000", "total_steps", 10**12),
    ("total_steps", "1000000000001", "total_steps", 10**12 + 1),
    ("total_steps", "5.0", "total_steps", 5.0),
    ("scale_factor", "100000", "gpus", 100000),
    ("scale_factor", "0", "gpus", 0),
    ("priority_weight", "1e-300", "priority_weight", 1e-300),
    ("priority_weight", "1000000", "priority_weight", 10**6),
    ("priority_weight", "-1", "priority_weight", -1),
    ("SLO", "1000000", "slo", 10**6),
    ("SLO", "1000001", "slo", 1000001),
    ("SLO", "-5", "slo", -5),
    ("SLO", "inf", "slo", float("inf")),
    ("mode", "static", "mode", "static"),
    ("mode", "Static", "mode", "Static"),
]


@pytest.mark.parametrize(("column", "text", "key", "value"), SAME_VALUES)
def test_both_formats_accept_exactly_the_same_values(column: str, text: str, key: str,
                                                     value: object) -> None:
    outcomes: list[object] = []
    for parse, content in ((parse_tsv, tsv(**{column: text})),
                           (parse_jsonl, jsonl(**{key: value}))):
        try:
            outcomes.append(parse(content).jobs[0])
        except InputError as exc:  # the same rule, in each format's spelling of the value
            outcomes.append(exc.reason.split(", got")[0])
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("model", ["L M", "LM\u00e9", "LM\ufeff", "-LM", "x" * 65, "LM)"])
def test_both_formats_refuse_the_same_model_names(model: str) -> None:
    assert tsv_error(tsv(job_type=f"{model} (batch size 10)")).startswith("t.trace:1: job_type: ")
    assert jsonl_error(jsonl(model=model)).startswith("t.jsonl:1: model: ")


def test_convert_keeps_fractions_in_both_directions() -> None:
    job = JobSpec(job_id=0, model="LM", batch_size=10, gpus=2, mode="accordion",
                  total_steps=1000, arrival_s=1.5, duration_s=1e-7, priority_weight=0.25,
                  slo=1.2345678)
    assert parse_tsv(format_tsv([job])).jobs[0] == job
    assert parse_jsonl(format_jsonl([job])).jobs[0] == job
    assert parse_tsv(format_tsv(parse_jsonl(format_jsonl([job])).jobs)).jobs[0] == job


def test_whole_numbers_are_still_written_as_the_reference_writes_them() -> None:
    assert format_tsv(parse_tsv(tsv()).jobs) == tsv()


def test_too_many_epochs_are_refused_before_a_profile_is_built() -> None:
    """1e12 LM steps at batch size 10 would be a profile of 168 million epochs (gigabytes)."""
    trace = parse_tsv(tsv(total_steps="1000000000000"), source="t.trace")
    epochs = math.ceil(10**12 / math.ceil(load_workload_facts().dataset_samples["LM"] / 10))
    assert epochs > MAX_EPOCHS
    with pytest.raises(InputError) as caught:
        trace.check_runnable(load_throughputs())
    assert str(caught.value) == (
        f"t.trace:1: total_steps: 1000000000000 steps are {epochs} epochs of LM at batch size "
        "10; a job may have at most 1e+07 epochs")
    with pytest.raises(InputError, match="at most 1e\\+07 epochs"):
        build_profile(trace.jobs[0], load_throughputs())


def test_jobs_built_in_python_are_checked_too() -> None:
    job = JobSpec(job_id=0, model="LM", batch_size=10, gpus=1, mode="static",
                  total_steps=10**15, arrival_s=0.0, duration_s=1.0)
    with pytest.raises(InputError) as caught:
        from_jobs([job]).check_runnable(load_throughputs())
    assert str(caught.value) == (
        "<memory>:1: total_steps: must be between 1 and 1e+12, got 1000000000000000")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"priority_weight": 0.0}, "priority_weight: must be more than 0, got 0.0"),
        ({"arrival_s": 1.7e308}, "arrival_time: must be at most 1e+12 s, got 1.7e+308"),
        ({"arrival_s": float("nan")}, "arrival_time: must be finite, got nan"),
        ({"gpus": 0}, "scale_factor: must be at least 1, got 0"),
    ],
)
def test_values_of_jobs_built_in_python_are_checked_before_a_simulation(changes: dict,
                                                                        message: str) -> None:
    job = JobSpec(**{**dict(job_id=0, model="LM", batch_size=10, gpus=1, mode="static",
                            total_steps=1000, arrival_s=0.0, duration_s=1.0), **changes})
    with pytest.raises(InputError) as caught:
        from_jobs([job]).check_runnable(load_throughputs())
    assert str(caught.value) == f"<memory>:1: {message}"
