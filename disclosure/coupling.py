"""Coupling of audit blocks through the national figures (docs/disclosure.md, "Decomposition").

Nationally a wijk family is audited as one block per gemeente. The national figures are the only
published sums across blocks; a block is *coupled* where they could cut its counts: it then gets
one extra *rest* atom (the other gemeenten's category counts R >= 0), each national figure as an
exact row over the block's part and R's part, and R's part kept within the range the other blocks
can reach, taken from feasible points seen while auditing (an inner bound, on the safe side).

``Coupling`` holds that state (which blocks are coupled, the block sums seen) for one
``Auditor`` and gives the auditor the extra rows and columns of a coupled block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kansenkluis.domain import GeoLevel

from .lp import EPS as _EPS
from .lp import INF, Row
from .table import Check, Number, Target

if TYPE_CHECKING:
    from .audit import Auditor


class Coupling:
    """The rest-of-country couplings of one auditor's blocks."""

    def __init__(self, auditor: Auditor) -> None:
        self.auditor = auditor
        self.table = auditor.table
        #: coupled block -> [(national number, L_lo, L_hi, rest lowest, rest highest)]
        self.rest: dict[int, list[tuple[int, float, float, float, float]]] = {}
        #: (block, land number) -> [lowest, highest] block sum seen at feasible points
        self.seen: dict[tuple[int, int], list[float]] = {}
        self._true_cache: dict[tuple[int, int], float] = {}

    def forget_family(self, family: int) -> None:
        """A family audited jointly has no couplings."""
        for b in [b for b in self.rest if self.table.blocks[b].family == family]:
            del self.rest[b]

    def extra_columns(self, block: int) -> int:
        """How many atoms the block has beyond its own units: the rest atom, if coupled."""
        return 1 if block in self.rest else 0

    def note_point(self, block: int, x: np.ndarray) -> None:
        """Remember the block sums of the national figures at a feasible point (coupling)."""
        if x.size == 0:
            return
        t = self.table
        fam = t.blocks[block].family
        if t.joint[fam]:
            return
        for n in self.auditor._land_numbers(fam):
            num = t.numbers[n]
            cols = self.auditor._block_part(block, num)
            s = float(x[cols].sum())
            if (block, n) not in self.seen:
                true = float(self._true_part(block, num))  # the truth is a feasible point too
                self.seen[(block, n)] = [true, true]
            seen = self.seen[(block, n)]
            seen[0], seen[1] = min(seen[0], s), max(seen[1], s)

    def couple(
        self, targets: Sequence[Target], results: dict[int, Check] | None = None
    ) -> list[int]:
        """Couple blocks to the national figures where those could cut; return the blocks.

        A coupled block gets one extra *rest* atom: the rest of the country's category counts
        R >= 0. Each national figure L becomes the row (block's part + R's part) in
        [L_lo, L_hi], and R's part of each national figure is kept within the range the other
        blocks can reach. Those ranges come from feasible points (the truth, LP optima seen
        while auditing, the extremes of a few blocks solved on purpose): inner bounds, so
        tighter than exact and the audit errs on the safe side. Keeping R in category space
        keeps its structure (a numerator within its denominator), which a bound per figure
        would lose.

        A block is left uncoupled when the national figures cannot cut it: its gemeente
        figures are published and, figure by figure, the interval the rest leaves contains
        everything the gemeente figure allows.
        """
        t = self.table
        with_targets = {self.auditor.block_of_number(tg.number) for tg in targets}
        changed: list[int] = []
        for fam in range(len(t.families)):
            if t.joint[fam]:
                continue
            land = [n for n in self.auditor._land_numbers(fam) if t.is_published(n)]
            if not land:
                continue
            blocks = [bi for bi, b in enumerate(t.blocks) if b.family == fam and b.items]
            for bi in blocks:
                mat = self.auditor._point_matrix(bi)
                for n in land:
                    true = self._true_part_cached(bi, n)
                    seen = self.seen.setdefault((bi, n), [true, true])
                    if mat is not None:  # every kept point is a feasible point of the block
                        cols = self.auditor._block_part(bi, t.numbers[n])
                        sums = mat[:, cols].sum(axis=1)
                        seen[0], seen[1] = min(seen[0], sums.min()), max(seen[1], sums.max())
            bounds = {n: self._land_bounds(fam, n) for n in land}
            candidates = [bi for bi in blocks if bi in with_targets and bi not in self.rest]
            needs = {(bi, n): self._own_range(bi, n) for bi in candidates for n in land}
            self._widen_seen(fam, blocks, land, bounds, needs)
            total_lo = {n: sum(self.seen[(b, n)][0] for b in blocks) for n in land}
            total_hi = {n: sum(self.seen[(b, n)][1] for b in blocks) for n in land}
            for bi in candidates:
                cut = self._gemeente_withheld(bi)
                for n in land:
                    own_lo, own_hi = needs[(bi, n)]
                    s_lo, s_hi = self.seen[(bi, n)]
                    c_lo = bounds[n][0] - (total_hi[n] - s_hi)
                    c_hi = bounds[n][1] - (total_lo[n] - s_lo)
                    cut = cut or c_lo > own_lo + _EPS or c_hi < own_hi - _EPS
                if not cut:
                    continue
                self.rest[bi] = [
                    (
                        n,
                        bounds[n][0],
                        bounds[n][1],
                        total_lo[n] - self.seen[(bi, n)][0],
                        total_hi[n] - self.seen[(bi, n)][1],
                    )
                    for n in land
                ]
                changed.append(bi)
        self.auditor.invalidate(set(changed))
        for bi in changed:  # the block has a new column group: points found before are stale
            self.auditor.points.pop(bi, None)
            self.auditor._pmat.pop(bi, None)
        return sorted(set(changed))

    def refine(self, family: int) -> list[int]:
        """Exact block ranges of every national figure, for the rest bounds of coupled blocks.

        Returns the coupled blocks whose rows changed (they need a new LP).
        """
        t = self.table
        land = [n for n in self.auditor._land_numbers(family) if t.is_published(n)]
        blocks = [bi for bi, b in enumerate(t.blocks) if b.family == family and b.items]
        for bi in blocks:
            lp = self.auditor.lp(bi)
            for n in land:
                cols = self.auditor._block_part(bi, t.numbers[n])
                low, _x, _d = lp.optimize(cols, 1.0)
                neg_high, _x, _d = lp.optimize(cols, -1.0)
                self.auditor.solves += 2
                self.auditor.tally["refine"] += 2
                seen = self.seen.setdefault((bi, n), [low, -neg_high])
                seen[0], seen[1] = min(seen[0], low), max(seen[1], -neg_high)
        total_lo = {n: sum(self.seen[(b, n)][0] for b in blocks) for n in land}
        total_hi = {n: sum(self.seen[(b, n)][1] for b in blocks) for n in land}
        changed = []
        for bi in blocks:
            if bi not in self.rest:
                continue
            self.rest[bi] = [
                (
                    n,
                    lo_l,
                    hi_l,
                    total_lo[n] - self.seen[(bi, n)][0],
                    total_hi[n] - self.seen[(bi, n)][1],
                )
                for n, lo_l, hi_l, _lo, _hi in self.rest[bi]
            ]
            changed.append(bi)
        return changed

    def _gemeente_withheld(self, block: int) -> bool:
        t = self.table
        return any(
            t.items[i].withheld
            for i in t.blocks[block].items
            if t.items[i].level in (GeoLevel.GEMEENTE, GeoLevel.REGIO) and not t.items[i].phantom
        )

    def rows(self, block: int) -> list[Row]:
        t = self.table
        b = t.blocks[block]
        width = t.families[b.family].width
        start = b.n_positions * width
        rows = []
        for n, lo_l, hi_l, rest_lo, rest_hi in self.rest.get(block, []):
            num = t.numbers[n]
            rest_cols = start + num.offsets
            own = self.auditor._block_part(block, num)
            cols = np.concatenate([own, rest_cols])
            rows.append(Row(cols, np.ones(len(cols)), lo_l, hi_l, num.item))
            floor = -INF if t.noisy else 0.0
            # the rest's range goes when the national figure goes: same item
            rows.append(
                Row(rest_cols, np.ones(len(rest_cols)), max(rest_lo, floor), rest_hi, num.item)
            )
        return rows

    def _land_bounds(self, fam: int, n: int) -> tuple[float, float]:
        t = self.table
        lo_l, hi_l, _ = self.auditor.number_bounds(n)
        num = t.numbers[n]
        for pr in self.auditor._rows_of_block(-1)[0]:  # an earlier release's national figure
            if pr.family != fam or pr.ratio is not None or len(pr.atoms) != len(num.atoms):
                continue
            if np.array_equal(pr.offsets, num.offsets):
                lo_l, hi_l = max(lo_l, pr.lo), min(hi_l, pr.hi)
        return lo_l, hi_l

    def _widen_seen(
        self,
        fam: int,
        blocks: list[int],
        land: list[int],
        bounds: dict[int, tuple[float, float]],
        needs: dict[tuple[int, int], tuple[float, float]],
    ) -> None:
        """Solve a few blocks at their extremes until the rest of the country has room enough.

        Each block solved once upwards and once downwards (the sum of all national figures'
        parts), largest blocks first; it stops when every block needing a check sees enough
        slack in the others to make its coupling row redundant.
        """
        t = self.table

        trues = {n: {b: self._true_part_cached(b, n) for b in blocks} for n in land}
        need_up: dict[int, float] = {}
        need_down: dict[int, float] = {}
        true_land = {n: sum(trues[n].values()) for n in land}
        for (bi, n), (own_lo, own_hi) in needs.items():
            lo_l, hi_l = bounds[n]
            true_l = true_land[n]
            need_up[n] = max(need_up.get(n, -INF), lo_l - true_l + trues[n][bi] - own_lo)
            need_down[n] = max(need_down.get(n, -INF), own_hi - trues[n][bi] - (hi_l - true_l))

        def short() -> bool:
            # conservative: the block with the most slack of its own is left out of the rest
            for n in need_up:
                ups = [self.seen[(b, n)][1] - trues[n][b] for b in blocks]
                downs = [trues[n][b] - self.seen[(b, n)][0] for b in blocks]
                if sum(ups) - max(ups) < need_up[n] + _EPS:
                    return True
                if sum(downs) - max(downs) < need_down[n] + _EPS:
                    return True
            return False

        order = sorted(blocks, key=lambda b: (-len(t.blocks[b].atoms), b))
        for bi in order:
            if not short():
                return
            lp = self.auditor.lp(bi)
            cols = np.unique(
                np.concatenate([self.auditor._block_part(bi, t.numbers[n]) for n in land])
            )
            for sense in (-1.0, 1.0):
                _value, x, _duals = lp.optimize(cols, sense)
                self.auditor.solves += 1
                self.note_point(bi, x)
                self.auditor._keep_point(bi, x)

    def _true_part_cached(self, block: int, n: int) -> float:
        key = (block, n)
        if key not in self._true_cache:
            self._true_cache[key] = float(self._true_part(block, self.table.numbers[n]))
        return self._true_cache[key]

    def _true_part(self, block: int, num: Number) -> int:
        b = self.table.blocks[block]
        atoms = num.atoms[b.position[num.atoms] >= 0]
        return self.table.number_value(num.family, atoms, num.offsets)

    def _own_range(self, block: int, land_number: int) -> tuple[float, float]:
        """An outer bound on the block's own sum of a national figure's categories: its
        gemeente figure's published interval, or its exact range if withheld."""
        t = self.table
        offsets = t.numbers[land_number].offsets
        for item in t.blocks[block].items:
            it = t.items[item]
            if it.level not in (GeoLevel.GEMEENTE, GeoLevel.REGIO) or it.phantom:
                continue
            for n in it.numbers:
                if np.array_equal(t.numbers[n].offsets, offsets):
                    lo, hi, _ = self.auditor.number_bounds(n)
                    if not t.is_published(n):
                        lp = self.auditor.lp(block)
                        cols = self.auditor.number_columns(block, n)
                        lo = max(lo, lp.optimize(cols, 1.0)[0])
                        hi = min(hi, -lp.optimize(cols, -1.0)[0])
                        self.auditor.solves += 2
                    return lo, hi
        return (-INF if t.noisy else 0.0), INF
