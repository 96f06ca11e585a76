"""The Gurobi backend against a stand-in ``gurobipy`` (Gurobi itself is not installed here):
the program is handed over as written (integrality, bounds, one-sided rows for finite row
bounds, minimisation), the knobs reach the solver's parameters, every status maps like HiGHS's,
and the solver's environment is always released."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from shockwave.policies.shockwave import ShockwavePolicy
from shockwave.policies.shockwave.backend import Milp, SolverOptions, check_solver, solve


class GRB:
    INTEGER, CONTINUOUS = "I", "C"
    MINIMIZE = 1
    OPTIMAL, INFEASIBLE, INF_OR_UNBD, TIME_LIMIT = 2, 3, 4, 9


class Var:
    __array_ufunc__ = None  # numpy defers ``c @ x`` to ``__rmatmul__``

    def __init__(self, n: int, outcome: dict[str, Any]) -> None:
        self.n = n
        self.X = outcome.get("x")

    def __rmatmul__(self, c: np.ndarray) -> tuple[str, list[float]]:
        return ("linear", list(c))


class Model:
    last: Model | None = None

    def __init__(self, env: Env) -> None:
        self.env = env
        self.Params = types.SimpleNamespace()
        self.constraints: list[tuple[list[list[float]], str, list[float]]] = []
        self.disposed = False
        outcome = FAKE.outcome
        self.SolCount, self.Status = outcome["solutions"], outcome["status"]
        Model.last = self

    def addMVar(self, n: int, lb: np.ndarray, ub: np.ndarray, vtype: np.ndarray) -> Var:  # noqa: N802
        self.n, self.lb, self.ub, self.vtype = n, list(lb), list(ub), list(vtype)
        self.x = Var(n, FAKE.outcome)
        return self.x

    def addMConstr(self, a: Any, x: Var, sense: str, rhs: np.ndarray) -> None:  # noqa: N802
        assert x is self.x
        self.constraints.append((a.toarray().tolist(), sense, list(rhs)))

    def setObjective(self, expr: Any, sense: int) -> None:  # noqa: N802
        self.objective = (expr, sense)

    def optimize(self) -> None:
        self.optimized = True

    def dispose(self) -> None:
        self.disposed = True


class Env:
    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.disposed = False

    def dispose(self) -> None:
        self.disposed = True


FAKE = types.ModuleType("gurobipy")
FAKE.__spec__ = importlib.machinery.ModuleSpec("gurobipy", None)
FAKE.GRB, FAKE.Env, FAKE.Model = GRB, Env, Model
FAKE.outcome = {"solutions": 1, "status": GRB.OPTIMAL, "x": [1.0, 2.5]}

PROGRAM = Milp(
    c=np.array([1.0, -2.0]), integrality=np.array([1, 0]), lb=np.array([0.0, 0.0]),
    ub=np.array([3.0, np.inf]),
    a=sparse.csr_array(np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 1.0]])),
    row_lb=np.array([-np.inf, 0.5, 1.0]), row_ub=np.array([4.0, np.inf, 2.0]),
)


@pytest.fixture
def gurobi(monkeypatch):
    monkeypatch.setitem(sys.modules, "gurobipy", FAKE)
    monkeypatch.setattr(FAKE, "outcome", dict(FAKE.outcome))
    return FAKE


def test_the_program_is_handed_over_as_written(gurobi):
    solution = solve(PROGRAM, SolverOptions("gurobi", time_limit_s=-3.0, mip_rel_gap=0.05,
                                            threads=6))
    model = Model.last
    assert model.env.params == {"OutputFlag": 0}
    assert vars(model.Params) == {"TimeLimit": 0.0, "MIPGap": 0.05, "Threads": 6}
    assert model.n == 2 and model.lb == [0.0, 0.0] and model.ub == [3.0, np.inf]
    assert model.vtype == ["I", "C"]
    # Rows with a finite upper bound become "<" rows, rows with a finite lower bound ">" rows.
    assert model.constraints == [
        ([[1.0, 1.0], [0.0, 1.0]], "<", [4.0, 2.0]),
        ([[1.0, -1.0], [0.0, 1.0]], ">", [0.5, 1.0]),
    ]
    assert model.objective == (("linear", [1.0, -2.0]), GRB.MINIMIZE)
    assert model.optimized
    assert solution.status == "optimal" and solution.x.tolist() == [1.0, 2.5]
    assert solution.x.dtype == float
    assert model.disposed and model.env.disposed


def test_a_program_without_finite_rows_adds_no_constraint(gurobi):
    free = Milp(c=np.ones(1), integrality=np.zeros(1), lb=np.zeros(1), ub=np.ones(1),
                a=sparse.csr_array(np.ones((1, 1))), row_lb=np.array([-np.inf]),
                row_ub=np.array([np.inf]))
    solve(free, SolverOptions("gurobi", time_limit_s=2.5))
    assert Model.last.constraints == []
    assert Model.last.Params.TimeLimit == 2.5


@pytest.mark.parametrize(("solutions", "status", "expected"), [
    (1, GRB.OPTIMAL, "optimal"),
    (2, GRB.TIME_LIMIT, "feasible"),
    (0, GRB.INFEASIBLE, "infeasible"),
    (0, GRB.INF_OR_UNBD, "infeasible"),
    (0, GRB.TIME_LIMIT, "no_solution"),
])
def test_statuses_map_like_highs(gurobi, solutions, status, expected):
    gurobi.outcome.update(solutions=solutions, status=status)
    solution = solve(PROGRAM, SolverOptions("gurobi"))
    assert solution.status == expected
    assert (solution.x is not None) == (solutions > 0)
    assert Model.last.disposed and Model.last.env.disposed


def test_gurobi_is_accepted_when_installed_and_uses_the_milp(gurobi):
    assert check_solver(" Gurobi ") == "gurobi"
    policy = ShockwavePolicy(solver="gurobi")
    assert policy.solver == "gurobi" and policy._use_milp
    assert not ShockwavePolicy()._use_milp
