"""Solving Shockwave's mixed-integer programs: HiGHS (through SciPy) by default, Gurobi if asked.

Every solve has a time limit and reports its incumbent; the caller decides what to do without one.
A solver status never raises: only asking for a solver that is not installed does.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from shockwave.errors import ShockwaveError, UnknownNameError

# SciPy is imported on the first solve: the default policy never builds a MILP, and
# importing ``scipy.optimize`` cost about 0.4 s of every Shockwave run's start.
if TYPE_CHECKING:
    from scipy import sparse

SOLVERS: tuple[str, ...] = ("highs", "gurobi")
Status = Literal["optimal", "feasible", "infeasible", "no_solution"]


@dataclass(frozen=True)
class Milp:
    """``minimize c @ x`` s.t. ``row_lb <= A @ x <= row_ub``, ``lb <= x <= ub``, integral where
    ``integrality`` is 1."""

    c: np.ndarray
    integrality: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    a: sparse.csr_array
    row_lb: np.ndarray
    row_ub: np.ndarray


@dataclass(frozen=True)
class MilpSolution:
    """``x`` is the best solution found (``None`` when there is none)."""

    status: Status
    x: np.ndarray | None


@dataclass(frozen=True)
class SolverOptions:
    name: str = "highs"
    time_limit_s: float = 15.0
    mip_rel_gap: float = 1e-3
    threads: int = 1


def check_solver(name: str) -> str:
    """The normalised solver name; ``ShockwaveError`` if unknown or not installed."""
    key = name.strip().lower()
    if key not in SOLVERS:
        raise UnknownNameError("solver", name, SOLVERS)
    if key == "gurobi" and importlib.util.find_spec("gurobipy") is None:
        raise ShockwaveError(
            "solver 'gurobi' needs the gurobipy package, which is not installed; "
            "use solver 'highs' (the default) or install gurobipy"
        )
    return key


def solve(problem: Milp, options: SolverOptions) -> MilpSolution:
    """Solve ``problem`` within ``options.time_limit_s``."""
    if options.name == "gurobi":
        return _solve_gurobi(problem, options)
    return _solve_highs(problem, options)


def _solve_highs(problem: Milp, options: SolverOptions) -> MilpSolution:
    from scipy.optimize import Bounds, LinearConstraint, milp

    result = milp(
        problem.c,
        integrality=problem.integrality,
        bounds=Bounds(problem.lb, problem.ub),
        constraints=LinearConstraint(problem.a, problem.row_lb, problem.row_ub),
        options={
            "time_limit": max(0.0, float(options.time_limit_s)),
            "mip_rel_gap": options.mip_rel_gap,
            "disp": False,
        },
    )
    x = None if result.x is None else np.asarray(result.x, dtype=float)
    if result.status == 0 and x is not None:
        return MilpSolution("optimal", x)
    if x is not None:
        return MilpSolution("feasible", x)
    if result.status == 2:
        return MilpSolution("infeasible", None)
    return MilpSolution("no_solution", None)


def _solve_gurobi(problem: Milp, options: SolverOptions) -> MilpSolution:  # pragma: no cover
    import gurobipy as gp  # optional dependency, checked by check_solver

    env = gp.Env(params={"OutputFlag": 0})
    model = gp.Model(env=env)
    model.Params.TimeLimit = max(0.0, float(options.time_limit_s))
    model.Params.MIPGap = options.mip_rel_gap
    model.Params.Threads = options.threads
    vtype = np.where(problem.integrality > 0, gp.GRB.INTEGER, gp.GRB.CONTINUOUS)
    x = model.addMVar(len(problem.c), lb=problem.lb, ub=problem.ub, vtype=vtype)
    finite_ub = np.isfinite(problem.row_ub)
    finite_lb = np.isfinite(problem.row_lb)
    if finite_ub.any():
        model.addMConstr(problem.a[finite_ub], x, "<", problem.row_ub[finite_ub])
    if finite_lb.any():
        model.addMConstr(problem.a[finite_lb], x, ">", problem.row_lb[finite_lb])
    model.setObjective(problem.c @ x, gp.GRB.MINIMIZE)
    model.optimize()
    try:
        if model.SolCount > 0:
            status: Status = "optimal" if model.Status == gp.GRB.OPTIMAL else "feasible"
            return MilpSolution(status, np.asarray(x.X, dtype=float))
        if model.Status in (gp.GRB.INFEASIBLE, gp.GRB.INF_OR_UNBD):
            return MilpSolution("infeasible", None)
        return MilpSolution("no_solution", None)
    finally:
        model.dispose()
        env.dispose()
