"""Running policies on one input: what the CLI and notebooks call to simulate and compare.

Inputs are plain, picklable values so that ``run_many`` can spread policies over processes;
results do not depend on how many processes run them. ``check_inputs`` reads and validates
everything a run needs before any simulation starts, so that a mistake is reported at once.
"""

from __future__ import annotations

import json
import os
import queue as queue_module
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shockwave.clusters import check_gpu_types, format_cluster, parse_cluster
from shockwave.config import Compat, SimConfig, make_sim_config
from shockwave.errors import InputError, ShockwaveError
from shockwave.model import Cluster
from shockwave.policies import Policy, canonical_name
from shockwave.sim.loop import RoundProgress, check_trace_on, simulate
from shockwave.sim.result import SimResult
from shockwave.traces import load_trace
from shockwave.workload.facts import load_facts
from shockwave.workload.throughput import load_throughputs, throughputs_label

if TYPE_CHECKING:
    from shockwave.metrics import Summary
    from shockwave.traces.trace import Trace
    from shockwave.workload.adaptation import WorkloadFacts
    from shockwave.workload.throughput import ThroughputTable


@dataclass(frozen=True)
class Inputs:
    """Everything a run depends on besides the policy. ``None`` paths mean the bundled data."""

    trace: str | None = None
    throughputs: str | None = None
    gpus: int = 32
    gpus_per_server: int = 1
    round_s: float = 120.0
    compat: Compat = "fixed"
    policy_config: str | None = None
    solver: str | None = None
    params: tuple[tuple[str, Any], ...] = field(default=())
    workload_facts: str | None = None
    """A workload-facts file merged over the bundled ``workload.json`` (docs/profiling.md)."""
    preemption_penalty_s: float | None = None
    """The restart cost, s (``None``: ``SimConfig``'s default, 20 s)."""
    cluster: str | None = None
    """``--cluster`` text (``v100:12/1,p100:12/1``): GPUs of several types, or of one type other
    than V100; then ``gpus`` and ``gpus_per_server`` are not read. ``None``: ``gpus`` V100s,
    ``gpus_per_server`` per server (``cluster_inputs`` gives the fields for a cluster)."""

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["trace"] = self.trace or "bundled:canonical-120jobs.trace"
        data["throughputs"] = throughputs_label(self.throughputs)
        data["params"] = dict(self.params)
        for key in ("workload_facts", "preemption_penalty_s", "cluster"):
            if data[key] is None:  # results of runs without them stay as they were
                del data[key]
        if self.cluster is not None:
            data["gpus"] = self.make_cluster().num_gpus
        return data

    def make_cluster(self) -> Cluster:
        """The cluster these inputs describe."""
        if self.cluster is not None:
            return parse_cluster(self.cluster)
        return Cluster(self.gpus, self.gpus_per_server)

    def sim_config(self) -> SimConfig:
        """The simulator's rules these inputs ask for."""
        penalty = {} if self.preemption_penalty_s is None else \
            {"preemption_penalty_s": self.preemption_penalty_s}
        return make_sim_config(self.compat, round_s=self.round_s, **penalty)


def cluster_inputs(cluster: Cluster) -> dict[str, Any]:
    """The ``Inputs`` fields (``gpus``, ``gpus_per_server``, ``cluster``) of ``cluster``: one
    group of V100s is recorded as ``--gpus`` records it, so that ``--cluster v100:32`` and
    ``--gpus 32`` make the same inputs and byte-identical results; any other cluster as its
    ``--cluster`` text."""
    if not cluster.is_heterogeneous and cluster.gpu_type == Cluster(1).gpu_type:
        return {"gpus": cluster.num_gpus, "gpus_per_server": cluster.gpus_per_server,
                "cluster": None}
    return {"gpus": cluster.num_gpus, "gpus_per_server": cluster.gpus_per_server,
            "cluster": format_cluster(cluster)}


class Interrupted(ShockwaveError):
    """Ctrl-C during ``run_many``: the workers were stopped; says which runs were lost."""

    def __init__(self, finished: Sequence[str], lost: Sequence[str]) -> None:
        self.finished, self.lost = tuple(finished), tuple(lost)
        done = f"; finished: {', '.join(finished)}" if finished else ""
        super().__init__(f"interrupted: stopped {len(lost)} run(s) before they finished: "
                         f"{', '.join(lost)}{done} (nothing was written)")


class RunFailed(ShockwaveError):
    """One policy's run failed; the message names the policy."""


def parse_params(items: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """``["alpha=0.3", "name=x"]`` -> ``(("alpha", 0.3), ("name", "x"))`` (JSON values where valid).

    A key given twice is an error (which one was meant is not knowable)."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"expected key=value, got {item!r}", field="--param")
        if key in parsed:
            raise InputError(f"'{key}' given twice", field="--param")
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):  # JSONDecodeError, or an int past the digit limit
            value = raw
        parsed[key] = value
    return tuple(parsed.items())


def build_policy(name: str, inputs: Inputs) -> Policy:
    """A fresh policy with the options of ``inputs`` that it takes (config file, solver, extra
    parameters), each validated by the policy's own schema (``policies/params.py``).

    In a run of several policies each option goes to the policies that declare it (Shockwave's
    ``--policy-config`` is not given to Gavel); ``check_inputs`` makes sure every option is
    taken by at least one of them."""
    from shockwave.policies.params import build_policy as build
    from shockwave.policies.params import lookup, policy_params

    schema = policy_params(name)
    params = {key: value for key, value in inputs.params if lookup(schema, key) is not None}
    config = inputs.policy_config if lookup(schema, "config") is not None else None
    solver = inputs.solver if lookup(schema, "solver") is not None else None
    return build(name, params, config_path=config, solver=solver)


def _check_options_taken(names: Sequence[str], inputs: Inputs) -> None:
    """Every ``--param``, ``--policy-config`` and ``--solver`` is taken by some policy of the run."""
    from shockwave.policies.params import build_policy as build
    from shockwave.policies.params import lookup, policy_params

    schemas = {name: policy_params(name) for name in names}
    given = [(f"--param {key}", key) for key, _ in inputs.params]
    given += [("--policy-config", "config")] if inputs.policy_config is not None else []
    given += [("--solver", "solver")] if inputs.solver is not None else []
    for option, key in given:
        if any(lookup(schema, key) is not None for schema in schemas.values()):
            continue
        if len(names) == 1:  # the policy's own message lists what it accepts
            build(names[0], dict(inputs.params), config_path=inputs.policy_config,
                  solver=inputs.solver)
        takers = ", ".join(sorted(n for n, schema in _all_schemas() if lookup(schema, key)))
        hint = f"; taken by {takers}" if takers else ""
        raise InputError(f"none of the policies run ({', '.join(names)}) takes it{hint}",
                         field=option)


def _all_schemas() -> list[tuple[str, tuple[Any, ...]]]:
    from shockwave.policies import POLICIES
    from shockwave.policies.params import policy_params

    return [(name, policy_params(name)) for name in POLICIES]


def unique_policies(names: Sequence[str]) -> list[str]:
    """Registry names of ``names`` in order, each once (``gavel`` and ``max_min_fairness`` are one
    policy)."""
    seen: list[str] = []
    for name in names:
        canonical = canonical_name(name)
        if canonical not in seen:
            seen.append(canonical)
    return seen


@dataclass(frozen=True)
class LoadedInputs:
    """What ``check_inputs`` read, so that runs in the same process need not read it again."""

    throughputs: ThroughputTable
    trace: Trace
    facts: WorkloadFacts


def check_inputs(names: Sequence[str], inputs: Inputs) -> LoadedInputs:
    """Read and validate every input of a run of ``names`` (trace, throughputs, cluster, policy
    options) before any simulation starts; raises the first ``InputError``. Returns what it
    read (``run_many``'s ``loaded``)."""
    cluster = inputs.make_cluster()
    config = inputs.sim_config()
    throughputs = load_throughputs(inputs.throughputs)
    if inputs.cluster is not None:
        check_gpu_types(cluster, throughputs)
    facts = load_facts(inputs.workload_facts)
    trace = load_trace(inputs.trace, throughputs=throughputs)
    check_trace_on(trace, cluster, throughputs, facts, config)
    _check_options_taken(names, inputs)
    for name in names:
        build_policy(name, inputs)
    return LoadedInputs(throughputs, trace, facts)


def run_policy(
    name: str, inputs: Inputs, on_round: Callable[[RoundProgress], None] | None = None,
    loaded: LoadedInputs | None = None,
) -> SimResult:
    """Simulate one policy on ``inputs``; their files are read unless ``loaded`` holds them
    (``check_inputs`` read them in this process)."""
    if loaded is None:
        throughputs = load_throughputs(inputs.throughputs)
        trace = load_trace(inputs.trace, throughputs=throughputs)
    else:
        throughputs, trace = loaded.throughputs, loaded.trace
    cluster = inputs.make_cluster()
    config = inputs.sim_config()
    policy = build_policy(name, inputs)
    facts = load_facts(inputs.workload_facts) if loaded is None else loaded.facts
    return simulate(trace, cluster, policy, config, throughputs=throughputs, on_round=on_round,
                    inputs=inputs.describe(), facts=facts)


ProgressCallback = Callable[[str, RoundProgress], None]

_progress_queue: Any = None
"""Set in each worker process by ``_init_worker``: where it sends progress (or ``None``)."""


def _init_worker(progress_queue: Any) -> None:
    # Ctrl-C is the parent's to handle: it stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _progress_queue
    _progress_queue = progress_queue


def _run_in_worker(name: str, inputs: Inputs) -> SimResult:
    def report(progress: RoundProgress) -> None:
        if _progress_queue is not None:
            _progress_queue.put((name, progress))

    try:
        return run_policy(name, inputs, report)
    except ShockwaveError as exc:
        # Re-raised as a plain message: subclasses with their own constructors do not unpickle.
        raise RunFailed(f"{name}: {exc}") from None


def run_many(
    names: Sequence[str],
    inputs: Inputs,
    workers: int | None = None,
    on_progress: ProgressCallback | None = None,
    loaded: LoadedInputs | None = None,
) -> list[SimResult]:
    """Simulate each policy in ``names`` (in parallel processes when ``workers > 1``), in order.

    The first failing run stops the others and its error is raised, naming the policy. Ctrl-C
    stops every worker at once and raises ``Interrupted`` naming the runs that were lost.
    ``loaded`` (``check_inputs``' answer) spares runs in this process reading the inputs again.
    """
    for name in names:
        canonical_name(name)
    workers = max(1, min(workers or os.cpu_count() or 1, len(names)))
    if workers == 1:
        return _run_sequentially(names, inputs, on_progress, loaded)
    return _run_in_pool(names, inputs, workers, on_progress)


def _run_sequentially(names: Sequence[str], inputs: Inputs, on_progress: ProgressCallback | None,
                      loaded: LoadedInputs | None = None) -> list[SimResult]:
    results: list[SimResult] = []
    for name in names:
        callback = (lambda p, n=name: on_progress(n, p)) if on_progress else None
        try:
            results.append(run_policy(name, inputs, callback, loaded))
        except KeyboardInterrupt:
            raise Interrupted([r.policy for r in results], names[len(results):]) from None
    return results


def _run_in_pool(names: Sequence[str], inputs: Inputs, workers: int,
                 on_progress: ProgressCallback | None) -> list[SimResult]:
    import multiprocessing  # only for runs in parallel

    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    progress_queue = context.Queue() if on_progress else None
    pool = context.Pool(workers, initializer=_init_worker, initargs=(progress_queue,))
    pending = [pool.apply_async(_run_in_worker, (name, inputs)) for name in names]
    try:
        while not all(p.ready() for p in pending):
            _drain(progress_queue, on_progress, timeout_s=0.1)
            for p in pending:
                if p.ready() and not p.successful():
                    p.get()  # raises the run's error
        results = [p.get() for p in pending]
        # A worker's last progress messages may still be in its queue's feeder thread when its
        # result arrives; the workers flush it as they exit, so drain after they have.
        pool.close()
        pool.join()
        _drain(progress_queue, on_progress, timeout_s=0.0)
    except KeyboardInterrupt:
        pool.terminate()
        pool.join()
        finished = [n for n, p in zip(names, pending, strict=True) if p.ready() and p.successful()]
        raise Interrupted(finished, [n for n in names if n not in finished]) from None
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    return results


def _drain(progress_queue: Any, on_progress: ProgressCallback | None, timeout_s: float) -> None:
    """Pass queued progress messages to ``on_progress``; wait up to ``timeout_s`` for the first."""
    if progress_queue is None or on_progress is None:
        time.sleep(timeout_s)
        return
    block = timeout_s > 0
    while True:
        try:
            name, progress = progress_queue.get(block, timeout_s if block else None)
        except queue_module.Empty:
            return
        on_progress(name, progress)
        block = False


def save_result_json(result: SimResult, path: str | Path, summary: Summary | None = None) -> None:
    """Write ``result`` as the documented JSON (docs/results.md); ``summary`` is its
    ``metrics.summarize``, when the caller has it already."""
    from shockwave.outputs import write_text
    from shockwave.sim.result import result_to_json

    write_text(path, json.dumps(result_to_json(result, summary), indent=1))
