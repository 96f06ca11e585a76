"""The process group of a gang and the few collectives the library needs (torch imported here).

CUDA: ``cuda:{LOCAL_RANK}`` and NCCL; CPU: gloo. The group has a finite timeout, so a dead peer
becomes an error on the survivors instead of a hang. With one rank nothing is initialised and
every collective is the identity.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from shockwave.job.env import JobEnv

DEFAULT_TIMEOUT_S = 120.0


class Gang:
    """This rank's view of the attempt's ranks: device, backend and collectives."""

    def __init__(self, env: JobEnv, device: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        import torch

        self.rank = env.rank
        self.world_size = env.world_size
        use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
        if use_cuda:
            self.device = torch.device(device or f"cuda:{env.local_rank}")
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device(device or "cpu")
            torch.set_num_threads(_cpu_threads())
        self.backend = "nccl" if self.device.type == "cuda" else "gloo"
        self.initialised = False
        if self.world_size > 1:
            self._init_group(env, timeout_s)

    def _init_group(self, env: JobEnv, timeout_s: float) -> None:
        import torch.distributed as dist

        if not dist.is_initialized():
            os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
            addr = env.master_addr or "127.0.0.1"
            port = env.master_port or 29500
            dist.init_process_group(
                self.backend, init_method=f"tcp://{addr}:{port}", rank=self.rank,
                world_size=self.world_size, timeout=datetime.timedelta(seconds=timeout_s))
            self.initialised = True

    def max(self, values: list[int]) -> list[int]:
        """Element-wise maximum over all ranks (one collective)."""
        if self.world_size == 1:
            return list(values)
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.int64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [int(v) for v in tensor.tolist()]

    def barrier(self) -> None:
        """Every rank waits for all the others (an all-reduce, which NCCL and gloo both do)."""
        self.max([0])

    def gather_to_main(self, obj: Any) -> list[Any] | None:
        """``obj`` of every rank, in rank order, on rank 0; ``None`` elsewhere."""
        if self.world_size == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] | None = [None] * self.world_size if self.rank == 0 else None
        dist.gather_object(obj, out, dst=0)
        return out

    def close(self, *, wait_for_peers: bool = True, timeout_s: float = 10.0) -> None:
        """Leave the group without racing the other ranks' exits. With ``wait_for_peers`` (a
        stop every rank agreed on), the ranks meet in the group's store before destroying their
        groups, so no collective is still in flight, and again after, so none exits while a
        peer is still tearing its group down; each meeting waits at most ``timeout_s`` and a
        peer already gone only ends the wait. Without it, a rank that exited during a peer's
        teardown could leave that peer's gloo threads unjoined, and the peer ended in
        ``std::terminate`` (SIGABRT, exit -6) instead of its own exit code. The store is used,
        not a collective, because its waits time out quickly whatever the backend."""
        if not self.initialised:
            return
        import torch.distributed as dist

        self.initialised = False
        store = _default_store() if wait_for_peers else None
        together = store is not None and _meet(store, "ready", self.rank, self.world_size,
                                               timeout_s)
        dist.destroy_process_group()
        if together:
            _meet(store, "left", self.rank, self.world_size, timeout_s)


def _default_store() -> Any:
    """The default group's store, or ``None``: torch exposes it only privately
    (``distributed_c10d._get_default_store``, there since 1.x), so a torch without it leaves
    the ranks to part without meeting, as they did before ``Gang.close`` met them."""
    from torch.distributed import distributed_c10d

    getter = getattr(distributed_c10d, "_get_default_store", None)
    try:
        return None if getter is None else getter()
    except (RuntimeError, ValueError):  # no default group (already destroyed)
        return None


def _meet(store: Any, name: str, rank: int, world_size: int, timeout_s: float) -> bool:
    """Wait, through ``store``, until every rank has reached ``name``; ``False`` when a peer (or
    the store's host) is gone or does not come within ``timeout_s``."""
    try:
        store.set(f"shockwave/{name}/{rank}", "1")
        store.wait([f"shockwave/{name}/{r}" for r in range(world_size)],
                   datetime.timedelta(seconds=timeout_s))
    except (RuntimeError, ValueError):  # DistStoreError is a RuntimeError
        return False
    return True


def _cpu_threads() -> int:
    """Threads per rank: ``OMP_NUM_THREADS`` when the backend set it, else one."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1

