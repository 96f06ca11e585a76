"""AlloX (Le et al., EuroSys '20; the published ``scheduler/policies/allox.py``): jobs
are assigned to GPUs by a min-cost bipartite matching whose cost is each
job's completion time if it ran k-th on that GPU (plus the time it has already waited); the job
each GPU runs first gets the whole GPU (``x = 1/sf`` for a gang of sf GPUs).

The allocation is remembered across calls: a job whose previous share was exactly 1.0 keeps its
GPU, and every job the matching does not place keeps its previous share.

The matching uses the shortest-augmenting-path algorithm of SciPy 1.5's
``linear_sum_assignment`` (Crouse 2016), re-implemented here step for step, because the published
schedules depend on how that version breaks ties between equal-cost assignments; later SciPy
versions break them differently (docs/baseline-policies.md).

Fallback: if the matching fails (a non-finite cost), every job keeps its previous share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from shockwave.errors import InputError
from shockwave.model import JobId
from shockwave.policies.base import ClusterView, Shares
from shockwave.policies.params import ParamError, ParamInfo

ZERO_THROUGHPUT = 1e-10
ALPHA = ParamInfo(
    "alpha", "number", 0.2, "fraction of the unallocated jobs (oldest first) in each matching; "
    "at least as many as there are free GPUs", low=0.0, high=1.0, low_open=True,
    aliases=("allox_alpha",),
)


def _augmenting_path(
    cost: np.ndarray, u: np.ndarray, v: np.ndarray, row4col: np.ndarray, row: int
) -> tuple[int, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One shortest augmenting path from ``row``: (sink, min value, path, shortest path costs,
    rows visited, columns visited). Columns are scanned in SciPy 1.5's order."""
    nr, nc = cost.shape
    remaining = np.arange(nc - 1, -1, -1)
    spc = np.full(nc, np.inf)
    path = np.full(nc, -1)
    rows_seen = np.zeros(nr, dtype=bool)
    cols_seen = np.zeros(nc, dtype=bool)
    min_val = 0.0
    i = row
    while True:
        rows_seen[i] = True
        r = min_val + cost[i, remaining] - u[i] - v[remaining]
        better = r < spc[remaining]
        path[remaining[better]] = i
        spc[remaining[better]] = r[better]
        costs = spc[remaining]
        lowest = costs.min()
        hits = np.flatnonzero(costs == lowest)
        free_hits = hits[row4col[remaining[hits]] == -1]
        index = int(free_hits[-1]) if free_hits.size else int(hits[0])
        min_val = float(lowest)
        j = int(remaining[index])
        if not np.isfinite(min_val):
            raise ValueError("cost matrix is infeasible")
        cols_seen[j] = True
        remaining[index] = remaining[-1]
        remaining = remaining[:-1]
        if row4col[j] == -1:
            return j, min_val, path, spc, rows_seen, cols_seen
        i = int(row4col[j])


def _assign_rows(cost: np.ndarray, u: np.ndarray, v: np.ndarray, col4row: np.ndarray,
                 row4col: np.ndarray, rows: range) -> np.ndarray:
    """SciPy 1.5's outer loop over ``rows``: one augmenting path each, then the dual update and
    the augmentation, in place. Returns which columns any of the paths scanned."""
    scanned = np.zeros(cost.shape[1], dtype=bool)
    for cur in rows:
        sink, min_val, path, spc, rows_seen, cols_seen = _augmenting_path(cost, u, v, row4col, cur)
        u[cur] += min_val
        for i in np.flatnonzero(rows_seen):
            if i != cur:
                u[i] += min_val - spc[col4row[i]]
        v[cols_seen] -= min_val - spc[cols_seen]
        scanned |= cols_seen
        j = sink
        while True:
            i = int(path[j])
            row4col[j] = i
            col4row[i], j = j, int(col4row[i])
            if i == cur:
                break
    return scanned


def linear_sum_assignment_v15(cost_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost assignment of every row of a wide matrix (rows <= columns), with SciPy 1.5's
    tie-breaking: costs shifted by their minimum, columns scanned from the last, and a free
    column preferred among equally short paths. Returns (row indices, column indices)."""
    cost = np.asarray(cost_matrix, dtype=float)
    nr, nc = cost.shape
    if nr == 0 or nc == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    if nr > nc:
        cols, rows = linear_sum_assignment_v15(cost.T)
        order = np.argsort(rows)
        return rows[order], cols[order]
    cost = cost - cost.min()
    u, v = np.zeros(nr), np.zeros(nc)
    col4row = np.full(nr, -1)
    row4col = np.full(nc, -1)
    _assign_rows(cost, u, v, col4row, row4col, range(nr))
    return np.arange(nr), col4row.copy()


def positional_costs(unit_s: np.ndarray, waited_s: np.ndarray, num_gpus: int,
                     positions: int) -> np.ndarray:
    """AlloX's cost matrix, its first ``positions`` blocks of ``num_gpus`` columns:
    ``q[i, k n + g] = (k + 1) unit_i + waited_i``, job i run (k+1)-th from last on GPU g."""
    m = len(unit_s)
    # Built by broadcasting (the same products and sums) rather than copies of a block.
    steps = np.arange(1, positions + 1)[None, :, None] * unit_s[:, None, None]
    q = np.broadcast_to(steps, (m, positions, num_gpus)).reshape(m, positions * num_gpus)
    return q + waited_s[:, None]


def positional_assignment(unit_s: np.ndarray, waited_s: np.ndarray, num_gpus: int, *,
                          positions: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``linear_sum_assignment_v15(positional_costs(unit_s, waited_s, n, m))`` for m jobs on
    n GPUs, step for step, without the m x (m n) matrix.

    Two facts make it cheaper. (1) The first ``min(m, n)`` rows each take column ``row`` on a
    direct path: every GPU's first position costs a row the same, so the free column found last
    in SciPy 1.5's scan is the lowest free one, with the duals left at zero. (2) A later position
    costs every row at least as much (``k unit + waited`` grows with k), so a column of block k
    that no path has scanned shadows every column of the blocks after it: they are never
    chosen, never change a dual, and leave the scan order of the others as it is. The matching
    is run on the first ``ceil(m / n) + 1`` blocks; if some path scanned all of the last one, it
    is run again on twice as many blocks, up to all m (``positions`` sets the first count; at
    least ``ceil(m / n)``). Costs that are negative or not finite take the whole matrix.
    Returns (row indices, column indices), as the full matching would.
    """
    m, n = len(unit_s), num_gpus
    if m == 0 or n == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    if not (np.all(np.isfinite(unit_s)) and np.all(np.isfinite(waited_s))
            and np.all(unit_s >= 0.0)):
        return linear_sum_assignment_v15(positional_costs(unit_s, waited_s, n, m))
    if m <= n:
        return np.arange(m), np.arange(m)
    blocks = min(m, max(-(-m // n), positions or -(-m // n) + 1))
    while True:
        cost = positional_costs(unit_s, waited_s, n, blocks)
        cost = cost - cost.min()  # block 0 holds each row's least cost, so the minimum is exact
        u, v = np.zeros(m), np.zeros(blocks * n)
        u[:n] = cost[np.arange(n), np.arange(n)]  # rows 0..n-1 on their direct paths
        col4row = np.full(m, -1)
        row4col = np.full(blocks * n, -1)
        col4row[:n] = row4col[:n] = np.arange(n)
        scanned = _assign_rows(cost, u, v, col4row, row4col, range(n, m))
        if blocks == m or not scanned[(blocks - 1) * n:].all():
            return np.arange(m), col4row.copy()
        blocks = min(m, 2 * blocks)


@dataclass
class Allox:
    """AlloX with the oldest ``max(alpha * m, free GPUs)`` unallocated jobs in each matching."""

    name: ClassVar[str] = "allox"
    plans_rounds: ClassVar[bool] = False
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = (ALPHA,)

    alpha: float = ALPHA.default
    previous: dict[JobId, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.alpha = ALPHA.coerce(self.alpha)
        except ParamError as exc:
            raise InputError(str(exc), field="alpha") from None

    def _candidates(self, view: ClusterView) -> tuple[list[JobId], int]:
        """Jobs to match (oldest first, truncated) and the number of GPUs left to match on."""
        unallocated = [j for j in view.jobs if self.previous.get(j) != 1.0]
        kept = sum(1 for j in view.jobs if self.previous.get(j) == 1.0)
        free_gpus = view.num_gpus - kept
        unallocated.sort(key=lambda j: -view.time_since_arrival_s(j))
        return unallocated[: max(int(self.alpha * len(unallocated)), free_gpus)], free_gpus

    def allocate(self, view: ClusterView) -> Shares:
        candidates, n = self._candidates(view)
        m = len(candidates)
        shares = {j: self.previous.get(j, 0.0) for j in view.jobs}
        if m and n > 0:
            rem = np.array([view.jobs[j].remaining_steps for j in candidates], dtype=float)
            thr = np.array([view.jobs[j].throughput for j in candidates], dtype=float)
            thr[thr == 0.0] = ZERO_THROUGHPUT
            waited = np.array([view.time_since_arrival_s(j) for j in candidates], dtype=float)
            try:
                rows, cols = positional_assignment(rem / thr, waited, n)
            except ValueError:  # non-finite costs: keep the previous allocation
                rows, cols = np.zeros(0, dtype=int), np.zeros(0, dtype=int)
            first: dict[int, tuple[int, JobId]] = {}
            for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
                gpu, position = col % n, col // n
                if gpu not in first or position > first[gpu][0]:
                    first[gpu] = (position, candidates[row])
            for gpu in range(n):
                if gpu in first:
                    job_id = first[gpu][1]
                    shares[job_id] = 1.0 / view.jobs[job_id].gpus
        self.previous = dict(shares)
        return shares
