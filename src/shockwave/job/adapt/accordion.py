"""The Accordion policy (Agarwal et al., "Adaptive Gradient Communication via Critical Learning
Regime Identification", MLSys 2021), applied to the batch size: a small batch in critical
regimes, a large one otherwise. Pure: it sees one number per interval.

At the end of every interval (an epoch by default) the caller gives the norm of the interval's
mean gradient and the learning rate. Every ``check_every`` intervals the policy compares the norm
with the one at the previous check: a relative change ``|n_prev - n| / n_prev >= eta`` is
critical. The first interval of the job is critical, and so is any learning-rate decay
(Accordion's second rule): a decay proposes the small batch at once and restarts the count to
the next check. ``reset()`` after every batch-size change starts the comparison afresh, so the
policy never reacts to its own change.
"""

from __future__ import annotations

from typing import Any


class AccordionPolicy:
    """The regime detector: ``observe`` once per interval, ``reset`` after every change."""

    def __init__(self, *, eta: float = 0.5, check_every: int = 10,
                 lr_decay_ratio: float = 0.5) -> None:
        self.eta = eta
        self.check_every = check_every
        self.lr_decay_ratio = lr_decay_ratio
        self.intervals = 0
        """Intervals observed since the job's start or the last reset."""
        self.reference_norm: float | None = None
        """The norm at the last check (or at the first interval after a reset)."""
        self.last_lr: float | None = None
        self.started = False
        """False until the job's first interval: that one is critical."""
        self.critical = True

    def observe(self, norm: float, lr: float | None, batch_size: int, low: int,
                high: int) -> int | None:
        """The batch size the regime wants after an interval with mean-gradient norm ``norm``
        (``low`` in a critical regime, ``high`` otherwise), or ``None`` when the current
        ``batch_size`` fits. The regime changes only at a check, at the job's first interval
        or on a learning-rate decay; in between the same wish is repeated."""
        decayed = lr is not None and self.last_lr is not None \
            and lr <= self.lr_decay_ratio * self.last_lr * (1 + 1e-9)
        if lr is not None:
            self.last_lr = lr
        index = self.intervals
        self.intervals += 1
        if decayed:
            self.critical, self.reference_norm, self.intervals = True, norm, 1
        elif not self.started:
            self.critical, self.reference_norm = True, norm
        elif index == 0:
            self.reference_norm = norm  # after a reset: a fresh reference, the regime stays
        elif index % self.check_every == 0:
            self.critical = self.is_critical(norm)
            self.reference_norm = norm
        self.started = True
        wanted = low if self.critical else high
        return wanted if wanted != batch_size else None

    def is_critical(self, norm: float) -> bool:
        """``|n_prev - n| / n_prev >= eta`` (a zero previous norm counts as critical)."""
        previous = self.reference_norm
        if previous is None or previous <= 0:
            return True
        return abs(previous - norm) / previous >= self.eta

    def reset(self, lr: float | None) -> None:
        """The batch size changed (and the learning rate with it, to ``lr``): compare afresh."""
        self.intervals = 0
        self.reference_norm = None
        self.last_lr = lr
        self.started = True

    def state_dict(self) -> dict[str, Any]:
        return {"intervals": self.intervals, "reference_norm": self.reference_norm,
                "last_lr": self.last_lr, "started": self.started, "critical": self.critical}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.intervals, self.reference_norm = state["intervals"], state["reference_norm"]
        self.last_lr, self.started = state["last_lr"], state["started"]
        self.critical = state["critical"]
