"""Throughput tables and the Gavel/Pollux importers: issue 8's cases, each with its message."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from shockwave.errors import InputError
from shockwave.jsonfile import json_path
from shockwave.traces.gavel import import_gavel
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.pollux import import_pollux
from shockwave.traces.tsv import format_tsv, parse_tsv
from shockwave.workload.throughput import ThroughputTable, load_throughputs

SHARED_GAVEL_TABLE = Path("/work/shared/data/gavel-simulation-throughputs.json")
KEY = "('LM (batch size 10)', 1)"


def _table(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thr.json"
    path.write_text(text, encoding="utf-8")
    return path


def _entry(key: str, value: str) -> str:
    """A one-entry table whose ``null`` throughput is the JSON text ``value``."""
    return "{" + f'"v100": {{{json.dumps(key)}: {{"null": {value}}}}}' + "}"


def _table_error(tmp_path: Path, value: str, key: str = KEY) -> str:
    path = _table(tmp_path, _entry(key, value))
    with pytest.raises(InputError) as caught:
        load_throughputs(path)
    return str(caught.value).removeprefix(f"{path}: ")


@pytest.mark.parametrize(
    ("value", "got"),
    [("true", "true"), ("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"),
     ("-1", "-1"), ('"5"', '"5"'), ("1e10", "10000000000.0"), ("null", "null")],
)
def test_throughputs_that_are_not_numbers_are_refused(tmp_path: Path, value: str,
                                                      got: str) -> None:
    assert _table_error(tmp_path, value) == (
        f'v100["{KEY}"]: needs a \'null\' (isolated) throughput, a number from 0 to 1e+09 '
        f"iterations/s; got {got}")


@pytest.mark.parametrize("key", ["('LM (batch size 10)', ١)", "('LM (batch size 10)', 0)",
                                 "LM", "('LM (batch size 10)', 1000000)"])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    assert _table_error(tmp_path, "1.5", key) == (
        f"{json_path(['v100', key])}: key must look like \"('Model (batch size N)', GPUs)\" with "
        "1 to 100000 GPUs")


def test_a_table_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "thr.json"
    path.write_text(_entry(KEY, "2.5"), encoding="utf-8-sig")
    assert load_throughputs(path).lookup("LM", 10, 1) == 2.5


def test_huge_integer_in_a_table_is_a_located_error(tmp_path: Path) -> None:
    path = _table(tmp_path, _entry(KEY, "9" * 5000))
    with pytest.raises(InputError) as caught:
        load_throughputs(path)
    assert str(caught.value) == f"{path}: not valid JSON: an integer has too many digits"


GAVEL = "\n".join([
    "A3C\tcd %s/rl && python3 main.py --env PongDeterministic-v4 --workers 4 --amsgrad True"
    "\t--max-steps\t0\t1934260\t0.000000\t1",
    "CycleGAN\tcd %s/cyclegan && python3 cyclegan.py\t--n_steps\t1\t71711\t17.000000\t1",
    "LM (batch size 10)\tcd %s/lm && python main.py\t--steps\t1\t2403295\t29.000000\t1",
])
# Gavel's own table writes A3C and CycleGAN without a batch size, as its traces do.
GAVEL_TABLE = {"v100": {"('A3C', 1)": {"null": 7.175767179667988},
                        "('CycleGAN', 1)": {"null": 4.426088263367452},
                        "('LM (batch size 10)', 1)": {"null": 100.0}}}


def test_gavel_bare_job_types_import_with_a_table_that_has_them(tmp_path: Path) -> None:
    table = load_throughputs(_table(tmp_path, json.dumps(GAVEL_TABLE)))
    result = import_gavel(GAVEL, table, "msr.trace", strict=True)
    jobs = result.trace.jobs
    assert [(j.model, j.batch_size) for j in jobs] == [("A3C", 4), ("CycleGAN", 1), ("LM", 10)]
    assert jobs[0].duration_s == pytest.approx(1934260 / 7.175767179667988)
    assert result.skipped == ()
    result.trace.check_runnable(table)  # the simulator can run them: ~2 million A3C epochs
    again = parse_tsv(format_tsv(jobs)).jobs
    assert again == parse_jsonl(format_jsonl(jobs)).jobs == jobs


@pytest.mark.skipif(not SHARED_GAVEL_TABLE.is_file(), reason="Gavel's table is not here")
def test_gavel_bare_job_types_import_with_gavels_own_table() -> None:
    table = load_throughputs(SHARED_GAVEL_TABLE)
    jobs = import_gavel(GAVEL, table, strict=True).trace.jobs
    assert [j.job_type for j in jobs[:2]] == ["A3C (batch size 4)", "CycleGAN (batch size 1)"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("A3C\tc\t-n\t0\t10\t1.8e308\t1", "arrival_time: must be finite, got inf"),
        ("A3C\tc\t-n\t0\t10\t१\t1", "arrival_time: expected a number, got '१'"),
        ("A3C\tc\t-n\t0\t10000000000000\t0\t1",
         "total_steps: must be at most 1e+12, got 10000000000000"),
        ("A3C\tc\t-n\t0\t10\t0\t100001", "scale_factor: must be at most 100000, got 100001"),
        ("LM (batch size 0)\tc\t-n\t0\t10\t0\t1",
         "job_type: the batch size must be at least 1, got 0"),
        ("\ufeffA3C\tc\t-n\t0\t10\t0\tx", "scale_factor: expected an integer, got 'x'"),
    ],
)
def test_gavel_values_are_refused_with_a_located_message(tmp_path: Path, line: str,
                                                         message: str) -> None:
    table = load_throughputs(_table(tmp_path, json.dumps(GAVEL_TABLE)))
    with pytest.raises(InputError) as caught:
        import_gavel(line, table, "msr.trace")
    assert str(caught.value) == f"msr.trace:1: {message}"


def test_gavel_duration_beyond_the_bound_is_refused(tmp_path: Path) -> None:
    slow = {"v100": {"('A3C', 1)": {"null": 1e-9}}}
    table = load_throughputs(_table(tmp_path, json.dumps(slow)))
    with pytest.raises(InputError) as caught:
        import_gavel("A3C\tc\t-n\t0\t10000\t0\t1", table, "msr.trace")
    assert str(caught.value) == ("msr.trace:1: total_steps: 10000 steps at 1e-09 iterations/s "
                                 "take 1e+13 s; the duration must be at most 1e+12 s")


HEADER = "name,time,application,num_replicas,batch_size\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x,1.8e308,ncf,1,8", "time: must be finite, got inf"),
        ("x,1e13,ncf,1,8", "time: must be at most 1e+12 s, got 1e+13"),
        ("x,१२,ncf,1,8", "time: expected a number, got '१२'"),
        ("x,1,ncf," + "9" * 400 + ",8", "num_replicas: must be at most 100000, got an integer "
                                        "of 400 digits"),
        ("x,1,ncf,1,0", "batch_size: must be at least 1, got 0"),
    ],
)
def test_pollux_values_are_refused_with_a_located_message(row: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        import_pollux(HEADER + row + "\n", load_throughputs(), "w.csv")
    assert str(caught.value) == f"w.csv:2: {message}"


def test_pollux_csv_with_a_byte_order_mark_imports() -> None:
    trace = import_pollux("\ufeff" + HEADER + "x,5,ncf,1,512\n", load_throughputs()).trace
    assert trace.jobs[0].model == "Recommendation" and math.isclose(trace.jobs[0].arrival_s, 5)


def test_pollux_csv_errors_are_located() -> None:
    with pytest.raises(InputError) as caught:
        import_pollux(HEADER + 'x,5,ncf,1,"' + "a" * 200_000 + '"\n', load_throughputs(), "w.csv")
    assert str(caught.value).startswith("w.csv:2: line: not a valid CSV row: field larger")


def test_a_table_built_in_python_is_checked_too() -> None:
    """A NaN throughput once kept a simulation going for a million rounds."""
    with pytest.raises(InputError) as caught:
        ThroughputTable({"v100": {("LM (batch size 10)", 1): float("nan")}}, "t.json")
    assert str(caught.value) == (
        "t.json: v100[\"('LM (batch size 10)', 1)\"]: must be a number from 0 to 1e+09 "
        "iterations/s, got nan")
