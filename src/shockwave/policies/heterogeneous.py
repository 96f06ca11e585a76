"""What Gavel's heterogeneity-aware (``_perf``) policies share (Narayanan et al., OSDI '20, section
4): time fractions per GPU type ``X[j, t]``, a job's effective throughput
``sum_t rates[j, t] X[j, t]``, the base constraints of every ``_perf`` LP, and the reference
splits (proportional, isolated) that the policies normalise by.

Arrays, for every solver: ``rates[j, t]`` iterations/s of job j's whole gang on type t (0 = it
cannot run there), ``gpus[j]`` the gang widths (Gavel's scale factors), ``counts[t]`` the GPUs of
each type; rows in job-id order, columns in the cluster's type order.

Why "runnable" pairs: Gavel's capacity row ``sum_j gpus_j X[j, t] <= counts[t]`` lets a job hold a
fraction ``counts[t] / gpus_j`` of a type with fewer GPUs than its gang, a share the mechanism can
never place (a gang never spans types). Every solver here first zeroes such pairs, so the shares
it returns are ones the rounds can deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shockwave.model import JobId
from shockwave.solver import InfeasibleError, solve_lp_triplets

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, TypedShares


def runnable_rates(rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``rates`` with 0 wherever the job cannot run: no positive finite rate, or a gang wider than
    the type's GPU count."""
    rates = np.asarray(rates, dtype=float)
    fits = np.asarray(gpus, dtype=float)[:, None] <= np.asarray(counts, dtype=float)[None, :]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rates) & (rates > 0) & fits
    return np.where(usable, rates, 0.0)


def effective_throughputs(rates: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Gavel's ``throughput(j, X) = sum_t rates[j, t] X[j, t]`` for every job."""
    return (np.asarray(rates, dtype=float) * np.asarray(shares, dtype=float)).sum(axis=1)


def proportional_split(num_jobs: int, counts: np.ndarray) -> np.ndarray:
    """Gavel's ``ProportionalPolicy``: every job gets ``counts[t] / m`` of each type, scaled so that
    the largest row sums to 1. All rows are equal, so this is ``X[j, t] = counts[t] / G`` (one
    whole share spread over the types in proportion to their sizes)."""
    counts = np.asarray(counts, dtype=float)
    return np.tile(counts / counts.sum(), (num_jobs, 1))


def spread(shares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Flat shares as a heterogeneity-agnostic policy's land on the types:
    ``X[j, t] = x_j counts[t] / G`` (the design's agnostic rule)."""
    counts = np.asarray(counts, dtype=float)
    return np.asarray(shares, dtype=float)[:, None] * (counts / counts.sum())[None, :]


def isolated_split(gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Gavel's ``IsolatedPolicy``: an equal ``1/m`` of every type in GPU terms,
    ``counts[t] / (m gpus_j)``, each row scaled down to sum to at most 1. On one type this is
    Isolated's ``min(1, G / (m gpus_j))``."""
    gpus = np.asarray(gpus, dtype=float)
    x = (np.asarray(counts, dtype=float)[None, :] / gpus.size) / gpus[:, None]
    return x / np.maximum(x.sum(axis=1), 1.0)[:, None]


def isolated_perf_shares(rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The isolated split on the pairs where a job can run: Themis's reference point and every
    ``_perf`` policy's fallback when a solve fails (the reference falls back to Isolated too)."""
    usable = runnable_rates(rates, gpus, counts) > 0
    return np.where(usable, isolated_split(gpus, counts), 0.0)


def isolated_throughputs_perf(
    rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Each job's effective throughput under :func:`isolated_perf_shares`."""
    runnable = runnable_rates(rates, gpus, counts)
    return effective_throughputs(runnable, isolated_perf_shares(rates, gpus, counts))


def clip_feasible(shares: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``shares`` clipped to [0, 1], then rows summing over 1 and types over their GPU count scaled
    down: a solver meets its constraints only to its tolerance (~1e-9), the mechanism expects them
    exactly."""
    x = np.clip(np.asarray(shares, dtype=float), 0.0, 1.0)
    x = x / np.maximum(x.sum(axis=1), 1.0)[:, None]
    used = np.asarray(gpus, dtype=float) @ x
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(used > counts, counts / used, 1.0)
    return x * scale[None, :] + 0.0  # + 0.0: no -0.0 from the solver in the shares


@dataclass(frozen=True)
class TypedProgram:
    """Gavel's base constraints over the runnable (job, type) pairs: ``sum_t X[j, t] <= 1`` per
    job, ``sum_j gpus_j X[j, t] <= counts[t]`` per type, ``0 <= X <= 1``; one LP variable per
    runnable pair (the others are 0). Policies add their own rows and objective, and may append
    extra variables after the pairs (max-min's level)."""

    rates: np.ndarray
    gpus: np.ndarray
    counts: np.ndarray
    job_of: np.ndarray
    type_of: np.ndarray

    @classmethod
    def build(cls, rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> TypedProgram:
        runnable = runnable_rates(rates, gpus, counts)
        job_of, type_of = np.nonzero(runnable > 0)
        return cls(runnable, np.asarray(gpus, dtype=float), np.asarray(counts, dtype=float),
                   job_of, type_of)

    @property
    def size(self) -> int:
        """The number of pair variables."""
        return int(self.job_of.size)

    @property
    def runs_somewhere(self) -> np.ndarray:
        """Per job: whether it has a runnable type."""
        return self.rates.max(axis=1, initial=0.0) > 0

    def throughput_rows(self, scale: np.ndarray) -> Any:
        """The sparse ``(m, size)`` matrix whose row j maps the pair variables to
        ``scale_j * throughput(j, X)``."""
        from scipy import sparse

        values = self.rates[self.job_of, self.type_of] * np.asarray(scale, dtype=float)[self.job_of]
        shape = (self.rates.shape[0], self.size)
        return sparse.csr_array((values, (self.job_of, np.arange(self.size))), shape=shape)

    def throughput_triplets(
        self, scale: np.ndarray, jobs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`throughput_rows` ``(scale)[jobs]`` (``jobs`` increasing) as (row, column,
        value) triplets, row i for ``jobs[i]``, without building a sparse matrix: the same values
        in the same places."""
        jobs = np.asarray(jobs, dtype=np.intp)
        position = np.full(self.rates.shape[0], -1, dtype=np.intp)
        position[jobs] = np.arange(jobs.size)
        keep = np.flatnonzero(position[self.job_of] >= 0)
        owner = self.job_of[keep]
        values = self.rates[owner, self.type_of[keep]] * np.asarray(scale, dtype=float)[owner]
        return position[owner], keep, values

    def _base_triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The base rows as (row, column, value) triplets, and their right-hand side."""
        m, _ = self.rates.shape
        pairs = np.arange(self.size)
        return (np.concatenate([self.job_of, m + self.type_of]), np.concatenate([pairs, pairs]),
                np.concatenate([np.ones(self.size), self.gpus[self.job_of]]),
                np.concatenate([np.ones(m), self.counts]))

    def solve(
        self,
        cost: np.ndarray,
        a_extra: Any = None,
        b_extra: np.ndarray | None = None,
        *,
        extra_vars: int = 0,
    ) -> np.ndarray:
        """Minimise ``cost @ v`` over ``v = (pairs, extra)`` subject to the base constraints and
        ``a_extra v <= b_extra`` (a matrix, or its (row, column, value) triplets without
        duplicates); extra variables are ``>= 0``. Raises ``SolverError`` (or its
        ``InfeasibleError``) as :func:`shockwave.solver.solve_lp` does; solved by
        :func:`shockwave.solver.solve_lp_triplets` (HiGHS without SciPy's wrapping)."""
        if self.size + extra_vars == 0:  # nothing can run: only X = 0, if the rows allow it
            if b_extra is not None and np.any(np.asarray(b_extra) < 0):
                raise InfeasibleError("no job can run on any GPU type")
            return np.zeros(0)
        rows, cols, values, b = self._base_triplets()
        if isinstance(a_extra, tuple):  # (row, column, value) triplets
            rows = np.concatenate([rows, b.size + np.asarray(a_extra[0])])
            cols = np.concatenate([cols, np.asarray(a_extra[1])])
            values = np.concatenate([values, np.asarray(a_extra[2], dtype=float)])
            b = np.concatenate([b, np.asarray(b_extra, dtype=float)])
        elif a_extra is not None:
            from scipy import sparse

            extra = sparse.coo_array(a_extra)
            rows = np.concatenate([rows, b.size + np.asarray(extra.coords[0])])
            cols = np.concatenate([cols, np.asarray(extra.coords[1])])
            values = np.concatenate([values, np.asarray(extra.data, dtype=float)])
            b = np.concatenate([b, np.asarray(b_extra, dtype=float)])
        n = self.size + extra_vars
        upper = np.concatenate([np.ones(self.size), np.full(extra_vars, np.inf)])
        return solve_lp_triplets(np.asarray(cost, dtype=float), rows, cols, values, b,
                                 lower=np.zeros(n), upper=upper).x

    def unflatten(self, v: np.ndarray) -> np.ndarray:
        """The pair variables of ``v`` as a feasible ``(m, k)`` share matrix."""
        x = np.zeros_like(self.rates)
        x[self.job_of, self.type_of] = np.asarray(v, dtype=float)[: self.size]
        return clip_feasible(x, self.gpus, self.counts)


@dataclass(frozen=True)
class TypedInputs:
    """A view's jobs as arrays for the typed solvers: job ids in id order, the cluster's GPU types
    (in cluster order) and their counts, each job's rates per type and gang width."""

    ids: tuple[JobId, ...]
    types: tuple[str, ...]
    counts: np.ndarray
    rates: np.ndarray
    gpus: np.ndarray

    @classmethod
    def of(cls, view: ClusterView) -> TypedInputs:
        """Reads ``view.cluster.gpu_types``, ``view.cluster.count(t)`` and each job's
        ``throughputs_by_type`` (a type missing there runs at 0)."""
        types = tuple(view.cluster.gpu_types)
        ids = tuple(sorted(view.jobs))
        rates = np.array([[float(view.jobs[j].throughputs_by_type.get(t, 0.0)) for t in types]
                          for j in ids], dtype=float).reshape(len(ids), len(types))
        return cls(
            ids=ids, types=types,
            counts=np.array([view.cluster.count(t) for t in types], dtype=float),
            rates=rates, gpus=np.array([view.jobs[j].gpus for j in ids], dtype=float),
        )

    def shares(self, x: np.ndarray) -> TypedShares:
        """``{job: {type: share}}`` with every type listed for every job."""
        return {j: {t: float(x[i, k]) for k, t in enumerate(self.types)}
                for i, j in enumerate(self.ids)}

    def isolated(self) -> TypedShares:
        """The fallback: :func:`isolated_perf_shares` as typed shares."""
        return self.shares(isolated_perf_shares(self.rates, self.gpus, self.counts))
