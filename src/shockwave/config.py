"""Frozen configuration of a simulation run, with defaults, units in the names and help text."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from shockwave.errors import InputError
from shockwave.limits import MAX_ROUND_S, MIN_ROUND_S

Compat = Literal["fixed", "reference"]
COMPAT_MODES: tuple[Compat, ...] = ("fixed", "reference")

REFERENCE_REALLOCATION_INTERVAL_S = 1000.0
"""The reference re-solves a time-share policy at most once per 1,000 s
(``minimum_time_between_allocation_resets`` in the published ``scheduler/scheduler.py``)."""


DEFICIT_RESOLUTION_S = 1e-6
"""The fixed mode's resolution of Gavel's deficits: a microsecond, far below any difference a
schedule can make and far above floating-point noise (about 1e-11 s on a month of rounds), so
deficits that differ only by rounding tie in a simulation and in a real run alike."""


@dataclass(frozen=True)
class SimConfig:
    """How the simulator advances time. ``compat="reference"`` reproduces the published code's
    rules and quirks (``Scheduler.simulate`` in ``scheduler/scheduler.py``); ``"fixed"`` (the
    default) is the same model with its bugs fixed
    (see docs/simulator.md for every difference).

    Fields left at ``None`` take the value of the chosen mode: ``SimConfig()`` and
    ``SimConfig(compat="fixed")`` re-solve on every change, ``SimConfig(compat="reference")``
    at most once per 1,000 s, exactly as ``shockwave simulate`` does.
    """

    round_s: float = field(default=120.0, metadata={"help": "length of a scheduling round, s"})
    compat: Compat = field(default="fixed", metadata={"help": "'fixed' or 'reference'"})
    preemption_penalty_s: float = field(
        default=20.0, metadata={"help": "time lost when a job restarts after a round off, s"}
    )
    max_run_time_factor: float = field(
        default=1.5, metadata={"help": "force completion after this multiple of the run time"}
    )
    min_reallocation_interval_s: float | None = field(
        default=None,
        metadata={"help": "time-share policies re-solve at most this often, s "
                          "(default: 0 in the fixed mode, 1000 in the reference mode)"},
    )
    deficit_resolution_s: float | None = field(
        default=None,
        metadata={"help": "Gavel's deficits, which break ties between equal priorities, are "
                          "kept to this resolution, s; deficits equal to within it tie and job "
                          "order decides (default: 1e-6 in the fixed mode, 0 = exact in the "
                          "reference mode)"},
    )
    max_rounds: int = field(default=1_000_000, metadata={"help": "safety cap on rounds"})

    def __post_init__(self) -> None:
        if self.compat not in COMPAT_MODES:
            raise InputError(f"expected 'fixed' or 'reference', got {self.compat!r}", field="compat")
        if self.min_reallocation_interval_s is None:
            interval = REFERENCE_REALLOCATION_INTERVAL_S if self.reference else 0.0
            object.__setattr__(self, "min_reallocation_interval_s", interval)
        if self.deficit_resolution_s is None:
            resolution = 0.0 if self.reference else DEFICIT_RESOLUTION_S
            object.__setattr__(self, "deficit_resolution_s", resolution)
        check_range("round_s", self.round_s, MIN_ROUND_S, MAX_ROUND_S)
        check_range("deficit_resolution_s", self.deficit_resolution_s, 0.0, 1.0)
        check_range("preemption_penalty_s", self.preemption_penalty_s, 0.0, MAX_ROUND_S)
        check_range("max_run_time_factor", self.max_run_time_factor, 1.0, 1e6)
        check_range("min_reallocation_interval_s", self.min_reallocation_interval_s, 0.0, 1e12)
        if isinstance(self.max_rounds, bool) or not isinstance(self.max_rounds, int) \
                or self.max_rounds < 1:
            raise InputError(f"must be a positive integer, got {self.max_rounds!r}",
                             field="max_rounds")

    @property
    def reference(self) -> bool:
        return self.compat == "reference"


def check_range(name: str, value: object, low: float, high: float, *,
                low_open: bool = False) -> None:
    """``InputError`` naming ``name`` unless ``value`` is a finite number in ``[low, high]``
    (``(low, high]`` with ``low_open``); the message names the bound. For configuration
    objects (``SimConfig``, the service's ``Settings``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", field=name)
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bracket = "(" if low_open else "["
        raise InputError(f"must be in {bracket}{low:g}, {high:g}], got {value:g}", field=name)


def make_sim_config(compat: Compat = "fixed", **overrides: object) -> SimConfig:
    """The configuration for ``compat`` mode, with any field overridden by keyword."""
    known = {f.name for f in fields(SimConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                         field="SimConfig")
    return replace(SimConfig(compat=compat), **overrides)  # type: ignore[arg-type]
