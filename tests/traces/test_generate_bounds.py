"""The generator refuses arguments that would make numbers no trace may hold (issue 8)."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.workload.throughput import load_throughputs


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": 2**32}, "seed: must be from 0 to 4294967295 (a 32-bit seed), got 4294967296"),
        ({"seed": -1}, "seed: must be from 0 to 4294967295 (a 32-bit seed), got -1"),
        ({"lam_s": 1e308}, "lam: must be from 0 to 1e+12 s, got 1e+308"),
        ({"lam_s": float("nan")}, "lam: must be from 0 to 1e+12 s, got nan"),
        ({"num_jobs": 0}, "num-jobs: must be from 1 to 1,000,000, got 0"),
        ({"max_hours": 1e9}, "min-hours: need 0 < min-hours <= max-hours <= 2.77778e+08, got "
                             "0.2 and 1000000000.0"),
        ({"num_durations": 5000, "duration_logspace": True},
         "num-durations: must be at most 1700 with power-law spacing (1.5^n overflows), got 5000"),
        ({"lam_s": 1e12, "num_jobs": 50}, None),
        ({"min_hours": 2e8, "max_hours": 2.5e8}, None),
    ],
)
def test_arguments_beyond_the_bounds_are_refused(changes: dict, message: str | None) -> None:
    with pytest.raises(InputError) as caught:
        generate_trace(GeneratorParams(**changes), load_throughputs())
    if message is not None:
        assert str(caught.value) == message
    else:
        assert str(caught.value).split(":")[0] in ("lam", "max-hours")


def test_a_generated_trace_at_the_bounds_is_a_valid_trace() -> None:
    params = GeneratorParams(num_jobs=30, seed=2**32 - 1, lam_s=1e9, num_durations=1700,
                             duration_logspace=True)
    trace = generate_trace(params, load_throughputs())
    assert parse_jsonl(format_jsonl(trace.jobs)).jobs == trace.jobs
