"""The dashboard over a service (real store, round loop and planner; fake backend and clock):
what it shows equals what ``/v1`` reports, and it can be switched off."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_harness import Harness, make_harness

from shockwave.dashboard.from_service import refresh_interval_s
from shockwave.dashboard.model import colour_of
from shockwave.service.api.app import create_app


def test_snapshot_equals_the_api(tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=2)
    ids = [h.submit(name=f"j{i}").id for i in range(3)] + [h.submit(name="g", gpus=2).id]
    h.drive(seconds=3.0)
    app = create_app(h.settings, h.store, h.backend, loop=h.loop)
    with TestClient(app) as client:
        snap = client.get("/dashboard/api/snapshot").json()
        jobs = {j["id"]: j for j in client.get("/v1/jobs").json()}
        cluster = client.get("/v1/cluster").json()
        detail = client.get(f"/v1/jobs/{ids[0]}").json()
        page = client.get(f"/dashboard/api/jobs/{ids[0]}").json()
    assert snap["source"] == "service" and snap["token_required"] is False
    assert snap["refresh_s"] == refresh_interval_s(2.0) == 0.5
    assert snap["now_s"] == cluster["now_s"] and snap["round_index"] == cluster["round_index"]
    assert snap["counts"] == cluster["jobs"]
    assert [(g["slot"], g["device"], g["job_id"]) for g in snap["gpus"]] == \
        [(s["slot"], s["device"], s["job_id"]) for s in cluster["slots"]]
    assert [j["id"] for j in snap["jobs"]] == ids
    for entry in snap["jobs"]:
        api = jobs[entry["id"]]
        assert entry["state"] == api["state"]
        assert entry["progress"] == api["progress"]["fraction"]
        assert entry["batch_size"] == api["progress"]["batch_size"]
        assert entry["attempts"] == api["attempts_count"]
        assert entry["estimated_rho"] == api["estimated_rho"]
        assert entry["wait_reason"] == api["wait_reason"]
    # every attempt that started is one lease on the timeline, on its slots
    started = [(a.job_id, list(a.slots)) for a in h.store.attempts() if a.started_s is not None]
    timeline = snap["timeline"]
    assert sorted(zip(timeline["job"], timeline["slots"], strict=True)) == sorted(started)
    assert all(e >= s for s, e in zip(timeline["start_s"], timeline["end_s"], strict=True))
    assert page["job"]["id"] == ids[0] and page["palette_colour"] == colour_of(ids[0])
    assert [lease["number"] for lease in page["leases"]] == \
        [a["number"] for a in detail["attempts"] if a["started_s"] is not None]
    assert page["batch_sizes"] == [[b["at_s"], b["batch_size"]] for b in detail["batch_sizes"]]
    # one throughput point per round the job trained, at that round's start
    starts = {r.idx: r.start_s for r in h.store.rounds(1000)}
    job = h.store.job(ids[0])
    assert page["throughput"] == [[starts[int(r)], it * b] for r, it, b in job.timeline]
    assert len(page["throughput"]) >= 1


def test_the_page_and_its_assets_are_served(harness: Harness) -> None:
    app = create_app(harness.settings, harness.store, harness.backend, clock=harness.clock)
    with TestClient(app) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        for asset in ("dashboard.js", "dashboard.css"):
            assert client.get(f"/dashboard/static/{asset}").status_code == 200
        assert client.get("/dashboard/api/jobs/5").status_code == 404


def test_reads_need_no_token_but_the_page_knows_one_is_needed(tmp_path: Path) -> None:
    h = make_harness(tmp_path, token="s3cret")
    h.submit(name="a")
    app = create_app(h.settings, h.store, h.backend, clock=h.clock)
    with TestClient(app) as client:
        assert client.get("/v1/jobs").status_code == 401
        snap = client.get("/dashboard/api/snapshot")
        assert snap.status_code == 200 and snap.json()["token_required"] is True
        assert [j["name"] for j in snap.json()["jobs"]] == ["a"]


def test_no_dashboard(tmp_path: Path) -> None:
    h = make_harness(tmp_path, dashboard=False)
    app = create_app(h.settings, h.store, h.backend, clock=h.clock)
    with TestClient(app) as client:
        assert client.get("/").status_code == 404
        assert client.get("/dashboard/api/snapshot").status_code == 404
        assert client.get("/v1/healthz").status_code == 200


@pytest.mark.parametrize(("round_s", "expected"), [(1.0, 0.5), (2.0, 0.5), (8.0, 2.0),
                                                   (120.0, 5.0)])
def test_refresh_is_a_quarter_round_within_bounds(round_s: float, expected: float) -> None:
    assert refresh_interval_s(round_s) == expected


def test_the_timeline_keeps_the_last_rounds_only(tmp_path: Path) -> None:
    """A long-lived service: the snapshot's timeline starts TIMELINE_ROUNDS rounds ago, and
    holds exactly the attempts that held slots after that, clipped to it."""
    from shockwave.dashboard.from_service import TIMELINE_ROUNDS

    h = make_harness(tmp_path, policy="max_min_fairness", gpus=2, round_s=1.0)
    for i in range(4):
        h.submit(name=f"j{i}", total_epochs=60)
    h.drive(seconds=130.0)  # 4 jobs of 60 s each on 2 slots, in rounds of 1 s
    app = create_app(h.settings, h.store, h.backend, loop=h.loop)
    with TestClient(app) as client:
        snap = client.get("/dashboard/api/snapshot").json()
    since = h.clock.now() - TIMELINE_ROUNDS * 1.0
    assert snap["start_s"] == pytest.approx(since)
    expected = [a for a in h.store.attempts() if a.started_s is not None
                and (a.ended_s is None or a.ended_s > since)]
    older = [a for a in h.store.attempts() if a.ended_s is not None and a.ended_s <= since]
    assert older and expected  # the window cuts the history
    timeline = snap["timeline"]
    assert timeline["job"] == [a.job_id for a in expected]
    assert timeline["start_s"] == [max(a.started_s, since) for a in expected]
