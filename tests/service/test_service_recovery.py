"""A service that dies and comes back: a new app over the same database adopts the attempts
whose processes still run, records the others (from their report file, or as lost), and only
then serves."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shockwave.service.api.app import create_app
from shockwave.service.backends.local import LocalBackend
from shockwave.service.clock import FakeClock
from shockwave.service.config import Settings
from shockwave.service.states import AttemptState, JobState, Outcome
from shockwave.service.store import Store

SCRIPTS = Path(__file__).parent / "scripts"


def settings_for(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", gpus=2, policy="fifo", round_s=2.0,
                    heartbeat_s=0.5, grace_s=0.5, run_loop=False)


def boot(settings: Settings, clock: FakeClock) -> tuple[Any, Store, TestClient]:
    store = Store(settings.db_path)  # a fresh connection, as after a restart
    app = create_app(settings, store, LocalBackend(settings), clock=clock)
    return app, store, TestClient(app)


def submit(client: TestClient, *argv: str, name: str) -> int:
    answer = client.post("/v1/jobs", json={
        "name": name, "command": [sys.executable, *argv], "batch_size": 1,
        "samples_per_epoch": 10, "total_epochs": 1})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def wait_for(path: Path) -> str:
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return path.read_text()


def test_a_restarted_service_adopts_live_attempts_and_ends_dead_ones(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    clock = FakeClock(50.0)
    info = tmp_path / "live.json"
    app, store, client = boot(settings, clock)
    with client:
        live = submit(client, str(SCRIPTS / "pid_and_wait.py"), str(info), name="live")
        dead = submit(client, str(SCRIPTS / "pid_and_wait.py"), str(tmp_path / "dead.json"),
                      name="dead")
        app.state.loop.tick()
        pid = json.loads(wait_for(info))["pid"]
        dead_pid = json.loads(wait_for(tmp_path / "dead.json"))["pid"]
        attempts = {a.job_id: a for a in store.attempts()}
    # The service is gone (its objects dropped, its database not closed). One job dies meanwhile.
    del app, store, client
    os.kill(dead_pid, signal.SIGKILL)
    clock.advance(30.0)  # long enough for every lease to have run out
    app, store, client = boot(settings, clock)
    with client:
        recovery = app.state.recovery
        assert recovery.adopted == [attempts[live].id]
        assert recovery.dead == [attempts[dead].id]
        adopted = store.attempt(attempts[live].id)
        assert adopted.state == AttemptState.RUNNING  # type: ignore[union-attr]
        assert adopted.lease_expires_s > clock.now()  # type: ignore[union-attr, operator]
        app.state.loop.tick()
        ended = store.attempt(attempts[dead].id)
        assert ended.outcome == Outcome.lost  # type: ignore[union-attr]
        assert store.job(dead).failures == 0  # type: ignore[union-attr]
        assert len(store.attempts(job_id=dead)) == 2  # requeued, and started again
        assert store.attempt(attempts[live].id).state == AttemptState.RUNNING  # type: ignore[union-attr]
        assert client.delete(f"/v1/jobs/{live}").status_code == 202
        app.state.loop.tick()  # cancelled: SIGTERM to the adopted process group
        deadline = time.monotonic() + 10
        while store.job(live).state != JobState.CANCELLED:  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            app.state.loop.tick()
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
        reasons = [e.reason for e in store.events(job_id=live)]
        assert "adopted after a restart" in reasons
        kill_all(store, settings)


def test_an_attempt_that_ended_while_the_service_was_down_is_read_from_its_report(
        tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    clock = FakeClock(0.0)
    app, store, client = boot(settings, clock)
    with client:
        job = submit(client, str(SCRIPTS / "pid_and_wait.py"), str(tmp_path / "i.json"), "0.5",
                     name="short")
        app.state.loop.tick()
        (attempt,) = store.attempts(job_id=job)
        wait_for(tmp_path / "i.json")
    del app, store, client
    report = settings.attempts_dir / str(attempt.id) / "report.json"
    report.write_text(json.dumps({"reason": "yielded", "exit_code": 75, "checkpoint_id": "c1",
                                  "progress": {"step": 4, "samples": 4, "epoch": 0,
                                               "epoch_samples": 4, "samples_per_epoch": 10,
                                               "batch_size": 1}}))
    time.sleep(0.8)  # it exits while nobody watches
    app, store, client = boot(settings, clock)
    with client:
        assert app.state.recovery.dead == [attempt.id]
        app.state.loop.tick()
        row = store.attempt(attempt.id)
        assert row.outcome == Outcome.yielded  # type: ignore[union-attr]
        assert store.job(job).checkpoint_samples == 4  # type: ignore[union-attr]


def test_an_attempt_caught_launching_is_recorded_lost(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = Store(settings.db_path)
    job = store.add_job(_spec(), 0.0)
    attempt = store.add_attempt(job.id, [0], "h", batch_size=1, round_index=0, now_s=0.0,
                                start_samples=0)
    store.transition_job(job.id, JobState.QUEUED, JobState.RUNNING, now_s=0.0, note="x")
    store.transition_attempt(attempt.id, AttemptState.PENDING, AttemptState.LAUNCHING, now_s=0.0,
                             note="starting", started_s=0.0)
    app, store, client = boot(settings, FakeClock(5.0))
    with client:
        assert app.state.recovery.lost == [attempt.id]
        assert store.attempt(attempt.id).outcome == Outcome.lost  # type: ignore[union-attr]
        assert store.job(job.id).state == JobState.QUEUED  # type: ignore[union-attr]


def kill_all(store: Store, settings: Settings) -> None:
    """Leave no process behind."""
    backend = LocalBackend(settings)
    for attempt in store.attempts():
        if attempt.handle is not None:
            backend.kill(attempt.handle)


def _spec() -> Any:
    from service_harness import job_spec

    return job_spec()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
