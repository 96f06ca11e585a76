"""The contract between the scheduler service and a training job: environment variables, exit
codes and the attempt-facing messages (``docs/service.md``; reference/RUNTIME section 3.4).

Both sides import this module and nothing else of each other: the service never imports torch,
the job library never imports the service. Durations on the wire are relative seconds (no clock
skew); every message names its attempt and carries a sequence number, so that stale or
duplicate messages are recognised and ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# -- environment contract: what the backend sets for every rank of an attempt ----------------

ENV_SERVER = "SHOCKWAVE_SERVER"
"""Base URL of the service, e.g. ``http://127.0.0.1:8470``."""
ENV_JOB_ID = "SHOCKWAVE_JOB_ID"
ENV_ATTEMPT_ID = "SHOCKWAVE_ATTEMPT_ID"
"""The attempt's id: the fencing token in checkpoint paths and in every message."""
ENV_TOKEN = "SHOCKWAVE_ATTEMPT_TOKEN"
"""Bearer token of this attempt; it can act on its own attempt only."""
ENV_CHECKPOINT_DIR = "SHOCKWAVE_CHECKPOINT_DIR"
"""The job's checkpoint directory (the same for every attempt of the job)."""
ENV_REPORT_FILE = "SHOCKWAVE_REPORT_FILE"
"""Where rank 0 writes its final ``ExitReport`` as JSON (read by the backend if the HTTP post
failed)."""
ENV_BATCH_SIZE = "SHOCKWAVE_BATCH_SIZE"
"""The approved global batch size to start with."""
ENV_LEASE_S = "SHOCKWAVE_LEASE_S"
"""Initial lease, seconds from the process start; renewed by heartbeat replies."""
ENV_HEARTBEAT_S = "SHOCKWAVE_HEARTBEAT_S"
ENV_GRACE_S = "SHOCKWAVE_GRACE_S"
"""Seconds between SIGTERM and the hard kill of the process group."""
ENV_CHECKPOINT_INTERVAL_S = "SHOCKWAVE_CHECKPOINT_INTERVAL_S"
ENV_TOTAL_EPOCHS = "SHOCKWAVE_TOTAL_EPOCHS"
ENV_SEED = "SHOCKWAVE_SEED"
ENV_ADAPTATION = "SHOCKWAVE_ADAPTATION"
"""The job spec's batch-size adaptation: ``static``, ``accordion`` or ``gns``."""
ENV_MIN_BATCH_SIZE = "SHOCKWAVE_MIN_BATCH_SIZE"
ENV_MAX_BATCH_SIZE = "SHOCKWAVE_MAX_BATCH_SIZE"
"""The bounds (global batch size) within which the job may propose changes."""
ENV_MAX_STEPS = "SHOCKWAVE_MAX_STEPS"
"""Stop after this many optimizer steps of this process and exit as yielded (75): a short
measured run (``shockwave profile``). Unset: no limit."""
ENV_RANK = "RANK"
ENV_LOCAL_RANK = "LOCAL_RANK"
ENV_WORLD_SIZE = "WORLD_SIZE"
ENV_MASTER_ADDR = "MASTER_ADDR"
ENV_MASTER_PORT = "MASTER_PORT"

# -- exit codes ---------------------------------------------------------------------------------

EXIT_FINISHED = 0
"""The job trained to its end."""
EXIT_YIELDED = 75
"""EX_TEMPFAIL: stopped on request (or lease end) after a checkpoint; resume me."""
EXIT_SIGTERM = 143
"""128 + SIGTERM: killed by a SIGTERM the job did not handle; counts as preempted."""

Action = Literal["continue", "checkpoint_and_stop", "stop_now"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Progress(_Message):
    """Where a job stands, counted in samples (a batch-size change needs no rescaling)."""

    step: int = Field(ge=0, description="optimizer steps taken in the whole job")
    samples: int = Field(ge=0, description="samples consumed in the whole job")
    epoch: int = Field(ge=0, description="the epoch in progress (0-based)")
    epoch_samples: int = Field(ge=0, description="samples consumed in the current epoch")
    samples_per_epoch: int = Field(ge=1, description="the dataset size")
    batch_size: int = Field(ge=1, description="current global batch size")


class Heartbeat(_Message):
    """Rank 0's periodic report: progress and measured speed; the reply carries the lease."""

    seq: int = Field(ge=0, description="increases with every heartbeat of the attempt")
    progress: Progress
    samples_per_s: float | None = Field(default=None, ge=0, description="EMA over recent steps")
    speed_batch_size: int | None = Field(
        default=None, ge=1, description="the global batch size every step in samples_per_s ran "
                                        "at (absent: they may mix sizes)")
    step_time_s: float | None = Field(default=None, ge=0)
    last_checkpoint: str | None = Field(default=None, max_length=200)
    batch_size_proposal: int | None = Field(
        default=None, ge=1, description="the global batch size the job's adaptation asks for")
    noise_scale: float | None = Field(default=None, ge=0,
                                      description="the job's gradient noise scale estimate")


class HeartbeatReply(_Message):
    """What the job must do next. ``stop_by_s`` is relative to the reply's arrival."""

    action: Action
    lease_expires_in_s: float = Field(ge=0)
    stop_by_s: float | None = Field(default=None, ge=0)
    batch_size: int | None = Field(default=None, ge=1, description="approved global batch size")
    batch_size_version: int = Field(default=0, ge=0)


class CheckpointReport(_Message):
    """A committed checkpoint (its manifest written and renamed into place)."""

    checkpoint_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    progress: Progress
    duration_s: float | None = Field(
        default=None, ge=0, description="how long the save took, from gathering the ranks' "
                                        "state to the rename into place (absent: not measured)")


ExitReason = Literal["finished", "yielded", "lease_expired", "failed"]


class BatchSizeChange(_Message):
    """The job switched to ``batch_size`` after ``samples`` samples of the whole job."""

    samples: int = Field(ge=0)
    batch_size: int = Field(ge=1)


class ExitReport(_Message):
    """Rank 0's last word, posted to the service and written to ``$SHOCKWAVE_REPORT_FILE``."""

    reason: ExitReason
    exit_code: int
    progress: Progress | None = None
    checkpoint_id: str | None = Field(default=None, max_length=200)
    message: str | None = Field(default=None, max_length=4000)
    samples_per_s: float | None = Field(default=None, ge=0,
                                        description="mean speed of this attempt after its "
                                                    "warm-up steps (the whole gang)")
    step_time_s: float | None = Field(default=None, ge=0)
    batch_sizes: tuple[BatchSizeChange, ...] = Field(
        default=(), max_length=10_000,
        description="the batch sizes of the whole job so far, from its start (checkpointed)")
    checkpoint_failures: int = Field(
        default=0, ge=0, description="checkpoint saves of this attempt that failed (periodic ones "
                                     "it trained on after, and a final one that failed it)")
