"""The service on a Ray cluster (issue 11): a head and two nodes of two fake GPUs each
(``ray.cluster_utils.Cluster``, all on this machine), real training through the job library.

- A 2-rank gang placed on one node, preempted, resumes on the other node from its checkpoint
  and ends with parameters bit-identical to an uninterrupted run (the service in this process,
  a scripted plan choosing the nodes).
- A node removed mid-attempt (``shockwave serve --backend ray`` as a real process, FIFO): the
  attempt is lost, the job's failure count stays 0, its processes die with the node, and the job
  completes on the other node from its last checkpoint, again bit-identical.
- The backend alone, with tiny scripts: the env contract of a gang across both nodes, SIGTERM,
  a failing rank, ``kill``; no placement group or actor outlives its attempt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from service_process import ServerProcess, free_port

ray = pytest.importorskip("ray")
pytest.importorskip("torch")

from ray.cluster_utils import Cluster  # noqa: E402 - after the import checks

from shockwave.job.params import same_params  # noqa: E402
from shockwave.model import RoundPlan  # noqa: E402
from shockwave.service.backends import ray as ray_backend  # noqa: E402
from shockwave.service.backends.base import AttemptExit, AttemptSpec, Handle  # noqa: E402
from shockwave.service.config import Settings  # noqa: E402
from shockwave.workloads import spec_path  # noqa: E402

EPOCHS = 16
"""About 5 s of training for the 2-rank digits gang on an idle machine. It must outlast its
stop, which can take 2 s from the first heartbeat: 6 epochs (about 2 s) sometimes finished
before the move on a quiet machine, and there was nothing to resume."""
GPUS_PER_NODE = 2


def digits_2rank(**overrides: Any) -> dict[str, Any]:
    spec = yaml.safe_load(spec_path("digits-2rank").read_text())
    return {**spec, "total_epochs": EPOCHS, **overrides}


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str,
             diagnosis: Callable[[], str] = str) -> Any:
    """``predicate()`` once it is truthy. The timeouts below are upper bounds, twice what a
    loaded machine needed: a fresh clone's full run that took 15 min (11 min on a second run)
    saw three of this file's waits run out, passing alone and in that second run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{diagnosis()}")


# -- the cluster ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head without slots and two nodes of two fake GPUs; this process is its driver."""
    found = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    try:
        for _ in range(2):
            found.add_node(num_cpus=2, num_gpus=GPUS_PER_NODE)
        found.wait_for_nodes()
        ray_backend.connect(found.address)
        yield found
    finally:
        ray.shutdown()
        found.shutdown()


@pytest.fixture()
def nodes(cluster: Cluster) -> list[Any]:
    """The cluster's two slot nodes (one added again if a test removed one)."""
    workers = [n for n in cluster.worker_nodes if n.node_id in ray_backend.alive_nodes()]
    while len(workers) < 2:
        workers.append(cluster.add_node(num_cpus=2, num_gpus=GPUS_PER_NODE))
        cluster.wait_for_nodes()
    return workers


def live_placement_groups(prefix: str) -> list[str]:
    return [pg["name"] for pg in ray.util.placement_group_table().values()
            if pg["name"].startswith(prefix) and pg["state"] != "REMOVED"]


def live_actors(handles: list[Handle]) -> list[str]:
    left = []
    for handle in handles:
        for name in handle["actors"]:
            try:
                actor = ray.get_actor(name, namespace=handle["namespace"])
            except ValueError:
                continue
            try:
                ray.get(actor.status.remote(), timeout=2)
                left.append(name)
            except ray.exceptions.RayError:
                pass
    return left


# -- the reference: the same job trained without interruption --------------------------------

class Uninterrupted:
    """The job run by hand, start to end, with no service: started at once (it trains while
    the cluster starts), its final parameters once it is done."""

    def __init__(self, out: Path) -> None:
        spec, port = digits_2rank(), free_port()
        self.path = out / "params.pt"
        argv = [sys.executable, "-m", spec["module"], *spec["args"], "--epochs", str(EPOCHS),
                "--batch-size", str(spec["batch_size"]), "--seed", str(spec["seed"]),
                "--checkpoint-dir", str(out / "ckpt")]
        self.ranks = []
        for rank in range(2):
            env = {k: v for k, v in os.environ.items() if not k.startswith("SHOCKWAVE_")}
            env.update(OMP_NUM_THREADS="1", RANK=str(rank), LOCAL_RANK=str(rank),
                       WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
            extra = ["--params-out", str(self.path)] if rank == 0 else []
            self.ranks.append(subprocess.Popen([*argv, *extra], env=env, text=True,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.PIPE))

    def params(self) -> Path:
        for proc in self.ranks:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-2000:]
        return self.path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uninterrupted]:
    run = Uninterrupted(tmp_path_factory.mktemp("uninterrupted"))
    yield run
    for proc in run.ranks:
        proc.kill()
        proc.communicate()


# -- 1. preempted on one node, resumed on the other --------------------------------------------

class ScriptedPlanner:
    """Places every job on ``slots``, whatever the policy would say: the test chooses the
    node (the round loop, the leases and the backend are the real ones)."""

    def __init__(self, slots: tuple[int, ...]) -> None:
        self.slots = slots
        self.cluster: Any = None

    def job_added(self, job_id: int) -> None: ...
    def job_removed(self, job_id: int) -> None: ...
    def job_ran(self, job_id: int, exec_s: float) -> None: ...
    def batch_size_changed(self, job_id: int) -> None: ...

    def cluster_changed(self, cluster: Any) -> None:
        self.cluster = cluster

    def next_round(self, view: Any) -> RoundPlan:
        return RoundPlan(view.round_index, {job_id: self.slots for job_id in view.jobs})


class InProcessService:
    """The service's app over the Ray backend, under uvicorn in a thread of this process."""

    def __init__(self, settings: Settings, topology: Any, planner: ScriptedPlanner) -> None:
        import uvicorn

        from shockwave.service.api.app import create_app
        from shockwave.service.store import Store

        self.settings, self.store = settings, Store(settings.db_path)
        self.backend = ray_backend.RayBackend(settings, topology)
        app = create_app(settings, self.store, self.backend, planner=planner)  # type: ignore[arg-type]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port,
                                                    log_level="warning"))
        self.url = f"http://127.0.0.1:{settings.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InProcessService:
        self.thread.start()
        wait_for(lambda: self.server.started, 60, "the service to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.store.close()

    def job(self, job_id: int) -> dict[str, Any]:
        return httpx.get(f"{self.url}/v1/jobs/{job_id}", timeout=10).json()

    def diagnosis(self) -> str:
        """The last events and the end of every attempt's logs."""
        lines = [f"{e.at_s:.1f} job {e.job_id} attempt {e.attempt_id}: {e.entity} "
                 f"{e.from_state}->{e.to_state} {e.reason or ''} {e.data or ''}"
                 for e in self.store.events(limit=60)]
        for folder in sorted(self.settings.attempts_dir.glob("*")):
            for log in sorted(folder.glob("rank-*.log")):
                lines.append(f"-- {log}:\n{log.read_text()[-1500:]}")
        return "\n".join(lines)


def test_a_gang_preempted_on_one_node_resumes_on_the_other_from_its_checkpoint(
        uninterrupted: Uninterrupted, cluster: Cluster, nodes: list[Any], tmp_path: Path) -> None:
    shared = tmp_path / "shared-checkpoints"  # the directory every node reaches
    topology = ray_backend.discover("GPU", tmp_path / "state")
    settings = Settings(
        state_dir=tmp_path / "state", gpus=topology.num_slots, servers=topology.slot_counts,
        slot_names=topology.slot_names(), backend="ray", port=free_port(), round_s=1.0,
        heartbeat_s=0.5, lease_s=5.0, grace_s=10.0, startup_s=60.0, tick_s=0.1,
        checkpoint_root=shared, min_train_s=0.0)  # moved at once, not after a start-up's worth
    first_node, second_node = topology.nodes
    planner = ScriptedPlanner((0, 1))
    with InProcessService(settings, topology, planner) as service:
        answer = httpx.post(f"{service.url}/v1/jobs", json=digits_2rank(), timeout=10)
        job_id = answer.json()["id"]
        wait_for(lambda: service.job(job_id)["progress"]["samples"] > 0, 120, "training",
                 service.diagnosis)
        planner.slots = (2, 3)  # the next round moves the gang to the other node
        job = wait_for(lambda: (j := service.job(job_id))["state"] == "COMPLETED" and j, 180,
                       "the job to complete", service.diagnosis)
        handles = [a.handle for a in service.store.attempts(job_id=job_id)]
        attempts = job["attempts"]
    assert [(a["outcome"], a["slots"]) for a in attempts] == [("yielded", [0, 1]),
                                                               ("completed", [2, 3])], attempts
    assert 0 < attempts[1]["start_samples"] == attempts[0]["samples"] < job["progress"]["samples"]
    assert handles[0]["nodes"] == [first_node.node_id] * 2
    assert handles[1]["nodes"] == [second_node.node_id] * 2
    assert all(first_node.node_id[:8] in d for d in attempts[0]["devices"])
    assert all(second_node.node_id[:8] in d for d in attempts[1]["devices"])
    for attempt in attempts:  # every rank logs to the attempt's directory
        folder = settings.attempts_dir / str(attempt["id"])
        assert (folder / "rank-1.log").exists() and "shockwave.job" in (
            folder / "rank-0.log").read_text()
    assert same_params(shared / f"job-{job_id}" / "final-params.pt", uninterrupted.params())
    assert live_placement_groups(service.backend.prefix) == [] and live_actors(handles) == []


# -- 2. a node dies mid-attempt ------------------------------------------------------------------

def processes_with(variable: str, value: str) -> list[int]:
    """Pids of this machine's processes whose environment has ``variable=value``."""
    found = []
    wanted = f"{variable}={value}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0") \
                        and not dead(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def dead(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True


def test_a_node_removed_mid_attempt_is_lost_and_the_job_completes_on_the_other(
        uninterrupted: Uninterrupted, cluster: Cluster, nodes: list[Any], tmp_path: Path) -> None:
    shared = tmp_path / "shared-checkpoints"
    service = ServerProcess(
        tmp_path / "state", "--backend", "ray", "--ray-address", cluster.address,
        "--policy", "fifo", "--round-seconds", "1", "--heartbeat-seconds", "0.5",
        "--lease-seconds", "5",
        "--grace-seconds", "10", "--startup-seconds", "60", "--tick-seconds", "0.1",
        "--checkpoint-dir", str(shared))
    service.start(timeout_s=120)
    try:
        slots = service.get("/v1/cluster")["slots"]
        assert len(slots) == 4 and all(s["available"] for s in slots)
        job_id = service.submit(**digits_2rank(checkpoint_interval_s=0.5))
        job = wait_for(lambda: (j := service.get(f"/v1/jobs/{job_id}"))["last_checkpoint"] and j,
                       120, "a checkpoint")
        first = job["attempts"][-1]
        topology = json.loads((service.state_dir / "ray-topology.json").read_text())
        node_ids = [n["node_id"] for n in topology["nodes"] for _ in range(n["slots"])]
        doomed = {node_ids[s] for s in first["slots"]}
        assert len(doomed) == 1  # the gang is on one node
        ranks = processes_with("SHOCKWAVE_REPORT_FILE",
                               str(service.state_dir / "attempts" / str(first["id"]) /
                                   "report.json"))
        assert len(ranks) == 2
        cluster.remove_node(next(n for n in nodes if n.node_id in doomed))
        final = service.wait_final(timeout_s=180)
        assert [j["state"] for j in final] == ["COMPLETED"]
        job = service.get(f"/v1/jobs/{job_id}")
        after = service.get("/v1/cluster")["slots"]
    finally:
        service.stop()
    lost, second = job["attempts"][0], job["attempts"][-1]
    assert lost["id"] == first["id"] and lost["outcome"] == "lost", lost
    assert lost["reason"].startswith("node ") and lost["reason"].endswith(" died"), lost
    outcomes = [(a["outcome"], a["slots"], a["reason"]) for a in job["attempts"]]
    assert job["failures"] == 0 and len(outcomes) == 2, outcomes  # re-planned at once
    assert second["outcome"] == "completed"
    assert {node_ids[s] for s in second["slots"]}.isdisjoint(doomed)
    assert second["start_samples"] > 0  # from the last checkpoint, not from scratch
    assert [s["slot"] for s in after if not s["available"]] == sorted(first["slots"])
    assert all(dead(pid) for pid in ranks)  # the ranks died with their node
    assert same_params(shared / f"job-{job_id}" / "final-params.pt", uninterrupted.params())
    assert [pg for pg in ray.util.placement_group_table().values()
            if pg["state"] != "REMOVED"] == []


# -- 3. the backend alone, with tiny scripts -------------------------------------------------------

SCRIPT = """
import json, os, sys, time
keys = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
        "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MINE")
json.dump({k: os.environ.get(k) for k in keys} | {"pid": os.getpid()},
          open(sys.argv[1] + os.environ["RANK"], "w"))
code = int(sys.argv[2].split(",")[int(os.environ["RANK"])])
time.sleep(0.5)
sys.exit(code) if code >= 0 else time.sleep(60)
"""


class Gangs:
    def __init__(self, tmp_path: Path, resource: str = "GPU") -> None:
        self.tmp = tmp_path
        self.topology = ray_backend.discover(resource, tmp_path / "state")
        self.settings = Settings(state_dir=tmp_path / "state", gpus=self.topology.num_slots,
                                 servers=self.topology.slot_counts, backend="ray")
        self.backend = ray_backend.RayBackend(self.settings, self.topology)
        self.handles: list[Handle] = []

    def start(self, slots: tuple[int, ...], codes: str) -> Handle:
        attempt_id = len(self.handles) + 1
        folder = self.tmp / f"attempt-{attempt_id}"
        spec = AttemptSpec(
            attempt_id=attempt_id, job_id=1, working_dir=None, env={"MINE": "x"}, slots=slots,
            argv=(sys.executable, "-c", SCRIPT, str(folder / "env-"), codes),
            attempt_dir=folder, report_file=folder / "report.json")
        self.handles.append(self.backend.start(spec))
        return self.handles[-1]

    def wait_running(self, handle: Handle, ranks: int) -> list[dict[str, Any]]:
        folder = self.tmp / f"attempt-{handle['attempt_id']}"
        wait_for(lambda: self.backend.poll(handle) is None
                 and all((folder / f"env-{r}").exists() for r in range(ranks)), 120, "the gang")
        time.sleep(0.1)
        return [json.loads((folder / f"env-{r}").read_text()) for r in range(ranks)]

    def wait_exit(self, handle: Handle) -> AttemptExit:
        return wait_for(lambda: self.backend.poll(handle), 60, "the exit")


def test_a_gang_across_both_nodes_gets_the_env_contract_and_its_exits(
        tmp_path: Path, nodes: list[Any]) -> None:
    gangs = Gangs(tmp_path)
    first, second = gangs.topology.nodes
    handle = gangs.start((0, 1, 2, 3), "0,0,0,0")
    envs = gangs.wait_running(handle, 4)
    assert handle["nodes"] == [first.node_id] * 2 + [second.node_id] * 2
    assert [(e["RANK"], e["LOCAL_RANK"], e["WORLD_SIZE"]) for e in envs] == [
        ("0", "0", "4"), ("1", "1", "4"), ("2", "0", "4"), ("3", "1", "4")]
    assert {(e["MASTER_ADDR"], e["MASTER_PORT"]) for e in envs} == {(first.ip,
                                                                     envs[0]["MASTER_PORT"])}
    assert sorted(envs[0]["CUDA_VISIBLE_DEVICES"].split(",")) == ["0", "1"]
    assert envs[0]["CUDA_VISIBLE_DEVICES"] == envs[1]["CUDA_VISIBLE_DEVICES"]
    assert all(e["OMP_NUM_THREADS"] == "1" and e["MINE"] == "x" for e in envs)
    assert gangs.wait_exit(handle) == AttemptExit(0, None, None)

    # A rank that fails tears the gang down; the attempt's code is the failure's.
    failing = gangs.start((2, 3), "-1,3")
    gangs.wait_running(failing, 2)
    assert gangs.wait_exit(failing) == AttemptExit(3, None, None)

    # SIGTERM through the actors (a job without a handler: 143); kill ends a gang at once,
    # and a rank's process dies with its actor.
    stopped = gangs.start((0, 1), "-1,-1")
    gangs.wait_running(stopped, 2)
    gangs.backend.stop(stopped, grace_s=5)
    assert gangs.wait_exit(stopped) == AttemptExit(143, 15, None)
    killed = gangs.start((2,), "-1")
    (env,) = gangs.wait_running(killed, 1)
    gangs.backend.kill(killed)
    assert gangs.wait_exit(killed) == AttemptExit(137, 9, None)
    wait_for(lambda: dead(env["pid"]), 20, "the killed rank to die")
    assert live_placement_groups(gangs.backend.prefix) == []
    assert live_actors(gangs.handles) == []


def test_a_restarted_service_adopts_a_running_gang_by_its_handle(
        tmp_path: Path, nodes: list[Any]) -> None:
    gangs = Gangs(tmp_path)
    handle = json.loads(json.dumps(gangs.start((2, 3), "-1,-1")))  # as the store keeps it
    envs = gangs.wait_running(handle, 2)
    adopter = ray_backend.RayBackend(gangs.settings, gangs.topology)  # a restarted service
    assert adopter.alive(handle) and adopter.poll(handle) is None
    adopter.stop(handle, grace_s=5)
    assert wait_for(lambda: adopter.poll(handle), 60, "the exit") == AttemptExit(143, 15, None)
    assert all(dead(env["pid"]) for env in envs)
    assert not ray_backend.RayBackend(gangs.settings, gangs.topology).alive(handle)
    assert live_placement_groups(gangs.backend.prefix) == [] and live_actors([handle]) == []

    # A service that died before recording a gang's handle: the next one removes it.
    kept, orphan = gangs.start((0,), "-1"), gangs.start((1,), "-1")
    restarted = ray_backend.RayBackend(gangs.settings, gangs.topology)
    assert restarted.reap_orphans([kept]) == 1
    wait_for(lambda: live_actors([orphan]) == [], 20, "the orphan's actors to go")
    assert live_placement_groups(gangs.backend.prefix) == [
        f"{gangs.backend.prefix}-a{kept['attempt_id']}"]
    gangs.backend.kill(kept)
    assert live_placement_groups(gangs.backend.prefix) == []


def test_slots_counted_in_another_resource_get_no_gpu(tmp_path: Path, nodes: list[Any]) -> None:
    """``--ray-resource CPU``: every CPU of a node is a slot (the head's one too)."""
    gangs = Gangs(tmp_path, resource="CPU")
    assert sorted(gangs.topology.slot_counts) == [1, 2, 2]
    two = next(slot for slot, node in enumerate(gangs.topology.slot_nodes()) if node.slots == 2)
    handle = gangs.start((two, two + 1), "0,0")
    envs = gangs.wait_running(handle, 2)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["", ""]
    assert len(set(handle["nodes"])) == 1
    assert gangs.wait_exit(handle) == AttemptExit(0, None, None)
    assert live_placement_groups(gangs.backend.prefix) == []
