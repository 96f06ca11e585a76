"""The Shockwave policy's knobs: a frozen dataclass and its JSON loader (SPEC 4.1.3)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shockwave.errors import InputError
from shockwave.jsonfile import read_json

# JSON key (the reference's spelling first, ours accepted too) -> dataclass field.
_KEYS: dict[str, str] = {
    "future_rounds": "future_rounds",
    "k": "k",
    "lambda": "lam",
    "lam": "lam",
    "rhomax": "rho_max",
    "rho_max": "rho_max",
    "log_approximation_bases": "log_bases",
    "log_bases": "log_bases",
    "log_origin": "log_origin",
    "gpu_ram": "gpu_ram_gb",
    "gpu_ram_gb": "gpu_ram_gb",
    "solver_rel_gap": "mip_rel_gap",
    "mip_rel_gap": "mip_rel_gap",
    "solver_num_threads": "threads",
    "threads": "threads",
    "solver_timeout": "time_limit_s",
    "time_limit_s": "time_limit_s",
    "resolve_every_rounds": "resolve_every_rounds",
    "momentum": "momentum",
    "finishing_priority_power": "finishing_priority_power",
    "calibration_tolerance": "calibration_tolerance",
    "priority_cap": "priority_cap",
    "exact_rounds": "exact_rounds",
    "milp_program": "milp_program",
}


@dataclass(frozen=True)
class ShockwaveConfig:
    """Every number that changes Shockwave's decisions, with the canonical experiment's values."""

    future_rounds: int = field(default=20, metadata={"help": "planning window T, rounds"})
    k: float = field(default=1e-3, metadata={"help": "weight of the max-remaining-time term"})
    lam: float = field(default=12.0, metadata={"help": "priority power lambda when relaxed"})
    rho_max: float = field(default=1.0, metadata={"help": "finish-time fairness bound rho_max"})
    log_bases: tuple[float, ...] = field(
        default=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        metadata={"help": "breakpoints of the piecewise-linear log of normalized progress"},
    )
    log_origin: float = field(default=1e-6, metadata={"help": "ln(0) is taken as ln(this)"})
    gpu_ram_gb: int = field(default=16, metadata={"help": "GPU memory, GB (unused, as in the reference)"})
    mip_rel_gap: float = field(default=1e-3, metadata={"help": "relative MIP gap"})
    time_limit_s: float = field(default=15.0, metadata={"help": "time limit of each solve, s"})
    threads: int = field(default=24, metadata={"help": "solver threads (Gurobi only)"})
    resolve_every_rounds: int = field(default=8, metadata={"help": "periodic re-plan, rounds"})
    momentum: float = field(default=0.9, metadata={"help": "momentum of the finish-time average"})
    finishing_priority_power: float = field(
        default=100.0, metadata={"help": "priority power for late jobs within one round of the end"}
    )
    calibration_tolerance: float = field(
        default=0.4, metadata={"help": "relative sample mismatch that triggers recalibration"}
    )
    exact_rounds: bool = field(
        default=False,
        metadata={"help": "re-solve with per-round binaries when the rounds cannot all be placed"},
    )
    milp_program: bool = field(
        default=False,
        metadata={"help": "solve the aggregated program with the MILP solver instead of the "
                          "level search (also used when the solver is gurobi or exact_rounds)"},
    )
    priority_cap: float = field(
        default=1e12, metadata={"help": "upper bound on a priority (keeps solver costs finite)"}
    )

    def validate(self, path: str | Path | None = None) -> ShockwaveConfig:
        """Raise ``InputError(path, field)`` for the first value out of its range."""
        checks: list[tuple[str, bool, str]] = [
            ("future_rounds", self.future_rounds >= 1, "must be an integer >= 1"),
            ("k", self.k >= 0, "must be >= 0"),
            ("lambda", self.lam >= 0, "must be >= 0"),
            ("rhomax", self.rho_max > 0, "must be > 0"),
            ("log_approximation_bases", _valid_bases(self.log_bases),
             "must be increasing values in [0, 1] starting at 0 and ending at 1"),
            ("log_origin", 0 < self.log_origin < 1, "must be in (0, 1)"),
            ("solver_rel_gap", 0 <= self.mip_rel_gap < 1, "must be in [0, 1)"),
            ("solver_timeout", self.time_limit_s >= 0, "must be >= 0 seconds"),
            ("solver_num_threads", self.threads >= 1, "must be >= 1"),
            ("resolve_every_rounds", self.resolve_every_rounds >= 1, "must be >= 1"),
            ("momentum", 0 <= self.momentum <= 1, "must be in [0, 1]"),
            ("calibration_tolerance", self.calibration_tolerance >= 0, "must be >= 0"),
            ("priority_cap", self.priority_cap >= 1, "must be >= 1"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise InputError(why, path=path, field=name)
        return self


def _valid_bases(bases: tuple[float, ...]) -> bool:
    if len(bases) < 2 or bases[0] != 0.0 or bases[-1] != 1.0:
        return False
    return all(a < b for a, b in zip(bases, bases[1:], strict=False))


def _coerce(name: str, value: Any, kind: type, path: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise InputError(f"must be true or false, got {value!r}", path=path, field=name)
        return value
    if kind is tuple:
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            raise InputError("must be a list of numbers", path=path, field=name)
        return tuple(float(v) for v in value)
    if kind is int:
        if isinstance(value, bool) or not (isinstance(value, int) or
                                           (isinstance(value, float) and value.is_integer())):
            raise InputError(f"must be an integer, got {value!r}", path=path, field=name)
        return int(value)
    if not _is_number(value) or not math.isfinite(float(value)):
        raise InputError(f"must be a finite number, got {value!r}", path=path, field=name)
    return float(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def config_from_mapping(raw: Any, path: str = "<config>") -> ShockwaveConfig:
    """Build and validate a config from the reference's JSON keys (or the field names)."""
    if not isinstance(raw, dict):
        raise InputError("must be a JSON object", path=path)
    kinds = {f.name: (tuple if f.name == "log_bases" else type(f.default)) for f in fields(ShockwaveConfig)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = _KEYS.get(key)
        if name is None:
            known = ", ".join(sorted(_KEYS))
            raise InputError(f"unknown setting; known: {known}", path=path, field=key)
        values[name] = _coerce(key, value, kinds[name], path)
    return ShockwaveConfig(**values).validate(path)


def load_shockwave_config(path: str | Path | None = None) -> ShockwaveConfig:
    """The config in ``path`` (reference JSON format), or the bundled canonical one if ``None``."""
    raw, where = read_json(path, bundled="shockwave-config.json")
    return config_from_mapping(raw, where)
