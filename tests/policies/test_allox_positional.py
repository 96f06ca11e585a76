"""AlloX's positional matching (the first rows on direct paths, the matrix cut after the
blocks any path can reach) against SciPy 1.5's matching of the whole m x (m n) matrix."""

from __future__ import annotations

import numpy as np
import pytest

from shockwave.policies.allox import (
    linear_sum_assignment_v15,
    positional_assignment,
    positional_costs,
)


def _inputs(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 6)), int(rng.integers(1, 18))
    kind = seed % 4
    if kind == 0:
        return rng.uniform(0, 100, m), rng.uniform(0, 100, m), n
    if kind == 1:  # many equal costs, zero per-position costs included
        return rng.integers(0, 4, m).astype(float), 10.0 * rng.integers(0, 3, m), n
    if kind == 2:
        return rng.integers(1, 3, m).astype(float), np.zeros(m), n
    return np.round(rng.uniform(0, 5, m), 1), np.round(rng.uniform(0, 5, m), 1), n


def _assert_same(got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()


@pytest.mark.parametrize("positions", [None, 1])
def test_the_positional_matching_is_the_full_matching(positions: int | None) -> None:
    """``positions=1`` starts from the fewest blocks that can hold every job, so the cut is
    often too tight and the matching is re-run on more blocks."""
    for seed in range(600):
        unit, waited, n = _inputs(seed)
        want = linear_sum_assignment_v15(positional_costs(unit, waited, n, len(unit)))
        _assert_same(positional_assignment(unit, waited, n, positions=positions), want)


def test_costs_that_are_not_finite_or_negative_take_the_whole_matrix() -> None:
    unit, waited = np.array([3.0, -1.0, 2.0]), np.array([0.0, 5.0, 1.0])
    want = linear_sum_assignment_v15(positional_costs(unit, waited, 2, 3))
    _assert_same(positional_assignment(unit, waited, 2), want)
    with pytest.raises(ValueError, match="infeasible"):
        positional_assignment(np.array([1.0, np.inf, 2.0]), np.zeros(3), 1)


def test_no_more_jobs_than_gpus_is_the_identity() -> None:
    rows, cols = positional_assignment(np.array([5.0, 1.0, 3.0]), np.array([1.0, 0.0, 2.0]), 4)
    assert rows.tolist() == cols.tolist() == [0, 1, 2]


def test_the_cost_matrix_is_built_block_by_block() -> None:
    q = positional_costs(np.array([2.0, 3.0]), np.array([1.0, 0.0]), 2, 3)
    assert q.tolist() == [[3.0, 3.0, 5.0, 5.0, 7.0, 7.0], [3.0, 3.0, 6.0, 6.0, 9.0, 9.0]]
