"""Runs given what ``check_inputs`` read (``loaded``) are the runs that read their inputs
themselves: the same results, sequentially through ``run_many`` as well."""

from __future__ import annotations

import pytest

from shockwave.experiment import Inputs, check_inputs, run_many, run_policy
from shockwave.sim.result import result_to_json


@pytest.mark.parametrize("compat", ["fixed", "reference"])
def test_a_run_on_loaded_inputs_is_a_run_that_reads_them(compat: str) -> None:
    inputs = Inputs(gpus=16, compat=compat)
    names = ["fifo", "min_total_duration"]
    loaded = check_inputs(names, inputs)
    fresh = [result_to_json(run_policy(name, inputs)) for name in names]
    assert [result_to_json(run_policy(name, inputs, loaded=loaded)) for name in names] == fresh
    assert [result_to_json(r) for r in run_many(names, inputs, 1, loaded=loaded)] == fresh
