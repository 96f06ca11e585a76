"""Running policies on one input: what the CLI and notebooks call to simulate and compare.

Inputs are plain, picklable values so that ``run_many`` can spread policies over processes;
results do not depend on how many processes run them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import Manager
from pathlib import Path
from typing import Any

from shockwave.config import Compat, make_sim_config
from shockwave.errors import InputError
from shockwave.model import Cluster
from shockwave.policies import POLICIES, Policy, canonical_name
from shockwave.sim.loop import RoundProgress, simulate
from shockwave.sim.result import SimResult
from shockwave.traces import load_trace
from shockwave.workload.throughput import load_throughputs


@dataclass(frozen=True)
class Inputs:
    """Everything a run depends on besides the policy. ``None`` paths mean the bundled data."""

    trace: str | None = None
    throughputs: str | None = None
    gpus: int = 32
    gpus_per_server: int = 1
    round_s: float = 120.0
    compat: Compat = "fixed"
    seed: int = 0
    policy_config: str | None = None
    solver: str | None = None
    params: tuple[tuple[str, Any], ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["trace"] = self.trace or "bundled:canonical-120jobs.trace"
        data["throughputs"] = self.throughputs or "bundled:tacc_throughputs.json"
        data["params"] = dict(self.params)
        return data


def parse_params(items: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """``["alpha=0.3", "name=x"]`` -> ``(("alpha", 0.3), ("name", "x"))`` (JSON values where valid)."""
    parsed = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InputError(f"expected key=value, got {item!r}", field="param")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        parsed.append((key.strip(), value))
    return tuple(parsed)


def build_policy(name: str, inputs: Inputs) -> Policy:
    """A fresh policy with the options of ``inputs`` (config file, solver, extra parameters)."""
    cls = POLICIES[canonical_name(name)]
    params: dict[str, Any] = dict(inputs.params)
    if inputs.policy_config is not None:
        params["config"] = inputs.policy_config
    if inputs.solver is not None:
        params["solver"] = inputs.solver
    try:
        return cls(**params)
    except TypeError:
        raise InputError(
            f"policy '{cls.name}' does not take the option(s) {', '.join(sorted(params))}",
            field="policy",
        ) from None


def run_policy(
    name: str, inputs: Inputs, on_round: Callable[[RoundProgress], None] | None = None
) -> SimResult:
    """Simulate one policy on ``inputs``."""
    trace = load_trace(inputs.trace)
    throughputs = load_throughputs(inputs.throughputs)
    cluster = Cluster(inputs.gpus, inputs.gpus_per_server)
    config = make_sim_config(inputs.compat, round_s=inputs.round_s, seed=inputs.seed)
    if config.round_s <= 0:
        raise InputError(f"must be positive, got {inputs.round_s:g}", field="round-seconds")
    policy = build_policy(name, inputs)
    return simulate(trace, cluster, policy, config, throughputs=throughputs, on_round=on_round,
                    inputs=inputs.describe())


ProgressCallback = Callable[[str, RoundProgress], None]


def _run_in_child(name: str, inputs: Inputs, queue: Any) -> SimResult:
    def report(progress: RoundProgress) -> None:
        if queue is not None:
            queue.put((name, progress))

    try:
        return run_policy(name, inputs, report)
    finally:
        if queue is not None:
            queue.put((name, None))


def run_many(
    names: Sequence[str],
    inputs: Inputs,
    workers: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[SimResult]:
    """Simulate each policy in ``names`` (in parallel processes when ``workers > 1``), in order."""
    for name in names:
        canonical_name(name)
    workers = max(1, min(workers or os.cpu_count() or 1, len(names)))
    if workers == 1:
        results = []
        for name in names:
            callback = (lambda p, n=name: on_progress(n, p)) if on_progress else None
            results.append(run_policy(name, inputs, callback))
        return results
    with Manager() as manager, ProcessPoolExecutor(max_workers=workers) as pool:
        queue = manager.Queue() if on_progress else None
        futures = [pool.submit(_run_in_child, name, inputs, queue) for name in names]
        if queue is not None and on_progress is not None:
            finished = 0
            while finished < len(names):
                name, progress = queue.get()
                if progress is None:
                    finished += 1
                else:
                    on_progress(name, progress)
        return [future.result() for future in futures]


def save_result_json(result: SimResult, path: str | Path) -> None:
    from shockwave.sim.result import result_to_json

    Path(path).write_text(json.dumps(result_to_json(result), indent=1))
