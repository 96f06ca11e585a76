"""Submitting a replay's jobs at their scaled arrival times and waiting for their ends, over a
fake service and a fake clock; Ctrl-C says what was submitted."""

from __future__ import annotations

from typing import Any

import pytest

from shockwave.errors import ShockwaveError
from shockwave.replay.mapping import Submission
from shockwave.replay.runner import ReplayBroken, ReplayInterrupted, ReplayProgress, replay


class FakeService:
    """Jobs run ``run_s`` seconds from their submission; the clock moves only by ``sleep``."""

    def __init__(self, run_s: dict[str, float], interrupt_at_s: float | None = None) -> None:
        self.now = 0.0
        self.run_s = run_s
        self.interrupt_at_s = interrupt_at_s
        self.submitted: list[tuple[float, str, int]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds
        if self.interrupt_at_s is not None and self.now >= self.interrupt_at_s:
            raise KeyboardInterrupt

    def health(self) -> dict[str, Any]:
        return {"now_s": 1000.0}

    def rounds(self, limit: int) -> list[dict[str, Any]]:
        assert limit == 1
        return [{"index": 41}]

    def submit(self, spec: dict[str, Any]) -> dict[str, Any]:
        job_id = 100 + len(self.submitted)
        self.submitted.append((self.now, spec["name"], job_id))
        return {"id": job_id}

    def _end(self, job_id: int) -> float:
        at, name, _ = next(s for s in self.submitted if s[2] == job_id)
        return at + self.run_s[name]

    def jobs(self, states: list[str]) -> list[dict[str, Any]]:
        assert states == ["QUEUED", "RUNNING"]
        return [{"id": job_id, "state": "RUNNING"} for _, _, job_id in self.submitted
                if self.now < self._end(job_id)]

    def job(self, job_id: int) -> dict[str, Any]:
        return {"id": job_id, "state": "FAILED" if job_id == 101 else "COMPLETED"}


JOBS = [Submission(0, 0.0, "digits", {"name": "a"}), Submission(1, 10.0, "tinylm", {"name": "b"}),
        Submission(2, 10.0, "digits", {"name": "c"}), Submission(3, 4.0, "digits", {"name": "d"})]


def test_jobs_are_submitted_at_their_scaled_arrivals_and_waited_for() -> None:
    service = FakeService({"a": 3.0, "b": 1.0, "c": 2.6, "d": 0.2})
    seen: list[ReplayProgress] = []
    run = replay(service, JOBS, time_scale=0.5, poll_s=0.5, on_progress=seen.append,
                 clock=service.clock, sleep=service.sleep)
    assert (run.start_s, run.after_round) == (1000.0, 41)
    assert [(at, name) for at, name, _ in service.submitted] == [
        (0.0, "a"), (2.0, "d"), (5.0, "b"), (5.0, "c")]
    assert run.job_ids == {0: 100, 3: 101, 1: 102, 2: 103}
    news = [line for p in seen for line in p.news]
    assert news == [
        "    0.0 s  submitted trace job 0 (digits) as job 100",
        "    2.0 s  submitted trace job 3 (digits) as job 101",
        "    2.5 s  trace job 3 (job 101) FAILED",
        "    3.0 s  trace job 0 (job 100) COMPLETED",
        "    5.0 s  submitted trace job 1 (tinylm) as job 102",
        "    5.0 s  submitted trace job 2 (digits) as job 103",
        "    6.0 s  trace job 1 (job 102) COMPLETED",
        "    8.0 s  trace job 2 (job 103) COMPLETED",
    ]
    assert (seen[-1].ended, seen[-1].submitted, seen[-1].total) == (4, 4, 4)
    assert service.now == 8.0


def test_ctrl_c_says_which_jobs_were_submitted() -> None:
    service = FakeService({"a": 100.0, "b": 1.0, "c": 1.0, "d": 100.0}, interrupt_at_s=3.0)
    with pytest.raises(ReplayInterrupted) as caught:
        replay(service, JOBS, clock=service.clock, sleep=service.sleep)
    assert str(caught.value) == (
        "interrupted: submitted 1 of 4 trace jobs (service job ids 100); they stay on the "
        "service: `shockwave cancel ID` stops one; no results were written")
    assert caught.value.run.job_ids == {0: 100}


def test_a_service_that_fails_mid_replay_is_one_error_saying_what_was_submitted() -> None:
    service = FakeService({"a": 100.0, "b": 1.0, "c": 1.0, "d": 100.0})

    def gone(states: list[str]) -> list[dict[str, Any]]:
        if service.now >= 2.0:
            raise ShockwaveError("cannot reach the shockwave service at http://x (refused)")
        return FakeService.jobs(service, states)

    service.jobs = gone  # type: ignore[method-assign]
    with pytest.raises(ReplayBroken) as caught:
        replay(service, JOBS, clock=service.clock, sleep=service.sleep)
    assert str(caught.value) == (
        "cannot reach the shockwave service at http://x (refused) (the replay stopped: "
        "submitted 1 of 4 trace jobs (service job ids 100); they stay on the service: "
        "`shockwave cancel ID` stops one; no results were written)")
