"""AlloX case by case: the SciPy-1.5 matching is an optimal assignment on every shape (ties
included), handles empty and tall matrices, refuses an infeasible one; the policy matches the
oldest jobs and never runs a job without throughput first."""

from __future__ import annotations

import numpy as np
import pytest
from policy_helpers import J, make_view
from scipy.optimize import linear_sum_assignment

from shockwave.policies.allox import Allox, linear_sum_assignment_v15


def test_matching_cost_is_optimal_on_many_shapes_with_and_without_ties():
    for seed in range(120):
        rng = np.random.default_rng(seed)
        nr = int(rng.integers(1, 7))
        nc = int(rng.integers(nr, 10))
        if seed % 2:
            cost = rng.integers(0, 6, (nr, nc)).astype(float)  # many equal costs
        else:
            cost = rng.uniform(-50, 100, (nr, nc))
        rows, cols = linear_sum_assignment_v15(cost)
        ref_rows, ref_cols = linear_sum_assignment(cost)
        assert list(rows) == list(range(nr)), seed
        assert len(set(cols.tolist())) == nr and cols.min() >= 0 and cols.max() < nc, seed
        assert cost[rows, cols].sum() == pytest.approx(cost[ref_rows, ref_cols].sum()), seed


def test_a_tall_matrix_assigns_every_column_with_rows_in_order():
    cost = np.array([[5.0, 1.0], [1.0, 5.0], [0.0, 0.0]])
    rows, cols = linear_sum_assignment_v15(cost)
    # Optimal: row 2 -> one column at 0, the other column to the row that costs 1 there.
    assert cost[rows, cols].sum() == 1.0
    assert list(rows) == sorted(rows.tolist())
    assert len(rows) == 2


def test_an_empty_matrix_gives_empty_integer_arrays():
    for shape in ((0, 3), (3, 0), (0, 0)):
        rows, cols = linear_sum_assignment_v15(np.zeros(shape))
        assert rows.shape == cols.shape == (0,)
        assert rows.dtype.kind == cols.dtype.kind == "i"


def test_integer_costs_are_matched_as_numbers():
    rows, cols = linear_sum_assignment_v15([[3, 1], [1, 3]])
    assert list(cols) == [1, 0]


def test_a_row_that_cannot_be_assigned_is_refused():
    cost = np.array([[1.0, 2.0], [np.inf, np.inf]])
    with pytest.raises(ValueError, match="^cost matrix is infeasible$"):
        linear_sum_assignment_v15(cost)


def test_the_oldest_job_is_matched_whatever_its_id():
    # Job 1 arrived 50 s before job 0; alpha 0.2 of 2 jobs rounds down, so only one (the oldest)
    # is matched on the single GPU, even though job 0 is shorter.
    view = make_view([J(rem=10, arrival_s=0.0), J(rem=100, arrival_s=-50.0)], num_gpus=1)
    assert Allox().allocate(view) == {0: 0.0, 1: 1.0}


def test_a_job_without_throughput_never_runs_first():
    # Zero throughput is treated as 1e-10 it/s: its completion time is astronomically long.
    view = make_view([J(rem=10, thr=0.0), J(rem=10_000, thr=1.0)], num_gpus=1)
    assert Allox(alpha=1.0).allocate(view) == {0: 0.0, 1: 1.0}


def test_every_gpu_kept_means_no_new_match():
    policy = Allox(alpha=1.0)
    policy.previous = {0: 1.0}
    view = make_view([J(rem=100), J(rem=1)], num_gpus=1)
    assert policy.allocate(view) == {0: 1.0, 1: 0.0}
