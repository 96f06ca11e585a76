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


@dataclass(frozen=True)
class Cluster:
    """A cluster of ``num_gpus`` GPUs of one type: ``gpus_per_server`` per server, GPU ids
    ``0..num_gpus-1`` in server order; or, when ``layout`` is given, exactly those servers, each
    a tuple of GPU ids (servers of different sizes, ids with gaps: the service's view of a
    multi-node cluster, some of whose nodes may be gone). ``from_layout`` builds one."""

    num_gpus: int
    gpus_per_server: int = 1
    gpu_type: str = "v100"
    layout: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        from shockwave.errors import InputError
        from shockwave.limits import MAX_GPUS

        for name, value in (("gpus", self.num_gpus), ("gpus-per-server", self.gpus_per_server)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GPUS:
                raise InputError(f"must be an integer in [1, {MAX_GPUS:,}], got {value!r}",
                                 field=name)
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

    @classmethod
    def from_layout(cls, servers: Sequence[Sequence[int]], gpu_type: str = "v100") -> Cluster:
        """The cluster of exactly these servers (GPU ids per server, in server order)."""
        layout = tuple(tuple(server) for server in servers)
        return cls(num_gpus=sum(map(len, layout)),
                   gpus_per_server=max(map(len, layout), default=0), gpu_type=gpu_type,
                   layout=layout)

    @property
    def servers(self) -> list[list[int]]:
        """GPU ids grouped by server, in server order."""
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
