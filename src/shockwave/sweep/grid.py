"""The grid of a sweep: every run in one fixed order, and the variables that tell runs apart.

The order is policies (as listed) x each policy's parameter combinations x generator settings x
cluster sizes x round lengths x seeds, innermost last; every output lists runs in this order,
whatever order they finished in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shockwave.sweep.spec import SweepSpec

Pairs = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class RunPoint:
    """One run of the grid: a policy with its parameters, a trace (generator settings and a seed,
    or the spec's trace file when ``trace`` is empty), a cluster size and a round length."""

    policy: str
    params: Pairs
    trace: Pairs
    seed: int
    gpus: int
    round_s: float
    cluster: str | None = None
    """The ``cluster:`` text of a heterogeneous sweep (``gpus`` is then its size); ``None``:
    ``gpus`` V100s."""


def _product(axes: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Pairs]:
    keys = [key for key, _ in axes]
    return [tuple(zip(keys, values, strict=True))
            for values in itertools.product(*(values for _, values in axes))]


def generator_combinations(spec: SweepSpec) -> list[dict[str, Any]]:
    """Each combination of the swept generator settings (spec key -> value); one empty
    combination when the trace is a file."""
    if spec.generator is None:
        return [{}]
    return [dict(pairs) for pairs in _product(spec.generator)]


def param_combinations(spec: SweepSpec, policy: str) -> list[Pairs]:
    """Each combination of ``policy``'s swept parameters; ``[()]`` when it has none."""
    return _product(spec.params.get(policy, ()))


def cluster_sizes(spec: SweepSpec) -> list[tuple[int, str | None]]:
    """The swept clusters as (GPUs, ``cluster:`` text or ``None`` for V100s only)."""
    if spec.clusters is None:
        return [(gpus, None) for gpus in spec.gpus]
    from shockwave.clusters import parse_cluster

    return [(parse_cluster(text).num_gpus, text) for text in spec.clusters]


def count_runs(spec: SweepSpec) -> int:
    """How many runs the grid has (without building them)."""
    per_trace = math.prod(len(values) for _, values in spec.generator or ())
    per_policy = sum(math.prod(len(v) for _, v in spec.params.get(p, ())) for p in spec.policies)
    return per_policy * per_trace * len(cluster_sizes(spec)) * len(spec.round_s) * len(spec.seeds)


def expand(spec: SweepSpec) -> list[RunPoint]:
    """Every run of the grid, in the grid's order."""
    seeds = spec.seeds if spec.generator is not None else (0,)
    traces = [tuple(c.items()) for c in generator_combinations(spec)]
    return [
        RunPoint(policy, params, trace, seed, gpus, round_s, cluster)
        for policy in spec.policies
        for params in param_combinations(spec, policy)
        for trace in traces
        for gpus, cluster in cluster_sizes(spec)
        for round_s in spec.round_s
        for seed in seeds
    ]


def columns(spec: SweepSpec) -> list[str]:
    """The variables that tell runs apart, as ``runs.csv`` names them: ``policy``, each
    parameter with more than one value (``shockwave.k``), each generator setting with more than
    one value (``lam``), ``gpus``, ``cluster`` (a sweep of ``cluster:``; several clusters may
    have one size), ``round_seconds`` when swept, and ``seed`` (generated traces)."""
    names = ["policy"]
    for policy in spec.policies:
        names += [f"{policy}.{key}" for key, values in spec.params.get(policy, ()) if len(values) > 1]
    names += [key for key, values in spec.generator or () if len(values) > 1]
    names.append("gpus")
    if spec.clusters is not None:
        names.append("cluster")
    if len(spec.round_s) > 1:
        names.append("round_seconds")
    if spec.generator is not None:
        names.append("seed")
    return names


def values(point: RunPoint, names: Sequence[str]) -> dict[str, Any]:
    """The value of each of ``names`` (``columns``) for ``point``; ``None`` for another
    policy's parameter."""
    known: dict[str, Any] = {"policy": point.policy, "gpus": point.gpus,
                             "cluster": point.cluster, "round_seconds": point.round_s,
                             "seed": point.seed}
    known.update({f"{point.policy}.{key}": value for key, value in point.params})
    known.update(dict(point.trace))
    return {name: known.get(name) for name in names}


def shape(spec: SweepSpec) -> str:
    """The grid's dimensions in words: ``3 policies x 2 lam x 2 cluster sizes x 5 seeds``."""
    settings = sum(len(param_combinations(spec, p)) for p in spec.policies)
    parts = [f"{len(spec.policies)} polic{'ies' if len(spec.policies) > 1 else 'y'}"
             if settings == len(spec.policies) else f"{settings} policy settings"]
    parts += [f"{len(values)} {key}" for key, values in spec.generator or () if len(values) > 1]
    count = len(cluster_sizes(spec))
    kind = "cluster" if spec.clusters is not None else "cluster size"
    parts.append(f"{count} {kind}{'s' if count > 1 else ''}")
    if len(spec.round_s) > 1:
        parts.append(f"{len(spec.round_s)} round lengths")
    if spec.generator is not None:
        parts.append(f"{len(spec.seeds)} seed{'s' if len(spec.seeds) > 1 else ''}")
    return " x ".join(parts)
