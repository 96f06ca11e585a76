"""Property: the reference (TSV) and JSON Lines readers accept exactly the same jobs.

The same values, each written in both formats' spelling, are either accepted by both, giving
the same job, or refused by both; and an accepted job converted to the other format reads back
as the same job, so ``shockwave trace convert`` never writes a file shockwave would refuse.
"""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.errors import InputError
from shockwave.limits import (
    MAX_BATCH_SIZE,
    MAX_GPUS,
    MAX_PRIORITY_WEIGHT,
    MAX_SECONDS,
    MAX_SLO,
    MAX_STEPS,
)
from shockwave.model import JobSpec
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.tsv import format_tsv, parse_tsv


def _around(*bounds: float) -> st.SearchStrategy[float]:
    """Values at, just inside and just outside each bound, as ints and floats."""
    values: list[float] = []
    for bound in bounds:
        values += [bound, bound + 1, bound - 1, float(bound), math.nextafter(float(bound), math.inf),
                   math.nextafter(float(bound), -math.inf)]
    return st.sampled_from(values)


INTS = st.integers(-3, 3) | st.integers(-(10**40), 10**40) | st.floats(allow_nan=True)
FLOATS = (st.integers(-3, 3) | st.floats(allow_nan=True, allow_infinity=True)
          | st.floats(0, 10**13) | st.integers(-(10**40), 10**40))


def _number(bounds: tuple[float, ...], kind: st.SearchStrategy) -> st.SearchStrategy:
    return _around(*bounds) | kind


TEXT = st.text(max_size=12) | st.sampled_from(["", "python3 main.py %s", "a\tb", "x\u2028y"])
ANY_VALUE = {
    "model": st.sampled_from(["LM", "ResNet-18", "a.b_c+d-e", "L M", "LM\u00e9", "x" * 65,
                              "x" * 64, "-LM", "LM)", "१२", ""]) | st.text(max_size=8),
    "batch_size": _number((1, MAX_BATCH_SIZE), INTS),
    "gpus": _number((1, MAX_GPUS), INTS),
    "mode": st.sampled_from(["static", "accordion", "gns", "Static", "", "elastic"]),
    "total_steps": _number((1, MAX_STEPS), INTS),
    "duration_s": _number((0, MAX_SECONDS), FLOATS),
    "arrival_s": _number((0, MAX_SECONDS), FLOATS),
    "priority_weight": _number((0, MAX_PRIORITY_WEIGHT), FLOATS),
    "slo": st.none() | _number((0, MAX_SLO, -1), FLOATS),
    "command": TEXT,
    "working_directory": TEXT,
    "num_steps_arg": TEXT,
    "needs_data_dir": st.booleans(),
}
VALID = {"model": "LM", "batch_size": 10, "gpus": 1, "mode": "gns", "total_steps": 134583,
         "duration_s": 1418, "arrival_s": 0, "priority_weight": 1, "slo": None,
         "command": "python3 main.py", "working_directory": "language_modeling",
         "num_steps_arg": "--steps", "needs_data_dir": True}


@st.composite
def jobs(draw: st.DrawFn) -> dict:
    """A valid job with one to three fields replaced by any value (valid or not)."""
    names = draw(st.lists(st.sampled_from(sorted(ANY_VALUE)), min_size=1, max_size=3,
                          unique=True))
    return {**VALID, **{name: draw(ANY_VALUE[name]) for name in names}}


def _tsv_number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def as_tsv(job: dict) -> str:
    """The job as a reference line: the same values, written as text."""
    slo = "-1.000000" if job["slo"] is None else _tsv_number(job["slo"])
    return "\t".join([
        f"{job['model']} (batch size {_tsv_number(job['batch_size'])})", job["command"],
        job["working_directory"], job["num_steps_arg"], "1" if job["needs_data_dir"] else "0",
        _tsv_number(job["total_steps"]), _tsv_number(job["gpus"]), job["mode"],
        _tsv_number(job["priority_weight"]), slo, _tsv_number(job["duration_s"]),
        _tsv_number(job["arrival_s"]),
    ]) + "\n"


def _read(parse, text: str) -> JobSpec | None:
    try:
        (job,) = parse(text).jobs
    except InputError:
        return None
    return job


@settings(max_examples=700, deadline=None)
@given(jobs())
def test_both_formats_accept_the_same_values_and_convert_losslessly(job: dict) -> None:
    from_jsonl = _read(parse_jsonl, json.dumps(job) + "\n")
    from_tsv = _read(parse_tsv, as_tsv(job))
    assert from_jsonl == from_tsv
    if from_tsv is not None:
        assert parse_jsonl(format_jsonl([from_tsv])).jobs == (from_tsv,)
        assert parse_tsv(format_tsv([from_tsv])).jobs == (from_tsv,)


def test_the_strategy_reaches_both_outcomes() -> None:
    """A sanity check of the generator: a valid job and an invalid one."""
    valid = {"model": "LM", "batch_size": 10, "gpus": 1, "mode": "gns", "total_steps": 5,
             "duration_s": 1.5, "arrival_s": 0, "priority_weight": 0.5, "slo": None,
             "command": "c", "working_directory": "", "num_steps_arg": "", "needs_data_dir": True}
    assert _read(parse_tsv, as_tsv(valid)) == _read(parse_jsonl, json.dumps(valid)) is not None
    invalid = {**valid, "priority_weight": 0}
    assert _read(parse_tsv, as_tsv(invalid)) is _read(parse_jsonl, json.dumps(invalid)) is None
