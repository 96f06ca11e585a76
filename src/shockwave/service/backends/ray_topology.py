"""The service's slots on a Ray cluster (pure: no ray import).

Every alive node that has the slot resource (``GPU`` by default, or a custom resource such as
``slot`` for CPU slots) is one server; its slots are the resource's whole units. Slot ids run
through the nodes in order: node 0's slots first. The numbering is saved in the state directory
(``ray-topology.json``) and reused by a restarted service, so that the slots its store names
(running attempts, the last round's plan) stay on the same nodes: known nodes keep their ids,
nodes that died keep theirs too but stay unavailable, new nodes come after them."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOPOLOGY_FILE = "ray-topology.json"


@dataclass(frozen=True)
class RayNode:
    """One Ray node as a server: its id, its address and how many slots it holds."""

    node_id: str
    ip: str
    slots: int


@dataclass(frozen=True)
class Topology:
    """The servers (Ray nodes) in slot order, counted in units of ``resource``."""

    resource: str
    nodes: tuple[RayNode, ...]

    @classmethod
    def from_ray_nodes(cls, nodes: Iterable[Mapping[str, Any]], resource: str) -> Topology:
        """From ``ray.nodes()``: the alive nodes with at least one unit of ``resource``,
        ordered by address, then id."""
        found = []
        for node in nodes:
            units = float(node.get("Resources", {}).get(resource, 0.0))
            if node.get("Alive") and units >= 1.0:
                found.append(RayNode(str(node["NodeID"]), str(node["NodeManagerAddress"]),
                                     int(math.floor(units + 1e-9))))
        return cls(resource, tuple(sorted(found, key=lambda n: (n.ip, n.node_id))))

    def merged_into(self, saved: Topology | None) -> Topology:
        """The live nodes numbered as ``saved`` numbered them: its nodes first, in its order
        (the dead ones too: their slots keep their ids, unavailable), then nodes it did not
        know."""
        if saved is None or saved.resource != self.resource:
            return self
        known = {node.node_id for node in saved.nodes}
        return Topology(self.resource,
                        saved.nodes + tuple(n for n in self.nodes if n.node_id not in known))

    @property
    def num_slots(self) -> int:
        return sum(node.slots for node in self.nodes)

    @property
    def slot_counts(self) -> tuple[int, ...]:
        """Slots per server, in server order (``Settings.servers``)."""
        return tuple(node.slots for node in self.nodes)

    def slot_nodes(self) -> tuple[RayNode, ...]:
        """The node of each slot, by slot id."""
        return tuple(node for node in self.nodes for _ in range(node.slots))

    def nodes_of(self, slots: Sequence[int]) -> list[RayNode]:
        """The node of each of ``slots`` (a gang's, rank by rank)."""
        per_slot = self.slot_nodes()
        if any(not 0 <= s < len(per_slot) for s in slots):
            raise ValueError(f"slots {list(slots)} are not all among the {len(per_slot)} of the "
                             "Ray cluster")
        return [per_slot[s] for s in slots]

    def unavailable(self, alive: Collection[str]) -> frozenset[int]:
        """The slots of nodes whose id is not in ``alive``."""
        return frozenset(slot for slot, node in enumerate(self.slot_nodes())
                         if node.node_id not in alive)

    def slot_names(self) -> tuple[str, ...]:
        """What each slot is, for ``/v1/cluster``: ``<ip> <node id[:8]> <resource>:<i>``."""
        return tuple(f"{node.ip} {node.node_id[:8]} {self.resource}:{i}"
                     for node in self.nodes for i in range(node.slots))

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource,
                "nodes": [{"node_id": n.node_id, "ip": n.ip, "slots": n.slots}
                          for n in self.nodes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Topology:
        return cls(str(data["resource"]),
                   tuple(RayNode(str(n["node_id"]), str(n["ip"]), int(n["slots"]))
                         for n in data["nodes"]))


def load_topology(state_dir: Path) -> Topology | None:
    """The numbering a previous service saved in ``state_dir``, if any (unreadable: none)."""
    try:
        return Topology.from_json(json.loads((state_dir / TOPOLOGY_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_topology(state_dir: Path, topology: Topology) -> None:
    """Write the numbering into ``state_dir`` (a temporary file renamed into place)."""
    path = state_dir / TOPOLOGY_FILE
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(topology.to_json(), indent=1) + "\n")
    os.replace(temporary, path)
