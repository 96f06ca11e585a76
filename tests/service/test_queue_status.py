"""``queue_status``: the fairness estimate by hand, and each wait reason on a real round loop
(fake backend and clock); the API carries both."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from service_harness import Harness

from shockwave.metrics import estimated_rho
from shockwave.service.api.app import create_app
from shockwave.service.queue_status import QueueContext, queue_context, wait_reason
from shockwave.service.states import JobState


@pytest.mark.parametrize(("elapsed", "done", "speed", "contention", "expected"), [
    # alone 1000/10 = 100 s; half done; fair share from now: 100 + 50*2 = 200 of 100*2 -> 1.0
    (100.0, 500, 10.0, 2.0, 1.0),
    # alone, 300 s spent for half of it: (300 + 50) / 100
    (300.0, 500, 10.0, 1.0, 3.5),
    # done: the realized JCT over the fair-share finish time
    (250.0, 1000, 10.0, 2.5, 1.0),
    # not started, 40 s waited, c = 4: (40 + 400) / 400
    (40.0, 0, 10.0, 4.0, 1.1),
])
def test_estimated_rho_by_hand(elapsed: float, done: int, speed: float, contention: float,
                               expected: float) -> None:
    assert estimated_rho(elapsed, 1000, done, speed, contention) == pytest.approx(expected,
                                                                                 rel=1e-12)


@pytest.mark.parametrize("speed", [None, 0.0, -1.0])
def test_no_estimate_without_a_measured_speed(speed: float | None) -> None:
    assert estimated_rho(10.0, 1000, 0, speed, 1.0) is None


def test_contention_is_the_static_factor_of_the_metrics() -> None:
    context = QueueContext(now_s=0.0, scheduled_jobs=6, slots=4, round=None, policy="fifo")
    assert context.contention == 1.5
    fewer = dataclasses.replace(context, scheduled_jobs=3)
    assert fewer.contention == 1.0


def test_wait_reasons_follow_the_round(harness: Harness) -> None:
    h = harness  # fifo on 2 slots
    first, second, third = (h.submit(name=f"j{i}").id for i in range(3))
    context = queue_context(h.store, h.settings, h.loop, h.clock.now())
    assert wait_reason(h.store.job(third), context) == "waiting for the next round's decision"
    h.tick()
    context = queue_context(h.store, h.settings, h.loop, h.clock.now())
    assert context.scheduled_jobs == 3 and context.slots == 2
    assert wait_reason(h.store.job(first), context) is None  # running
    assert wait_reason(h.store.job(second), context) is None
    assert wait_reason(h.store.job(third), context) == (
        "not placed in round 0: fifo gave the GPUs to other jobs this round")


def test_a_gang_larger_than_the_cluster_says_so(harness: Harness) -> None:
    big = harness.submit(name="big", gpus=3)
    context = queue_context(harness.store, harness.settings, harness.loop, harness.clock.now())
    assert wait_reason(big, context) == "needs 3 GPUs; 2 are available"


def test_back_off_and_cancel_are_named(harness: Harness) -> None:
    h = harness
    job = h.submit(name="flaky")
    h.store.update_job(job.id, failures=1, not_before_s=h.clock.now() + 7.4)
    context = queue_context(h.store, h.settings, h.loop, h.clock.now())
    assert wait_reason(h.store.job(job.id), context) == (
        "back-off after failure 1 of 3: retried in 7 s")
    h.store.request_cancel(job.id, h.clock.now())
    assert wait_reason(h.store.job(job.id), context) == (
        "cancel requested: it ends without running again")


def test_the_api_reports_estimate_and_reason(harness: Harness) -> None:
    h = harness
    ids = [h.submit(name=f"j{i}").id for i in range(3)]
    h.drive(seconds=1.0)  # fifo: j0 and j1 train at 100 samples/s; j2 waits
    app = create_app(h.settings, h.store, h.backend, loop=h.loop)
    with TestClient(app) as client:
        jobs = {j["id"]: j for j in client.get("/v1/jobs").json()}
        detail = client.get(f"/v1/jobs/{ids[0]}").json()
    now = h.clock.now()
    running = h.store.job(ids[0])
    assert running is not None and running.state == JobState.RUNNING
    expected = estimated_rho(now - running.submitted_s, running.spec.samples, running.samples,
                             running.samples_per_s, 1.5)
    assert expected is not None
    assert jobs[ids[0]]["estimated_rho"] == pytest.approx(expected, rel=1e-12)
    assert detail["estimated_rho"] == jobs[ids[0]]["estimated_rho"]
    assert jobs[ids[0]]["wait_reason"] is None
    assert jobs[ids[2]]["estimated_rho"] is None  # never measured
    assert jobs[ids[2]]["wait_reason"].startswith("not placed in round ")
