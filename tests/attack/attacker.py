"""An independent attacker on published releases.

It sees only what leaves the sealed side: the cells of one or more releases (``ReleaseCell``-like
objects or an exported ``cells.csv``), the pooling map, the public geography and the public policy
knobs. It deliberately imports nothing from ``disclosure``: if the audit has a blind spot, this
code must not share it. The indicator definitions (which categories make up which numerator and
denominator) are public (docs/indicators.md), so ``indicators.specs`` is fair game.

Unknowns are the exact category counts x[schooljaar, population, breakdown, category, wijk] >= 0.
Every published figure becomes an interval on a sum of unknowns (a wijkgroep sums its wijken, a
gemeente its wijken, a region pool its gemeenten, the land everything):

- a count rounded to a multiple of b lies within b // 2 of the published value;
- a published cell passed the primary rules: its denominator is at least the minimum cell, and
  a published 0% or 100% has a denominator of at least the group-disclosure minimum;
- with ``percentage_basis = exact`` a published percentage p (one decimal) gives the linear pair
  100 * num - (p + 0.05) * den <= 0 and (p - 0.05) * den - 100 * num <= 0 on the *true* counts;
  with ``rounded`` it must agree with the published counts and adds nothing.

With ``use_status`` the attacker also reads the public rules behind what it sees:

- a ``suppressed_primary`` cell failed min cell or group disclosure (complement rule off), so
  its denominator is below max(minimum cell, group minimum), and its counts fit one of three
  reasons (den < min cell; 0% shown; 100% shown), whose hull bounds the cell;
- a ``suppressed_secondary`` cell passed both: denominator >= minimum cell, and either a large
  denominator or a percentage strictly inside (0, 100) even after rounding;
- the pooling maps, one per population: pooling merges a small unit with a neighbour until no
  small unit has one it may merge with (the two together never the whole gemeente), so a unit
  of a population's map that still borders such a unit has every criterion denominator of that
  population >= ``pooling.wijk_min`` (a single wijk) or ``pooling.wijkgroep_min`` (a group).
  A release whose policy has no ``pooling.wijkgroep_min`` (an older one) has one map for every
  criterion and no such exceptions.

Two attacks then bound every withheld numerator and denominator that no published cell shows
(a count that another published cell shows is no secret of the withheld one): differencing (a
published parent minus published siblings) and a joint linear programme per population (HiGHS,
the solver behind ``scipy.optimize.linprog(method="highs")``). Counts are integers, so LP bounds
are rounded inwards. ``findings`` and ``attack_releases`` compare the intervals with the true
values, which only a test holds.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np

from indicators.specs import INDICATORS, POPULATIONS
from kansenkluis.domain import TOTAAL, Geography

PUBLISHED = "published"
SUPPRESSED_PRIMARY = "suppressed_primary"
SUPPRESSED_SECONDARY = "suppressed_secondary"
POOLED = "pooled"
WITHHELD = (SUPPRESSED_PRIMARY, SUPPRESSED_SECONDARY, POOLED)

#: (schooljaar, population, breakdown, category, wijkcode) -> true count; only tests hold this.
Truth = Mapping[tuple[int, str, str, str, str], int]
#: (schooljaar, population, breakdown or "*"): unknowns that no published figure links to
#: any other block; a population's breakdowns are separate blocks unless a totaal joins them
Block = tuple[int, str, str]
CellKey = tuple[str, str, int, str, str]

_EPS = 1e-6


class AttackModelError(AssertionError):
    """The published figures contradict the attacker's model (an unsound assumption or a bug)."""


# --- what the attacker reads -------------------------------------------------------------------


@dataclass(frozen=True)
class PublicPolicy:
    """The policy knobs a release states publicly (release.json), as the attacker reads them.

    The group-disclosure rule is read as docs/disclosure.md words it: a *published* percentage
    of 0 or 100
    needs a denominator of at least ``group_min``. With rounded counts that also covers a true
    numerator that merely rounds to 0 (or to the rounded denominator).
    """

    min_cell: int = 10
    group_min: int = 20
    rounding_base: int = 5
    complement_k: int | None = None
    percentage_basis: str = "rounded"
    #: a wijk (group) stays small, and is pooled with a neighbour, while one of these
    #: denominators is below ``wijk_min``: indicator ids (each breakdown) or population ids
    wijk_min: int | None = None
    wijk_criteria: tuple[str, ...] = ()
    #: a wijkgroep (two or more wijken) stays small while a criterion is below this
    wijkgroep_min: int | None = None
    #: what one published count of a larger unit says about each count inside it is accepted
    #: (the audit asks no withheld count to reach beyond it)
    cap_by_published_parent: bool = False

    @property
    def half_width(self) -> int:
        """How far a true count can lie from its rounded value (either side, to be safe)."""
        return self.rounding_base // 2

    @property
    def rounds_to_zero(self) -> int:
        """The largest count whose rounded value may be 0 (whatever the tie rule)."""
        return self.rounding_base // 2

    @classmethod
    def from_release(cls, policy: Mapping[str, Any], percentage_basis: str) -> PublicPolicy:
        """Read the knobs from a release's policy dict (``disclosure/policy.toml`` layout)."""

        def get(path: str, default: Any) -> Any:
            node: Any = policy
            for part in path.split("."):
                if not isinstance(node, Mapping) or part not in node:
                    return default
                node = node[part]
            return node

        complement_on = bool(get("primary.complement_rule", False))
        return cls(
            min_cell=int(get("primary.min_cell", 10)),
            group_min=int(get("primary.group_disclosure_min", 20)),
            rounding_base=int(get("rounding.base", 5)),
            complement_k=int(get("primary.complement_k", 10)) if complement_on else None,
            percentage_basis=percentage_basis,
            wijk_min=get("pooling.wijk_min", None),
            wijk_criteria=tuple(get("pooling.wijk_criteria", ())),
            wijkgroep_min=get("pooling.wijkgroep_min", None),
            cap_by_published_parent=bool(get("secondary.cap_by_published_parent", False)),
        )


@dataclass(frozen=True)
class SeenCell:
    """One row of cells.csv as an outsider sees it."""

    indicator: str
    breakdown: str
    schooljaar: int
    geo_level: str
    geo_code: str
    numerator: int | None
    denominator: int | None
    percentage: float | None
    status: str
    pooled_into: str | None

    @property
    def key(self) -> CellKey:
        return (self.indicator, self.breakdown, self.schooljaar, self.geo_level, self.geo_code)

    @classmethod
    def of(cls, cell: Any) -> SeenCell:
        """From a ReleaseCell-like object or a cells.csv row (a dict of strings)."""
        if isinstance(cell, Mapping):
            get = cell.get
        else:

            def get(name: str, default: Any = None) -> Any:
                return getattr(cell, name, default)

        def num(name: str, cast: Any) -> Any:
            value = get(name)
            return None if value is None or value == "" else cast(value)

        return cls(
            indicator=str(get("indicator")),
            breakdown=str(get("breakdown")),
            schooljaar=int(str(get("schooljaar"))),
            geo_level=str(get("geo_level")),
            geo_code=str(get("geo_code")),
            numerator=num("numerator", lambda v: int(float(v))),
            denominator=num("denominator", lambda v: int(float(v))),
            percentage=num("percentage", float),
            status=str(get("status")),
            pooled_into=num("pooled_into", str),
        )


@dataclass(frozen=True)
class PublishedRelease:
    """Everything one release makes public that the attacker uses."""

    cells: tuple[SeenCell, ...]
    #: pool code -> members (wijken of a wijkgroep, gemeenten of a region pool)
    pools: Mapping[str, tuple[str, ...]]
    policy: PublicPolicy
    #: pool code -> the populations whose pooling map has it (empty: an older release)
    pool_populations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        cells: Iterable[Any],
        pooling: Iterable[Any],
        policy: PublicPolicy,
    ) -> PublishedRelease:
        pools: dict[str, tuple[str, ...]] = {}
        populations: dict[str, tuple[str, ...]] = {}
        for group in pooling:
            get = group.get if isinstance(group, Mapping) else lambda k, g=group: getattr(g, k)
            code = str(get("code"))
            members = get("members")
            assert members is not None, f"pool {code} lists no members"
            pools[code] = tuple(str(m) for m in members)
            populations[code] = tuple(str(p) for p in (get("populations") or ()))
        return cls(tuple(SeenCell.of(c) for c in cells), pools, policy, populations)

    @classmethod
    def from_draft(cls, draft: Any) -> PublishedRelease:
        """From a ProtectedDraft or Release: only its public parts are read."""
        policy = PublicPolicy.from_release(draft.policy, str(draft.percentage_basis))
        return cls.of(draft.cells, draft.pooling, policy)

    @classmethod
    def from_export(cls, folder: Path) -> PublishedRelease:
        """From ``kluis release export``: release.json plus cells.csv."""
        meta = json.loads((folder / "release.json").read_text(encoding="utf-8"))
        with (folder / "cells.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        policy = PublicPolicy.from_release(meta.get("policy", {}), meta["percentage_basis"])
        return cls.of(rows, meta.get("pooling", []), policy)


# --- intervals and targets --------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __and__(self, other: Interval) -> Interval:
        return Interval(max(self.low, other.low), min(self.high, other.high))


@dataclass(frozen=True)
class TargetCell:
    release: int
    key: CellKey
    quantity: str  # "numerator" | "denominator"
    status: str


@dataclass(frozen=True)
class Target:
    """A withheld sum of unknowns; several withheld cells may share it (shared denominators)."""

    block: Block
    expr: frozenset[int]
    cells: tuple[TargetCell, ...]


@dataclass(frozen=True)
class Finding:
    attack: str
    target: Target
    true_value: int
    interval: Interval
    margin: float
    inherent: Interval | None = None

    def __str__(self) -> str:
        first = self.target.cells[0]
        reach = required_reach(self.true_value, self.inherent)
        return (
            f"{self.attack}: {first.key} {first.quantity} ({first.status}, "
            f"{len(self.target.cells)} cell(s)) true={self.true_value} "
            f"interval=[{self.interval.low:g}, {self.interval.high:g}] "
            f"must reach [{reach.low:g}, {reach.high:g}]"
            + (
                f" (status alone: [{self.inherent.low:g}, {self.inherent.high:g}])"
                if self.inherent
                else ""
            )
        )


def protection_margin(v: float) -> float:
    """p = max(3, 15% of v): how far the attacker's interval must reach on either side."""
    return max(3.0, 0.15 * v)


def required_reach(v: int, inherent: Interval | None = None) -> Interval:
    """How far an attacker's interval must reach around v: [max(0, v - p), v + p].

    ``inherent``, the interval that statuses and pooling alone give (the status-only
    attacker), caps the demand: no choice of published numbers can hide what it reveals.
    """
    p = protection_margin(v)
    reach = Interval(max(0.0, v - p), v + p)
    if inherent is not None:
        reach = Interval(max(reach.low, inherent.low), min(reach.high, inherent.high))
    return reach


def is_disclosed(v: int, interval: Interval, inherent: Interval | None = None) -> bool:
    reach = required_reach(v, inherent)
    return interval.low > reach.low + _EPS or interval.high < reach.high - _EPS


# --- the model ------------------------------------------------------------------------------


_FREE = Interval(0.0, math.inf)


@dataclass(frozen=True)
class _Case:
    """One reason a withheld cell may have its status: bounds on den, num and den - num."""

    den: Interval
    num: Interval = _FREE
    rest: Interval = _FREE


@dataclass
class _BlockModel:
    variables: list[tuple[int, str, str, str, str]]
    index: dict[tuple[str, str, str], int]  # (breakdown, category, wijk) -> column
    bounds: dict[frozenset[int], Interval] = field(default_factory=dict)
    #: where each bound came from, for the soundness report
    sources: dict[frozenset[int], list[str]] = field(default_factory=lambda: defaultdict(list))
    #: (numerator expr, denominator expr, lowest %, highest %) for exact percentages
    ratios: list[tuple[frozenset[int], frozenset[int], float, float, str]] = field(
        default_factory=list
    )
    targets: dict[frozenset[int], list[TargetCell]] = field(default_factory=dict)
    #: sum -> the first release that published it with numbers
    published_in: dict[frozenset[int], int] = field(default_factory=dict)
    #: (release, cell key) -> (numerator expr, denominator expr) of every withheld cell
    withheld: dict[tuple[int, CellKey], tuple[frozenset[int], frozenset[int]]] = field(
        default_factory=dict
    )
    #: per withheld cell: the alternatives its status allows (each a list of extra bounds);
    #: the cell's own values lie in the union of the alternatives' LP intervals
    cases: dict[tuple[int, CellKey], list[_Case]] = field(default_factory=dict)
    #: (release, sum, highest value) of every published count, and every sum a cell shows:
    #: for the caps that one published figure of a larger unit puts on the counts inside it
    figures: list[tuple[int, frozenset[int], float]] = field(default_factory=list)
    cell_sums: set[frozenset[int]] = field(default_factory=set)

    def bound(self, expr: frozenset[int], interval: Interval, source: str) -> None:
        old = self.bounds.get(expr, Interval(0.0, math.inf))
        self.bounds[expr] = old & interval
        self.sources[expr].append(source)


class Attacker:
    """Builds the attacker's constraints from published releases and runs the attacks.

    ``use_status``: also use what the status of a withheld cell and the pooling map say, given
    the public rules (a ``suppressed_primary`` cell failed min cell or group disclosure, a
    ``suppressed_secondary`` one passed both, a wijk left on its own next to other units of its
    gemeente was not small). ``numbers=False`` drops every published count and percentage and
    keeps only statuses and pooling: the *status-only* attacker, whose intervals say what a
    release reveals no matter which numbers it publishes.
    """

    def __init__(
        self,
        releases: Sequence[PublishedRelease],
        geography: Geography,
        *,
        use_status: bool = True,
        numbers: bool = True,
        use_pooling: bool | None = None,
    ) -> None:
        self.releases = list(releases)
        self.geography = geography
        self.use_status = use_status
        #: read the pooling map as evidence (default: with the statuses)
        self.use_pooling = use_status if use_pooling is None else use_pooling
        self.numbers = numbers
        self.blocks: dict[Block, _BlockModel] = {}
        #: populations whose breakdowns one published figure (a totaal or a pooling
        #: criterion over the whole population) ties together
        self.joined: set[str] = {
            spec.population.value
            for spec in INDICATORS.values()
            if TOTAAL in spec.breakdowns and POPULATIONS[spec.population].breakdowns != (TOTAAL,)
        }
        if self.use_pooling:
            self.joined |= {c for r in self.releases for c in r.policy.wijk_criteria}
        #: published figures that contradict each other (e.g. a percentage that does not
        #: follow from the published rounded counts)
        self.inconsistencies: list[str] = []
        for ri, release in enumerate(self.releases):
            for cell in release.cells:
                self._read(ri, release, cell)
            if self.use_pooling:
                self._read_pooling(ri, release)
        if not self.numbers and self.releases:
            self._cap_by_larger_units(len(self.releases) - 1)

    # -- reading ---------------------------------------------------------------------------

    def block_of(self, schooljaar: int, indicator: str, breakdown: str) -> Block:
        spec = INDICATORS[indicator]  # type: ignore[index]
        pop = spec.population.value
        whole = pop in self.joined or POPULATIONS[spec.population].breakdowns == (TOTAAL,)
        return (schooljaar, pop, "*" if whole else breakdown)

    def _block(self, block: Block) -> _BlockModel:
        if block not in self.blocks:
            sj, pop_id, part = block
            pop = next(p for p in POPULATIONS.values() if p.id.value == pop_id)
            variables = [
                (sj, pop_id, b, c, w)
                for b in (pop.breakdowns if part == "*" else (part,))
                for c in pop.categories
                for w in sorted(self.geography.wijken)
            ]
            index = {(b, c, w): i for i, (_, _, b, c, w) in enumerate(variables)}
            self.blocks[block] = _BlockModel(variables, index)
        return self.blocks[block]

    def _wijken(self, release: PublishedRelease, level: str, code: str) -> list[str]:
        geo = self.geography
        if level == "wijk":
            return [code]
        if level == "land":
            return sorted(geo.wijken)
        if level == "gemeente":
            return geo.wijken_of(code)
        if level == "wijkgroep":
            return self._expand_members(release, release.pools[code])
        if level == "regio":
            if code in release.pools:
                return self._expand_members(release, release.pools[code])
            return [w for g in geo.gemeenten_of(code) for w in geo.wijken_of(g)]
        raise AttackModelError(f"unknown geo_level {level!r}")

    def _expand_members(self, release: PublishedRelease, members: Sequence[str]) -> list[str]:
        out: list[str] = []
        for m in members:
            if m in self.geography.wijken:
                out.append(m)
            elif m in self.geography.gemeenten:
                out += self.geography.wijken_of(m)
            elif m in release.pools:
                out += self._expand_members(release, release.pools[m])
            else:
                out += [
                    w for g in self.geography.gemeenten_of(m) for w in self.geography.wijken_of(g)
                ]
        return sorted(set(out))

    def expressions(
        self, release: PublishedRelease, cell: SeenCell
    ) -> tuple[Block, frozenset[int], frozenset[int]]:
        """The unknowns summed by a cell's numerator and denominator."""
        spec = INDICATORS[cell.indicator]  # type: ignore[index]
        pop = POPULATIONS[spec.population]
        block = self.block_of(cell.schooljaar, cell.indicator, cell.breakdown)
        model = self._block(block)
        if cell.breakdown == TOTAAL and pop.breakdowns != (TOTAAL,):
            breakdowns = list(pop.breakdowns)
        else:
            breakdowns = [cell.breakdown]
        wijken = self._wijken(release, cell.geo_level, cell.geo_code)

        def expr(categories: Iterable[str]) -> frozenset[int]:
            return frozenset(
                model.index[(b, c, w)] for b in breakdowns for c in categories for w in wijken
            )

        return block, expr(spec.numerator), expr(spec.denominator)

    def _read(self, ri: int, release: PublishedRelease, cell: SeenCell) -> None:
        policy = release.policy
        block, num, den = self.expressions(release, cell)
        model = self._block(block)
        rest = den - num  # denominator minus numerator: also a plain sum of unknowns
        where = f"release {ri} {cell.key}"
        model.cell_sums.update((num, den))
        if cell.status == PUBLISHED and cell.numerator is not None and cell.denominator is not None:
            h = policy.half_width
            model.figures += [(ri, num, cell.numerator + h), (ri, den, cell.denominator + h)]
        k = policy.complement_k
        m, g = policy.min_cell, policy.group_min
        if cell.status == PUBLISHED:
            if cell.numerator is None or cell.denominator is None:
                raise AttackModelError(f"{where}: published without counts")
            # It passed the primary rules.
            model.bound(den, Interval(m, math.inf), f"{where} min cell")
            if k:
                model.bound(num, Interval(k, math.inf), f"{where} complement")
                model.bound(rest, Interval(k, math.inf), f"{where} complement")
            if self.numbers:
                self._read_numbers(model, policy, cell, num, den, where)
                for expr in (num, den):
                    model.published_in[expr] = min(model.published_in.get(expr, ri), ri)
            return
        if cell.status not in WITHHELD:
            raise AttackModelError(f"{where}: unknown status {cell.status!r}")
        if cell.numerator is not None or cell.denominator is not None:
            self.inconsistencies.append(f"{where}: withheld cell carries numbers")
        zero = policy.rounds_to_zero
        if self.use_status and cell.status == SUPPRESSED_PRIMARY and not k:
            # Failing min cell or group disclosure both need a denominator below their minimum;
            # which one failed is a three-way case split on this cell alone. A 0% or 100%
            # shown from rounded counts also counts: numerator rounding to 0, or to the
            # rounded denominator (then den - num < base).
            model.bound(den, Interval(0, max(m, g) - 1), f"{where} primary status")
            cases = [_Case(den=Interval(0, m - 1))]
            if g > m:
                cases.append(_Case(den=Interval(m, g - 1), num=Interval(0, zero)))
                cases.append(
                    _Case(den=Interval(m, g - 1), rest=Interval(0, policy.rounding_base - 1))
                )
            model.cases[(ri, cell.key)] = cases
        if self.use_status and cell.status == SUPPRESSED_SECONDARY:
            model.bound(den, Interval(m, math.inf), f"{where} secondary status")
            if k:
                model.bound(num, Interval(k, math.inf), f"{where} secondary complement")
                model.bound(rest, Interval(k, math.inf), f"{where} secondary complement")
            elif g > m:
                # It passed group disclosure: a big denominator or a percentage strictly inside.
                model.cases[(ri, cell.key)] = [
                    _Case(den=Interval(g, math.inf)),
                    _Case(
                        den=Interval(m, g - 1),
                        num=Interval(zero + 1, math.inf),
                        rest=Interval(1, math.inf),
                    ),
                ]
        model.withheld[(ri, cell.key)] = (num, den)
        for quantity, expr in (("numerator", num), ("denominator", den)):
            model.targets.setdefault(expr, []).append(
                TargetCell(ri, cell.key, quantity, cell.status)
            )

    def _read_numbers(
        self,
        model: _BlockModel,
        policy: PublicPolicy,
        cell: SeenCell,
        num: frozenset[int],
        den: frozenset[int],
        where: str,
    ) -> None:
        assert cell.numerator is not None and cell.denominator is not None
        h = policy.half_width
        n, d = cell.numerator, cell.denominator
        model.bound(num, Interval(max(0, n - h), n + h), f"{where} numerator")
        model.bound(den, Interval(max(0, d - h), d + h), f"{where} denominator")
        pct = cell.percentage
        if pct is None:
            return
        if policy.percentage_basis == "exact":
            model.ratios.append((num, den, max(0.0, pct - 0.05), min(100.0, pct + 0.05), where))
        elif d > 0 and abs(100 * n / d - pct) > 0.05 + 1e-9:
            self.inconsistencies.append(f"{where}: {pct}% does not follow from {n}/{d}")
        if pct in (0.0, 100.0):
            model.bound(den, Interval(policy.group_min, math.inf), f"{where} group rule")

    def _read_pooling(self, ri: int, release: PublishedRelease) -> None:
        """A unit left next to a unit it may merge with was not small on its criteria."""
        policy = release.policy
        if policy.wijk_min is None or not policy.wijk_criteria:
            return
        geo = self.geography
        # releases whose policy knows wijkgroep_min pool per population (older ones: one map)
        per_population = policy.wijkgroep_min is not None
        by_map: dict[str | None, list[str]] = {}
        for criterion in policy.wijk_criteria:
            pop = _population_of(criterion) if per_population else None
            by_map.setdefault(pop, []).append(criterion)
        n_wijken: dict[str, int] = {}
        for wijk in geo.wijken.values():
            n_wijken[wijk.gemeentecode] = n_wijken.get(wijk.gemeentecode, 0) + 1
        years = sorted({c.schooljaar for c in release.cells})
        for pop, criteria in by_map.items():
            groups = [
                members
                for code, members in release.pools.items()
                if members
                and all(m in geo.wijken for m in members)
                and (pop is None or pop in release.pool_populations.get(code, ()))
            ]
            grouped = {w for members in groups for w in members}
            units = groups + [(w,) for w in geo.wijken if w not in grouped]
            unit_of = {w: unit for unit in units for w in unit}
            for unit in units:
                gemeente = geo.wijken[unit[0]].gemeentecode
                others = {
                    unit_of[b]
                    for w in unit
                    for b in geo.wijken[w].buren
                    if b in geo.wijken and b not in unit and geo.wijken[b].gemeentecode == gemeente
                }
                if per_population:
                    others = {o for o in others if len(unit) + len(o) < n_wijken[gemeente]}
                if not others:
                    continue  # no neighbour it may merge with: it may have stayed small
                least = policy.wijk_min
                if per_population and len(unit) > 1 and policy.wijkgroep_min is not None:
                    least = max(least, policy.wijkgroep_min)
                for sj in years:
                    for criterion in criteria:
                        for block, expr in self._criterion_sums(sj, criterion, list(unit)):
                            self._block(block).bound(
                                expr,
                                Interval(least, math.inf),
                                f"release {ri} pooling: {criterion} of {','.join(unit)} not small",
                            )

    def _criterion_sums(
        self, sj: int, criterion: str, wijken: list[str]
    ) -> list[tuple[Block, frozenset[int]]]:
        """The denominators a pooling criterion names, over some wijken."""
        out = []
        if criterion in {i.value for i in INDICATORS}:
            spec = INDICATORS[criterion]  # type: ignore[index]
            pop = POPULATIONS[spec.population]
            for b in spec.breakdowns:
                block = self.block_of(sj, criterion, b)
                parts = pop.breakdowns if (b == TOTAAL and pop.breakdowns != (TOTAAL,)) else (b,)
                out.append((block, self._sum(block, parts, spec.denominator, wijken)))
            return out
        pop = next(p for p in POPULATIONS.values() if p.id.value == criterion)
        block = (sj, pop.id.value, "*")
        out.append((block, self._sum(block, pop.breakdowns, pop.categories, wijken)))
        return out

    def _sum(
        self,
        block: Block,
        breakdowns: Iterable[str],
        categories: Iterable[str],
        wijken: Iterable[str],
    ) -> frozenset[int]:
        index = self._block(block).index
        cats, wks = list(categories), list(wijken)
        return frozenset(index[(b, c, w)] for b in breakdowns for c in cats for w in wks)

    def _cap_by_larger_units(self, ri: int) -> None:
        """The status-only attacker still knows what one published count of a larger unit
        (more wijken, or more breakdowns) of release ``ri`` says about each count inside it:
        at most that count's highest value. The release's policy accepts that as said
        (``secondary.cap_by_published_parent``), since no suppression of the parts hides it."""
        if not self.releases[ri].policy.cap_by_published_parent:
            return
        for model in self.blocks.values():

            def span(expr: frozenset[int], model: _BlockModel = model) -> tuple[set, set]:
                return {model.variables[i][4] for i in expr}, {model.variables[i][2] for i in expr}

            sources = [(expr, hi, span(expr)) for r, expr, hi in model.figures if r == ri]
            for expr in model.cell_sums:
                wijken, breakdowns = span(expr)
                caps = [
                    hi
                    for s, hi, (s_wijken, s_breakdowns) in sources
                    if expr < s and (s_wijken > wijken or s_breakdowns > breakdowns)
                ]
                if caps:
                    model.bound(expr, Interval(0.0, min(caps)), "a larger unit's figure")

    # -- targets and truth ------------------------------------------------------------------

    def targets(self) -> list[Target]:
        return [
            Target(block, expr, tuple(cells))
            for block, model in sorted(self.blocks.items())
            for expr, cells in model.targets.items()
        ]

    def unknowns(self, block: Block, expr: frozenset[int]) -> frozenset[tuple[Any, ...]]:
        """A sum as the set of unknowns it adds up, whatever block holds it."""
        variables = self.blocks[block].variables
        return frozenset(variables[i] for i in expr)

    def true_value(self, block: Block, expr: frozenset[int], truth: Truth) -> int:
        variables = self.blocks[block].variables
        return sum(int(truth.get(variables[i], 0)) for i in expr)

    def would_fail_primary(self, cell: TargetCell, truth: Truth) -> bool:
        """Whether a withheld cell's true figures fail min cell, group disclosure or complement."""
        block = self.block_of(cell.key[2], cell.key[0], cell.key[1])
        num_expr, den_expr = self.blocks[block].withheld[(cell.release, cell.key)]
        policy = self.releases[cell.release].policy
        n = self.true_value(block, num_expr, truth)
        d = self.true_value(block, den_expr, truth)
        k = policy.complement_k or 0
        base = policy.rounding_base
        rn, rd = (n + base // 2) // base * base, (d + base // 2) // base * base
        return (
            d < policy.min_cell
            or ((n in (0, d) or rn in (0, rd)) and d < policy.group_min)
            or (k > 0 and (n < k or d - n < k))
        )

    def violated_by(self, truth: Truth) -> list[str]:
        """Constraints the true world breaks: each one is an unsound assumption of the model."""
        out: list[str] = []
        for block, model in self.blocks.items():
            for expr, interval in model.bounds.items():
                v = self.true_value(block, expr, truth)
                if not interval.low - _EPS <= v <= interval.high + _EPS:
                    out.append(
                        f"true {v} outside [{interval.low}, {interval.high}] from "
                        f"{'; '.join(model.sources[expr])}"
                    )
            for num, den, lo, hi, where in model.ratios:
                n, d = self.true_value(block, num, truth), self.true_value(block, den, truth)
                if not lo * d - _EPS <= 100 * n <= hi * d + _EPS:
                    out.append(f"{where}: true {n}/{d} outside [{lo}, {hi}]%")
            for (ri, key), cases in model.cases.items():
                num, den = model.withheld[(ri, key)]
                n, d = self.true_value(block, num, truth), self.true_value(block, den, truth)
                if not any(
                    case.den.low <= d <= case.den.high
                    and case.num.low <= n <= case.num.high
                    and case.rest.low <= d - n <= case.rest.high
                    for case in cases
                ):
                    out.append(f"release {ri} {key}: true {n}/{d} fits no reason for its status")
        return out

    # -- attack 1: differencing -------------------------------------------------------------

    def differencing(self) -> dict[Target, Interval]:
        """Parent minus published siblings, and plain equality (shared denominators).

        For each withheld sum T and each bounded sum P that contains it, the rest P - T is
        covered greedily by disjoint bounded sums; T then lies in P minus their total. A
        sibling known only from below (a secondary suppression, a pooled unit) still caps T.
        """
        out: dict[Target, Interval] = {}
        for target in self.targets():
            model = self.blocks[target.block]
            known = model.bounds
            best = Interval(0.0, math.inf)
            if target.expr in known:
                best = best & known[target.expr]
            for parent, pb in known.items():
                if not target.expr < parent:
                    continue
                rest = parent - target.expr
                candidates = sorted(
                    (e for e in known if e <= rest), key=lambda e: (-len(e), sorted(e))
                )
                covered: set[int] = set()
                parts: list[Interval] = []
                for e in candidates:
                    if covered.isdisjoint(e):
                        covered |= e
                        parts.append(known[e])
                if covered == rest:
                    best = best & Interval(
                        pb.low - sum(p.high for p in parts), pb.high - sum(p.low for p in parts)
                    )
            out[target] = _integral(best)
        return out

    # -- attack 2: the joint linear programme ------------------------------------------------

    def joint_lp(
        self, only: Collection[tuple[Block, frozenset[int]]] | None = None
    ) -> dict[Target, Interval]:
        """Min and max of every withheld sum subject to everything published, per population.

        ``only``: bound just these (block, sum) targets; their intervals are the same as in a
        full run.
        """
        out: dict[Target, Interval] = {}
        for block, model in sorted(self.blocks.items()):
            wanted = {
                e: cells for e, cells in model.targets.items() if only is None or (block, e) in only
            }
            if not wanted:
                continue
            lp = _LinearProgramme(len(model.variables))
            for expr, b in model.bounds.items():
                lp.bound_sum(expr, b)
            for num, den, lo, hi, _ in model.ratios:
                # lo * den <= 100 * num <= hi * den, written as two rows; num lies inside den.
                upper = {i: -hi for i in den}
                lower = {i: -lo for i in den}
                for i in num:
                    upper[i] += 100.0
                    lower[i] += 100.0
                lp.add_row(upper, Interval(-math.inf, 0.0))
                lp.add_row(lower, Interval(0.0, math.inf))
            intervals: dict[frozenset[int], Interval] = {}
            for expr, cells in wanted.items():
                interval = lp.interval(expr)
                if interval is None:
                    raise AttackModelError(
                        f"LP for {cells[0].key} is infeasible: the published figures "
                        "contradict the attacker's model"
                    )
                intervals[expr] = _integral(interval)
            for where, cases in model.cases.items():
                num, den = model.withheld[where]
                if num not in wanted and den not in wanted:
                    continue
                if num not in intervals:
                    intervals[num] = _integral(lp.interval(num) or _FREE)
                if den not in intervals:
                    intervals[den] = _integral(lp.interval(den) or _FREE)
                hull_num, hull_den = self._case_hull(
                    lp, num, den, cases, intervals[num], intervals[den], where[1]
                )
                intervals[num] = intervals[num] & hull_num
                intervals[den] = intervals[den] & hull_den
            for expr, cells in wanted.items():
                out[Target(block, expr, tuple(cells))] = intervals[expr]
        return out

    @staticmethod
    def _case_hull(
        lp: _LinearProgramme,
        num: frozenset[int],
        den: frozenset[int],
        cases: list[_Case],
        base_num: Interval,
        base_den: Interval,
        key: CellKey,
    ) -> tuple[Interval, Interval]:
        """Hull of a withheld cell's numerator and denominator over the reasons for its status.

        The LP alone sees only the convex relaxation (say denominator <= 19); splitting on
        the reason (below the minimum cell, or 0% / 100% below the group minimum) shows e.g.
        that a cell known to hold 12 or more pupils must be a 0% or 100% cell.
        """
        rest = den - num
        hulls: list[tuple[Interval, Interval]] = []
        for case in cases:
            if case.den.high < base_den.low or case.den.low > base_den.high:
                continue  # ruled out by what is already known
            if (
                case.num == _FREE
                and case.rest == _FREE
                and case.den.low <= base_den.low
                and base_den.high <= case.den.high
            ):
                return base_num, base_den  # this reason adds nothing: the hull is the LP
            extra = {den: case.den}
            if case.num != _FREE:
                extra[num] = case.num
            if case.rest != _FREE and rest:
                extra[rest] = case.rest
            n: Interval | None
            with lp.with_bounds(extra):
                d = lp.interval(den)
                if d is None:
                    n = None
                elif case.num == Interval(0.0, 0.0):
                    n = case.num
                elif case.rest == Interval(0.0, 0.0):
                    n = d  # numerator equals denominator
                else:
                    n = lp.interval(num)
            if d is None or n is None:
                continue  # this reason contradicts what is published
            d, n = _integral(d), _integral(n)
            if d.low <= d.high and n.low <= n.high:
                hulls.append((n, d))
        if not hulls:
            raise AttackModelError(f"no reason for the status of {key} fits the published figures")
        return (
            Interval(min(h[0].low for h in hulls), max(h[0].high for h in hulls)),
            Interval(min(h[1].low for h in hulls), max(h[1].high for h in hulls)),
        )


class _LinearProgramme:
    """x >= 0 under row bounds, kept in one HiGHS instance so each re-solve starts warm.

    This is the solver behind ``scipy.optimize.linprog(method="highs")``, called directly: an
    attack solves thousands of small LPs that differ only in the objective or in one row's
    bounds, and a warm start makes each a few simplex steps.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")
        # One thread: the LPs are tiny, and thread start-up dominates on a shared machine.
        self.highs.setOptionValue("threads", 1)
        # Primal simplex: most re-solves change only the objective, so the old basis stays
        # primal feasible and a few pivots finish the job.
        self.highs.setOptionValue("simplex_strategy", 4)
        self.highs.addVars(n, np.zeros(n), np.full(n, highspy.kHighsInf))
        #: row index and current bounds of each plain sum
        self.sums: dict[frozenset[int], tuple[int, Interval]] = {}

    def add_row(self, row: Mapping[int, float], bounds: Interval) -> int:
        cols = np.array(sorted(row), dtype=np.int32)
        vals = np.array([row[int(c)] for c in cols], dtype=float)
        lo, hi = _highs_bounds(bounds)
        self.highs.addRow(lo, hi, len(cols), cols, vals)
        return int(self.highs.getNumRow()) - 1

    def bound_sum(self, expr: frozenset[int], bounds: Interval) -> None:
        """Bound a plain sum of unknowns, tightening its row if it has one."""
        if expr in self.sums:
            row, old = self.sums[expr]
            self._set(expr, row, old & bounds)
        else:
            self.sums[expr] = (self.add_row(dict.fromkeys(expr, 1.0), bounds), bounds)

    def _set(self, expr: frozenset[int], row: int, bounds: Interval) -> None:
        lo, hi = _highs_bounds(bounds)
        self.highs.changeRowBounds(row, lo, hi)
        self.sums[expr] = (row, bounds)

    def with_bounds(self, extra: Mapping[frozenset[int], Interval]) -> _Restore:
        """Tighten some sums for one alternative; the returned object puts them back."""
        saved = []
        for expr, bounds in extra.items():
            if expr not in self.sums:
                self.bound_sum(expr, _FREE)
            row, old = self.sums[expr]
            saved.append((expr, row, old))
            self._set(expr, row, old & bounds)
        return _Restore(self, saved)

    def _optimum(self, expr: frozenset[int], sense: float) -> float | None:
        cost = np.zeros(self.n)
        cost[list(expr)] = sense
        self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return float(self.highs.getInfo().objective_function_value)
        if status == highspy.HighsModelStatus.kUnbounded:
            return -math.inf
        if status == highspy.HighsModelStatus.kInfeasible:
            return None
        if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            # The solver could not tell: a zero objective settles feasibility.
            self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.zeros(self.n))
            self.highs.run()
            ok = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
            return -math.inf if ok else None
        raise AttackModelError(f"HiGHS ended with {self.highs.modelStatusToString(status)}")

    def interval(self, expr: frozenset[int]) -> Interval | None:
        """[min, max] of the sum over ``expr``, or None if the constraints are infeasible."""
        low = self._optimum(expr, 1.0)
        if low is None:
            return None
        high = self._optimum(expr, -1.0)
        if high is None:  # pragma: no cover - feasibility does not depend on the objective
            return None
        return Interval(low, -high)


@dataclass
class _Restore:
    lp: _LinearProgramme
    saved: list[tuple[frozenset[int], int, Interval]]

    def __enter__(self) -> _LinearProgramme:
        return self.lp

    def __exit__(self, *_: object) -> None:
        for expr, row, old in reversed(self.saved):
            self.lp._set(expr, row, old)


def _highs_bounds(bounds: Interval) -> tuple[float, float]:
    lo = -highspy.kHighsInf if bounds.low == -math.inf else bounds.low
    hi = highspy.kHighsInf if bounds.high == math.inf else bounds.high
    return lo, hi


def _integral(interval: Interval) -> Interval:
    """Counts are integers: round an interval inwards (tolerating solver noise)."""
    low = math.ceil(interval.low - _EPS) if interval.low > -math.inf else 0.0
    high = math.floor(interval.high + _EPS) if interval.high < math.inf else math.inf
    return Interval(max(0.0, float(low)), float(high))


def findings(
    intervals: Mapping[Target, Interval],
    attacker: Attacker,
    truth: Truth,
    attack: str,
    statuses: Sequence[str] = (SUPPRESSED_PRIMARY, SUPPRESSED_SECONDARY, POOLED),
    inherent: Mapping[Target, Interval] | None = None,
    release: int | None = None,
) -> list[Finding]:
    """Withheld values (of the given statuses) that an attack narrowed down too far.

    A pooled wijk (or gemeente) counts only if it would have failed the primary rules on its
    own: a big wijk merged with a tiny one has its upper bound pinned by the group, but its
    figures were publishable anyway; a small one must be as safe as a suppressed cell.
    ``inherent``: the status-only attacker's intervals (see ``required_reach``).
    ``release``: judge only what that release withheld, and not what an earlier release had
    already published (no later release can take that back).
    """
    base = {(t.block, t.expr): iv for t, iv in (inherent or {}).items()}
    out = []
    for target, interval in intervals.items():
        first = attacker.blocks[target.block].published_in.get(target.expr)
        if first is not None and (release is None or first <= release):
            # the same sum is shown by a published cell (bijstelling's denominator is
            # heroverweging's numerator): it is no secret of the withheld cell; what the
            # withheld cell hides (its numerator, its percentage) is judged on its own
            continue
        if not any(
            c.status in statuses
            and (release is None or c.release == release)
            and (c.status != POOLED or attacker.would_fail_primary(c, truth))
            for c in target.cells
        ):
            continue
        v = attacker.true_value(target.block, target.expr, truth)
        cap = base.get((target.block, target.expr))
        if is_disclosed(v, interval, cap):
            out.append(Finding(attack, target, v, interval, protection_margin(v), cap))
    return out


def attack_releases(
    releases: Sequence[PublishedRelease],
    geography: Geography,
    truth: Truth,
    *,
    use_status: bool,
) -> tuple[list[str], list[Finding]]:
    """Run both attacks and judge them: (unsound assumptions, findings).

    Releases are taken in the order they were made: what release r withheld is attacked with
    releases 0..r (docs/disclosure.md: "of the same release and of earlier releases"). The
    first list
    names every constraint the true world breaks; it must be empty, or the attacker's reading
    of the releases is wrong and its findings mean nothing. ``use_status``: whether the attacker
    reads statuses and the pooling map. Either way, what statuses and pooling alone reveal (the
    status-only attacker) is inherent in the release format (they are published) and is not
    held against the published numbers: a count the numbers narrow no further than its own
    status does is not a finding (docs/disclosure.md, "Statuses reveal a little by themselves").
    """
    unsound: list[str] = []
    out: list[Finding] = []
    for r in range(len(releases)):
        seen = releases[: r + 1]
        attacker = Attacker(seen, geography, use_status=use_status)
        unsound += attacker.violated_by(truth) + attacker.inconsistencies
        if unsound:
            return sorted(set(unsound)), []
        raw = findings(
            attacker.differencing(), attacker, truth, "differencing", release=r
        ) + findings(attacker.joint_lp(), attacker, truth, "lp", release=r)
        if not raw:
            continue
        blind = Attacker(seen, geography, use_status=True, numbers=False)
        # the blind attacker reads the pooling map, which can join breakdowns into one block:
        # match sums by their unknowns, not by block and column numbers
        by_sum = {blind.unknowns(t.block, t.expr): iv for t, iv in blind.joint_lp().items()}
        for f in raw:
            cap = by_sum[attacker.unknowns(f.target.block, f.target.expr)]
            if is_disclosed(f.true_value, f.interval, cap):
                out.append(Finding(f.attack, f.target, f.true_value, f.interval, f.margin, cap))
    return [], out


def _population_of(criterion: str) -> str:
    """The population a pooling criterion counts (an indicator id or a population id)."""
    if criterion in {i.value for i in INDICATORS}:
        return INDICATORS[criterion].population.value  # type: ignore[index]
    return criterion
