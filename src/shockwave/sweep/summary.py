"""Statistics across seeds: the mean and the half-width of its confidence interval."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

CONFIDENCE = 0.95


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float | None]:
    """The mean of ``values`` and the half-width of its ``confidence`` interval from Student's
    t distribution: ``t(1 - (1 - confidence) / 2, n - 1) * s / sqrt(n)``, ``s`` the sample
    standard deviation. The half-width is ``None`` for a single value (no spread to estimate).

    >>> mean, half = mean_ci([1.0, 2.0, 3.0])  # t(0.975, 2) = 4.3027; s = 1
    >>> mean, round(half, 4)
    (2.0, 2.4841)
    """
    if not values:
        raise ValueError("no values")
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    from scipy.stats import t

    quantile = float(t.ppf(1 - (1 - confidence) / 2, n - 1))
    return mean, quantile * statistics.stdev(values) / math.sqrt(n)
