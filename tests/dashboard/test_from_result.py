"""The dashboard of a saved simulation: a hand-built result read at chosen times (every number
worked out by hand), invariants on a generated one, and the JSON routes over it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shockwave.dashboard.from_result import ResultSource
from shockwave.dashboard.model import colour_of
from shockwave.dashboard.results_app import pick_result, results_app
from shockwave.errors import InputError
from shockwave.experiment import Inputs, run_policy
from shockwave.metrics import ftf_rhos
from shockwave.sim.result import JobRecord, SimResult


def hand_result() -> SimResult:
    """2 GPUs, rounds of 10 s. Job 0 (20 s alone) holds GPU 0 for rounds 0-1; job 1 (10 s)
    GPU 1 in round 0; job 2 arrives at 5 s (15 s alone) and holds GPU 1 from 10 s to 25 s."""
    records = (
        JobRecord(0, "ResNet-18", 32, 1, "static", 0.0, 20.0, 20.0),
        JobRecord(1, "LM", 10, 1, "static", 0.0, 10.0, 10.0),
        JobRecord(2, "Transformer", 16, 1, "accordion", 5.0, 25.0, 15.0,
                  batch_size_timeline=((18.0, 64),)),
    )
    return SimResult(policy="fifo", num_gpus=2, records=records,
                     schedule=({0: (0,), 1: (1,)}, {0: (0,), 2: (1,)}, {2: (1,)}),
                     round_start_s=(0.0, 10.0, 20.0), round_end_s=(10.0, 20.0, 30.0),
                     gpu_busy_s=(20.0, 25.0), makespan_s=25.0, num_trace_jobs=3)


def by_id(snapshot):
    return {job.id: job for job in snapshot.jobs}


def test_mid_run_by_hand() -> None:
    snap = ResultSource(hand_result()).snapshot(12.0)
    assert snap.source == "simulation" and snap.refresh_s is None
    assert snap.now_s == 12.0 and snap.end_s == 30.0 and snap.round_s == 10.0
    assert snap.round_index == 1 and snap.round_ends_in_s == 8.0
    assert [(g.slot, g.job_id) for g in snap.gpus] == [(0, 0), (1, 2)]
    jobs = by_id(snap)
    assert [(j.id, j.state) for j in snap.jobs] == [(0, "RUNNING"), (1, "COMPLETED"),
                                                    (2, "RUNNING")]
    assert snap.counts == {"QUEUED": 0, "RUNNING": 2, "COMPLETED": 1}
    # contention max(1, 3/2) = 1.5; job 0: 12 s of its 20 s lease, 12 s since arrival
    assert jobs[0].progress == pytest.approx(0.6)
    assert jobs[0].estimated_rho == pytest.approx((12 + 0.4 * 20 * 1.5) / (20 * 1.5), rel=1e-6)
    # job 2: 2 s of 15 s, 7 s since arrival
    assert jobs[2].progress == pytest.approx(2 / 15)
    assert jobs[2].estimated_rho == pytest.approx((7 + 13 * 1.5) / (15 * 1.5), rel=1e-6)
    assert jobs[2].batch_size == 16 and jobs[2].attempts == 1
    # completed: the report's rho, 10 / (10 * 1.5)
    assert jobs[1].estimated_rho == pytest.approx(2 / 3) and jobs[1].finished_s == 10.0
    assert jobs[1].progress == 1.0
    timeline = snap.timeline
    assert list(zip(timeline.job, timeline.start_s, timeline.end_s, timeline.slots,
                    strict=True)) == [(0, 0.0, 12.0, [0]), (1, 0.0, 10.0, [1]),
                                      (2, 10.0, 12.0, [1])]


def test_a_job_waiting_says_why() -> None:
    snap = ResultSource(hand_result()).snapshot(7.0)
    jobs = by_id(snap)
    assert jobs[2].state == "QUEUED" and jobs[2].progress == 0.0
    assert jobs[2].wait_reason == "not placed in round 0: FIFO gave the GPUs to other jobs"
    assert jobs[0].wait_reason is None
    assert ResultSource(hand_result()).snapshot(3.0).jobs[0].wait_reason is None
    assert [j.id for j in ResultSource(hand_result()).snapshot(3.0).jobs] == [0, 1]  # 2: not yet


def test_the_end_is_the_report() -> None:
    result = hand_result()
    snap = ResultSource(result).snapshot()
    assert snap.now_s == 30.0 and all(j.state == "COMPLETED" for j in snap.jobs)
    assert all(g.job_id is None for g in snap.gpus)
    expected = ftf_rhos(result.records, 3, 2)
    assert [j.estimated_rho for j in snap.jobs] == pytest.approx(expected)
    assert by_id(snap)[2].batch_size == 64


def test_the_estimate_meets_the_report_at_completion() -> None:
    """Just before its completion the running estimate is the report's rho (static factor)."""
    source = ResultSource(hand_result())
    before = by_id(source.snapshot(25.0 - 1e-9))[2]
    assert before.state == "RUNNING"
    assert before.estimated_rho == pytest.approx(20 / (15 * 1.5), rel=1e-5)


def test_job_page_by_hand() -> None:
    page = ResultSource(hand_result()).job_page(2)
    assert page is not None
    assert [(lease.number, lease.slots, lease.start_s, lease.end_s, lease.outcome)
            for lease in page.leases] == [(1, [1], 10.0, 25.0, "completed")]
    assert page.batch_sizes == [(5.0, 16), (18.0, 64)]
    assert page.throughput == []
    assert page.events[0] == (5.0, "arrived") and page.events[-1][1].startswith("completed")
    assert page.palette_colour == colour_of(2)
    assert ResultSource(hand_result()).job_page(9) is None


def test_snapshot_invariants_over_time() -> None:
    """On a real simulation (Gavel on the canonical trace): at every third round, each GPU's
    holder is RUNNING on exactly its gang, counts match the jobs listed, progress never
    decreases, and the end is the report's."""
    result = run_policy("max_min_fairness", Inputs())
    source = ResultSource(result)
    last: dict[int, float] = {}
    for start in result.round_start_s[::3]:
        snap = source.snapshot(start + 1e-6)
        jobs = by_id(snap)
        held = [g.job_id for g in snap.gpus if g.job_id is not None]
        for job_id in set(held):
            assert jobs[job_id].state == "RUNNING"
            assert held.count(job_id) == jobs[job_id].gpus
        assert sum(snap.counts.values()) == len(snap.jobs)
        for job in snap.jobs:
            assert job.progress >= last.get(job.id, 0.0) - 1e-12
            last[job.id] = job.progress
        assert all(end <= snap.now_s for end in snap.timeline.end_s)
    final = source.snapshot()
    assert [j.estimated_rho for j in final.jobs] == pytest.approx(
        ftf_rhos(sorted(result.records, key=lambda r: r.job_id), result.num_trace_jobs,
                 result.num_gpus))


def test_routes_and_the_choice_of_result() -> None:
    result = hand_result()
    with TestClient(results_app(result)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "dashboard.js" in page.text
        assert client.get("/dashboard/static/dashboard.js").status_code == 200
        snap = client.get("/dashboard/api/snapshot", params={"at_s": 12}).json()
        assert snap["now_s"] == 12.0 and snap["round_index"] == 1
        assert client.get("/dashboard/api/snapshot", params={"at_s": -1}).status_code == 422
        assert client.get("/dashboard/api/jobs/2").json()["job"]["id"] == 2
        missing = client.get("/dashboard/api/jobs/99")
        assert missing.status_code == 404 and missing.json() == {"detail": "no job 99"}
    other = SimResult(**{**result.__dict__, "policy": "shockwave"})
    assert pick_result([result, other], "shockwave") is other
    assert pick_result([result, other], None) is result
    with pytest.raises(InputError, match="no result of policy 'gavel'.*fifo, shockwave"):
        pick_result([result, other], "gavel")


def test_serving_a_policy_the_file_lacks_is_one_line(tmp_path) -> None:
    import json
    import subprocess
    import sys

    from shockwave.sim.result import result_to_json

    path = tmp_path / "fifo.json"
    path.write_text(json.dumps(result_to_json(hand_result())))
    done = subprocess.run([sys.executable, "-m", "shockwave", "report", str(path), "--serve",
                           "--policy", "gavel"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --policy: no result of policy 'gavel' in the files; they hold: fifo"]


def test_a_cluster_of_types_is_grouped_by_type() -> None:
    result = SimResult(**{**hand_result().__dict__, "gpu_types": ("v100", "k80")})
    snap = ResultSource(result).snapshot(12.0)
    assert [(g.slot, g.gpu_type, g.server, g.device) for g in snap.gpus] == [
        (0, "v100", 0, "v100 0"), (1, "k80", 1, "k80 1")]
    homogeneous = ResultSource(hand_result()).snapshot(12.0)
    assert {g.gpu_type for g in homogeneous.gpus} == {"v100"}
    assert {g.server for g in homogeneous.gpus} == {0}
