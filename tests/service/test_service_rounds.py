"""The round loop on the fake backend with a fake clock and the real planner: every decision the
service makes, one tick at a time (docs/service.md, "The round loop")."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_harness import Harness, make_harness, progress

from shockwave.protocol import ExitReport
from shockwave.service.states import AttemptState, JobState, Outcome
from shockwave.service.store import AttemptRow
from shockwave.service.views import SpeedModel, job_view


@pytest.mark.parametrize("policy", ["fifo", "max_min_fairness", "shockwave"])
def test_every_job_completes_and_resumes_where_it_stopped(tmp_path: Path, policy: str) -> None:
    h = make_harness(tmp_path, policy=policy)
    ids = [h.submit(name=f"j{i}").id for i in range(4)] + [h.submit(name="gang", gpus=2).id]
    h.drive(seconds=120)
    assert h.all_final()
    for job_id in ids:
        job = h.store.job(job_id)
        assert job is not None and job.state == JobState.COMPLETED, (job_id, h.outcomes(job_id))
        assert job.samples == job.spec.samples == 400
        attempts = h.store.attempts(job_id=job_id)
        for before, after in zip(attempts, attempts[1:], strict=False):
            assert before.outcome == Outcome.yielded
            assert after.start_samples == before.samples  # resumed from its last checkpoint
        assert job.failures == 0
    # No slot was ever held by two attempts at once.
    _assert_no_overlap(h)
    assert len(h.store.rounds(10_000)) >= 5


def test_time_sharing_preempts_and_resumes(tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness")
    ids = [h.submit(name=f"j{i}", total_epochs=10).id for i in range(4)]
    h.drive(seconds=120)
    yielded = sum(h.outcomes(j).count("yielded") for j in ids)
    assert yielded >= 3
    assert all(h.store.job(j).state == JobState.COMPLETED for j in ids)  # type: ignore[union-attr]


def _assert_no_overlap(h: Harness) -> None:
    spans: dict[int, list[tuple[float, float]]] = {}
    for attempt in h.store.attempts():
        if attempt.started_s is None:
            continue
        for slot in attempt.slots:
            spans.setdefault(slot, []).append((attempt.started_s, attempt.ended_s or 1e18))
    for slot, intervals in spans.items():
        intervals.sort()
        for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
            assert start >= end, f"slot {slot} held twice"


def test_same_placement_keeps_the_attempt_across_rounds(harness: Harness) -> None:
    job = harness.submit(total_epochs=100)
    harness.tick()
    (attempt,) = harness.current()
    for _ in range(40):  # ten rounds
        harness.tick(0.25)
        harness.beat(attempt.id, 10)
    assert [a.id for a in harness.store.attempts(job_id=job.id)] == [attempt.id]
    rounds = harness.store.rounds()
    assert len(rounds) >= 5
    assert all(job.id in r.kept for r in rounds[1:])
    assert harness.store.attempt(attempt.id).state == AttemptState.RUNNING  # type: ignore[union-attr]


def test_revocation_checkpoint_and_stop_then_sigterm_then_kill(tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1, grace_s=1.0)
    first = h.submit(name="stubborn", total_epochs=100)
    h.submit(name="other", total_epochs=100)
    h.backend.on_stop[first.id] = "ignore"
    h.tick()
    (attempt,) = h.current()
    assert attempt.job_id == first.id
    h.beat(attempt.id, 10)
    revoked_at = None
    for _ in range(40):
        h.tick(0.25)
        h.beat(attempt.id, 10)
        row = h.store.attempt(attempt.id)
        if row.state == AttemptState.DRAINING:  # type: ignore[union-attr]
            revoked_at = h.clock.now()
            break
    assert revoked_at is not None
    reply = h.beat(attempt.id, 20)
    assert reply.action == "checkpoint_and_stop"
    assert reply.stop_by_s == pytest.approx(0.0)  # stop at the next step: the slot is taken
    fake = h.backend.attempts[attempt.id]
    h.tick(0.5)
    assert fake.stops == 0  # SIGTERM only after the grace period
    h.beat(attempt.id, 20)
    h.tick(0.5)
    assert fake.stops == 1 and fake.kills == 0
    h.beat(attempt.id, 20)
    h.tick(0.5)
    assert fake.kills == 0
    h.tick(0.5)  # SIGTERM + grace: the process group is killed
    assert fake.kills == 1
    h.tick()
    row = h.store.attempt(attempt.id)
    assert row.outcome == Outcome.killed  # type: ignore[union-attr]
    job = h.store.job(first.id)
    assert job.failures == 0 and job.state == JobState.QUEUED  # type: ignore[union-attr]


def test_silent_attempt_is_killed_at_lease_expiry_plus_grace_and_lost(harness: Harness) -> None:
    job = harness.submit(total_epochs=100)
    harness.backend.on_stop[job.id] = "ignore"
    harness.tick()
    (attempt,) = harness.current()
    harness.beat(attempt.id, 10)  # lease: 3 heartbeats = 0.75 s
    harness.tick(0.5)
    assert harness.store.attempt(attempt.id).state == AttemptState.RUNNING  # type: ignore[union-attr]
    harness.tick(0.5)  # 1.0 s since the heartbeat: expired
    row = harness.store.attempt(attempt.id)
    assert row.state == AttemptState.DRAINING and row.stop_reason == "lease_expired"  # type: ignore[union-attr]
    assert harness.beat(attempt.id, 20).action == "stop_now"
    assert harness.backend.attempts[attempt.id].stops == 1
    harness.tick(0.5)
    assert harness.backend.attempts[attempt.id].kills == 0
    harness.tick(0.5)  # lease expiry (0.75 s) + grace (1 s) = 1.75 s after the heartbeat
    assert harness.backend.attempts[attempt.id].kills == 1
    harness.tick()
    row = harness.store.attempt(attempt.id)
    assert row.outcome == Outcome.lost  # type: ignore[union-attr]
    assert harness.store.job(job.id).failures == 0  # type: ignore[union-attr]
    harness.tick(2.0)  # next round: it runs again, from its last checkpoint
    assert [a.job_id for a in harness.current()] == [job.id]


def test_an_attempt_that_never_heartbeats_fails(harness: Harness) -> None:
    job = harness.submit(total_epochs=100, max_failures=0)
    harness.backend.on_stop[job.id] = "sigterm"  # no SIGTERM handler: exits 143
    harness.tick()
    harness.tick(5.5)  # the start-up lease (5 s) ran out without a heartbeat
    harness.tick()
    (attempt,) = harness.store.attempts(job_id=job.id)
    assert attempt.outcome == Outcome.failed
    assert "no heartbeat" in (attempt.reason or "")
    assert harness.store.job(job.id).state == JobState.FAILED  # type: ignore[union-attr]


def test_failures_are_retried_with_backoff_then_the_job_fails(harness: Harness) -> None:
    job = harness.submit(max_failures=2)
    harness.tick()
    for failure in range(1, 4):
        (attempt,) = harness.current()
        harness.beat(attempt.id, 10 * failure)
        harness.backend.finish(attempt.id, 3, ExitReport(reason="failed", exit_code=3,
                                                         message="CUDA error: boom"))
        harness.tick()
        row = harness.store.job(job.id)
        assert row.failures == failure  # type: ignore[union-attr]
        if failure == 3:
            break
        assert row.state == JobState.QUEUED and row.not_before_s > harness.clock.now()  # type: ignore[union-attr]
        wait = row.not_before_s - harness.clock.now()  # type: ignore[union-attr]
        assert wait == pytest.approx(harness.settings.backoff_s * 2 ** (failure - 1))
        harness.tick(wait / 2)
        assert not harness.current()  # still in back-off
        for _ in range(20):
            harness.tick(0.5)
            if harness.current():
                break
    final = harness.store.job(job.id)
    assert final.state == JobState.FAILED  # type: ignore[union-attr]
    assert "exit code 3: CUDA error: boom" in final.reason  # type: ignore[union-attr,operator]
    assert "fake attempt" in (final.log_tail or "")  # type: ignore[union-attr]
    assert all(o == "failed" for o in harness.outcomes(job.id))


def test_exit_143_is_preemption_only_after_a_stop_request(tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1)
    a = h.submit(name="a", total_epochs=100)
    h.submit(name="b", total_epochs=100)
    h.backend.on_stop[a.id] = "sigterm"
    h.tick()
    (attempt,) = h.current()
    h.beat(attempt.id, 10)
    for _ in range(30):
        h.tick(0.25)
        h.beat(attempt.id, 10)
        if h.store.attempt(attempt.id).state == AttemptState.EXITED:  # type: ignore[union-attr]
            break
    assert h.store.attempt(attempt.id).outcome == Outcome.yielded  # type: ignore[union-attr]
    (other,) = [x for x in h.current() if x.job_id != a.id] or [None]
    assert other is not None
    h.backend.finish(other.id, 143, signal=15)  # a SIGTERM the service did not send
    h.tick()
    assert h.store.attempt(other.id).outcome == Outcome.lost  # type: ignore[union-attr]
    assert h.store.job(other.job_id).failures == 0  # type: ignore[union-attr]


def test_cancel_a_running_and_a_queued_job(tmp_path: Path) -> None:
    h = make_harness(tmp_path, gpus=1)
    running = h.submit(name="running", total_epochs=100)
    queued = h.submit(name="queued", total_epochs=100)
    h.tick()
    (attempt,) = h.current()
    assert h.store.request_cancel(running.id, h.clock.now())
    assert h.store.request_cancel(queued.id, h.clock.now())
    h.tick()
    assert h.store.job(queued.id).state == JobState.CANCELLED  # type: ignore[union-attr]
    assert h.beat(attempt.id, 10).action == "stop_now"
    assert h.backend.attempts[attempt.id].stops == 1  # SIGTERM at once; it yields
    h.tick()
    assert h.store.job(running.id).state == JobState.CANCELLED  # type: ignore[union-attr]
    assert not h.store.request_cancel(running.id, h.clock.now())


def test_a_start_that_fails_counts_as_a_failure(harness: Harness) -> None:
    job = harness.submit(max_failures=0)
    harness.backend.fail_start.add(job.id)
    harness.tick()
    final = harness.store.job(job.id)
    assert final.state == JobState.FAILED  # type: ignore[union-attr]
    assert "could not start" in (final.reason or "")  # type: ignore[union-attr]


def test_the_planner_hears_what_the_simulator_tells_it(tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness")
    calls: list[tuple[str, int]] = []
    planner = h.loop.planner
    for name in ("job_added", "job_removed", "job_ran", "batch_size_changed"):
        original = getattr(planner, name)

        def spy(job_id: int, *rest: float, _name: str = name, _f=original) -> None:  # noqa: ANN001
            calls.append((_name, job_id))
            _f(job_id, *rest)

        setattr(planner, name, spy)
    job = h.submit(total_epochs=5)  # five seconds: it runs through round boundaries
    h.drive(seconds=20)
    kinds = [c for c, j in calls if j == job.id]
    assert kinds[0] == "job_added" and kinds[-1] == "job_removed"
    assert "job_ran" in kinds


def test_the_view_comes_from_measured_progress(harness: Harness) -> None:
    job = harness.submit(total_epochs=4, expected_samples_per_s=50.0)
    speeds = SpeedModel.from_settings(harness.settings)
    view = job_view(harness.store.job(job.id), [], speeds, 0)  # type: ignore[arg-type]
    assert view.throughput == pytest.approx(5.0)  # the hint: 50 samples/s / batch 10
    assert view.total_steps == 40 and view.steps_done == 0
    assert view.profile.num_epochs == 4
    assert view.profile.run_time_s == pytest.approx(400 / 50)
    harness.tick()
    (attempt,) = harness.current()
    harness.beat(attempt.id, 120, samples_per_s=200.0)
    for _ in range(8):
        harness.tick(0.25)
        harness.beat(attempt.id, 120, samples_per_s=200.0)
    row = harness.store.job(job.id)
    measured = harness.store.speeds([job.id])[job.id]
    view = job_view(row, measured, speeds, harness.loop.round.idx)  # type: ignore[arg-type,union-attr]
    assert view.throughput == pytest.approx(20.0)  # measured: 200 samples/s / 10
    assert view.steps_done == pytest.approx(12.0)
    assert view.epochs_done == 1
    assert view.rounds_received >= 1 and view.attained_s > 0
    assert view.throughput_timeline[-1][1:] == (20.0, 10)
    assert view.ran_last_round


def test_batch_size_proposals_within_bounds_are_approved(harness: Harness) -> None:
    static = harness.submit(name="static", batch_size=10, max_batch_size=40)
    gns = harness.submit(name="gns", adaptation="gns", batch_size=10, max_batch_size=40)
    harness.tick()
    by_job = {a.job_id: a for a in harness.current()}
    reply = harness.beat(by_job[gns.id].id, 10, proposal=80)
    assert (reply.batch_size, reply.batch_size_version) == (40, 1)  # capped at the bound
    again = harness.beat(by_job[gns.id].id, 10, proposal=80)
    assert again.batch_size_version == 1
    reply = harness.beat(by_job[static.id].id, 10, proposal=80)
    assert (reply.batch_size, reply.batch_size_version) == (10, 0)
    assert progress(10).batch_size == 10


def test_a_finished_job_whose_exit_is_slow_completes(harness: Harness) -> None:
    """The job posted 'finished' and then fell silent while its interpreter shut down (torch
    teardown can take a second): its lease runs out, but it is given a grace period, not a
    SIGTERM; and if it must be stopped after all, its outcome is still 'completed' (found by the
    real-training end-to-end test, where such a job used to be retrained from scratch)."""
    job = harness.submit(total_epochs=1)
    harness.backend.on_stop[job.id] = "sigterm"
    harness.tick()
    (attempt,) = harness.current()
    harness.beat(attempt.id, 100)
    report = ExitReport(reason="finished", exit_code=0, progress=progress(100, 10))
    harness.store.update_attempt(attempt.id, report=report.model_dump())  # POST .../exit
    harness.tick(1.0)  # the lease (0.75 s) ran out after the report
    row = harness.store.attempt(attempt.id)
    assert row.state == AttemptState.DRAINING  # type: ignore[union-attr]
    assert harness.backend.attempts[attempt.id].stops == 0  # no SIGTERM yet: grace
    harness.tick(1.1)  # grace (1 s) over: SIGTERM; this job dies of it (exit 143)
    assert harness.backend.attempts[attempt.id].stops == 1
    harness.tick()
    row = harness.store.attempt(attempt.id)
    assert row.outcome == Outcome.completed, row.reason  # type: ignore[union-attr]
    assert harness.store.job(job.id).state == JobState.COMPLETED  # type: ignore[union-attr]


def test_rounds_stay_on_their_grid_when_ticks_come_late(harness: Harness) -> None:
    """Ticks every 0.3 s notice each 2 s boundary up to 0.3 s late; the rounds still start at
    100, 102, 104... (the simulator's rounds), not half a tick later each."""
    h = harness
    h.submit(total_epochs=40)
    h.tick()
    h.drive(seconds=9, step_s=0.3)
    starts = [r.start_s for r in h.store.rounds()]
    assert starts[:5] == [100.0, 102.0, 104.0, 106.0, 108.0]
    assert all(r.end_s - r.start_s == 2.0 for r in h.store.rounds())


def test_a_slot_is_free_for_the_next_job_once_the_revoked_one_has_reported(tmp_path: Path) -> None:
    """One slot, two jobs time-sharing it: at the boundary the running job is revoked; the next
    one starts as soon as the revoked one has posted its exit report, while its process is
    still exiting, and not before."""
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1)
    first, second = h.submit(name="a"), h.submit(name="b")
    h.tick()
    (running,) = h.current()
    for _ in range(8):  # a whole round: both jobs are known, one holds the slot
        h.tick(0.25)
        h.beat(running.id, 50)
    h.tick(0.25)  # the boundary: the running job is revoked, the other may not start yet
    row = h.store.attempt(running.id)
    assert row is not None and row.state == AttemptState.DRAINING
    assert [a.id for a in h.current()] == [running.id]
    report = ExitReport(reason="yielded", exit_code=75, progress=progress(50),
                        checkpoint_id=f"ckpt-50-a{running.id}")
    h.store.update_attempt(running.id, report=report.model_dump())  # POST .../exit
    h.tick(0.1)
    started = [a for a in h.current() if a.id != running.id]
    assert [a.job_id for a in started] == [({first.id, second.id} - {running.job_id}).pop()]
    assert h.backend.alive(h.store.attempt(running.id).handle)  # type: ignore[union-attr,arg-type]


def test_the_planner_credits_a_planned_job_from_the_rounds_start(tmp_path: Path) -> None:
    """Like the simulator, the planner credits a job placed in a round with the whole round
    (its start-up is its own restart cost), not with the time its process held the slot: the
    job that waited 0.5 s for the revoked one to report is credited 2 s, as its rival was."""
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1)
    credits: list[tuple[int, float]] = []
    original = h.loop.planner.job_ran

    def spy(job_id: int, seconds: float) -> None:
        credits.append((job_id, seconds))
        original(job_id, seconds)

    h.loop.planner.job_ran = spy  # type: ignore[method-assign]
    h.submit(name="a")
    h.submit(name="b")
    h.tick()
    (first,) = h.current()
    for _ in range(8):
        h.tick(0.25)
        h.beat(first.id, 50)
    assert credits == [(first.job_id, 2.0)]  # the whole of round 0
    h.tick(0.5)  # still draining, then it reports and its rival starts, 0.5 s late
    h.checkpoint_and_exit(first, 50, 75)
    h.tick(0.0)
    (second,) = [a for a in h.current() if a.job_id != first.job_id]
    assert second.started_s == pytest.approx(102.5)
    for _ in range(6):
        h.tick(0.25)
        h.beat(second.id, 50)
    assert credits[-1] == (second.job_id, pytest.approx(2.0))


def test_late_ticks_change_neither_the_credit_nor_the_planners_clock(tmp_path: Path) -> None:
    """Ticks every 0.3 s notice each 2 s boundary up to 0.3 s late. The planner still sees the
    simulator's round starts (100, 102, ...) and credits each full round as exactly 2 s, so two
    jobs that ran alike have equal deficits to the last bit and their tie goes to job order, as
    in the simulation (before, each credit carried the tick's lateness: 2.1 s, 2.2 s, ...)."""
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=2)
    credits: list[float] = []
    seen: list[float] = []
    ran, plan = h.loop.planner.job_ran, h.loop.planner.next_round

    def credit_spy(job_id: int, seconds: float) -> None:
        credits.append(seconds)
        ran(job_id, seconds)

    def plan_spy(view):  # type: ignore[no-untyped-def]
        seen.append(view.now_s)
        return plan(view)

    h.loop.planner.job_ran = credit_spy  # type: ignore[method-assign]
    h.loop.planner.next_round = plan_spy  # type: ignore[method-assign]
    h.submit(name="a", total_epochs=40)
    h.submit(name="b", total_epochs=40)
    h.tick()
    h.drive(seconds=9, step_s=0.3)
    assert seen[:5] == [100.0, 102.0, 104.0, 106.0, 108.0]
    assert len(credits) >= 8 and set(credits) == {2.0}
    deficits = h.loop.planner.accounting.by_type["v100"].deficits
    assert len(set(deficits.values())) == 1


def test_a_job_still_starting_is_revoked_once_it_has_trained_as_long_as_it_took_to_start(
        tmp_path: Path) -> None:
    """Rounds shorter than a job's start-up (a loaded machine) must not restart jobs without
    end: one that has not trained a step keeps its slot past the boundary; once it trains, it is
    revoked with a deadline that buys it as much training as its start-up cost (here 5 s of
    start-up against a 1 s floor, half a 2 s round)."""
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1, startup_s=30.0)
    first, second = h.submit(name="slow"), h.submit(name="next")
    h.tick()
    (slow,) = h.current()
    started = h.clock.now()
    for _ in range(20):  # 5 s of start-up: heartbeats, but no step yet (two round boundaries)
        h.tick(0.25)
        h.beat(slow.id, 0)
    assert [a.id for a in h.current()] == [slow.id]
    assert h.store.attempt(slow.id).state == AttemptState.RUNNING  # type: ignore[union-attr]
    rounds = h.store.rounds()
    assert len(rounds) >= 3 and all(slow.job_id in r.kept for r in rounds[1:])
    assert any(slow.job_id not in r.placements for r in rounds)  # the plan wanted the other
    h.beat(slow.id, 10)  # its first step: training since now
    training_since = h.clock.now()
    assert training_since - started == pytest.approx(5.0)
    row = _beat_until_revoked(h, slow.id, samples=20)
    assert row.stop_by_s == pytest.approx(training_since + 5.0)
    assert row.sigterm_at_s == pytest.approx(training_since + 5.0 + h.settings.grace_s)
    reply = h.beat(slow.id, 30)
    assert reply.action == "checkpoint_and_stop"
    assert reply.stop_by_s == pytest.approx(training_since + 5.0 - h.clock.now())
    assert {a.job_id for a in h.current()} == {first.id} == {slow.job_id}  # the other waits
    assert second.id not in {a.job_id for a in h.store.attempts()}


def test_a_job_that_never_trains_is_revoked_when_its_start_up_lease_is_over(
        tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1, startup_s=3.0)
    h.submit(name="stuck"), h.submit(name="next")
    h.tick()
    (stuck,) = h.current()
    row = _beat_until_revoked(h, stuck.id, samples=0)
    assert row.stop_by_s == pytest.approx(h.clock.now())
    assert 3.0 <= h.clock.now() - (row.started_s or 0) <= 3.0 + h.settings.round_s


def test_with_no_floor_a_starting_job_is_revoked_at_the_boundary(tmp_path: Path) -> None:
    h = make_harness(tmp_path, policy="max_min_fairness", gpus=1, min_train_s=0.0,
                     startup_s=30.0)
    h.submit(name="a"), h.submit(name="b")
    h.tick()
    (first,) = h.current()
    row = _beat_until_revoked(h, first.id, samples=0)
    assert h.clock.now() - (row.started_s or 0) <= 2.0


def _beat_until_revoked(h: Harness, attempt_id: int, samples: int) -> AttemptRow:
    """Tick and heartbeat (at ``samples``) every 0.25 s until the attempt is revoked."""
    while (row := h.store.attempt(attempt_id)) is not None and row.state == AttemptState.RUNNING:
        h.tick(0.25)
        h.beat(attempt_id, samples)
    assert row is not None and row.stop_reason == "revoked"
    return row


@pytest.mark.parametrize(("started", "training", "now", "floor", "deadline"), [
    (0.0, None, 10.0, 1.0, 10.0),   # never trained: now
    (0.0, 1.0, 10.0, 2.0, 10.0),    # trained long enough: now
    (0.0, 9.0, 10.0, 2.0, 18.0),    # 9 s of start-up: 9 s of training
    (8.0, 9.0, 10.0, 2.0, 11.0),    # 1 s of start-up: the floor
    (8.0, 9.0, 10.0, 0.0, 10.0),    # no floor: now
])
def test_revocation_deadline(started: float, training: float | None, now: float, floor: float,
                             deadline: float) -> None:
    from dataclasses import replace

    from shockwave.service.rounds import revocation_deadline

    attempt = replace(_attempt_row(), started_s=started, training_since_s=training)
    assert revocation_deadline(attempt, now, floor) == pytest.approx(deadline)


def _attempt_row() -> AttemptRow:
    """An attempt row with every field empty (the deadline reads two of them)."""
    return AttemptRow(**dict.fromkeys(AttemptRow.__dataclass_fields__))  # type: ignore[arg-type]
