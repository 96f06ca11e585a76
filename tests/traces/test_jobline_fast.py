"""``plain_job_fields`` (the trace readers' path without pydantic) against ``JobLine``: what it
accepts, ``JobLine`` accepts with the same values; what it passes on, ``validate_job`` gives
to ``JobLine``, so errors and conversions are ``JobLine``'s."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shockwave.errors import InputError
from shockwave.limits import MAX_BATCH_SIZE, MAX_GPUS, MAX_SECONDS, MAX_SLO, MAX_STEPS
from shockwave.traces.jobline import JobFields, plain_job_fields, validate_job
from shockwave.traces.jobline_model import JobLine

EDGE_FLOATS = [0.0, -0.0, 1.0, 2.5, -1.0, 5e-324, MAX_SECONDS, MAX_SECONDS * 1.0000001, MAX_SLO,
               MAX_SLO * 2, 1e308, -1e308, math.inf, -math.inf, math.nan]
EDGE_INTS = [-1, 0, 1, 2, MAX_GPUS, MAX_GPUS + 1, MAX_BATCH_SIZE, MAX_BATCH_SIZE + 1,
             MAX_STEPS, int(MAX_STEPS) + 1, 2**53, 2**64]
VALUES = (st.none() | st.booleans() | st.sampled_from(EDGE_INTS) | st.integers()
          | st.sampled_from(EDGE_FLOATS) | st.floats()
          | st.sampled_from(["", "ResNet-18", "a b", "x\t", "abc\n", "é", "static", "gns",
                             "accordion", "Static", "\x85", "x\ud800", "A" * 200]))
FIELDS = [f.name for f in dataclasses.fields(JobFields)]
BASE = {"model": "ResNet-18", "batch_size": 32, "arrival_s": 10.0, "total_steps": 100}


def _pydantic(data: dict) -> JobFields | None:
    try:
        return JobFields(**JobLine.model_validate(data).model_dump())
    except ValidationError:
        return None


@settings(max_examples=1500, deadline=None)
@given(changes=st.dictionaries(st.sampled_from([*FIELDS, "extra"]), VALUES, max_size=4),
       dropped=st.lists(st.sampled_from(FIELDS), max_size=2))
def test_a_plain_line_is_what_job_line_makes_of_it(changes: dict, dropped: list) -> None:
    data = {k: v for k, v in {**BASE, **changes}.items() if k not in dropped}
    fast = plain_job_fields(data)
    if fast is not None:
        slow = _pydantic(data)
        assert slow is not None, data
        assert vars(fast) == vars(slow), data
        assert [type(v) for v in vars(fast).values()] == [type(v) for v in vars(slow).values()]


def test_every_field_of_a_full_line_passes_plainly() -> None:
    data = {"id": 3, "model": "GPT2.x_1+2-3", "batch_size": 64, "gpus": 4, "mode": "gns",
            "total_steps": 5000, "duration_s": 7200.5, "arrival_s": 0.0, "priority_weight": 2.0,
            "slo": -1.0, "command": "python train.py --x 1", "working_directory": "/w",
            "num_steps_arg": "--steps", "needs_data_dir": True}
    assert plain_job_fields(data) == _pydantic(data) == JobFields(**data)
    assert plain_job_fields({**BASE, "duration_s": None, "slo": None, "id": None}) \
        == _pydantic({**BASE, "duration_s": None, "slo": None, "id": None})


def test_what_is_not_plain_is_judged_by_job_line() -> None:
    # An integer arrival time is converted by JobLine, a bad one refused with its message.
    assert plain_job_fields({**BASE, "arrival_s": 10}) is None
    assert validate_job({**BASE, "arrival_s": 10}, source="t", line=1).arrival_s == 10.0
    with pytest.raises(InputError, match="unknown key; known: id, model"):
        validate_job({**BASE, "colour": 1}, source="t", line=2)
    with pytest.raises(InputError, match="give total_steps, duration_s or both"):
        validate_job({k: v for k, v in BASE.items() if k != "total_steps"}, source="t", line=3)
