"""How each real HiGHS status maps to a result: a time limit hit with an incumbent is a solution
that is *not* optimal, without one an error (``solver.py``) or ``no_solution`` (Shockwave's
backend), and a proven-infeasible program ``InfeasibleError`` / ``infeasible``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from shockwave.errors import SolverError
from shockwave.policies.shockwave.backend import Milp, SolverOptions, solve
from shockwave.solver import InfeasibleError, Solution, solve_lp, solve_milp


def _knapsack() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 10-row multidimensional knapsack on 300 binaries: HiGHS finds an incumbent within a
    tenth of a second but needs far longer than 0.5 s to prove optimality at a zero gap."""
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 1000, size=(10, 300)).astype(float)
    values = weights.mean(axis=0) + rng.integers(1, 100, size=300)
    return -values, weights, weights.sum(axis=1) / 4


def _market_split() -> tuple[np.ndarray, np.ndarray]:
    """Cornuejols-Dawande market split (4 equalities, 40 binaries): no heuristic finds a feasible
    point and branch and bound takes minutes, so no incumbent exists at a 0.2 s time limit."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 100, size=(4, 40)).astype(float)
    return a, np.floor(a.sum(axis=1) / 2)


def _infeasible() -> tuple[np.ndarray, np.ndarray]:
    """2 x_1 + 2 x_2 = 3 over integers: no point, proven at once."""
    return np.array([[2.0, 2.0]]), np.array([3.0])


def _as_milp(c: np.ndarray, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Milp:
    n = c.size
    return Milp(c=c, integrality=np.ones(n, dtype=np.int64), lb=np.zeros(n), ub=np.ones(n),
                a=sparse.csr_array(a), row_lb=lo, row_ub=hi)


def test_milp_time_limit_with_an_incumbent_is_not_reported_optimal():
    c, weights, capacity = _knapsack()
    sol = solve_milp(c, integrality=np.ones(c.size), a=weights, a_upper=capacity,
                     bounds=(0.0, 1.0), time_limit_s=0.5, mip_rel_gap=0.0)
    assert isinstance(sol, Solution) and sol.optimal is False
    assert np.all(weights @ sol.x <= capacity + 1e-6)
    assert sol.objective == pytest.approx(float(c @ sol.x)) and sol.objective < 0


def test_milp_time_limit_without_an_incumbent_raises():
    a, b = _market_split()
    with pytest.raises(SolverError, match="found no solution in 0.2 s") as info:
        solve_milp(np.zeros(a.shape[1]), integrality=np.ones(a.shape[1]), a=a, a_lower=b,
                   a_upper=b, bounds=(0.0, 1.0), time_limit_s=0.2)
    assert not isinstance(info.value, InfeasibleError)


def test_infeasible_milp_and_lp_raise_infeasible():
    a, b = _infeasible()
    with pytest.raises(InfeasibleError, match="MILP with 2 variables is infeasible"):
        solve_milp(np.zeros(2), integrality=np.ones(2), a=a, a_lower=b, a_upper=b)
    with pytest.raises(InfeasibleError, match="LP with 1 variables is infeasible"):
        solve_lp(np.array([1.0]), a_ub=np.array([[1.0]]), b_ub=np.array([-1.0]))


def test_lp_time_limit_raises():
    rng = np.random.default_rng(0)
    a = rng.random((400, 600))
    with pytest.raises(SolverError, match="hit the 0.01 s time limit") as info:
        solve_lp(-rng.random(600), a_ub=a, b_ub=a.sum(axis=1) / 3, bounds=(0.0, 1.0),
                 time_limit_s=0.01)
    assert not isinstance(info.value, InfeasibleError)


def test_backend_maps_each_status():
    c, weights, capacity = _knapsack()
    problem = _as_milp(c, weights, np.full(len(capacity), -np.inf), capacity)
    limited = solve(problem, SolverOptions(time_limit_s=0.5, mip_rel_gap=0.0))
    assert limited.status == "feasible" and limited.x is not None
    assert np.all(weights @ limited.x <= capacity + 1e-6)

    a, b = _market_split()
    none = solve(_as_milp(np.zeros(a.shape[1]), a, b, b), SolverOptions(time_limit_s=0.2))
    assert none.status == "no_solution" and none.x is None

    a, b = _infeasible()
    infeasible = solve(_as_milp(np.zeros(2), a, b, b), SolverOptions(time_limit_s=5.0))
    assert infeasible.status == "infeasible" and infeasible.x is None

    small = _as_milp(np.array([-1.0, -1.0]), np.array([[1.0, 1.0]]), np.array([-np.inf]),
                     np.array([1.0]))
    optimal = solve(small, SolverOptions(time_limit_s=5.0))
    assert optimal.status == "optimal" and optimal.x.sum() == pytest.approx(1.0)
