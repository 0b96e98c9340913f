"""One audit block as a linear programme in HiGHS: rows of published sums, x >= 0.

``BlockLP`` keeps one HiGHS model per block; between solves only the objective changes, so each
solve starts from the previous basis. ``ExtraRows`` adds the rows of one status alternative for
a while. ``BlockLP.contains`` checks a point against every row at once (a sparse matrix).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from kansenkluis.errors import InternalError

try:  # the bare solver class: same API, no console banner on creation
    from highspy._core import _Highs as _HighsClass
except ImportError:  # pragma: no cover - other highspy builds
    from highspy import Highs as _HighsClass
from highspy import HighsModelStatus, kHighsInf

INF = math.inf
EPS = 1e-6


_SETTLED = (
    HighsModelStatus.kOptimal,
    HighsModelStatus.kInfeasible,
    HighsModelStatus.kUnbounded,
    HighsModelStatus.kUnboundedOrInfeasible,
)


@dataclass
class Row:
    cols: np.ndarray
    vals: np.ndarray
    lo: float
    hi: float
    #: the item whose withholding removes or relaxes this row (-1: none can)
    item: int


class BlockLP:
    """x >= 0 (free under DP) with the block's rows, in one HiGHS model; only the objective
    changes between solves, so each solve starts from the previous basis."""

    def __init__(self, n_cols: int, rows: list[Row], free: bool) -> None:
        self.n = n_cols
        self.rows = rows
        self.free = free
        #: the rows as one sparse matrix with their bounds, for checking points (built lazily)
        self._matrix: tuple[sparse.csr_matrix, np.ndarray, np.ndarray] | None = None
        self.highs = _HighsClass()
        for option, value in (
            ("output_flag", False),
            ("threads", 1),
            ("presolve", "off"),
        ):
            self.highs.setOptionValue(option, value)
        lower = np.full(n_cols, -kHighsInf if free else 0.0)
        self.highs.addVars(n_cols, lower, np.full(n_cols, kHighsInf))
        if rows:
            self._add(rows)
        self.all_cols = np.arange(n_cols, dtype=np.int32)

    def _add(self, rows: Sequence[Row]) -> None:
        self._matrix = None
        starts: list[int] = []
        idx: list[int] = []
        vals: list[float] = []
        for r in rows:
            starts.append(len(idx))
            idx.extend(r.cols.tolist())
            vals.extend(r.vals.tolist())
        lo = np.array([-kHighsInf if r.lo == -INF else r.lo for r in rows], dtype=float)
        hi = np.array([kHighsInf if r.hi == INF else r.hi for r in rows], dtype=float)
        self.highs.addRows(
            len(rows),
            lo,
            hi,
            len(idx),
            np.array(starts, dtype=np.int32),
            np.array(idx, dtype=np.int32),
            np.array(vals, dtype=float),
        )

    def with_rows(self, extra: Sequence[Row]) -> ExtraRows:
        return ExtraRows(self, extra)

    def contains(self, x: np.ndarray) -> bool:
        """Whether ``x`` satisfies every row (and x >= 0 unless free): a point an attacker
        cannot rule out, found without solving."""
        if not self.free and bool((x < -EPS).any()):
            return False
        if self._matrix is None:
            indptr = np.cumsum([0, *(len(r.cols) for r in self.rows)])
            cols = np.concatenate([r.cols for r in self.rows]) if self.rows else np.zeros(0)
            vals = np.concatenate([r.vals for r in self.rows]) if self.rows else np.zeros(0)
            matrix = sparse.csr_matrix(
                (vals, cols.astype(np.int64), indptr), shape=(len(self.rows), self.n)
            )
            lo = np.array([r.lo for r in self.rows], dtype=float)
            hi = np.array([r.hi for r in self.rows], dtype=float)
            self._matrix = (matrix, lo, hi)
        matrix, lo, hi = self._matrix
        ax = matrix @ x
        return bool(np.all(ax >= lo - EPS) and np.all(ax <= hi + EPS))

    def optimize(self, cols: np.ndarray, sense: float) -> tuple[float, np.ndarray, np.ndarray]:
        """min (sense 1) or -max (sense -1) of the sum over ``cols``; value, point, row duals."""
        cost = np.zeros(self.n)
        cost[cols] = sense
        self.highs.changeColsCost(self.n, self.all_cols, cost)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status not in _SETTLED:
            # A warm start after rows were added can stall; a cold start settles it.
            self.highs.clearSolver()
            self.highs.run()
            status = self.highs.getModelStatus()
        if status == HighsModelStatus.kOptimal:
            sol = self.highs.getSolution()
            value = float(self.highs.getInfo().objective_function_value)
            return value, np.asarray(sol.col_value), np.asarray(sol.row_dual)
        if status in (HighsModelStatus.kUnbounded, HighsModelStatus.kUnboundedOrInfeasible):
            if status == HighsModelStatus.kUnboundedOrInfeasible and not self._feasible():
                return INF, np.zeros(0), np.zeros(0)
            return -INF, np.zeros(0), np.zeros(0)
        if status == HighsModelStatus.kInfeasible:
            # the dual ray certifies infeasibility: its rows are what rules this case out
            _st, has_ray, ray = self.highs.getDualRay()  # type: ignore[attr-defined]
            return INF, np.zeros(0), (np.asarray(ray) if has_ray else np.zeros(0))
        raise InternalError(
            "AUDIT_SOLVER", f"HiGHS ended with {self.highs.modelStatusToString(status)}"
        )

    def _feasible(self) -> bool:
        self.highs.changeColsCost(self.n, self.all_cols, np.zeros(self.n))
        self.highs.run()
        return bool(self.highs.getModelStatus() == HighsModelStatus.kOptimal)


class ExtraRows:
    """Rows added for one case of a status split and removed again (last in, first out)."""

    def __init__(self, lp: BlockLP, rows: Sequence[Row]) -> None:
        self.lp = lp
        self.rows = list(rows)

    def __enter__(self) -> BlockLP:
        self.first = int(self.lp.highs.getNumRow())
        self.lp._matrix = None
        if self.rows:
            self.lp._add(self.rows)
        self.lp.rows = self.lp.rows + self.rows
        return self.lp

    def __exit__(self, *exc: object) -> None:
        if self.rows:
            n = len(self.rows)
            self.lp.highs.deleteRows(n, np.arange(self.first, self.first + n, dtype=np.int32))
            self.lp.rows = self.lp.rows[: len(self.lp.rows) - n]
            self.lp._matrix = None
