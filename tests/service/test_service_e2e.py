"""End to end: ``shockwave serve`` as a real process (uvicorn, SQLite on disk, the local
backend) running protocol-level fake jobs (no torch) that heartbeat with their attempt token,
checkpoint, obey ``checkpoint_and_stop`` by exiting 75 and resume from their checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServerProcess, fake_job

COMMON = ("--gpus", "2", "--round-seconds", "1.5", "--heartbeat-seconds", "0.2",
          "--grace-seconds", "1", "--startup-seconds", "20", "--backoff-seconds", "0.5")


@pytest.fixture()
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    options = getattr(request, "param", ("--policy", "max_min_fairness"))
    with ServerProcess(tmp_path / "state", *COMMON, *options).running() as service:
        yield service


def attempts_of(server: ServerProcess, job_id: int) -> list[dict[str, Any]]:
    return server.get(f"/v1/jobs/{job_id}")["attempts"]


def assert_resumed_from_checkpoints(server: ServerProcess, job: dict[str, Any]) -> None:
    """Every attempt after the first started where the job's acknowledged checkpoints left it:
    nothing restarted from scratch, and the last one reached the end."""
    attempts = attempts_of(server, job["id"])
    assert attempts[-1]["outcome"] == "completed"
    for before, after in zip(attempts, attempts[1:], strict=False):
        assert before["outcome"] in ("yielded", "lost", "killed"), before
        assert after["start_samples"] == before["samples"] > 0, (before, after)
    assert job["progress"]["samples"] == job["progress"]["total_samples"]


@pytest.mark.parametrize("server", [("--policy", "max_min_fairness"), ("--policy", "shockwave")],
                         indirect=True, ids=["max_min_fairness", "shockwave"])
def test_jobs_time_share_the_slots_and_all_complete(server: ServerProcess) -> None:
    # Each job trains for 4 s (the gang 3 s) in rounds of 1.5 s: time-sharing must preempt,
    # even where a slow start-up earns a revoked job some extra training (--min-train-seconds).
    ids = [server.submit(**fake_job(f"job{i}", epochs=8)) for i in range(4)]
    ids.append(server.submit(**fake_job("gang", gpus=2, epochs=6)))
    jobs = server.wait_final(timeout_s=90)
    assert [j["state"] for j in jobs] == ["COMPLETED"] * 5
    outcomes = [a["outcome"] for j in ids for a in attempts_of(server, j)]
    for job in jobs:
        assert_resumed_from_checkpoints(server, job)
    rounds = server.get("/v1/rounds", limit=1000)
    assert len(rounds) >= 4
    assert all(r["decision_s"] >= 0 and r["bookkeeping_s"] >= 0 for r in rounds)
    if "max_min_fairness" in server.options:
        assert outcomes.count("yielded") >= 3, outcomes
    gang = attempts_of(server, ids[-1])
    assert all(len(a["slots"]) == 2 for a in gang)


@pytest.mark.parametrize("server", [("--policy", "max_min_fairness", "--lease-seconds", "15")],
                         indirect=True, ids=["lease-15s"])
def test_kill_9_of_the_service_then_restart(server: ServerProcess) -> None:
    """The jobs outlive the service; the restarted service adopts them (their leases, 15 s,
    outlast the restart) and every job completes without starting over."""
    ids = [server.submit(**fake_job(f"job{i}", epochs=6, speed=150.0, extra=(
        "--checkpoint-every", "0.5"))) for i in range(3)]
    deadline = time.monotonic() + 30
    while not any(j["progress"]["samples"] > 100 for j in server.get("/v1/jobs")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server.kill9()
    time.sleep(0.5)
    server.start()
    jobs = server.wait_final(timeout_s=90)
    assert [j["state"] for j in jobs] == ["COMPLETED"] * 3
    for job in jobs:
        assert_resumed_from_checkpoints(server, job)
    starts = [e for e in server.get("/v1/events", limit=100_000) if e["entity"] == "service"]
    assert len(starts) == 2  # the service started twice
    found = starts[1]["data"]  # what the restart found running
    assert found["adopted"] and not found["lost"], found
    assert sorted(j["id"] for j in jobs) == ids


def test_a_job_that_ignores_sigterm_is_killed_and_a_failing_job_fails(
        server: ServerProcess) -> None:
    stubborn = server.submit(**fake_job("stubborn", epochs=1000, extra=("--stubborn",)))
    failing = server.submit(**fake_job("failing", epochs=1000, max_failures=1,
                                       extra=("--fail-at", "50")))
    deadline = time.monotonic() + 30
    while server.get(f"/v1/jobs/{stubborn}")["progress"]["samples"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    started = time.monotonic()
    httpx.delete(f"{server.url}/v1/jobs/{stubborn}").raise_for_status()
    jobs = {j["id"]: j for j in server.wait_final(timeout_s=60)}
    assert jobs[stubborn]["state"] == "CANCELLED"
    (attempt,) = attempts_of(server, stubborn)
    assert attempt["outcome"] == "killed"  # SIGTERM was not enough: killed after the grace
    assert attempt["ended_s"] - attempt["started_s"] > 0 and time.monotonic() - started >= 0.9
    assert jobs[failing]["state"] == "FAILED"
    assert "2 failed attempt(s)" in jobs[failing]["reason"]
    assert "exit code 3" in jobs[failing]["reason"]
    assert "failing on purpose" in jobs[failing]["log_tail"]
