"""A real adaptive job under the real service: the digits CNN under GNS proposes a larger batch
size on its heartbeats, the service approves it, the job applies it in place (one attempt, no
restart) and the scheduler's view of the job (its batch size, the speed it plans with) follows
in the round of the approval."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
yaml = pytest.importorskip("yaml")

from service_process import ServerProcess  # noqa: E402

from shockwave.workloads import spec_path  # noqa: E402


def test_a_gns_digits_job_doubles_its_batch_size_without_a_restart(tmp_path: Path) -> None:
    spec = yaml.safe_load(spec_path("digits-gns").read_text())
    # The service records a speed at a batch size from two heartbeats in a row at it. With the
    # bundled spec (12 epochs, up to 256) the job could leave 64 within a second: one fresh-clone
    # run finished ~1.7 s after the change, another doubled on to 128 before a second heartbeat
    # at 64, and neither recorded a speed there. Capped at 64 and given 24 epochs, it trains at
    # 64 for seconds after the change.
    spec["total_epochs"] = 24
    spec["max_batch_size"] = 64
    options = ("--gpus", "1", "--round-seconds", "3", "--heartbeat-seconds", "0.5",
               "--lease-seconds", "10",
               "--grace-seconds", "5", "--startup-seconds", "60", "--policy", "shockwave")
    with ServerProcess(tmp_path / "state", *options).running() as server:
        job_id = server.submit(**spec)
        (job,) = server.wait_final(timeout_s=120)
        detail = server.get(f"/v1/jobs/{job_id}")
        rounds = server.get("/v1/rounds", limit=1000)
    assert job["state"] == "COMPLETED"
    (attempt,) = detail["attempts"]  # one attempt: the change needed no restart
    assert attempt["outcome"] == "completed"
    history = detail["batch_sizes"]
    assert history[0]["batch_size"] == 32
    doubled = [h for h in history[1:] if h["batch_size"] == 64]
    assert doubled, history  # approved at least once: 32 -> 64
    approved = doubled[0]
    # The job applied it in place: its own history (exit report) has the change mid-run.
    applied = [c for c in attempt["batch_sizes"] if c["batch_size"] == 64]
    assert applied and 0 < applied[0]["samples"] < job["progress"]["total_samples"]
    # The scheduler's view changed in the round of the approval: that round's record holds the
    # job, and the service measured the job's speed at the new size.
    round_index = approved["round_index"]
    assert round_index is not None
    (this_round,) = [r for r in rounds if r["index"] == round_index]
    assert str(job_id) in this_round["placements"]
    assert this_round["start_s"] <= approved["at_s"] < this_round["end_s"] + 0.5
    assert {s["batch_size"] for s in detail["speeds"]} >= {32, 64}
    assert job["progress"]["batch_size"] == history[-1]["batch_size"]
