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

    def close(self) -> None:
        if self.initialised:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.initialised = False


def _cpu_threads() -> int:
    """Threads per rank: ``OMP_NUM_THREADS`` when the backend set it, else one."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1

