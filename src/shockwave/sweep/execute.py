"""One run of a sweep, as a worker (a local process or a Ray task) executes it: generate the
trace, simulate the policy, summarize the result with ``shockwave.metrics``.

Workers get plain values: the run's point and the inputs every run shares (tables and trace,
read once by the driver), so that no worker needs the spec's files on its disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shockwave.config import Compat
from shockwave.errors import ShockwaveError
from shockwave.sweep.grid import RunPoint
from shockwave.traces.trace import Trace
from shockwave.workload.adaptation import WorkloadFacts
from shockwave.workload.throughput import ThroughputTable


@dataclass(frozen=True)
class SharedInputs:
    """What every run of a sweep reads: sent to each worker once."""

    throughputs: ThroughputTable
    facts: WorkloadFacts
    trace: Trace | None
    """The spec's trace file, parsed; ``None`` when each run generates its trace."""
    gpus_per_server: int
    compat: Compat
    preemption_penalty_s: float | None
    shockwave_version: str
    files: Mapping[str, bytes] = field(default_factory=dict)
    """The bytes of each file a policy parameter names (``config``), by the spec's absolute
    path: a worker on another machine uses these, not whatever its own disk holds there."""


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: the metrics, or why the run failed; its time; and the version
    of shockwave it ran (a Ray worker's may differ from the driver's)."""

    metrics: dict[str, float | int] | None
    error: str | None
    seconds: float
    shockwave_version: str


def simulate_point(point: RunPoint, shared: SharedInputs) -> Outcome:
    """Simulate ``point``; a ``ShockwaveError`` becomes a failed outcome (other exceptions are
    bugs and propagate)."""
    from shockwave.sweep.cache import package_version

    start = time.perf_counter()
    try:
        metrics = _metrics(point, shared)
    except ShockwaveError as exc:
        return Outcome(None, str(exc), time.perf_counter() - start, package_version())
    return Outcome(metrics, None, time.perf_counter() - start, package_version())


def _metrics(point: RunPoint, shared: SharedInputs) -> dict[str, float | int]:
    from shockwave.experiment import Inputs, build_policy
    from shockwave.metrics import summarize
    from shockwave.sim.loop import simulate
    from shockwave.sweep.spec import generator_params
    from shockwave.traces.generate import generate_trace

    trace = shared.trace
    if trace is None:
        trace = generate_trace(generator_params(dict(point.trace), point.seed),
                               shared.throughputs)
    params = tuple((key, _local_copy(shared.files[value], value)
                    if isinstance(value, str) and value in shared.files else value)
                   for key, value in point.params)
    inputs = Inputs(gpus=point.gpus, gpus_per_server=shared.gpus_per_server,
                    round_s=point.round_s, compat=shared.compat, params=params,
                    preemption_penalty_s=shared.preemption_penalty_s, cluster=point.cluster)
    result = simulate(trace, inputs.make_cluster(),
                      build_policy(point.policy, inputs), inputs.sim_config(),
                      throughputs=shared.throughputs, facts=shared.facts)
    return summarize(result).as_dict() | {"jobs_total": result.num_trace_jobs}


def _local_copy(content: bytes, path: str) -> str:
    """A file on this machine holding ``content`` (named by its hash, written once per machine),
    to give a policy that reads its parameter from a path."""
    digest = hashlib.sha256(content).hexdigest()
    local = Path(tempfile.gettempdir()) / f"shockwave-sweep-{digest}{Path(path).suffix}"
    if not local.exists():
        partial = local.with_name(f".{local.name}.{os.getpid()}.tmp")
        partial.write_bytes(content)
        os.replace(partial, local)
    return str(local)
