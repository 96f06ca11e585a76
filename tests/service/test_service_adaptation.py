"""Batch-size adaptation on the service side, one tick at a time: the job proposes, the service
approves within the job's bounds, the planner hears of it at the next tick, and the speeds the
planner uses are the ones the service measured (docs/service.md, "Adaptation")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from service_harness import Harness, make_harness

from shockwave.service.store import SCHEMA_VERSION, Speed, Store
from shockwave.service.views import SpeedModel, cluster_view
from shockwave.workload.throughput import ThroughputTable


def _spy_batch_size_changes(h: Harness) -> list[int]:
    calls: list[int] = []
    original = h.loop.planner.batch_size_changed

    def spy(job_id: int) -> None:
        calls.append(job_id)
        original(job_id)

    h.loop.planner.batch_size_changed = spy  # type: ignore[method-assign]
    return calls


def test_an_approved_change_is_the_jobs_batch_size_at_once(harness: Harness) -> None:
    h = harness
    job = h.submit(adaptation="gns", batch_size=10, max_batch_size=40)
    calls = _spy_batch_size_changes(h)
    h.tick()
    (attempt,) = h.current()
    h.beat(attempt.id, 30)
    h.clock.advance(0.5)
    reply = h.beat(attempt.id, 40, proposal=20)
    assert (reply.batch_size, reply.batch_size_version) == (20, 1)
    row = h.store.job(job.id)
    assert row is not None and row.batch_size == 20  # before the job has even applied it
    round_index = h.loop.round.idx  # type: ignore[union-attr]
    assert row.batch_sizes == [[100.0, None, 10], [100.5, round_index, 20]]
    # A heartbeat sent before the reply arrived still reports 10: the approved size stands.
    h.beat(attempt.id, 50, batch_size=10)
    assert h.store.job(job.id).batch_size == 20  # type: ignore[union-attr]
    assert calls == []
    h.tick(0.25)  # the next tick, still inside the round, tells the planner
    assert h.loop.round.idx == round_index  # type: ignore[union-attr]
    assert calls == [job.id]
    h.tick(0.25)
    assert calls == [job.id]  # once per change


def test_the_api_view_of_a_change(harness: Harness) -> None:
    from shockwave.service.api.schemas import job_out

    h = harness
    job = h.submit(adaptation="accordion", batch_size=10, min_batch_size=5, max_batch_size=40)
    h.tick()
    (attempt,) = h.current()
    h.beat(attempt.id, 10, proposal=1)  # below the bound: clamped to it
    out = job_out(h.store.job(job.id), h.clock.now())  # type: ignore[arg-type]
    assert out.progress.batch_size == 5
    assert [(b.round_index, b.batch_size) for b in out.batch_sizes] == [(None, 10), (0, 5)]
    event = [e for e in h.store.events(job_id=job.id) if e.data and "approved" in e.data][-1]
    assert event.reason == "batch size 10 -> 5 approved"
    assert event.data == {"proposal": 1, "approved": 5, "round": 0}


def test_a_draining_attempt_gets_no_new_batch_size(harness: Harness) -> None:
    h = harness
    job = h.submit(adaptation="gns", batch_size=10, max_batch_size=40)
    h.tick()
    (attempt,) = h.current()
    assert h.store.request_cancel(job.id, h.clock.now())
    h.tick(0.25)
    reply = h.beat(attempt.id, 10, proposal=40)
    assert reply.action != "continue"
    assert (reply.batch_size, reply.batch_size_version) == (10, 0)


def test_measured_speeds_skip_the_first_heartbeat_after_a_change(harness: Harness) -> None:
    h = harness
    job = h.submit(adaptation="gns", batch_size=10, max_batch_size=40)
    h.tick()
    (attempt,) = h.current()
    h.beat(attempt.id, 10, samples_per_s=500.0)  # first heartbeat: no previous size, not counted
    assert h.store.speeds([job.id]) == {}
    h.beat(attempt.id, 20, samples_per_s=200.0)
    h.beat(attempt.id, 30, samples_per_s=100.0)
    (speed,) = h.store.speeds([job.id])[job.id]
    assert speed == Speed(batch_size=10, gpus=1, samples_per_s=pytest.approx(0.3 * 100 + 0.7 * 200),
                          measurements=2)
    h.beat(attempt.id, 40, samples_per_s=150.0, proposal=20)
    h.beat(attempt.id, 60, samples_per_s=999.0, batch_size=20)  # mixes both sizes: skipped
    h.beat(attempt.id, 80, samples_per_s=300.0, batch_size=20)
    speeds = {s.batch_size: s for s in h.store.speeds([job.id])[job.id]}
    assert speeds[10].samples_per_s == pytest.approx(0.3 * 150 + 0.7 * 170)
    assert speeds[20] == Speed(20, 1, 300.0, 1)


def test_a_speed_tagged_with_its_batch_size_counts_from_the_first_heartbeat(
        harness: Harness) -> None:
    """The job library restarts its average at a change and says which size it measured: the
    first heartbeat of an attempt and the first after a change count, at that size, even while
    the heartbeat still shows the old size (the change lands between two heartbeats)."""
    h = harness
    job = h.submit(adaptation="gns", batch_size=10, max_batch_size=40)
    h.tick()
    (attempt,) = h.current()
    h.beat(attempt.id, 10, samples_per_s=500.0, speed_batch_size=10)
    assert h.store.speeds([job.id])[job.id] == [Speed(10, 1, 500.0, 1)]
    h.beat(attempt.id, 20, samples_per_s=400.0, speed_batch_size=10, proposal=20)
    h.beat(attempt.id, 40, samples_per_s=900.0, speed_batch_size=20, batch_size=20)
    h.beat(attempt.id, 60, samples_per_s=None, speed_batch_size=None, batch_size=20)
    speeds = {s.batch_size: s for s in h.store.speeds([job.id])[job.id]}
    assert speeds[10] == Speed(10, 1, pytest.approx(0.3 * 400 + 0.7 * 500), 2)
    assert speeds[20] == Speed(20, 1, 900.0, 1)


def _job(h: Harness, **spec: object) -> object:
    return h.store.job(h.submit(**spec).id)


def test_the_speed_model_prefers_measurements_then_the_profile(harness: Harness) -> None:
    h = harness
    table = ThroughputTable({"v100": {("digits (batch size 32)", 1): 4.0,
                                      ("digits (batch size 64)", 1): 3.0,
                                      ("digits (batch size 64)", 2): 5.0}})
    model = SpeedModel(table=table, default_samples_per_s=77.0)
    job = _job(h, name="digits", batch_size=32, max_batch_size=256)
    other = _job(h, name="other", batch_size=32, expected_samples_per_s=50.0)
    plain = _job(h, name="plain", batch_size=32, expected_samples_per_s=None)
    measured = [Speed(64, 1, 250.0, 3), Speed(256, 1, 900.0, 1), Speed(64, 2, 1.0, 1)]
    assert model.speed(job, measured, 64) == (250.0, "measured")
    assert model.speed(job, measured, 32) == (4.0 * 32, "profile")  # iterations/s x batch
    assert model.speed(job, measured, 64, gpus=2) == (1.0, "measured")
    assert model.speed(job, measured, 128) == (250.0, "nearest")  # 64 and 256 equally far
    assert model.speed(other, [], 32) == (50.0, "hint")
    assert model.speed(plain, [], 32) == (77.0, "default")


def test_the_planner_sees_measured_speeds(harness: Harness) -> None:
    h = harness
    job = h.submit(adaptation="gns", batch_size=10, max_batch_size=40, expected_samples_per_s=50.0)
    h.tick()
    (attempt,) = h.current()
    for samples in (10, 20, 30):
        h.beat(attempt.id, samples, samples_per_s=400.0)
    rows = [h.store.job(job.id)]
    view = cluster_view(rows, h.settings, now_s=h.clock.now(), round_index=1,  # type: ignore[arg-type]
                        cluster=h.loop.cluster, speeds=h.loop.speeds,
                        measured=h.store.speeds([job.id]))
    assert view.jobs[job.id].throughput == pytest.approx(400.0 / 10)
    h.beat(attempt.id, 40, samples_per_s=400.0, proposal=20)
    rows = [h.store.job(job.id)]
    view = cluster_view(rows, h.settings, now_s=h.clock.now(), round_index=1,  # type: ignore[arg-type]
                        cluster=h.loop.cluster, speeds=h.loop.speeds,
                        measured=h.store.speeds([job.id]))
    # No measurement at 20 yet: the nearest one (samples/s as at 10), in iterations of 20.
    assert view.jobs[job.id].batch_size == 20
    assert view.jobs[job.id].throughput == pytest.approx(400.0 / 20)


def test_a_schema_1_database_is_migrated_to_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(path)
    h = make_harness(tmp_path / "h")
    spec = h.submit().spec
    store.add_job(spec, 5.0)
    store.close()
    h.store.close()
    db = sqlite3.connect(path)
    for statement in ("ALTER TABLE jobs DROP COLUMN noise_scale",
                      "ALTER TABLE jobs DROP COLUMN batch_sizes",
                      "ALTER TABLE attempts DROP COLUMN reported_batch_size",
                      "ALTER TABLE attempts DROP COLUMN training_since_s",
                      "DROP TABLE speeds", "PRAGMA user_version = 1"):
        db.execute(statement)
    db.commit()
    db.close()
    store = Store(path)
    (job,) = store.jobs()
    assert job.batch_sizes == [] and job.noise_scale is None
    assert store.speeds() == {}
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()


def test_a_learned_schedule_shapes_the_profile_as_in_the_simulator(harness: Harness) -> None:
    """With the facts' schedule for digits|gns|32|1 the view's profile runs epochs 0-1 at 32 and
    2-3 at 64, each at its own speed: the simulator's profile of the same job."""
    from dataclasses import replace

    from shockwave.service.views import job_view
    from shockwave.workload.adaptation import load_workload_facts

    h = harness
    facts = replace(load_workload_facts(), schedules={("digits", "gns", 32, 1): ((0, 32), (2, 64))})
    table = ThroughputTable({"v100": {("digits (batch size 32)", 1): 10.0,
                                      ("digits (batch size 64)", 1): 8.0}})
    model = SpeedModel(table=table, facts=facts)
    job = h.store.job(h.submit(name="trace0-digits", model="digits", adaptation="gns",
                               batch_size=32, max_batch_size=64, samples_per_epoch=640,
                               total_epochs=None, total_samples=2240).id)
    view = job_view(job, [], model, 0)  # type: ignore[arg-type]
    assert view.profile.batch_size_every_epoch == (32, 32, 64, 64)
    # 640 samples at 320 samples/s, twice; at 512 samples/s once, then the last 320 samples
    assert list(view.profile.duration_every_epoch) == [2.0, 2.0, 1.25, 0.625]
    assert view.spec.model == "digits" and view.batch_size == 32
    static = h.store.job(h.submit(name="digits", batch_size=32, samples_per_epoch=640,
                                  total_epochs=None, total_samples=1280).id)
    assert job_view(static, [], model, 0).profile.batch_size_every_epoch == (32, 32)  # type: ignore[arg-type]
