"""``GET /metrics``: what it exports equals what the API answers at the same moment (job and
slot counts, per-job figures, the history's counters, the rounds' decision times), hand-computed
cases (3 jobs on 2 slots, one revocation, one failure, a server gone), the event-driven
histograms (heartbeats, checkpoint saves, refused reports), its auth, one registry per app; and
once against a real ``shockwave serve``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import prometheus_client
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from service_harness import Harness, make_harness, progress
from service_process import ServerProcess, fake_job

from shockwave.errors import InputError
from shockwave.protocol import ExitReport
from shockwave.service.api.app import create_app
from shockwave.service.states import AttemptState, JobState, Outcome

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
JOB_GAUGES = {
    "shockwave_job_progress_ratio": lambda job: job["progress"]["fraction"],
    "shockwave_job_batch_size": lambda job: job["progress"]["batch_size"],
    "shockwave_job_attained_seconds": lambda job: job["attained_s"],
    "shockwave_job_attempts": lambda job: job["attempts_count"],
    "shockwave_job_failures": lambda job: job["failures"],
    "shockwave_job_samples_per_second": lambda job: job["samples_per_s"],
    "shockwave_job_estimated_rho": lambda job: job["estimated_rho"],
}


@dataclass
class Metered:
    """The harness (fake backend, fake clock, obedient jobs) behind a real app and its client."""

    h: Harness
    client: TestClient

    def scrape(self) -> Samples:
        answer = self.client.get("/metrics")
        assert answer.status_code == 200, answer.text
        return parse(answer)

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def token(self, attempt_id: int) -> dict[str, str]:
        env = self.h.backend.attempts[attempt_id].spec.env
        return {"Authorization": f"Bearer {env['SHOCKWAVE_ATTEMPT_TOKEN']}"}


@contextmanager
def metered(h: Harness) -> Iterator[Metered]:
    app = create_app(h.settings, h.store, h.backend, loop=h.loop)
    try:
        with TestClient(app) as client:
            yield Metered(h, client)
    finally:
        h.store.close()


@pytest.fixture()
def fifo(tmp_path: Path) -> Iterator[Metered]:
    """FIFO on 2 slots, 2 s rounds."""
    with metered(make_harness(tmp_path)) as service:
        yield service


@pytest.fixture()
def sharing(tmp_path: Path) -> Iterator[Metered]:
    """Max-min fairness on 2 slots: jobs time-share, so rounds revoke."""
    with metered(make_harness(tmp_path, policy="max_min_fairness")) as service:
        yield service


def parse(answer: httpx.Response) -> Samples:
    """Every sample of a ``/metrics`` answer, checked to be the Prometheus text format."""
    assert answer.headers["content-type"] == CONTENT_TYPE_LATEST
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def by_job(samples: Samples, name: str) -> dict[tuple[str, str], float]:
    """``{(job_id, job_name): value}`` of one per-job gauge."""
    found = {}
    for (sample, labels), number in samples.items():
        if sample == name:
            label = dict(labels)
            found[(label["job_id"], label["job_name"])] = number
    return found


def cluster_counts(cluster: dict[str, Any]) -> dict[str, int]:
    """``/v1/cluster``'s slots as the three statuses ``shockwave_gpus`` exports."""
    slots = cluster["slots"]
    return {"allocated": sum(s["job_id"] is not None for s in slots),
            "idle": sum(s["job_id"] is None and s["available"] for s in slots),
            "unavailable": sum(s["job_id"] is None and not s["available"] for s in slots)}


def assert_cluster_equal(samples: Samples, cluster: dict[str, Any]) -> None:
    for state in JobState:
        assert value(samples, "shockwave_jobs", state=state.value) == cluster["jobs"][state.value]
    for status, count in cluster_counts(cluster).items():
        assert value(samples, "shockwave_gpus", status=status) == count
    assert value(samples, "shockwave_gpu_slots") == len(cluster["slots"])
    assert value(samples, "shockwave_round_index") == cluster["round_index"]
    assert value(samples, "shockwave_round_length_seconds") == cluster["round_s"]


def assert_history_equal(samples: Samples, service: Metered | ServerProcess) -> None:
    """The counters against the API's history: rounds, jobs, attempts, events."""
    rounds = service.get("/v1/rounds", limit=100_000)
    jobs = service.get("/v1/jobs")
    attempts = [a for job in jobs for a in service.get(f"/v1/jobs/{job['id']}")["attempts"]]
    events = service.get("/v1/events", limit=100_000)
    assert value(samples, "shockwave_preemptions_total") == sum(len(r["revoked"]) for r in rounds)
    assert value(samples, "shockwave_restarts_total") == sum(
        max(0, job["attempts_count"] - 1) for job in jobs)
    assert value(samples, "shockwave_attempt_failures_total") == sum(j["failures"] for j in jobs)
    assert value(samples, "shockwave_checkpoints_total") == sum(
        e["entity"] == "checkpoint" for e in events)
    for outcome in Outcome:
        assert value(samples, "shockwave_attempts_ended_total", outcome=outcome.value) == sum(
            a["outcome"] == outcome.value for a in attempts)
    assert value(samples, "shockwave_round_decision_seconds_count") == len(rounds)
    assert value(samples, "shockwave_round_decision_seconds_sum") == pytest.approx(
        sum(r["decision_s"] for r in rounds), rel=1e-9, abs=1e-12)
    assert value(samples, "shockwave_round_bookkeeping_seconds_count") == len(rounds)
    assert value(samples, "shockwave_round_bookkeeping_seconds_sum") == pytest.approx(
        sum(r["bookkeeping_s"] for r in rounds), rel=1e-9, abs=1e-12)


# -- equal to the API ------------------------------------------------------------------------------

def test_three_jobs_on_two_slots_allocate_both_and_leave_none_idle(fifo: Metered) -> None:
    for name in ("a", "b", "c"):
        fifo.h.submit(name=name)
    fifo.h.tick()
    samples = fifo.scrape()
    assert value(samples, "shockwave_gpus", status="allocated") == 2
    assert value(samples, "shockwave_gpus", status="idle") == 0
    assert value(samples, "shockwave_gpus", status="unavailable") == 0
    assert value(samples, "shockwave_jobs", state="RUNNING") == 2
    assert value(samples, "shockwave_jobs", state="QUEUED") == 1
    assert value(samples, "shockwave_jobs", state="COMPLETED") == 0
    assert_cluster_equal(samples, fifo.get("/v1/cluster"))


def test_slots_of_a_server_that_left_are_unavailable(tmp_path: Path) -> None:
    with metered(make_harness(tmp_path, gpus=4, servers=(2, 2))) as service:
        service.h.submit(name="a")
        service.h.backend.down = {2, 3}
        service.h.tick()
        samples = service.scrape()
        assert [value(samples, "shockwave_gpus", status=s)
                for s in ("allocated", "idle", "unavailable")] == [1, 1, 2]
        assert_cluster_equal(samples, service.get("/v1/cluster"))


def test_everything_equals_the_api_while_jobs_time_share(sharing: Metered) -> None:
    h = sharing.h
    for i in range(4):
        h.submit(name=f"j{i}", total_epochs=10)
    h.drive(seconds=6)
    victim = h.current()[0]
    h.backend.finish(victim.id, 3, ExitReport(reason="failed", exit_code=3,
                                               checkpoint_failures=2))
    h.drive(seconds=3)
    samples = sharing.scrape()
    jobs = sharing.get("/v1/jobs")
    scheduled = [j for j in jobs if j["state"] in ("QUEUED", "RUNNING")]
    assert scheduled and any(j["estimated_rho"] is not None for j in scheduled)
    for name, field in JOB_GAUGES.items():
        expected = {(str(j["id"]), j["name"]): field(j) for j in scheduled
                    if field(j) is not None}
        assert by_job(samples, name) == expected, name
    assert_cluster_equal(samples, sharing.get("/v1/cluster"))
    assert_history_equal(samples, sharing)
    rounds = sharing.get("/v1/rounds", limit=100_000)
    assert value(samples, "shockwave_round_duration_seconds_count") == len(rounds) - 1
    assert value(samples, "shockwave_round_duration_seconds_sum") == pytest.approx(
        rounds[-1]["start_s"] - rounds[0]["start_s"])
    # The scenario did what the counters count: revocations, restarts, one failure.
    assert value(samples, "shockwave_preemptions_total") > 0
    assert value(samples, "shockwave_restarts_total") > 0
    assert value(samples, "shockwave_attempt_failures_total") == 1
    assert value(samples, "shockwave_checkpoint_failures_total") == 2
    victim_job = h.store.job(victim.job_id)
    assert victim_job is not None and victim_job.state in (JobState.QUEUED, JobState.RUNNING)
    assert by_job(samples, "shockwave_job_failures")[(str(victim_job.id), victim_job.name)] == 1


def test_the_first_round_after_a_restart_is_not_timed(tmp_path: Path) -> None:
    """Round durations are measured between rounds this process planned: the gap between the
    last round before a restart and the first after it is downtime, not a round."""
    h = make_harness(tmp_path)
    h.submit(name="a", total_epochs=100)
    h.tick()  # round 0, planned by the loop of an earlier process
    with metered(h) as service:
        h.tick(10 * h.settings.round_s)  # down for ten rounds' time, then round 1
        h.drive(seconds=3 * h.settings.round_s)
        rounds = service.get("/v1/rounds", limit=100_000)
        assert [r["index"] for r in rounds[:2]] == [0, 1] and len(rounds) >= 3
        samples = service.scrape()
        assert value(samples, "shockwave_round_duration_seconds_count") == len(rounds) - 2
        assert value(samples, "shockwave_round_duration_seconds_sum") == pytest.approx(
            rounds[-1]["start_s"] - rounds[1]["start_s"])
        assert value(samples, "shockwave_round_decision_seconds_count") == len(rounds) - 1


def test_one_revocation_is_one_preemption(tmp_path: Path) -> None:
    """One slot, two jobs: at the first round's end the running job is revoked."""
    with metered(make_harness(tmp_path, policy="max_min_fairness", gpus=1)) as service:
        h = service.h
        h.submit(name="a")
        h.submit(name="b")
        h.tick()
        (running,) = h.current()
        for _ in range(int(h.settings.round_s / 0.25) + 1):  # trains up to the boundary
            assert value(service.scrape(), "shockwave_preemptions_total") == 0
            h.tick(0.25)
            h.beat(running.id, 50)
            if h.store.attempt(running.id).state == AttemptState.DRAINING:  # type: ignore[union-attr]
                break
        assert h.store.attempt(running.id).stop_reason == "revoked"  # type: ignore[union-attr]
        samples = service.scrape()
        assert value(samples, "shockwave_preemptions_total") == 1
        assert value(samples, "shockwave_restarts_total") == 0
        assert_history_equal(samples, service)


def test_only_scheduled_jobs_have_per_job_series(fifo: Metered) -> None:
    done = fifo.h.submit(name="short", total_epochs=1)
    waiting = fifo.h.submit(name="long", total_epochs=100)
    fifo.h.drive(seconds=3)
    assert fifo.h.store.job(done.id).state == JobState.COMPLETED  # type: ignore[union-attr]
    samples = fifo.scrape()
    for name in JOB_GAUGES:
        assert set(by_job(samples, name)) == {(str(waiting.id), "long")}, name


# -- observed by the code paths --------------------------------------------------------------------

def test_heartbeats_are_timed_and_their_intervals_measured(fifo: Metered) -> None:
    fifo.h.submit(name="a")
    fifo.h.tick()
    (attempt,) = fifo.h.current()
    url = f"/v1/attempts/{attempt.id}/heartbeat"
    for seq, gap in ((0, 0.0), (1, 0.5), (2, 0.75), (2, 0.25)):  # the last one is a duplicate
        fifo.h.clock.advance(gap)
        answer = fifo.client.post(url, headers=fifo.token(attempt.id),
                                  json={"seq": seq, "progress": progress(10 * seq).model_dump()})
        assert answer.status_code == 200, answer.text
    samples = fifo.scrape()
    assert value(samples, "shockwave_heartbeat_handling_seconds_count") == 4
    assert value(samples, "shockwave_heartbeat_handling_seconds_sum") > 0
    assert value(samples, "shockwave_heartbeat_interval_seconds_count") == 2
    assert value(samples, "shockwave_heartbeat_interval_seconds_sum") == pytest.approx(1.25)


def test_checkpoint_saves_and_refused_reports_are_counted(fifo: Metered) -> None:
    fifo.h.submit(name="a")
    fifo.h.tick()
    (attempt,) = fifo.h.current()
    url = f"/v1/attempts/{attempt.id}/checkpoints"
    auth = fifo.token(attempt.id)
    for name, samples_done, duration in (("c1", 10, 0.25), ("c2", 20, 0.5), ("c1", 10, 0.25),
                                         ("c3", 30, None)):  # a duplicate; an old job library
        body: dict[str, Any] = {"checkpoint_id": name,
                                "progress": progress(samples_done).model_dump()}
        if duration is not None:
            body["duration_s"] = duration
        assert fifo.client.post(url, headers=auth, json=body).status_code == 200
    fifo.h.backend.finish(attempt.id, 0, ExitReport(reason="finished", exit_code=0,
                                                     checkpoint_failures=1))
    fifo.h.tick()
    late = fifo.client.post(url, headers=auth, json={"checkpoint_id": "c4", "duration_s": 1.0,
                                                     "progress": progress(40).model_dump()})
    assert late.status_code == 409
    assert fifo.client.post(f"/v1/attempts/{attempt.id}/exit", headers=auth,
                            json={"reason": "finished", "exit_code": 0}).status_code == 409
    samples = fifo.scrape()
    assert value(samples, "shockwave_checkpoints_total") == 3
    assert value(samples, "shockwave_checkpoint_save_seconds_count") == 2
    assert value(samples, "shockwave_checkpoint_save_seconds_sum") == 0.75
    assert value(samples, "shockwave_attempt_reports_refused_total", kind="checkpoint") == 1
    assert value(samples, "shockwave_attempt_reports_refused_total", kind="exit") == 1
    assert value(samples, "shockwave_checkpoint_failures_total") == 1


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    """Two apps in one process: rounds of one never show in the other, nor in
    prometheus_client's global registry."""
    with metered(make_harness(tmp_path / "one")) as one, \
            metered(make_harness(tmp_path / "two")) as two:
        one.h.submit(name="a")
        one.h.tick()
        assert value(one.scrape(), "shockwave_round_decision_seconds_count") == 1
        assert value(two.scrape(), "shockwave_round_decision_seconds_count") == 0
    assert not [m for m in prometheus_client.REGISTRY.collect() if m.name.startswith("shockwave")]


# -- auth ------------------------------------------------------------------------------------------

def test_metrics_are_open_by_default_even_with_a_token(tmp_path: Path) -> None:
    with metered(make_harness(tmp_path, token="secret")) as service:
        assert service.client.get("/v1/cluster").status_code == 401
        assert service.client.get("/metrics").status_code == 200


def test_metrics_can_ask_for_the_token(tmp_path: Path) -> None:
    with metered(make_harness(tmp_path, token="secret", metrics_need_token=True)) as service:
        assert service.client.get("/metrics").status_code == 401
        answer = service.client.get("/metrics", headers={"Authorization": "Bearer secret"})
        assert answer.status_code == 200 and parse(answer)


def test_asking_for_a_token_the_service_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="metrics-need-token"):
        make_harness(tmp_path, metrics_need_token=True)


# -- end to end ------------------------------------------------------------------------------------

def test_a_real_service_serves_metrics_equal_to_its_api(tmp_path: Path) -> None:
    options = ("--gpus", "2", "--round-seconds", "1.5", "--heartbeat-seconds", "0.2",
               "--grace-seconds", "1", "--startup-seconds", "20", "--policy", "max_min_fairness")
    with ServerProcess(tmp_path / "state", *options).running() as server:
        for i in range(3):
            server.submit(**fake_job(f"job{i}", epochs=4))
        jobs = server.wait_final(timeout_s=25)
        assert [j["state"] for j in jobs] == ["COMPLETED"] * 3
        answer = httpx.get(f"{server.url}/metrics", timeout=10)
        assert answer.status_code == 200
        samples = parse(answer)
        assert_cluster_equal(samples, server.get("/v1/cluster"))
        assert_history_equal(samples, server)
        saves = value(samples, "shockwave_checkpoint_save_seconds_count")
        assert 1 <= saves <= value(samples, "shockwave_checkpoints_total")
        assert value(samples, "shockwave_heartbeat_handling_seconds_count") > 0
        assert not [name for name, _ in samples if name.startswith("shockwave_job_")]
