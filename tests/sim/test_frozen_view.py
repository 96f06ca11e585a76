"""``frozen_view`` builds the ``JobView`` its constructor builds: same fields, equal, frozen."""

from __future__ import annotations

import dataclasses

import pytest

from shockwave.model import Cluster
from shockwave.policies.base import JobView
from shockwave.sim.loop import admitted_job
from shockwave.sim.state import frozen_view
from shockwave.traces import load_trace
from shockwave.workload.adaptation import load_workload_facts
from shockwave.workload.throughput import load_throughputs


def test_the_view_of_a_job_is_the_constructed_view() -> None:
    throughputs = load_throughputs()
    spec = load_trace(None, throughputs=throughputs).jobs[3]
    job = admitted_job(spec, Cluster(8), throughputs, load_workload_facts(), 0.0)
    job.steps_done, job.rounds_received, job.last_round = 12.5, 2, 4
    job.timeline.append((4, 1.5, job.batch_size))
    fields = {f.name: getattr(job.view(5), f.name) for f in dataclasses.fields(JobView)}
    built = JobView(**fields)
    view = job.view(5)
    assert view == built and vars(view) == vars(built) and view.ran_last_round
    assert list(vars(view)) == [f.name for f in dataclasses.fields(JobView)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.steps_done = 0.0  # type: ignore[misc]


def test_job_view_has_nothing_its_constructor_would_check() -> None:
    """``frozen_view`` skips ``__init__``: it must stay a plain frozen dataclass with a
    ``__dict__`` and no ``__post_init__``."""
    assert not hasattr(JobView, "__post_init__") and not hasattr(JobView, "__slots__")
    assert JobView.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert frozen_view(**{f.name: None for f in dataclasses.fields(JobView)}) \
        == JobView(**{f.name: None for f in dataclasses.fields(JobView)})
