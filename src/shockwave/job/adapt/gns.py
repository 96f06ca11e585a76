"""The gradient noise scale from gradients measured at two batch sizes in the same step
(McCandlish et al. 2018, "An Empirical Model of Large-Batch Training", appendix A.1).

For a gradient ``g_B`` averaged over ``B`` independent samples, ``E|g_B|^2 = |G|^2 + tr(Sigma)/B``
(``G`` the true gradient, ``Sigma`` the per-sample covariance). Two batch sizes give two
equations and the unbiased estimates

    |G|^2     = (B_big |g_big|^2 - B_small |g_small|^2) / (B_big - B_small)
    tr(Sigma) = (|g_small|^2 - |g_big|^2) / (1/B_small - 1/B_big)

Each is smoothed by its own EMA (a single estimate is very noisy, and the ratio of averages is
far less biased than the average of ratios); the "simple" noise scale is
``B_simple = tr(Sigma) / |G|^2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GradientSample:
    """One step's squared gradient norms at two batch sizes.

    ``small_sq`` is the mean of ``|g_i|^2`` over the small batches ``i`` and ``small_batch``
    the effective size ``1 / mean(1/b_i)`` (so ``E[small_sq] = |G|^2 + tr(Sigma)/small_batch``,
    also for unequal halves); ``big_sq``/``big_batch`` the same for the whole step's gradient.
    """

    small_sq: float
    small_batch: float
    big_sq: float
    big_batch: float

    @property
    def usable(self) -> bool:
        """Finite norms and two different batch sizes."""
        values = (self.small_sq, self.small_batch, self.big_sq, self.big_batch)
        return all(math.isfinite(v) for v in values) and self.big_batch > self.small_batch > 0


def gradient_sq(sample: GradientSample) -> float:
    """The unbiased estimate of ``|G|^2`` (it can be negative for a single sample)."""
    b, big = sample.small_batch, sample.big_batch
    return (big * sample.big_sq - b * sample.small_sq) / (big - b)


def noise_trace(sample: GradientSample) -> float:
    """The unbiased estimate of ``tr(Sigma)``."""
    return (sample.small_sq - sample.big_sq) / (1.0 / sample.small_batch - 1.0 / sample.big_batch)


class Ema:
    """An exponential moving average with bias correction (Adam's): the mean of the values so
    far while there are few of them, then weight ``1 - beta`` for each new one."""

    def __init__(self, beta: float) -> None:
        self.beta = beta
        self.biased = 0.0
        self.count = 0

    def update(self, value: float) -> None:
        self.biased = self.beta * self.biased + (1.0 - self.beta) * value
        self.count += 1

    @property
    def value(self) -> float | None:
        if self.count == 0:
            return None
        return self.biased / (1.0 - self.beta ** self.count)


class GnsEstimator:
    """Smoothed ``|G|^2`` and ``tr(Sigma)`` and their ratio, the noise scale."""

    def __init__(self, smoothing: float = 0.95) -> None:
        self._grad = Ema(smoothing)
        self._noise = Ema(smoothing)
        self.skipped = 0
        """Samples left out (non-finite, or equal batch sizes)."""

    @property
    def measurements(self) -> int:
        return self._grad.count

    def update(self, sample: GradientSample) -> bool:
        """Take one sample in; False when it was left out."""
        if not sample.usable:
            self.skipped += 1
            return False
        self._grad.update(gradient_sq(sample))
        self._noise.update(noise_trace(sample))
        return True

    @property
    def gradient_sq(self) -> float | None:
        """The smoothed ``|G|^2``."""
        return self._grad.value

    @property
    def noise_trace(self) -> float | None:
        """The smoothed ``tr(Sigma)``."""
        return self._noise.value

    @property
    def noise_scale(self) -> float | None:
        """``B_simple = tr(Sigma) / |G|^2``; ``None`` before the first sample or while the
        smoothed ``|G|^2`` is not positive (the gradient is lost in the noise: unknown)."""
        grad, noise = self.gradient_sq, self.noise_trace
        if grad is None or noise is None or grad <= 0:
            return None
        scale = max(0.0, noise) / grad
        return scale if math.isfinite(scale) else None

    def state_dict(self) -> dict[str, Any]:
        return {"grad": [self._grad.biased, self._grad.count],
                "noise": [self._noise.biased, self._noise.count], "skipped": self.skipped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._grad.biased, self._grad.count = state["grad"]
        self._noise.biased, self._noise.count = state["noise"]
        self.skipped = state["skipped"]
