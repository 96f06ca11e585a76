"""``shockwave replay --real``, before anything is submitted: which bundled workload runs each
trace job (the default table, ``--map``), and the exact job spec each trace line becomes."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.replay.mapping import (
    DEFAULT_WORKLOADS,
    parse_map,
    submissions,
    trace_format,
    workload_table,
    workloads_of,
)
from shockwave.service.jobspec import load_job_file
from shockwave.traces.trace import parse_trace_text
from shockwave.workloads import WORKLOADS, spec_path

SPECS = {name: load_job_file(spec_path(name))[0] for name in WORKLOADS}


def jsonl(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def test_the_reference_models_map_to_bundled_workloads_by_default() -> None:
    assert DEFAULT_WORKLOADS == {"ResNet-18": "digits", "ResNet-50": "digits", "LM": "tinylm",
                                 "Transformer": "tinylm", "Recommendation": "recommend"}
    assert workload_table({}) == {"digits": "digits", "tinylm": "tinylm",
                                  "recommend": "recommend", **DEFAULT_WORKLOADS}


def test_map_options_add_and_override_models() -> None:
    table = workload_table(parse_map(["A3C=recommend", " ResNet-18 = tinylm ", "A3C=recommend"]))
    assert table["A3C"] == "recommend" and table["ResNet-18"] == "tinylm"
    assert table["ResNet-50"] == "digits"


@pytest.mark.parametrize(("item", "message"), [
    ("ResNet-18", "--map: expected MODEL=WORKLOAD (e.g. ResNet-18=digits), got 'ResNet-18'"),
    ("=digits", "--map: expected MODEL=WORKLOAD (e.g. ResNet-18=digits), got '=digits'"),
    ("ResNet-18=", "--map: expected MODEL=WORKLOAD (e.g. ResNet-18=digits), got 'ResNet-18='"),
    ("ResNet-18=bert", "--map: no bundled workload 'bert'; known: digits, tinylm, recommend"),
    ("two words=digits", "--map: the model name must be one word of letters, digits and . _ + -, "
                         "got 'two words'"),
])
def test_a_bad_map_option_is_one_message_naming_it(item: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_map([item])
    assert str(caught.value) == message


def test_a_model_mapped_to_two_workloads_is_refused() -> None:
    with pytest.raises(InputError, match=r"^--map: LM is mapped twice \(tinylm, digits\)$"):
        parse_map(["LM=tinylm", "LM=digits"])


def test_each_job_gets_its_workload_and_an_unknown_model_names_its_line() -> None:
    text = jsonl(
        '{"model": "ResNet-50", "batch_size": 64, "total_steps": 10, "duration_s": 1, "arrival_s": 0}',
        '{"model": "digits", "batch_size": 64, "total_steps": 10, "duration_s": 1, "arrival_s": 1}',
        '{"model": "A3C", "batch_size": 4, "total_steps": 10, "duration_s": 1, "arrival_s": 2}')
    trace = parse_trace_text(text, source="t.jsonl")
    with pytest.raises(InputError) as caught:
        workloads_of(trace, workload_table({}), trace_format(text))
    assert str(caught.value) == (
        "t.jsonl:3: model: no bundled workload runs model 'A3C' (mapped: LM, Recommendation, "
        "ResNet-18, ResNet-50, Transformer, digits, recommend, tinylm); map it with --map "
        "A3C=WORKLOAD, one of digits, tinylm, recommend")
    assert workloads_of(trace, workload_table({"A3C": "recommend"})) == \
        ["digits", "digits", "recommend"]


def test_in_the_reference_format_the_field_is_the_job_type_column() -> None:
    text = "A3C (batch size 4)\tcmd\tdir\t--steps\t0\t10\t1\tstatic\t1\t-1\t5\t0\n"
    trace = parse_trace_text(text, source="t.trace")
    assert trace_format(text) == "reference"
    with pytest.raises(InputError, match=r"^t\.trace:1: job_type: no bundled workload runs "
                                         r"model 'A3C'"):
        workloads_of(trace, workload_table({}), trace_format(text))


def test_a_trace_line_becomes_the_workload_spec_with_the_lines_values() -> None:
    text = jsonl('{"model": "ResNet-18", "batch_size": 32, "gpus": 2, "mode": "accordion", '
                 '"total_steps": 100, "arrival_s": 7.5, "priority_weight": 2}')
    trace = parse_trace_text(text, source="t.jsonl")
    (job,) = submissions(trace, ["digits"], SPECS, work_scale=0.5)
    assert (job.index, job.arrival_s, job.workload) == (0, 7.5, "digits")
    assert job.spec == {
        "name": "trace0-digits", "model": "digits", "module": "shockwave.workloads.digits",
        "args": [], "gpus": 2, "batch_size": 32, "min_batch_size": 16, "max_batch_size": 256,
        "adaptation": "accordion", "total_samples": 1600, "samples_per_epoch": 1536,
        "checkpoint_interval_s": 30, "max_failures": 3, "seed": 0, "priority_weight": 2.0,
    }


def test_bounds_widen_to_hold_the_trace_batch_size_and_speeds_become_hints() -> None:
    text = jsonl('{"model": "Recommendation", "batch_size": 8192, "total_steps": 3, '
                 '"arrival_s": 0}',
                 '{"model": "LM", "batch_size": 5, "total_steps": 3, "arrival_s": 1}')
    trace = parse_trace_text(text, source="t.jsonl")
    first, second = submissions(trace, ["recommend", "tinylm"], SPECS, speeds=[40960.0, None])
    assert (first.spec["min_batch_size"], first.spec["max_batch_size"]) == (32, 8192)
    assert first.spec["expected_samples_per_s"] == 40960.0
    assert first.spec["total_samples"] == 3 * 8192
    assert (second.spec["min_batch_size"], second.spec["max_batch_size"]) == (5, 128)
    assert "expected_samples_per_s" not in second.spec


def test_a_spec_the_service_would_refuse_names_the_trace_line_and_field() -> None:
    text = jsonl('{"model": "LM", "batch_size": 20, "total_steps": 5, "arrival_s": 0}',
                 '{"model": "LM", "batch_size": 20, "total_steps": 1000000000000, '
                 '"duration_s": 1, "arrival_s": 1}')
    trace = parse_trace_text(text, source="t.jsonl")
    with pytest.raises(InputError) as caught:
        submissions(trace, ["tinylm", "tinylm"], SPECS, work_scale=1000.0)
    assert str(caught.value) == ("t.jsonl:2: total_steps: as a tinylm job: must be at most "
                                 "1e+15, got 20000000000000000")
