"""The learning-rate rule on a batch-size change: ``linear`` (Goyal et al. 2017, for SGD),
``sqrt`` (for the Adam family) or ``none``.

The factor ``f(new) / f(old)`` multiplies every parameter group's ``lr`` (and ``initial_lr``)
of the tracked optimizers and the ``base_lrs`` of the tracked LR schedulers that drive them, so
the whole schedule moves, chained or closed-form. Over several changes the factors telescope:
the learning rate is always ``f(B) / f(B0)`` times what the script's schedule says at ``B0``.
No torch needed: parameter groups are dictionaries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


def lr_factor(rule: str, old: int, new: int) -> float:
    """The factor a change from batch size ``old`` to ``new`` applies to the learning rate."""
    if rule == "linear":
        return new / old
    if rule == "sqrt":
        return math.sqrt(new / old)
    if rule == "none":
        return 1.0
    raise ValueError(f"unknown learning-rate rule {rule!r}")


def optimizers_in(objects: Iterable[Any]) -> list[Any]:
    """The objects that look like optimizers (they have ``param_groups``)."""
    return [obj for obj in objects if isinstance(getattr(obj, "param_groups", None), list)]


def current_lr(objects: Iterable[Any]) -> float | None:
    """The first optimizer's first group's learning rate, or ``None`` without an optimizer."""
    for opt in optimizers_in(objects):
        for group in opt.param_groups:
            if "lr" in group:
                return float(group["lr"])
    return None


def rescale_lr(objects: Iterable[Any], factor: float) -> int:
    """Multiply the learning rates of the optimizers among ``objects`` (and of the schedulers
    among them that drive those optimizers) by ``factor``; returns the groups changed."""
    objects = list(objects)
    if factor == 1.0:
        return 0
    optimizers = optimizers_in(objects)
    changed = 0
    for opt in optimizers:
        for group in opt.param_groups:
            for key in ("lr", "initial_lr"):
                if key in group:
                    group[key] = _scaled(group[key], factor)
            changed += "lr" in group
    for sched in objects:
        base = getattr(sched, "base_lrs", None)
        if isinstance(base, list) and any(getattr(sched, "optimizer", None) is opt
                                          for opt in optimizers):
            sched.base_lrs = [_scaled(b, factor) for b in base]
    return changed


def _scaled(value: Any, factor: float) -> Any:
    if hasattr(value, "mul_"):  # a tensor learning rate: keep the tensor (and its device)
        return value.mul_(factor)
    return value * factor
