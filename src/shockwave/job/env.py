"""The environment contract between the service's backend and a training process, read once.

Every variable is named in ``shockwave.protocol``. Without ``SHOCKWAVE_SERVER`` the job runs
*standalone*: no heartbeats and no lease, rank 0 of 1 unless ``RANK``/``WORLD_SIZE`` say
otherwise, so that the same script can be run and debugged by hand.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shockwave import protocol as p
from shockwave.job.errors import JobEnvError

ENV_TEST_CHECKPOINT_DELAY_S = "SHOCKWAVE_TEST_CHECKPOINT_DELAY_S"
"""Test hook, job side only: seconds to pause inside every checkpoint write, after ``state.pt``
and before the manifest (so that a test can kill the process in the middle of a write)."""

DEFAULT_HEARTBEAT_S = 2.0
DEFAULT_GRACE_S = 30.0
STANDALONE_ID = "local"

ADAPTATIONS = ("static", "accordion", "gns")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class JobEnv:
    """What the backend told this rank; ``None`` where a variable was not set."""

    server: str | None = None
    job_id: str = STANDALONE_ID
    attempt_id: str = STANDALONE_ID
    token: str | None = None
    checkpoint_dir: Path | None = None
    report_file: Path | None = None
    batch_size: int | None = None
    lease_s: float | None = None
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    grace_s: float = DEFAULT_GRACE_S
    checkpoint_interval_s: float | None = None
    total_epochs: int | None = None
    seed: int | None = None
    max_steps: int | None = None
    """Stop after this many optimizer steps of this process (``SHOCKWAVE_MAX_STEPS``)."""
    adaptation: str | None = None
    """``static``, ``accordion`` or ``gns`` (the job spec's), ``None`` when unset."""
    min_batch_size: int | None = None
    max_batch_size: int | None = None
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    master_addr: str | None = None
    master_port: int | None = None
    test_checkpoint_delay_s: float = 0.0

    @property
    def standalone(self) -> bool:
        """True when no service is watching: no heartbeats, no lease."""
        return self.server is None

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that heartbeats, writes checkpoints and reports."""
        return self.rank == 0

    @property
    def attempt_tag(self) -> str:
        """The attempt id made safe for a file name (the fencing tag in checkpoint paths)."""
        return _SAFE.sub("_", self.attempt_id)[:64] or STANDALONE_ID

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> JobEnv:
        """Read the contract from ``environ`` (``os.environ`` by default); raise
        ``JobEnvError`` naming the first variable with an unusable value."""
        env = _Reader(os.environ if environ is None else environ)
        world_size = env.integer(p.ENV_WORLD_SIZE, low=1) or 1
        rank = env.integer(p.ENV_RANK, low=0) or 0
        if rank >= world_size:
            raise JobEnvError(p.ENV_RANK, str(rank), f"a rank below WORLD_SIZE={world_size}")
        low = env.integer(p.ENV_MIN_BATCH_SIZE, low=1)
        high = env.integer(p.ENV_MAX_BATCH_SIZE, low=low or 1)
        return cls(
            server=(env.text(p.ENV_SERVER) or "").rstrip("/") or None,
            job_id=env.text(p.ENV_JOB_ID) or STANDALONE_ID,
            attempt_id=env.text(p.ENV_ATTEMPT_ID) or STANDALONE_ID,
            token=env.text(p.ENV_TOKEN),
            checkpoint_dir=env.path(p.ENV_CHECKPOINT_DIR),
            report_file=env.path(p.ENV_REPORT_FILE),
            batch_size=env.integer(p.ENV_BATCH_SIZE, low=1),
            lease_s=env.seconds(p.ENV_LEASE_S),
            heartbeat_s=env.seconds(p.ENV_HEARTBEAT_S, positive=True) or DEFAULT_HEARTBEAT_S,
            grace_s=_default(env.seconds(p.ENV_GRACE_S), DEFAULT_GRACE_S),
            checkpoint_interval_s=env.seconds(p.ENV_CHECKPOINT_INTERVAL_S, positive=True),
            total_epochs=env.integer(p.ENV_TOTAL_EPOCHS, low=1),
            seed=env.integer(p.ENV_SEED, low=0),
            max_steps=env.integer(p.ENV_MAX_STEPS, low=1),
            adaptation=env.choice(p.ENV_ADAPTATION, ADAPTATIONS),
            min_batch_size=low,
            max_batch_size=high,
            rank=rank,
            local_rank=env.integer(p.ENV_LOCAL_RANK, low=0) or 0,
            world_size=world_size,
            master_addr=env.text(p.ENV_MASTER_ADDR),
            master_port=env.integer(p.ENV_MASTER_PORT, low=1, high=65535),
            test_checkpoint_delay_s=env.seconds(ENV_TEST_CHECKPOINT_DELAY_S) or 0.0,
        )


def _default(value: float | None, default: float) -> float:
    return default if value is None else value


class _Reader:
    """Typed access to environment variables; an empty value counts as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in choices:
            raise JobEnvError(name, value, f"one of {', '.join(choices)}")
        return value

    def path(self, name: str) -> Path | None:
        value = self.text(name)
        return Path(value) if value else None

    def integer(self, name: str, *, low: int, high: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        expected = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
        try:
            number = int(value)
        except ValueError:
            raise JobEnvError(name, value, expected) from None
        if number < low or (high is not None and number > high):
            raise JobEnvError(name, value, expected)
        return number

    def seconds(self, name: str, *, positive: bool = False) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        expected = "a finite number of seconds " + ("> 0" if positive else ">= 0")
        try:
            number = float(value)
        except ValueError:
            raise JobEnvError(name, value, expected) from None
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            raise JobEnvError(name, value, expected)
        return number
