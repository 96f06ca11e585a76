"""The Shockwave policy's knobs: a frozen dataclass, the schema every knob is checked against, and
the JSON loader (the format of the published
``scheduler/configurations/*.json``; docs/policies.md, "Configuration").

Each knob declares its type, range and unit once (``_knob``); the same schema checks the JSON
config file (errors name the file and the key) and ``--param key=value`` (errors name the key).
The ranges refuse every value that would break the program: non-finite numbers, breakpoints that
are not a concave interpolation of ``ln``, and sizes that would not solve in reasonable time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shockwave.errors import InputError
from shockwave.jsonfile import read_json
from shockwave.policies.params import ParamError, ParamInfo

MAX_FUTURE_ROUNDS = 100
"""Planning window T, rounds (the paper uses 20). A re-plan's packing grows about as T^3: on 120
jobs at once it takes ~0.03 s at T = 20, ~0.4 s at 60, ~1.3 s at 100 and ~5 s at 200."""

MIN_LOG_BASE_SPACING = 1e-3
"""Smallest gap between two breakpoints of the log interpolation (slopes stay below ~1e4)."""

MAX_LOG_BASES = 101
"""Most breakpoints of the log interpolation (each is one hypograph row per job)."""

MIN_LOG_ORIGIN = 1e-12
"""``ln 0`` is taken as ``ln(log_origin)``, at least ln(1e-12) = -27.6."""

MAX_PRIORITY_CAP = 1e15
"""Priorities stay well below what solvers treat as infinite (HiGHS: 1e20)."""


def _knob(default: Any, kind: str, help: str, *, key: str | None = None,
          aliases: tuple[str, ...] = (), **bounds: Any) -> Any:
    """A config field with its schema: ``key`` is the reference's JSON key (default: the name),
    ``bounds`` the ``ParamInfo`` range and unit."""
    spec = dict(kind=kind, help=help, **bounds)
    return field(default=default, metadata={"schema": spec, "key": key, "aliases": aliases})


@dataclass(frozen=True)
class ShockwaveConfig:
    """Every number that changes Shockwave's decisions, with the canonical experiment's values."""

    future_rounds: int = _knob(20, "integer", "planning window T", low=1, high=MAX_FUTURE_ROUNDS,
                               unit="rounds")
    k: float = _knob(1e-3, "number", "weight of the max-remaining-time term", low=0.0, high=1e6)
    lam: float = _knob(12.0, "number", "priority power lambda when relaxed", key="lambda",
                       low=0.0, high=1000.0, aliases=("lam",))
    rho_max: float = _knob(1.0, "number", "finish-time fairness bound rho_max", key="rhomax",
                           low=0.0, high=1e6, low_open=True, aliases=("rho_max",))
    log_bases: tuple[float, ...] = _knob(
        (0.0, 0.2, 0.4, 0.6, 0.8, 1.0), "numbers",
        "breakpoints of the piecewise-linear log of normalized progress: strictly increasing from "
        f"0 to 1, at least {MIN_LOG_BASE_SPACING:g} apart, at most {MAX_LOG_BASES}",
        key="log_approximation_bases", low=0.0, high=1.0, aliases=("log_bases",))
    log_origin: float = _knob(1e-6, "number", "ln(0) is taken as ln(this); below the first "
                              "positive breakpoint", low=MIN_LOG_ORIGIN, high=0.1)
    gpu_ram_gb: int = _knob(16, "integer", "GPU memory (unused, as in the reference)",
                            key="gpu_ram", low=1, high=1_000_000, unit="GB", aliases=("gpu_ram_gb",))
    mip_rel_gap: float = _knob(1e-3, "number", "relative MIP gap (MILP paths)",
                               key="solver_rel_gap", low=0.0, high=0.5,
                               aliases=("mip_rel_gap",))
    time_limit_s: float = _knob(15.0, "number", "time limit of each MILP solve",
                                key="solver_timeout", low=0.0, high=3600.0, low_open=True,
                                unit="s", aliases=("time_limit_s",))
    threads: int = _knob(24, "integer", "solver threads (Gurobi only)", key="solver_num_threads",
                         low=1, high=1024, aliases=("threads",))
    resolve_every_rounds: int = _knob(8, "integer", "periodic re-plan", low=1, high=1_000_000,
                                      unit="rounds")
    momentum: float = _knob(0.9, "number", "momentum of the finish-time average", low=0.0, high=1.0)
    finishing_priority_power: float = _knob(
        100.0, "number", "priority power for late jobs within one round of the end",
        low=0.0, high=1000.0)
    calibration_tolerance: float = _knob(
        0.4, "number", "relative sample mismatch that triggers recalibration", low=0.0, high=100.0)
    exact_rounds: bool = _knob(
        False, "boolean", "re-solve with per-round binaries when the rounds cannot all be placed")
    milp_program: bool = _knob(
        False, "boolean", "solve the aggregated program with the MILP solver instead of the "
                          "level search (also used when the solver is gurobi or exact_rounds)")
    priority_cap: float = _knob(1e12, "number", "upper bound on a priority (keeps solver costs "
                                "finite)", low=1.0, high=MAX_PRIORITY_CAP)
    makespan_slack: float = _knob(
        0.05, "number", "makespan protection: long jobs are planned enough rounds, first in the "
        "window (on several GPU types: on their fastest type), to finish within (1 + this) x the "
        "present jobs' makespan bound (0: off; off in reference mode)", low=0.0, high=100.0)
    makespan_protect: float = _knob(
        0.8, "number", "makespan protection covers the jobs whose remaining time is at least "
        "this fraction of that bound", low=0.0, high=1.0)
    srpt_power: float = _knob(
        1.5, "number", "shortest-remaining-time power: the relaxed program's priorities are "
        "multiplied by (mean R / R_j) ^ this (0: the published priorities; off in reference "
        "mode)", low=0.0, high=10.0)

    def validate(
        self, path: str | Path | None = None, labels: Mapping[str, str] | None = None
    ) -> ShockwaveConfig:
        """Raise ``InputError`` for the first value out of its range, or breakpoints that do not
        make a concave interpolation of ``ln``. Errors name ``path`` and the JSON key, or
        ``labels[field]`` (e.g. ``--param k``) for the fields given another way."""
        labels = labels or {}

        def fail(name: str, why: str) -> InputError:
            if name in labels:
                return InputError(why, field=labels[name])
            return InputError(why, path=path, field=json_key(name))

        for info in CONFIG_PARAMS:
            try:
                info.coerce(getattr(self, info.name))
            except ParamError as exc:
                raise fail(info.name, str(exc)) from None
        why = _bases_problem(self.log_bases)
        if why is not None:
            raise fail("log_bases", why)
        if not _concave(self.log_bases, self.log_origin):
            raise fail("log_origin", f"must be small enough for a concave interpolation of ln "
                                     f"through the breakpoints, got {self.log_origin:g}")
        return self


def _concave(bases: tuple[float, ...], origin: float) -> bool:
    """Whether the piecewise-linear ``ln`` through ``bases`` (``ln 0 := ln origin``) is concave,
    as the program's hypograph form needs (only the first segment can break it)."""
    ys = [math.log(b) if b > 0 else math.log(origin) for b in bases]
    slopes = [(y1 - y0) / (b1 - b0) for b0, b1, y0, y1 in zip(bases, bases[1:], ys, ys[1:], strict=False)]
    return all(a >= b - 1e-12 for a, b in zip(slopes, slopes[1:], strict=False))


def _bases_problem(bases: tuple[float, ...]) -> str | None:
    """Why ``bases`` cannot be the log interpolation's breakpoints, or ``None``."""
    if not 2 <= len(bases) <= MAX_LOG_BASES:
        return f"must have 2 to {MAX_LOG_BASES} breakpoints, got {len(bases)}"
    if bases[0] != 0.0 or bases[-1] != 1.0:
        return "must start at 0 and end at 1"
    gaps = [b - a for a, b in zip(bases, bases[1:], strict=False)]
    if min(gaps) < MIN_LOG_BASE_SPACING:
        return (f"must be strictly increasing, at least {MIN_LOG_BASE_SPACING:g} apart "
                f"(smallest gap: {min(gaps):g})")
    return None


def _schema(f: Any) -> ParamInfo:
    spec = dict(f.metadata["schema"])
    key = f.metadata["key"]
    aliases = tuple(a for a in (key, *f.metadata["aliases"]) if a and a != f.name)
    return ParamInfo(name=f.name, default=f.default, aliases=aliases, **spec)


CONFIG_PARAMS: tuple[ParamInfo, ...] = tuple(_schema(f) for f in fields(ShockwaveConfig))
"""One schema per knob: the field name is the ``--param`` key, the reference's JSON key an alias."""

_BY_KEY: dict[str, ParamInfo] = {
    key: info for info in CONFIG_PARAMS for key in (info.name, *info.aliases)
}


def json_key(name: str) -> str:
    """The reference's JSON key of field ``name`` (the field name where it has none)."""
    key = next(f.metadata["key"] for f in fields(ShockwaveConfig) if f.name == name)
    return key or name


def config_from_mapping(raw: Any, path: str = "<config>") -> ShockwaveConfig:
    """Build and validate a config from the reference's JSON keys (or the field names). JSON
    values must have their JSON type: a number written as a string is refused."""
    if not isinstance(raw, dict):
        raise InputError("must be a JSON object", path=path)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        info = _BY_KEY.get(key)
        if info is None:
            known = ", ".join(sorted(_BY_KEY))
            raise InputError(f"unknown setting; known: {known}", path=path, field=key)
        if info.name in values:
            raise InputError(f"set twice (also as '{info.name}' or an alias)", path=path, field=key)
        if isinstance(value, str):
            raise InputError(f"must be {info.accepted}, got {value!r}", path=path, field=key)
        try:
            values[info.name] = info.coerce(value)
        except ParamError as exc:
            raise InputError(str(exc), path=path, field=key) from None
    return ShockwaveConfig(**values).validate(path)


def load_shockwave_config(path: str | Path | None = None) -> ShockwaveConfig:
    """The config in ``path`` (reference JSON format), or the bundled canonical one if ``None``."""
    raw, where = read_json(path, bundled="shockwave-config.json")
    return config_from_mapping(raw, where)
