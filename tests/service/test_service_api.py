"""The HTTP API over ``create_app`` with the fake backend: validation (422 naming the field,
nothing stored), authentication (401/403), the attempt-facing protocol, reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_harness import progress

from shockwave.errors import InputError
from shockwave.service.api.app import create_app
from shockwave.service.backends.fake import FakeBackend
from shockwave.service.clock import FakeClock
from shockwave.service.config import Settings
from shockwave.service.rounds import RoundLoop
from shockwave.service.store import Store

SPEC: dict[str, Any] = {"name": "digits", "command": ["true"], "batch_size": 32,
                        "samples_per_epoch": 1000, "total_epochs": 3}


class Service:
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        defaults: dict[str, Any] = {"gpus": 2, "policy": "fifo", "round_s": 2.0,
                                    "heartbeat_s": 0.5, "run_loop": False}
        defaults.update(settings)
        self.settings = Settings(state_dir=tmp_path / "state", **defaults)
        self.store = Store(self.settings.db_path)
        self.clock = FakeClock(10.0)
        self.backend = FakeBackend()
        self.app = create_app(self.settings, self.store, self.backend, clock=self.clock)
        self.loop: RoundLoop = self.app.state.loop
        self.client = TestClient(self.app)

    def start_one(self, **spec: Any) -> tuple[int, int, str]:
        """Submit a job and let a round start it: (job id, attempt id, attempt token)."""
        job = self.client.post("/v1/jobs", json={**SPEC, **spec}).json()
        self.loop.tick()
        if not self.store.attempts(job_id=job["id"]):  # wait for the next round
            self.clock.advance(self.settings.round_s)
            self.loop.tick()
        attempt = self.store.attempts(job_id=job["id"])[-1]
        return job["id"], attempt.id, self.backend.attempts[attempt.id].spec.env[
            "SHOCKWAVE_ATTEMPT_TOKEN"]


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path)
    with svc.client:
        yield svc


def _beat(seq: int, samples: int, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "progress": progress(samples, 32, 1000).model_dump(), **extra}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- submission and validation ---------------------------------------------------------------------

def test_submit_stores_the_job(service: Service) -> None:
    answer = service.client.post("/v1/jobs", json=SPEC)
    assert answer.status_code == 201
    job = answer.json()
    assert job["state"] == "QUEUED" and job["progress"]["total_samples"] == 3000
    assert service.client.get(f"/v1/jobs/{job['id']}").json()["spec"]["name"] == "digits"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"gpus": 3}, "gpus", "this service has 2 slot(s)"),
    ({"min_batch_size": 64}, "min_batch_size", "at most batch_size"),
    ({"max_batch_size": 16}, "max_batch_size", "at least batch_size"),
    ({"adaptation": "adaptive"}, "adaptation", "'static', 'accordion' or 'gns'"),
    ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
    ({"total_samples": 5}, "total_samples", "not both"),
    ({"total_epochs": None}, "total_samples", "give total_epochs or total_samples"),
    ({"command": None}, "command", "give module"),
    ({"module": "x.y"}, "command", "not both"),
    ({"batch_size": 0}, "batch_size", "greater than or equal to 1"),
    ({"batch_size": "32"}, "batch_size", "valid integer"),
    ({"expected_samples_per_s": -1}, "expected_samples_per_s", "greater than 0"),
    ({"env": {"RANK": "3"}}, "env", "set by the service"),
    ({"working_dir": "/nonexistent/place"}, "working_dir", "not a directory"),
    ({"command": ["no-such-program-here"]}, "command", "not found"),
    ({"name": "bad name!"}, "name", "pattern"),
])
def test_bad_specs_are_refused_naming_the_field(service: Service, change: dict[str, Any],
                                                field: str, words: str) -> None:
    spec = {k: v for k, v in {**SPEC, **change}.items() if v is not None}
    answer = service.client.post("/v1/jobs", json=spec)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["detail"]
    assert errors[0]["loc"][:2] == ["body", field], errors
    assert words in errors[0]["msg"], errors
    assert service.store.jobs() == []  # nothing stored
    assert service.store.events() == [e for e in service.store.events() if e.entity == "service"]


def test_list_filters_by_state_and_name(service: Service) -> None:
    for name in ("a", "b", "c"):
        service.client.post("/v1/jobs", json={**SPEC, "name": name})
    service.client.delete("/v1/jobs/2")
    service.loop.tick()
    states = {j["name"]: j["state"] for j in service.client.get("/v1/jobs").json()}
    assert states == {"a": "RUNNING", "b": "CANCELLED", "c": "RUNNING"}
    queued = service.client.get("/v1/jobs", params={"state": ["CANCELLED"]}).json()
    assert [j["name"] for j in queued] == ["b"]
    assert [j["id"] for j in service.client.get("/v1/jobs", params={"name": "c"}).json()] == [3]
    bad = service.client.get("/v1/jobs", params={"state": "SLEEPING"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["query", "state"]


def test_get_one_with_attempts_and_last_checkpoint(service: Service) -> None:
    job_id, attempt_id, token = service.start_one()
    answer = service.client.post(f"/v1/attempts/{attempt_id}/checkpoints", headers=_auth(token),
                                 json={"checkpoint_id": "ckpt-1",
                                       "progress": progress(320, 32, 1000).model_dump()})
    assert answer.json() == {"accepted": True, "detail": "acknowledged"}
    detail = service.client.get(f"/v1/jobs/{job_id}").json()
    assert detail["last_checkpoint"]["checkpoint_id"] == "ckpt-1"
    assert detail["last_checkpoint"]["samples"] == 320
    assert [a["id"] for a in detail["attempts"]] == [attempt_id]
    assert detail["attempts"][0]["state"] == "RUNNING" and detail["slots"] == [0]
    assert service.client.get("/v1/jobs/99").status_code == 404


def test_cancel_then_conflict_once_final(service: Service) -> None:
    job = service.client.post("/v1/jobs", json=SPEC).json()
    answer = service.client.delete(f"/v1/jobs/{job['id']}")
    assert answer.status_code == 202 and answer.json()["cancel_requested"]
    service.loop.tick()
    again = service.client.delete(f"/v1/jobs/{job['id']}")
    assert again.status_code == 409 and "already CANCELLED" in again.json()["detail"]


def test_logs_tail(service: Service) -> None:
    job_id, attempt_id, _ = service.start_one()
    log = service.settings.attempts_dir / str(attempt_id) / "rank-0.log"
    log.write_text("".join(f"line {i}\n" for i in range(50)))
    text = service.client.get(f"/v1/jobs/{job_id}/logs", params={"tail": 3}).text
    assert text == "line 47\nline 48\nline 49\n"
    everything = service.client.get(f"/v1/jobs/{job_id}/logs").text
    assert everything.startswith(f"--- attempt {attempt_id} (#1 of job {job_id})")


def test_cluster_rounds_health_and_docs(service: Service) -> None:
    service.start_one()
    cluster = service.client.get("/v1/cluster").json()
    assert [s["job_id"] for s in cluster["slots"]] == [1, None]
    assert cluster["jobs"]["RUNNING"] == 1 and cluster["round_index"] == 0
    rounds = service.client.get("/v1/rounds").json()
    assert rounds[0]["placements"] == {"1": [0]} and rounds[0]["added"] == [1]
    assert service.client.get("/v1/healthz").json()["status"] == "ok"
    assert service.client.get("/docs").status_code == 200
    paths = service.client.get("/openapi.json").json()["paths"]
    assert "/v1/attempts/{attempt_id}/heartbeat" in paths


# -- the attempt protocol ----------------------------------------------------------------------------

def test_heartbeat_renews_the_lease_and_ignores_stale_messages(service: Service) -> None:
    job_id, attempt_id, token = service.start_one()
    url = f"/v1/attempts/{attempt_id}/heartbeat"
    reply = service.client.post(url, headers=_auth(token), json=_beat(5, 320, samples_per_s=64.0))
    assert reply.status_code == 200
    assert reply.json()["action"] == "continue"
    assert reply.json()["lease_expires_in_s"] == pytest.approx(1.5)  # 3 heartbeats of 0.5 s
    for stale in (5, 4):  # duplicate, then older: nothing changes
        service.clock.advance(0.2)
        again = service.client.post(url, headers=_auth(token), json=_beat(stale, 999))
        assert again.json()["action"] == "continue"
    assert service.store.job(job_id).samples == 320  # type: ignore[union-attr]
    assert service.store.attempt(attempt_id).lease_expires_s == pytest.approx(11.5)  # type: ignore[union-attr]
    bad = service.client.post(url, headers=_auth(token), json={"seq": 1})
    assert bad.status_code == 422


def test_an_ended_attempt_is_told_to_stop_and_not_heard(service: Service) -> None:
    job_id, attempt_id, token = service.start_one()
    service.backend.finish(attempt_id, 75)
    service.loop.tick()
    reply = service.client.post(f"/v1/attempts/{attempt_id}/heartbeat", headers=_auth(token),
                                json=_beat(1, 500))
    assert reply.json()["action"] == "stop_now" and reply.json()["lease_expires_in_s"] == 0
    assert service.store.job(job_id).samples == 0  # type: ignore[union-attr]
    late = service.client.post(f"/v1/attempts/{attempt_id}/checkpoints", headers=_auth(token),
                               json={"checkpoint_id": "zombie",
                                     "progress": progress(500, 32, 1000).model_dump()})
    assert late.status_code == 409
    assert service.store.job(job_id).checkpoint_id is None  # type: ignore[union-attr]


def test_exit_report_is_recorded_and_names_a_checkpoint(service: Service) -> None:
    job_id, attempt_id, token = service.start_one()
    report = {"reason": "yielded", "exit_code": 75, "checkpoint_id": "c-9",
              "progress": progress(640, 32, 1000).model_dump()}
    url = f"/v1/attempts/{attempt_id}/exit"
    assert service.client.post(url, headers=_auth(token), json=report).json()["accepted"]
    assert not service.client.post(url, headers=_auth(token), json=report).json()["accepted"]
    assert service.store.job(job_id).checkpoint_samples == 640  # type: ignore[union-attr]
    service.backend.finish(attempt_id, 75)  # no report file: the posted one is used
    service.loop.tick()
    attempt = service.store.attempt(attempt_id)
    assert attempt.outcome == "yielded" and attempt.report["checkpoint_id"] == "c-9"  # type: ignore[union-attr,index]


def test_an_attempt_shows_the_batch_sizes_its_exit_report_gave(service: Service) -> None:
    job_id, attempt_id, token = service.start_one(adaptation="gns", min_batch_size=16,
                                                  max_batch_size=128)
    before = service.client.get(f"/v1/jobs/{job_id}").json()["attempts"][-1]
    assert before["batch_sizes"] == []
    history = [{"samples": 0, "batch_size": 32}, {"samples": 1280, "batch_size": 64}]
    report = {"reason": "finished", "exit_code": 0, "batch_sizes": history,
              "progress": progress(3000, 64, 1000).model_dump()}
    assert service.client.post(f"/v1/attempts/{attempt_id}/exit", headers=_auth(token),
                               json=report).json()["accepted"]
    after = service.client.get(f"/v1/jobs/{job_id}").json()["attempts"][-1]
    assert after["batch_sizes"] == history


def test_attempt_tokens_authenticate_one_attempt_only(service: Service) -> None:
    _, first, first_token = service.start_one(name="one")
    _, second, second_token = service.start_one(name="two")
    url = f"/v1/attempts/{first}/heartbeat"
    assert service.client.post(url, json=_beat(1, 1)).status_code == 401
    assert service.client.post(url, headers=_auth("forged"), json=_beat(1, 1)).status_code == 401
    other = service.client.post(url, headers=_auth(second_token), json=_beat(1, 1))
    assert other.status_code == 403 and f"attempt {second}" in other.json()["detail"]
    assert service.client.post(url, headers=_auth(first_token), json=_beat(1, 1)).status_code == 200
    for path in ("checkpoints", "exit"):
        assert service.client.post(f"/v1/attempts/{first}/{path}", headers=_auth(second_token),
                                   json={}).status_code == 403


# -- users' token --------------------------------------------------------------------------------

def test_a_service_with_a_token_refuses_requests_without_it(tmp_path: Path) -> None:
    svc = Service(tmp_path, token="s3cret", host="0.0.0.0")
    with svc.client:
        assert svc.client.get("/v1/jobs").status_code == 401
        assert svc.client.post("/v1/jobs", json=SPEC).status_code == 401
        assert svc.client.get("/v1/jobs", headers=_auth("wrong")).status_code == 401
        assert svc.client.get("/v1/cluster").status_code == 401
        assert svc.store.jobs() == []
        assert svc.client.post("/v1/jobs", json=SPEC, headers=_auth("s3cret")).status_code == 201
        assert svc.client.get("/v1/healthz").status_code == 200
        svc.loop.tick()
        (attempt,) = svc.store.attempts()
        token = svc.backend.attempts[attempt.id].spec.env["SHOCKWAVE_ATTEMPT_TOKEN"]
        assert "s3cret" not in svc.backend.attempts[attempt.id].spec.env.values()
        assert svc.client.get("/v1/jobs", headers=_auth(token)).status_code == 401


def test_no_token_off_loopback_is_refused(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, host="0.0.0.0", policy="fifo")
    with pytest.raises(InputError, match="without a token"):
        create_app(settings, Store(settings.db_path), FakeBackend(), clock=FakeClock())
