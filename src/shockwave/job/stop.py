"""When to stop: each rank's local stop code at a step boundary, and the deadline rule.

All ranks combine their codes with one ``all_reduce(MAX)`` (``dist.agree``), so every rank
stops at the same step. The vote also carries "a periodic checkpoint is due" in its lowest bit:
with MAX, that bit survives whenever no rank wants to stop, and a stop checkpoints anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from shockwave.job.lease import Control


class StopCode(IntEnum):
    """Why a rank wants to stop; the largest code wins."""

    CONTINUE = 0
    LEASE_ENDED = 1
    PREEMPTED = 2
    STEP_LIMIT = 3
    """``SHOCKWAVE_MAX_STEPS`` steps done in this process (a measured run): yield."""
    FINISHED = 4


DEFAULT_MARGIN_S = 0.5


@dataclass
class Timing:
    """Exponential moving averages of a step and of a checkpoint, in seconds."""

    step_s: float = 0.0
    checkpoint_s: float = 0.5
    checkpoint_measured: bool = False
    alpha: float = 0.2

    def record_step(self, seconds: float) -> None:
        self.step_s = seconds if self.step_s == 0.0 else \
            self.alpha * seconds + (1 - self.alpha) * self.step_s

    def record_checkpoint(self, seconds: float) -> None:
        if not self.checkpoint_measured:
            self.checkpoint_s, self.checkpoint_measured = seconds, True
        else:
            self.checkpoint_s = 0.5 * seconds + 0.5 * self.checkpoint_s

    def time_to_stop_s(self, margin_s: float = DEFAULT_MARGIN_S) -> float:
        """How long before a deadline the job must stop: one more step may still run, then a
        checkpoint (with 50% headroom) and a margin."""
        return self.step_s + 1.5 * self.checkpoint_s + margin_s


def local_code(control: Control, signalled: bool, now: float, timing: Timing,
               margin_s: float = DEFAULT_MARGIN_S) -> StopCode:
    """This rank's vote at a step boundary, from signals and what the service said."""
    if signalled:
        return StopCode.PREEMPTED
    need = timing.time_to_stop_s(margin_s)
    if control.stop_requested and (control.stop_by is None or now + need >= control.stop_by):
        return StopCode.PREEMPTED
    if control.lease_expires_at is not None and now + need >= control.lease_expires_at:
        return StopCode.LEASE_ENDED
    return StopCode.CONTINUE


def encode_vote(code: StopCode, checkpoint_due: bool) -> int:
    return int(code) * 2 + int(checkpoint_due)


def decode_vote(vote: int) -> tuple[StopCode, bool]:
    return StopCode(vote // 2), bool(vote % 2)
