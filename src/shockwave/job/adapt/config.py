"""The knobs of batch-size adaptation, with their defaults (``docs/adaptation.md``).

A script passes them as ``shockwave.job.init(adapt=AdaptConfig(...))``. The mode (``static``,
``accordion``, ``gns``) and the batch-size bounds are only the script's defaults: under the
service the job spec's values arrive in the environment (``shockwave.protocol``) and win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shockwave.config import check_range
from shockwave.errors import InputError

Mode = Literal["static", "accordion", "gns"]
MODES: tuple[Mode, ...] = ("static", "accordion", "gns")
LrScaling = Literal["linear", "sqrt", "none"]
LR_SCALINGS: tuple[LrScaling, ...] = ("linear", "sqrt", "none")
POLICIES: dict[str, tuple[str, ...]] = {
    "static": (),
    "gns": ("target", "reference"),
    "accordion": ("accordion", "reference"),
}
"""The policies each mode accepts; the first is the default."""
AccordionNorm = Literal["layers", "global"]

_RANGES: dict[str, tuple[float, float, bool]] = {
    "min_batch_size": (1, 1e12, False), "max_batch_size": (1, 1e12, False),
    "measure_every": (0, 1e9, False), "smoothing": (0.0, 1.0, False),
    "target_factor": (0.0, 1e6, True), "hysteresis": (1.0, 1e6, False),
    "max_change_factor": (1.0, 1e12, True),
    "patience": (1, 1e9, False), "min_measurements": (1, 1e9, False),
    "accordion_eta": (0.0, 1e6, True), "accordion_check_every": (1, 1e9, False),
    "accordion_interval_samples": (1, 1e15, False), "lr_decay_ratio": (0.0, 1.0, True),
    "reference_gpus": (1, 1e6, False),
}
"""Each number's range: ``(low, high, low excluded)``; ``None`` values are not checked."""
_INTEGERS = {"min_batch_size", "max_batch_size", "measure_every", "patience",
             "min_measurements", "accordion_check_every", "accordion_interval_samples",
             "reference_gpus"}


@dataclass(frozen=True)
class AdaptConfig:
    """How a job adapts its batch size under the mode the service sets."""

    mode: str = "static"
    """``static``, ``accordion`` or ``gns`` (``SHOCKWAVE_ADAPTATION`` wins)."""
    min_batch_size: int | None = None
    """The smallest global batch size to propose (``SHOCKWAVE_MIN_BATCH_SIZE`` wins); unset:
    the initial batch size."""
    max_batch_size: int | None = None
    """The largest (``SHOCKWAVE_MAX_BATCH_SIZE`` wins); unset: the initial batch size."""
    lr_scaling: str = "linear"
    """The learning-rate rule on a change: ``linear``, ``sqrt`` or ``none``."""
    policy: str | None = None
    """``None``: the mode's own (``target`` under ``gns``, ``accordion`` under ``accordion``);
    ``reference``: the published Shockwave rules (needs ``reference_model``)."""
    measure_every: int = 10
    """GNS: measure the gradient statistics every this many steps (0: never). A measured step
    costs up to ~1.6x a plain one on one rank (two half batches), so the average is <= +6%."""
    smoothing: float = 0.95
    """GNS: EMA factor per measurement of |G|^2 and tr(Sigma), each smoothed separately."""
    target_factor: float = 1.0
    """GNS ``target``: aim at this factor times the noise scale B_simple."""
    hysteresis: float = 2.0
    """GNS ``target``: move only when factor x B_simple is at least this factor away from the
    current batch size (above or below)."""
    patience: int = 3
    """GNS ``target``: evaluations in a row that must want the move."""
    min_measurements: int = 20
    """GNS ``target``: measurements needed since the start and since the last change (20 is
    the EMA's window at the default smoothing: early estimates are not trusted)."""
    max_change_factor: float | None = 2.0
    """GNS ``target``: one change moves the batch size by at most this factor (one rung of the
    ladder of doublings), then ``min_measurements`` more are needed; ``None``: straight to the
    target. Large jumps multiply the learning rate as much."""
    accordion_eta: float = 0.5
    """Accordion: a relative change of the gradient norm of at least this is critical."""
    accordion_check_every: int = 10
    """Accordion: intervals between two checks (the paper's 10 epochs)."""
    accordion_interval_samples: int | None = None
    """Accordion: samples in an interval; ``None``: one epoch (the training set's size)."""
    accordion_norm: AccordionNorm = "layers"
    """Accordion: ``layers``, the sum of the per-tensor L2 norms of the interval's mean gradient
    (the paper's), or ``global``, its L2 norm."""
    lr_decay_ratio: float = 0.5
    """Accordion: the learning rate counts as decayed when it fell to at most this share of its
    value at the previous interval's end; a decay starts a critical regime."""
    reference_model: str | None = None
    """``reference``: the published model whose tables apply (e.g. ``ResNet-18``)."""
    reference_gpus: int | None = None
    """``reference``: the GPU count of the GNS table; ``None``: the gang's world size."""

    def __post_init__(self) -> None:
        check_mode(self.mode)
        check_lr_scaling(self.lr_scaling)
        for name, (low, high, low_open) in _RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if name in _INTEGERS and (isinstance(value, bool) or not isinstance(value, int)):
                raise InputError(f"must be an integer, got {value!r}", field=name)
            check_range(name, value, low, high, low_open=low_open)
        if self.smoothing == 1.0:
            raise InputError("must be below 1 (1 would never move)", field="smoothing")
        if self.min_batch_size and self.max_batch_size and \
                self.min_batch_size > self.max_batch_size:
            raise InputError(f"{self.min_batch_size} is above max_batch_size "
                             f"{self.max_batch_size}", field="min_batch_size")
        if self.accordion_norm not in ("layers", "global"):
            raise InputError(f"must be 'layers' or 'global', got {self.accordion_norm!r}",
                             field="accordion_norm")

    def policy_name(self) -> str | None:
        """The policy that runs under ``mode`` (``None`` for ``static``); ``InputError`` when
        ``policy`` does not fit the mode or ``reference`` has no model."""
        mode = self.mode
        choices = POLICIES[mode]
        if not choices:
            return None
        policy = self.policy or choices[0]
        if policy not in choices:
            raise InputError(f"{policy!r} does not fit adaptation {mode!r}; choose one of "
                             f"{', '.join(choices)}", field="policy")
        if policy == "reference" and not self.reference_model:
            raise InputError("the reference policy needs reference_model (e.g. 'ResNet-18')",
                             field="reference_model")
        return policy


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise InputError(f"must be one of {', '.join(MODES)}, got {mode!r}", field="adaptation")
    return mode  # type: ignore[return-value]


def check_lr_scaling(rule: str) -> LrScaling:
    if rule not in LR_SCALINGS:
        raise InputError(f"must be one of {', '.join(LR_SCALINGS)}, got {rule!r}",
                         field="lr_scaling")
    return rule  # type: ignore[return-value]
