"""Leaving a gang's process group (``Gang.close``): the ranks meet in the group's store before
and after destroying their groups, so none exits during a peer's teardown (which could end the
peer in ``std::terminate``, exit -6, instead of its own exit code); a peer that is gone only
shortens the wait."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from job_launch import gang_env

from shockwave.service.backends.local import free_port

pytest.importorskip("torch")

RANK = """
import os, sys, time
from shockwave.job.dist import Gang
from shockwave.job.env import JobEnv
gang = Gang(JobEnv.from_environ(), device="cpu", timeout_s=30)
gang.max([1])  # one collective, as a checkpoint's last
mode = sys.argv[1]
if mode == "vanish" and gang.rank == 1:
    os._exit(3)  # gone without leaving the group
if mode == "late" and gang.rank == 1:
    time.sleep(1.0)
started = time.monotonic()
gang.close(timeout_s=float(sys.argv[2]))
print(f"closed in {time.monotonic() - started:.2f} s", flush=True)
sys.exit(75)
"""


def _gang(mode: str, timeout_s: float, tmp: Path) -> list[subprocess.Popen]:
    port = free_port()
    procs = []
    for rank in (0, 1):
        log = open(tmp / f"{mode}-rank{rank}.log", "w")  # noqa: SIM115 (closed with the test)
        procs.append(subprocess.Popen([sys.executable, "-c", RANK, mode, str(timeout_s)],
                                      env=gang_env(dict(os.environ), rank, port),
                                      stdout=log, stderr=subprocess.STDOUT))
    return procs


def _closed_in(log: Path) -> float:
    line = next(line for line in log.read_text().splitlines() if line.startswith("closed in"))
    return float(line.split()[2])


def test_ranks_leave_together_and_keep_their_exit_codes(tmp_path: Path) -> None:
    """Rank 1 comes to close 1 s after rank 0: rank 0 waits for it (about 1 s; the meetings
    succeed, before their 10 s timeout), and both exit with their own code."""
    procs = _gang("late", 10.0, tmp_path)
    assert [p.wait(timeout=60) for p in procs] == [75, 75]
    assert 0.5 <= _closed_in(tmp_path / "late-rank0.log") < 10.0


def test_a_vanished_peer_only_shortens_the_wait(tmp_path: Path) -> None:
    """Rank 1 exits without leaving the group: rank 0's close gives up at its meeting's 2 s
    timeout (2.0 s measured), far from the group's own 30 s, and it still exits 75."""
    procs = _gang("vanish", 2.0, tmp_path)
    assert [p.wait(timeout=60) for p in procs] == [75, 3]
    assert _closed_in(tmp_path / "vanish-rank0.log") < 15.0


def test_without_torch_s_private_store_getter_the_ranks_part_without_meeting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``distributed_c10d._get_default_store`` is private: a torch without it must not break
    ``Gang.close``, which then skips the meetings (as before they existed)."""
    from torch.distributed import distributed_c10d

    from shockwave.job import dist

    monkeypatch.delattr(distributed_c10d, "_get_default_store")
    assert dist._default_store() is None
