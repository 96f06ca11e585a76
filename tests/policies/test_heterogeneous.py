"""The pieces the heterogeneity-aware policies share: runnable pairs, Gavel's reference splits, the
feasibility repair, and reading a typed view."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_helpers import TJ, typed_problems, typed_view
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from shockwave.policies.heterogeneous import (
    TypedInputs,
    TypedProgram,
    clip_feasible,
    effective_throughputs,
    isolated_perf_shares,
    isolated_split,
    isolated_throughputs_perf,
    proportional_split,
    runnable_rates,
    spread,
)
from shockwave.solver import InfeasibleError, solve_lp


def test_a_gang_wider_than_a_type_cannot_run_there() -> None:
    """A 4-GPU job on (v100: 4, k80: 2) can use only the v100s, however fast the k80s are; a
    non-finite or negative rate counts as 0."""
    rates = np.array([[3.0, 9.0], [2.0, -1.0], [np.nan, 1.0]])
    runnable = runnable_rates(rates, np.array([4, 1, 1]), np.array([4, 2]))
    assert runnable.tolist() == [[3.0, 0.0], [2.0, 0.0], [0.0, 1.0]]


def test_the_proportional_split_spreads_one_share_by_type_size() -> None:
    """Gavel: ``counts[t] / m`` of each type, scaled so the largest row sums to 1, i.e.
    ``counts[t] / G``: (3/4, 1/4) on (v100: 3, k80: 1), whatever the number of jobs."""
    assert proportional_split(2, np.array([3, 1])).tolist() == [[0.75, 0.25], [0.75, 0.25]]


def test_the_isolated_split_is_isolated_on_one_type() -> None:
    """``min(1, G / (m g))`` on 4 GPUs for 3 jobs of 1, 2 and 4 GPUs: 1, 2/3, 1/3."""
    x = isolated_split(np.array([1, 2, 4]), np.array([4]))
    assert x[:, 0] == pytest.approx([1.0, 2 / 3, 1 / 3])


def test_the_isolated_split_scales_rows_down_to_one() -> None:
    """Two jobs on (v100: 2, k80: 2): the 1-GPU job's raw ``(2/2)/1 = 1`` of each type sums to 2,
    so it gets 1/2 of each; the 2-GPU job's 1/2 of each sums to 1 and stays."""
    x = isolated_split(np.array([1, 2]), np.array([2, 2]))
    assert x.tolist() == [[0.5, 0.5], [0.5, 0.5]]


def test_isolated_throughput_counts_only_the_types_a_job_can_use() -> None:
    """On (v100: 1, k80: 1) with two jobs each gets 1/2 of each type; a job with rates (4, 0)
    gets 4/2 = 2 it/s, one with (2, 1) gets 3/2; the share of the unusable k80 is not given."""
    rates = np.array([[4.0, 0.0], [2.0, 1.0]])
    assert isolated_throughputs_perf(rates, np.ones(2), np.array([1, 1])).tolist() == [2.0, 1.5]
    assert isolated_perf_shares(rates, np.ones(2), np.array([1, 1])).tolist() == \
        [[0.5, 0.0], [0.5, 0.5]]


def test_spread_is_the_agnostic_rule() -> None:
    """``X[j, t] = x_j counts[t] / G``; its effective throughput is ``x_j`` times the job's
    proportional throughput."""
    counts = np.array([3, 1])
    x = spread(np.array([1.0, 0.5]), counts)
    assert x.tolist() == [[0.75, 0.25], [0.375, 0.125]]
    rates = np.array([[4.0, 2.0], [1.0, 1.0]])
    prop = effective_throughputs(rates, proportional_split(2, counts))
    assert effective_throughputs(rates, x) == pytest.approx([1.0, 0.5] * prop)


def test_clip_feasible_scales_rows_then_types() -> None:
    """Row 0 sums to 1.2: scaled to (2/3, 1/3). Then the v100 (1 GPU) holds 2/3 + 2 * 0.5 = 5/3:
    scaled by 3/5 to (0.4, 0.3). Negative entries are clipped to 0."""
    x = clip_feasible(np.array([[0.8, 0.4], [0.5, -1e-12]]), np.array([1, 2]), np.array([1, 1]))
    assert x == pytest.approx(np.array([[0.4, 1 / 3], [0.3, 0.0]]), abs=1e-15)
    assert not np.signbit(x).any()


def test_the_program_has_one_variable_per_runnable_pair() -> None:
    rates = np.array([[3.0, 0.0], [2.0, 5.0]])
    program = TypedProgram.build(rates, np.array([1, 2]), np.array([2, 1]))
    assert program.size == 2  # (0, v100), (1, v100): the 2-GPU job does not fit the one k80
    assert program.runs_somewhere.tolist() == [True, True]
    assert program.throughput_rows(np.array([1.0, 2.0])).toarray().tolist() == \
        [[3.0, 0.0], [0.0, 4.0]]


def test_typed_inputs_read_the_design_fields() -> None:
    """Rates per type in cluster order, GPU counts, gang widths; typed shares list every type."""
    view = typed_view([TJ((3.0, 1.0), gpus=2), TJ((0.0, 2.0))], [("v100", 4), ("k80", 2)])
    inputs = TypedInputs.of(view)
    assert inputs.ids == (0, 1) and inputs.types == ("v100", "k80")
    assert inputs.counts.tolist() == [4, 2] and inputs.gpus.tolist() == [2, 1]
    assert inputs.rates.tolist() == [[3.0, 1.0], [0.0, 2.0]]
    assert inputs.shares(np.array([[0.5, 0.0], [0.0, 1.0]])) == \
        {0: {"v100": 0.5, "k80": 0.0}, 1: {"v100": 0.0, "k80": 1.0}}


def test_a_program_without_runnable_pairs_has_only_the_zero_point() -> None:
    """No job fits any type: the solvers return all zeros rather than asking HiGHS about an
    empty LP; rows that X = 0 violates make it infeasible."""
    from shockwave.solver import InfeasibleError

    program = TypedProgram.build(np.array([[0.0, 3.0]]), np.array([4]), np.array([4, 2]))
    assert program.size == 0 and program.runs_somewhere.tolist() == [False]
    assert program.solve(np.zeros(0)).size == 0
    assert program.unflatten(np.zeros(0)).tolist() == [[0.0, 0.0]]
    with pytest.raises(InfeasibleError):
        program.solve(np.zeros(0), np.zeros((1, 0)), np.array([-1.0]))


@settings(max_examples=40, deadline=None)
@given(problem=typed_problems(), seed=st.integers(0, 2**32 - 1))
def test_the_direct_highs_path_solves_what_linprog_solves(problem, seed) -> None:
    """``TypedProgram.solve`` (HiGHS straight through highspy) reaches linprog's optimum on a
    max-min LP over the base constraints, and both call the same LP infeasible."""
    rates, gpus, counts = problem
    program = TypedProgram.build(rates, gpus, counts)
    if program.size == 0:
        return
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 10.0, rates.shape[0])
    active = np.flatnonzero(program.runs_somewhere)
    level = program.throughput_rows(scale)[active]
    a = sparse.hstack([-level, np.ones((active.size, 1))], format="csr")
    cost = np.zeros(program.size + 1)
    cost[-1] = -1.0
    v = program.solve(cost, a, np.zeros(active.size), extra_vars=1)
    m, k = rates.shape
    pairs = np.arange(program.size)
    base = sparse.csr_array((np.concatenate([np.ones(program.size), program.gpus[program.job_of]]),
                             (np.concatenate([program.job_of, m + program.type_of]),
                              np.concatenate([pairs, pairs]))), shape=(m + k, program.size + 1))
    full = sparse.vstack([base, a], format="csr")
    b = np.concatenate([np.ones(m), program.counts, np.zeros(active.size)])
    upper = np.concatenate([np.ones(program.size), [np.inf]])
    want = solve_lp(cost, a_ub=full, b_ub=b, bounds=(0.0, upper))
    assert cost @ v == pytest.approx(want.objective, rel=1e-9, abs=1e-12)
    assert np.all(full @ v <= b + 1e-7)
    # Asking every job for more than its best type alone could give: infeasible either way.
    too_much = -np.full(active.size, 1.01) * (scale[active] * program.rates[active].max(axis=1))
    with pytest.raises(InfeasibleError):
        program.solve(np.zeros(program.size), -level, too_much)
    with pytest.raises(InfeasibleError):
        solve_lp(np.zeros(program.size), a_ub=sparse.vstack([base[:, :-1], -level]),
                 b_ub=np.concatenate([np.ones(m), program.counts, too_much]),
                 bounds=(0.0, np.ones(program.size)))


@settings(max_examples=40, deadline=None)
@given(problem=typed_problems(), seed=st.integers(0, 2**32 - 1))
def test_throughput_triplets_are_the_sparse_rows(problem, seed) -> None:
    rates, gpus, counts = problem
    program = TypedProgram.build(rates, gpus, counts)
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 10.0, rates.shape[0])
    jobs = np.flatnonzero(rng.random(rates.shape[0]) < 0.7)
    rows, cols, values = program.throughput_triplets(scale, jobs)
    want = program.throughput_rows(scale)[jobs].toarray()
    got = np.zeros((jobs.size, program.size))
    got[rows, cols] = values
    np.testing.assert_array_equal(got, want)
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == rows.size
