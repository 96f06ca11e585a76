"""Answers read off a solved basis instead of solving again, against the from-scratch LPs on
random instances: reduced costs from the basis's factors are HiGHS's duals; one solve of a
combined objective, when certified lexicographic, has the level LP's optimum and the
tie-break's; the level at new scales read off the basis, when that basis stays feasible, is the
level a fresh solve finds."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_helpers import typed_problems
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_warm_lp import _model, packing_lps

from shockwave.policies.heterogeneous import (
    LevelProgram,
    TypedProgram,
    effective_throughputs,
)
from shockwave.solver import InfeasibleError, LpModel


@settings(max_examples=60, deadline=None)
@given(lp=packing_lps(), data=st.data())
def test_reduced_costs_from_the_factors_are_highs_duals(lp, data) -> None:
    a, b, c = lp
    model = _model(a, b, c)
    model.solve()
    model.set_costs(-c * data.draw(st.sampled_from([1.0, 2.0])))
    model.solve()  # from a basis: HiGHS holds it factored
    assume(model.basis_factored)
    d, y = model.reduced_costs(model._cost)
    solution = model._highs.getSolution()
    assert d == pytest.approx(np.asarray(solution.col_dual), abs=1e-9)
    assert y == pytest.approx(np.asarray(solution.row_dual), abs=1e-9)


def _two_stage(a: np.ndarray, b: np.ndarray, first: np.ndarray, second: np.ndarray
               ) -> tuple[float, float]:
    """min first, then min second with ``first x`` held at its optimum: cold solves."""
    rows, cols = np.nonzero(a)
    n = first.size
    best = LpModel(first, rows, cols, a[rows, cols], b, lower=np.zeros(n),
                   upper=np.ones(n)).solve().objective
    held = np.vstack([a, first])
    rows, cols = np.nonzero(held)
    tie = LpModel(second, rows, cols, held[rows, cols], np.append(b, best + 1e-9),
                  lower=np.zeros(n), upper=np.ones(n)).solve().objective
    return best, tie


@settings(max_examples=100, deadline=None)
@given(lp=packing_lps(), data=st.data())
def test_a_certified_lexicographic_basis_has_both_optima(lp, data) -> None:
    """``first`` ties often (costs from few values), so the second objective decides."""
    a, b, _ = lp
    n = a.shape[1]
    first = -np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=n,
                                         max_size=n)))
    second = -np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    weight = data.draw(st.sampled_from([1e-3, 1e-2, 0.5, 5.0]))
    model = _model(a, b, np.zeros(n))
    model.set_costs(first + weight * second)
    x = model.solve().x
    x = model.solve().x  # from its own basis: factored
    if not model.is_lexicographic_optimum(first, second):
        return
    best, tie = _two_stage(a, b, first, second)
    assert first @ x == pytest.approx(best, abs=1e-8)
    assert second @ x == pytest.approx(tie, abs=1e-6)


def test_a_weight_that_trades_the_first_objective_away_is_refused() -> None:
    """max x0, then max x1, with x0 + x1 <= 1: weighing x1 twice as much as x0 gives x1 = 1,
    which is not the first objective's optimum."""
    a, b = np.array([[1.0, 1.0]]), np.array([1.0])
    first, second = np.array([-1.0, 0.0]), np.array([0.0, -1.0])
    for weight, certified in ((2.0, False), (1e-3, True)):
        model = _model(a, b, np.zeros(2))
        model.set_costs(first + weight * second)
        model.solve()
        model.solve()
        assert model.is_lexicographic_optimum(first, second) is certified


def _scales(data: st.DataObject, n: int) -> np.ndarray:
    return np.array(data.draw(st.lists(st.sampled_from([0.0, 0.2, 1.0, 3.5]), min_size=n,
                                       max_size=n)))


@settings(max_examples=100, deadline=None)
@given(problem=typed_problems(max_jobs=8), data=st.data())
def test_the_lexicographic_level_program_has_the_two_lps_optima(problem, data) -> None:
    rates, gpus, counts = problem
    program = TypedProgram.build(rates, gpus, counts)
    scale = _scales(data, len(gpus))
    found = LevelProgram(program, scale).lexicographic()
    assume(found is not None)
    level, v = found
    cold = LevelProgram(program, scale)
    best, _ = cold.max_level()
    assert level == pytest.approx(best, rel=1e-7, abs=1e-9)
    efficient = cold.most_efficient(best * (1.0 - 1e-9))
    jobs = scale > 0
    measure = scale * effective_throughputs(program.rates, program.unflatten(v))
    reference = scale * effective_throughputs(program.rates, program.unflatten(efficient))
    assert measure[jobs].min() == pytest.approx(best, rel=1e-7, abs=1e-9)
    # A share within HiGHS's primal feasibility tolerance (1e-7) of another moves a measure by up
    # to that times the largest scaled rate: rates [[0, 139], ...] at scale 0.2 gave sums 8e-7
    # apart (1e-6 relative), the cold tie-break's job 0 2.9e-8 of a share above the level.
    slack = 1e-7 * float((scale[:, None] * program.rates).max(initial=0.0))
    assert measure.sum() == pytest.approx(reference.sum(), rel=1e-6, abs=max(1e-9, slack))


@settings(max_examples=100, deadline=None)
@given(problem=typed_problems(max_jobs=8), data=st.data())
def test_the_level_read_off_the_basis_is_a_fresh_solves_level(problem, data) -> None:
    rates, gpus, counts = problem
    program = TypedProgram.build(rates, gpus, counts)
    scale = _scales(data, len(gpus))
    assume((scale > 0).any())
    factors = np.array(data.draw(st.lists(st.sampled_from([0.9, 0.99, 1.0, 1.001, 1.05, 1.5]),
                                          min_size=len(gpus), max_size=len(gpus))))
    levels = LevelProgram(program, scale)
    levels.max_level()
    levels._model.solve()  # from its own basis: factored
    moved = levels.level_at(scale * factors)
    if moved is None:
        return
    level, v = moved
    try:
        fresh, _ = LevelProgram(program, scale * factors).max_level()
    except InfeasibleError:  # pragma: no cover - x = 0, L = 0 is always feasible
        pytest.fail("the level program is always feasible")
    assert level == pytest.approx(fresh, rel=1e-7, abs=1e-9)
    x = program.unflatten(v)
    jobs = scale > 0
    reached = (scale * factors * effective_throughputs(program.rates, x))[jobs]
    assert reached.min() == pytest.approx(level, rel=1e-6, abs=1e-9)
