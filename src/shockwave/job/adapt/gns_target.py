"""The GNS ``target`` policy: propose the allowed batch size nearest to ``k x B_simple``, with
hysteresis so that it does not oscillate (``docs/adaptation.md``). Pure: no torch, no clock."""

from __future__ import annotations

import math
from typing import Any


def allowed_sizes(base: int, low: int, high: int) -> tuple[int, ...]:
    """``base x 2^j`` within ``[low, high]``, ascending: the powers of two between the bounds
    when the initial batch size ``base`` is one. Never empty: ``base`` clamped to the bounds
    when no multiple fits."""
    sizes = []
    size = base
    while size >= max(low, 1) and size % 2 == 0:
        size //= 2
    size = max(size, 1)
    while size <= high:
        if size >= low:
            sizes.append(size)
        size *= 2
    return tuple(sizes) or (min(max(base, low), high),)


def nearest_size(sizes: tuple[int, ...], value: float) -> int:
    """The size nearest to ``value`` on a log scale (ties go to the smaller size)."""
    if value <= 0:
        return sizes[0]
    return min(sizes, key=lambda s: (abs(math.log(s / value)), s))


class GnsTargetPolicy:
    """Decides after each measurement of the noise scale.

    A move is wanted when ``factor x B_simple`` is at least ``hysteresis`` times the current
    batch size (or at most its inverse); its target is the allowed size nearest to
    ``factor x B_simple``, but at most ``max_change`` times (or at least ``1/max_change``
    times) the current size. The policy proposes once the move was wanted ``patience``
    evaluations in a row, in the same direction, and at least ``min_measurements`` measurements
    were taken since the start or the last change (``reset``).
    """

    def __init__(self, low: int, high: int, *, factor: float = 1.0, hysteresis: float = 2.0,
                 patience: int = 3, min_measurements: int = 20,
                 max_change: float | None = 2.0) -> None:
        self.low, self.high = low, high
        self.factor, self.hysteresis = factor, hysteresis
        self.patience, self.min_measurements = patience, min_measurements
        self.max_change = max_change
        self.streak = 0
        """Evaluations in a row that wanted a move in the current direction (signed: + up)."""
        self.since_change = 0

    def observe(self, noise_scale: float | None, batch_size: int, base: int) -> int | None:
        """The batch size to propose after one more measurement, or ``None``; ``base`` is the
        job's initial batch size (the allowed sizes are its multiples by powers of two)."""
        self.since_change += 1
        target = self.target(noise_scale, batch_size, base)
        if target is None or target == batch_size:
            self.streak = 0
            return None
        direction = 1 if target > batch_size else -1
        self.streak = self.streak + direction if self.streak * direction > 0 else direction
        if abs(self.streak) < self.patience or self.since_change < self.min_measurements:
            return None
        return target

    def target(self, noise_scale: float | None, batch_size: int, base: int) -> int | None:
        """The size a move would go to now, or ``None`` inside the dead band (or unknown)."""
        if noise_scale is None:
            return None
        want = self.factor * noise_scale
        if self.hysteresis * batch_size > want > batch_size / self.hysteresis:
            return None
        sizes = allowed_sizes(base, self.low, self.high)
        if self.max_change is not None:
            reach = [s for s in sizes
                     if batch_size / self.max_change <= s <= batch_size * self.max_change]
            sizes = tuple(reach) or sizes
        return nearest_size(sizes, want)

    def reset(self) -> None:
        """The batch size changed: count measurements afresh."""
        self.streak = 0
        self.since_change = 0

    def state_dict(self) -> dict[str, Any]:
        return {"streak": self.streak, "since_change": self.since_change}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.streak, self.since_change = state["streak"], state["since_change"]
