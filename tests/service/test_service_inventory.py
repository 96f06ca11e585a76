"""Servers that leave (a Ray node dies), on the fake backend: their attempts are lost, requeued
and not counted against the failure budget; the planner places on the servers left, from a new
round at once; gangs stay on one server where the layout allows. And the exit rules every
backend shares (``backends/gang.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_harness import Harness, make_harness, progress

from shockwave.errors import InputError
from shockwave.protocol import ExitReport
from shockwave.service.backends.base import AttemptExit, SlotsUnavailable
from shockwave.service.backends.gang import failed_ranks, gang_exit
from shockwave.service.config import Settings
from shockwave.service.states import AttemptState, JobState, Outcome


@pytest.fixture()
def two_servers(tmp_path: Path) -> Harness:
    """Two servers of two slots (slots 0-1 and 2-3), FIFO, 2 s rounds."""
    return make_harness(tmp_path, gpus=4, servers=(2, 2))


def running(h: Harness, job_id: int) -> AttemptExit | None:
    attempts = h.store.attempts(job_id=job_id, states=[AttemptState.RUNNING])
    return attempts[-1] if attempts else None  # type: ignore[return-value]


def test_gangs_are_placed_on_one_server_each(two_servers: Harness) -> None:
    h = two_servers
    a, b = h.submit(name="a", gpus=2), h.submit(name="b", gpus=2)
    h.tick()
    assert {x.job_id: x.slots for x in h.current()} == {a.id: (0, 1), b.id: (2, 3)}
    assert h.loop.planner.cluster.servers == [[0, 1], [2, 3]]


def test_a_lost_attempt_is_requeued_without_counting_and_resumes_elsewhere(
        two_servers: Harness) -> None:
    h = two_servers
    job = h.submit(name="a", gpus=2)
    h.tick()
    first = h.current()[0]
    assert first.slots == (0, 1)
    h.beat(first.id, 40)
    h.store.add_checkpoint(first.id, "ckpt-40", progress(40).model_dump(), h.clock.now())
    # Server 0 dies under the attempt: the backend reports it lost and its slots gone.
    h.backend.down = {0, 1}
    h.backend.finish(first.id, None, lost=True, note="node 10.0.0.1 died")
    round_before = h.loop.round.idx
    stats = h.tick(0.25)  # well inside the 2 s round: re-planned at once
    assert stats.exits == [first.id] and stats.round_index == round_before + 1
    ended = h.store.attempt(first.id)
    assert ended.outcome == Outcome.lost and ended.reason == "node 10.0.0.1 died"
    fresh = h.store.job(job.id)
    assert fresh.failures == 0 and fresh.state == JobState.RUNNING
    second = h.current()[0]
    assert second.id != first.id and second.slots == (2, 3)
    assert second.start_samples == 40  # from the acknowledged checkpoint
    assert h.loop.planner.cluster.servers == [[2, 3]]
    events = [e for e in h.store.events() if e.reason == "slots unavailable"]
    assert events and events[-1].data == {"unavailable": [0, 1]}


def test_a_lost_attempt_whose_report_says_finished_completes(two_servers: Harness) -> None:
    h = two_servers
    job = h.submit(name="a", gpus=1, total_epochs=1)
    h.tick()
    attempt = h.current()[0]
    report = ExitReport(reason="finished", exit_code=0, progress=progress(100))
    h.backend.finish(attempt.id, None, report, lost=True, note="node died")
    h.tick(0.25)
    assert h.store.job(job.id).state == JobState.COMPLETED


def test_a_gang_wider_than_what_is_left_waits_and_the_rest_run(two_servers: Harness) -> None:
    h = two_servers
    h.backend.down = {2, 3}
    narrow, wide = h.submit(name="narrow", gpus=1), h.submit(name="wide", gpus=3)
    h.tick()
    assert [(x.job_id, x.slots) for x in h.current()] == [(narrow.id, (0,))]
    h.backend.down = set()  # the node came back (or another joined in its place)
    h.backend.finish(h.current()[0].id, 0, ExitReport(reason="finished", exit_code=0,
                                                      progress=progress(400)))
    h.tick(0.25)
    assert [(x.job_id, x.slots) for x in h.current()] == [(wide.id, (0, 1, 2))]


def test_with_every_slot_gone_nothing_is_planned_until_one_is_back(two_servers: Harness) -> None:
    h = two_servers
    job = h.submit(name="a", gpus=1)
    h.backend.down = {0, 1, 2, 3}
    for _ in range(3):
        h.tick(1.0)
    assert h.loop.round is None and h.current() == []
    h.backend.down = {0, 1}
    h.tick(0.25)
    assert [(x.job_id, x.slots) for x in h.current()] == [(job.id, (2,))]


def test_slots_that_cannot_be_had_at_start_are_lost_not_failed(two_servers: Harness) -> None:
    h = two_servers
    job = h.submit(name="a", gpus=2)

    def refuse(spec: object) -> dict[str, object]:
        raise SlotsUnavailable("the placement group was not ready within 30 s")

    h.backend.start = refuse  # type: ignore[method-assign]
    h.tick()
    (attempt,) = h.store.attempts(job_id=job.id)
    assert attempt.outcome == Outcome.lost and "not ready within 30 s" in attempt.reason
    assert h.store.job(job.id).failures == 0 and h.store.job(job.id).state == JobState.QUEUED


def test_the_cluster_api_shows_which_slots_are_gone(two_servers: Harness) -> None:
    from fastapi.testclient import TestClient

    from shockwave.service.api.app import create_app

    h = two_servers
    h.backend.down = {2, 3}
    h.tick()
    app = create_app(h.settings, h.store, h.backend, loop=h.loop)
    with TestClient(app) as client:
        slots = client.get("/v1/cluster").json()["slots"]
    assert [s["available"] for s in slots] == [True, True, False, False]


# -- settings and the shared exit rules ------------------------------------------------------------

def test_servers_must_add_up_to_the_slots(tmp_path: Path) -> None:
    assert Settings(state_dir=tmp_path, gpus=5, servers=(3, 2)).slot_layout == ((0, 1, 2), (3, 4))
    assert Settings(state_dir=tmp_path, gpus=2).slot_layout == ((0, 1),)
    with pytest.raises(InputError, match="servers"):
        Settings(state_dir=tmp_path, gpus=4, servers=(2, 1))


def test_a_failed_rank_decides_the_gang_exit_unless_rank_0_reported_in_order() -> None:
    assert failed_ranks([0, None, 1, 75, 143, 137]) == [2, 5]
    assert gang_exit([75, 1], None) == AttemptExit(1, None, None)
    assert gang_exit([143, 137], None) == AttemptExit(137, 9, None)
    yielded = ExitReport(reason="yielded", exit_code=75, progress=progress(50))
    assert gang_exit([75, 134], yielded) == AttemptExit(75, None, yielded)
    crashed = ExitReport(reason="failed", exit_code=1, message="boom")
    assert gang_exit([1, 137], crashed) == AttemptExit(1, None, crashed)
    # Rank 1 failed by itself; rank 0 was still running and the backend killed it.
    assert gang_exit([137, 3], None, killed={0}) == AttemptExit(3, None, None)
    assert gang_exit([137, 137], None, killed={0, 1}) == AttemptExit(137, 9, None)
