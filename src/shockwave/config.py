"""Frozen configuration of a simulation run, with defaults, units in the names and help text."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Compat = Literal["fixed", "reference"]


@dataclass(frozen=True)
class SimConfig:
    """How the simulator advances time. ``compat="reference"`` reproduces the published code's
    rules and quirks (SPEC 3); ``"fixed"`` (the default) is the same model with its bugs fixed
    (see docs/simulator.md for every difference)."""

    round_s: float = field(default=120.0, metadata={"help": "length of a scheduling round, s"})
    compat: Compat = field(default="fixed", metadata={"help": "'fixed' or 'reference'"})
    seed: int = field(default=0, metadata={"help": "seed of every random choice"})
    preemption_penalty_s: float = field(
        default=20.0, metadata={"help": "time lost when a job restarts after a round off, s"}
    )
    max_run_time_factor: float = field(
        default=1.5, metadata={"help": "force completion after this multiple of the run time"}
    )
    min_reallocation_interval_s: float = field(
        default=1000.0,
        metadata={"help": "time-share policies re-solve at most this often (reference: 1000 s)"},
    )
    max_rounds: int = field(default=1_000_000, metadata={"help": "safety cap on rounds"})

    @property
    def reference(self) -> bool:
        return self.compat == "reference"


def make_sim_config(compat: Compat = "fixed", **overrides: object) -> SimConfig:
    """The configuration for ``compat`` mode, with any field overridden by keyword."""
    base = SimConfig(compat=compat)
    if compat == "fixed":
        base = replace(base, min_reallocation_interval_s=0.0)
    return replace(base, **overrides)  # type: ignore[arg-type]
