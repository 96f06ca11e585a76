"""The solver layer: LP/MILP status mapping and barrier centres."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave import solver
from shockwave.errors import SolverError
from shockwave.solver import (
    InfeasibleError,
    box_knapsack_center,
    central_point,
    find_feasible,
    solve_lp,
    solve_milp,
)


def test_lp_optimum() -> None:
    """max x + y s.t. x + 2y <= 4, x <= 3: (3, 0.5), value 3.5."""
    sol = solve_lp(
        np.array([-1.0, -1.0]), a_ub=np.array([[1.0, 2.0]]), b_ub=np.array([4.0]),
        bounds=(0.0, np.array([3.0, np.inf])),
    )
    assert sol.optimal and sol.objective == pytest.approx(-3.5)
    assert sol.x == pytest.approx([3.0, 0.5])


def test_infeasible_lp_raises_and_feasibility_returns_none() -> None:
    a, b = np.array([[1.0]]), np.array([-1.0])
    with pytest.raises(InfeasibleError):
        solve_lp(np.array([1.0]), a_ub=a, b_ub=b)
    assert find_feasible(a, b) is None
    assert find_feasible(np.array([[1.0]]), np.array([1.0])) is not None


def test_unbounded_lp_is_a_solver_error() -> None:
    with pytest.raises(SolverError):
        solve_lp(np.array([-1.0]), bounds=(0.0, None))


def test_milp_optimum_and_infeasibility() -> None:
    """max 5a + 4b, 6a + 4b <= 24, a + 2b <= 6, integers: (4, 0) gives 20."""
    a = np.array([[6.0, 4.0], [1.0, 2.0]])
    sol = solve_milp(np.array([-5.0, -4.0]), integrality=np.ones(2), a=a, a_upper=np.array([24.0, 6.0]))
    assert sol.optimal and sol.objective == pytest.approx(-20.0)
    with pytest.raises(InfeasibleError):
        solve_milp(np.array([1.0]), integrality=np.ones(1), a=np.array([[2.0]]),
                   a_lower=np.array([1.0]), a_upper=np.array([1.0]))


def test_analytic_centre_of_an_interval_is_its_midpoint() -> None:
    g = np.array([[1.0], [-1.0]])
    h = np.array([3.0, -1.0])
    assert central_point(g, h, np.array([2.9]))[0] == pytest.approx(2.0, abs=1e-12)


def test_central_path_point_of_an_lp() -> None:
    """min x over [0, 1] with weight mu on log x + log(1-x): 1/mu = 1/x - 1/(1-x)."""
    x = central_point(np.array([[1.0], [-1.0]]), np.array([1.0, 0.0]), np.array([0.5]),
                      c=np.array([1.0]), mu=0.01)[0]
    assert 1 / 0.01 == pytest.approx(1 / x - 1 / (1 - x), rel=1e-9)


def test_box_knapsack_centre_is_symmetric() -> None:
    x = box_knapsack_center(np.zeros(3), np.ones(3), 1.5)
    assert x == pytest.approx(np.full(3, x[0]))
    with pytest.raises(SolverError):
        box_knapsack_center(np.array([0.6]), np.array([2.0]), 1.0)


def test_bad_start_point_is_rejected() -> None:
    with pytest.raises(SolverError):
        central_point(np.array([[1.0]]), np.array([1.0]), np.array([2.0]))


def _newton_computing_every_value(x, value, direction, feasible):
    """``_damped_newton`` as first written: the start of each line search evaluated again."""
    polish = 0
    for _ in range(200):
        dx, decrement = direction(x)
        if decrement / 2 <= 1e-18 or polish >= 4:
            return x
        if decrement < 1e-6 and feasible(x + dx):
            x, polish = x + dx, polish + 1
            continue
        step, f0 = 1.0, value(x)
        while value(x + step * dx) > f0 - 0.25 * step * decrement:
            step *= 0.5
            if step < 1e-16:
                return x
        x = x + step * dx
    raise SolverError("no convergence")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), fill=st.floats(0.05, 0.95))
def test_kept_line_search_values_give_the_same_centres_bit_for_bit(seed, n, fill):
    """Keeping the accepted point's value changes no step: every Newton run of a box-knapsack
    centre and of a central-path point ends where the one evaluating every value does."""
    rng = np.random.default_rng(seed)
    lower = rng.uniform(0.0, 0.5, size=n) * (rng.random(n) < 0.7)
    weights = rng.choice([1.0, 2.0, 4.0, 8.0], size=n)
    capacity = float(weights @ lower) + fill * float(weights @ (1.0 - lower))
    runs = []
    newton = solver._damped_newton

    def recorded(*args):
        runs.append(args)
        return newton(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver, "_damped_newton", recorded)
        box_knapsack_center(lower, weights, capacity)
        eye = np.eye(n)
        central_point(np.vstack([-eye, eye, weights[None, :]]),
                      np.concatenate([np.zeros(n), np.ones(n), [capacity + 1.0]]),
                      np.full(n, 0.5 * min(1.0, capacity / float(weights.sum()))),
                      c=-rng.uniform(0.1, 2.0, size=n), mu=0.1)
    assert runs
    for args in runs:
        assert np.array_equal(newton(*args), _newton_computing_every_value(*args))
