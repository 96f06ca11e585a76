"""The store: compare-and-set writes with their events, races, idempotent messages, and a file
that can be reopened (WAL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from service_harness import job_spec, progress

from shockwave.service.states import AttemptState, JobState, Outcome
from shockwave.service.store import RoundRow, Store


def test_compare_and_set_writes_only_from_the_expected_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.add_job(job_spec(), 0.0)
    assert store.transition_job(job.id, JobState.QUEUED, JobState.RUNNING, now_s=1.0, note="go",
                                started_s=1.0)
    before = store.events()
    assert not store.transition_job(job.id, JobState.QUEUED, JobState.RUNNING, now_s=2.0,
                                    note="again")
    assert store.events() == before  # nothing written, no event
    row = store.job(job.id)
    assert row.state == JobState.RUNNING and row.started_s == 1.0  # type: ignore[union-attr]
    event = before[-1]
    assert (event.from_state, event.to_state, event.reason) == ("QUEUED", "RUNNING", "go")


def test_two_racing_writers_one_wins(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.add_job(job_spec(), 0.0)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race(target: JobState) -> None:
        barrier.wait()
        results.append(store.transition_job(job.id, JobState.QUEUED, target, now_s=1.0,
                                            note=str(target)))

    threads = [threading.Thread(target=race, args=(t,))
               for t in [JobState.RUNNING, JobState.CANCELLED] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert len([e for e in store.events() if e.from_state == "QUEUED"]) == 1


def test_the_state_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path)
    assert store.journal_mode() == "wal"
    job = store.add_job(job_spec(name="kept"), 5.0)
    attempt = store.add_attempt(job.id, [1, 0], "h", batch_size=10, round_index=3, now_s=6.0,
                                start_samples=0)
    store.transition_attempt(attempt.id, AttemptState.PENDING, AttemptState.LAUNCHING, now_s=6.0,
                             note="x", handle={"pid": 42})
    store.add_round(RoundRow(idx=3, start_s=6.0, end_s=8.0, placements={job.id: (1, 0)},
                             kept=[], revoked=[], added=[job.id], decision_s=0.01,
                             bookkeeping_s=0.0))
    store.set_meta("k", "v")
    # No close(): a kill -9 does not close either.
    again = Store(path)
    row = again.job(job.id)
    assert row.name == "kept" and row.spec == job.spec  # type: ignore[union-attr]
    a = again.attempt(attempt.id)
    assert a.slots == (1, 0) and a.handle == {"pid": 42}  # type: ignore[union-attr]
    assert a.state == AttemptState.LAUNCHING  # type: ignore[union-attr]
    assert again.latest_round().placements == {job.id: (1, 0)}  # type: ignore[union-attr]
    assert again.get_meta("k") == "v"
    assert [e.reason for e in again.events()][:1] == ["submitted"]


def test_heartbeats_are_recorded_once_per_sequence_number(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.add_job(job_spec(), 0.0)
    attempt = store.add_attempt(job.id, [0], "h", batch_size=10, round_index=0, now_s=0.0,
                                start_samples=0)
    store.transition_attempt(attempt.id, AttemptState.PENDING, AttemptState.LAUNCHING, now_s=0,
                             note="x")
    beat = progress(50).model_dump()
    assert store.record_heartbeat(attempt.id, 3, 1.0, lease_expires_s=2.0, progress=beat,
                                  samples_per_s=10.0)
    assert not store.record_heartbeat(attempt.id, 3, 1.5, lease_expires_s=9.0,
                                      progress=progress(90).model_dump(), samples_per_s=1.0)
    assert not store.record_heartbeat(attempt.id, 2, 1.5, lease_expires_s=9.0,
                                      progress=progress(90).model_dump(), samples_per_s=1.0)
    row = store.attempt(attempt.id)
    assert (row.last_seq, row.samples, row.lease_expires_s) == (3, 50, 2.0)  # type: ignore[union-attr]
    assert store.job(job.id).samples == 50  # type: ignore[union-attr]
    store.transition_attempt(attempt.id, AttemptState.LAUNCHING, AttemptState.EXITED, now_s=2,
                             note="x", outcome=Outcome.lost)
    assert not store.record_heartbeat(attempt.id, 4, 3.0, lease_expires_s=9.0, progress=beat,
                                      samples_per_s=1.0)


def test_checkpoints_are_acknowledged_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.add_job(job_spec(), 0.0)
    attempt = store.add_attempt(job.id, [0], "h", batch_size=10, round_index=0, now_s=0.0,
                                start_samples=0)
    assert store.add_checkpoint(attempt.id, "c1", progress(30).model_dump(), 1.0)
    assert not store.add_checkpoint(attempt.id, "c1", progress(30).model_dump(), 2.0)
    row = store.job(job.id)
    assert (row.checkpoint_id, row.checkpoint_samples, row.checkpoint_attempt) == (  # type: ignore[union-attr]
        "c1", 30, attempt.id)
    assert [c.checkpoint_id for c in store.checkpoints(job.id)] == ["c1"]


def test_writes_name_their_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    job = store.add_job(job_spec(), 0.0)
    with pytest.raises(ValueError, match="transition_job"):
        store.update_job(job.id, state=JobState.FAILED)
    with pytest.raises(ValueError, match="unknown column"):
        store.update_job(job.id, nonsense=1)
    with pytest.raises(ValueError):
        with store.atomic():
            store.update_job(job.id, failures=7)
            raise ValueError("rolled back")
    assert store.job(job.id).failures == 0  # type: ignore[union-attr]
