"""``RayBackend``: attempts as placement groups on a Ray cluster (reference/RUNTIME.md 3.8).

The only module of the package that imports ray (the ``[ray]`` extra). Each Ray node that has
the slot resource is a server (``ray_topology.py``). An attempt is a placement group with one
bundle of one slot per rank, every bundle pinned to the node of its slot (``STRICT_PACK`` when
the gang is on one node), and one detached actor per rank (``ray_runner.RankRunner``) that runs
the job's command as a child process on its node, with the same environment contract as the
local backend: ``MASTER_ADDR`` is rank 0's node, ``MASTER_PORT`` a port free there, ranks on one
node see the gang's GPUs on that node and pick theirs by ``LOCAL_RANK``.

None of the verbs blocks for long: ``start`` only asks Ray for the placement group and the
actors and returns; each ``poll`` moves the launch on (placed -> launched -> running) without
waiting, and reads exits with ``ray.wait(..., timeout=0)``. A gang not placed within
``placement_timeout_s`` is given up as lost (not the job's fault). ``stop`` sends SIGTERM through
the actors; ``kill`` sends SIGKILL, then kills the actors and removes the placement group, which
also happens as soon as a gang has ended by itself: no placement group outlives its attempt.

An actor that dies (its node died, its worker crashed) makes the attempt ``lost``: requeued from
its last checkpoint, not counted against the job's failure budget. The handle names the actors,
so that a restarted service finds them (``ray.get_actor``) and adopts the attempt."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayError
from ray.util.placement_group import PlacementGroup, placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from shockwave.protocol import (
    ENV_LOCAL_RANK,
    ENV_MASTER_ADDR,
    ENV_MASTER_PORT,
    ENV_RANK,
    ENV_WORLD_SIZE,
    EXIT_SIGTERM,
    ExitReport,
)
from shockwave.service.backends.base import (
    AttemptExit,
    AttemptSpec,
    Handle,
    SlotsUnavailable,
    read_report,
)
from shockwave.service.backends.gang import (
    ORDERLY_CODES,
    ORDERLY_REASONS,
    failed_ranks,
    gang_exit,
    orderly_report,
)
from shockwave.service.backends.ray_runner import RankRunner
from shockwave.service.backends.ray_topology import (
    Topology,
    load_topology,
    save_topology,
)
from shockwave.service.config import Settings

log = logging.getLogger("shockwave.service")

NAMESPACE = "shockwave"
NODE_ID_LABEL = "ray.io/node-id"
PLACEMENT_TIMEOUT_S = 60.0
"""How long a gang may wait for its bundles (its slots busy with something else) before it is
given up as lost."""
KILL_WAIT_S = 1.0
"""How long ``kill`` waits for the actors to SIGKILL their process groups before it kills the
actors themselves (a dead actor's rank dies with it anyway: ``PR_SET_PDEATHSIG``)."""
NODES_TTL_S = 1.0
"""How long the list of alive nodes is reused before Ray is asked again."""
SIGKILL_CODE = 128 + signal.SIGKILL

_LOST = -1
"""A rank whose actor died: its exit code is unknown."""
Phase = Literal["placing", "launching", "running", "ended"]


def connect(address: str | None) -> None:
    """Join the Ray cluster at ``address`` (``auto``, ``HOST:PORT``, ``ray://...``), or start a
    private one when ``None``. Nothing if this process is already connected."""
    if ray.is_initialized():
        return
    options: dict[str, Any] = {"address": address, "namespace": NAMESPACE,
                               "log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        options["include_dashboard"] = False
    ray.init(**options)


def discover(resource: str, state_dir: Any) -> Topology:
    """The cluster's slots now, numbered as the service in ``state_dir`` numbered them
    before (``ray_topology.py``)."""
    return Topology.from_ray_nodes(ray.nodes(), resource).merged_into(load_topology(state_dir))


def driver_ip() -> str:
    """This machine's address on the Ray cluster."""
    return str(ray.util.get_node_ip_address())


def alive_nodes() -> set[str]:
    """The ids of the cluster's alive nodes."""
    return {str(node["NodeID"]) for node in ray.nodes() if node.get("Alive")}


@dataclass
class _Gang:
    """What this backend object knows of one attempt's gang (lost on a restart: ``_adopt``
    rebuilds what it can from the handle)."""

    handle: Handle
    actors: list[Any]
    pg: PlacementGroup | None
    phase: Phase
    spec: AttemptSpec | None = None
    refs: list[Any] = field(default_factory=list)
    codes: list[int | None] = field(default_factory=list)
    deadline: float = 0.0
    stop_asked: bool = False
    killed: bool = False
    killed_ranks: frozenset[int] = frozenset()
    """Ranks still running when this backend killed the gang: their codes are its doing."""
    lost: str | None = None
    """Why it was lost (an actor died that this backend did not kill), once known."""
    result: AttemptExit | None = None
    torn_down: bool = False


class RayBackend:
    """Gangs as placement groups of rank actors on the Ray cluster this process is connected
    to (``connect``), over the slots of ``topology``."""

    def __init__(self, settings: Settings, topology: Topology, *,
                 placement_timeout_s: float = PLACEMENT_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if topology.num_slots != settings.gpus:
            raise ValueError(f"the topology has {topology.num_slots} slots; the settings "
                             f"{settings.gpus}")
        self.settings, self.topology = settings, topology
        self.placement_timeout_s = placement_timeout_s
        self._clock = clock
        where = f"{socket.gethostname()}:{settings.state_dir.resolve()}"
        self.prefix = "shockwave-" + hashlib.sha1(where.encode()).hexdigest()[:10]
        """Names of this service's actors and placement groups (one service per state dir)."""
        self._runner = ray.remote(RankRunner)
        self._gangs: dict[int, _Gang] = {}
        self._unavailable: frozenset[int] = frozenset()
        self._nodes_at = -NODES_TTL_S
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        save_topology(settings.state_dir, topology)

    # -- the verbs ---------------------------------------------------------------------------
    def start(self, spec: AttemptSpec) -> Handle:
        nodes = self.topology.nodes_of(spec.slots)
        self._refresh_nodes()
        gone = self._unavailable.intersection(spec.slots)
        if gone:
            raise SlotsUnavailable(f"slots {sorted(gone)} are on a Ray node that left")
        spec.attempt_dir.mkdir(parents=True, exist_ok=True)
        name = f"{self.prefix}-a{spec.attempt_id}"
        one_node = len({n.node_id for n in nodes}) == 1
        try:
            pg = placement_group(
                [{self.topology.resource: 1.0}] * len(nodes), name=name, lifetime="detached",
                strategy="STRICT_PACK" if one_node else "PACK",
                bundle_label_selector=[{NODE_ID_LABEL: n.node_id} for n in nodes])
            actors = [
                self._runner.options(
                    name=f"{name}-r{rank}", namespace=NAMESPACE, lifetime="detached",
                    max_restarts=0, max_concurrency=4, **self._slot_resources(),
                    scheduling_strategy=PlacementGroupSchedulingStrategy(
                        placement_group=pg, placement_group_bundle_index=rank),
                ).remote()
                for rank in range(len(nodes))]
        except RayError as exc:
            raise OSError(f"Ray refused the gang: {exc}") from exc
        handle: Handle = {
            "backend": "ray", "attempt_id": spec.attempt_id, "namespace": NAMESPACE,
            "actors": [f"{name}-r{rank}" for rank in range(len(nodes))],
            "placement_group": pg.id.hex(), "nodes": [n.node_id for n in nodes],
            "ips": [n.ip for n in nodes], "report_file": str(spec.report_file),
        }
        self._gangs[spec.attempt_id] = _Gang(
            handle=handle, actors=actors, pg=pg, phase="placing", spec=spec,
            refs=[actor.where.remote() for actor in actors], codes=[None] * len(actors),
            deadline=self._clock() + self.placement_timeout_s)
        return handle

    def poll(self, handle: Handle) -> AttemptExit | None:
        gang = self._gang(handle)
        if gang.result is None and gang.phase == "placing":
            self._placed(gang)
        if gang.result is None and gang.phase == "launching":
            self._launched(gang)
        if gang.result is None and gang.phase == "running":
            self._watch(gang)
        if gang.result is None:
            return None
        self._tear_down(gang)
        self._gangs.pop(handle["attempt_id"], None)
        return gang.result

    def stop(self, handle: Handle, grace_s: float) -> None:
        gang = self._gang(handle)
        gang.stop_asked = True
        if gang.phase == "running":
            for actor in gang.actors:  # fire and forget: the exits show in poll
                actor.signal.remote(signal.SIGTERM)
        elif gang.phase == "placing" and gang.result is None:
            gang.result = AttemptExit(EXIT_SIGTERM, signal.SIGTERM, note="stopped before it ran")
            self._tear_down(gang)
        # launching: SIGTERM follows as soon as the processes are known to run (_launched)

    def kill(self, handle: Handle) -> None:
        gang = self._gang(handle)
        if not gang.killed:
            gang.killed_ranks = frozenset(r for r, code in enumerate(gang.codes) if code is None)
        gang.killed = True
        if gang.phase in ("launching", "running"):
            _ready([actor.signal.remote(signal.SIGKILL) for actor in gang.actors],
                   timeout_s=KILL_WAIT_S)
        if gang.phase != "running" and gang.result is None:
            gang.result = AttemptExit(SIGKILL_CODE, signal.SIGKILL, note="killed before it ran")
        self._tear_down(gang)

    def alive(self, handle: Handle) -> bool:
        gang = self._gang(handle)
        if gang.phase != "running" or gang.result is not None:
            return False
        pending = [ref for ref, code in zip(gang.refs, gang.codes, strict=True) if code is None]
        return len(_ready(pending, timeout_s=2.0)) < len(pending)

    def reap_orphans(self, live: list[Handle]) -> int:
        """Remove this service's placement groups (and their actors) that no ``live`` handle
        names: a service that died between asking Ray for a gang and recording its handle left
        them, idle and holding their slots, since only ``poll`` launches the processes."""
        keep = {h.get("placement_group") for h in live}
        reaped = 0
        for pg_id, info in ray.util.placement_group_table().items():
            if not info["name"].startswith(f"{self.prefix}-a") or info["state"] == "REMOVED" \
                    or pg_id in keep:
                continue
            actors = []
            for rank in range(len(info["bundles"])):
                with contextlib.suppress(ValueError):
                    actors.append(ray.get_actor(f"{info['name']}-r{rank}", namespace=NAMESPACE))
            self._tear_down(_Gang(handle={}, actors=actors, phase="ended", pg=PlacementGroup(
                ray.PlacementGroupID(bytes.fromhex(pg_id)))))
            reaped += 1
        return reaped

    def unavailable_slots(self) -> frozenset[int]:
        if self._clock() - self._nodes_at >= NODES_TTL_S:
            self._refresh_nodes()
        return self._unavailable

    def _refresh_nodes(self) -> set[str]:
        """Ask Ray which nodes are alive now; remember which slots that leaves out."""
        alive = alive_nodes()
        self._unavailable = self.topology.unavailable(alive)
        self._nodes_at = self._clock()
        return alive

    # -- the launch, step by step ------------------------------------------------------------
    def _placed(self, gang: _Gang) -> None:
        """When every actor runs on its bundle: start the ranks' processes."""
        if len(_ready(gang.refs, timeout_s=0)) < len(gang.refs):
            if self._clock() > gang.deadline:
                gang.result = AttemptExit(None, lost=True, note=(
                    f"its slots were not placed on Ray within {self.placement_timeout_s:g} s"))
            return
        try:
            wheres = ray.get(gang.refs)
        except RayActorError as exc:
            gang.result = self._lost_exit(gang, exc)
            return
        except RayError as exc:
            gang.result = AttemptExit(None, lost=True, note=f"could not be placed: {exc}")
            return
        spec = gang.spec
        assert spec is not None
        gang.refs = [actor.launch.remote(spec.argv, spec.working_dir, env,
                                         str(spec.attempt_dir / f"rank-{rank}.log"))
                     for rank, (actor, env) in enumerate(zip(gang.actors,
                                                             self._rank_envs(spec, wheres),
                                                             strict=True))]
        gang.phase = "launching"

    def _launched(self, gang: _Gang) -> None:
        """When every rank's process has started: watch their exits."""
        if len(_ready(gang.refs, timeout_s=0)) < len(gang.refs):
            return
        try:
            ray.get(gang.refs)
        except RayActorError as exc:
            gang.result = self._lost_exit(gang, exc)
            return
        except RayError as exc:  # the command could not be started: the job's fault
            cause = getattr(exc, "cause", None) or exc
            gang.result = AttemptExit(127, None, note=f"could not start: {cause}")
            return
        gang.refs = [actor.wait_exit.remote() for actor in gang.actors]
        gang.phase = "running"
        if gang.stop_asked:
            for actor in gang.actors:
                actor.signal.remote(signal.SIGTERM)

    def _watch(self, gang: _Gang) -> None:
        """Read the exits that are in; tear the gang down when a rank failed or was lost (the
        others cannot go on without it); decide once every rank has ended."""
        pending = [r for r, code in enumerate(gang.codes) if code is None]
        done = set(_ready([gang.refs[r] for r in pending], timeout_s=0))
        for rank in pending:
            if gang.refs[rank] not in done:
                continue
            try:
                gang.codes[rank] = int(ray.get(gang.refs[rank]))
            except ActorUnavailableError:  # a passing fault: ask again
                gang.refs[rank] = gang.actors[rank].wait_exit.remote()
            except RayError as exc:
                gang.codes[rank] = _LOST
                if not gang.killed and gang.lost is None:
                    gang.lost = self._loss(gang, exc)
        if any(code is None for code in gang.codes):
            broken = failed_ranks([1 if c == _LOST else c for c in gang.codes])
            if broken and not gang.killed and orderly_report(gang.handle["report_file"]) is None:
                self.kill(gang.handle)
            return
        gang.result = self._verdict(gang, read_report(gang.handle["report_file"]))

    def _verdict(self, gang: _Gang, report: ExitReport | None) -> AttemptExit:
        """How the gang ended, every rank's exit known: as rank 0's orderly report says; else
        lost if an actor died under it, or if a node of the gang is gone (its peers then fail
        in their collectives before Ray has told of the death); else by the exit codes
        (``gang_exit``: a rank that failed by itself first), a rank whose actor this backend
        killed counted as SIGKILLed."""
        orderly = report is not None and report.reason in ORDERLY_REASONS
        if gang.lost is not None:
            if orderly:
                return AttemptExit(report.exit_code, None, report)  # type: ignore[union-attr]
            return AttemptExit(None, None, report, lost=True, note=gang.lost)
        codes = [SIGKILL_CODE if code is None or code == _LOST else code for code in gang.codes]
        ended = gang_exit(codes, report, gang.killed_ranks)
        if not orderly and ended.exit_code not in ORDERLY_CODES:
            dead = self._dead_nodes(gang)
            if dead:
                return AttemptExit(None, None, report, lost=True, note=dead)
        return ended

    # -- helpers -----------------------------------------------------------------------------
    def _slot_resources(self) -> dict[str, Any]:
        """A rank actor's resources: one slot (Ray sets ``CUDA_VISIBLE_DEVICES`` for a GPU)."""
        resource = self.topology.resource
        return {"num_cpus": 1 if resource == "CPU" else 0,
                "num_gpus": 1 if resource == "GPU" else 0,
                "resources": {} if resource in ("CPU", "GPU") else {resource: 1.0}}

    def _rank_envs(self, spec: AttemptSpec, wheres: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Each rank's environment: the attempt's, the rank layout, rank 0's node and port for
        the rendezvous, and the gang's GPUs on the rank's node (in local-rank order)."""
        by_node: dict[str, list[int]] = {}
        for rank, where in enumerate(wheres):
            by_node.setdefault(where["node_id"], []).append(rank)
        envs = []
        for rank, where in enumerate(wheres):
            local = by_node[where["node_id"]]
            devices = [wheres[r]["gpu_ids"][0] for r in local if wheres[r]["gpu_ids"]]
            env = {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            env.update(spec.env)
            env.update({
                ENV_RANK: str(rank), ENV_LOCAL_RANK: str(local.index(rank)),
                ENV_WORLD_SIZE: str(len(wheres)), ENV_MASTER_ADDR: wheres[0]["ip"],
                ENV_MASTER_PORT: str(wheres[0]["port"]),
                "CUDA_VISIBLE_DEVICES": ",".join(devices),
            })
            envs.append(env)
        return envs

    def _gang(self, handle: Handle) -> _Gang:
        gang = self._gangs.get(handle["attempt_id"])
        if gang is None:
            gang = self._gangs[handle["attempt_id"]] = self._adopt(handle)
        return gang

    def _adopt(self, handle: Handle) -> _Gang:
        """An attempt another backend object started (a restarted service): find its actors
        by name and ask each how its rank is doing."""
        actors = []
        for name in handle["actors"]:
            try:
                actors.append(ray.get_actor(name, namespace=handle["namespace"]))
            except ValueError:  # gone: killed, or with its node
                actors.append(None)
        pg = PlacementGroup(ray.PlacementGroupID(bytes.fromhex(handle["placement_group"])))
        gang = _Gang(handle=handle, actors=[a for a in actors if a is not None], pg=pg,
                     phase="ended")
        try:
            states = ray.get([a.status.remote() for a in gang.actors], timeout=10.0)
        except (RayError, GetTimeoutError):
            states = None
        if None in actors or states is None or any(s["state"] == "idle" for s in states):
            # Some rank is gone, or its launch was cut short: what is left cannot go on.
            report = read_report(handle["report_file"])
            gang.result = AttemptExit(report.exit_code if report else None, None, report)
            return gang
        gang.phase = "running"
        gang.codes = [s["code"] if s["state"] == "exited" else None for s in states]
        gang.refs = [a.wait_exit.remote() for a in gang.actors]
        return gang

    def _tear_down(self, gang: _Gang) -> None:
        """Kill the actors (their ranks die with them) and remove the placement group."""
        if gang.torn_down:
            return
        gang.torn_down = True
        for actor in gang.actors:
            with contextlib.suppress(RayError, ValueError):
                ray.kill(actor, no_restart=True)
        if gang.pg is not None:
            with contextlib.suppress(RayError, ValueError):
                remove_placement_group(gang.pg)

    def _lost_exit(self, gang: _Gang, exc: BaseException) -> AttemptExit:
        if gang.killed:
            return AttemptExit(SIGKILL_CODE, signal.SIGKILL, note="killed before it ran")
        return AttemptExit(None, lost=True, note=self._loss(gang, exc))

    def _loss(self, gang: _Gang, exc: BaseException) -> str:
        return self._dead_nodes(gang) or f"its Ray actor died: {str(exc).splitlines()[-1]}"

    def _dead_nodes(self, gang: _Gang) -> str | None:
        """``node <ip> (<id>) died`` for the gang's nodes that are gone, or ``None``."""
        alive = self._refresh_nodes()  # the round loop then re-plans without them at once
        dead = sorted({(ip, node) for ip, node in zip(gang.handle["ips"], gang.handle["nodes"],
                                                       strict=True) if node not in alive})
        if not dead:
            return None
        return ", ".join(f"node {ip} ({node[:8]})" for ip, node in dead) + " died"


def _ready(refs: list[Any], timeout_s: float) -> list[Any]:
    """Those of ``refs`` whose result (or error) is in, waiting at most ``timeout_s``."""
    if not refs:
        return []
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
    return ready
