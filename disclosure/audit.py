"""The interval audit: what an attacker can derive from everything published, by linear programming.

The attacker model (docs/disclosure.md, "Attacker model"). The unknowns are the exact category
counts x[population, breakdown, category, wijk] >= 0 (relaxed to real numbers). Every published
figure of this release, and every published figure of an earlier release of the same schooljaar,
is a linear constraint on a sum of unknowns:

- a published count r rounded to base b: the sum lies in [r - b//2, r + b - 1 - b//2];
- what the public policy implies: a published cell's denominator is at least the minimum cell,
  a published 0.0% or 100.0% has a denominator of at least the group minimum, a
  ``suppressed_primary`` cell's denominator lies below the group minimum, a
  ``suppressed_secondary`` cell's denominator reached the minimum cell (``primary.status_bounds``);
- with ``percentage_basis = "exact"``: 100 * num - (pct +/- 0.05) * den on the right side of 0.

For each withheld numerator and denominator with true value v the audit computes the minimum and
maximum of its sum over that polytope (rounded inwards to integers, as counts are integers), and
also the hull over the alternatives the cell's own status allows (``primary.status_cases``). The
interval must reach max(0, v - p) and v + p, p = max(3, 15% of v), except where the cell's own
status already reveals more (a primary-suppressed denominator is known to lie below 20 whatever
else is published): there the interval must reach as far as the status allows.

Solving. Populations share no unknowns, so each *family* (a population, or one origin group of
the transition population, which has no total) is audited on its own. A small family is one
joint LP. A large one is cut into blocks, one per gemeente (its wijken and wijkgroepen and the
gemeente itself): the only constraints that cross blocks are the national figures, which enter a
block as *coupling rows* on the block's own sum, with bounds from the national interval minus
the range the other gemeenten can take. That projection is exact for one coupling row; with
several national figures of one family it treats their ranges as independent (a box), an
approximation; the rest's ranges are taken from feasible points seen (inner, so conservative).
Coupling rows are added only where they could cut (docs/disclosure.md, "Decomposition").
One HiGHS model is kept per block and only its objective changes between solves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import InternalError

from .policy import Policy
from .primary import Bound, inherent_range, published_bounds, status_bounds, status_cases
from .rounding import rounding_interval

try:  # the bare solver class: same API, no console banner on creation
    from highspy._core import _Highs as _HighsClass
except ImportError:  # pragma: no cover - other highspy builds
    from highspy import Highs as _HighsClass
from highspy import HighsModelStatus, kHighsInf

INF = math.inf
_EPS = 1e-6
_SETTLED = (
    HighsModelStatus.kOptimal,
    HighsModelStatus.kInfeasible,
    HighsModelStatus.kUnbounded,
    HighsModelStatus.kUnboundedOrInfeasible,
)
#: A family with at most this many unknowns is audited as one joint LP (exact).
JOINT_MAX_COLUMNS = 2500


# --- the structure an attacker sees ----------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """Unknowns that published figures tie together: a population (or one origin group)."""

    key: str
    population: str
    breakdowns: tuple[str, ...]
    categories: tuple[str, ...]
    #: region-level family (opleidingsmobiliteit): atoms are gemeenten, blocks region pools
    regional: bool
    #: wijkcodes (or gemeentecodes) in atom order
    atoms: tuple[str, ...]

    @property
    def width(self) -> int:
        return len(self.breakdowns) * len(self.categories)

    def offsets(self, breakdowns: Iterable[str], categories: Iterable[str]) -> np.ndarray:
        cats = set(categories)
        nc = len(self.categories)
        out = [
            bi * nc + ci
            for bi, b in enumerate(self.breakdowns)
            if b in set(breakdowns)
            for ci, c in enumerate(self.categories)
            if c in cats
        ]
        return np.array(sorted(out), dtype=np.int64)


@dataclass(slots=True)
class Number:
    """A sum of unknowns that a cell shows: some categories of some atoms."""

    family: int
    item: int
    atoms: np.ndarray
    offsets: np.ndarray
    value: int
    #: the value shown when published (clamped under DP, then rounded)
    shown: int = 0


@dataclass(slots=True)
class Item:
    """The cells of one family at one unit: they share counts, so they are withheld together."""

    family: int
    breakdown: str
    level: GeoLevel
    code: str
    block: int
    numbers: list[int] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)
    #: a pooled wijk (or gemeente): shown only inside its pool, never published on its own
    phantom: bool = False
    #: for a pooled item: the item of the pool it went into
    pool: int = -1
    withheld: bool = False
    #: the largest count of the item (its population): the information a suppression costs
    size: int = 0
    cost: float = 0.0


@dataclass(slots=True)
class Cell:
    indicator: str
    breakdown: str
    level: GeoLevel
    code: str
    name: str
    item: int
    num: int
    den: int
    parent_code: str | None
    pooled_into: str | None = None
    status: CellStatus = CellStatus.PUBLISHED
    rule: Rule = Rule.PUBLISHED
    threshold: float | None = None
    #: for a secondary suppression: the cell it protects (a key text; its parent, or the cell
    #: that shares its denominator)
    protects: str | None = None

    def key_text(self, schooljaar: int) -> str:
        return f"{self.indicator}/{self.breakdown}/{schooljaar}/{self.level.value}/{self.code}"


@dataclass
class PriorRow:
    """A published count of an earlier release of the same schooljaar."""

    family: int
    atoms: np.ndarray
    offsets: np.ndarray
    lo: float
    hi: float
    block: int
    #: (numerator offsets, denominator offsets, lowest %, highest %) of an exact percentage
    ratio: tuple[np.ndarray, np.ndarray, float, float] | None = None


@dataclass
class Block:
    family: int
    atoms: np.ndarray
    items: list[int] = field(default_factory=list)
    #: position of each atom of the family in this block (-1: not in it)
    position: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class Table:
    """Everything disclosure control decides over, for one schooljaar."""

    schooljaar: int
    families: list[Family]
    #: per family: counts [atom, breakdown * category]
    values: list[np.ndarray]
    numbers: list[Number] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    #: (parent item, child items): the parent's counts are the sums of the children's
    relations: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    prior_rows: list[PriorRow] = field(default_factory=list)
    #: per family: audited as one joint LP
    joint: list[bool] = field(default_factory=list)
    #: DP: the counts are noisy and may be negative, so unknowns are not bounded below by 0
    noisy: bool = False
    #: number -> [(cell, "num" | "den")]
    exposures: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    _land: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def land_numbers(self, family: int) -> list[int]:
        if family not in self._land:
            self._land[family] = [
                n
                for it in self.items
                if it.family == family and it.level is GeoLevel.LAND
                for n in it.numbers
            ]
        return self._land[family]

    def make_joint(self, family: int) -> int:
        """Audit ``family`` as one joint LP from now on (e.g. once a national figure is withheld)."""
        fam = self.families[family]
        atoms = np.arange(len(fam.atoms), dtype=np.int64)
        block = Block(family, atoms, position=atoms.copy())
        bi = len(self.blocks)
        self.blocks.append(block)
        for b in self.blocks[:bi]:
            if b.family == family:
                b.items = []
        for ii, it in enumerate(self.items):
            if it.family == family:
                it.block = bi
                block.items.append(ii)
        for pr in self.prior_rows:
            if pr.family == family:
                pr.block = bi
        self.joint[family] = True
        return bi

    def index_exposures(self) -> None:
        self.exposures = defaultdict(list)
        for ci, c in enumerate(self.cells):
            self.exposures[c.num].append((ci, "num"))
            self.exposures[c.den].append((ci, "den"))

    def number_value(self, family: int, atoms: np.ndarray, offsets: np.ndarray) -> int:
        return int(self.values[family][np.ix_(atoms, offsets)].sum())

    def is_published(self, n: int) -> bool:
        return any(self.cells[c].status is CellStatus.PUBLISHED for c, _ in self.exposures[n])


# --- targets ------------------------------------------------------------------------------------


@dataclass
class Target:
    number: int
    value: int
    lo_req: float
    hi_req: float
    #: withheld cells that show this number, with the part it is of each
    owners: list[tuple[int, str]]


@dataclass
class Check:
    target: Target
    lo: float
    hi: float
    ok: bool
    #: items whose withholding could widen the failing side (from the LP duals)
    candidates: list[int] = field(default_factory=list)
    #: only rows that no suppression can remove bind: the status alone limits the count
    inherent: bool = False


def targets_of(table: Table, policy: Policy, cell_rule: dict[int, Rule]) -> list[Target]:
    """Every withheld numerator and denominator that must stay uncertain.

    Suppressed cells always; a pooled wijk (or gemeente) only where it would have failed the
    primary rules on its own (``cell_rule`` holds the rule of every cell on its exact counts).
    """
    owners: dict[int, list[tuple[int, str]]] = defaultdict(list)
    wanted: set[int] = set()
    for ci, c in enumerate(table.cells):
        if c.status is CellStatus.PUBLISHED:
            continue
        if c.status is CellStatus.POOLED and cell_rule.get(ci, Rule.PUBLISHED) is Rule.PUBLISHED:
            continue
        wanted.update((c.num, c.den))
    for n in wanted:
        for ci, part in table.exposures[n]:
            if table.cells[ci].status is not CellStatus.PUBLISHED:
                owners[n].append((ci, part))
    out = []
    for n in sorted(wanted):
        v = table.numbers[n].value
        p = policy.protection(abs(v))
        lo_req, hi_req = max(0.0, v - p) if not table.noisy else v - p, v + p
        for ci, part in owners[n]:
            ilo, ihi = inherent_range(table.cells[ci].status, part, policy)  # type: ignore[arg-type]
            lo_req, hi_req = max(lo_req, min(ilo, v)), min(hi_req, max(ihi, v))
        out.append(Target(n, v, lo_req, hi_req, owners[n]))
    return out


# --- one block's LP ---------------------------------------------------------------------------------


@dataclass
class _Row:
    cols: np.ndarray
    vals: np.ndarray
    lo: float
    hi: float
    #: the item whose withholding removes or relaxes this row (-1: none can)
    item: int


class _BlockLP:
    """x >= 0 (free under DP) with the block's rows, in one HiGHS model; only the objective
    changes between solves, so each solve starts from the previous basis."""

    def __init__(self, n_cols: int, rows: list[_Row], free: bool) -> None:
        self.n = n_cols
        self.rows = rows
        self.highs = _HighsClass()
        for option, value in (("output_flag", False), ("threads", 1), ("presolve", "off")):
            self.highs.setOptionValue(option, value)
        lower = np.full(n_cols, -kHighsInf if free else 0.0)
        self.highs.addVars(n_cols, lower, np.full(n_cols, kHighsInf))
        if rows:
            self._add(rows)
        self.all_cols = np.arange(n_cols, dtype=np.int32)

    def _add(self, rows: Sequence[_Row]) -> None:
        starts, idx, vals = [], [], []
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

    def with_rows(self, extra: Sequence[_Row]) -> _ExtraRows:
        return _ExtraRows(self, extra)

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
            _st, has_ray, ray = self.highs.getDualRay()
            return INF, np.zeros(0), (np.asarray(ray) if has_ray else np.zeros(0))
        raise InternalError(
            "AUDIT_SOLVER", f"HiGHS ended with {self.highs.modelStatusToString(status)}"
        )

    def _feasible(self) -> bool:
        self.highs.changeColsCost(self.n, self.all_cols, np.zeros(self.n))
        self.highs.run()
        return bool(self.highs.getModelStatus() == HighsModelStatus.kOptimal)


class _ExtraRows:
    """Rows added for one case of a status split and removed again (last in, first out)."""

    def __init__(self, lp: _BlockLP, rows: Sequence[_Row]) -> None:
        self.lp = lp
        self.rows = list(rows)

    def __enter__(self) -> _BlockLP:
        self.first = int(self.lp.highs.getNumRow())
        if self.rows:
            self.lp._add(self.rows)
        self.lp.rows = self.lp.rows + self.rows
        return self.lp

    def __exit__(self, *exc: object) -> None:
        if self.rows:
            n = len(self.rows)
            self.lp.highs.deleteRows(n, np.arange(self.first, self.first + n, dtype=np.int32))
            self.lp.rows = self.lp.rows[: len(self.lp.rows) - n]


# --- the auditor ------------------------------------------------------------------------------------


class Auditor:
    """Checks targets block by block; rebuilds a block's LP only after it changed."""

    def __init__(self, table: Table, policy: Policy) -> None:
        self.table = table
        self.policy = policy
        self._lps: dict[int, _BlockLP] = {}
        #: block -> coupling rows (national figures seen from this block), once needed
        self.coupling: dict[int, list[_Row]] = {}
        #: (block, land number) -> [lowest, highest] block sum seen at feasible points
        self.seen: dict[tuple[int, int], list[float]] = {}
        self._pool_max_cache: dict[int, float] = {}
        self.solves = 0

    # -- structure helpers ------------------------------------------------------------------

    def block_of_number(self, n: int) -> int:
        return self.table.items[self.table.numbers[n].item].block

    def columns(self, block: int, atoms: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        b = self.table.blocks[block]
        width = self.table.families[b.family].width
        pos = b.position[atoms]
        if (pos < 0).any():
            raise InternalError("AUDIT_BLOCK", "a count reaches outside its audit block")
        return (pos[:, None] * width + offsets[None, :]).ravel()

    def invalidate(self, blocks: Iterable[int]) -> None:
        blocks = set(blocks)
        for b in blocks:
            self._lps.pop(b, None)
        for n in [n for n in self._pool_max_cache if self.block_of_number(n) in blocks]:
            del self._pool_max_cache[n]

    def invalidate_items(self, items: Iterable[int]) -> None:
        blocks = {self.table.items[i].block for i in items}
        if -1 in blocks:  # a national figure changed: every block of the family sees it
            fams = {self.table.items[i].family for i in items if self.table.items[i].block == -1}
            blocks |= {bi for bi, b in enumerate(self.table.blocks) if b.family in fams}
        self.invalidate(blocks - {-1})

    # -- bounds ---------------------------------------------------------------------------------

    def number_bounds(self, n: int, everything_withheld: bool = False) -> tuple[float, float, int]:
        """The interval the attacker knows for number ``n`` and the item that could relax it."""
        t = self.table
        num = t.numbers[n]
        lo, hi = (-INF if t.noisy else 0.0), INF
        removable = -1
        published = (not everything_withheld) and t.is_published(n)
        base = self.policy.rounding.base
        if published:
            lo, hi = rounding_interval(num.shown, base)
            if t.noisy and num.shown == 0:
                lo = -INF  # a clamped noisy count may lie below zero
            removable = num.item
        for ci, part in t.exposures[n]:
            cell = t.cells[ci]
            status = cell.status
            if everything_withheld and status is CellStatus.PUBLISHED:
                status = CellStatus.SUPPRESSED_SECONDARY
            if status is CellStatus.PUBLISHED:
                bounds = published_bounds(
                    t.numbers[cell.num].shown, t.numbers[cell.den].shown, self.policy
                )
            else:
                bounds = status_bounds(status, self.policy)
            for b in bounds:
                if b.part == part:
                    lo, hi = max(lo, b.lo), min(hi, b.hi)
        if not lo - _EPS <= num.value <= hi + _EPS:
            if not t.noisy:
                raise InternalError(
                    "AUDIT_UNSOUND", "a published bound excludes the true count (a bug)"
                )
            lo, hi = min(lo, num.value), max(hi, num.value)
        return lo, hi, removable

    def _cell_rows(self, block: int, everything_withheld: bool) -> list[_Row]:
        """Complement rows (denominator minus numerator) and exact-percentage rows."""
        t, pol = self.table, self.policy
        rows: list[_Row] = []
        for item in t.blocks[block].items:
            for ci in t.items[item].cells:
                cell = t.cells[ci]
                status = cell.status
                if everything_withheld and status is CellStatus.PUBLISHED:
                    status = CellStatus.SUPPRESSED_SECONDARY
                num, den = t.numbers[cell.num], t.numbers[cell.den]
                if status is CellStatus.PUBLISHED:
                    bounds = published_bounds(num.shown, den.shown, pol)
                else:
                    bounds = status_bounds(status, pol)
                rest_bounds = [b for b in bounds if b.part == "rest"]
                removable = item if status is CellStatus.PUBLISHED else -1
                if rest_bounds:
                    cols = self._rest_columns(block, cell)
                    lo = max(b.lo for b in rest_bounds)
                    hi = min(b.hi for b in rest_bounds)
                    rows.append(_Row(cols, np.ones(len(cols)), lo, hi, removable))
                if (
                    status is CellStatus.PUBLISHED
                    and pol.rounding.percentage_basis == "exact"
                    and den.shown > 0
                ):
                    pct = 100.0 * num.shown / den.shown
                    pct = round(pct, pol.rounding.percentage_decimals)
                    half = 0.5 * 10.0 ** (-pol.rounding.percentage_decimals)
                    rows += self._ratio_rows(
                        block, num.atoms, num.offsets, den.offsets, pct - half, pct + half,
                        removable,
                    )
        return rows

    def _rest_columns(self, block: int, cell: Cell) -> np.ndarray:
        t = self.table
        num, den = t.numbers[cell.num], t.numbers[cell.den]
        rest = np.setdiff1d(den.offsets, num.offsets)
        return self.columns(block, den.atoms, rest)

    def _ratio_rows(
        self,
        block: int,
        atoms: np.ndarray,
        num_off: np.ndarray,
        den_off: np.ndarray,
        lo_pct: float,
        hi_pct: float,
        removable: int,
    ) -> list[_Row]:
        # lo% * den <= 100 * num <= hi% * den, as two rows over the denominator's unknowns
        den_cols = self.columns(block, atoms, den_off)
        num_cols = set(self.columns(block, atoms, num_off).tolist())
        upper = np.array([(100.0 if c in num_cols else 0.0) - hi_pct for c in den_cols])
        lower = np.array([(100.0 if c in num_cols else 0.0) - max(lo_pct, 0.0) for c in den_cols])
        return [
            _Row(den_cols, upper, -INF, 0.0, removable),
            _Row(den_cols, lower, 0.0, INF, removable),
        ]

    def rows(self, block: int, everything_withheld: bool = False) -> list[_Row]:
        t = self.table
        b = t.blocks[block]
        rows: list[_Row] = []
        numbers = [n for item in b.items for n in t.items[item].numbers]
        for n in numbers:
            lo, hi, removable = self.number_bounds(n, everything_withheld)
            if lo <= (-INF if t.noisy else 0.0) and hi == INF:
                continue  # no information: the unknowns' own bounds say as much
            num = t.numbers[n]
            cols = self.columns(block, num.atoms, num.offsets)
            rows.append(_Row(cols, np.ones(len(cols)), lo, hi, removable))
        rows += self._cell_rows(block, everything_withheld)
        for pr in t.prior_rows:
            if pr.block != block:
                continue
            if pr.ratio is None:
                cols = self.columns(block, pr.atoms, pr.offsets)
                rows.append(_Row(cols, np.ones(len(cols)), pr.lo, pr.hi, -1))
            else:
                num_off, den_off, lo_pct, hi_pct = pr.ratio
                rows += self._ratio_rows(block, pr.atoms, num_off, den_off, lo_pct, hi_pct, -1)
        if not everything_withheld:
            rows += self.coupling.get(block, [])
        return rows

    def lp(self, block: int) -> _BlockLP:
        if block not in self._lps:
            b = self.table.blocks[block]
            n_cols = len(b.atoms) * self.table.families[b.family].width
            self._lps[block] = _BlockLP(n_cols, self.rows(block), self.table.noisy)
        return self._lps[block]

    # -- checking ---------------------------------------------------------------------------

    def _case_rows(self, block: int, ci: int, case: list[Bound]) -> list[_Row]:
        t = self.table
        cell = t.cells[ci]
        out = []
        for b in case:
            if b.part == "rest":
                cols = self._rest_columns(block, cell)
            else:
                num = t.numbers[cell.num if b.part == "num" else cell.den]
                cols = self.columns(block, num.atoms, num.offsets)
            out.append(_Row(cols, np.ones(len(cols)), b.lo, b.hi, -1))
        return out

    @staticmethod
    def _satisfies(x: np.ndarray, rows: list[_Row]) -> bool:
        if x.size == 0:
            return False
        return all(r.lo - _EPS <= float(x[r.cols] @ r.vals) <= r.hi + _EPS for r in rows)

    def _note_point(self, block: int, x: np.ndarray) -> None:
        """Remember the block sums of the national figures at a feasible point (coupling)."""
        if x.size == 0:
            return
        t = self.table
        fam = t.blocks[block].family
        if t.joint[fam]:
            return
        for n in self._land_numbers(fam):
            num = t.numbers[n]
            cols = self._block_part(block, num)
            s = float(x[cols].sum())
            if (block, n) not in self.seen:
                true = float(self._true_part(block, num))  # the truth is a feasible point too
                self.seen[(block, n)] = [true, true]
            seen = self.seen[(block, n)]
            seen[0], seen[1] = min(seen[0], s), max(seen[1], s)

    def _land_numbers(self, family: int) -> list[int]:
        return self.table.land_numbers(family)

    def _block_part(self, block: int, num: Number) -> np.ndarray:
        b = self.table.blocks[block]
        atoms = num.atoms[b.position[num.atoms] >= 0]
        return self.columns(block, atoms, num.offsets)

    @staticmethod
    def _removable(duals: np.ndarray, rows: Sequence[_Row]) -> set[int]:
        return {r.item for r, d in zip(rows, duals, strict=False) if abs(d) > 1e-9 and r.item >= 0}

    def _interval(
        self, block: int, lp: _BlockLP, target: Target, note: bool
    ) -> tuple[float, float, set[int], set[int]]:
        """[min, max] of a target over the block's LP, narrowed by the hull of its own cells'
        status cases; with the items whose rows limit each side."""
        t = self.table
        num = t.numbers[target.number]
        cols = self.columns(block, num.atoms, num.offsets)
        found: dict[float, tuple[float, np.ndarray, set[int]]] = {}
        for sense in (1.0, -1.0):
            value, x, duals = lp.optimize(cols, sense)
            self.solves += 1
            if note:
                self._note_point(block, x)
            if value == INF:
                raise InternalError(
                    "AUDIT_INFEASIBLE", "the published figures admit no counts (a bug)"
                )
            found[sense] = (value * sense, x, self._removable(duals, lp.rows))
        lo_val, x_lo, c_lo = found[1.0]
        hi_val, x_hi, c_hi = found[-1.0]
        # A cell's own status allows a few alternatives: the attacker takes their hull. The
        # base optimum already lies in some alternative in most cases, which settles it.
        for ci, _part in target.owners:
            cases = status_cases(t.cells[ci].status, self.policy)
            if not cases:
                continue
            case_rows = [self._case_rows(block, ci, c) for c in cases]
            if not any(self._satisfies(x_lo, r) for r in case_rows):
                value, cands = self._case_hull(lp, cols, case_rows, 1.0)
                if value > lo_val:
                    lo_val, c_lo = value, cands
            if not any(self._satisfies(x_hi, r) for r in case_rows):
                value, cands = self._case_hull(lp, cols, case_rows, -1.0)
                if value < hi_val:
                    hi_val, c_hi = value, cands
        lo = math.ceil(lo_val - _EPS) if lo_val > -INF else -INF
        hi = math.floor(hi_val + _EPS) if hi_val < INF else INF
        return lo, hi, c_lo, c_hi

    def _pool_number(self, target: Target) -> int | None:
        """For a pooled wijk's (or gemeente's) count: the same count of its pool, if nothing
        published but the pool's own sums touches the member (no earlier release cuts it)."""
        t = self.table
        num = t.numbers[target.number]
        item = t.items[num.item]
        if not item.phantom or item.pool < 0:
            return None
        block = item.block
        if any(pr.block == block for pr in t.prior_rows):
            return None
        for n in t.items[item.pool].numbers:
            if np.array_equal(t.numbers[n].offsets, num.offsets):
                return n
        return None

    def _pool_max(self, n: int) -> float:
        if n not in self._pool_max_cache:
            block = self.block_of_number(n)
            num = self.table.numbers[n]
            cols = self.columns(block, num.atoms, num.offsets)
            value, x, _duals = self.lp(block).optimize(cols, -1.0)
            self.solves += 1
            self._pool_max_cache[n] = -value
        return self._pool_max_cache[n]

    def check(self, target: Target) -> Check:
        block = self.block_of_number(target.number)
        if block == -1:
            raise InternalError("AUDIT_BLOCK", "a national count is audited outside a joint LP")
        pool_n = self._pool_number(target)
        if pool_n is not None:
            # A member of a pool can hold anything from none to all of the pool's count: every
            # published sum covers the whole pool. So its interval is [0, max of the pool's count].
            pool_true = self.table.numbers[pool_n].value
            hi = pool_true if pool_true >= target.hi_req else self._pool_max(pool_n)
            hi = math.floor(hi + _EPS) if hi < INF else INF
            lo = -INF if self.table.noisy else 0.0
            if hi >= target.hi_req - _EPS and lo <= target.lo_req + _EPS:
                return Check(target, lo, hi, True)
        lo, hi, c_lo, c_hi = self._interval(block, self.lp(block), target, note=True)
        ok_lo = lo <= target.lo_req + _EPS
        ok_hi = hi >= target.hi_req - _EPS
        check = Check(target, lo, hi, ok_lo and ok_hi)
        if not check.ok:
            cands = (set() if ok_lo else c_lo) | (set() if ok_hi else c_hi)
            check.candidates = sorted(cands)
            check.inherent = not cands
        return check

    def related_items(self, target: Target) -> list[int]:
        """Published items of the target's block: the fallback when no dual points anywhere
        (a status alternative made infeasible by published rows, for instance)."""
        t = self.table
        block = self.block_of_number(target.number)
        return [i for i in t.blocks[block].items if not t.items[i].withheld and not t.items[i].phantom]

    def _case_hull(
        self, lp: _BlockLP, cols: np.ndarray, case_rows: list[list[_Row]], sense: float
    ) -> tuple[float, set[int]]:
        """The widest of the cases on one side, and the items whose rows limit it: those binding
        the widest case and those ruling the other cases out."""
        best: float | None = None
        best_cands: set[int] = set()
        unlock: set[int] = set()
        for rows in case_rows:
            with lp.with_rows(rows) as extended:
                value, _x, duals = extended.optimize(cols, sense)
                self.solves += 1
                cands = self._removable(duals, extended.rows)
            if value == INF:  # this alternative contradicts what is published
                unlock |= cands
                continue
            value *= sense
            if best is None or (value < best if sense > 0 else value > best):
                best, best_cands = value, cands
        if best is None:
            raise InternalError("AUDIT_INFEASIBLE", "no alternative of a status fits (a bug)")
        return best, best_cands | unlock

    def inherent_interval(self, target: Target) -> tuple[float, float]:
        """The interval if everything else were withheld: no suppression can do better."""
        t = self.table
        block = self.block_of_number(target.number)
        b = t.blocks[block]
        n_cols = len(b.atoms) * t.families[b.family].width
        lp = _BlockLP(n_cols, self.rows(block, everything_withheld=True), t.noisy)
        lo, hi, _d_lo, _d_hi = self._interval(block, lp, target, note=False)
        return lo, hi

    # -- coupling of blocks through national figures -------------------------------------------

    def couple(self, targets: Sequence[Target]) -> list[int]:
        """Add coupling rows to blocks where the national figures could cut; return them."""
        t = self.table
        by_block: dict[int, list[Target]] = defaultdict(list)
        for tg in targets:
            by_block[self.block_of_number(tg.number)].append(tg)
        changed: list[int] = []
        for fam in range(len(t.families)):
            if t.joint[fam]:
                continue
            land = [n for n in self._land_numbers(fam) if t.is_published(n)]
            if not land:
                continue
            blocks = [bi for bi, b in enumerate(t.blocks) if b.family == fam]
            for bi in blocks:
                for n in land:
                    if (bi, n) not in self.seen:
                        num = t.numbers[n]
                        s = float(self._true_part(bi, num))
                        self.seen[(bi, n)] = [s, s]
            for n in land:
                lo_l, hi_l, _ = self.number_bounds(n)
                num = t.numbers[n]
                for pr in t.prior_rows:  # an earlier release's national figure of the same sum
                    if pr.block == -1 and pr.family == fam and pr.ratio is None:
                        if np.array_equal(pr.offsets, num.offsets) and len(pr.atoms) == len(
                            num.atoms
                        ):
                            lo_l, hi_l = max(lo_l, pr.lo), min(hi_l, pr.hi)
                total_lo = sum(self.seen[(bi, n)][0] for bi in blocks)
                total_hi = sum(self.seen[(bi, n)][1] for bi in blocks)
                for bi in blocks:
                    if not by_block.get(bi):
                        continue  # nothing withheld here: the national figure cannot narrow it
                    s_lo, s_hi = self.seen[(bi, n)]
                    c_lo = lo_l - (total_hi - s_hi)
                    c_hi = hi_l - (total_lo - s_lo)
                    own_lo, own_hi = self._own_range(bi, n)
                    if c_lo <= own_lo + _EPS and c_hi >= own_hi - _EPS:
                        continue  # the coupling row cannot cut this block
                    num = t.numbers[n]
                    cols = self._block_part(bi, num)
                    row = _Row(cols, np.ones(len(cols)), max(c_lo, 0.0), c_hi, num.item)
                    self.coupling.setdefault(bi, []).append(row)
                    changed.append(bi)
        self.invalidate(set(changed))
        return sorted(set(changed))

    def _true_part(self, block: int, num: Number) -> int:
        b = self.table.blocks[block]
        atoms = num.atoms[b.position[num.atoms] >= 0]
        return self.table.number_value(num.family, atoms, num.offsets)

    def _own_range(self, block: int, land_number: int) -> tuple[float, float]:
        """An outer bound on the block's own sum of a national figure's categories."""
        t = self.table
        offsets = t.numbers[land_number].offsets
        for item in t.blocks[block].items:
            it = t.items[item]
            if it.level not in (GeoLevel.GEMEENTE, GeoLevel.REGIO):
                continue
            for n in it.numbers:
                if np.array_equal(t.numbers[n].offsets, offsets):
                    lo, hi, _ = self.number_bounds(n)
                    return lo, hi
        return (-INF if t.noisy else 0.0), INF


def audit_all(auditor: Auditor, targets: Sequence[Target]) -> list[Check]:
    """Check targets grouped by block (one model build per block)."""
    order = sorted(targets, key=lambda tg: (auditor.block_of_number(tg.number), tg.number))
    return [auditor.check(tg) for tg in order]
