"""Helpers for the heterogeneity-aware policy tests: views of jobs on a real ``Cluster`` of GPU
types (``Cluster.of_types``; ``JobView.throughputs_by_type``), typed problems for hypothesis, and
the constraint checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from policy_helpers import J, _job_view, throughputs

from shockwave.model import Cluster
from shockwave.policies.base import ClusterView


@dataclass(frozen=True)
class TJ:
    """A job for a typed view: rates per type (cluster order), remaining steps, gang, arrival,
    priority weight, steps done."""

    rates: tuple[float, ...]
    rem: float = 100.0
    gpus: int = 1
    arrival_s: float = 0.0
    weight: float = 1.0
    done: float = 0.0


def typed_view(
    jobs: Sequence[TJ], groups: Sequence[tuple[str, int]], now_s: float = 0.0,
    compat: str = "fixed",
) -> ClusterView:
    """A view of ``jobs`` (ids 0, 1, ...) on a cluster of ``groups``; ``throughput`` (the rate on
    the type last run on) is the rate on the first type, as before a job has run."""
    cluster = Cluster.of_types([(t, n, 1) for t, n in groups])
    views = {}
    for k, job in enumerate(jobs):
        base = _job_view(k, J(thr=job.rates[0], rem=job.rem, gpus=job.gpus,
                              arrival_s=job.arrival_s, weight=job.weight, done=job.done))
        by_type = dict(zip(cluster.gpu_types, job.rates, strict=True))
        views[k] = dataclasses.replace(base, throughputs_by_type=by_type)
    return ClusterView(now_s=now_s, round_index=0, round_s=120.0, cluster=cluster,
                       jobs=views, throughputs=throughputs(), compat=compat)


def as_matrix(shares: Mapping[int, Mapping[str, float]], types: Sequence[str]) -> np.ndarray:
    """Typed shares as an ``(m, k)`` array, jobs in id order."""
    return np.array([[shares[j][t] for t in types] for j in sorted(shares)], dtype=float)


def assert_typed_feasible(
    x: np.ndarray, rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray, tol: float = 1e-9
) -> None:
    """The base constraints, and nothing on a type where the job cannot run (rate 0 or a gang
    wider than the type)."""
    gpus = np.asarray(gpus, dtype=float)
    counts = np.asarray(counts, dtype=float)
    assert x.shape == rates.shape
    assert np.all(x >= 0.0) and np.all(x <= 1.0)
    assert np.all(x.sum(axis=1) <= 1.0 + tol)
    assert np.all(gpus @ x <= counts * (1.0 + tol))
    cannot = (rates <= 0) | (gpus[:, None] > counts[None, :])
    assert np.all(x[cannot] == 0.0)


@st.composite
def typed_problems(
    draw: st.DrawFn, types: tuple[int, int] = (2, 3), max_jobs: int = 6, zeros: bool = True,
    fit: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rates, gpus, counts)``: 1 to ``max_jobs`` jobs of 1, 2 or 4 GPUs (no wider than the
    smallest type when ``fit``) on ``types`` GPU types of 1 to 8 GPUs each; rates in [0.1, 200]
    it/s, some 0 when ``zeros``."""
    k = draw(st.integers(*types))
    counts = np.array(draw(st.lists(st.integers(1, 8), min_size=k, max_size=k)), dtype=float)
    n = draw(st.integers(1, max_jobs))
    widths = [g for g in (1, 2, 4) if not fit or g <= counts.min()]
    gpus = np.array(draw(st.lists(st.sampled_from(widths), min_size=n, max_size=n)),
                    dtype=float)
    rate = st.floats(0.1, 200.0)
    if zeros:
        rate = st.one_of(st.just(0.0), rate)
    rows = draw(st.lists(st.lists(rate, min_size=k, max_size=k), min_size=n, max_size=n))
    return np.array(rows, dtype=float), gpus, counts
