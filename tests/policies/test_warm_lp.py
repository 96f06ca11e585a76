"""The warm-started LPs of the heterogeneity-aware policies: a changed model re-solved from its
basis, or from a basis carried over by label from another LP, reaches the optimum a cold solve
reaches; the policies' answers with a basis memory are optima of the same programs as without
one; finish-time fairness's Newton steps close the bracket in few LPs."""

from __future__ import annotations

import numpy as np
import pytest
from hetero_helpers import assert_typed_feasible, typed_problems
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shockwave.policies import finish_time_fairness_perf as ftf_module
from shockwave.policies.finish_time_fairness_perf import (
    finish_time_fairness_perf_shares,
    finish_time_ratios,
)
from shockwave.policies.heterogeneous import (
    BasisMemory,
    LevelProgram,
    TypedProgram,
    WarmStart,
    _carry,
    effective_throughputs,
    runnable_rates,
)
from shockwave.policies.max_min_fairness_perf import (
    max_min_fairness_perf_shares,
    normalised_level_scale,
)
from shockwave.solver import AT_LOWER, AT_UPPER, BASIC, InfeasibleError, LpModel


@st.composite
def packing_lps(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """``max c x`` (as ``min -c x``), ``A x <= b``, ``0 <= x <= 1``: positive ``A``, ``b`` and
    ``c``, so the LP is feasible (``x = 0``) and bounded; given as dense arrays."""
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 6))
    values = st.floats(0.1, 10.0)
    a = np.array(draw(st.lists(values, min_size=n * m, max_size=n * m))).reshape(m, n)
    a[np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(m, n)] = 0
    b = np.array(draw(st.lists(st.floats(0.5, 5.0), min_size=m, max_size=m)))
    c = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    return a, b, c


def _model(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> LpModel:
    rows, cols = np.nonzero(a)
    n = c.size
    return LpModel(-c, rows, cols, a[rows, cols], b, lower=np.zeros(n), upper=np.ones(n))


@settings(max_examples=60, deadline=None)
@given(first=packing_lps(), data=st.data())
def test_a_changed_model_resolved_from_its_basis_matches_a_cold_solve(first, data) -> None:
    a, b, c = first
    model = _model(a, b, c)
    assert model.solve().objective == pytest.approx(_model(a, b, c).solve().objective)
    # new costs, a new upper bound on one column, new values of some entries
    c2 = np.array(data.draw(st.lists(st.floats(0.1, 10.0), min_size=c.size, max_size=c.size)))
    col = data.draw(st.integers(0, c.size - 1))
    rows, cols = np.nonzero(a)
    a2 = a.copy()
    if rows.size:
        a2[rows, cols] = np.array(data.draw(st.lists(st.floats(0.1, 10.0), min_size=rows.size,
                                                     max_size=rows.size)))
    model.set_costs(-c2)
    model.set_bounds(col, 0.0, 0.5)
    model.set_coefficients(rows, cols, a2[rows, cols])
    warm = model.solve()
    cold = LpModel(-c2, rows, cols, a2[rows, cols], b, lower=np.zeros(c.size),
                   upper=np.where(np.arange(c.size) == col, 0.5, 1.0)).solve()
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9, abs=1e-9)
    assert np.all(a2 @ warm.x <= b + 1e-7) and warm.x[col] <= 0.5 + 1e-9


@settings(max_examples=60, deadline=None)
@given(lp=packing_lps(), data=st.data())
def test_any_carried_basis_is_only_a_start(lp, data) -> None:
    """Statuses with too many or too few basic entries (as a basis carried over from another
    LP may have) are repaired; the solve still reaches the cold optimum."""
    a, b, c = lp
    m, n = a.shape
    statuses = st.sampled_from([AT_LOWER, BASIC, AT_UPPER])
    col_status = np.array(data.draw(st.lists(statuses, min_size=n, max_size=n)), dtype=np.int8)
    row_status = np.array(data.draw(st.lists(st.sampled_from([BASIC, AT_UPPER]), min_size=m,
                                             max_size=m)), dtype=np.int8)
    model = _model(a, b, c)
    model.warm_start(col_status, row_status)
    assert model.solve().objective == pytest.approx(_model(a, b, c).solve().objective,
                                                    rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(first=packing_lps(), data=st.data())
def test_a_primal_resolve_after_new_costs_matches_a_cold_solve(first, data) -> None:
    """New costs leave the last basis primal feasible: the primal simplex from there (one
    solve) reaches the cold optimum, and later solves are by the dual simplex again."""
    a, b, c = first
    model = _model(a, b, c)
    model.solve()
    c2 = np.array(data.draw(st.lists(st.floats(0.1, 10.0), min_size=c.size, max_size=c.size)))
    model.set_costs(-c2)
    primal = model.solve(primal=True)
    assert primal.objective == pytest.approx(_model(a, b, c2).solve().objective,
                                             rel=1e-9, abs=1e-9)
    assert np.all(a @ primal.x <= b + 1e-7)
    assert model._highs.getOptionValue("simplex_strategy")[1] == 1


def test_a_frozen_memory_recalls_the_basis_of_that_moment() -> None:
    """BasisMemory.freeze: the next allocation starts from the basis held at the freeze, not
    from the one a later solve of the same model leaves."""
    program = TypedProgram.build(np.array([[2.0, 1.0], [1.0, 3.0]]), np.ones(2), np.ones(2))
    memory = BasisMemory()
    levels = LevelProgram(program, np.ones(2), warm=WarmStart((0, 1), memory))
    levels.max_level()
    at_level = tuple(s.copy() for s in levels._model.basis())
    levels.keep_basis()
    levels.most_efficient(0.0)
    labels = levels._basis_labels(np.array([0, 1]))
    recalled = memory.recall(*labels)
    assert recalled is not None
    assert [r.tolist() for r in recalled] == [s.tolist() for s in at_level]


def test_a_model_reports_infeasibility_after_a_change() -> None:
    """x <= 1 (a row) and then x >= 2 (a bound): infeasible, whatever the basis."""
    model = LpModel(np.array([1.0]), np.array([0]), np.array([0]), np.array([1.0]),
                    np.array([1.0]), lower=np.zeros(1), upper=np.array([np.inf]))
    assert model.solve().x.tolist() == [0.0]
    model.set_bounds(0, 2.0, np.inf)
    with pytest.raises(InfeasibleError):
        model.solve()


def test_statuses_are_carried_by_label() -> None:
    old = np.array([10, 4, 7])
    status = np.array([BASIC, AT_LOWER, AT_UPPER], dtype=np.int8)
    assert _carry(old, status, np.array([7, 5, 10, 4]), AT_LOWER).tolist() == \
        [AT_UPPER, AT_LOWER, BASIC, AT_LOWER]
    assert _carry(old, status, np.array([3]), BASIC).tolist() == [BASIC]
    assert _carry(np.array([], dtype=np.int64), np.array([], dtype=np.int8), np.array([1, 2]),
                  BASIC).tolist() == [BASIC, BASIC]


def test_the_level_rows_duals_weigh_the_bottleneck_jobs() -> None:
    """Two jobs on one GPU of one type at 1 and 3 it/s, scales 1: the level 3/4 (shares 3/4 and
    1/4) binds both rows with duals 3/4 and 1/4 (raising either job's scale by d raises the
    level by its dual times d times its throughput)."""
    program = TypedProgram.build(np.array([[1.0], [3.0]]), np.ones(2), np.array([1.0]))
    levels = LevelProgram(program, np.ones(2))
    level, v = levels.max_level()
    assert level == pytest.approx(0.75)
    assert v.tolist() == pytest.approx([0.75, 0.25])
    assert levels.level_duals().tolist() == pytest.approx([0.75, 0.25])


def _sequence_of_problems(data: st.DataObject) -> list[tuple[tuple[int, ...], np.ndarray,
                                                            np.ndarray, np.ndarray]]:
    """Allocations on one cluster as jobs arrive and finish: ids, rates, gpus per allocation."""
    k = data.draw(st.integers(2, 3))
    counts = np.array(data.draw(st.lists(st.integers(1, 8), min_size=k, max_size=k)), dtype=float)
    pool = {}
    for job in range(12):
        rates = data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5, 40.0]),
                                   min_size=k, max_size=k))
        pool[job] = (np.array(rates), float(data.draw(st.sampled_from([1, 1, 2, 4]))))
    problems, active = [], set()
    for _ in range(data.draw(st.integers(2, 6))):
        active ^= set(data.draw(st.lists(st.integers(0, 11), min_size=1, max_size=3)))
        if not active:
            continue
        ids = tuple(sorted(active))
        problems.append((ids, np.array([pool[j][0] for j in ids]),
                         np.array([pool[j][1] for j in ids]), counts))
    return problems


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_max_min_with_a_basis_memory_finds_the_same_optima(data) -> None:
    """Over a sequence of allocations (jobs arriving and finishing), the shares found from the
    carried bases reach the same max-min level and the same tie-break total as cold solves."""
    memory = BasisMemory()
    for ids, rates, gpus, counts in _sequence_of_problems(data):
        weights = np.ones(len(ids))
        warm = max_min_fairness_perf_shares(rates, gpus, counts, weights,
                                            warm=WarmStart(ids, memory))
        cold = max_min_fairness_perf_shares(rates, gpus, counts, weights)
        assert_typed_feasible(warm, rates, gpus, counts, tol=1e-7)
        scale = normalised_level_scale(rates, gpus, counts, weights)
        runnable = runnable_rates(rates, gpus, counts)
        active = scale > 0
        if not active.any():
            continue
        level_warm = scale * effective_throughputs(runnable, warm)
        level_cold = scale * effective_throughputs(runnable, cold)
        assert level_warm[active].min() == pytest.approx(level_cold[active].min(), rel=1e-6)
        assert level_warm.sum() == pytest.approx(level_cold.sum(), rel=1e-6)


def _bisected_ratio(rates, gpus, counts, steps, since, den) -> float:
    """The optimal worst ratio by plain bisection on the feasibility of each ratio (60 LPs)."""
    program = TypedProgram.build(rates, gpus, counts)
    lo = float((since / den).max())
    hi = float(finish_time_ratios(program.rates, np.where(program.rates > 0, 1.0, 0.0)
                                  / max(1.0, float(len(gpus))), steps, since, den).max())
    hi = max(hi, lo + 1.0) * 4.0
    for _ in range(60):
        mid = (lo + hi) / 2
        need = np.where(steps > 0, steps / (mid * den - since), 0.0)
        scale = np.divide(1.0, need, out=np.zeros_like(need), where=need > 0)
        factor, _ = LevelProgram(program, scale).max_level()
        lo, hi = (lo, mid) if factor >= 1.0 else (mid, hi)
    return hi


def _ftf_data(data: st.DataObject, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps left, time since arrival and denominators (time since arrival plus 10 s to
    28 h) for ``n`` jobs."""
    steps = np.array(data.draw(st.lists(st.floats(10.0, 1e5), min_size=n, max_size=n)))
    since = np.array(data.draw(st.lists(st.sampled_from([0.0, 50.0, 3000.0]), min_size=n,
                                        max_size=n)))
    den = since + np.array(data.draw(st.lists(st.floats(10.0, 1e5), min_size=n, max_size=n)))
    return steps, since, den


@settings(max_examples=30, deadline=None)
@given(problem=typed_problems(), data=st.data())
def test_newton_steps_reach_the_bisected_optimum(problem, data) -> None:
    rates, gpus, counts = problem
    runnable = runnable_rates(rates, gpus, counts)
    assume(np.all(runnable.max(axis=1) > 0))
    steps, since, den = _ftf_data(data, len(gpus))
    x = finish_time_fairness_perf_shares(rates, gpus, counts, steps, since, den)
    worst = finish_time_ratios(runnable, x, steps, since, den).max()
    assert worst == pytest.approx(_bisected_ratio(rates, gpus, counts, steps, since, den),
                                  rel=1e-6)


def test_with_no_time_since_arrival_one_lp_closes_the_bracket(monkeypatch) -> None:
    """With every ``t_j = 0`` the factor LP's lower bound ``rho / f`` is the optimum itself:
    one level LP, then the tie-break."""
    solves = []
    for method in ("max_level", "lexicographic"):  # a level LP, with its tie-break or not
        original = getattr(LevelProgram, method)

        def counted(self, original=original):
            solves.append(1)
            return original(self)

        monkeypatch.setattr(ftf_module.LevelProgram, method, counted)
    rates = np.array([[4.0, 1.0], [2.0, 1.0], [3.0, 3.0]])
    steps = np.array([400.0, 150.0, 900.0])
    x = finish_time_fairness_perf_shares(rates, np.ones(3), np.array([2, 1]), steps,
                                         np.zeros(3), np.array([400.0, 300.0, 2000.0]))
    assert len(solves) == 1
    ratios = finish_time_ratios(rates, x, steps, np.zeros(3), np.array([400.0, 300.0, 2000.0]))
    assert ratios.max() == pytest.approx(_bisected_ratio(
        rates, np.ones(3), np.array([2, 1]), steps, np.zeros(3), np.array([400.0, 300.0, 2000.0])),
        rel=1e-7)


@settings(max_examples=30, deadline=None)
@given(problem=typed_problems(), data=st.data())
def test_a_start_ratio_only_changes_where_the_search_begins(problem, data) -> None:
    """Starting from a ratio near the optimum (as the policy does with its last optimum), or
    from one far off, gives the same optimal worst ratio."""
    rates, gpus, counts = problem
    runnable = runnable_rates(rates, gpus, counts)
    assume(np.all(runnable.max(axis=1) > 0))
    steps, since, den = _ftf_data(data, len(gpus))
    plain = finish_time_fairness_perf_shares(rates, gpus, counts, steps, since, den)
    best = finish_time_ratios(runnable, plain, steps, since, den).max()
    for start in (best * data.draw(st.sampled_from([0.99, 0.999, 1.0, 1.004, 1.5])), 1e-9):
        x = finish_time_fairness_perf_shares(rates, gpus, counts, steps, since, den, start=start)
        assert finish_time_ratios(runnable, x, steps, since, den).max() == \
            pytest.approx(best, rel=1e-7)
