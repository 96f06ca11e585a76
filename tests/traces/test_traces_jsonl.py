"""The JSON Lines format: lossless round trips, content sniffing, located errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from shockwave.errors import InputError
from shockwave.traces import load_trace
from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.tsv import format_tsv, parse_tsv
from shockwave.workload.throughput import load_throughputs

CANONICAL = (resources.files("shockwave") / "data" / "canonical-120jobs.trace").read_text()


def _line(**fields: object) -> str:
    base: dict[str, object] = {"model": "ResNet-18", "batch_size": 32, "arrival_s": 0,
                               "total_steps": 1000, "duration_s": 25.0}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def test_reference_to_jsonl_to_reference_is_byte_identical() -> None:
    jsonl = format_jsonl(parse_tsv(CANONICAL).jobs)
    assert format_tsv(parse_jsonl(jsonl).jobs) == CANONICAL


def test_generated_trace_round_trips_through_both_formats() -> None:
    trace = generate_trace(GeneratorParams(num_jobs=300, seed=11, duration_logspace=True),
                           load_throughputs())
    assert parse_jsonl(format_jsonl(trace.jobs)).jobs == trace.jobs
    assert parse_tsv(format_tsv(trace.jobs)).jobs == trace.jobs


def test_load_trace_tells_formats_apart_by_content(tmp_path: Path) -> None:
    as_jsonl = tmp_path / "looks-like.trace"
    as_jsonl.write_text("\n\n" + format_jsonl(load_trace().jobs))
    as_tsv = tmp_path / "looks-like.jsonl"
    as_tsv.write_text(CANONICAL)
    assert load_trace(as_jsonl).jobs == load_trace(as_tsv).jobs == load_trace().jobs


def test_a_missing_length_is_derived_from_throughputs() -> None:
    table = load_throughputs()
    rate = table.lookup("ResNet-18", 32, 1)
    only_duration = parse_jsonl(_line(total_steps=..., duration_s=100.0))
    assert only_duration.jobs[0].total_steps == int(100 * rate)
    only_steps = parse_jsonl(_line(duration_s=...))
    assert only_steps.jobs[0].duration_s == pytest.approx(1000 / rate)


def test_minimal_line_takes_defaults() -> None:
    job = parse_jsonl(_line()).jobs[0]
    assert (job.gpus, job.mode, job.priority_weight, job.slo) == (1, "static", 1.0, None)
    assert job.job_type == "ResNet-18 (batch size 32)"


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (_line() + "\n" + _line(gpus=0), 2, "gpus"),
        (_line(mode="elastic"), 1, "mode"),
        (_line(batch_size="32"), 1, "batch_size"),
        (_line(gpus=True), 1, "gpus"),
        (_line(total_steps=..., duration_s=...), 1, "line"),
        (_line(model="ResNet 18"), 1, "model"),
        (_line(command="a\tb"), 1, "command"),
        (_line(colour="red"), 1, "colour"),
        (_line(id=3), 1, "id"),
        (_line(arrival_s=5) + "\n" + _line(arrival_s=4), 2, "arrival_s"),
        ("{not json", 1, "line"),
        ("{}\n[1, 2]", 1, "model"),
        (_line() + "\n[1, 2]", 2, "line"),
        (_line(model="NoSuchModel", duration_s=...), 1, "total_steps"),
    ],
)
def test_bad_lines_name_file_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(InputError) as err:
        parse_jsonl(text, source="t.jsonl")
    assert (err.value.path, err.value.line) == ("t.jsonl", line)
    assert err.value.field == field
    assert str(err.value).startswith(f"t.jsonl:{line}: {field}: ")


def test_empty_traces_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no jobs"):
        parse_jsonl("\n \n")
    empty = tmp_path / "empty.trace"
    empty.write_text("")
    with pytest.raises(InputError, match="no jobs"):
        load_trace(empty)


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_trace(tmp_path / "missing.trace")
    binary = tmp_path / "binary.trace"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="UTF-8"):
        load_trace(binary)


def test_tsv_points_at_the_importers() -> None:
    with pytest.raises(InputError, match="trace import gavel"):
        parse_tsv("A (batch size 1)\tcmd\t-n\t1\t10\t0.0\t1\n")
    with pytest.raises(InputError, match="trace import pollux"):
        parse_tsv("name,time,application,num_replicas,batch_size\n")
