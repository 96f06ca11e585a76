"""The answers the simulator remembers are the answers computed afresh: throughput lookups
(``ThroughputTable.lookup``) and the per-epoch batch sizes of profiles (``WorkloadFacts``),
for every job of a generated trace; errors are raised every time, never remembered."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shockwave.errors import InputError
from shockwave.model import JobSpec, job_type_name
from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.workload.adaptation import build_profile, load_workload_facts, profile_problem
from shockwave.workload.throughput import load_throughputs


def _jobs() -> list[JobSpec]:
    params = GeneratorParams(num_jobs=150, lam_s=5.0, seed=4, num_durations=1000)
    return list(generate_trace(params, load_throughputs()).jobs)


def test_a_remembered_rate_is_the_table_entry() -> None:
    table = load_throughputs()
    for _ in range(2):
        for job in _jobs():
            rate = table.lookup(job.model, job.batch_size, job.gpus)
            assert rate == table.table["v100"][job_type_name(job.model, job.batch_size), job.gpus]
    for _ in range(2):
        with pytest.raises(InputError, match="no throughput"):
            table.lookup("ResNet-18", 3, 1)
    fresh = dataclasses.replace(table)
    assert fresh == table and not fresh._found


def test_remembered_profiles_are_profiles_built_afresh() -> None:
    table, facts = load_throughputs(), load_workload_facts()
    jobs = _jobs()
    first = [build_profile(job, table, facts) for job in jobs]
    again = [build_profile(job, table, facts) for job in jobs]  # from the memo
    afresh = [build_profile(job, table, dataclasses.replace(facts)) for job in jobs]
    for a, b, c in zip(first, again, afresh, strict=True):
        assert a.batch_size_every_epoch == b.batch_size_every_epoch == c.batch_size_every_epoch
        assert a.num_epochs == b.num_epochs == c.num_epochs
        assert np.array_equal(a.duration_every_epoch, c.duration_every_epoch)
        assert np.array_equal(b.duration_every_epoch, c.duration_every_epoch)
    assert [profile_problem(j, table, facts, "v100") for j in jobs] \
        == [profile_problem(j, table, dataclasses.replace(facts), "v100") for j in jobs]


def test_a_job_too_long_to_profile_is_refused_every_time() -> None:
    facts = load_workload_facts()
    job = dataclasses.replace(_jobs()[0], total_steps=10**15)
    for _ in range(2):
        with pytest.raises(InputError):
            build_profile(job, load_throughputs(), facts)
