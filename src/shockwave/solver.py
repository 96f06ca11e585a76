"""The one module that talks to numerical solvers: LPs and MILPs through HiGHS (via SciPy) with
time limits, and barrier (central-path) points of polyhedra by Newton's method. Solver statuses
become a :class:`Solution` or a :class:`~shockwave.errors.SolverError`.

Why a barrier routine here: several Gavel-family LPs have non-unique optima, and the reference
solved them with an interior-point method, whose answer is (close to) the analytic centre of the
optimal face. Policies reproduce that choice explicitly with :func:`central_point`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shockwave.errors import SolverError

if TYPE_CHECKING:
    from scipy import sparse

    Matrix = np.ndarray | sparse.spmatrix | sparse.sparray
else:
    Matrix = Any  # SciPy is imported on first solve: closed-form policies never need it

BoundsSpec = tuple[float | np.ndarray, float | np.ndarray | None]
DEFAULT_TIME_LIMIT_S = 30.0
_QUADRATIC_REGION = 1e-6
_POLISH_STEPS = 4
_ROUNDING = 1e-12
THIN_BOX = 1e-9
"""An interval ``[lower, 1]`` thinner than this is a point to the barrier methods."""
_NEWTON_TOL = 1e-18
_NEWTON_MAX_ITER = 200


class InfeasibleError(SolverError):
    """The problem has no feasible point (a status callers may handle, e.g. by relaxing)."""


@dataclass(frozen=True)
class Solution:
    """A solver's answer: ``x``, its objective value, and whether it is proven optimal
    (``False`` means the best incumbent found before the time limit)."""

    x: np.ndarray
    objective: float
    optimal: bool


def _as_bounds(n: int, lower: float | np.ndarray, upper: float | np.ndarray | None) -> np.ndarray:
    lo = np.broadcast_to(np.asarray(lower, dtype=float), (n,))
    hi = np.full(n, np.inf) if upper is None else np.broadcast_to(np.asarray(upper, dtype=float), (n,))
    return np.column_stack([lo, hi])


def solve_lp(
    c: np.ndarray,
    *,
    a_ub: Matrix | None = None,
    b_ub: np.ndarray | None = None,
    a_eq: Matrix | None = None,
    b_eq: np.ndarray | None = None,
    bounds: BoundsSpec = (0.0, None),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Solution:
    """Minimise ``c @ x`` subject to ``a_ub x <= b_ub``, ``a_eq x = b_eq`` and
    ``bounds = (lower, upper)`` (scalars or arrays; ``None`` = unbounded above) with HiGHS.

    Raises:
        InfeasibleError: the constraints admit no point.
        SolverError: unbounded, time limit without an optimum, or a numerical failure.
    """
    c = np.asarray(c, dtype=float)
    from scipy import sparse
    from scipy.optimize import linprog

    res = linprog(
        c,
        A_ub=None if a_ub is None else sparse.csr_array(a_ub),
        b_ub=b_ub,
        A_eq=None if a_eq is None else sparse.csr_array(a_eq),
        b_eq=b_eq,
        bounds=_as_bounds(c.size, *bounds),
        method="highs",
        options={"time_limit": float(time_limit_s), "presolve": True},
    )
    if res.status == 0:
        return Solution(np.asarray(res.x, dtype=float), float(res.fun), True)
    if res.status == 2:
        raise InfeasibleError(f"LP with {c.size} variables is infeasible: {res.message}")
    if res.status == 3:
        raise SolverError(f"LP with {c.size} variables is unbounded: {res.message}")
    if res.status == 1:
        raise SolverError(f"LP with {c.size} variables hit the {time_limit_s:g} s time limit")
    raise SolverError(f"LP with {c.size} variables failed: {res.message}")


def solve_lp_triplets(
    c: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    b_ub: np.ndarray,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Solution:
    """Minimise ``c @ x`` subject to ``A x <= b_ub`` and ``lower <= x <= upper``, ``A`` given
    as (row, column, value) triplets without duplicates: :func:`solve_lp` without SciPy's
    wrapping (``linprog``'s checks and conversions cost twice HiGHS's own run on the small LPs of
    the heterogeneity-aware policies), straight to ``highspy`` with the options ``linprog`` sets
    (presolve on, dual simplex, no output). The same errors as :func:`solve_lp`.
    """
    return LpModel(c, rows, cols, values, b_ub, lower=lower, upper=upper,
                   time_limit_s=time_limit_s).solve()


BASIC = 1
"""HiGHS's basis status of a basic variable or row (``HighsBasisStatus.kBasic``); ``0`` is a
variable nonbasic at its lower bound, ``2`` nonbasic at its upper bound (a ``<=`` row's slack at
its right-hand side); HiGHS also uses ``3`` (a free variable at zero) and ``4`` (nonbasic)."""
AT_LOWER, AT_UPPER = 0, 2
FREE_AT_ZERO = 3
_COLUMN_MOVE = np.array([1.0, 0.0, -1.0, 0.0, 0.0])
"""Per basis status (0-4: at lower, basic, at upper, free at zero, nonbasic), the direction in
which a nonbasic column may move from it (:meth:`LpModel._moves`)."""
_ROW_MOVE = np.array([0.0, 0.0, -1.0, 0.0, 0.0])
"""The same for a ``<=`` row, whose slack sits at its upper bound when nonbasic."""
_DUAL_TOLERANCE = 1e-7
"""HiGHS's default dual feasibility tolerance."""
_DUAL_SIMPLEX, _PRIMAL_SIMPLEX = 1, 4
"""HiGHS's ``simplex_strategy`` values: the dual simplex (its default) and the primal."""
_PRIMAL_OPTIMALITY = 1e-10
"""The dual feasibility tolerance of a primal simplex run (:meth:`LpModel.solve`): at the
default, the primal simplex stopped up to ~1e-7 (relative) short of the optimum, where the dual
simplex from the same basis reached it to 1e-15."""


class LpModel:
    """An LP ``min c @ x``, ``A x <= b_ub``, ``lower <= x <= upper`` (``A`` as (row, column,
    value) triplets without duplicates) held in one HiGHS instance, so that it can be changed
    (costs, bounds, coefficients) and solved again from the basis of its last solve: the
    dual simplex then needs a few iterations where a cold solve needs a hundred.

    A basis can also be given (:meth:`warm_start`), e.g. one carried over from a similar LP; any
    basis is only a starting point, so every solve ends at an optimum of the LP as it stands
    (when the optimum is not unique, which one may depend on the start).
    """

    def __init__(
        self,
        c: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        b_ub: np.ndarray,
        *,
        lower: np.ndarray,
        upper: np.ndarray,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    ) -> None:
        n = int(np.asarray(c).size)
        rows = np.asarray(rows, dtype=np.int32)
        cols = np.asarray(cols, dtype=np.int32)
        order = np.lexsort((rows, cols))
        starts = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n))]).astype(np.int32)
        self._load(c, (starts, rows[order], np.asarray(values, dtype=float)[order]), b_ub,
                   (lower, upper), time_limit_s, None)

    @classmethod
    def colwise(
        cls,
        c: np.ndarray,
        matrix: tuple[np.ndarray, np.ndarray, np.ndarray],
        b_ub: np.ndarray,
        *,
        lower: np.ndarray,
        upper: np.ndarray,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        reuse: LpModel | None = None,
    ) -> LpModel:
        """The same LP with ``A`` given column-wise, ``matrix = (starts, rows, values)`` (column
        j's entries at ``starts[j]:starts[j + 1]``, rows increasing within a column: what the
        constructor makes of triplets), so that a caller who knows the columns skips the sort.

        ``reuse``: a model whose HiGHS instance this one takes over (``reuse`` must not be used
        afterwards). Passing a model to an instance replaces its model and clears its solver
        state, so every solve is the one a fresh instance makes, without the cost of building
        one (a third of a small LP's first solve)."""
        model = cls.__new__(cls)
        model._load(c, matrix, b_ub, (lower, upper), time_limit_s, reuse)
        return model

    def _load(self, c: np.ndarray, matrix: tuple[np.ndarray, np.ndarray, np.ndarray],
              b_ub: np.ndarray, bounds: tuple[np.ndarray, np.ndarray], time_limit_s: float,
              reuse: LpModel | None) -> None:
        if reuse is not None:
            _core = self._core = reuse._core
        else:
            from highspy import _core

            self._core = _core
        c = np.asarray(c, dtype=float)
        starts, index, values = matrix
        n, m = c.size, int(np.asarray(b_ub).size)
        self._lower = np.array(bounds[0], dtype=float)
        self._upper = np.array(bounds[1], dtype=float)
        self._b_ub = np.asarray(b_ub, dtype=float)
        model = (n, m, int(index.size), int(_core.MatrixFormat.kColwise),
                 int(_core.ObjSense.kMinimize), 0.0, c, self._lower, self._upper,
                 _filled(m, -np.inf), self._b_ub,
                 np.asarray(starts, dtype=np.int32), np.asarray(index, dtype=np.int32),
                 np.asarray(values, dtype=float),
                 np.zeros(n, dtype=np.int32))  # integrality: every column continuous
        self.num_cols, self.num_rows = n, m
        # A as loaded, for reduced costs (the caller's arrays: copied before a change is
        # applied to them); changed entries applied when next needed
        self._matrix: tuple[np.ndarray, np.ndarray, np.ndarray] | None = (starts, index, values)
        self._matrix_copied = False
        self._entry_cols: np.ndarray | None = None  # the column of each entry, once needed
        self._pending: list[tuple[Any, Any, np.ndarray]] = []
        self._all_cols = np.arange(n, dtype=np.int32)
        self._factored = index.size > 0 and m > 0  # HiGHS solves it by the simplex method
        self._from_basis = self._basis_is_current = False
        self._basic: np.ndarray | None = None  # HiGHS's basic variables, read once per solve
        self._basic_pick: tuple[np.ndarray, np.ndarray] | None = None  # (column, is a column)
        self._bound_kinds: tuple[np.ndarray, np.ndarray] | None = None  # (fixed, free) columns
        self._statuses_read: tuple[np.ndarray, np.ndarray] | None = None
        self._x = np.zeros(n)  # the columns' values at the last optimal solve (read once)
        self._cost = c.copy()
        self._time_limit_s = float(time_limit_s)
        if reuse is not None and reuse._time_limit_s == self._time_limit_s:
            self._highs = reuse._highs
            reuse._highs = None  # the instance is this model's now
        else:
            self._highs = _core._Highs()
            for option, value in (("output_flag", False), ("presolve", "on"),
                                  ("time_limit", self._time_limit_s),
                                  ("simplex_strategy", _DUAL_SIMPLEX)):
                self._highs.setOptionValue(option, value)
        if self._highs.passModel(*model) == _core.HighsStatus.kError:
            raise SolverError(f"LP with {n} variables was rejected by HiGHS")

    @property
    def basis_factored(self) -> bool:
        """Whether the last solve ended optimal, by the simplex method from a basis, so that
        HiGHS holds that basis factored (:meth:`basis` reads it, :meth:`reduced_costs` uses
        it)."""
        return self._basis_is_current

    @property
    def released(self) -> bool:
        """Whether a later model took over this one's HiGHS instance (see :meth:`colwise`)."""
        return self._highs is None

    def solve(self, *, primal: bool = False) -> Solution:
        """Solve from the current basis (none: a cold solve). The errors of :func:`solve_lp`.
        ``primal``: by the primal simplex method (this solve only), the faster one where the
        basis stays primal feasible, e.g. after a change of costs only; should it end neither
        optimal nor infeasible, the dual simplex runs on from where it stopped."""
        n = self.num_cols
        done = self._core.HighsModelStatus
        if primal:
            self._highs.setOptionValue("simplex_strategy", _PRIMAL_SIMPLEX)
            self._highs.setOptionValue("dual_feasibility_tolerance", _PRIMAL_OPTIMALITY)
            try:
                self._highs.run()
            finally:
                self._highs.setOptionValue("simplex_strategy", _DUAL_SIMPLEX)
                self._highs.setOptionValue("dual_feasibility_tolerance", _DUAL_TOLERANCE)
            if self._highs.getModelStatus() not in (done.kOptimal, done.kInfeasible):
                self._highs.run()
        else:
            self._highs.run()
        status = self._highs.getModelStatus()
        self._basis_is_current = self._from_basis and self._factored and status == done.kOptimal
        self._basic = self._statuses_read = self._basic_pick = None
        if status == done.kOptimal:
            self._from_basis = True  # HiGHS starts the next solve from this one's basis
            x = self._x = np.asarray(self._highs.getSolution().col_value, dtype=float)
            return Solution(x.copy(), float(self._cost @ x), True)  # (the caller's own copy)
        message = self._highs.modelStatusToString(status)
        if status in (done.kInfeasible, done.kModelError):
            raise InfeasibleError(f"LP with {n} variables is infeasible: {message}")
        if status == done.kUnbounded:
            raise SolverError(f"LP with {n} variables is unbounded: {message}")
        if status in (done.kTimeLimit, done.kIterationLimit):
            raise SolverError(f"LP with {n} variables hit the {self._time_limit_s:g} s time limit")
        raise SolverError(f"LP with {n} variables failed: {message}")

    def set_costs(self, c: np.ndarray) -> None:
        """Replace the objective ``c`` (all columns)."""
        self._cost = np.array(c, dtype=float)
        self._highs.changeColsCost(self.num_cols, self._all_cols, self._cost)

    def set_bounds(self, col: int, lower: float, upper: float) -> None:
        """Replace one column's bounds."""
        self._lower[col], self._upper[col] = lower, upper
        self._highs.changeColBounds(int(col), float(lower), float(upper))
        self._bound_kinds = None
        self._changed()

    def _changed(self) -> None:
        """The model changed since the last solve otherwise than in its costs: what was read of
        that solve's basis (and HiGHS's list of basic variables) is not to be used."""
        self._basis_is_current = False
        self._basic = self._statuses_read = self._basic_pick = None

    def set_coefficients(self, rows: np.ndarray | list[int], cols: np.ndarray | list[int],
                         values: np.ndarray) -> None:
        """Replace entries of ``A`` (each (row, column) an entry of the model or a new one);
        ``rows`` and ``cols`` may be lists (a caller changing the same entries again keeps them
        as lists)."""
        change = self._highs.changeCoeff
        rows = rows if isinstance(rows, list) else np.asarray(rows).tolist()
        cols = cols if isinstance(cols, list) else np.asarray(cols).tolist()
        values = np.array(values, dtype=float)
        for r, c, v in zip(rows, cols, values.tolist(), strict=True):
            change(r, c, v)
        self._pending.append((rows, cols, values))
        self._changed()

    def basic_variables(self) -> np.ndarray | None:
        """Per basis position, the basic column's index or ``-1 - row`` for a row's slack, while
        HiGHS holds the last solve's basis factored (:attr:`basis_factored`), else ``None``."""
        return self._basic_variables()

    def basis_solve(self, rhs: np.ndarray) -> np.ndarray | None:
        """``B^-1 rhs`` (one entry per basis position) with the factors of the last solve's
        basis, ``B`` the basic columns of ``[A I]`` in :meth:`basic_variables`'s order (a row's
        slack column is the unit vector of the row); ``None`` where HiGHS holds no factored
        basis."""
        if self._basic_variables() is None:
            return None
        status, solution = self._highs.getBasisSolve(np.asarray(rhs, dtype=float))
        return np.asarray(solution, dtype=float) if status == self._core.HighsStatus.kOk else None

    def reduced_costs(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """For costs ``c`` (not necessarily the model's), the columns' reduced costs and the
        rows' duals at the basis of the last solve, in HiGHS's signs (those of
        ``getSolution().col_dual`` and ``row_dual`` had ``c`` been the objective): one solve
        with the basis's factors, ``y = B^-T c_B``, ``d = c - A^T y``. ``None`` where HiGHS has
        not factored that basis (see :meth:`basis`) or an entry of ``A`` was added since the
        model was built."""
        matrix = self._current_matrix()
        basic = self._basic_variables()
        if matrix is None or basic is None:
            return None
        c = np.asarray(c, dtype=float)
        if self._basic_pick is None:  # (the same for every objective at this basis)
            self._basic_pick = (np.maximum(basic, 0), basic >= 0)
        column, is_column = self._basic_pick
        status, y = self._highs.getBasisTransposeSolve(c[column] * is_column)
        if status != self._core.HighsStatus.kOk:
            return None
        y = np.asarray(y, dtype=float)
        _, index, values = matrix
        return c - np.bincount(self._columns_of_entries(), weights=values * y[index],
                               minlength=self.num_cols), y

    def _columns_of_entries(self) -> np.ndarray:
        if self._entry_cols is None:
            starts = np.asarray(self._matrix[0] if self._matrix is not None else [0])
            self._entry_cols = self._all_cols.repeat(starts[1:] - starts[:-1])
        return self._entry_cols

    def is_lexicographic_optimum(self, first: np.ndarray, second: np.ndarray, *,
                                 tolerance: float = 1e-9) -> bool:
        """Whether the basis of the last solve is optimal for the costs ``first`` and, among the
        optima of ``first``, for ``second``: at every nonbasic column or row, the reduced cost
        of ``first`` is of the optimal sign (``>= -tolerance`` in the direction the entry may
        move) and, where it is zero (within ``tolerance``), so is that of ``second`` (within
        HiGHS's dual feasibility tolerance, 1e-7), so that no move keeps the first objective and
        improves the second. False when the reduced costs are not available."""
        return self.lexicographic_duals(first, second, tolerance=tolerance) is not None

    def lexicographic_duals(self, first: np.ndarray, second: np.ndarray, *,
                            tolerance: float = 1e-9) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`reduced_costs` of ``first`` when :meth:`is_lexicographic_optimum`, else
        ``None``."""
        one, two = self.reduced_costs(first), self.reduced_costs(second)
        if one is None or two is None:
            return None
        moves, free = self._moves()
        gain_one = np.concatenate(one) * moves
        gain_two = np.concatenate(two) * moves
        if (gain_one < -tolerance).any() or (gain_two[gain_one <= tolerance]
                                             < -_DUAL_TOLERANCE).any():
            return None
        if free.size and ((np.abs(one[0][free]) > tolerance).any()
                          or (np.abs(two[0][free]) > _DUAL_TOLERANCE).any()):
            return None
        return one

    def _moves(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column then row, the direction in which a nonbasic entry may move from its bound
        (up from a lower bound, down from an upper one; 0 for a basic or fixed entry; a ``<=``
        row's slack sits at its upper bound), so that a reduced cost (a row's dual) times it is
        the gain of the move, negative where the move improves; and the free nonbasic columns
        (either direction)."""
        col_status, row_status = self.basis()
        fixed = self._column_bound_kinds()[0]
        moves = np.concatenate([_COLUMN_MOVE[col_status], _ROW_MOVE[row_status]])
        moves[fixed] = 0.0
        return moves, (col_status == FREE_AT_ZERO).nonzero()[0]

    def _column_bound_kinds(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed columns (lower = upper) and the free ones (no finite bound), kept until a
        bound changes: a solve's basis is read once per solve, the bounds change less often."""
        if self._bound_kinds is None:
            lower, upper = self._lower, self._upper
            self._bound_kinds = ((lower == upper).nonzero()[0],
                                 ((lower == -np.inf) & (upper == np.inf)).nonzero()[0])
        return self._bound_kinds

    def _current_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``A`` column-wise with the entries changed since it was built, ``None`` if one of
        them was not an entry."""
        if self._matrix is None or not self._pending:
            return self._matrix
        starts, index, values = self._matrix
        if not self._matrix_copied:
            values = np.array(values, dtype=float)
            self._matrix, self._matrix_copied = (starts, index, values), True
        keys = self._columns_of_entries() * np.int64(self.num_rows) + index
        for rows, cols, new in self._pending:
            target = np.asarray(cols, dtype=np.int64) * self.num_rows + np.asarray(rows)
            at = np.minimum(np.searchsorted(keys, target), max(keys.size - 1, 0))
            if keys.size == 0 or np.any(keys[at] != target):
                self._matrix = None
                break
            values[at] = new
        self._pending = []
        return self._matrix

    @property
    def lower(self) -> np.ndarray:
        """The columns' lower bounds (read only)."""
        return self._lower

    @property
    def upper(self) -> np.ndarray:
        """The columns' upper bounds (read only)."""
        return self._upper

    @property
    def b_ub(self) -> np.ndarray:
        """The rows' right-hand sides (read only)."""
        return self._b_ub

    def solution(self) -> np.ndarray:
        """The columns' values at the last optimal solve (a new array; read from HiGHS once
        per solve)."""
        return self._x.copy()

    def row_activities(self, x: np.ndarray) -> np.ndarray:
        """``A x`` for the model's ``A`` as it stands. Raises ``SolverError`` when a
        coefficient change added an entry (``A`` is then not kept here)."""
        matrix = self._current_matrix()
        if matrix is None:
            raise SolverError("the constraint matrix gained an entry; A x is not kept")
        _, index, values = matrix
        return np.bincount(index, weights=values * np.asarray(x, dtype=float)[
            self._columns_of_entries()], minlength=self.num_rows)

    def row_duals(self) -> np.ndarray:
        """The rows' dual values at the last optimum (HiGHS's sign: ``<= 0`` for a binding
        ``<=`` row of a minimisation)."""
        return np.asarray(self._highs.getSolution().row_dual, dtype=float)

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """The statuses of the columns and the rows after the last solve (``BASIC``,
        ``AT_LOWER``, ``AT_UPPER``, as small integers).

        After an optimal solve by the simplex method from a basis (given, or left by an earlier
        solve: no presolve then), read as HiGHS's list of basic variables, which that solve
        factored, and the solution (a nonbasic column sits at a bound: the upper one when its
        value is nearer to it; a nonbasic ``<=`` row at its right-hand side): HiGHS's per-entry
        statuses cost as much as a small solve to convert to Python. Otherwise (a cold solve,
        which HiGHS may finish in presolve; a failed one; none), from those statuses: HiGHS's
        list of basic variables is only safe to ask for when it has factored this basis."""
        if self._statuses_read is None:
            basic = self._basic_variables()
            self._statuses_read = self._statuses() if basic is None else self._from_basic(basic)
        return self._statuses_read

    def _basic_variables(self) -> np.ndarray | None:
        """HiGHS's basic variables (a column's index, or ``-1 - row``, per basis position) when
        it holds the last solve's basis factored, else ``None``."""
        if self._basic is None and self._basis_is_current:
            status, basic = self._highs.getBasicVariables()
            if status == self._core.HighsStatus.kOk and basic.size == self.num_rows:
                self._basic = basic
        return self._basic if self._basis_is_current else None

    def _from_basic(self, basic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col_status = np.zeros(self.num_cols, dtype=np.int8)  # AT_LOWER
        row_status = np.empty(self.num_rows, dtype=np.int8)
        row_status.fill(AT_UPPER)
        x = self._x
        lower, upper = self._lower, self._upper
        # (x is finite at an optimum, so an infinite upper bound is never the nearer one)
        col_status[upper - x < x - lower] = AT_UPPER
        col_status[self._column_bound_kinds()[1]] = FREE_AT_ZERO
        col_status[basic[basic >= 0]] = BASIC
        row_status[-1 - basic[basic < 0]] = BASIC
        return col_status, row_status

    def _statuses(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`basis` from HiGHS's per-entry statuses."""
        basis = self._highs.getBasis()
        return (np.array([s.value for s in basis.col_status], dtype=np.int8),
                np.array([s.value for s in basis.row_status], dtype=np.int8))

    def warm_start(self, col_status: np.ndarray, row_status: np.ndarray) -> bool:
        """Start the next solve from the given statuses. A basis must have as many basic
        entries as there are rows; statuses carried over from another LP may not, so missing
        ones are made up with basic rows (slacks) and surplus basic columns become nonbasic at
        their lower bound, in index order. HiGHS repairs a singular basis itself. Returns
        whether HiGHS took the basis (if not, the next solve is cold)."""
        col_status = np.array(col_status, dtype=np.int8)  # (a copy: changed below)
        row_status = np.array(row_status, dtype=np.int8)
        excess = np.count_nonzero(col_status == BASIC) + np.count_nonzero(row_status == BASIC) \
            - self.num_rows
        if excess < 0:
            make_basic = np.flatnonzero(row_status != BASIC)[:-excess]
            row_status[make_basic] = BASIC
        elif excess > 0:
            make_nonbasic = np.flatnonzero(col_status == BASIC)[:excess]
            col_status[make_nonbasic] = AT_LOWER
        core = self._core
        kinds = core.HighsBasisStatus
        status_of = (kinds.kLower, kinds.kBasic, kinds.kUpper, kinds.kZero, kinds.kNonbasic)
        basis = core.HighsBasis()
        basis.col_status = _pick(status_of, col_status)
        basis.row_status = _pick(status_of, row_status)
        basis.valid = True
        self._changed()
        if self._highs.setBasis(basis) == core.HighsStatus.kError:
            self._highs.clearSolver()
            self._from_basis = False
            return False
        self._from_basis = True
        return True


def _filled(n: int, value: float) -> np.ndarray:
    """``np.full(n, value)`` without its Python-level wrapper (a per-solve cost)."""
    out = np.empty(n)
    out.fill(value)
    return out


def _pick(items: tuple[Any, ...], index: np.ndarray) -> list[Any]:
    """``[items[i] for i in index]``, at C speed."""
    if index.size == 0:
        return []
    picked = operator.itemgetter(*index.tolist())(items)
    return [picked] if index.size == 1 else list(picked)


def find_feasible(
    a_ub: Matrix,
    b_ub: np.ndarray,
    *,
    bounds: BoundsSpec = (0.0, None),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> np.ndarray | None:
    """A point with ``a_ub x <= b_ub`` within the bounds, or ``None`` if there is none."""
    n = a_ub.shape[1]
    try:
        return solve_lp(
            np.zeros(n), a_ub=a_ub, b_ub=b_ub, bounds=bounds, time_limit_s=time_limit_s
        ).x
    except InfeasibleError:
        return None


def solve_milp(
    c: np.ndarray,
    *,
    integrality: np.ndarray,
    a: Matrix | None = None,
    a_lower: np.ndarray | None = None,
    a_upper: np.ndarray | None = None,
    bounds: BoundsSpec = (0.0, None),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mip_rel_gap: float = 1e-4,
) -> Solution:
    """Minimise ``c @ x`` subject to ``a_lower <= a x <= a_upper`` and ``bounds``, with the
    variables flagged in ``integrality`` (1 = integer) integral, using HiGHS.

    At the time limit the best incumbent is returned with ``optimal=False``.

    Raises:
        InfeasibleError: the problem is proven infeasible.
        SolverError: unbounded, or no incumbent before the time limit, or a numerical failure.
    """
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    c = np.asarray(c, dtype=float)
    bnd = _as_bounds(c.size, *bounds)
    constraints = []
    if a is not None:
        rows = a.shape[0]
        lo = np.full(rows, -np.inf) if a_lower is None else np.asarray(a_lower, dtype=float)
        hi = np.full(rows, np.inf) if a_upper is None else np.asarray(a_upper, dtype=float)
        constraints.append(LinearConstraint(sparse.csr_array(a), lo, hi))
    res = milp(
        c,
        integrality=np.asarray(integrality),
        bounds=Bounds(bnd[:, 0], bnd[:, 1]),
        constraints=constraints,
        options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap), "disp": False},
    )
    if res.status == 0:
        return Solution(np.asarray(res.x, dtype=float), float(res.fun), True)
    if res.status == 2:
        raise InfeasibleError(f"MILP with {c.size} variables is infeasible: {res.message}")
    if res.status == 1 and res.x is not None:
        return Solution(np.asarray(res.x, dtype=float), float(res.fun), False)
    if res.status == 1:
        raise SolverError(f"MILP with {c.size} variables found no solution in {time_limit_s:g} s")
    if res.status == 3:
        raise SolverError(f"MILP with {c.size} variables is unbounded: {res.message}")
    raise SolverError(f"MILP with {c.size} variables failed: {res.message}")


def _solve_symmetric(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def _newton_step(
    g: np.ndarray, s: np.ndarray, grad: np.ndarray, a_eq: np.ndarray | None
) -> np.ndarray:
    gs = g / s[:, None]
    hess = gs.T @ gs
    n = g.shape[1]
    if a_eq is None or a_eq.shape[0] == 0:
        return _solve_symmetric(hess, -grad)
    k = a_eq.shape[0]
    kkt = np.block([[hess, a_eq.T], [a_eq, np.zeros((k, k))]])
    rhs = np.concatenate([-grad, np.zeros(k)])
    return _solve_symmetric(kkt, rhs)[:n]


def _damped_newton(
    x: np.ndarray,
    value: Callable[[np.ndarray], float],
    direction: Callable[[np.ndarray], tuple[np.ndarray, float]],
    feasible: Callable[[np.ndarray], bool],
) -> np.ndarray:
    """Minimise a self-concordant barrier from the strictly feasible ``x``: backtracking Newton
    steps, then a few full steps once in the quadratic region. The value of the point a line
    search accepts is the next search's starting value, so it is kept, not computed again."""
    polish, at_x = 0, None
    for _ in range(_NEWTON_MAX_ITER):
        dx, decrement = direction(x)
        if decrement / 2 <= _NEWTON_TOL or polish >= _POLISH_STEPS:
            return x
        if decrement < _QUADRATIC_REGION and feasible(x + dx):
            # Close to the minimum: full Newton steps converge quadratically, below what the
            # objective's rounding lets a line search see.
            x, polish, at_x = x + dx, polish + 1, None
            continue
        step, f0 = 1.0, value(x) if at_x is None else at_x
        trial = x + step * dx
        at_trial = value(trial)
        while at_trial > f0 - 0.25 * step * decrement:
            step *= 0.5
            if step < 1e-16:
                return x
            trial = x + step * dx
            at_trial = value(trial)
        x, at_x = trial, at_trial
    raise SolverError(f"barrier Newton method did not converge in {_NEWTON_MAX_ITER} iterations")


def central_point(
    g: np.ndarray,
    h: np.ndarray,
    x0: np.ndarray,
    *,
    c: np.ndarray | None = None,
    mu: float = 1.0,
    a_eq: np.ndarray | None = None,
    row_weights: np.ndarray | None = None,
) -> np.ndarray:
    """The point of ``{x : g x < h, a_eq x = a_eq x0}`` that minimises
    ``c @ x / mu - sum(row_weights * log(h - g x))``, by damped Newton from the strictly feasible
    ``x0`` (``row_weights`` default to 1).

    With ``c=None`` this is the analytic centre, which is where interior-point LP solvers end up on
    a face of optimal solutions.

    Raises:
        SolverError: ``x0`` is not strictly feasible, or Newton's method does not converge.
    """
    g = np.asarray(g, dtype=float)
    h = np.asarray(h, dtype=float)
    x = np.asarray(x0, dtype=float).copy()
    lin = np.zeros(x.size) if c is None else np.asarray(c, dtype=float) / mu
    rw = np.ones(h.size) if row_weights is None else np.asarray(row_weights, dtype=float)

    def value(point: np.ndarray) -> float:
        slack = h - g @ point
        if (slack <= 0).any():
            return np.inf
        return float(lin @ point - (rw * np.log(slack)).sum())

    def direction(point: np.ndarray) -> tuple[np.ndarray, float]:
        slack = h - g @ point
        grad = lin + g.T @ (rw / slack)
        dx = _newton_step(g * np.sqrt(rw)[:, None], slack, grad, a_eq)
        return dx, float(-grad @ dx)

    if not np.isfinite(value(x)):
        raise SolverError("barrier start point is not strictly inside the polyhedron")
    return _damped_newton(x, value, direction, lambda p: bool((h - g @ p > 0).all()))


def _box_knapsack_room(lower: np.ndarray, weights: np.ndarray, capacity: float) -> float:
    """The capacity left at ``lower``; ``SolverError`` if the box-knapsack set is empty."""
    room = capacity - float(weights @ lower)
    if (lower >= 1.0).any() or room < -_ROUNDING * max(1.0, capacity):
        raise SolverError("box-knapsack set has no interior")
    return room


def box_knapsack_start(lower: np.ndarray, weights: np.ndarray, capacity: float) -> np.ndarray:
    """A point of ``{x : lower <= x <= 1, weights @ x <= capacity}`` strictly inside where the set
    has an interior: ``lower`` moved toward 1 by ``min(1/2, room / (2 weights @ (1 - lower)))`` of
    the way, ``lower`` itself when the capacity leaves no room beyond rounding. Where
    :func:`box_knapsack_center` starts, and the fallback when it does not converge (same set, so
    the same LP optimum, only not centred).

    Raises:
        SolverError: the set is empty (some ``lower >= 1``, or ``weights @ lower > capacity``).
    """
    lower = np.asarray(lower, dtype=float)
    weights = np.asarray(weights, dtype=float)
    room = _box_knapsack_room(lower, weights, capacity)
    if room <= _ROUNDING * max(1.0, capacity):
        return lower.copy()
    span = float(weights @ (1.0 - lower))
    theta = min(0.5, 0.5 * room / span) if span > 0 else 0.5
    return lower + theta * (1.0 - lower)


def box_knapsack_center(
    lower: np.ndarray,
    weights: np.ndarray,
    capacity: float,
    *,
    lower_weight: float = 1.0,
    zero_weight: float = 1.0,
) -> np.ndarray:
    """The analytic centre of ``{x : lower <= x <= 1, x >= 0, weights @ x <= capacity}``, with one
    barrier term per inequality (so ``x >= lower`` and ``x >= 0`` both count, as they do in the
    reference's LPs; ``lower_weight`` and ``zero_weight`` reweight those two terms for other
    formulations). Requires ``lower < 1`` and ``weights @ lower <= capacity``; when the
    capacity leaves no room beyond rounding, the set is the point ``lower``. A coordinate whose
    interval ``[lower, 1]`` is thinner than ``THIN_BOX`` (a bound equal to 1 up to rounding) has no
    room for a barrier: it keeps its start point (:func:`box_knapsack_start`) and the rest is
    centred in the capacity left.

    Raises:
        SolverError: the set is empty, or Newton's method does not converge.
    """
    lower = np.asarray(lower, dtype=float)
    weights = np.asarray(weights, dtype=float)
    n = lower.size
    if n == 0:
        return np.zeros(0)
    x0 = box_knapsack_start(lower, weights, capacity)
    if np.array_equal(x0, lower):
        return x0
    thin = 1.0 - lower < THIN_BOX
    if thin.any():
        rest = ~thin
        x0[rest] = box_knapsack_center(
            lower[rest], weights[rest], capacity - float(weights[thin] @ x0[thin]),
            lower_weight=lower_weight, zero_weight=zero_weight,
        )
        return x0
    lw, zw = float(lower_weight), float(zero_weight)

    def value(x: np.ndarray) -> float:
        spare = capacity - float(weights @ x)
        # Array methods, not np.any: its Python wrapper cost more than the test itself.
        if spare <= 0 or (x >= 1.0).any() or (x <= lower).any() or (zw > 0 and (x <= 0).any()):
            return np.inf
        zero = zw * np.log(x).sum() if zw > 0 else 0.0
        return -float(lw * np.log(x - lower).sum() + zero + np.log(1.0 - x).sum() + np.log(spare))

    def direction(x: np.ndarray) -> tuple[np.ndarray, float]:
        # Hessian = diagonal + rank one (the capacity row): Sherman-Morrison, O(n).
        a, b, c = x - lower, 1.0 - x, capacity - float(weights @ x)
        zero_grad = zw / x if zw > 0 else 0.0
        zero_hess = zw / x**2 if zw > 0 else 0.0
        u = weights / c
        grad = -lw / a - zero_grad + 1.0 / b + u
        diag = lw / a**2 + zero_hess + 1.0 / b**2
        d_grad, d_u = grad / diag, u / diag
        dx = -(d_grad - d_u * float(u @ d_grad) / (1.0 + float(u @ d_u)))
        return dx, float(-grad @ dx)

    return _damped_newton(x0, value, direction, lambda x: bool(np.isfinite(value(x))))


def box_knapsack_interior(
    lower: np.ndarray, weights: np.ndarray, capacity: float, **barrier_weights: float
) -> np.ndarray:
    """:func:`box_knapsack_center`, or :func:`box_knapsack_start` when Newton's method does not
    converge: a point of the same set, so an LP optimum whichever is returned (the policies use
    the centre only to break ties among optima).

    Raises:
        SolverError: the set is empty.
    """
    try:
        return box_knapsack_center(lower, weights, capacity, **barrier_weights)
    except SolverError:
        return box_knapsack_start(lower, weights, capacity)
