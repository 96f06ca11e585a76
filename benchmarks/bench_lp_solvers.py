"""What an LP costs from Python, per open-source solver, on the LPs of a heterogeneous run
(issue 13's speed target): every max-min LP that ``max_min_fairness_perf`` solves on the
canonical trace (120 jobs, v100:12,p100:12,k80:12), stated as Gavel states it (one
variable per runnable (job, type) pair and the level; the rows: each job's shares at most 1,
each type's GPUs, each job's normalised throughput at least the level), built from NumPy
arrays and solved cold, one solve per LP, by each solver installed:

* HiGHS (``highspy``, the project's solver): one instance, each LP passed whole
  (``passModel``), as the policies do, presolve off (a solve from a basis skips it); also its
  fixed cost, a ``run`` with nothing changed;
* GLOP (``pip install ortools``), through ``pywraplp``;
* GLPK (``pip install swiglpk``).

Building and solving are timed apart. Each solver's optimum is checked against HiGHS's. The
policy itself starts each LP from the last allocation's basis (fewer iterations than a cold
solve) and adds its tie-break. GLOP and GLPK are not project dependencies: install them in a
scratch environment beside the project to include them.

    python benchmarks/bench_lp_solvers.py [--repeats 5] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import shockwave.policies.max_min_fairness_perf as max_min_perf
from shockwave import load_trace, simulate
from shockwave.clusters import parse_cluster

sys.path.insert(0, os.path.dirname(__file__))
from results_file import cpu_name, replace_section  # noqa: E402

CLUSTER = "v100:12,p100:12,k80:12"
Lp = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``min c @ x`` s.t. ``A x <= b``, ``0 <= x <= upper``, ``A`` column-wise: c, starts, rows,
values, b, upper."""


class Solved(NamedTuple):
    """One cold solve: the optimum, and the seconds spent building the model in the solver
    and solving it."""

    objective: float
    build_s: float
    solve_s: float


def captured_inputs() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(rates, gpus, counts, weights) of every allocation of the heterogeneous max-min run."""
    seen = []
    solve = max_min_perf.max_min_fairness_perf_shares

    def recording(rates, gpus, counts, weights, **options):  # noqa: ANN001, ANN003, ANN202
        seen.append(tuple(np.array(a, dtype=float) for a in (rates, gpus, counts, weights)))
        return solve(rates, gpus, counts, weights, **options)

    max_min_perf.max_min_fairness_perf_shares = recording
    try:
        simulate(load_trace(), parse_cluster(CLUSTER), "max_min_fairness_perf")
    finally:
        max_min_perf.max_min_fairness_perf_shares = solve
    return seen


def level_lp(rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray,
             weights: np.ndarray) -> Lp:
    """Gavel's max-min LP: maximise L (minimise -L) over the runnable pairs."""
    scale = max_min_perf.normalised_level_scale(rates, gpus, counts, weights)
    jobs, types = (rates > 0).nonzero()
    m, k, size = rates.shape[0], counts.size, jobs.size
    level_row = np.full(m, -1)
    level_row[scale > 0] = np.arange(int((scale > 0).sum()))
    starts, rows, values = [0], [], []
    for p in range(size):
        j, t = jobs[p], types[p]
        rows += [j, m + t]
        values += [1.0, gpus[j]]
        if level_row[j] >= 0:
            rows.append(m + k + level_row[j])
            values.append(-scale[j] * rates[j, t])
        starts.append(len(rows))
    live = int((scale > 0).sum())
    rows += list(range(m + k, m + k + live))
    values += [1.0] * live
    starts.append(len(rows))
    c = np.zeros(size + 1)
    c[-1] = -1.0
    b = np.concatenate([np.ones(m), counts, np.zeros(live)])
    upper = np.ones(size + 1)
    upper[-1] = np.inf
    return (c, np.array(starts, dtype=np.int32), np.array(rows, dtype=np.int32),
            np.array(values), b, upper)


def highs_solver() -> tuple[Callable[[Lp], Solved], Callable[[], Solved]]:
    from highspy import _core

    highs = _core._Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("presolve", "off")

    def solve(lp: Lp) -> Solved:
        c, starts, rows, values, b, upper = lp
        start = time.perf_counter()
        highs.passModel(c.size, b.size, rows.size, int(_core.MatrixFormat.kColwise),
                        int(_core.ObjSense.kMinimize), 0.0, c, np.zeros(c.size), upper,
                        np.full(b.size, -np.inf), b, starts, rows, values,
                        np.zeros(c.size, dtype=np.int32))
        built = time.perf_counter()
        highs.run()
        return Solved(highs.getInfo().objective_function_value, built - start,
                      time.perf_counter() - built)

    def rerun() -> Solved:
        start = time.perf_counter()
        highs.run()
        return Solved(highs.getInfo().objective_function_value, 0.0, time.perf_counter() - start)

    return solve, rerun


def glop_solve(lp: Lp) -> Solved:
    from ortools.linear_solver import pywraplp

    c, starts, rows, values, b, upper = lp
    start = time.perf_counter()
    solver = pywraplp.Solver.CreateSolver("GLOP")
    inf = solver.infinity()
    xs = [solver.NumVar(0.0, float(u) if np.isfinite(u) else inf, "") for u in upper]
    constraints = [solver.Constraint(-inf, float(v)) for v in b]
    for j, x in enumerate(xs):
        for p in range(starts[j], starts[j + 1]):
            constraints[rows[p]].SetCoefficient(x, float(values[p]))
    objective = solver.Objective()
    objective.SetCoefficient(xs[-1], float(c[-1]))
    objective.SetMinimization()
    built = time.perf_counter()
    solver.Solve()
    return Solved(objective.Value(), built - start, time.perf_counter() - built)


def glpk_solve(lp: Lp) -> Solved:
    import swiglpk as glpk

    c, starts, rows, values, b, upper = lp
    start = time.perf_counter()
    prob = glpk.glp_create_prob()
    try:
        glpk.glp_add_rows(prob, b.size)
        glpk.glp_add_cols(prob, c.size)
        for i, v in enumerate(b, 1):
            glpk.glp_set_row_bnds(prob, i, glpk.GLP_UP, 0.0, float(v))
        for j, (u, cost) in enumerate(zip(upper, c, strict=True), 1):
            kind, top = (glpk.GLP_DB, float(u)) if np.isfinite(u) else (glpk.GLP_LO, 0.0)
            glpk.glp_set_col_bnds(prob, j, kind, 0.0, top)
            glpk.glp_set_obj_coef(prob, j, float(cost))
        ia, ja, ar = (glpk.intArray(rows.size + 1), glpk.intArray(rows.size + 1),
                      glpk.doubleArray(rows.size + 1))
        for j in range(c.size):
            for p in range(starts[j], starts[j + 1]):
                ia[p + 1], ja[p + 1], ar[p + 1] = int(rows[p]) + 1, j + 1, float(values[p])
        glpk.glp_load_matrix(prob, rows.size, ia, ja, ar)
        params = glpk.glp_smcp()
        glpk.glp_init_smcp(params)
        params.msg_lev = glpk.GLP_MSG_OFF
        built = time.perf_counter()
        glpk.glp_simplex(prob, params)
        return Solved(glpk.glp_get_obj_val(prob), built - start, time.perf_counter() - built)
    finally:
        glpk.glp_delete_prob(prob)


def timed_all(solve: Callable[[Lp], Solved], lps: list[Lp], repeats: int
              ) -> tuple[float, float, list[float]]:
    """Median seconds, over ``repeats`` passes, to build and to solve every LP once (each
    solve started cold), and the optima."""
    builds, solves, optima = [], [], []
    for _ in range(repeats):
        found = [solve(lp) for lp in lps]
        builds.append(sum(f.build_s for f in found))
        solves.append(sum(f.solve_s for f in found))
        optima = [f.objective for f in found]
    return statistics.median(builds), statistics.median(solves), optima


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    args = parser.parse_args()
    lps = [level_lp(*inputs) for inputs in captured_inputs()]
    sizes = [lp[0].size for lp in lps]
    highs, rerun = highs_solver()
    solvers: list[tuple[str, Callable[[Lp], Solved]]] = [("HiGHS (highspy)", highs)]
    for name, module, solve in (("GLOP (ortools, pywraplp)", "ortools", glop_solve),
                                ("GLPK (swiglpk)", "swiglpk", glpk_solve)):
        try:
            __import__(module)
        except ImportError:
            print(f"{name}: not installed (pip install {module}); skipped", file=sys.stderr)
            continue
        solvers.append((name, solve))
    lines = [
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.repeats} passes over the {len(lps)} LPs of `max_min_fairness_perf` "
        f"on the canonical trace, {CLUSTER} ({min(sizes)}-{max(sizes)} variables).", "",
        "| solver | building, ms per LP | solving, ms per LP | largest gap to HiGHS's optimum |",
        "|---|---:|---:|---:|",
    ]
    reference: list[float] = []
    for name, solve in solvers:
        build_s, solve_s, optima = timed_all(solve, lps, args.repeats)
        reference = reference or optima
        gap = max(abs(a - b) for a, b in zip(optima, reference, strict=True))
        lines.append(f"| {name} | {build_s * 1e3 / len(lps):.3f} "
                     f"| {solve_s * 1e3 / len(lps):.3f} | {gap:.1e} |")
        print(lines[-1], flush=True)
    highs(lps[len(lps) // 2])
    _, fixed_s, _ = timed_all(lambda _lp: rerun(), lps, args.repeats)
    lines.append(f"| HiGHS, `run` with nothing changed (its fixed cost) | | "
                 f"{fixed_s * 1e3 / len(lps):.3f} | |")
    if args.write:
        replace_section("LP solvers from Python (bench_lp_solvers.py)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
