"""Gradient statistics of a training step, summed on the device (torch imported when used).

``GradientCollector.backward`` runs the script's loss and its backward pass, and on a measured
step also takes the squared norms the GNS estimator needs, at two batch sizes:

- **one rank**: the batch is split in two halves, each backpropagated with weight
  ``n_i / n``, so that the accumulated gradient is the full batch's (the loss must be a mean
  over the batch, PyTorch's default). The small gradients are the halves', the big one the sum;
- **a gang** (DDP): a communication hook takes the squared norm of every bucket of the local
  gradient before the usual averaging all-reduce; the big gradient is the all-reduced one, and
  one small all-reduce adds up the ranks' local norms.

Norms stay tensors on the device until ``take()``, which makes the one host sync of a
measurement. ``GradientSum`` is Accordion's running sum of the gradients over an interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from shockwave.job.adapt.gns import GradientSample

if TYPE_CHECKING:
    import torch

log = logging.getLogger("shockwave.job")

LossFn = Callable[..., "torch.Tensor"]


class BucketNorms:
    """The state of the DDP communication hook: squared norms of the local buckets."""

    def __init__(self) -> None:
        self.active = False
        self.norms: list[torch.Tensor] = []


def measuring_allreduce(state, bucket):
    """DDP communication hook: when ``state.active`` (a ``BucketNorms``), the squared norm of
    the bucket's local gradient, then DDP's normal averaging all-reduce (``allreduce_hook``).
    Unannotated on purpose: DDP checks a hook's annotations against its own classes, and this
    module's annotations are strings."""
    import torch
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

    if state.active:
        buffer = bucket.buffer()
        state.norms.append(torch.linalg.vector_norm(buffer, dtype=torch.float32).square())
    return allreduce_hook(None, bucket)  # None: the default process group


def squared_norm(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """``sum |t|^2`` as a float32 scalar tensor on ``device`` (foreach kernels, no sync)."""
    import torch

    if not tensors:
        return torch.zeros((), device=device)
    total = torch.nn.utils.get_total_norm(tensors, 2.0)
    return total.to(device=device, dtype=torch.float32).square()


def leading_size(batch: Any) -> int | None:
    """The size of the first dimension of the first tensor in ``batch`` (nested tuples,
    lists and dicts are searched in order)."""
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.shape[0] if batch.dim() > 0 else None
    items = batch.values() if isinstance(batch, dict) else \
        batch if isinstance(batch, list | tuple) else ()
    for item in items:
        size = leading_size(item)
        if size is not None:
            return size
    return None


def split_batch(batch: Any, size: int, at: int) -> tuple[Any, Any]:
    """``batch`` cut at row ``at``: every tensor whose first dimension is ``size`` is split,
    anything else goes whole to both parts."""
    import torch

    if isinstance(batch, torch.Tensor):
        if batch.dim() > 0 and batch.shape[0] == size:
            return batch[:at], batch[at:]
        return batch, batch
    if isinstance(batch, dict):
        parts = {k: split_batch(v, size, at) for k, v in batch.items()}
        return {k: p[0] for k, p in parts.items()}, {k: p[1] for k, p in parts.items()}
    if isinstance(batch, list | tuple):
        parts = [split_batch(v, size, at) for v in batch]
        first, second = [p[0] for p in parts], [p[1] for p in parts]
        if isinstance(batch, tuple):
            return tuple(first), tuple(second)
        return first, second
    return batch, batch


class GradientCollector:
    """Runs the backward pass of a step and, when asked, measures it (see the module)."""

    def __init__(self, world_size: int, device: torch.device) -> None:
        self.world_size = world_size
        self.device = device
        self.params: list[torch.nn.Parameter] = []
        self.hook: BucketNorms | None = None
        self._pending: tuple[torch.Tensor, Callable[[list[float]], GradientSample]] | None = None
        """The measured norms (still on the device) and how they make a sample."""

    def watch(self, params: Iterable[torch.nn.Parameter]) -> None:
        """The parameters whose gradients are measured (those that require a gradient)."""
        self.params = [p for p in params if p.requires_grad]

    def attach(self, ddp: torch.nn.parallel.DistributedDataParallel) -> None:
        """Register the measuring communication hook on a DDP model (before its first
        backward pass)."""
        self.hook = BucketNorms()
        ddp.register_comm_hook(self.hook, measuring_allreduce)

    def grads(self) -> list[torch.Tensor]:
        return [p.grad for p in self.params if p.grad is not None]

    def backward(self, loss_fn: LossFn, batch: tuple[Any, ...], kwargs: dict[str, Any],
                 measure: bool) -> torch.Tensor:
        """``loss_fn(*batch, **kwargs).backward()``, measured when ``measure`` (every rank of
        a gang must pass the same ``measure``: a measurement is a collective). Returns the
        batch's loss, detached."""
        if not measure or not self.params:
            return self._plain(loss_fn, batch, kwargs)
        if self.world_size > 1:
            return self._measure_gang(loss_fn, batch, kwargs)
        size = leading_size(batch)
        if size is None or size < 2:
            return self._plain(loss_fn, batch, kwargs)
        return self._measure_halves(loss_fn, batch, kwargs, size)

    @staticmethod
    def _plain(loss_fn: LossFn, batch: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        loss = loss_fn(*batch, **kwargs)
        loss.backward()
        return loss.detach()

    def _measure_halves(self, loss_fn: LossFn, batch: tuple[Any, ...],
                        kwargs: dict[str, Any], size: int) -> torch.Tensor:
        import torch

        cut = size // 2
        halves = split_batch(batch, size, cut)
        weights = (cut / size, (size - cut) / size)
        earlier = self._take_grads()  # gradients accumulated before this call
        losses, norms, parts = [], [], []
        for part, weight in zip(halves, weights, strict=True):
            loss = loss_fn(*part, **kwargs)
            (loss * weight).backward()
            losses.append(loss.detach() * weight)
            norms.append(squared_norm(self.grads(), self.device) / weight ** 2)
            parts.append(self._take_grads())
        for part in parts:
            self._add_grads(part)
        big = squared_norm(self.grads(), self.device)
        self._add_grads(earlier)
        small_batch = 2 / (1 / cut + 1 / (size - cut))  # 1 / mean(1/b_i)

        def sample(values: list[float]) -> GradientSample:
            return GradientSample((values[0] + values[1]) / 2, small_batch, values[2], size)

        self._pending = (torch.stack([norms[0], norms[1], big]), sample)
        return losses[0] + losses[1]

    def _measure_gang(self, loss_fn: LossFn, batch: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> torch.Tensor:
        import torch
        import torch.distributed as dist

        hook = self.hook
        size = leading_size(batch)
        if hook is None or size is None:
            raise ValueError("a gang measures its gradients through the DDP model of "
                             "sess.wrap_model(), with a batch of tensors")
        hook.norms.clear()
        hook.active = True
        try:
            loss = self._plain(loss_fn, batch, kwargs)
        finally:
            hook.active = False
        local = torch.stack(hook.norms).sum() if hook.norms else \
            torch.zeros((), device=self.device)
        hook.norms.clear()
        sums = torch.stack([local, local.new_tensor(1 / size)])
        dist.all_reduce(sums)  # sum over the ranks of |g_r|^2 and of 1/b_r
        big = squared_norm(self.grads(), self.device)
        w = self.world_size

        def sample(values: list[float]) -> GradientSample:
            local_sum, inv_sum, big_sq = values
            # DDP averages the ranks' means: E|g|^2 = |G|^2 + tr(Sigma) sum(1/b_r) / w^2
            return GradientSample(local_sum / w, w / inv_sum, big_sq, w * w / inv_sum)

        self._pending = (torch.cat([sums, big.reshape(1)]), sample)
        return loss

    def take(self) -> GradientSample | None:
        """The last measurement, if one is pending (one host sync)."""
        if self._pending is None:
            return None
        values, sample = self._pending
        self._pending = None
        return sample(values.tolist())

    def _take_grads(self) -> list[torch.Tensor | None]:
        """The current gradients, which are taken off the parameters (set to ``None``)."""
        taken = []
        for p in self.params:
            taken.append(p.grad)
            p.grad = None
        return taken

    def _add_grads(self, grads: list[torch.Tensor | None]) -> None:
        """Add ``grads`` (aligned with ``params``) to the parameters' gradients."""
        import torch

        into, add = [], []
        for p, g in zip(self.params, grads, strict=True):
            if g is None:
                continue
            if p.grad is None:
                p.grad = g
            else:
                into.append(p.grad)
                add.append(g)
        if into:
            torch._foreach_add_(into, add)


class GradientSum:
    """Accordion's running sum of the (synchronised) gradients over an interval."""

    def __init__(self) -> None:
        self.sums: list[torch.Tensor] | None = None
        self.steps = 0

    def add(self, params: list[torch.nn.Parameter]) -> None:
        """Add the current gradients of ``params`` (a missing gradient counts as zero)."""
        import torch

        if self.sums is None:
            self.sums = [torch.zeros_like(p, dtype=torch.float32) for p in params]
        into, add = [], []
        for total, p in zip(self.sums, params, strict=True):
            if p.grad is not None:
                into.append(total)
                add.append(p.grad.float() if p.grad.dtype != torch.float32 else p.grad)
        if into:
            torch._foreach_add_(into, add)
        self.steps += 1

    def mean_norm(self, kind: str) -> float | None:
        """The norm of the interval's mean gradient: the sum of the per-tensor L2 norms
        (``layers``) or the global L2 norm (``global``); ``None`` before any step."""
        import torch

        if self.sums is None or self.steps == 0:
            return None
        norms = torch.stack([torch.linalg.vector_norm(t) for t in self.sums])
        total = norms.sum() if kind == "layers" else torch.linalg.vector_norm(norms)
        return float(total) / self.steps

    def reset(self) -> None:
        if self.sums is not None:
            for t in self.sums:
                t.zero_()
        self.steps = 0

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps,
                "sums": [t.detach().cpu().clone() for t in self.sums] if self.sums else None}

    def load_state_dict(self, state: dict[str, Any], params: list[torch.nn.Parameter]) -> None:
        self.steps = state["steps"]
        sums = state["sums"]
        if sums is None:
            self.sums = None
            return
        if len(sums) != len(params):
            raise ValueError(f"the checkpoint sums {len(sums)} gradients, the model has "
                             f"{len(params)} parameters")
        self.sums = [s.to(p.device) for s, p in zip(sums, params, strict=True)]
