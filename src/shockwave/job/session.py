"""``JobSession``: what a training script holds (``shockwave.job.init()`` returns it).

It knows the rank, device and batch size; wraps the model for a gang; feeds a resumable loader;
restores the newest valid checkpoint; and, inside ``running()``, heartbeats, agrees with the
other ranks on the step to stop at, checkpoints and exits with the code the service expects.
Under an adaptive mode it also measures the gradients (``backward()``), proposes batch sizes and
applies the agreed ones in place (``shockwave.job.adapt``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shockwave.job.adapt.adapter import Adapter
from shockwave.job.adapt.config import AdaptConfig
from shockwave.job.checkpoint import CheckpointManager, Manifest, checkpoint_name
from shockwave.job.data import DataCursor, ResumableLoader, ResumableSampler
from shockwave.job.errors import CheckpointError, JobError
from shockwave.job.heartbeat import HeartbeatThread
from shockwave.job.lease import ControlBlock, initial_lease_expiry
from shockwave.job.params import save_params
from shockwave.job.report import Outcome, build_report, deliver
from shockwave.job.signals import StopSignals
from shockwave.job.state import apply_state, build_state, rng_state, tensor_bytes
from shockwave.job.stop import StopCode, Timing, decode_vote, encode_vote, local_code
from shockwave.job.transport import HttpTransport, NullTransport, Transport
from shockwave.protocol import (
    ENV_MAX_STEPS,
    BatchSizeChange,
    CheckpointReport,
    Heartbeat,
    Progress,
)

if TYPE_CHECKING:
    import torch

    from shockwave.job.adapt.collector import LossFn
    from shockwave.job.dist import Gang
    from shockwave.job.env import JobEnv

log = logging.getLogger("shockwave.job")

WARMUP_STEPS = 2
"""Step intervals after a (re)start left out of the step-time EMA."""
FINAL_PARAMS = "final-params.pt"
"""Written into the checkpoint directory when the job finishes."""


class JobSession:
    """One rank of one attempt. Build it with ``shockwave.job.init()``."""

    def __init__(self, env: JobEnv, gang: Gang, *,  # noqa: PLR0913 - keyword-only settings
                 batch_size: int | None = None,
                 seed: int = 0, checkpoint_dir: Path | None = None,
                 checkpoint_interval_s: float | None = None,
                 params_out: Path | None = None, transport: Transport | None = None,
                 adapt: AdaptConfig | None = None) -> None:
        self.env = env
        self.gang = gang
        self.seed = seed
        self._batch_size = batch_size
        self._batch_size_version = 0
        self._model: torch.nn.Module | None = None
        self._adapter = Adapter(adapt or AdaptConfig(), world_size=env.world_size,
                                device=gang.device, parameters=self._parameters,
                                objects=lambda: self._objects.values())
        self._params_out = Path(params_out) if params_out else None
        self._interval_s = checkpoint_interval_s
        self._manager = CheckpointManager(checkpoint_dir, env.job_id, env.attempt_tag,
                                          test_delay_s=env.test_checkpoint_delay_s) \
            if checkpoint_dir is not None else None
        if transport is None:
            transport = NullTransport() if env.standalone or not env.is_main else \
                HttpTransport(env.server or "", env.attempt_id, env.token)
        self._transport = transport
        lease = initial_lease_expiry(env.lease_s) if env.is_main and not env.standalone \
            else None
        self._control = ControlBlock(lease)
        self._signals = StopSignals()
        self._heartbeat: HeartbeatThread | None = None
        self._objects: dict[str, Any] = {}
        self._cursor = DataCursor(stop=lambda: self._stop_code != StopCode.CONTINUE)
        self._uses_loader = False
        self._samples_per_epoch = 1
        self._timing = Timing()
        self.step_count = 0
        self.samples = 0
        self._stop_code = StopCode.CONTINUE
        self._completed = False
        self._restored: Manifest | None = None
        self._restore_tried = False
        self.last_checkpoint: str | None = None
        self.checkpoint_failures = 0
        """Saves of this attempt that failed; the exit report carries the count to the service."""
        self._checkpoint_step = -1
        self._checkpoint_at = time.monotonic()
        self._last_step_at: float | None = None
        self._steps_since_start = 0
        self._process_steps = 0
        self._speed: tuple[int, float] | None = None
        """(batch size, samples/s): the moving average of the steps since the last change."""
        self._measured_samples = 0
        self._measured_s = 0.0
        self.last_loss: Any = None
        self.exit_code: int | None = None

    # -- what the script reads -------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.gang.device

    @property
    def rank(self) -> int:
        return self.env.rank

    @property
    def world_size(self) -> int:
        return self.env.world_size

    @property
    def is_main(self) -> bool:
        return self.env.is_main

    @property
    def batch_size(self) -> int | None:
        """The global batch size in force (the service's approved one wins)."""
        return self._batch_size

    @property
    def adaptation(self) -> str:
        """``static``, ``accordion`` or ``gns``: the job spec's, else the script's."""
        return self._adapter.mode

    @property
    def batch_size_proposal(self) -> int | None:
        """The batch size the adaptation asks for now (sent on heartbeats), if any."""
        return self._adapter.proposal

    @property
    def noise_scale(self) -> float | None:
        """The smoothed gradient noise scale B_simple (``gns`` mode), once measured."""
        return self._adapter.noise_scale

    @property
    def batch_size_history(self) -> tuple[BatchSizeChange, ...]:
        """The batch sizes of the whole job, from its start: ``(samples, batch_size)``."""
        return self._adapter.history.report()

    @property
    def epoch(self) -> int:
        return self._cursor.epoch

    @property
    def epoch_samples(self) -> int:
        return self._cursor.epoch_samples

    @property
    def should_stop(self) -> bool:
        """True once the ranks agreed to stop; the loop should end (the loader already does)."""
        return self._stop_code != StopCode.CONTINUE

    @property
    def stop_code(self) -> StopCode:
        return self._stop_code

    @property
    def finished(self) -> bool:
        """True once ``epochs()`` ran through its last epoch."""
        return self._completed

    @property
    def restored_from(self) -> Manifest | None:
        """The checkpoint ``restore()`` loaded, if any."""
        return self._restored

    # -- setting up -----------------------------------------------------------------------
    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` on this rank's device; wrapped in DDP when the gang has several ranks
        (with a communication hook that measures the local gradients under ``gns``)."""
        model = model.to(self.device)
        self._model = model
        if self.world_size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        ddp = DistributedDataParallel(model, device_ids=ids)
        self._adapter.attach(ddp)
        return ddp

    def backward(self, loss_fn: LossFn, *batch: Any, **kwargs: Any) -> torch.Tensor:
        """``loss_fn(*batch, **kwargs).backward()``, measured when the adaptation needs it;
        returns the batch's loss (detached). ``loss_fn`` must return the *mean* loss over the
        batch; call it where ``loss.backward()`` was, after ``zero_grad()``. On one rank a
        measured step runs the batch as two halves (the gradient is the same sum); in a gang
        DDP measures the local gradients. Static jobs run exactly ``loss.backward()``."""
        if not self._adapter.adaptive:
            loss = loss_fn(*batch, **kwargs)
            loss.backward()
            return loss.detach()
        return self._adapter.backward(loss_fn, batch, kwargs, self.step_count + 1)

    def _parameters(self) -> list[torch.nn.Parameter]:
        """The model's parameters: ``wrap_model``'s, else the tracked modules'."""
        import torch

        modules = [self._model] if self._model is not None else \
            [o for o in self._objects.values() if isinstance(o, torch.nn.Module)]
        return [p for m in modules for p in m.parameters()]

    def loader(self, dataset: Any, batch_size: int | None = None, *, shuffle: bool = True,
               seed: int | None = None, drop_last: bool = False,
               collate_fn: Callable[[list[Any]], Any] | None = None) -> ResumableLoader:
        """The training loader: resumable, over any indexable dataset (one per session; use a
        plain DataLoader for evaluation). ``batch_size`` is global and only a default: the
        session's batch size (the service's, when it set one) wins."""
        if self._uses_loader:
            raise JobError("loader() was already called: the session tracks one training "
                           "loader's position; evaluate with a plain DataLoader")
        if self._batch_size is None:
            if batch_size is None:
                raise JobError("no batch size: pass batch_size to init() or loader()")
            self._batch_size = batch_size
        elif batch_size is not None and batch_size != self._batch_size:
            log.info("shockwave.job: batch size %d (from the service) instead of %d",
                     self._batch_size, batch_size)
        size = len(dataset)
        sampler = ResumableSampler(size, seed=self.seed if seed is None else seed,
                                   shuffle=shuffle, rank=self.rank, world_size=self.world_size)
        self._uses_loader = True
        self._samples_per_epoch = size
        return ResumableLoader(dataset, sampler, self._cursor, lambda: self._batch_size or 1,
                               drop_last=drop_last, collate_fn=collate_fn)

    def track(self, **objects: Any) -> None:
        """Objects whose ``state_dict()`` goes into every checkpoint (model, optimizer, LR
        scheduler, scaler...), by name. A DDP wrapper is replaced by its module."""
        for name, obj in objects.items():
            if not (hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")):
                raise JobError(f"track({name}=...): {type(obj).__name__} has no state_dict()")
            module = getattr(obj, "module", None)
            if type(obj).__name__ == "DistributedDataParallel" and module is not None:
                obj = module
            self._objects[name] = obj

    # -- checkpoints ----------------------------------------------------------------------
    def restore(self) -> Manifest | None:
        """Load the newest valid checkpoint into the tracked objects, the counters and the data
        position. ``None`` when the job has no checkpoint yet. When checkpoints exist but none
        is valid, report the attempt as failed and raise ``CheckpointError``."""
        self._restore_tried = True
        if self._manager is None:
            return None
        started = time.monotonic()
        try:
            loaded = self._manager.load()
        except CheckpointError as exc:
            log.error("shockwave.job: %s", exc)
            self._end(Outcome.failed(f"checkpoint verification failed: {exc}"))
            raise
        if self.is_main:
            self._manager.remove_torn_writes()
        if loaded is None:
            self._agree_on_step(0)
            return None
        state, manifest = loaded
        self._apply_state(state, manifest)
        self._agree_on_step(self.step_count)
        self._restored = manifest
        self.last_checkpoint = manifest.checkpoint_id
        self._checkpoint_step = self.step_count
        if self.is_main:
            log.info("shockwave.job: restored %s (step %d, epoch %d, %d samples into it) in "
                     "%.2f s", manifest.checkpoint_id, self.step_count, self.epoch,
                     self.epoch_samples, time.monotonic() - started)
        return manifest

    def checkpoint(self) -> str | None:
        """Write a checkpoint now; every rank must call it at the same step (``step()`` and
        ``running()`` do). Returns its id, or ``None`` without a checkpoint directory."""
        if self._manager is None:
            return None
        if self._checkpoint_step == self.step_count and self.last_checkpoint:
            return self.last_checkpoint  # nothing changed since the last one
        started = time.monotonic()
        rng = self.gang.gather_to_main(rng_state())
        error: str | None = None
        manifest: Manifest | None = None
        if self.is_main:
            try:
                manifest = self._manager.save(self._state(rng), step=self.step_count,
                                              samples=self.samples, epoch=self.epoch,
                                              world_size=self.world_size)
            except (OSError, RuntimeError, CheckpointError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        if self.gang.max([1 if error else 0])[0]:
            self.checkpoint_failures += 1
            raise CheckpointError(f"checkpoint at step {self.step_count} not written: "
                                  f"{error or 'rank 0 failed to write it'}")
        elapsed = time.monotonic() - started
        self._timing.record_checkpoint(elapsed)
        self._checkpoint_at = time.monotonic()
        self._checkpoint_step = self.step_count
        self.last_checkpoint = checkpoint_name(self.step_count, self.env.attempt_tag)
        if manifest is not None:
            log.info("shockwave.job: checkpoint %s written in %.3f s", self.last_checkpoint,
                     elapsed)
            if self._heartbeat is not None:
                self._heartbeat.report_checkpoint(CheckpointReport(
                    checkpoint_id=manifest.checkpoint_id, progress=self.progress(),
                    duration_s=elapsed))
        return self.last_checkpoint

    def _state(self, rng: list[Any] | None) -> dict[str, Any]:
        return build_state(self._objects, self._counters(), rng,
                           adaptation=self._adapter.state_dict())

    def _counters(self) -> dict[str, int]:
        return {"step": self.step_count, "samples": self.samples, "epoch": self.epoch,
                "epoch_samples": self.epoch_samples, "batch_size": self._batch_size or 0,
                "batch_size_version": self._batch_size_version}

    def _apply_state(self, state: dict[str, Any], manifest: Manifest) -> None:
        counters = apply_state(state, manifest, self._objects, self.rank, self.world_size)
        self.step_count, self.samples = counters["step"], counters["samples"]
        self._cursor.epoch = counters["epoch"]
        self._cursor.epoch_samples = counters["epoch_samples"]
        self._adapter.load_state_dict(state.get("adaptation"))
        saved_bs = counters["batch_size"]
        if self.env.batch_size is None and saved_bs:
            self._batch_size = saved_bs
        elif saved_bs and self._batch_size and saved_bs != self._batch_size:
            # approved after this checkpoint: the change happens now, before the next batch
            self._batch_size, approved = saved_bs, self._batch_size
            self._change_batch_size(approved)
        if manifest.world_size != self.world_size and self.is_main:
            log.warning("shockwave.job: %s was written by %d ranks, resuming on %d (not bit "
                        "for bit)", manifest.checkpoint_id, manifest.world_size,
                        self.world_size)

    def _agree_on_step(self, step: int) -> None:
        low, high = self.gang.max([-step, step])
        if -low != high:
            raise CheckpointError(f"the ranks restored different checkpoints (steps {-low} "
                                  f"to {high}); is the checkpoint directory shared?")

    # -- the training loop ----------------------------------------------------------------
    def epochs(self, total: int | None = None) -> Iterator[int]:
        """The epochs still to run, from the restored one. Under the service the job spec's
        ``total_epochs`` wins over ``total``. Ends early when a stop is agreed."""
        total = self._total_epochs(total)
        cursor = self._cursor
        while cursor.epoch < total:
            if self.should_stop:
                return
            yield cursor.epoch
            if self.should_stop and not cursor.exhausted:
                return  # stopped inside the epoch: resume there
            cursor.next_epoch()
        self._completed = True

    def _total_epochs(self, total: int | None) -> int:
        from_env = self.env.total_epochs
        if from_env is not None:
            if total is not None and total != from_env and self.is_main:
                log.info("shockwave.job: %d epochs (the job spec's) instead of %d", from_env,
                         total)
            return from_env
        if total is None:
            raise JobError("epochs(): no total given and SHOCKWAVE_TOTAL_EPOCHS is not set")
        return total

    def step(self, samples: int | None = None, loss: Any = None) -> bool:
        """Count one optimizer step and vote on stopping; True when the ranks agreed to stop
        (the loader then ends). ``samples`` is this rank's batch size, needed only without
        ``loader()``; ``loss`` is kept as ``last_loss``."""
        now = time.monotonic()
        self._count(now, samples)
        if loss is not None:
            self.last_loss = loss.detach() if hasattr(loss, "detach") else loss
        control = self._control.read()
        code = local_code(control, self._signals.received.is_set(), now, self._timing)
        if self.env.max_steps is not None and self._process_steps >= self.env.max_steps:
            code = max(code, StopCode.STEP_LIMIT)
        due = self.is_main and self._interval_s is not None and self._manager is not None \
            and now - self._checkpoint_at >= self._interval_s
        proposal = self._adapter.after_step(
            samples=self.samples, epoch=self.epoch, batch_size=self._batch_size,
            samples_per_epoch=self._samples_per_epoch if self._uses_loader else None) \
            if self._batch_size else None
        new_bs = 0
        if self.is_main and control.batch_size_version > self._batch_size_version:
            new_bs = control.batch_size or 0
            self._batch_size_version = control.batch_size_version
        elif self.is_main and self.env.standalone and proposal:
            new_bs = proposal  # standalone: the job approves its own proposals
        vote, new_bs = self.gang.max([encode_vote(code, due), new_bs])
        agreed, checkpoint_due = decode_vote(vote)
        if new_bs and new_bs != self._batch_size:
            self._change_batch_size(new_bs)
        if agreed != StopCode.CONTINUE:
            self._stop_code = agreed
            who = f"rank {self.rank}: " if self.world_size > 1 else ""
            log.info("shockwave.job: %sstopping at step %d (%s)", who, self.step_count,
                     self._why(agreed))
            return True
        if checkpoint_due:
            try:
                self.checkpoint()
            except CheckpointError as exc:
                log.warning("shockwave.job: periodic %s; training goes on", exc)
                self._checkpoint_at = time.monotonic()
            self._last_step_at = time.monotonic()  # the write is not step time
        return False

    def _change_batch_size(self, new_bs: int) -> None:
        """Switch to ``new_bs`` from the next batch on (every rank at the same step): the
        loader reads it, the learning-rate rule applies once, the history records it."""
        old, self._batch_size = self._batch_size, new_bs
        if not old:
            return
        factor = self._adapter.change(self.samples, old, new_bs)
        log.info("shockwave.job: batch size %d -> %d at step %d (learning rate x%.4g)", old,
                 new_bs, self.step_count, factor)

    def _count(self, now: float, samples: int | None) -> None:
        self.step_count += 1
        self._process_steps += 1
        cursor = self._cursor
        consumed = cursor.pending
        if not self._uses_loader and samples is not None:
            consumed = samples * self.world_size
            cursor.epoch_samples += consumed
        cursor.pending = 0
        self.samples += consumed
        if self._last_step_at is not None:
            self._steps_since_start += 1
            interval = now - self._last_step_at
            if self._steps_since_start > WARMUP_STEPS and interval > 0:
                self._measured_samples += consumed
                self._measured_s += interval
                self._timing.record_step(interval)
                rate = consumed / interval
                speed, size = self._speed, self._batch_size
                if speed is not None and speed[0] == size:  # a new size starts a new average
                    rate = 0.2 * rate + 0.8 * speed[1]
                self._speed = (size, rate)
        self._last_step_at = now

    def _why(self, code: StopCode) -> str:
        if self._signals.signal_name:
            return self._signals.signal_name
        control = self._control.read()
        if code == StopCode.PREEMPTED and control.stop_requested:
            return f"the service asked for {control.stop_action}"
        if code == StopCode.LEASE_ENDED:
            return "the lease ends"
        if code == StopCode.STEP_LIMIT:
            return f"{ENV_MAX_STEPS}={self.env.max_steps} steps done"
        return "another rank asked to stop" if self.world_size > 1 else code.name.lower()

    @property
    def mean_samples_per_s(self) -> float | None:
        """Samples/s of the whole gang over this attempt's steps after the warm-up, pauses
        between steps (an evaluation at an epoch's end) included, checkpoint writes left out;
        the exit report's speed. (Heartbeats carry the moving average of the last steps.)"""
        if self._measured_s <= 0:
            return None if self._speed is None else self._speed[1]
        return self._measured_samples / self._measured_s

    def progress(self) -> Progress:
        """Where the job stands, for heartbeats and reports."""
        return Progress(step=self.step_count, samples=self.samples, epoch=self.epoch,
                        epoch_samples=self.epoch_samples,
                        samples_per_epoch=max(1, self._samples_per_epoch),
                        batch_size=max(1, self._batch_size or 1))

    def _heartbeat_message(self, seq: int) -> Heartbeat:
        timing = self._timing
        speed = self._speed  # read once: the size and the average go together
        return Heartbeat(seq=seq, progress=self.progress(),
                         samples_per_s=None if speed is None else speed[1],
                         speed_batch_size=speed[0] if speed is not None and speed[0] else None,
                         step_time_s=timing.step_s or None, last_checkpoint=self.last_checkpoint,
                         batch_size_proposal=self._adapter.proposal,
                         noise_scale=self._adapter.noise_scale)

    # -- running and ending ---------------------------------------------------------------
    @contextlib.contextmanager
    def running(self, *, exit_process: bool = True) -> Iterator[JobSession]:
        """Run the loop under the service's rules: SIGTERM/SIGINT set the stop flag, rank 0
        heartbeats, periodic checkpoints happen in ``step()``. On leaving: a checkpoint if a
        stop was agreed, the ``ExitReport``, then ``SystemExit`` with 0 (finished), 75
        (yielded) or non-zero (failed); ``exit_process=False`` only sets ``exit_code``."""
        if not self._restore_tried:
            self.restore()  # never train from scratch over existing checkpoints
        self._signals.install()
        self._estimate_checkpoint_time()
        self._checkpoint_at = time.monotonic()
        if self.is_main and not self.env.standalone:
            self._heartbeat = HeartbeatThread(self._transport, self._control,
                                              self._heartbeat_message, self.env.heartbeat_s)
            self._heartbeat.start()
        try:
            yield self
        except BaseException as exc:
            if isinstance(exc, SystemExit) and exc.code in (None, 0):
                outcome = self._conclude()
            else:
                self._end(Outcome.from_exception(exc))
                raise
        else:
            outcome = self._conclude()
        self._end(outcome)
        if exit_process:
            raise SystemExit(outcome.exit_code)

    def _conclude(self) -> Outcome:
        """The outcome of a loop that ended without an error, after its last writes."""
        if self._completed or not self.should_stop:
            self._completed = True
            try:
                self._save_final_params()
            except OSError as exc:
                return Outcome.failed(f"cannot write the final parameters: {exc}")
            return Outcome.finished()
        why = self._why(self._stop_code)
        try:
            checkpoint = self.checkpoint()
        except CheckpointError as exc:
            return Outcome.failed(str(exc))
        if checkpoint is None:
            why += "; no checkpoint directory, progress not saved"
        reason = "lease_expired" if self._stop_code == StopCode.LEASE_ENDED else "yielded"
        return Outcome.yielded(reason, f"stopped at step {self.step_count}: {why}")

    def _end(self, outcome: Outcome) -> None:
        """Stop heartbeats, report ``outcome`` (rank 0), release handlers and the group."""
        self.exit_code = outcome.exit_code
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self.is_main:
            if self._batch_size:
                self._adapter.history.start(self._batch_size)
            report = build_report(outcome, self.progress(), self.last_checkpoint,
                                  samples_per_s=self.mean_samples_per_s,
                                  step_time_s=self._timing.step_s or None,
                                  batch_sizes=self._adapter.history.report(),
                                  checkpoint_failures=self.checkpoint_failures)
            deliver(report, self.env.report_file, self._transport)
            log.info("shockwave.job: exit %d (%s)%s", outcome.exit_code, outcome.reason,
                     f": {outcome.message.splitlines()[0]}" if outcome.message else "")
        self._signals.restore()
        self._transport.close()
        # a stop or finish every rank agreed on: leave together; after a failure, at once
        self.gang.close(wait_for_peers=outcome.reason != "failed")

    def _save_final_params(self) -> None:
        if not self.is_main:
            return
        paths = [self._params_out] if self._params_out else []
        if self._manager is not None:
            paths.append(self._manager.directory / FINAL_PARAMS)
        for path in paths:
            save_params(path, self._objects)

    def _estimate_checkpoint_time(self) -> None:
        """A first guess of the checkpoint time from the state's size (100 MB/s)."""
        if self._manager is None or self._timing.checkpoint_measured:
            return
        nbytes = 0
        for obj in self._objects.values():
            nbytes += tensor_bytes(obj.state_dict())
        self._timing.checkpoint_s = 0.1 + nbytes / 100e6


def _use_deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True)`` without its one-second import of the
    compiler's config: the same switch, with the compiler told through its environment variable
    (read when, and if, it is imported later)."""
    import sys

    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1"
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if "torch._inductor.config" in sys.modules or setter is None:
        torch.use_deterministic_algorithms(True)
    else:
        setter(True, warn_only=False)


def init(*, batch_size: int | None = None,  # noqa: PLR0913 - the script's defaults, by keyword
         seed: int | None = None,
         checkpoint_dir: str | Path | None = None, checkpoint_interval_s: float | None = None,
         params_out: str | Path | None = None, deterministic: bool = False,
         device: str | None = None, timeout_s: float = 120.0,
         adapt: AdaptConfig | None = None) -> JobSession:
    """Read the environment contract, join the gang and return this rank's session.

    The arguments are the script's defaults; under the service its values win (batch size,
    seed, checkpoint directory and interval, and ``adapt``'s mode and batch-size bounds).
    ``init`` seeds ``torch`` and ``random`` with the job's seed; ``deterministic=True`` also
    turns on ``torch.use_deterministic_algorithms``. ``params_out``: where to save the final
    parameters when the job finishes (they also go to ``<checkpoint dir>/final-params.pt``).
    ``adapt``: batch-size adaptation (``AdaptConfig``, ``docs/adaptation.md``); static when
    neither it nor ``SHOCKWAVE_ADAPTATION`` asks for more.
    """
    import torch

    from shockwave.job.dist import Gang
    from shockwave.job.env import JobEnv

    env = JobEnv.from_environ()
    if deterministic:
        _use_deterministic_algorithms()
    job_seed = env.seed if env.seed is not None else (seed or 0)
    torch.manual_seed(job_seed)
    random.seed(job_seed)
    gang = Gang(env, device, timeout_s)
    directory = env.checkpoint_dir or (Path(checkpoint_dir) if checkpoint_dir else None)
    interval = env.checkpoint_interval_s or checkpoint_interval_s
    adapt = adapt or AdaptConfig()
    adapt = dataclasses.replace(adapt, mode=env.adaptation or adapt.mode,
                                min_batch_size=env.min_batch_size or adapt.min_batch_size,
                                max_batch_size=env.max_batch_size or adapt.max_batch_size)
    return JobSession(env, gang, batch_size=env.batch_size or batch_size, seed=job_seed,
                      checkpoint_dir=directory, checkpoint_interval_s=interval,
                      params_out=Path(params_out) if params_out else None, adapt=adapt)
