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

from shockwave.errors import SolverError
from shockwave.model import JobId
from shockwave.solver import AT_LOWER, BASIC, InfeasibleError, LpModel, solve_lp_triplets

if TYPE_CHECKING:
    from shockwave.policies.base import ClusterView, TypedShares


def runnable_rates(rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``rates`` with 0 wherever the job cannot run: no positive finite rate, or a gang wider than
    the type's GPU count."""
    rates = np.asarray(rates, dtype=float)
    fits = np.asarray(gpus, dtype=float)[:, None] <= np.asarray(counts, dtype=float)[None, :]
    usable = (rates > 0) & (rates < np.inf) & fits  # (NaN fails both comparisons)
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
    return _isolated_on(runnable_rates(rates, gpus, counts), gpus, counts)


def _isolated_on(runnable: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`isolated_perf_shares` given the :func:`runnable_rates` already (they are
    idempotent: a caller holding them need not compute them again)."""
    return np.where(runnable > 0, isolated_split(gpus, counts), 0.0)


def isolated_throughputs_perf(
    rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Each job's effective throughput under :func:`isolated_perf_shares`."""
    runnable = runnable_rates(rates, gpus, counts)
    return effective_throughputs(runnable, _isolated_on(runnable, gpus, counts))


def clip_feasible(shares: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``shares`` clipped to [0, 1], then rows summing over 1 and types over their GPU count scaled
    down: a solver meets its constraints only to its tolerance (~1e-9), the mechanism expects them
    exactly."""
    x = np.asarray(shares, dtype=float).clip(0.0, 1.0)  # (the method: np.clip's wrapper costs more)
    sums = x.sum(axis=1)
    if (sums > 1.0).any():  # (dividing by 1 changes nothing: skipped where no row is over)
        x = x / np.maximum(sums, 1.0)[:, None]
    used = np.asarray(gpus, dtype=float) @ x
    counts = np.asarray(counts, dtype=float)
    over = used > counts
    if over.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            x = x * np.where(over, counts / used, 1.0)[None, :]
    return x + 0.0  # + 0.0: no -0.0 from the solver in the shares


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

    def isolated(self) -> np.ndarray:
        """:func:`isolated_perf_shares` of the program's jobs."""
        return _isolated_on(self.rates, self.gpus, self.counts)

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
        x = np.zeros(self.rates.shape)
        x[self.job_of, self.type_of] = np.asarray(v, dtype=float)[: self.size]
        return clip_feasible(x, self.gpus, self.counts)


class BasisMemory:
    """The basis a policy's last :class:`LevelProgram` ended on, by label (a job's pair
    columns and rows keep their labels from one allocation to the next), so that the next
    allocation's LP starts from it: between two allocations a job or two arrive or finish, and
    the dual simplex needs a handful of iterations from there instead of ~90 from scratch.

    It only chooses the starting point: each solve still ends at an optimum of its own LP. Where
    that optimum is not unique, which one is found can depend on the start, so a policy's
    answers depend on its history of allocations (deterministically: the same inputs in the same
    order give the same shares)."""

    def __init__(self) -> None:
        self._last: tuple[np.ndarray, np.ndarray, LpModel] | None = None
        self._frozen: tuple[np.ndarray, np.ndarray] | None = None

    def remember(self, col_labels: np.ndarray, row_labels: np.ndarray, model: LpModel) -> None:
        """Keep ``model``, whose basis (read when next recalled) is the one to start from."""
        self._last = (col_labels, row_labels, model)
        self._frozen = None

    def freeze(self) -> None:
        """Start the next allocation from the remembered model's basis as it is now, not from
        the one its later solves leave (e.g. OSSP's largest level, whose LP the next
        allocation solves first, rather than its tie-break's)."""
        if self._last is not None and not self._last[2].released:
            self._frozen = self._last[2].basis()

    @property
    def model(self) -> LpModel | None:
        """The last model remembered (the next one takes over its HiGHS instance)."""
        return None if self._last is None or self._last[2].released else self._last[2]

    def recall(self, col_labels: np.ndarray, row_labels: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray] | None:
        """The remembered statuses of these labels; a new column starts nonbasic at its lower
        bound (0), a new row basic (its slack), as in a cold start. ``None`` before the first
        :meth:`remember` (or when that model lost its HiGHS instance to a later one)."""
        if self._last is None or (self._frozen is None and self._last[2].released):
            return None
        old_cols, old_rows, model = self._last
        col_status, row_status = model.basis() if self._frozen is None else self._frozen
        return (_carry(old_cols, col_status, col_labels, AT_LOWER),
                _carry(old_rows, row_status, row_labels, BASIC))


@dataclass(frozen=True)
class WarmStart:
    """What a solver needs to start from a policy's last basis: the jobs' ids (labels that
    persist between allocations) and the policy's :class:`BasisMemory`."""

    ids: tuple[JobId, ...]
    memory: BasisMemory


def _carry(old_labels: np.ndarray, old_status: np.ndarray, labels: np.ndarray,
           default: int) -> np.ndarray:
    """``old_status`` of each of ``labels`` (``default`` for a label not in ``old_labels``)."""
    if old_labels.size == 0:
        return np.full(labels.size, default, dtype=np.int8)
    order = old_labels.argsort(kind="stable")
    hit = order[np.minimum(old_labels.searchsorted(labels, sorter=order),
                           old_labels.size - 1)]
    return np.where(old_labels[hit] == labels, old_status[hit], np.int8(default))


LEXICOGRAPHIC_WEIGHT = 1e-3
"""The efficiency's weight next to the level in :meth:`LevelProgram.lexicographic`'s one
objective (the efficiency's costs scaled to a largest magnitude of 1): small, so that the
optimum keeps the largest level (checked from the basis), and well above HiGHS's dual tolerance
(1e-7), so that the efficiency still decides among the level's optima."""


_FEASIBLE = 1e-9
"""How far (absolute; relative for a right-hand side above 1) :meth:`LevelProgram.level_at`
lets a value step past a bound before it calls its basis infeasible at the new scales."""


class LevelProgram:
    """Gavel's base constraints, a level variable ``L`` and, for every job with ``scale_j > 0``,
    the row ``scale_j * throughput(j, X) >= L``: the one LP shape behind three aware policies.

    * :meth:`max_level`: the largest ``L`` (max-min fairness's level with ``scale`` its
      normalisation; OSSP's ``1 / T*`` with ``scale = 1 / rem``; Themis's factor over the needs
      with ``scale = 1 / need``);
    * :meth:`most_efficient`: with ``L >= floor``, shares maximising ``sum_j scale_j
      throughput(j, X)``: every policy's tie-break, solved from the basis :meth:`max_level` left;
    * :meth:`rescale`: new scales for the same jobs (Themis's next ratio), solved from the last
      basis again. Row j is held as ``base_j throughput(j, X) >= (base_j / scale_j) L`` with
      ``base`` the first scales, so a rescale changes one coefficient per job (``L``'s).

    One HiGHS model serves every solve of an allocation, and, given a :class:`WarmStart`
    (the jobs' ids and the policy's :class:`BasisMemory`), the first solve starts from the last
    allocation's basis. Jobs with
    ``scale_j <= 0`` get no row (nothing is asked of them).

    ``members`` (per row of ``program``, default all 1): each row stands for that many identical
    jobs (same rates, gang width and scale), its pair variables being each member's share: a
    pair's capacity use and efficiency weight are multiplied by the count, its job row, bounds
    and level row are one member's. By symmetry and convexity the optima's values are the
    per-job LP's (any optimum averaged over each class's members is one with equal shares).
    """

    def __init__(self, program: TypedProgram, scale: np.ndarray, *,
                 warm: WarmStart | None = None, members: np.ndarray | None = None) -> None:
        self.program = program
        self._members = members
        self._scale = self._base = np.asarray(scale, dtype=float)
        self.jobs = (self._scale > 0).nonzero()[0]
        m, k = program.rates.shape
        size, num_base = program.size, m + k
        # the level row of each pair's job (-1: none), and the pairs in some level row (None:
        # every pair, the usual case, when every job has a row)
        if self.jobs.size == m:
            level_row, self._keep = program.job_of, None
        else:
            position = np.full(m, -1, dtype=np.intp)
            position[self.jobs] = np.arange(self.jobs.size)
            level_row = position[program.job_of]
            self._keep = (level_row >= 0).nonzero()[0]
        self._pair_rates = program.rates[program.job_of, program.type_of]
        self._weighted: np.ndarray | None = None  # the pairs' scale_j rates[j, t], once needed
        self._level_entries_lists: tuple[list[int], list[int]] | None = None
        self._base_of_rows = self._base[self.jobs]  # base_j of each level row
        self._coefficients: np.ndarray | None = None  # L's, base_j / scale_j, once needed
        carried, reuse, labels = None, None, None
        if warm is not None:
            labels = self._basis_labels(np.asarray(warm.ids, dtype=np.int64))
            carried = warm.memory.recall(*labels)
            reuse = warm.memory.model
        b_ub = np.zeros(num_base + self.jobs.size)
        b_ub[:m], b_ub[m:num_base] = 1.0, program.counts
        upper = np.empty(size + 1)
        upper.fill(1.0)
        upper[size] = np.inf
        self._memory = None if warm is None else warm.memory
        self._model = LpModel.colwise(np.zeros(size + 1), self._columns(level_row, num_base),
                                      b_ub, lower=np.zeros(size + 1), upper=upper, reuse=reuse)
        self._carried: tuple[np.ndarray, np.ndarray] | None = carried
        self._level_row_duals: np.ndarray | None = None  # the level's alone, after lexicographic
        if warm is not None:
            warm.memory.remember(*labels, self._model)

    def _columns(self, level_row: np.ndarray, num_base: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraint matrix column-wise: pair p has its job's row (1), its type's row
        (``gpus_j``) and, when its job has one, its level row (``-scale_j rates[j, t]``); ``L``
        has every level row (1). Rows increase within each column."""
        program, keep = self.program, self._keep
        size, m = program.size, program.rates.shape[0]
        if keep is None or keep.size == size:  # every pair in a level row: 3 entries per pair
            flat_index = np.empty(3 * size + self.jobs.size, dtype=np.int32)
            flat_values = np.empty(flat_index.size)
            index, values = flat_index[:3 * size].reshape(size, 3), flat_values[:3 * size]
            values = values.reshape(size, 3)
            index[:, 0], values[:, 0] = program.job_of, 1.0
            index[:, 1], values[:, 1] = m + program.type_of, self._capacity()
            index[:, 2] = num_base + level_row
            values[:, 2] = -self._weighted_rates()
            flat_index[3 * size:] = np.arange(num_base, num_base + self.jobs.size)
            flat_values[3 * size:] = 1.0
            starts = np.arange(0, 3 * size + 4, 3, dtype=np.int32)  # the pairs', then L's end
            starts[-1] = flat_index.size
            return starts, flat_index, flat_values
        starts = np.zeros(size + 2, dtype=np.int32)
        np.cumsum(np.where(level_row >= 0, 3, 2), out=starts[1:size + 1])
        starts[size + 1] = starts[size] + self.jobs.size
        index = np.empty(int(starts[-1]), dtype=np.int32)
        values = np.empty(index.size)
        first = starts[:size]
        index[first], values[first] = program.job_of, 1.0
        index[first + 1], values[first + 1] = m + program.type_of, self._capacity()
        index[first[keep] + 2] = num_base + level_row[keep]
        values[first[keep] + 2] = -self._weighted_rates()[keep]
        index[starts[size]:] = num_base + np.arange(self.jobs.size)
        values[starts[size]:] = 1.0
        return starts, index, values

    def _capacity(self) -> np.ndarray:
        """Per pair, its type row's coefficient: ``gpus_j``, times the members of a class."""
        program = self.program
        if self._members is None:
            return program.gpus[program.job_of]
        return (program.gpus * self._members)[program.job_of]

    def _weighted_rates(self) -> np.ndarray:
        """Per pair, ``scale_j rates[j, t]`` at the current scales (a job without a row has
        scale 0 and no use for it): its level row's coefficient, negated, and its efficiency
        weight."""
        if self._weighted is None:
            self._weighted = self._pair_rates * self._scale[self.program.job_of]
        return self._weighted

    @property
    def _level_entries(self) -> tuple[list[int], list[int]]:
        """The (row, column) of ``L`` in each level row, as lists (what
        :meth:`~shockwave.solver.LpModel.set_coefficients` takes as they are); made once
        needed: only a rescale or :meth:`level_at` needs them."""
        if self._level_entries_lists is None:
            first = self.program.rates.shape[0] + self.program.counts.size
            self._level_entries_lists = (list(range(first, first + self.jobs.size)),
                                         [self.program.size] * self.jobs.size)
        return self._level_entries_lists

    def _basis_labels(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels that name the same column or row in every allocation: a pair by (job id,
        type), ``L`` alone; a job's base row, its level row, a type's row (distinct residues
        modulo 4, so no two kinds collide)."""
        program, k = self.program, self.program.counts.size
        cols = np.concatenate([(ids[program.job_of] * k + program.type_of) * 2, [1]])
        rows = np.concatenate([ids * 4, np.arange(k) * 4 + 2, ids[self.jobs] * 4 + 1])
        return cols, rows

    def _solve(self, *, primal: bool = False) -> np.ndarray:
        self._level_row_duals = None
        if self._carried is not None:  # the first solve starts from the last allocation's basis
            self._model.warm_start(*self._carried)
            self._carried = None
            primal = False
        return self._model.solve(primal=primal).x

    def max_level(self) -> tuple[float, np.ndarray]:
        """The largest level and shares achieving it (the pair values); ``inf`` and no shares
        when no job has a row. Raises ``SolverError`` as :func:`~shockwave.solver.solve_lp`."""
        if self.jobs.size == 0:
            return float("inf"), np.zeros(self.program.size)
        cost = np.zeros(self.program.size + 1)
        cost[-1] = -1.0
        self._model.set_costs(cost)
        self._model.set_bounds(self.program.size, 0.0, np.inf)
        v = self._solve()
        return float(v[-1]), v[: self.program.size]

    def keep_basis(self) -> None:
        """The policy's next allocation starts from the basis of this program's last solve
        (:meth:`BasisMemory.freeze`), whatever later solves leave."""
        if self._memory is not None:
            self._memory.freeze()

    def lexicographic(self) -> tuple[float, np.ndarray] | None:
        """:meth:`max_level`, then :meth:`most_efficient` at that level exactly, from one
        solve: the objective ``L + LEXICOGRAPHIC_WEIGHT * efficiency`` (efficiency as
        :meth:`most_efficient` weighs it), whose optimal basis is then checked to be optimal for
        the level alone and, among the level's optima, for the efficiency
        (:meth:`~shockwave.solver.LpModel.is_lexicographic_optimum`). The largest level and the
        shares; ``None`` when the check fails or the solve does (the two LPs are then solved
        in turn, from the basis this one left). When the solve started from no basis, it is
        repeated from its own (no iteration) so that HiGHS has factored the basis to check."""
        if self.jobs.size == 0:
            return None
        level_cost = np.zeros(self.program.size + 1)
        level_cost[-1] = -1.0
        efficiency = self._efficiency_cost()
        combined = LEXICOGRAPHIC_WEIGHT * efficiency  # plus level_cost: L's entry only
        combined[-1] = -1.0  # (efficiency[-1] is 0)
        self._model.set_costs(combined)
        self._model.set_bounds(self.program.size, 0.0, np.inf)
        try:
            v = self._solve()
            if not self._model.basis_factored:  # a cold solve: once more, from its basis
                v = self._model.solve().x
            duals = self._model.lexicographic_duals(level_cost, efficiency)
        except SolverError:
            return None
        if duals is None:
            return None
        self._level_row_duals = duals[1][self._model.num_rows - self.jobs.size:]
        return float(v[-1]), v[: self.program.size]

    def _efficiency_cost(self) -> np.ndarray:
        """``-sum_j scale_j throughput(j, X)`` as costs of the pair columns, scaled to a largest
        magnitude of 1."""
        cost = np.zeros(self.program.size + 1)
        keep, weighted = self._keep, self._weighted_rates()
        if self._members is not None:
            weighted = weighted * self._members[self.program.job_of]
        if keep is None:
            cost[:-1] = -weighted
        else:
            cost[keep] = -weighted[keep]
        cost /= max(1e-300, float(np.abs(cost).max(initial=0.0)))
        return cost

    def most_efficient(self, floor: float, *, primal: bool = False) -> np.ndarray:
        """Shares (pair values) maximising ``sum_j scale_j throughput(j, X)`` with every row's
        ``scale_j throughput(j, X) >= floor``. Raises ``InfeasibleError`` when no shares reach
        the floor, ``SolverError`` as :meth:`max_level`. ``primal``: by the primal simplex
        method (the caller knows the last solve's basis to be feasible at this floor, e.g. a
        floor at most :meth:`max_level`'s level just found: only the costs change then)."""
        self._model.set_costs(self._efficiency_cost())
        self._model.set_bounds(self.program.size, float(floor), np.inf)
        return self._solve(primal=primal)[: self.program.size]

    def level_at(self, scale: np.ndarray) -> tuple[float, np.ndarray] | None:
        """After :meth:`max_level` (or a certified :meth:`lexicographic`: its basis is optimal
        for the level too): the largest level and shares with the scales ``scale`` (every
        job with a row keeping a positive one) in place of the current ones, read from that
        solve's basis without solving again, when that basis is still optimal; else ``None``.

        Only the level's column changes with the scales (row j holds ``g_j L``,
        ``g_j = base_j / scale_j``), so with the same basic columns (Sherman-Morrison, one
        solve with the basis's factors) the basic values move by ``-w t``, ``w = B^-1 u``,
        ``u`` the change in the level's column and ``t = L / (1 + w_p)`` (``p`` the level's
        position), and the level becomes ``t``. The duals scale by the positive ``1 / (1 +
        w_p)``, so the basis stays dual feasible (the level alone has a cost); it is optimal
        where it stays primal feasible: every column within its bounds, every row within its
        right-hand side (to ``_FEASIBLE``). ``None`` also where HiGHS holds no factored basis,
        the level is not basic or ``1 + w_p`` is not positive."""
        model, level = self._model, self.program.size
        basic = model.basic_variables()
        if basic is None or self.jobs.size == 0:
            return None
        where = (basic == level).nonzero()[0]
        scale = np.asarray(scale, dtype=float)
        rows = slice(model.num_rows - self.jobs.size, None)  # the level rows come last
        change = self._base_of_rows / scale[self.jobs] - self._level_coefficients()
        u = np.zeros(model.num_rows)
        u[rows] = change
        w = model.basis_solve(u) if where.size == 1 else None
        if w is None or not 1.0 + w[where[0]] > 0:
            return None
        x = model.solution()
        t = x[level] / (1.0 + w[where[0]])
        structural = basic >= 0
        x[basic[structural]] -= w[structural] * t
        x[level] = t
        activity = model.row_activities(x)
        activity[rows] += change * t  # the level's column at the new scales
        if (x < model.lower - _FEASIBLE).any() or (x > model.upper + _FEASIBLE).any() \
                or (activity > model.b_ub + _FEASIBLE * np.maximum(1.0, model.b_ub)).any():
            return None
        return float(t), x[:level]

    def rescale(self, scale: np.ndarray) -> None:
        """New scales for the jobs with rows (each still positive): the same rows with new
        coefficients, solved next from the last basis."""
        self._scale = np.asarray(scale, dtype=float)
        self._weighted = None
        self._coefficients = self._base_of_rows / self._scale[self.jobs]
        self._model.set_coefficients(*self._level_entries, self._coefficients)

    def _level_coefficients(self) -> np.ndarray:
        """``L``'s coefficient in each level row, ``base_j / scale_j`` (1 until a rescale)."""
        if self._coefficients is None:
            self._coefficients = self._base_of_rows / self._scale[self.jobs]
        return self._coefficients

    def level_duals(self) -> np.ndarray:
        """After :meth:`max_level` (or :meth:`lexicographic`: the level's own duals, not the
        combined objective's): the level rows' dual values, normalised to sum 1 (each job's
        weight in the level's sensitivity; all 0 if no row binds). With ``members``, one per
        class: its members' duals summed."""
        duals = -self._model.row_duals()[self._model.num_rows - self.jobs.size:] \
            if self._level_row_duals is None else -self._level_row_duals
        duals = duals * self._base_of_rows / self._scale[self.jobs]  # rows as scale_j-rows
        total = float(duals.sum())
        return duals / total if total > 0 else np.zeros(duals.shape)

    def shares(self, v: np.ndarray) -> np.ndarray:
        """Pair values as a feasible ``(m, k)`` share matrix."""
        return self.program.unflatten(v)


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
        jobs = [view.jobs[j] for j in ids]
        zeros = (0.0,) * len(types)  # (dtype=float converts each rate as float() would)
        rates = np.array([list(map(job.throughputs_by_type.get, types, zeros)) for job in jobs],
                         dtype=float).reshape(len(ids), len(types))
        return cls(
            ids=ids, types=types,
            counts=np.array([view.cluster.count(t) for t in types], dtype=float),
            rates=rates, gpus=np.array([job.gpus for job in jobs], dtype=float),
        )

    def shares(self, x: np.ndarray) -> TypedShares:
        """``{job: {type: share}}`` with every type listed for every job."""
        types = self.types
        return {j: dict(zip(types, row, strict=True))
                for j, row in zip(self.ids, np.asarray(x, dtype=float).tolist(), strict=True)}

    def isolated(self) -> TypedShares:
        """The fallback: :func:`isolated_perf_shares` as typed shares."""
        return self.shares(isolated_perf_shares(self.rates, self.gpus, self.counts))
