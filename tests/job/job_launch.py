"""Starting the test trainer (``job_trainer.py``) as real processes: one rank, or a 2-rank gloo
gang on a free port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import job_trainer

from shockwave.service.backends.local import free_port

TRAINER = Path(job_trainer.__file__)
DEADLINE_S = 60.0


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """The trainer in a new process (with --manual-sgd: no torch.optim, a faster start)."""
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, str(TRAINER), "--manual-sgd", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def gang_env(base: dict[str, str], rank: int, port: int) -> dict[str, str]:
    return {**base, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def start_gang(args: list[str], base: dict[str, str], tmp: Path,
               name: str) -> list[subprocess.Popen]:
    port = free_port()
    return [start(args, gang_env(base, rank, port), tmp / f"{name}-rank{rank}.log")
            for rank in (0, 1)]


def wait(procs: list[subprocess.Popen]) -> list[int]:
    return [p.wait(timeout=DEADLINE_S) for p in procs]
