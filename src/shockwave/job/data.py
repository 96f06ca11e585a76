"""A resumable, resizable sampler and loader (torch imported when used).

The order of an epoch is a function of ``(seed, epoch)`` only, and the position is the number of
samples the whole gang consumed in the epoch. Each global batch is the next ``batch_size``
indices of that order; rank ``r`` takes every ``world_size``-th of them from the ``r``-th. A job
resumed at a position, with the same or another batch size, continues where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass
class DataCursor:
    """Where the job stands in its data; the session owns it and checkpoints it."""

    epoch: int = 0
    epoch_samples: int = 0
    """Samples the whole gang consumed in the current epoch."""
    pending: int = 0
    """Samples consumed since the last ``JobSession.step()``."""
    exhausted: bool = False
    """True once the loader has no full share left for every rank in this epoch."""
    stop: Callable[[], bool] = field(default=lambda: False, repr=False)
    """Asked before every batch; True ends the iteration (a stop was agreed)."""

    def next_epoch(self) -> None:
        self.epoch += 1
        self.epoch_samples = 0
        self.exhausted = False


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit generator seed that depends on ``(seed, epoch)`` and nothing else."""
    digest = hashlib.sha256(f"shockwave-data:{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class ResumableSampler:
    """The order of each epoch and each rank's share of a global batch."""

    def __init__(self, size: int, *, seed: int = 0, shuffle: bool = True, rank: int = 0,
                 world_size: int = 1) -> None:
        if size < world_size:
            raise ValueError(f"a dataset of {size} samples cannot feed {world_size} ranks")
        self.size = size
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self._cached: tuple[int, torch.Tensor] | None = None

    def order(self, epoch: int) -> torch.Tensor:
        """The epoch's permutation of ``range(size)`` (identity without shuffling)."""
        import torch

        if self._cached is None or self._cached[0] != epoch:
            if self.shuffle:
                gen = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
                perm = torch.randperm(self.size, generator=gen)
            else:
                perm = torch.arange(self.size)
            self._cached = (epoch, perm)
        return self._cached[1]

    def has_batch(self, position: int, drop_last: bool, batch_size: int) -> bool:
        """True while a global batch starting at ``position`` gives every rank a sample."""
        remaining = self.size - position
        return remaining >= (batch_size if drop_last else self.world_size)

    def global_batch(self, epoch: int, position: int, batch_size: int) -> torch.Tensor:
        return self.order(epoch)[position:position + batch_size]

    def local_batch(self, epoch: int, position: int, batch_size: int) -> torch.Tensor:
        """This rank's indices of the global batch at ``position``."""
        return self.global_batch(epoch, position, batch_size)[self.rank::self.world_size]


class ResumableLoader:
    """Iterates this rank's batches of one epoch from the cursor's position; stops early when
    the cursor's ``stop()`` says so. ``batch_size`` is the *global* batch size, or a callable
    giving it (read before every batch, so an approved change applies in place)."""

    def __init__(self, dataset: Any, sampler: ResumableSampler, cursor: DataCursor,
                 batch_size: int | Callable[[], int], *, drop_last: bool = False,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.cursor = cursor
        self._batch_size = batch_size
        self.drop_last = drop_last
        self.collate_fn = collate_fn

    @property
    def batch_size(self) -> int:
        return self._batch_size() if callable(self._batch_size) else self._batch_size

    def __len__(self) -> int:
        """Global batches in a whole epoch at the current batch size."""
        size, batch = self.sampler.size, self.batch_size
        return size // batch if self.drop_last else -(-size // batch)

    def __iter__(self) -> Iterator[Any]:
        cursor, sampler = self.cursor, self.sampler
        while True:
            batch_size = self.batch_size
            if not sampler.has_batch(cursor.epoch_samples, self.drop_last, batch_size):
                cursor.exhausted = True
                return
            if cursor.stop():
                return
            indices = sampler.local_batch(cursor.epoch, cursor.epoch_samples, batch_size)
            consumed = len(sampler.global_batch(cursor.epoch, cursor.epoch_samples, batch_size))
            cursor.epoch_samples += consumed
            cursor.pending += consumed
            yield self._fetch(indices)

    def _fetch(self, indices: torch.Tensor) -> Any:
        tensors = getattr(self.dataset, "tensors", None)
        if self.collate_fn is None and isinstance(tensors, tuple):  # TensorDataset
            return tuple(t[indices] for t in tensors)
        from torch.utils.data import default_collate

        items = [self.dataset[i] for i in indices.tolist()]
        return (self.collate_fn or default_collate)(items)
