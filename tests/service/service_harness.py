"""A service without HTTP or processes: the real store, round loop and planner over the fake
backend and a fake clock, with jobs that behave like obedient training scripts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shockwave.protocol import ExitReport, Heartbeat, HeartbeatReply, Progress
from shockwave.service.backends.fake import FakeBackend
from shockwave.service.clock import FakeClock
from shockwave.service.config import Settings
from shockwave.service.jobspec import JobSubmit
from shockwave.service.leases import on_heartbeat
from shockwave.service.rounds import RoundLoop, make_planner
from shockwave.service.states import CURRENT_ATTEMPT_STATES, AttemptState, JobState
from shockwave.service.store import AttemptRow, JobRow, Store

FINAL = (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)


def job_spec(**overrides: Any) -> JobSubmit:
    fields: dict[str, Any] = {"name": "job", "command": ["true"], "batch_size": 10,
                              "samples_per_epoch": 100, "total_epochs": 4,
                              "expected_samples_per_s": 100.0}
    fields.update(overrides)
    return JobSubmit(**fields)


@dataclass
class Harness:
    settings: Settings
    store: Store
    backend: FakeBackend
    clock: FakeClock
    loop: RoundLoop
    seq: dict[int, int] = field(default_factory=dict)
    samples: dict[int, int] = field(default_factory=dict)

    def submit(self, **overrides: Any) -> JobRow:
        return self.store.add_job(job_spec(**overrides), self.clock.now())

    def tick(self, advance_s: float = 0.0) -> Any:
        self.clock.advance(advance_s)
        return self.loop.tick()

    def current(self) -> list[AttemptRow]:
        return self.store.attempts(states=list(CURRENT_ATTEMPT_STATES))

    def beat(self, attempt_id: int, samples: int, *, samples_per_s: float | None = 100.0,
             seq: int | None = None, batch_size: int = 10, proposal: int | None = None,
             per_epoch: int = 100, speed_batch_size: int | None = None) -> HeartbeatReply:
        if seq is None:
            seq = self.seq.get(attempt_id, -1) + 1
        self.seq[attempt_id] = max(seq, self.seq.get(attempt_id, -1))
        attempt = self.store.attempt(attempt_id)
        assert attempt is not None
        beat = Heartbeat(seq=seq, progress=progress(samples, batch_size, per_epoch),
                         samples_per_s=samples_per_s, speed_batch_size=speed_batch_size,
                         batch_size_proposal=proposal)
        return on_heartbeat(self.store, self.settings, self.clock.now(), attempt, beat)

    def checkpoint_and_exit(self, attempt: AttemptRow, samples: int, code: int) -> None:
        """What an obedient job does when told to stop (75) or when done (0)."""
        name = f"ckpt-{samples}-a{attempt.id}"
        report = ExitReport(reason="finished" if code == 0 else "yielded", exit_code=code,
                            progress=progress(samples, attempt.batch_size), checkpoint_id=name)
        self.backend.finish(attempt.id, code, report)

    def drive(self, *, seconds: float, step_s: float = 0.25, speed: float = 100.0) -> None:
        """Let obedient jobs train for ``seconds``: each tick every current attempt advances at
        ``speed`` samples/s, heartbeats, stops with a checkpoint when told, exits 0 when done."""
        elapsed = 0.0
        while elapsed < seconds and not self.all_final():
            self.tick(step_s)
            elapsed += step_s
            for attempt in self.current():
                if attempt.handle is None or not self.backend.alive(attempt.handle):
                    continue
                job = self.store.job(attempt.job_id)
                assert job is not None
                start = self.samples.setdefault(attempt.id, attempt.start_samples)
                done = min(job.spec.samples, start + int(speed * step_s))
                self.samples[attempt.id] = done
                reply = self.beat(attempt.id, done)
                if done >= job.spec.samples:
                    self.checkpoint_and_exit(attempt, done, 0)
                elif reply.action != "continue":
                    self.checkpoint_and_exit(attempt, done, 75)

    def all_final(self) -> bool:
        return all(job.state in FINAL for job in self.store.jobs())

    def outcomes(self, job_id: int) -> list[str]:
        return [str(a.outcome) for a in self.store.attempts(job_id=job_id)]


def progress(samples: int, batch_size: int = 10, per_epoch: int = 100) -> Progress:
    return Progress(step=samples // batch_size, samples=samples, epoch=samples // per_epoch,
                    epoch_samples=samples % per_epoch, samples_per_epoch=per_epoch,
                    batch_size=batch_size)


def make_harness(tmp_path: Path, *, policy: str = "fifo", gpus: int = 2, **settings: Any) -> Harness:
    defaults: dict[str, Any] = {"round_s": 2.0, "heartbeat_s": 0.25, "grace_s": 1.0,
                                "startup_s": 5.0, "tick_s": 0.25, "backoff_s": 1.0,
                                "run_loop": False}
    defaults.update(settings)
    config = Settings(state_dir=tmp_path / "state", gpus=gpus, policy=policy, **defaults)
    store = Store(config.db_path)
    clock = FakeClock(100.0)
    backend = FakeBackend()
    loop = RoundLoop(config, store, backend, clock, make_planner(config))
    return Harness(config, store, backend, clock, loop)


__all__ = ["AttemptState", "FINAL", "Harness", "job_spec", "make_harness", "progress"]
