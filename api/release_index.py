"""One release, indexed: the geography of its cells, for the API routes and the factsheets alike.

Everything that asks "which gemeente is this cell in", "is this gemeente in the release", "which
regions contain it" or "which cells may this token see" asks a ``ReleaseIndex``, so the cells
route, the factsheet, the comparison page, the trend and the overview answer the same
(docs/api.md, "Which gemeenten a release covers"):

- a wijk or wijkgroep cell belongs to the gemeente in its ``parent_code``; without one, a
  wijkgroep to the gemeente the pooling map gives it, and else the gemeente its code names
  (``kansenkluis.geocodes.gemeente_of``);
- a release *covers* a gemeente when it holds a cell of that gemeente or of one of its wijken or
  wijkgroepen. A gemeente that is only listed as a member of a region pool is not covered: there
  is no figure of its own to show;
- the regions of a gemeente are the ``parent_code`` of its gemeente cells, the region pools its
  gemeente cells are ``pooled_into``, the region pools that list it as a member, and any pool
  that merges one of those;
- a scope (the gemeenten on a regiocoordinator's token; None for every other role) sees its
  gemeenten's cells and those of their wijken and wijkgroepen, the regions containing them and
  the nation.

A release never changes once stored, so the index is built once per release the API holds; the
look-ups that only factsheets need are built on first use.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import cached_property

from disclosure.release import PoolingGroup, Release, ReleaseCell
from kansenkluis.domain import GeoLevel
from kansenkluis.errors import UserError
from kansenkluis.geocodes import gemeente_of, is_gemeentecode

#: A regiocoordinator's gemeenten; None means every gemeente.
Scope = frozenset[str] | None

#: GeoLevel -> its value, without the enum property look-up per cell
_LEVEL: dict[GeoLevel, str] = {level: level.value for level in GeoLevel}
#: how many scopes' visible cells are kept
_SCOPES_KEPT = 64


class ReleaseIndex:
    """A release with the indexes that scoping, cell queries and factsheets use."""

    def __init__(self, release: Release) -> None:
        self.release = release
        self.cells: tuple[ReleaseCell, ...] = release.cells
        self.pools: dict[str, PoolingGroup] = {p.code: p for p in release.pooling}
        wijkgroep_gemeente = {
            g.code: g.gemeentecode for g in release.pooling if g.level is GeoLevel.WIJKGROEP
        }
        #: per gemeente the positions of its own cells and its wijken's and wijkgroepen's
        self.by_gemeente: dict[str, list[int]] = {}
        self.by_regio: dict[str, list[int]] = {}
        self.land: list[int] = []
        self.by_key: dict[tuple[str, str], list[int]] = {}
        regios_of: dict[str, set[str]] = {}
        wijk, wijkgroep, gem = GeoLevel.WIJK, GeoLevel.WIJKGROEP, GeoLevel.GEMEENTE
        for i, cell in enumerate(self.cells):
            level = cell.geo_level
            self.by_key.setdefault((cell.indicator, _LEVEL[level]), []).append(i)
            if level is wijk or level is wijkgroep:
                owner = cell.parent_code
                if not owner and level is wijkgroep:
                    owner = wijkgroep_gemeente.get(cell.geo_code)
                if not owner:
                    owner = gemeente_of(cell.geo_code)
                if owner is not None:
                    self.by_gemeente.setdefault(owner, []).append(i)
            elif level is gem:
                self.by_gemeente.setdefault(cell.geo_code, []).append(i)
                containing = regios_of.setdefault(cell.geo_code, set())
                if cell.parent_code:
                    containing.add(cell.parent_code)
                if cell.pooled_into:
                    containing.add(cell.pooled_into)
            elif level is GeoLevel.REGIO:
                self.by_regio.setdefault(cell.geo_code, []).append(i)
            else:
                self.land.append(i)
        regio_pools = [g for g in release.pooling if g.level is GeoLevel.REGIO]
        for pool in regio_pools:
            for member in pool.members:
                if is_gemeentecode(member):
                    regios_of.setdefault(member, set()).add(pool.code)
        # A region pool may merge regions: it then contains whatever its member regions contain.
        changed = True
        while changed:
            changed = False
            for containing in regios_of.values():
                for pool in regio_pools:
                    if pool.code not in containing and containing & set(pool.members):
                        containing.add(pool.code)
                        changed = True
        #: per gemeente the regions (and region pools) that contain it
        self.regios_of: dict[str, frozenset[str]] = {g: frozenset(r) for g, r in regios_of.items()}
        #: the gemeenten the release covers
        self.gemeenten: frozenset[str] = frozenset(self.by_gemeente)
        self._scoped: OrderedDict[frozenset[str], list[int]] = OrderedDict()
        self._units: dict[str, dict[tuple[str, str], tuple[list[ReleaseCell], ...]]] = {}
        self._lock = threading.Lock()

    # --- coverage and scope ---------------------------------------------------------------

    def covers(self, gemeentecode: str) -> bool:
        return gemeentecode in self.gemeenten

    def sees(self, scope: Scope, gemeentecode: str) -> bool:
        """Whether the release covers the gemeente *and* the scope includes it."""
        return self.covers(gemeentecode) and (scope is None or gemeentecode in scope)

    def require_gemeente(self, gemeentecode: str) -> str:
        """The gemeente's name, or the GEMEENTE_NOT_FOUND error every caller shares."""
        if not self.covers(gemeentecode):
            # Echo the code only when it looks like one: the message may end up in an API body.
            shown = gemeentecode if is_gemeentecode(gemeentecode) else "the requested code"
            raise _not_found(f"release {self.release.id} has no cells for gemeente {shown}")
        return self.gemeente_naam.get(gemeentecode, gemeentecode)

    def visible(self, scope: Scope) -> list[int] | None:
        """Positions of the cells ``scope`` may see, in release order; None means all of them."""
        if scope is None:
            return None
        with self._lock:
            cached = self._scoped.get(scope)
            if cached is not None:
                self._scoped.move_to_end(scope)
                return cached
        regios = set().union(*(self.regios_of.get(g, ()) for g in scope))
        parts: list[Iterable[int]] = [self.land]
        parts += [self.by_regio.get(r, []) for r in regios]
        parts += [self.by_gemeente.get(g, []) for g in scope]
        positions = sorted(set().union(*parts))
        with self._lock:
            self._scoped[scope] = positions
            if len(self._scoped) > _SCOPES_KEPT:
                self._scoped.popitem(last=False)
        return positions

    def query(
        self,
        scope: Scope,
        *,
        indicator: str | None = None,
        breakdown: str | None = None,
        schooljaar: int | None = None,
        geo_level: str | None = None,
        status: str | None = None,
        gemeente: str | None = None,
    ) -> list[ReleaseCell]:
        """Cells the scope may see that match every given filter, in release order.

        ``gemeente`` selects the gemeente's own cells and those of its wijken and wijkgroepen;
        a gemeente the release does not cover or the scope lacks raises GEMEENTE_NOT_FOUND.
        """
        candidates: Iterable[int]
        if gemeente is not None:
            if not self.sees(scope, gemeente):
                # not covered and not in scope are one answer: nothing tells them apart
                raise _not_found("no gemeente with that code in this release for this token")
            candidates = self.by_gemeente.get(gemeente, [])
        else:
            visible = self.visible(scope)
            if visible is not None:
                candidates = visible
            else:
                keys = [
                    k
                    for k in self.by_key
                    if (indicator is None or k[0] == indicator)
                    and (geo_level is None or k[1] == geo_level)
                ]
                candidates = heapq.merge(*(self.by_key[k] for k in keys))
        out = []
        for i in candidates:
            c = self.cells[i]
            if (
                (indicator is None or c.indicator == indicator)
                and (breakdown is None or c.breakdown == breakdown)
                and (schooljaar is None or c.schooljaar == schooljaar)
                and (geo_level is None or c.geo_level.value == geo_level)
                and (status is None or c.status.value == status)
            ):
                out.append(c)
        return out

    # --- look-ups for the factsheets, built on first use -------------------------------------

    @cached_property
    def _by_cell_key(self) -> dict[tuple[str, str, str, str], ReleaseCell]:
        found: dict[tuple[str, str, str, str], ReleaseCell] = {}
        for c in self.cells:
            found.setdefault((c.indicator, c.breakdown, _LEVEL[c.geo_level], c.geo_code), c)
        return found

    @cached_property
    def gemeente_naam(self) -> dict[str, str]:
        """The name of each gemeente with a gemeente cell."""
        names: dict[str, str] = {}
        for g, positions in self.by_gemeente.items():
            for i in positions:
                c = self.cells[i]
                if c.geo_level is GeoLevel.GEMEENTE:
                    names[g] = c.geo_name
                    break
        return names

    @cached_property
    def gemeente_regio(self) -> dict[str, str]:
        """The region in the ``parent_code`` of each gemeente's first gemeente cell that has one."""
        regios: dict[str, str] = {}
        for g, positions in self.by_gemeente.items():
            for i in positions:
                c = self.cells[i]
                if c.geo_level is GeoLevel.GEMEENTE and c.parent_code:
                    regios[g] = c.parent_code
                    break
        return regios

    @cached_property
    def has_intervals(self) -> bool:
        """Whether the release carries 95% intervals (differential privacy)."""
        return any(c.ci_low is not None for c in self.cells)

    def cell(
        self, indicator: str, breakdown: str, level: GeoLevel, code: str
    ) -> ReleaseCell | None:
        return self._by_cell_key.get((indicator, breakdown, level.value, code))

    def wijken(self, indicator: str, breakdown: str, gemeentecode: str) -> list[ReleaseCell]:
        """The gemeente's wijk cells of one indicator and breakdown, in release order."""
        return self._units_of(gemeentecode).get((indicator, breakdown), ([], []))[0]

    def wijkgroepen(self, indicator: str, breakdown: str, gemeentecode: str) -> list[ReleaseCell]:
        """The gemeente's wijkgroep cells of one indicator and breakdown, in release order."""
        return self._units_of(gemeentecode).get((indicator, breakdown), ([], []))[1]

    def _units_of(self, gemeentecode: str) -> dict[tuple[str, str], tuple[list[ReleaseCell], ...]]:
        units = self._units.get(gemeentecode)
        if units is None:
            units = {}
            for i in self.by_gemeente.get(gemeentecode, []):
                c = self.cells[i]
                if c.geo_level is GeoLevel.WIJK or c.geo_level is GeoLevel.WIJKGROEP:
                    lists = units.setdefault((c.indicator, c.breakdown), ([], []))
                    lists[0 if c.geo_level is GeoLevel.WIJK else 1].append(c)
            with self._lock:
                self._units[gemeentecode] = units
        return units

    def regio_of(self, indicator: str, breakdown: str, gemeentecode: str) -> str | None:
        """The region (pool) whose figure stands for the gemeente's (opleidingsmobiliteit): the
        pool its cell is pooled into, else the first region pool listing it, else its region."""
        cell = self.cell(indicator, breakdown, GeoLevel.GEMEENTE, gemeentecode)
        if cell is not None and cell.pooled_into:
            return cell.pooled_into
        for group in self.release.pooling:
            if group.level is GeoLevel.REGIO and gemeentecode in group.members:
                return group.code
        return self.gemeente_regio.get(gemeentecode)


def _not_found(message: str) -> UserError:
    return UserError(
        "GEMEENTE_NOT_FOUND",
        message,
        hint="use a CBS gemeentecode (GMgggg) of a gemeente in this release",
    )
