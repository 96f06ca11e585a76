"""Driving a sweep: plan the runs and their cache keys, check that every run can start, run the
missing ones on a backend, and store each result in the cache the moment it arrives.

The driver is the only writer of the output folder (a lock file keeps a second sweep out), so a
Ray cluster's workers need no shared disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shockwave.errors import InputError, ShockwaveError
from shockwave.sweep.backends import Backend
from shockwave.sweep.cache import (
    RunCache,
    digest_inputs,
    key_document,
    package_version,
    run_key,
)
from shockwave.sweep.execute import Outcome, SharedInputs
from shockwave.sweep.grid import RunPoint, columns, expand, values
from shockwave.sweep.spec import SweepSpec, generator_params, param_files


@dataclass(frozen=True)
class Plan:
    """Every run of a sweep with its cache key and the document the key hashes."""

    spec: SweepSpec
    points: tuple[RunPoint, ...]
    keys: tuple[str, ...]
    documents: tuple[dict[str, Any], ...]
    columns: tuple[str, ...]
    shockwave_version: str


def plan_sweep(spec: SweepSpec) -> Plan:
    """The grid of ``spec`` with each run's key (reads and hashes the input files once)."""
    version = package_version()
    digests = digest_inputs(spec)
    points = tuple(expand(spec))
    documents = tuple(key_document(point, spec, digests, version) for point in points)
    return Plan(spec, points, tuple(run_key(d) for d in documents), documents,
                tuple(columns(spec)), version)


def load_shared(spec: SweepSpec, shockwave_version: str) -> SharedInputs:
    """Read the tables and the trace file every run shares (each checked, errors naming the
    file)."""
    from shockwave.traces.trace import load_trace
    from shockwave.workload.facts import load_facts
    from shockwave.workload.throughput import load_throughputs

    throughputs = load_throughputs(spec.throughputs)
    trace = load_trace(spec.trace_file, throughputs=throughputs) if spec.trace_file else None
    files = {path: Path(path).read_bytes() for path in param_files(spec)}
    return SharedInputs(throughputs=throughputs, facts=load_facts(spec.workload_facts),
                        trace=trace, gpus_per_server=spec.gpus_per_server, compat=spec.compat,
                        preemption_penalty_s=spec.preemption_penalty_s,
                        shockwave_version=shockwave_version, files=files)


def check_runs(plan: Plan, shared: SharedInputs, indices: Sequence[int]) -> None:
    """Raise the first ``InputError`` any of the runs ``indices`` would meet at its start: a
    policy that refuses its parameters, a trace the throughput table cannot run, a job wider
    than the cluster. Each distinct trace is generated once here (milliseconds)."""
    from shockwave.experiment import Inputs, build_policy

    spec = plan.spec
    built: set[tuple[str, tuple]] = set()
    widest: dict[tuple, int] = {}
    traces: dict[tuple, Any] = {}
    checked_on: set[tuple] = set()
    for index in indices:
        point = plan.points[index]
        if (point.policy, point.params) not in built:
            build_policy(point.policy, Inputs(params=point.params))
            built.add((point.policy, point.params))
        trace_key = (point.trace, point.seed)
        if trace_key not in widest:
            trace = traces[trace_key] = _trace_of(point, shared)
            if point.cluster is None:
                try:
                    trace.check_runnable(shared.throughputs, "v100", shared.facts)
                except InputError as exc:
                    raise InputError(f"{_trace_name(point, plan.columns)}: {exc}",
                                     path=spec.source, field="trace") from None
            widest[trace_key] = max((job.gpus for job in trace.jobs), default=1)
        if point.cluster is not None:
            if (trace_key, point.cluster) not in checked_on:
                _check_on_cluster(point, traces[trace_key], shared, plan)
                checked_on.add((trace_key, point.cluster))
            continue
        if widest[trace_key] > point.gpus:
            raise InputError(
                f"{_trace_name(point, plan.columns)} has a job of {widest[trace_key]} GPUs, more than a "
                f"cluster of {point.gpus}; use larger clusters, or trace: {{multi_gpu: false}}",
                path=spec.source, field="gpus")


def _trace_of(point: RunPoint, shared: SharedInputs) -> Any:
    """The trace ``point`` runs: the spec's file, or the one its settings and seed generate."""
    from shockwave.traces.generate import generate_trace

    if not point.trace:
        return shared.trace
    return generate_trace(generator_params(dict(point.trace), point.seed), shared.throughputs)


def _check_on_cluster(point: RunPoint, trace: Any, shared: SharedInputs, plan: Plan) -> None:
    """A heterogeneous point's cluster has only types of the throughput table, and some type
    of it can run each job of the trace (``simulate``'s own check, before the first run)."""
    from shockwave.clusters import check_gpu_types, parse_cluster

    cluster = parse_cluster(point.cluster or "")
    try:
        check_gpu_types(cluster, shared.throughputs)
    except InputError as exc:
        raise InputError(f"cluster {point.cluster}: {exc.reason}", path=plan.spec.source,
                         field="cluster") from None
    try:
        trace.check_runnable_on(cluster, shared.throughputs, shared.facts)
    except InputError as exc:
        raise InputError(f"{_trace_name(point, plan.columns)} on cluster {point.cluster}: {exc}",
                         path=plan.spec.source, field="cluster") from None


def _trace_name(point: RunPoint, swept: Sequence[str]) -> str:
    """``the trace of seed 3 (lam=20.0)``: a generated trace by its seed and swept settings."""
    if not point.trace:
        return "the trace file"
    settings = ", ".join(f"{k}={v}" for k, v in point.trace if k in swept)
    return f"the trace of seed {point.seed}" + (f" ({settings})" if settings else "")


@dataclass
class SweepProgress:
    """Where a sweep stands: ``done`` counts cached, run and failed runs alike."""

    total: int
    cached: int
    ran: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.cached + self.ran + self.failed


@dataclass
class SweepResult:
    """What a call of ``run_sweep`` did, and every finished run's record by grid index."""

    progress: SweepProgress
    records: dict[int, dict[str, Any]]
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.records) == self.progress.total


def cached_records(plan: Plan, cache: RunCache) -> dict[int, dict[str, Any]]:
    """The records of the runs already in the cache, by grid index."""
    found = {}
    for index, key in enumerate(plan.keys):
        record = cache.load(key)
        if record is not None:
            found[index] = record
    return found


def run_sweep(plan: Plan, cache: RunCache, backend: Backend, pending: Sequence[int],
              records: dict[int, dict[str, Any]],
              on_progress: Callable[[SweepProgress], None] | None = None) -> SweepResult:
    """Run the grid indices ``pending`` on ``backend``, storing each finished run in ``cache``
    at once; ``records`` are the runs already done. Ctrl-C propagates (what finished is
    stored)."""
    progress = SweepProgress(total=len(plan.points), cached=len(records))
    result = SweepResult(progress, dict(records))
    notify = on_progress or (lambda _: None)
    notify(progress)
    for index, outcome in backend.run([(i, plan.points[i]) for i in pending]):
        problem = _problem(outcome, plan.shockwave_version)
        if problem is not None:
            result.failures.append((index, problem))
            progress.failed += 1
        else:
            record = _record(plan, index, outcome)
            cache.store(plan.keys[index], record)
            result.records[index] = record
            progress.ran += 1
        notify(progress)
    return result


def _problem(outcome: Outcome, version: str) -> str | None:
    if outcome.error is not None:
        return outcome.error
    if outcome.shockwave_version != version:
        return (f"the worker ran shockwave {outcome.shockwave_version}, this sweep is "
                f"{version}: install the same version on every Ray node")
    return None


def _record(plan: Plan, index: int, outcome: Outcome) -> dict[str, Any]:
    return {"key": plan.keys[index], "inputs": plan.documents[index],
            "metrics": outcome.metrics, "seconds": round(outcome.seconds, 6)}


def describe_failure(plan: Plan, index: int, message: str) -> str:
    """``policy=fifo gpus=16 seed=3: <why>``: a failed run and its error, in one line."""
    point = plan.points[index]
    names = [c for c in plan.columns if c != "policy"]
    settings = " ".join(f"{k}={v}" for k, v in values(point, names).items() if v is not None)
    return f"policy={point.policy} {settings}: {message}"


class SweepFailed(ShockwaveError):
    """Some runs failed; the others are stored, and a new sweep retries only the failed."""


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` so that two sweeps never write one folder at once."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / ".lock"
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"another sweep is writing to {out} (it holds {path})",
                             field="--out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
