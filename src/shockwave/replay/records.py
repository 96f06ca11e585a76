"""A real run's result, built from what the service recorded, in the format of ``shockwave
simulate --json`` (``SimResult``; docs/results.md), so that ``shockwave report`` shows a real run
beside the simulation of the same trace.

The input is the service's API answers, as they came: ``GET /v1/jobs/{id}`` and
``/v1/jobs/{id}/events`` of each trace job, ``GET /v1/rounds`` of the replay's rounds. Times
become seconds since the replay's start. Per job (only completed jobs have a record, as in a
simulation): its arrival is its submission, its completion the end of its last attempt,
``attained_s`` the wall-clock time its attempts held their slots (start-up included: the service
cannot tell it apart), the batch-size timeline from the service's approvals, and ``run_time_s``
(T_j) from a profile table (``rate_of``) or, without one or where it lacks a batch size the
job used, from the speed the job measured (``stats["measured_run_times"]`` counts those). Per round:
its placement, mapped to trace ids; its end is the next round's start (rounds can end early when
the cluster idles), the last one's no later than the last job's end. ``gpu_busy_s`` is the time
attempts held each slot."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shockwave.errors import ShockwaveError
from shockwave.metrics import makespan_s
from shockwave.names import ALIASES, REAL_SUFFIX
from shockwave.sim.result import JobRecord, SimResult
from shockwave.traces.trace import Trace

Payload = Mapping[str, Any]
RateOf = Callable[[int, int], float | None]
"""(trace index, batch size) -> iterations/s of the job's gang from a profile table, or
``None`` where the table lacks it."""

PREEMPTED = ("yielded", "killed")


@dataclass(frozen=True)
class ServiceRecords:
    """What the service recorded of one replay, as its API answered.

    ``jobs`` are keyed by trace index (``GET /v1/jobs/{id}``); ``rounds`` are the replay's
    rounds in order (``GET /v1/rounds``);
    ``start_s`` is the service's clock when the replay started; ``num_gpus`` its slots."""

    start_s: float
    num_gpus: int
    jobs: Mapping[int, Payload]
    rounds: Sequence[Payload]


class MissingMeasurement(ShockwaveError):
    """A completed job whose run time cannot be estimated from what it reported."""


def real_policy_name(policy: str) -> str:
    """The result's policy: the service's policy (its registry name) marked as a real run."""
    name = policy.strip()
    return ALIASES.get(name.lower(), name) + REAL_SUFFIX


def build_result(trace: Trace, records: ServiceRecords, *, policy: str,
                 inputs: Mapping[str, Any], rate_of: RateOf | None = None) -> SimResult:
    """The ``SimResult`` of a replay of ``trace``; ``policy`` is the service's policy."""
    start = records.start_s
    ended = [job["finished_s"] for job in records.jobs.values() if job.get("finished_s") is not None]
    end = max(ended, default=start)
    timelines = {index: batch_size_timeline(job, start) for index, job in records.jobs.items()}
    completed, measured = [], 0
    for index in sorted(records.jobs):
        job = records.jobs[index]
        if job["state"] != "COMPLETED":
            continue
        run_time = None
        if rate_of is not None:
            run_time = table_run_time_s(job, lambda size, i=index: rate_of(i, size))
        if run_time is None:
            run_time, measured = measured_run_time_s(job), measured + 1
        spec = trace.jobs[index]
        completed.append(JobRecord(
            job_id=index, model=spec.model, batch_size=spec.batch_size, gpus=spec.gpus,
            mode=spec.mode, arrival_s=_since(job["submitted_s"], start),
            completion_s=_since(job["finished_s"], start), run_time_s=run_time,
            attained_s=sum(_held_s(a, start, end) for a in job["attempts"]),
            batch_size_timeline=timelines[index]))
    ids = {int(job["id"]): index for index, job in records.jobs.items()}
    schedule, round_start, round_end, others = _rounds(records.rounds, ids, start, end)
    return SimResult(
        policy=real_policy_name(policy), num_gpus=records.num_gpus, records=tuple(completed),
        schedule=schedule, round_start_s=round_start, round_end_s=round_end,
        gpu_busy_s=_busy(records, end), makespan_s=makespan_s(completed),
        num_trace_jobs=len(trace), inputs=dict(inputs),
        stats={**_stats(records, timelines, len(trace) - len(completed), others),
               "measured_run_times": measured})


def batch_size_timeline(job: Payload, start_s: float) -> tuple[tuple[float, int], ...]:
    """(time, batch size) from the job's submission: the submitted size, then each size the
    service approved that differs from the one before (the job's ``batch_sizes``)."""
    timeline = [(_since(job["submitted_s"], start_s), int(job["spec"]["batch_size"]))]
    for change in job.get("batch_sizes") or ():
        size = int(change["batch_size"])
        if size != timeline[-1][1]:
            timeline.append((_since(change["at_s"], start_s), size))
    return tuple(timeline)


def batch_size_segments(job: Payload) -> list[tuple[int, int]]:
    """(samples, batch size) of each stretch of the job's training, in order, from the history
    its completing attempt reported (``batch_sizes``); without one, all at the submitted size."""
    trained = int(job["progress"]["samples"])
    first = int(job["spec"]["batch_size"])
    last = next((a for a in reversed(job["attempts"]) if a.get("outcome") == "completed"), None)
    history = sorted((int(c["samples"]), int(c["batch_size"]))
                     for c in (last or {}).get("batch_sizes") or ())
    if not history or history[0][0] > 0:
        history.insert(0, (0, first))
    segments = []
    for k, (begin, size) in enumerate(history):
        stop = min(history[k + 1][0] if k + 1 < len(history) else trained, trained)
        if stop > begin:
            segments.append((stop - begin, size))
    return segments or [(trained, first)]


def table_run_time_s(job: Payload, rate: Callable[[int], float | None]) -> float | None:
    """T_j of a completed job from a profile table: the sum over its batch-size stretches of
    samples / (batch size x ``rate(batch size)``, iterations/s of its gang); ``None`` when the
    table lacks one of its batch sizes (or it trained nothing measurable)."""
    total = 0.0
    for samples, size in batch_size_segments(job):
        iterations_per_s = rate(size)
        if not iterations_per_s:
            return None
        total += samples / (size * iterations_per_s)
    return total if total > 0 else None


def measured_run_time_s(job: Payload) -> float:
    """T_j of a completed job from what it measured: the samples it trained divided by its
    speed (``measured_speed``); with no speed reported, the time its attempts held their
    slots."""
    trained = int(job["progress"]["samples"])
    speed = measured_speed(job)
    if speed is not None and trained > 0:
        return trained / speed
    held = sum(_held_s(a, float("-inf"), float("inf")) for a in job["attempts"])
    if held > 0:
        return held
    raise MissingMeasurement(f"job {job['id']} ({job['name']}) completed without a measured "
                             "speed or any time on its slots; give --throughputs")


def measured_speed(job: Payload) -> float | None:
    """Samples/s of the whole gang: over the attempts that measured one, the samples they
    trained divided by the time those samples took at each attempt's speed (so each attempt
    counts by its work); else the job's last speed; ``None`` if it never reported one."""
    samples = seconds = 0.0
    for attempt in job["attempts"]:
        done = (attempt.get("samples") or 0) - attempt["start_samples"]
        speed = attempt.get("samples_per_s") or 0.0
        if done > 0 and speed > 0:
            samples += done
            seconds += done / speed
    if seconds > 0:
        return samples / seconds
    last = job.get("samples_per_s")
    return float(last) if last else None


def _since(at_s: float, start_s: float) -> float:
    return max(0.0, float(at_s) - start_s)


def _held_s(attempt: Payload, start_s: float, end_s: float) -> float:
    """Seconds ``attempt`` held its slots within [start_s, end_s]."""
    began = attempt.get("started_s")
    if began is None:
        return 0.0
    stopped = attempt.get("ended_s")
    return max(0.0, min(end_s if stopped is None else stopped, end_s) - max(began, start_s))


def _busy(records: ServiceRecords, end_s: float) -> tuple[float, ...]:
    busy = [0.0] * records.num_gpus
    for job in records.jobs.values():
        for attempt in job["attempts"]:
            held = _held_s(attempt, records.start_s, end_s)
            for slot in attempt["slots"]:
                if 0 <= slot < records.num_gpus:
                    busy[slot] += held
    return tuple(busy)


def _rounds(rounds: Sequence[Payload], ids: Mapping[int, int], start_s: float,
            end_s: float) -> tuple[tuple[dict[int, tuple[int, ...]], ...], tuple[float, ...],
                                   tuple[float, ...], int]:
    """Placements by trace id, round starts and ends (seconds since the start), and how many
    jobs not of the replay the rounds placed."""
    kept = [r for r in sorted(rounds, key=lambda r: r["index"]) if r["start_s"] <= end_s]
    schedule, starts, ends, others = [], [], [], set()
    for k, row in enumerate(kept):
        plan = {}
        for key, slots in row["placements"].items():
            if int(key) in ids:
                plan[ids[int(key)]] = tuple(slots)
            else:
                others.add(int(key))
        schedule.append(dict(sorted(plan.items())))
        stop = min(row["end_s"], kept[k + 1]["start_s"] if k + 1 < len(kept) else end_s)
        starts.append(_since(row["start_s"], start_s))
        ends.append(max(starts[-1], _since(stop, start_s)))
    return tuple(schedule), tuple(starts), tuple(ends), len(others)


def _stats(records: ServiceRecords, timelines: Mapping[int, Sequence[Any]], unfinished: int,
           others: int) -> dict[str, int]:
    attempts = [a for job in records.jobs.values() for a in job["attempts"]]
    states = [job["state"] for job in records.jobs.values()]
    return {
        "attempts": len(attempts),
        "restarts": sum(max(0, len(job["attempts"]) - 1) for job in records.jobs.values()),
        "preemptions": sum(a.get("outcome") in PREEMPTED for a in attempts),
        "failed_attempts": sum(a.get("outcome") == "failed" for a in attempts),
        "lost_attempts": sum(a.get("outcome") == "lost" for a in attempts),
        "batch_size_changes": sum(len(t) - 1 for t in timelines.values()),
        "unfinished_jobs": unfinished,
        "failed_jobs": states.count("FAILED"),
        "cancelled_jobs": states.count("CANCELLED"),
        "other_jobs": others,
    }
