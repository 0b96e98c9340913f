"""The interval audit: what an attacker can derive from everything published, by linear programming.

The attacker model (docs/disclosure.md, "The attacker model"). The unknowns are the exact
category counts x[population, breakdown, category, wijk] >= 0 (relaxed to real numbers). Every
published figure of this release, and every published figure of an earlier release of the same
schooljaar, is a linear constraint on a sum of unknowns:

- a published count r rounded to base b: the sum lies in [r - b//2, r + b - 1 - b//2];
- what the public policy implies: a published cell's denominator is at least the minimum cell,
  a published 0.0% or 100.0% has a denominator of at least the group minimum, a
  ``suppressed_primary`` cell's denominator lies below the group minimum, a
  ``suppressed_secondary`` cell's denominator reached the minimum cell (``primary.status_bounds``);
- the pooling map: a unit that still borders another unit of its gemeente was not small
  (``KnownRow``);
- with ``percentage_basis = "exact"``: 100 * num - (pct +/- 0.05) * den on the right side of 0.

For each withheld numerator and denominator with true value v the audit computes the minimum and
maximum of its sum over that polytope (rounded inwards to integers, as counts are integers),
narrowed to the hull over the alternatives the cell's own status allows
(``primary.status_cases``). The interval must reach max(0, v - p) and v + p,
p = max(3, 15% of v), except where the status alone already reveals more (a primary-suppressed
denominator is known to lie below 20 whatever else is published), or one published count of a
larger unit caps it (``Table.published_cap``): there it must reach as far as those allow.

Solving. Populations share no unknowns, so each population (a *family*) is audited on its own. A
small family is one joint LP (exact). A large one is cut into blocks, one per gemeente (its
wijken, wijkgroepen and the gemeente itself): only the national figures cross blocks. Where they
could cut, a block is *coupled*: it gets a rest-of-the-country atom whose category counts are
bounded by what the other blocks were seen to reach (inner bounds, so on the safe side), and
each national figure becomes an exact row over block plus rest (``disclosure.coupling``).
docs/disclosure.md ("Decomposition") says what is exact and what is approximate. One HiGHS
model is kept per block; only the objective changes between solves, and optima found earlier
(still feasible, as withholding only relaxes) settle many targets without a solve.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import numpy as np

from kansenkluis.domain import CellStatus, GeoLevel
from kansenkluis.errors import InternalError

from .coupling import Coupling
from .lp import EPS as _EPS
from .lp import BlockLP, Row
from .policy import Policy
from .primary import Bound, published_bounds, status_bounds, status_cases
from .rounding import rounding_interval
from .table import INF, Cell, Check, KnownRow, Number, PriorRow, Table, Target

#: How many recent LP optima per block are kept to pass later targets without a solve.
_POINTS_KEPT = 60


#: How many moved points ``_swap_points`` tries per side of a target before it solves.
_SWAP_TRIES = 8


class Auditor:
    """Checks targets block by block; rebuilds a block's LP only after it changed."""

    def __init__(self, table: Table, policy: Policy) -> None:
        self.table = table
        self.policy = policy
        self._lps: dict[int, BlockLP] = {}
        #: coupled block -> [(national number, L_lo, L_hi, rest lowest, rest highest)]
        #: (block, land number) -> [lowest, highest] block sum seen at feasible points
        self._pool_max_cache: dict[int, tuple[float, set[int]]] = {}
        self._truth_cache: dict[tuple[int, int], np.ndarray] = {}
        self._truth_kept: set[tuple[int, int]] = set()
        self._rest_cache: dict[tuple[int, int, int], np.ndarray] = {}
        self._cols: dict[tuple[int, int], np.ndarray] = {}
        self._case_cache: dict[tuple[int, int, str], list[list[Row]]] = {}
        self._part_cache: dict[tuple[int, int], np.ndarray] = {}
        #: block -> recent optimal points (feasible for as long as the block only relaxes)
        self.points: dict[int, list[np.ndarray]] = {}
        self._pmat: dict[int, np.ndarray] = {}
        self._inherent_lps: dict[tuple[int, bool], BlockLP] = {}
        self._prior_case_cache: dict[tuple[int, int], tuple[list[list[Row]], int]] = {}
        self._sb: dict[CellStatus, list[Bound]] = {}
        self._pb: dict[tuple[bool, bool], list[Bound]] = {}
        self._keep_case_points: int | None = None
        #: what the solves were spent on (for the benchmark report)
        self.tally: Counter[str] = Counter()
        self.solves = 0
        #: the rest-of-country couplings of this auditor's blocks
        self.coupling = Coupling(self)
        #: (number of blocks when built, block -> its prior rows / known rows)
        self._by_block: tuple[int, dict[int, list[PriorRow]], dict[int, list[KnownRow]]] = (
            -1,
            {},
            {},
        )

    # -- state of some blocks, handed between processes ---------------------------------------

    def export_state(self, blocks: Iterable[int]) -> _BlockState:
        """What checking ``blocks`` left that later checks read: kept points, block sums seen,
        pool maxima, counters. Solver models stay behind (they cannot travel)."""
        keep = set(blocks)
        return {
            "points": {b: list(self.points.get(b, [])) for b in keep},
            "seen": {k: list(v) for k, v in self.coupling.seen.items() if k[0] in keep},
            "pool_max": {
                n: v for n, v in self._pool_max_cache.items() if self.block_of_number(n) in keep
            },
            "truth_kept": {k for k in self._truth_kept if k[0] in keep},
        }

    def adopt(self, blocks: Iterable[int], state: _BlockState, counted: _BlockState) -> None:
        """Take over the state of ``blocks`` as ``export_state`` gave it (from a child, or from
        this process), and drop their solver models: either way they are rebuilt alike."""
        keep = set(blocks)
        self.invalidate(keep)
        for b in keep:
            self._pmat.pop(b, None)
            points = state["points"].get(b, [])
            if points:
                self.points[b] = list(points)
            else:
                self.points.pop(b, None)
        seen = self.coupling.seen
        for key in [k for k in seen if k[0] in keep]:
            del seen[key]
        seen.update({k: list(v) for k, v in state["seen"].items()})
        self._pool_max_cache.update(state["pool_max"])
        self._truth_kept = {k for k in self._truth_kept if k[0] not in keep} | state["truth_kept"]
        # the solves a child made (none when the blocks were checked here: counted already)
        self.solves += counted.get("solves", 0)
        self.tally.update(counted.get("tally", {}))

    # -- structure helpers ------------------------------------------------------------------

    def _rows_of_block(self, block: int) -> tuple[list[PriorRow], list[KnownRow]]:
        """The prior and known rows of a block (indexed once; a new block re-indexes, since
        making a family joint moves its rows)."""
        t = self.table
        if self._by_block[0] != len(t.blocks):
            prior: dict[int, list[PriorRow]] = defaultdict(list)
            known: dict[int, list[KnownRow]] = defaultdict(list)
            for pr in t.prior_rows:
                prior[pr.block].append(pr)
            for kr in t.known_rows:
                known[kr.block].append(kr)
            self._by_block = (len(t.blocks), prior, known)
        return self._by_block[1].get(block, []), self._by_block[2].get(block, [])

    def block_of_number(self, n: int) -> int:
        return self.table.items[self.table.numbers[n].item].block

    def number_columns(self, block: int, n: int) -> np.ndarray:
        key = (block, n)
        cols = self._cols.get(key)
        if cols is None:
            num = self.table.numbers[n]
            cols = self._cols[key] = self.columns(block, num.atoms, num.offsets)
        return cols

    def columns(self, block: int, atoms: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        b = self.table.blocks[block]
        width = self.table.families[b.family].width
        pos = b.position[atoms]
        if len(pos) > 1:  # atoms of one unit share a position
            pos = np.unique(pos)
        if pos[0] < 0:
            raise InternalError("AUDIT_BLOCK", "a count reaches outside its audit block")
        return (pos[:, None] * width + offsets[None, :]).ravel()

    def make_joint(self, family: int) -> None:
        """Audit ``family`` as one joint LP from now on (a national figure of it is withheld):
        every model is rebuilt, and the family's rest-of-country couplings go."""
        self.table.make_joint(family)
        self.invalidate(range(len(self.table.blocks)))
        self.coupling.forget_family(family)

    def invalidate(self, blocks: Iterable[int]) -> None:
        blocks = set(blocks)
        for b in blocks:
            self._lps.pop(b, None)
            for figures in (True, False):
                self._inherent_lps.pop((b, figures), None)
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
            # withholding the item of a cell that still shows it (bijstelling's denominator is
            # heroverweging's numerator: two items show one count)
            removable = next(
                t.cells[ci].item
                for ci, _part in t.exposures[n]
                if t.cells[ci].status is CellStatus.PUBLISHED
            )
        for ci, part in t.exposures[n]:
            cell = t.cells[ci]
            status = cell.status
            if everything_withheld and status is CellStatus.PUBLISHED:
                continue  # as if it vanished without a trace
            if status is CellStatus.PUBLISHED:
                bounds = self._published_bounds(
                    t.numbers[cell.num].shown, t.numbers[cell.den].shown
                )
            else:
                bounds = self._status_bounds(status)
            for b in bounds:
                if b.part == part:
                    lo, hi = max(lo, b.lo), min(hi, b.hi)
        if everything_withheld and self.policy.secondary.cap_by_published_parent and not t.noisy:
            # what one published count of a larger unit says on its own stays said
            hi = min(hi, t.published_cap(n, base)[0])
        if not lo - _EPS <= num.value <= hi + _EPS:
            if not t.noisy:
                raise InternalError(
                    "AUDIT_UNSOUND", "a published bound excludes the true count (a bug)"
                )
            lo, hi = min(lo, num.value), max(hi, num.value)
        return lo, hi, removable

    def _status_bounds(self, status: CellStatus) -> list[Bound]:
        if status not in self._sb:
            self._sb[status] = status_bounds(status, self.policy)
        return self._sb[status]

    def _published_bounds(self, shown_num: int, shown_den: int) -> list[Bound]:
        key = (shown_num == 0 or shown_num == shown_den, False)
        if key not in self._pb:
            # only extremeness matters for what passing the rules implies
            num, den = (0, 10) if key[0] else (1, 10)
            self._pb[key] = published_bounds(num, den, self.policy)
        return self._pb[key]

    def _cell_rows(self, block: int, everything_withheld: bool) -> list[Row]:
        """Complement rows (denominator minus numerator) and exact-percentage rows."""
        t, pol = self.table, self.policy
        rows: list[Row] = []
        for item in t.blocks[block].items:
            for ci in t.items[item].cells:
                cell = t.cells[ci]
                status = cell.status
                if everything_withheld and status is CellStatus.PUBLISHED:
                    continue
                num, den = t.numbers[cell.num], t.numbers[cell.den]
                if status is CellStatus.PUBLISHED:
                    bounds = self._published_bounds(num.shown, den.shown)
                else:
                    bounds = self._status_bounds(status)
                rest_bounds = [b for b in bounds if b.part == "rest"]
                removable = item if status is CellStatus.PUBLISHED else -1
                if rest_bounds:
                    cols = self._rest_columns(block, cell)
                    lo = max(b.lo for b in rest_bounds)
                    hi = min(b.hi for b in rest_bounds)
                    rows.append(Row(cols, np.ones(len(cols)), lo, hi, removable))
                if (
                    status is CellStatus.PUBLISHED
                    and pol.rounding.percentage_basis == "exact"
                    and den.shown > 0
                ):
                    pct = 100.0 * num.shown / den.shown
                    pct = round(pct, pol.rounding.percentage_decimals)
                    half = 0.5 * 10.0 ** (-pol.rounding.percentage_decimals)
                    rows += self._ratio_rows(
                        block,
                        num.atoms,
                        num.offsets,
                        den.offsets,
                        pct - half,
                        pct + half,
                        removable,
                    )
        return rows

    def _rest_columns(self, block: int, cell: Cell) -> np.ndarray:
        key = (block, cell.num, cell.den)
        cols = self._rest_cache.get(key)
        if cols is None:
            t = self.table
            num, den = t.numbers[cell.num], t.numbers[cell.den]
            rest = den.offsets[~np.isin(den.offsets, num.offsets)]
            cols = self._rest_cache[key] = self.columns(block, den.atoms, rest)
        return cols

    def _ratio_rows(
        self,
        block: int,
        atoms: np.ndarray,
        num_off: np.ndarray,
        den_off: np.ndarray,
        lo_pct: float,
        hi_pct: float,
        removable: int,
    ) -> list[Row]:
        # lo% * den <= 100 * num <= hi% * den, as two rows over the denominator's unknowns
        den_cols = self.columns(block, atoms, den_off)
        num_cols = set(self.columns(block, atoms, num_off).tolist())
        upper = np.array([(100.0 if c in num_cols else 0.0) - hi_pct for c in den_cols])
        lower = np.array([(100.0 if c in num_cols else 0.0) - max(lo_pct, 0.0) for c in den_cols])
        return [
            Row(den_cols, upper, -INF, 0.0, removable),
            Row(den_cols, lower, 0.0, INF, removable),
        ]

    def rows(
        self,
        block: int,
        everything_withheld: bool = False,
        *,
        prior_figures: bool = True,
    ) -> list[Row]:
        """The block's rows; without ``prior_figures`` what earlier releases' published figures
        say is left out (what their statuses say stays)."""
        t = self.table
        b = t.blocks[block]
        rows: list[Row] = []
        numbers = [n for item in b.items for n in t.items[item].numbers]
        # An earlier release's figure of a sum this release shows too joins that sum's row
        # (one row instead of two; a second release repeats most figures of the first).
        twins: dict[int, tuple[float, float]] = {}
        if prior_figures:
            own = set(numbers)
            for pr in self._rows_of_block(block)[0]:
                if pr.figure and pr.ratio is None and pr.twin in own:
                    tlo, thi = twins.get(pr.twin, (-INF, INF))
                    twins[pr.twin] = (max(tlo, pr.lo), min(thi, pr.hi))
        for n in numbers:
            lo, hi, removable = self.number_bounds(n, everything_withheld)
            if n in twins:
                tlo, thi = twins[n]
                if tlo >= lo and thi <= hi:
                    removable = -1  # shown as tightly before: withholding it changes nothing
                lo, hi = max(lo, tlo), min(hi, thi)
            if lo <= (-INF if t.noisy else 0.0) and hi == INF:
                continue  # no information: the unknowns' own bounds say as much
            cols = self.number_columns(block, n)
            rows.append(Row(cols, np.ones(len(cols)), lo, hi, removable))
        rows += self._cell_rows(block, everything_withheld)
        prior_rows, known_rows = self._rows_of_block(block)
        for kr in known_rows:
            cols = self.columns(block, kr.atoms, kr.offsets)
            n_pos = len(cols) // len(kr.offsets)
            vals = np.ones(len(cols)) if kr.weights is None else np.tile(kr.weights, n_pos)
            rows.append(Row(cols, vals, kr.lo, kr.hi, -1))
        for pr in prior_rows:
            if pr.figure and not prior_figures:
                continue
            if pr.twin in twins and pr.figure and pr.ratio is None:
                continue  # folded into its twin's row above
            if pr.ratio is None:
                cols = self.columns(block, pr.atoms, pr.offsets)
                rows.append(Row(cols, np.ones(len(cols)), pr.lo, pr.hi, -1))
            else:
                num_off, den_off, lo_pct, hi_pct = pr.ratio
                rows += self._ratio_rows(block, pr.atoms, num_off, den_off, lo_pct, hi_pct, -1)
        if not everything_withheld:
            rows += self.coupling.rows(block)
        return rows

    def n_columns(self, block: int) -> int:
        b = self.table.blocks[block]
        width = self.table.families[b.family].width
        return (b.n_positions + self.coupling.extra_columns(block)) * width

    def couple(
        self, targets: Sequence[Target], results: dict[int, Check] | None = None
    ) -> list[int]:
        """Couple blocks to the national figures where those could cut (``Coupling.couple``)."""
        return self.coupling.couple(targets, results)

    def refine(self, family: int) -> list[int]:
        """Exact rest ranges for a family's coupled blocks (``Coupling.refine``)."""
        return self.coupling.refine(family)

    def lp(self, block: int) -> BlockLP:
        if block not in self._lps:
            self._lps[block] = BlockLP(self.n_columns(block), self.rows(block), self.table.noisy)
        return self._lps[block]

    # -- checking ---------------------------------------------------------------------------

    def _case_rows(self, block: int, ci: int, case: list[Bound]) -> list[Row]:
        t = self.table
        cell = t.cells[ci]
        out = []
        for b in case:
            if b.part == "rest":
                cols = self._rest_columns(block, cell)
            else:
                cols = self.number_columns(block, cell.num if b.part == "num" else cell.den)
            out.append(Row(cols, np.ones(len(cols)), b.lo, b.hi, -1))
        return out

    def alternatives(self, block: int, target: Target) -> list[tuple[list[list[Row]], int]]:
        """Per withheld cell showing the target (this release's and earlier ones'): the rows of
        each alternative its status allows, and which alternative holds the truth."""
        t = self.table
        out = []
        for ci, _part in target.owners:
            rows = self.cases(block, ci)
            if rows:
                cell = t.cells[ci]
                num, den = t.numbers[cell.num].value, t.numbers[cell.den].value
                out.append((rows, _truth_case(status_cases(cell.status, self.policy), num, den)))
        for pc in t.prior_cells.get(target.number, []):
            key = (block, id(pc))
            if key not in self._prior_case_cache:
                bounds = status_cases(pc.status, pc.policy)
                rows = []
                for case in bounds:
                    case_rows = []
                    for b in case:
                        if b.part == "num":
                            offsets = pc.num_offsets
                        elif b.part == "den":
                            offsets = pc.den_offsets
                        else:
                            offsets = np.setdiff1d(pc.den_offsets, pc.num_offsets)
                        cols = self.columns(block, pc.atoms, offsets)
                        case_rows.append(Row(cols, np.ones(len(cols)), b.lo, b.hi, -1))
                    rows.append(case_rows)
                self._prior_case_cache[key] = (rows, _truth_case(bounds, pc.num, pc.den))
            rows, truth = self._prior_case_cache[key]
            if rows:
                out.append((rows, truth))
        return out

    def cases(self, block: int, ci: int) -> list[list[Row]]:
        """The rows of each status alternative of a withheld cell (cached)."""
        status = self.table.cells[ci].status
        key = (block, ci, status.value)
        if key not in self._case_cache:
            self._case_cache[key] = [
                self._case_rows(block, ci, c) for c in status_cases(status, self.policy)
            ]
        return self._case_cache[key]

    @staticmethod
    def _satisfies(x: np.ndarray, rows: list[Row]) -> bool:
        if x.size == 0:
            return False
        return all(r.lo - _EPS <= float(x[r.cols] @ r.vals) <= r.hi + _EPS for r in rows)

    def _land_numbers(self, family: int) -> list[int]:
        return self.table.land_numbers(family)

    def _block_part(self, block: int, num: Number) -> np.ndarray:
        key = (block, id(num))
        cols = self._part_cache.get(key)
        if cols is None:
            b = self.table.blocks[block]
            atoms = num.atoms[b.position[num.atoms] >= 0]
            cols = self._part_cache[key] = self.columns(block, atoms, num.offsets)
        return cols

    @staticmethod
    def _removable(duals: np.ndarray, rows: Sequence[Row]) -> set[int]:
        """Items of the rows with a nonzero dual (or dual ray entry): what limits the optimum."""
        if duals.size == 0:
            return set()
        items = np.fromiter((r.item for r in rows), dtype=np.int64, count=len(rows))
        hit = items[(np.abs(duals[: len(items)]) > 1e-9) & (items >= 0)]
        return set(hit.tolist())

    def _interval(
        self,
        block: int,
        lp: BlockLP,
        target: Target,
        note: bool,
        decide: bool = True,
    ) -> tuple[float, float, set[int], set[int]]:
        """[min, max] of a target over the block's LP, narrowed by the hull of its own cells'
        status cases; with the items whose rows limit each side.

        ``decide``: stop refining a side as soon as pass or fail is certain (the hull of the
        cases lies inside the plain LP interval, so a side that fails there fails).
        """
        cols = self.number_columns(block, target.number)
        if decide and note:
            certified = self._certify(block, cols, target)
            if certified is None and self._swap_points(block, lp, target):
                certified = self._certify(block, cols, target)
                if certified is not None:
                    self.tally["swapped"] += 1
                    return certified[0], certified[1], set(), set()
            if certified is not None:
                self.tally["certified"] += 1
                return certified[0], certified[1], set(), set()
            settled = self._true_cases(block, lp, cols, target)
            if settled is not None:
                self.tally["true_case"] += 2
                return settled[0], settled[1], set(), set()
        self.tally["base"] += 2
        found: dict[float, tuple[float, np.ndarray, set[int]]] = {}
        for sense in (1.0, -1.0):
            value, x, duals = lp.optimize(cols, sense)
            self.solves += 1
            if note:
                self._keep_point(block, x)
            if value == INF:
                raise InternalError(
                    "AUDIT_INFEASIBLE", "the published figures admit no counts (a bug)"
                )
            found[sense] = (value * sense, x, self._removable(duals, lp.rows))
        lo_val, x_lo, c_lo = found[1.0]
        hi_val, x_hi, c_hi = found[-1.0]
        self._keep_case_points = block if note else None
        # A cell's own status allows a few alternatives: the attacker takes their hull. The
        # base optimum already lies in some alternative in most cases, which settles it.
        for case_rows, _truth in self.alternatives(block, target):
            lo_open = not decide or lo_val <= target.lo_req + _EPS
            if lo_open and not any(self._satisfies(x_lo, r) for r in case_rows):
                need = target.lo_req if decide else None
                value, cands = self._case_hull(lp, cols, case_rows, 1.0, need)
                if value > lo_val:
                    lo_val, c_lo = value, cands
            hi_open = not decide or hi_val >= target.hi_req - _EPS
            if hi_open and not any(self._satisfies(x_hi, r) for r in case_rows):
                need = target.hi_req if decide else None
                value, cands = self._case_hull(lp, cols, case_rows, -1.0, need)
                if value < hi_val:
                    hi_val, c_hi = value, cands
        lo = math.ceil(lo_val - _EPS) if lo_val > -INF else -INF
        hi = math.floor(hi_val + _EPS) if hi_val < INF else INF
        return lo, hi, c_lo, c_hi

    def _truth(self, block: int) -> np.ndarray:
        """The true counts in the block's columns (the rest of the country too, if coupled)."""
        n_cols = self.n_columns(block)
        key = (block, n_cols)
        x = self._truth_cache.get(key)
        if x is None:
            t = self.table
            b = t.blocks[block]
            width = t.families[b.family].width
            values = t.values[b.family]
            x = np.zeros(n_cols)
            cols = (b.position[b.atoms][:, None] * width + np.arange(width)[None, :]).ravel()
            np.add.at(x, cols, values[b.atoms].ravel().astype(float))
            if n_cols > b.n_positions * width:
                rest = values.sum(axis=0) - values[b.atoms].sum(axis=0)
                x[b.n_positions * width :] = rest
            self._truth_cache[key] = x
        return x

    def _swap_points(self, block: int, lp: BlockLP, target: Target) -> bool:
        """Points near the truth that reach the target's requirement, found without solving.

        Moving d pupils of one category from one unit of the block to another keeps every sum
        over both (the gemeente, the land) as it is; only rows over one of the two can object,
        and ``BlockLP.contains`` checks them all. A point that fits is kept, so that
        ``_certify`` can pass this target (and later ones) with it. True if one was kept.
        """
        t = self.table
        if t.noisy:
            return False
        num = t.numbers[target.number]
        b = t.blocks[block]
        own = np.unique(b.position[num.atoms])
        if len(own) != 1 or own[0] < 0:
            return False
        p = int(own[0])
        x0 = self._truth(block)
        v = float(num.value)
        kept = False
        for need, sign in ((target.hi_req - v, 1.0), (v - target.lo_req, -1.0)):
            d = math.ceil(need - _EPS)
            if d > 0:
                kept |= self._keep_first_fitting(
                    block, lp, self._swap_moves(block, x0, p, num.offsets, d, sign)
                ) or self._keep_first_fitting(
                    block, lp, self._rectangle_moves(block, x0, p, num.offsets, d, sign)
                )
            elif (block, len(x0)) not in self._truth_kept:
                # the truth itself reaches this side (and fits every status): keep it too
                self._truth_kept.add((block, len(x0)))
                self._keep_point(block, x0.copy())
                kept = True
        return kept

    def _keep_first_fitting(self, block: int, lp: BlockLP, points: Iterable[np.ndarray]) -> bool:
        """Keep the first of ``points`` that fits every row of the block; at most a few tries."""
        for x in itertools.islice(points, _SWAP_TRIES):
            if lp.contains(x):
                self._keep_point(block, x)
                return True
        return False

    def _swap_moves(
        self, block: int, x0: np.ndarray, p: int, offsets: np.ndarray, d: int, sign: float
    ) -> Iterator[np.ndarray]:
        """Points with ``d`` more (sign 1) or fewer (-1) of one category in unit ``p``, taken
        from (given to) one other unit."""
        b = self.table.blocks[block]
        width = self.table.families[b.family].width
        for o in offsets.tolist():
            mine = p * width + o
            if sign < 0 and x0[mine] < d:
                continue
            others = np.arange(b.n_positions) * width + o
            others = others[others != mine]
            if sign > 0:
                others = others[x0[others] >= d]
                others = others[np.argsort(-x0[others], kind="stable")]
            for other in others[:3].tolist():
                x = x0.copy()
                x[mine] += sign * d
                x[other] -= sign * d
                yield x

    def _rectangle_moves(
        self, block: int, x0: np.ndarray, p: int, offsets: np.ndarray, d: int, sign: float
    ) -> Iterator[np.ndarray]:
        """Like ``_swap_moves`` with every unit's total kept: ``d`` more (fewer) of category o
        in unit ``p`` and as many fewer (more) of another category c of the same breakdown,
        the reverse spread over other units that can give it. Every sum over a whole breakdown
        and every sum over the gemeente stays as it is; a rare outcome (2 opstromers in a
        wijk) is moved together from several units."""
        b = self.table.blocks[block]
        fam = self.table.families[b.family]
        nc, width = len(fam.categories), fam.width
        own = set(offsets.tolist())
        others = np.array([q for q in range(b.n_positions) if q != p], dtype=np.int64)
        if not len(others):
            return
        for o in offsets.tolist():
            group = range((o // nc) * nc, (o // nc + 1) * nc)
            for c in (c for c in group if c not in own):
                # what unit p gives up (c when raising, o when lowering) must be there
                if x0[p * width + (c if sign > 0 else o)] < d:
                    continue
                # the others give o (raising p) or c (lowering p), largest first
                give = others * width + (o if sign > 0 else c)
                order = np.argsort(-x0[give], kind="stable")
                x = x0.copy()
                x[p * width + o] += sign * d
                x[p * width + c] -= sign * d
                left = d
                for q, col in zip(others[order].tolist(), give[order].tolist(), strict=True):
                    g = min(left, int(x0[col]))
                    if g <= 0:
                        break
                    x[col] -= g
                    x[q * width + (c if sign > 0 else o)] += g
                    left -= g
                    if not left:
                        break
                if not left:
                    yield x

    def _point_matrix(self, block: int) -> np.ndarray | None:
        pts = self.points.get(block)
        if not pts:
            return None
        mat = self._pmat.get(block)
        if mat is None or mat.shape[0] != len(pts):
            mat = self._pmat[block] = np.stack(pts)
        return mat

    def _best_seen(self, block: int, n: int) -> float:
        """The highest value of number ``n`` at a point already found in the block."""
        mat = self._point_matrix(block)
        if mat is None:
            return -INF
        return float(mat[:, self.number_columns(block, n)].sum(axis=1).max())

    def _keep_point(self, block: int, x: np.ndarray) -> None:
        if x.size:
            pts = self.points.setdefault(block, [])
            pts.append(x)
            if len(pts) > _POINTS_KEPT:
                del pts[0]
            self._pmat.pop(block, None)

    def _certify(self, block: int, cols: np.ndarray, target: Target) -> tuple[float, float] | None:
        """Pass a target without solving, if points already found show both reaches.

        Every point once optimal in this block is still feasible: withholding only relaxes
        rows (coupling rows, which tighten, drop the points they cut). A point whose sum
        reaches the requirement, and that lies in one status alternative of every owning cell,
        proves the attacker's interval (and hull) reaches at least that far.
        """
        mat = self._point_matrix(block)
        if mat is None:
            return None
        values = mat[:, cols].sum(axis=1)
        low_ok = values <= target.lo_req + _EPS
        high_ok = values >= target.hi_req - _EPS
        if not low_ok.any() or not high_ok.any():
            return None
        fits = np.ones(len(values), dtype=bool)
        for alternatives, _truth in self.alternatives(block, target):
            any_case = np.zeros(len(values), dtype=bool)
            for rows in alternatives:
                inside = np.ones(len(values), dtype=bool)
                for r in rows:
                    v = mat[:, r.cols] @ r.vals
                    inside &= (v >= r.lo - _EPS) & (v <= r.hi + _EPS)
                any_case |= inside
            fits &= any_case
        low_ok &= fits
        high_ok &= fits
        if not low_ok.any() or not high_ok.any():
            return None
        return math.ceil(values[low_ok].min() - _EPS), math.floor(values[high_ok].max() + _EPS)

    def _true_cases(
        self, block: int, lp: BlockLP, cols: np.ndarray, target: Target
    ) -> tuple[float, float] | None:
        """Try the status alternative that holds the truth, for every owning cell at once.

        If the target reaches both requirements inside it, every owner's hull does too (one
        solve per side instead of the plain LP plus the alternatives). None otherwise.
        """
        rows: list[Row] = []
        for alternatives, truth in self.alternatives(block, target):
            if truth < 0:
                return None  # pragma: no cover - the truth always fits its own status
            rows += alternatives[truth]
        if not rows:
            return None
        with lp.with_rows(rows) as extended:
            low, x_lo, _d = extended.optimize(cols, 1.0)
            if low > target.lo_req + _EPS:
                self.solves += 1
                return None
            neg_high, x_hi, _d = extended.optimize(cols, -1.0)
            self.solves += 2
        self._keep_point(block, x_lo)
        self._keep_point(block, x_hi)
        high = -neg_high
        if high < target.hi_req - _EPS:
            return None
        return (
            math.ceil(low - _EPS) if low > -INF else -INF,
            math.floor(high + _EPS) if high < INF else INF,
        )

    def _pool_number(self, target: Target) -> int | None:
        """For a pooled wijk's (or gemeente's) count: the same count of its pool, if nothing
        published but the pool's own sums touches the member (no earlier release cuts it)."""
        t = self.table
        num = t.numbers[target.number]
        item = t.items[num.item]
        if not item.phantom or item.pool < 0:
            return None
        block = item.block
        if self._rows_of_block(block)[0]:
            # earlier figures cut the pool unless its members share the pool's columns
            pool_atoms = t.numbers[t.items[item.pool].numbers[0]].atoms
            if len(np.unique(t.unit_of_atom[num.family][pool_atoms])) > 1:
                return None
        for n in t.items[item.pool].numbers:
            if np.array_equal(t.numbers[n].offsets, num.offsets):
                return n
        return None

    def _pool_max(self, n: int) -> tuple[float, set[int]]:
        if n not in self._pool_max_cache:
            block = self.block_of_number(n)
            lp = self.lp(block)
            cols = self.number_columns(block, n)
            value, x, duals = lp.optimize(cols, -1.0)
            self.solves += 1
            self.tally["pool"] += 1
            self._keep_point(block, x)
            self._pool_max_cache[n] = (-value, self._removable(duals, lp.rows))
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
            cands: set[int] = set()
            seen = self._best_seen(block, pool_n)
            if max(pool_true, seen) >= target.hi_req - _EPS:
                hi: float = max(pool_true, seen)
            else:
                hi, cands = self._pool_max(pool_n)
            hi = math.floor(hi + _EPS) if hi < INF else INF
            lo = -INF if self.table.noisy else 0.0
            ok = hi >= target.hi_req - _EPS and lo <= target.lo_req + _EPS
            return Check(target, lo, hi, ok, sorted(cands) if not ok else [], not ok and not cands)
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
        items = list(t.blocks[block].items)
        if block in self.coupling.rest:
            items += sorted({t.numbers[n].item for n, *_ in self.coupling.rest[block]})
        out = [i for i in items if not t.items[i].withheld and not t.items[i].phantom]
        if t.joint[t.blocks[block].family]:
            # A joint block is a whole country: its cheapest published items lie anywhere, and
            # withholding them one per round (hundreds of rounds) rarely helps. The target's own
            # gemeente and the land figures first, as a gemeente block would offer them.
            local = self._gemeente_items(target, out)
            if local:
                return local
        return out

    def _gemeente_items(self, target: Target, items: list[int]) -> list[int]:
        """Of ``items``: those in the target's gemeente and the land figures (none if the
        target is not inside one gemeente, e.g. a region pool)."""
        t = self.table
        owner = t.items[t.numbers[target.number].item]
        if owner.level is GeoLevel.GEMEENTE and not owner.phantom:
            gemeente: str | None = owner.code
        elif owner.level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP):
            gemeente = t.cells[owner.cells[0]].parent_code
        else:
            return []
        if gemeente is None:
            return []  # pragma: no cover - a wijk always has its gemeente as parent
        out = []
        for i in items:
            it = t.items[i]
            if it.level is GeoLevel.GEMEENTE:
                inside = it.code == gemeente
            elif it.level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP):
                inside = t.cells[it.cells[0]].parent_code == gemeente
            else:
                inside = it.level is GeoLevel.LAND
            if inside:
                out.append(i)
        return out

    def _case_hull(
        self,
        lp: BlockLP,
        cols: np.ndarray,
        case_rows: list[list[Row]],
        sense: float,
        need: float | None = None,
    ) -> tuple[float, set[int]]:
        """The widest of the cases on one side, and the items whose rows limit it: those binding
        the widest case and those ruling the other cases out. With ``need``, stop at the first
        case that reaches it (the hull then reaches it too).

        When only the widest case's own rows bind it (a status alternative that no suppression
        can widen), the hull can still grow through another case: the items binding the other
        feasible cases are named then. Without them the caller would see no candidate at all
        and fall back to withholding the block's items one by one, cheapest first (hundreds of
        rounds over a joint family, each suppressing a cell that does not help)."""
        best: float | None = None
        best_cands: set[int] = set()
        unlock: set[int] = set()
        others: set[int] = set()
        for rows in case_rows:
            with lp.with_rows(rows) as extended:
                value, x, duals = extended.optimize(cols, sense)
                self.solves += 1
                self.tally["case"] += 1
                cands = self._removable(duals, extended.rows)
            if self._keep_case_points is not None:
                self._keep_point(self._keep_case_points, x)
            if value == INF:  # this alternative contradicts what is published
                unlock |= cands
                continue
            value *= sense
            others |= cands
            if best is None or (value < best if sense > 0 else value > best):
                best, best_cands = value, cands
            if need is not None and (value <= need + _EPS if sense > 0 else value >= need - _EPS):
                break
        if best is None:
            raise InternalError("AUDIT_INFEASIBLE", "no alternative of a status fits (a bug)")
        found = best_cands | unlock
        return best, found if found else others

    def inherent_interval(
        self, target: Target, *, prior_figures: bool = True
    ) -> tuple[float, float]:
        """What is left if every cell still published vanished without a trace: the statuses
        already decided, the pooling map and earlier releases, and (under
        ``secondary.cap_by_published_parent``) each count's bound from one published count of a
        larger unit containing it. No choice of complements at this unit's level can do better
        than this. ``prior_figures=False``: earlier releases' published figures vanish too
        (their statuses and pooling maps stay)."""
        t = self.table
        block = self.block_of_number(target.number)
        key = (block, prior_figures)
        lp = self._inherent_lps.get(key)
        if lp is None:
            b = t.blocks[block]
            n_cols = b.n_positions * t.families[b.family].width
            rows = self.rows(block, everything_withheld=True, prior_figures=prior_figures)
            lp = BlockLP(n_cols, rows, t.noisy)
            self._inherent_lps[key] = lp
        lo, hi, _d_lo, _d_hi = self._interval(block, lp, target, note=False, decide=False)
        return lo, hi

    def cross_release_allowance(self, target: Target) -> tuple[float, float]:
        """The least a target must keep when earlier releases of this schooljaar exist.

        For a single release a count that cannot reach its requirement is asked for no more
        than what statuses and the pooling map leave, since withholding figures cannot change
        those. Next to earlier releases that cap would also excuse what a status of this
        release pins *together with an earlier published figure*, which no one can withdraw.
        So the cap is what statuses and pooling maps of all releases say without any
        published figure: the same standard an attacker holding every release applies.
        """
        lo, hi = self.inherent_interval(target, prior_figures=False)
        return max(target.lo_req, lo), min(target.hi_req, hi)


def _truth_case(cases: list[list[Bound]], num: int, den: int) -> int:
    """The index of the first status alternative the true counts fit (-1: none)."""
    parts = {"num": num, "den": den, "rest": den - num}
    for i, case in enumerate(cases):
        if all(b.lo <= parts[b.part] <= b.hi for b in case):
            return i
    return -1


def audit_all(auditor: Auditor, targets: Sequence[Target]) -> list[Check]:
    """Check targets grouped by block (one model build per block).

    From ``SPLIT_MIN_TARGETS`` targets on, the blocks are checked in two halves: the second in a
    forked child process where the platform allows (two cores, half the wall time), else after
    the first in this one. Blocks share no state while they are checked, and the second half
    comes back the same way in both cases (its points and ranges, not its solver models), so
    a release does not depend on whether the child could run.
    """
    by_block: dict[int, list[Target]] = defaultdict(list)
    for tg in targets:
        by_block[auditor.block_of_number(tg.number)].append(tg)
    for block in by_block:
        by_block[block].sort(key=lambda tg: tg.number)
    blocks = sorted(by_block)
    if len(targets) < SPLIT_MIN_TARGETS or len(blocks) < 2:
        return [auditor.check(tg) for block in blocks for tg in by_block[block]]
    first, second = _halves(auditor, blocks, by_block)
    child = _start_child(auditor, second, by_block)
    checks = {tg.number: auditor.check(tg) for block in first for tg in by_block[block]}
    if child is None:
        second_checks, state, _counted = _check_blocks(auditor, second, by_block)
        auditor.adopt(second, state, {})
    else:
        second_checks, state, counted = _finish_child(*child)
        auditor.adopt(second, state, counted)
    checks.update((c.target.number, c) for c in second_checks)
    return [checks[tg.number] for block in blocks for tg in by_block[block]]


#: From this many targets on, ``audit_all`` checks the blocks in two halves (see there).
SPLIT_MIN_TARGETS = 4000


_BlockState = dict[str, Any]


def _halves(
    auditor: Auditor, blocks: list[int], by_block: Mapping[int, list[Target]]
) -> tuple[list[int], list[int]]:
    """Blocks in two halves of about equal work, each in block order (deterministic).

    A target's work grows with its block's width (breakdowns x categories: a transition target,
    3 x 4, costs several groep-8 targets, 1 x 3) and, more slowly, with its number of units; the
    estimate is targets x width x sqrt(units). The blocks go, heaviest first, to the half with
    less work so far; ties by block number. Which half a block lands in does not change its
    checks: blocks share no state while they are checked.
    """
    t = auditor.table

    def work(b: int) -> float:
        block = t.blocks[b]
        return len(by_block[b]) * t.families[block.family].width * math.sqrt(block.n_positions)

    load = [0.0, 0.0]
    halves: tuple[list[int], list[int]] = ([], [])
    for b in sorted(blocks, key=lambda b: (-work(b), b)):
        side = 0 if load[0] <= load[1] else 1
        halves[side].append(b)
        load[side] += work(b)
    return sorted(halves[0]), sorted(halves[1])


def _check_blocks(
    auditor: Auditor, blocks: list[int], by_block: Mapping[int, list[Target]]
) -> tuple[list[Check], _BlockState, _BlockState]:
    """Checks, the blocks' state, and the solves they took."""
    solves, tally = auditor.solves, Counter(auditor.tally)
    checks = [auditor.check(tg) for block in blocks for tg in by_block[block]]
    counted = {"solves": auditor.solves - solves, "tally": auditor.tally - tally}
    return checks, auditor.export_state(blocks), counted


def _start_child(
    auditor: Auditor, blocks: list[int], by_block: Mapping[int, list[Target]]
) -> tuple[Any, Any] | None:
    """Check ``blocks`` in a forked child; None where forking is not available."""
    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        return None
    if multiprocessing.current_process().daemon:
        return None  # pragma: no cover - a daemonic process may not have children
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def work() -> None:
        try:
            send.send(("ok", _check_blocks(auditor, blocks, by_block)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
            send.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            send.close()

    process = context.Process(target=work, daemon=True)
    process.start()
    send.close()
    return process, receive


def _finish_child(process: Any, receive: Any) -> tuple[list[Check], _BlockState, _BlockState]:
    try:
        kind, payload = receive.recv()
    except EOFError:
        kind, payload = "error", f"the audit's child process ended ({process.exitcode})"
    finally:
        receive.close()
        process.join()
    if kind != "ok":
        raise InternalError("AUDIT_CHILD", f"a half of the audit failed: {payload}")
    return cast("tuple[list[Check], _BlockState, _BlockState]", payload)
