"""What the dashboard page reads: one ``Snapshot`` of the cluster and the queue, one ``JobPage``
per job. The service and a saved simulation both produce these, so the page draws one picture
of either.

Times are seconds on the source's clock (the service's ``now_s``, or simulated time). The
timeline is columnar (one list per field): with thousands of leases it is a fraction of the
size of a list of objects, and the page draws it column by column anyway."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel

Source = Literal["service", "simulation"]


class GpuCell(BaseModel):
    """One slot: where it is, who holds it now."""

    slot: int
    device: str
    server: int
    job_id: int | None
    available: bool = True
    gpu_type: str = ""
    """The slot's GPU type (the grid groups a cluster of several types by type)."""


class JobEntry(BaseModel):
    """One job, as the queue shows it."""

    id: int
    name: str
    state: str
    gpus: int
    progress: float
    """Fraction done: samples trained (service); share of its lease time received (simulation)."""
    batch_size: int
    attempts: int
    estimated_rho: float | None
    """Service: ``queue_status.estimated_rho``; simulation: the same estimate while the job is
    active, the report's ``ftf_rho`` once it completed."""
    wait_reason: str | None
    submitted_s: float
    finished_s: float | None


class Timeline(BaseModel):
    """Every lease: job ``job[i]`` held ``slots[i]`` from ``start_s[i]`` to ``end_s[i]``."""

    job: list[int] = []
    start_s: list[float] = []
    end_s: list[float] = []
    slots: list[list[int]] = []

    def add(self, job_id: int, start_s: float, end_s: float, slots: list[int]) -> None:
        self.job.append(job_id)
        self.start_s.append(start_s)
        self.end_s.append(end_s)
        self.slots.append(slots)


class Snapshot(BaseModel):
    """The page's whole overview at ``now_s``."""

    source: Source
    title: str
    policy: str
    now_s: float
    start_s: float
    """Where the time axis starts (the first submission or arrival)."""
    end_s: float
    """Where it ends: ``now_s`` for the service, the makespan for a simulation."""
    round_s: float
    round_index: int | None
    round_ends_in_s: float | None
    counts: dict[str, int]
    gpus: list[GpuCell]
    jobs: list[JobEntry]
    timeline: Timeline
    palette: list[str]
    """Job ``j`` is drawn in ``palette[(7 * j) % len(palette)]``: the report's colours."""
    refresh_s: float | None
    """How often the page polls; ``None``: the picture does not change by itself."""
    token_required: bool = False
    """Cancelling needs the service's token (and reading logs)."""


class Lease(BaseModel):
    """One attempt (service) or one uninterrupted lease (simulation)."""

    number: int
    slots: list[int]
    start_s: float
    end_s: float | None
    outcome: str | None
    reason: str | None
    samples_per_s: float | None


class JobPage(BaseModel):
    """One job in full: its leases, its batch sizes and throughput over time, its events."""

    source: Source
    job: JobEntry
    leases: list[Lease]
    batch_sizes: list[tuple[float, int]]
    """(from time, batch size) steps."""
    throughput: list[tuple[float, float]]
    """(round start, samples/s of the gang) for each round it trained; empty where the source
    does not record it (a simulation)."""
    events: list[tuple[float, str]]
    palette_colour: str


@cache
def palette() -> tuple[str, ...]:
    """The report's job palette as ``#rrggbb`` (matplotlib is imported once, on first use)."""
    import numpy as np
    from matplotlib.colors import to_hex

    from shockwave.report.style import JOB_COLOURS

    return tuple(to_hex(c) for c in JOB_COLOURS(np.arange(JOB_COLOURS.N)))


def colour_of(job_id: int) -> str:
    """The colour the report gives ``job_id`` (``report.style.job_colours``)."""
    colours = palette()
    return colours[(7 * job_id) % len(colours)]
