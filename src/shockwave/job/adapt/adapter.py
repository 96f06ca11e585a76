"""The job side of batch-size adaptation, as one object the session owns.

Per step it runs the backward pass (measuring it when the mode needs gradient statistics),
feeds the measurement to the estimator and the policy, and keeps the batch size the job
proposes. The session sends the proposal on heartbeats (or approves it itself when standalone)
and, once a change is agreed, calls ``change()`` at the same step on every rank: the history
records it, the learning rate follows the rule once, and the policies start afresh.
Everything it knows is checkpointed (``state_dict``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from shockwave.job.adapt.accordion import AccordionPolicy
from shockwave.job.adapt.config import AdaptConfig
from shockwave.job.adapt.gns import GnsEstimator
from shockwave.job.adapt.gns_target import GnsTargetPolicy
from shockwave.job.adapt.history import BatchSizeHistory
from shockwave.job.adapt.lr import current_lr, lr_factor, rescale_lr

if TYPE_CHECKING:
    import torch

    from shockwave.job.adapt.collector import GradientCollector, GradientSum, LossFn
    from shockwave.job.adapt.reference import ReferencePolicy

log = logging.getLogger("shockwave.job")


class Adapter:
    """Adaptation for one rank, as ``config`` says (its mode and bounds already resolved
    against the environment; an unset bound is the initial batch size). ``parameters`` and
    ``objects`` give the model's parameters and the tracked objects when they are needed."""

    def __init__(self, config: AdaptConfig, *, world_size: int, device: torch.device | None,
                 parameters: Callable[[], Iterable[torch.nn.Parameter]],
                 objects: Callable[[], Iterable[Any]]) -> None:
        mode = config.mode
        self.mode = mode
        self.config = config
        self.policy = config.policy_name()
        self.lr_scaling = config.lr_scaling
        self.low, self.high = config.min_batch_size, config.max_batch_size
        self.world_size = world_size
        self.device = device
        self._parameters = parameters
        self._objects = objects
        self.history = BatchSizeHistory()
        self.proposal: int | None = None
        """The batch size this job asks for now (``None``: it is content)."""
        self.estimator = GnsEstimator(config.smoothing) if mode == "gns" else None
        self.gns_policy = GnsTargetPolicy(
            1, 1, factor=config.target_factor, hysteresis=config.hysteresis,
            patience=config.patience, min_measurements=config.min_measurements,
            max_change=config.max_change_factor) \
            if self.policy == "target" else None
        self.accordion = AccordionPolicy(
            eta=config.accordion_eta, check_every=config.accordion_check_every,
            lr_decay_ratio=config.lr_decay_ratio) if self.policy == "accordion" else None
        self.reference: ReferencePolicy | None = None
        if self.policy == "reference":  # the simulator's tables: numpy, imported only here
            from shockwave.job.adapt.reference import ReferencePolicy

            self.reference = ReferencePolicy(mode, config.reference_model or "",
                                             config.reference_gpus or world_size)
        self.interval_start = 0
        """Samples of the whole job at the start of the Accordion interval in progress."""
        self._collector: GradientCollector | None = None
        self._sum: GradientSum | None = None
        self._pending_sum_state: dict[str, Any] | None = None
        self._backward_calls = 0
        self._warned: set[str] = set()

    # -- what the session reads -------------------------------------------------------------
    @property
    def adaptive(self) -> bool:
        return self.mode != "static"

    @property
    def noise_scale(self) -> float | None:
        """The smoothed gradient noise scale (GNS mode), for heartbeats."""
        return self.estimator.noise_scale if self.estimator is not None else None

    def bounds(self, base: int) -> tuple[int, int]:
        """The batch-size bounds; an unset one is the initial batch size ``base``."""
        low = self.low if self.low is not None else base
        high = self.high if self.high is not None else base
        return low, max(low, high)

    # -- the backward pass ------------------------------------------------------------------
    def collector(self) -> GradientCollector:
        """The gradient collector, watching the model's parameters (built on first use)."""
        if self._collector is None:
            import torch

            from shockwave.job.adapt.collector import GradientCollector

            self._collector = GradientCollector(self.world_size,
                                                self.device or torch.device("cpu"))
        if not self._collector.params:  # the model may be tracked after the first call
            self._collector.watch(self._parameters())
        return self._collector

    def attach(self, ddp: torch.nn.parallel.DistributedDataParallel) -> None:
        """A gang's DDP model: measure its local gradients through a communication hook."""
        if self.estimator is not None and self.config.measure_every > 0:
            self.collector().attach(ddp)

    def measures(self, step: int) -> bool:
        """Whether the backward pass of optimizer step ``step`` (1-based) is measured."""
        every = self.config.measure_every
        return self.estimator is not None and every > 0 and step % every == 0

    def backward(self, loss_fn: LossFn, batch: tuple[Any, ...], kwargs: dict[str, Any],
                 step: int) -> torch.Tensor:
        """Run the loss and its backward pass for optimizer step ``step``; see ``collector``."""
        self._backward_calls += 1
        collector = self.collector()
        measure = self.measures(step)
        if measure and self.world_size > 1 and collector.hook is None:
            self._warn("a gang measures its gradients through the DDP model of "
                       "sess.wrap_model(); this one is not measured")
            measure = False
        loss = collector.backward(loss_fn, batch, kwargs, measure)
        if self.accordion is not None:
            self.gradient_sum().add(collector.params)
        return loss

    def gradient_sum(self) -> GradientSum:
        if self._sum is None:
            from shockwave.job.adapt.collector import GradientSum

            self._sum = GradientSum()
            if self._pending_sum_state is not None:
                self._sum.load_state_dict(self._pending_sum_state, self.collector().params)
                self._pending_sum_state = None
        return self._sum

    # -- deciding -------------------------------------------------------------------------
    def after_step(self, *, samples: int, epoch: int, batch_size: int,
                   samples_per_epoch: int | None) -> int | None:
        """Take the step's measurement in and update the proposal; returns it.
        ``samples_per_epoch``: the training set's size (``None`` without ``sess.loader``)."""
        self.history.start(batch_size)
        if not self.adaptive:
            return None
        base = self.history.initial or batch_size
        low, high = self.bounds(base)
        verdict: int | None | bool = False  # False: no decision this step
        if self.estimator is not None and self._collector is not None:
            sample = self._collector.take()
            if sample is not None and self.estimator.update(sample) \
                    and self.gns_policy is not None:
                self.gns_policy.low, self.gns_policy.high = low, high
                verdict = self.gns_policy.observe(self.estimator.noise_scale, batch_size, base)
        if self.accordion is not None:
            verdict = self._accordion_step(samples, samples_per_epoch, batch_size, base, low,
                                           high)
        if self.reference is not None:
            verdict = self.reference.observe(epoch, batch_size, base) \
                if epoch != self.reference.last_epoch else False
        self._warn_without_backward()
        if verdict is not False:
            self.proposal = _clamped(verdict, low, high, batch_size)
        return self.proposal

    def _accordion_step(self, samples: int, samples_per_epoch: int | None, batch_size: int,
                        base: int, low: int, high: int) -> int | None | bool:
        interval = self.config.accordion_interval_samples or samples_per_epoch
        if interval is None:
            self._warn("Accordion's interval is one epoch of sess.loader(); without it set "
                       "AdaptConfig(accordion_interval_samples=...)")
            return False
        if samples - self.interval_start < interval or self.accordion is None:
            return False
        self.interval_start = samples
        if self._sum is None:
            return False
        norm = self._sum.mean_norm(self.config.accordion_norm)
        self._sum.reset()
        if norm is None:
            return False
        lr = current_lr(self._objects())
        return self.accordion.observe(norm, lr, batch_size, min(max(base, low), high), high)

    def _warn_without_backward(self) -> None:
        if not self._backward_calls and self.policy != "reference":
            self._warn(f"adaptation {self.mode!r} needs gradient statistics, but the script "
                       f"does not call sess.backward(loss_fn, *batch): no batch-size proposals")

    def _warn(self, message: str) -> None:
        """Log ``message`` once per session (it would repeat at every step)."""
        if message not in self._warned:
            self._warned.add(message)
            log.warning("shockwave.job: %s", message)

    # -- an agreed change -----------------------------------------------------------------
    def change(self, samples: int, old: int, new: int) -> float:
        """The job runs at ``new`` instead of ``old`` from ``samples`` on (every rank, at the
        same step): record it, apply the learning-rate rule once, start the policies afresh.
        Returns the learning-rate factor applied."""
        self.history.start(old)
        self.history.record(samples, new)
        factor = lr_factor(self.lr_scaling, old, new)
        objects = list(self._objects())
        rescale_lr(objects, factor)
        self.proposal = None
        if self.gns_policy is not None:
            self.gns_policy.reset()
        if self.accordion is not None:
            self.accordion.reset(current_lr(objects))
            self.interval_start = samples
            if self._sum is not None:
                self._sum.reset()
        return factor

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Plain values and CPU tensors (``torch.load(weights_only=True)`` reads them)."""
        state: dict[str, Any] = {"mode": self.mode, "history": self.history.state_dict(),
                                 "proposal": self.proposal,
                                 "interval_start": self.interval_start}
        for name in ("estimator", "gns_policy", "accordion", "reference"):
            part = getattr(self, name)
            if part is not None:
                state[name] = part.state_dict()
        if self._sum is not None:
            state["sum"] = self._sum.state_dict()
        elif self._pending_sum_state is not None:
            state["sum"] = self._pending_sum_state
        return state

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Restore what ``state_dict`` saved; the history survives a change of mode, the rest
        only when the mode is the same."""
        if not state:
            return
        self.history.load_state_dict(state["history"])
        if state.get("mode") != self.mode:
            return
        self.proposal = state["proposal"]
        self.interval_start = state["interval_start"]
        for name in ("estimator", "gns_policy", "accordion", "reference"):
            part = getattr(self, name)
            if part is not None and name in state:
                part.load_state_dict(state[name])
        if "sum" in state and self.accordion is not None:
            self._sum = None
            self._pending_sum_state = state["sum"]


def _clamped(verdict: int | None, low: int, high: int, batch_size: int) -> int | None:
    if verdict is None:
        return None
    size = min(max(verdict, low), high)
    return None if size == batch_size else size
