"""Errors of the job library: each message says what went wrong and what to do."""

from __future__ import annotations

from shockwave.errors import ShockwaveError


class JobError(ShockwaveError):
    """Base of the job library's errors."""


class JobEnvError(JobError):
    """A variable of the environment contract has a value the library cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(f"{variable}={value!r}: expected {expected}")
        self.variable = variable


class CheckpointError(JobError):
    """Checkpoints exist but none can be loaded, or one cannot be written. The attempt fails
    loudly instead of silently restarting from scratch."""
