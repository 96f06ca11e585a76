"""The shortcuts of the warm-started LPs against the plain computations they replace, on random
instances: a model built column-wise is the model built from triplets, a basis read from HiGHS's
basic variables is the one read status by status, a HiGHS instance taken over from an earlier
model solves exactly as a fresh one does, and the shares come out as they did (bit for bit)."""

from __future__ import annotations

import numpy as np
from hetero_helpers import typed_problems
from hypothesis import given, settings
from hypothesis import strategies as st
from test_warm_lp import _model, _sequence_of_problems, packing_lps

from shockwave.policies.heterogeneous import (
    BasisMemory,
    LevelProgram,
    TypedInputs,
    TypedProgram,
    WarmStart,
    _carry,
    clip_feasible,
    effective_throughputs,
    isolated_perf_shares,
    proportional_split,
    runnable_rates,
)
from shockwave.policies.max_min_fairness_perf import (
    _level_scale,
    max_min_fairness_perf_shares,
    normalised_level_scale,
)
from shockwave.solver import AT_LOWER, AT_UPPER, BASIC, FREE_AT_ZERO, InfeasibleError, LpModel


def _matrix(model: LpModel) -> tuple[list, list, list, list, list, list]:
    lp = model._highs.getLp()
    a = lp.a_matrix_
    return (list(a.start_), list(a.index_), list(a.value_), list(lp.col_cost_),
            list(lp.col_upper_), list(lp.row_upper_))


def _triplet_model(program: TypedProgram, scale: np.ndarray) -> LpModel:
    """The level program as the triplets it was first built from (base rows, level rows, the
    level's column), through the sorting constructor."""
    jobs = np.flatnonzero(scale > 0)
    rows, cols, values = program.throughput_triplets(scale, jobs)
    base_rows, base_cols, base_values, b = program._base_triplets()
    n, z = program.size + 1, np.arange(jobs.size)
    return LpModel(np.zeros(n), np.concatenate([base_rows, b.size + rows, b.size + z]),
                   np.concatenate([base_cols, cols, np.full(z.size, program.size)]),
                   np.concatenate([base_values, -values, np.ones(z.size)]),
                   np.concatenate([b, np.zeros(z.size)]), lower=np.zeros(n),
                   upper=np.concatenate([np.ones(program.size), [np.inf]]))


@settings(max_examples=80, deadline=None)
@given(problem=typed_problems(max_jobs=8), data=st.data())
def test_the_level_program_built_by_columns_is_the_triplet_model(problem, data) -> None:
    rates, gpus, counts = problem
    program = TypedProgram.build(rates, gpus, counts)
    scale = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, 7.25]),
                                        min_size=len(gpus), max_size=len(gpus))))
    assert _matrix(LevelProgram(program, scale)._model) == \
        _matrix(_triplet_model(program, scale))


@settings(max_examples=80, deadline=None)
@given(lp=packing_lps(), data=st.data())
def test_the_basis_from_basic_variables_is_highs_statuses(lp, data) -> None:
    """After a solve, and after a change and another solve from there."""
    a, b, c = lp
    model = _model(a, b, c)
    model.solve()
    assert [s.tolist() for s in model.basis()] == [s.tolist() for s in model._statuses()]
    col = data.draw(st.integers(0, c.size - 1))
    model.set_bounds(col, 0.0, data.draw(st.sampled_from([0.5, 1.0])))
    model.set_costs(-np.array(data.draw(st.lists(st.floats(-5.0, 10.0), min_size=c.size,
                                                 max_size=c.size))))
    model.solve()
    assert [s.tolist() for s in model.basis()] == [s.tolist() for s in model._statuses()]


def test_an_unsolved_model_reports_highs_statuses() -> None:
    model = LpModel(np.array([1.0]), np.array([0]), np.array([0]), np.array([1.0]),
                    np.array([1.0]), lower=np.zeros(1), upper=np.ones(1))
    assert [s.tolist() for s in model.basis()] == [s.tolist() for s in model._statuses()]


def _solve_sequence(lps: list, reuse: bool) -> list[tuple[bytes, list]]:
    """Each LP built column-wise, started from the last one's basis (by index, where sizes
    allow), solved, then re-solved with new costs; its HiGHS instance taken over from the last
    model or a fresh one."""
    out, last, basis = [], None, None
    for a, b, c in lps:
        rows, cols = np.nonzero(a.T)
        starts = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=c.size))])
        model = LpModel.colwise(-c, (starts, cols, a.T[rows, cols]), b, lower=np.zeros(c.size),
                                upper=np.ones(c.size), reuse=last if reuse else None)
        if basis is not None and last.num_rows == model.num_rows:
            col_status, row_status = basis
            if col_status.size >= c.size:
                model.warm_start(col_status[:c.size], row_status)
        answers = []
        for costs in (-c, -c[::-1]):
            model.set_costs(costs)
            try:
                answers.append(model.solve().x.tobytes())
            except InfeasibleError:  # pragma: no cover - packing LPs are feasible
                answers.append(b"")
        basis = model.basis()
        out.append((b"".join(answers), [s.tolist() for s in basis]))
        last = model
    return out


@settings(max_examples=40, deadline=None)
@given(lps=st.lists(packing_lps(), min_size=2, max_size=5))
def test_a_taken_over_instance_solves_as_a_fresh_one(lps) -> None:
    assert _solve_sequence(lps, reuse=True) == _solve_sequence(lps, reuse=False)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_max_min_shares_are_the_same_with_a_taken_over_instance(data) -> None:
    """A policy's allocations (carried bases, one HiGHS instance passed from model to model)
    equal, bit for bit, those made with a fresh instance per allocation from the same bases."""
    problems = _sequence_of_problems(data)
    shared, fresh = BasisMemory(), _FreshMemory()
    for ids, rates, gpus, counts in problems:
        weights = np.ones(len(ids))
        a = max_min_fairness_perf_shares(rates, gpus, counts, weights,
                                         warm=WarmStart(ids, shared))
        b = max_min_fairness_perf_shares(rates, gpus, counts, weights,
                                         warm=WarmStart(ids, fresh))
        assert a.tobytes() == b.tobytes()


class _FreshMemory(BasisMemory):
    """A basis memory that never hands its model's instance on: every model builds its own."""

    @property
    def model(self) -> LpModel | None:
        return None


def _clip_feasible_plain(shares: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``clip_feasible`` as first written: every division made, even by 1."""
    x = np.clip(np.asarray(shares, dtype=float), 0.0, 1.0)
    x = x / np.maximum(x.sum(axis=1), 1.0)[:, None]
    used = np.asarray(gpus, dtype=float) @ x
    counts = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(used > counts, counts / used, 1.0)
    return x * scale[None, :] + 0.0


@settings(max_examples=150, deadline=None)
@given(problem=typed_problems(max_jobs=8), data=st.data())
def test_clip_feasible_skips_only_divisions_by_one(problem, data) -> None:
    _, gpus, counts = problem
    n, k = len(gpus), len(counts)
    values = st.sampled_from([-1e-12, 0.0, 1e-9, 0.25, 0.5, 1.0, 1.0 + 1e-10, 1.7])
    shares = np.array(data.draw(st.lists(values, min_size=n * k, max_size=n * k))).reshape(n, k)
    assert clip_feasible(shares, gpus, counts).tobytes() == \
        _clip_feasible_plain(shares, gpus, counts).tobytes()


@settings(max_examples=60, deadline=None)
@given(problem=typed_problems(max_jobs=8), data=st.data())
def test_typed_inputs_shares_are_the_entries_as_floats(problem, data) -> None:
    rates, gpus, counts = problem
    types = tuple(f"t{i}" for i in range(len(counts)))
    inputs = TypedInputs(ids=tuple(range(len(gpus))), types=types, counts=counts, rates=rates,
                         gpus=gpus)
    x = rates / 7.0
    assert inputs.shares(x) == {j: {t: float(x[i, k]) for k, t in enumerate(types)}
                                for i, j in enumerate(inputs.ids)}


def _runnable_rates_plain(rates: np.ndarray, gpus: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``runnable_rates`` as first written: finite, positive, and the gang fits."""
    fits = gpus[:, None] <= counts[None, :]
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(rates) & (rates > 0) & fits
    return np.where(usable, rates, 0.0)


@settings(max_examples=100, deadline=None)
@given(problem=typed_problems(max_jobs=8), data=st.data())
def test_runnable_rates_and_the_scales_read_off_them_are_the_plain_ones(problem, data) -> None:
    """Non-finite and negative rates too; the max-min scale and the isolated split from a
    program's (already runnable) rates are those from the raw rates, bit for bit."""
    rates, gpus, counts = problem
    odd = st.sampled_from([np.inf, -np.inf, np.nan, -1.0])
    for index in data.draw(st.lists(st.tuples(st.integers(0, rates.shape[0] - 1),
                                              st.integers(0, rates.shape[1] - 1)), max_size=3)):
        rates[index] = data.draw(odd)
    runnable = runnable_rates(rates, gpus, counts)
    assert runnable.tobytes() == _runnable_rates_plain(rates, gpus, counts).tobytes()
    weights = np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=gpus.size,
                                          max_size=gpus.size)))
    prop = effective_throughputs(runnable, proportional_split(gpus.size, counts))
    plain = np.divide(gpus, weights * prop, out=np.zeros_like(prop), where=prop > 0)
    assert normalised_level_scale(rates, gpus, counts, weights).tobytes() == plain.tobytes()
    program = TypedProgram.build(rates, gpus, counts)
    assert _level_scale(program.rates, gpus, counts, weights).tobytes() == plain.tobytes()
    assert program.isolated().tobytes() == isolated_perf_shares(rates, gpus, counts).tobytes()


def _carry_plain(old_labels: np.ndarray, old_status: np.ndarray, labels: np.ndarray,
                 default: int) -> list[int]:
    """The carried statuses by dictionary (the first of repeated old labels wins, as a stable
    sort's search finds it)."""
    known: dict[int, int] = {}
    for label, status in zip(old_labels.tolist(), old_status.tolist(), strict=True):
        known.setdefault(label, status)
    return [known.get(label, default) for label in labels.tolist()]


@settings(max_examples=150, deadline=None)
@given(old=st.lists(st.integers(0, 30), max_size=12), new=st.lists(st.integers(0, 30),
                                                                     max_size=12),
       data=st.data())
def test_the_basis_carry_is_the_dictionary_lookup(old, new, data) -> None:
    statuses = data.draw(st.lists(st.sampled_from([AT_LOWER, BASIC, AT_UPPER]),
                                  min_size=len(old), max_size=len(old)))
    old_labels, labels = np.array(old, dtype=np.int64), np.array(new, dtype=np.int64)
    old_status = np.array(statuses, dtype=np.int8)
    for default in (AT_LOWER, BASIC):
        carried = _carry(old_labels, old_status, labels, default)
        assert carried.dtype == np.int8
        assert carried.tolist() == _carry_plain(old_labels, old_status, labels, default)


def _moves_plain(model: LpModel) -> tuple[list[float], list[int]]:
    """``LpModel._moves`` as first written, from the statuses."""
    col_status, row_status = model.basis()
    col_move = (col_status == AT_LOWER) * 1.0 - (col_status == AT_UPPER)
    col_move[model.lower == model.upper] = 0.0
    return (np.concatenate([col_move, (row_status == AT_UPPER) * -1.0]).tolist(),
            np.flatnonzero(col_status == FREE_AT_ZERO).tolist())


@settings(max_examples=80, deadline=None)
@given(lp=packing_lps(), data=st.data())
def test_the_certificate_moves_and_the_kept_solution_are_the_plain_ones(lp, data) -> None:
    """After a solve, after fixing a column and solving again (a fixed column never moves), and
    with HiGHS's statuses (a cold model); compared as numbers (a zero's sign is no move)."""
    a, b, c = lp
    model = _model(a, b, c)
    for step in range(3):
        if step == 1:
            model.set_bounds(data.draw(st.integers(0, c.size - 1)), 0.0, 0.0)  # (x = 0 fits)
        if step < 2:
            x = model.solve().x
            assert model.solution().tobytes() == \
                np.asarray(model._highs.getSolution().col_value, dtype=float).tobytes()
            x[:] = -1.0  # the caller's copy: the model's own is untouched
            assert (model.solution() >= -1e-9).all()
        else:
            model = _model(a, b, c)
        moves, free = model._moves()
        assert (moves.tolist(), free.tolist()) == _moves_plain(model)
