"""Shares -> this round's placement (Narayanan et al., OSDI '20, section 5; the published
``Scheduler._update_priorities`` and ``_schedule_jobs_on_workers``): Gavel's priority
bookkeeping, greedy gang selection and placement on GPUs. It never over-commits a GPU and never
splits a gang."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shockwave.model import JobId


@dataclass
class PriorityAccounting:
    """How much time each job received since the last re-allocation, turned into priorities.

    Every job starts (and restarts at each reset) with half a round of credit, as in Gavel, so
    that fractions are defined before it first runs.
    """

    round_s: float
    allocation: dict[JobId, float] = field(default_factory=dict)
    job_time_s: dict[JobId, float] = field(default_factory=dict)
    deficits: dict[JobId, float] = field(default_factory=dict)
    worker_time_s: float = 0.0
    last_reset_s: float = 0.0

    def add_job(self, job_id: JobId) -> None:
        self.job_time_s[job_id] = self.round_s / 2
        self.deficits[job_id] = 0.0

    def remove_job(self, job_id: JobId) -> None:
        self.job_time_s.pop(job_id, None)
        self.deficits.pop(job_id, None)

    def record_run(self, job_id: JobId, exec_s: float) -> None:
        if job_id in self.job_time_s:
            self.job_time_s[job_id] += exec_s
        self.worker_time_s += exec_s

    def reset(self, now_s: float, allocation: Mapping[JobId, float]) -> None:
        """Turn time received since the last reset into deficits, then adopt ``allocation``."""
        elapsed = now_s - self.last_reset_s
        half = self.round_s / 2
        self.worker_time_s = 0.0
        for job_id in self.job_time_s:
            if job_id in self.allocation:
                received = self.job_time_s[job_id] - half
                self.deficits[job_id] += self.allocation[job_id] * elapsed - received
            self.job_time_s[job_id] = half
            self.worker_time_s += half
        self.last_reset_s = now_s
        self.allocation = dict(allocation)

    def priorities(self, throughputs: Mapping[JobId, float]) -> dict[JobId, float]:
        """``x_j / fraction_j`` per job; 0 for jobs without an allocation or throughput."""
        result: dict[JobId, float] = {}
        for job_id, time_s in self.job_time_s.items():
            share = self.allocation.get(job_id)
            if share is None or share == 0.0 or throughputs.get(job_id, 0.0) == 0.0:
                result[job_id] = 0.0
                continue
            fraction = time_s / self.worker_time_s if self.worker_time_s else 0.0
            result[job_id] = share / fraction if fraction > 0 else share * 1e9
        return result


def priority_order(accounting: PriorityAccounting, throughputs: Mapping[JobId, float]) -> list[JobId]:
    """Jobs by (priority, deficit, share), highest first; ties keep job (arrival) order."""
    prio = accounting.priorities(throughputs)
    return sorted(
        prio,
        key=lambda j: (prio[j], accounting.deficits[j], accounting.allocation.get(j, 0.0)),
        reverse=True,
    )


def select_gangs(
    order: Iterable[JobId],
    gpus: Mapping[JobId, int],
    num_gpus: int,
    *,
    eligible: Mapping[JobId, bool] | None = None,
) -> list[JobId]:
    """Walk ``order`` greedily, taking every job whose whole gang still fits (work-conserving:
    a job that does not fit is skipped, not a stop). Jobs marked ineligible are passed over."""
    left = num_gpus
    chosen: list[JobId] = []
    for job_id in order:
        if eligible is not None and not eligible.get(job_id, True):
            continue
        need = gpus[job_id]
        if need > left:
            continue
        chosen.append(job_id)
        left -= need
    return chosen


def place_gangs(
    selected: Sequence[JobId],
    gpus: Mapping[JobId, int],
    servers: Sequence[Sequence[int]],
    previous: Mapping[JobId, tuple[int, ...]],
) -> dict[JobId, tuple[int, ...]]:
    """GPU ids for each selected job, gang width by gang width, widest first (Gavel's rule).

    Within a width, jobs first keep last round's GPUs where none was taken yet and all still
    exist (a lease extension; a server may have left the cluster); the others then take the
    lowest free ids in server order, from a cursor that only moves forward. ``selected`` gives
    the order within a width.
    """
    taken: set[int] = set()
    placed: dict[JobId, tuple[int, ...]] = {}
    free = [gpu for server in servers for gpu in server]
    exists = set(free)
    cursor = 0
    for width in sorted({gpus[j] for j in selected}, reverse=True):
        group = [j for j in selected if gpus[j] == width]
        for job_id in group:
            before = previous.get(job_id)
            if before and len(before) == width and not taken.intersection(before) \
                    and exists.issuperset(before):
                placed[job_id] = tuple(before)
                taken.update(before)
        for job_id in group:
            if job_id in placed:
                continue
            ids: list[int] = []
            while len(ids) < width and cursor < len(free):
                if free[cursor] not in taken:
                    ids.append(free[cursor])
                    taken.add(free[cursor])
                cursor += 1
            if len(ids) != width:
                raise ValueError(f"job {job_id} needs {width} GPUs; the round is over-committed")
            placed[job_id] = tuple(ids)
    return placed
