"""One measurement: a workload at one batch size on a gang of N ranks, run as real processes by
the service's local backend (the same launch as ``shockwave serve``: a process group, one
rank per slot, gloo on CPU slots with one thread each, NCCL on CUDA devices), standalone (no
service), until ``SHOCKWAVE_MAX_STEPS`` steps; its speed is the exit report's."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shockwave.errors import ShockwaveError
from shockwave.profiling.schedules import AdaptiveJob
from shockwave.profiling.targets import ProfileTarget
from shockwave.protocol import (
    ENV_ADAPTATION,
    ENV_BATCH_SIZE,
    ENV_MAX_BATCH_SIZE,
    ENV_MAX_STEPS,
    ENV_MIN_BATCH_SIZE,
    ENV_REPORT_FILE,
    ENV_SEED,
    ENV_TOTAL_EPOCHS,
    EXIT_YIELDED,
    ExitReport,
)
from shockwave.service.backends.base import AttemptExit, AttemptSpec, Handle
from shockwave.service.backends.local import LocalBackend
from shockwave.service.config import Settings, SlotKind

POLL_S = 0.05
REPORT_NAME = "report.json"
LOG_LINES = 3
"""Lines of a failed run's log quoted in its error."""


class ProfileError(ShockwaveError):
    """A measurement failed (the workload crashed, stopped too early or timed out)."""


@dataclass(frozen=True)
class Measurement:
    """The steady-state speed of ``workload`` at a global ``batch_size`` on ``gpus`` ranks.

    ``samples_per_s`` (the whole gang) is the job's mean speed after its warm-up steps and
    ``step_time_s`` its moving average of a step (``ExitReport``); ``wall_s`` is the whole run,
    process starts included."""

    workload: str
    batch_size: int
    gpus: int
    steps: int
    samples_per_s: float
    step_time_s: float
    samples_per_epoch: int
    wall_s: float
    run_dir: Path

    @property
    def iterations_per_s(self) -> float:
        """Optimizer steps of the whole gang per second: the throughput table's unit."""
        return self.samples_per_s / self.batch_size

    @property
    def overhead_s(self) -> float:
        """The run's time beyond its steps at the steady speed: starting the processes (imports,
        data, the gang's rendezvous), the slower first steps and exiting. What a restart
        costs, the simulator's ``preemption_penalty_s``."""
        return max(0.0, self.wall_s - self.steps * self.step_time_s)


class Runner:
    """Runs measurements one after the other on this machine's slots (slot ``i`` is rank
    ``i``'s CPU slot or CUDA device); each run's logs and report go to ``work_dir/<run>/``."""

    def __init__(self, work_dir: Path, slots: int, slot_kind: SlotKind = "cpu",
                 cuda_devices: tuple[str, ...] = (), timeout_s: float = 600.0) -> None:
        self.work_dir = Path(work_dir)
        self.timeout_s = timeout_s
        settings = Settings(state_dir=self.work_dir, gpus=slots, slot_kind=slot_kind,
                            cuda_devices=cuda_devices)
        self._backend = LocalBackend(settings)
        self._runs = 0

    def measure(self, target: ProfileTarget, batch_size: int, gpus: int, steps: int,
                repeat: int | None = None, copies: int = 1) -> Measurement:
        """Run ``target`` at ``batch_size`` on ``gpus`` ranks for ``steps`` optimizer steps
        (in ``<workload>-bs<B>-g<N>[-r<repeat>]/``). With ``copies`` > 1, that many identical
        runs start together on disjoint slots (``-c<i>`` folders), so that the machine is as
        busy as under a service whose every slot runs a job; the measurement is their mean
        speed and step time, and the longest wall time."""
        self._runs += 1
        run = f"{target.name}-bs{batch_size}-g{gpus}" + (f"-r{repeat}" if repeat else "")
        names = [run] if copies == 1 else [f"{run}-c{i}" for i in range(copies)]
        started = time.monotonic()
        handles = []
        try:
            for i, name in enumerate(names):
                run_dir = self.work_dir / name
                spec = AttemptSpec(
                    attempt_id=self._runs * 1000 + i, job_id=self._runs, argv=target.argv,
                    working_dir=target.working_dir,
                    env=_environment(target, batch_size, steps, run_dir / REPORT_NAME),
                    slots=tuple(range(i * gpus, (i + 1) * gpus)), attempt_dir=run_dir,
                    report_file=run_dir / REPORT_NAME)
                try:
                    handles.append(self._backend.start(spec))
                except OSError as exc:
                    raise ProfileError(f"{name}: cannot start {' '.join(target.argv)}: "
                                       f"{exc}") from None
            reports = []
            walls = []
            for name, handle in zip(names, handles, strict=True):
                ended = self._wait(handle, started, name)
                walls.append(time.monotonic() - started)
                reports.append(_checked(ended, name, self.work_dir / name, steps, batch_size))
        except BaseException:
            for handle in handles:
                self._backend.kill(handle)
            raise
        first = reports[0]
        return Measurement(
            workload=target.name, batch_size=batch_size, gpus=gpus, steps=steps,
            samples_per_s=sum(r.samples_per_s or 0.0 for r in reports) / len(reports),
            step_time_s=sum(r.step_time_s or 0.0 for r in reports) / len(reports),
            samples_per_epoch=first.progress.samples_per_epoch if first.progress else 0,
            wall_s=max(walls), run_dir=self.work_dir / names[0])

    def learn(self, target: ProfileTarget, job: AdaptiveJob) -> ExitReport:
        """Run the adaptive ``job`` of ``target`` standalone to its end (in
        ``<workload>-<mode>-bs<B>-g<N>/``) and return its exit report, whose ``batch_sizes``
        is what its adaptation did."""
        self._runs += 1
        run = f"{target.name}-{job.mode}-bs{job.batch_size}-g{job.gpus}"
        run_dir = self.work_dir / run
        env = {
            **dict(target.env),
            ENV_BATCH_SIZE: str(job.batch_size), ENV_MIN_BATCH_SIZE: str(job.min_batch_size),
            ENV_MAX_BATCH_SIZE: str(job.max_batch_size), ENV_ADAPTATION: job.mode,
            ENV_TOTAL_EPOCHS: str(job.epochs), ENV_SEED: str(target.seed),
            ENV_REPORT_FILE: str(run_dir / REPORT_NAME),
        }
        spec = AttemptSpec(attempt_id=self._runs * 1000, job_id=self._runs, argv=target.argv,
                           working_dir=target.working_dir, env=env,
                           slots=tuple(range(job.gpus)), attempt_dir=run_dir,
                           report_file=run_dir / REPORT_NAME)
        started = time.monotonic()
        try:
            ended = self._wait(self._backend.start(spec), started, run)
        except OSError as exc:
            raise ProfileError(f"{run}: cannot start {' '.join(target.argv)}: {exc}") from None
        report = ended.report
        if ended.exit_code != 0 or report is None or report.reason != "finished":
            why = f"exit {ended.exit_code}" if ended.exit_code is not None else "no exit code"
            if report is not None and report.message:
                why += f": {report.message.splitlines()[0]}"
            raise ProfileError(f"{run} did not finish ({why}); {_log_tail(run_dir)}")
        return report

    def _wait(self, handle: Handle, started: float, run: str) -> AttemptExit:
        """Poll until every rank has exited; kill the gang on a timeout or an interruption."""
        try:
            while (ended := self._backend.poll(handle)) is None:
                if time.monotonic() - started > self.timeout_s:
                    raise ProfileError(f"{run}: still running after {self.timeout_s:g} s "
                                       f"(killed); logs in {self.work_dir / run}")
                time.sleep(POLL_S)
        except BaseException:
            self._backend.kill(handle)
            raise
        return ended


def median_run(runs: Sequence[Measurement]) -> Measurement:
    """The run of median speed (the lower middle one of an even number): a real run, so the
    number kept is one job's own report."""
    ordered = sorted(runs, key=lambda m: m.samples_per_s)
    return ordered[(len(ordered) - 1) // 2]


def _environment(target: ProfileTarget, batch_size: int, steps: int,
                 report: Path) -> dict[str, str]:
    """The contract of a measured run: standalone (no server), a fixed batch size, enough
    epochs for ``steps`` steps and more, and the step limit."""
    epochs = math.ceil(steps * batch_size / target.samples_per_epoch) + 1
    return {
        **dict(target.env),
        ENV_BATCH_SIZE: str(batch_size), ENV_MIN_BATCH_SIZE: str(batch_size),
        ENV_MAX_BATCH_SIZE: str(batch_size), ENV_ADAPTATION: "static",
        ENV_TOTAL_EPOCHS: str(epochs), ENV_SEED: str(target.seed),
        ENV_MAX_STEPS: str(steps), ENV_REPORT_FILE: str(report),
    }


def _checked(ended: AttemptExit, run: str, run_dir: Path, steps: int,
             batch_size: int) -> ExitReport:
    """The exit report of a run that stopped at its step limit with a measured speed."""
    report = ended.report
    if ended.exit_code != EXIT_YIELDED or report is None or report.reason != "yielded":
        why = f"exit {ended.exit_code}" if ended.exit_code is not None else "no exit code"
        if report is not None and report.message:
            why += f": {report.message.splitlines()[0]}"
        if ended.exit_code == 0:
            why += f" (it finished before {steps} steps)"
        raise ProfileError(f"{run} failed ({why}); {_log_tail(run_dir)}")
    progress = report.progress
    if progress is None or progress.step != steps or progress.batch_size != batch_size:
        got = f"step {progress.step} at batch size {progress.batch_size}" if progress else \
            "no progress"
        raise ProfileError(f"{run}: expected {steps} steps at batch size {batch_size}, the "
                           f"report says {got}; does the script use shockwave.job's batch "
                           f"size? {_log_tail(run_dir)}")
    if not report.samples_per_s or not report.step_time_s:
        raise ProfileError(f"{run}: the report has no measured speed ({steps} steps are too "
                           f"few: the first 3 are warm-up)")
    return report


def _log_tail(run_dir: Path) -> str:
    log = run_dir / "rank-0.log"
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return f"no log in {run_dir}"
    tail = " | ".join(lines[-LOG_LINES:])
    return f"end of {log}: {tail}" if tail else f"{log} is empty"
