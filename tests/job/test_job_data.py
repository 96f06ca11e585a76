"""The resumable sampler and loader: order from (seed, epoch) only, strided shares, exact
resumption across stops and batch-size changes."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from shockwave.job.data import DataCursor, ResumableLoader, ResumableSampler, epoch_seed


def indices(size: int, rank: int, world: int, cursor: DataCursor, batch: int,
            stop_after: int | None = None) -> list[list[int]]:
    """The batches (as dataset indices) rank ``rank`` sees from the cursor's position."""
    data = TensorDataset(torch.arange(size))
    steps = {"n": 0}
    cursor.stop = lambda: stop_after is not None and steps["n"] >= stop_after
    sampler = ResumableSampler(size, seed=3, rank=rank, world_size=world)
    out = []
    for (xb,) in ResumableLoader(data, sampler, cursor, batch):
        out.append(xb.tolist())
        steps["n"] += 1
    return out


def test_the_order_depends_on_seed_and_epoch_only():
    a = ResumableSampler(50, seed=1).order(0)
    assert torch.equal(a, ResumableSampler(50, seed=1, rank=1, world_size=2).order(0))
    assert not torch.equal(a, ResumableSampler(50, seed=1).order(1))
    assert not torch.equal(a, ResumableSampler(50, seed=2).order(0))
    assert sorted(a.tolist()) == list(range(50))
    assert epoch_seed(1, 0) != epoch_seed(0, 1)


def test_ranks_split_each_global_batch_by_stride():
    cursors = [DataCursor(), DataCursor()]
    per_rank = [indices(20, r, 2, cursors[r], 8) for r in (0, 1)]
    order = ResumableSampler(20, seed=3).order(0).tolist()
    assert per_rank[0][0] == order[0:8:2] and per_rank[1][0] == order[1:8:2]
    seen = sorted(i for rank in per_rank for batch in rank for i in batch)
    assert seen == list(range(20))  # the last global batch of 4 is split 2 + 2
    assert cursors[0].exhausted and cursors[0].epoch_samples == 20


def test_a_stop_and_a_batch_size_change_lose_and_repeat_nothing():
    cursor = DataCursor()
    first = indices(40, 0, 1, cursor, 6, stop_after=3)
    assert cursor.epoch_samples == 18 and not cursor.exhausted
    resumed = DataCursor(epoch=cursor.epoch, epoch_samples=cursor.epoch_samples)
    rest = indices(40, 0, 1, resumed, 10)
    flat = [i for b in first + rest for i in b]
    assert flat == ResumableSampler(40, seed=3).order(0).tolist()
    assert [len(b) for b in rest] == [10, 10, 2]


def test_a_remainder_smaller_than_the_gang_is_dropped():
    cursor = DataCursor()
    batches = indices(9, 1, 2, cursor, 4)
    assert [len(b) for b in batches] == [2, 2]  # 8 of 9 samples; 1 left for 2 ranks
    assert cursor.exhausted and cursor.epoch_samples == 8


def test_a_generic_dataset_is_collated():
    data = [(torch.tensor([float(i)]), i) for i in range(6)]
    sampler = ResumableSampler(6, shuffle=False)
    x, y = next(iter(ResumableLoader(data, sampler, DataCursor(), 4)))
    assert x.shape == (4, 1) and y.tolist() == [0, 1, 2, 3]
