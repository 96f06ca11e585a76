"""The Ray backend's pure parts, without a Ray cluster: the slot numbering over Ray nodes
(``ray_topology.py``) and the rank runner each actor wraps (``ray_runner.py``: the child process,
its exit codes, signals, and its death with its parent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shockwave.service.backends.ray_runner import EXIT_NOT_STARTED, RankRunner
from shockwave.service.backends.ray_topology import (
    TOPOLOGY_FILE,
    RayNode,
    Topology,
    load_topology,
    save_topology,
)


def ray_node(node_id: str, ip: str, gpus: float | None, alive: bool = True,
             **resources: float) -> dict[str, object]:
    found = dict(resources, CPU=2.0, **({"GPU": gpus} if gpus is not None else {}))
    return {"NodeID": node_id, "NodeManagerAddress": ip, "Alive": alive, "Resources": found}


NODES = [ray_node("bbbb", "10.0.0.2", 2.0), ray_node("head", "10.0.0.1", None),
         ray_node("aaaa", "10.0.0.2", 4.0), ray_node("dead", "10.0.0.3", 2.0, alive=False),
         ray_node("half", "10.0.0.4", 0.5), ray_node("cccc", "10.0.0.1", 1.0, slot=3.0)]


# -- topology ----------------------------------------------------------------------------------------

def test_alive_nodes_with_the_resource_are_servers_in_address_order() -> None:
    topology = Topology.from_ray_nodes(NODES, "GPU")
    assert topology.nodes == (RayNode("cccc", "10.0.0.1", 1), RayNode("aaaa", "10.0.0.2", 4),
                              RayNode("bbbb", "10.0.0.2", 2))
    assert topology.num_slots == 7 and topology.slot_counts == (1, 4, 2)
    assert [n.node_id for n in topology.nodes_of([0, 5, 1, 6])] == ["cccc", "bbbb", "aaaa",
                                                                    "bbbb"]
    assert Topology.from_ray_nodes(NODES, "slot").nodes == (RayNode("cccc", "10.0.0.1", 3),)
    with pytest.raises(ValueError, match="not all among the 7"):
        topology.nodes_of([7])


def test_slots_of_nodes_that_left_are_unavailable() -> None:
    topology = Topology.from_ray_nodes(NODES, "GPU")
    assert topology.unavailable({"cccc", "aaaa", "bbbb"}) == frozenset()
    assert topology.unavailable({"cccc", "bbbb"}) == frozenset({1, 2, 3, 4})
    assert topology.slot_names()[:2] == ("10.0.0.1 cccc GPU:0", "10.0.0.2 aaaa GPU:0")


def test_a_restarted_service_numbers_the_slots_as_before(tmp_path: Path) -> None:
    before = Topology("GPU", (RayNode("x", "10.0.0.9", 2), RayNode("aaaa", "10.0.0.2", 4)))
    save_topology(tmp_path, before)
    assert load_topology(tmp_path) == before
    now = Topology.from_ray_nodes(NODES, "GPU").merged_into(load_topology(tmp_path))
    # Known nodes keep their slots (x died: its slots stay, unavailable); new ones follow.
    assert [n.node_id for n in now.nodes] == ["x", "aaaa", "cccc", "bbbb"]
    assert now.unavailable({"aaaa", "bbbb", "cccc"}) == frozenset({0, 1})
    assert Topology.from_ray_nodes(NODES, "slot").merged_into(before).nodes == (
        RayNode("cccc", "10.0.0.1", 3),)  # counted in another resource: numbered afresh
    (tmp_path / TOPOLOGY_FILE).write_text("{not json")
    assert load_topology(tmp_path) is None


# -- the rank runner -----------------------------------------------------------------------------

def run_script(runner: RankRunner, tmp_path: Path, code: str, **env: str) -> int:
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(code))
    return runner.launch([sys.executable, str(script)], str(tmp_path), env,
                         str(tmp_path / "rank-0.log"))


def test_the_log_directory_is_made_where_the_rank_runs(tmp_path: Path) -> None:
    """On another machine the service's attempt directory does not exist yet."""
    runner = RankRunner()
    log = tmp_path / "attempts" / "7" / "rank-1.log"
    runner.launch([sys.executable, "-c", "print('up')"], None, {}, str(log))
    assert runner.wait_exit() == 0 and log.read_text() == "up\n"


def test_the_rank_runs_with_its_environment_and_its_exit_code_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOCKWAVE_TOKEN", "the-service-secret")
    monkeypatch.setenv("RANK", "7")
    runner = RankRunner()
    assert runner.status() == {"state": "idle", "code": None}
    run_script(runner, tmp_path, """
        import os, sys
        print(os.environ.get("SHOCKWAVE_TOKEN"), os.environ.get("RANK"), os.environ["MINE"],
              os.getsid(0) == os.getpid())
        sys.exit(3)
        """, MINE="x", RANK="0")
    assert runner.wait_exit() == 3
    assert runner.status() == {"state": "exited", "code": 3}
    assert (tmp_path / "rank-0.log").read_text() == "None 0 x True\n"


def test_sigterm_reaches_the_process_group_and_reads_as_143(tmp_path: Path) -> None:
    runner = RankRunner()
    pid = run_script(runner, tmp_path, """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(child.pid, flush=True)
        time.sleep(60)
        """)
    deadline = time.monotonic() + 10
    while not (tmp_path / "rank-0.log").read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.02)
    grandchild = int((tmp_path / "rank-0.log").read_text())
    assert runner.status()["state"] == "running"
    runner.signal(signal.SIGTERM)
    assert runner.wait_exit() == 128 + signal.SIGTERM
    assert gone(pid) and wait_gone(grandchild)
    runner.signal(signal.SIGKILL)  # after the end: nothing to signal, no error


def test_a_command_that_cannot_start_raises_and_reads_as_127(tmp_path: Path) -> None:
    runner = RankRunner()
    with pytest.raises(FileNotFoundError):
        runner.launch([str(tmp_path / "no-such-program")], None, {}, str(tmp_path / "r.log"))
    assert runner.wait_exit() == EXIT_NOT_STARTED


def test_the_rank_dies_with_the_process_that_runs_it(tmp_path: Path) -> None:
    """What a dead actor (ray.kill, a dead node) does to its rank: SIGKILL by the kernel."""
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from shockwave.service.backends.ray_runner import RankRunner
        pid = RankRunner().launch(["sleep", "60"], None, {{}}, {str(tmp_path / "r.log")!r})
        print(pid, flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env={**os.environ})
    assert parent.stdout is not None
    rank = int(parent.stdout.readline())
    time.sleep(0.3)
    assert not gone(rank)  # alive while its parent lives (the thread that started it waits)
    parent.kill()
    parent.wait()
    assert wait_gone(rank)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return False
