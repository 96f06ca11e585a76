"""Job and attempt states, the one table of legal transitions, and ``is_terminal``.

The store refuses any write that is not in these tables (``check_job`` / ``check_attempt``), so
the legal life cycles are written down here and nowhere else (docs/service.md, "State machines").
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """A submitted job. QUEUED: waiting for a round to place it (or in back-off after a failure);
    RUNNING: one attempt holds slots; the other three are final."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class AttemptState(StrEnum):
    """One run of a job on the slots a round gave it (reference/RUNTIME.md 3.2).

    PENDING: recorded with its slots and token; LAUNCHING: the backend is starting its processes;
    RUNNING: its handle is recorded; DRAINING: asked to stop (revoked, cancelled or lease
    expired), with a soft deadline, a SIGTERM time and a kill time; EXITED: gone, with an
    ``Outcome``."""

    PENDING = "PENDING"
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    DRAINING = "DRAINING"
    EXITED = "EXITED"


class Outcome(StrEnum):
    """How an attempt ended. Only ``failed`` counts against the job's failure budget."""

    completed = "completed"
    """Exit 0: the job trained to its end."""
    yielded = "yielded"
    """Exit 75, or 143 after the service asked it to stop: preempted after a checkpoint."""
    failed = "failed"
    """Any other exit (or a start that failed): the job's fault; retried with back-off."""
    killed = "killed"
    """Still alive at its grace deadline after a stop request; its process group was killed."""
    lost = "lost"
    """Not the job's fault: heartbeats stopped (lease expired), it vanished while the service
    was down without a report, or its node died (the Ray backend)."""


StopReason = str
"""Why an attempt was asked to stop: ``revoked`` (the round moved it off its slots),
``cancelled`` or ``lease_expired``."""

JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset(
        {JobState.QUEUED, JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}

ATTEMPT_TRANSITIONS: dict[AttemptState, frozenset[AttemptState]] = {
    AttemptState.PENDING: frozenset({AttemptState.LAUNCHING, AttemptState.EXITED}),
    AttemptState.LAUNCHING: frozenset({AttemptState.RUNNING, AttemptState.EXITED}),
    AttemptState.RUNNING: frozenset({AttemptState.DRAINING, AttemptState.EXITED}),
    AttemptState.DRAINING: frozenset({AttemptState.EXITED}),
    AttemptState.EXITED: frozenset(),
}

LIVE_ATTEMPT_STATES: tuple[AttemptState, ...] = (
    AttemptState.PENDING, AttemptState.LAUNCHING, AttemptState.RUNNING, AttemptState.DRAINING)
"""States in which an attempt holds its slots."""

CURRENT_ATTEMPT_STATES: tuple[AttemptState, ...] = (
    AttemptState.LAUNCHING, AttemptState.RUNNING, AttemptState.DRAINING)
"""States in which an attempt's messages are accepted (it may be running)."""


class IllegalTransition(ValueError):
    """A write the transition table does not allow: a bug in the service, never user input."""


def is_terminal(state: JobState | AttemptState) -> bool:
    """Whether ``state`` has no way out."""
    table = JOB_TRANSITIONS if isinstance(state, JobState) else ATTEMPT_TRANSITIONS
    return not table[state]  # type: ignore[index]


def check_job(old: JobState, new: JobState) -> None:
    if new not in JOB_TRANSITIONS[old]:
        raise IllegalTransition(f"job: {old} -> {new} is not a legal transition")


def check_attempt(old: AttemptState, new: AttemptState) -> None:
    if new not in ATTEMPT_TRANSITIONS[old]:
        raise IllegalTransition(f"attempt: {old} -> {new} is not a legal transition")
