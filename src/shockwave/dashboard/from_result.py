"""The dashboard's picture of a saved simulation at any simulated time ``at_s``: who held which
GPU then (the report's gang segments), which jobs had arrived, waited, ran or had completed, and
how far each had come.

Progress in a simulation is the share of its lease time the job had received by ``at_s`` (the
result records leases, not samples). The fairness estimate is ``metrics.estimated_rho`` over
that share with the report's static contention factor ``max(1, N/G)`` (N the trace's jobs), so
at a job's completion it equals the report's ``ftf_rho`` of it exactly."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from shockwave.dashboard.model import (
    GpuCell,
    JobEntry,
    JobPage,
    Lease,
    Snapshot,
    Timeline,
    colour_of,
    palette,
)
from shockwave.metrics import estimated_rho, fair_share_factor, ftf_rhos
from shockwave.report.series import GangSegment, gang_segments
from shockwave.report.style import policy_label
from shockwave.sim.result import JobRecord, SimResult

_UNITS = 1_000_000
"""A simulated job's work in the units ``estimated_rho`` counts in (any large number)."""


def _batch_size_at(record: JobRecord, at_s: float) -> int:
    size = record.batch_size
    for start, batch in record.batch_size_timeline:
        if start > at_s:
            break
        size = batch
    return size


@dataclass
class ResultSource:
    """The dashboard over one simulation result (read-only; the page scrubs through time)."""

    result: SimResult
    title: str = ""
    _segments: dict[int, list[GangSegment]] = field(init=False, repr=False)
    _leased_s: dict[int, float] = field(init=False, repr=False)
    _rhos: dict[int, float] = field(init=False, repr=False)
    _records: dict[int, JobRecord] = field(init=False, repr=False)
    _all: list[GangSegment] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._all = gang_segments(self.result)
        self._segments = {}
        for segment in self._all:
            self._segments.setdefault(segment.job_id, []).append(segment)
        self._leased_s = {job: sum(s.end_s - s.start_s for s in segments)
                          for job, segments in self._segments.items()}
        records = self.result.records
        rhos = ftf_rhos(records, self.result.num_trace_jobs, self.result.num_gpus)
        self._rhos = {r.job_id: rho for r, rho in zip(records, rhos, strict=True)}
        self._records = {r.job_id: r for r in records}
        if not self.title:
            self.title = f"simulation · {policy_label(self.result.policy)}"

    @property
    def end_s(self) -> float:
        return max(self.result.makespan_s, max(self.result.round_end_s, default=0.0))

    def _clamp(self, at_s: float | None) -> float:
        return self.end_s if at_s is None else min(max(0.0, at_s), self.end_s)

    def _round_at(self, at_s: float) -> int | None:
        index = bisect.bisect_right(self.result.round_start_s, at_s) - 1
        return index if index >= 0 else None

    def _entry(self, record: JobRecord, at_s: float, running: set[int],
               round_index: int | None) -> JobEntry:
        segments = self._segments.get(record.job_id, [])
        received = sum(max(0.0, min(s.end_s, at_s) - s.start_s) for s in segments
                       if s.start_s < at_s)
        total = self._leased_s.get(record.job_id, 0.0)
        completed = record.completion_s <= at_s
        progress = 1.0 if completed else (received / total if total > 0 else 0.0)
        state = "COMPLETED" if completed else ("RUNNING" if record.job_id in running
                                               else "QUEUED")
        if completed:
            rho: float | None = self._rhos[record.job_id]
        else:
            contention = fair_share_factor(self.result.num_trace_jobs, self.result.num_gpus)
            rho = estimated_rho(at_s - record.arrival_s, _UNITS, int(progress * _UNITS),
                                _UNITS / record.run_time_s if record.run_time_s > 0 else None,
                                contention)
        reason = None
        if state == "QUEUED":
            reason = ("waiting for the first round" if round_index is None else
                      f"not placed in round {round_index}: "
                      f"{policy_label(self.result.policy)} gave the GPUs to other jobs")
        return JobEntry(id=record.job_id, name=record.model, state=state, gpus=record.gpus,
                        progress=progress, batch_size=_batch_size_at(record, at_s),
                        attempts=sum(1 for s in segments if s.start_s <= at_s),
                        estimated_rho=rho, wait_reason=reason, submitted_s=record.arrival_s,
                        finished_s=record.completion_s if completed else None)

    def snapshot(self, at_s: float | None = None) -> Snapshot:
        """The simulation at ``at_s`` (default: its end), clamped to [0, end]."""
        t = self._clamp(at_s)
        holder: dict[int, int] = {}
        timeline = Timeline()
        for segment in self._all:
            if segment.start_s > t:
                continue
            if segment.start_s <= t < segment.end_s:
                holder.update((gpu, segment.job_id) for gpu in segment.gpus)
            timeline.add(segment.job_id, segment.start_s, min(segment.end_s, t),
                         list(segment.gpus))
        running = set(holder.values())
        arrived = [r for r in self.result.records if r.arrival_s <= t]
        round_index = self._round_at(t)
        jobs = [self._entry(r, t, running, round_index)
                for r in sorted(arrived, key=lambda r: r.job_id)]
        counts = {"QUEUED": 0, "RUNNING": 0, "COMPLETED": 0}
        for job in jobs:
            counts[job.state] += 1
        round_end = (self.result.round_end_s[round_index] if round_index is not None else None)
        return Snapshot(
            source="simulation", title=self.title, policy=self.result.policy, now_s=t,
            start_s=0.0, end_s=self.end_s, round_s=_round_length(self.result),
            round_index=round_index,
            round_ends_in_s=max(0.0, round_end - t) if round_end is not None else None,
            counts=counts,
            gpus=self._gpus(holder),
            jobs=jobs, timeline=timeline, palette=list(palette()), refresh_s=None)

    def _gpus(self, holder: dict[int, int]) -> list[GpuCell]:
        """Every GPU with its holder; a cluster of several types is grouped by type (the
        result does not record servers)."""
        types = self.result.gpu_types
        group = {t: i for i, t in enumerate(dict.fromkeys(types))}
        return [GpuCell(slot=g, device=f"{types[g]} {g}", server=group[types[g]],
                        job_id=holder.get(g), gpu_type=types[g])
                for g in range(self.result.num_gpus)]

    def job_page(self, job_id: int, at_s: float | None = None) -> JobPage | None:
        """One simulated job: its leases, its batch-size steps, its rounds."""
        record = self._records.get(job_id)
        if record is None:
            return None
        t = self._clamp(at_s)
        snapshot_entry = next((j for j in self.snapshot(t).jobs if j.id == job_id), None)
        entry = snapshot_entry or self._entry(record, t, set(), None)
        leases = [Lease(number=i + 1, slots=list(s.gpus), start_s=s.start_s, end_s=s.end_s,
                        outcome="completed" if s.end_s >= record.completion_s else "preempted",
                        reason=None, samples_per_s=None)
                  for i, s in enumerate(self._segments.get(job_id, []))]
        steps = [(record.arrival_s, record.batch_size),
                 *((float(start), int(b)) for start, b in record.batch_size_timeline)]
        events = [(record.arrival_s, "arrived"),
                  *((s.start_s, f"lease {i + 1} on GPUs {list(s.gpus)}")
                    for i, s in enumerate(self._segments.get(job_id, []))),
                  (record.completion_s, f"completed (ρ = {self._rhos[job_id]:.3f})")]
        return JobPage(source="simulation", job=entry, leases=leases, batch_sizes=steps,
                       throughput=[], events=sorted(events), palette_colour=colour_of(job_id))


def _round_length(result: SimResult) -> float:
    lengths = [end - start for start, end in zip(result.round_start_s, result.round_end_s,
                                                 strict=False)]
    return max(lengths, default=0.0)
