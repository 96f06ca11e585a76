"""Plain data shared by every part of the package: jobs as asked for, the cluster, a round's plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

AdaptationMode = Literal["static", "accordion", "gns"]
ADAPTATION_MODES: tuple[AdaptationMode, ...] = ("static", "accordion", "gns")
JobId = int


def job_type_name(model: str, batch_size: int) -> str:
    """The reference's job-type string, e.g. ``ResNet-18 (batch size 32)``."""
    return f"{model} (batch size {batch_size})"


@dataclass(frozen=True)
class JobSpec:
    """What a job asked for when it was submitted (one trace line).

    ``total_steps`` counts iterations of the whole job at its initial batch size;
    ``duration_s`` is its static run time alone on ``gpus`` GPUs; ``arrival_s`` is
    seconds from the start of the trace.
    """

    job_id: JobId
    model: str
    batch_size: int
    gpus: int
    mode: AdaptationMode
    total_steps: int
    arrival_s: float
    duration_s: float
    priority_weight: float = 1.0
    slo: float | None = None
    command: str = ""
    working_directory: str = ""
    num_steps_arg: str = ""
    needs_data_dir: bool = False

    @property
    def job_type(self) -> str:
        return job_type_name(self.model, self.batch_size)


GpuGroup = tuple[str, int, int]
"""(GPU type, GPUs of that type, GPUs per server of that type): one group of a cluster."""


@dataclass(frozen=True)
class Cluster:
    """A cluster of ``num_gpus`` GPUs of one type: ``gpus_per_server`` per server, GPU ids
    ``0..num_gpus-1`` in server order; or, when ``layout`` is given, exactly those servers, each
    a tuple of GPU ids (servers of different sizes, ids with gaps: the service's view of a
    multi-node cluster, some of whose nodes may be gone). ``from_layout`` builds one.

    A heterogeneous cluster (``of_types``) has ``types``: ordered (GPU type, count, GPUs per
    server) groups. GPU ids are contiguous per group, in the given order, and servers never span
    types; ``num_gpus`` is the total, ``gpu_type`` the first group's type and
    ``gpus_per_server`` the largest server. Without ``types`` the cluster is one group."""

    num_gpus: int
    gpus_per_server: int = 1
    gpu_type: str = "v100"
    layout: tuple[tuple[int, ...], ...] | None = None
    types: tuple[GpuGroup, ...] | None = None

    def __post_init__(self) -> None:
        from shockwave.errors import InputError
        from shockwave.limits import MAX_GPUS

        for name, value in (("gpus", self.num_gpus), ("gpus-per-server", self.gpus_per_server)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GPUS:
                raise InputError(f"must be an integer in [1, {MAX_GPUS:,}], got {value!r}",
                                 field=name)
        if self.types is not None:
            self._check_types()
            return
        if self.layout is not None:
            ids = [gpu for server in self.layout for gpu in server]
            if len(ids) != self.num_gpus or len(set(ids)) != len(ids) or min(ids) < 0 \
                    or any(not server for server in self.layout):
                raise InputError(f"a layout of {self.num_gpus} distinct GPU ids in non-empty "
                                 f"servers expected, got {self.layout!r}", field="layout")
            return
        if self.num_gpus % self.gpus_per_server:
            raise InputError(
                f"{self.num_gpus} GPUs do not make whole servers of {self.gpus_per_server}",
                field="gpus-per-server",
            )

    def _check_types(self) -> None:
        """Each group a distinct type of whole servers; the totals agree with the groups."""
        from shockwave.errors import InputError

        groups = self.types or ()
        for gpu_type, count, per_server in groups:
            if not isinstance(gpu_type, str) or not gpu_type:
                raise InputError(f"a GPU type must be a non-empty string, got {gpu_type!r}",
                                 field="cluster")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1 \
                    or isinstance(per_server, bool) or not isinstance(per_server, int) \
                    or per_server < 1 or count % per_server:
                raise InputError(f"{gpu_type}: {count!r} GPUs do not make whole servers of "
                                 f"{per_server!r}", field="cluster")
        names = [group[0] for group in groups]
        if len(set(names)) != len(names) or not names:
            raise InputError(f"each GPU type once expected, got {', '.join(names) or 'none'}",
                             field="cluster")
        if self.layout is not None or self.num_gpus != sum(g[1] for g in groups) \
                or self.gpu_type != names[0]:
            raise InputError("a cluster of GPU types has no layout, and its num_gpus and "
                             "gpu_type are the groups' total and first type", field="cluster")

    @classmethod
    def from_layout(cls, servers: Sequence[Sequence[int]], gpu_type: str = "v100") -> Cluster:
        """The cluster of exactly these servers (GPU ids per server, in server order)."""
        layout = tuple(tuple(server) for server in servers)
        return cls(num_gpus=sum(map(len, layout)),
                   gpus_per_server=max(map(len, layout), default=0), gpu_type=gpu_type,
                   layout=layout)

    @classmethod
    def of_types(cls, groups: Sequence[GpuGroup]) -> Cluster:
        """The cluster of these (GPU type, count, GPUs per server) groups, ids in group order.

        One group is the plain homogeneous cluster (``types`` stays ``None``), so that
        ``of_types([("v100", 32, 1)]) == Cluster(32)`` and both simulate identically."""
        groups = tuple((str(t), count, per) for t, count, per in groups)
        if len(groups) == 1:
            gpu_type, count, per_server = groups[0]
            return cls(num_gpus=count, gpus_per_server=per_server, gpu_type=gpu_type)
        total = sum(count for _, count, _ in groups if isinstance(count, int))
        largest = max((per for _, _, per in groups if isinstance(per, int)), default=0)
        return cls(num_gpus=total, gpus_per_server=largest,
                   gpu_type=groups[0][0] if groups else "", types=groups)

    @property
    def is_heterogeneous(self) -> bool:
        """Whether the cluster has more than one GPU type."""
        return self.types is not None

    @property
    def groups(self) -> tuple[GpuGroup, ...]:
        """The (GPU type, count, GPUs per server) groups; a homogeneous cluster is one."""
        if self.types is not None:
            return self.types
        return ((self.gpu_type, self.num_gpus, self.gpus_per_server),)

    @property
    def gpu_types(self) -> tuple[str, ...]:
        """The GPU types, in the cluster's order."""
        return tuple(group[0] for group in self.groups)

    def count(self, gpu_type: str) -> int:
        """GPUs of ``gpu_type`` (0 when the cluster has none)."""
        return next((count for t, count, _ in self.groups if t == gpu_type), 0)

    def type_of(self, gpu_id: int) -> str:
        """The type of GPU ``gpu_id``."""
        if self.types is None:
            return self.gpu_type
        first = 0
        for gpu_type, count, _ in self.types:
            if first <= gpu_id < first + count:
                return gpu_type
            first += count
        raise ValueError(f"GPU id {gpu_id} is not in a cluster of {self.num_gpus} GPUs")

    def servers_of(self, gpu_type: str) -> list[list[int]]:
        """The servers of ``gpu_type`` (GPU ids per server, in server order)."""
        if self.types is None:
            return self.servers if gpu_type == self.gpu_type else []
        first = 0
        for group_type, count, per in self.types:
            if group_type == gpu_type:
                return [list(range(s, s + per)) for s in range(first, first + count, per)]
            first += count
        return []

    @property
    def servers(self) -> list[list[int]]:
        """GPU ids grouped by server, in server order."""
        if self.types is not None:
            return [server for gpu_type in self.gpu_types for server in self.servers_of(gpu_type)]
        if self.layout is not None:
            return [list(server) for server in self.layout]
        per = self.gpus_per_server
        return [list(range(s, min(s + per, self.num_gpus))) for s in range(0, self.num_gpus, per)]


@dataclass(frozen=True)
class RoundPlan:
    """Who runs where in one round: job id -> the GPU ids of its gang."""

    round_index: int
    placements: Mapping[JobId, tuple[int, ...]] = field(default_factory=dict)

    @property
    def gpus_used(self) -> int:
        return sum(len(g) for g in self.placements.values())
