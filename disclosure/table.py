"""The table disclosure control decides over, and what the audit must check in it.

One ``Table`` per reference year: per population a *family* of unknowns (category counts per
wijk, or per gemeente for opleidingsmobiliteit); *numbers* (sums of unknowns a cell shows);
*items* (the cells of one unit that share a denominator, withheld together); *cells*;
*relations* (a parent's counts are the sums of its children's); audit *blocks*; and what earlier
releases and the pooling maps say (``PriorRow``, ``PriorCell``, ``KnownRow``). ``targets_of``
names the withheld counts the audit must keep uncertain. ``disclosure.build`` fills a table,
``disclosure.audit`` checks it, ``disclosure.secondary`` withholds in it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from kansenkluis.domain import CellStatus, GeoLevel, Rule

from .policy import Policy
from .primary import inherent_range
from .rounding import rounding_interval

INF = math.inf


#: A family with at most this many unknowns is audited as one joint LP (exact).
JOINT_MAX_COLUMNS = 2500


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
    """What an earlier release of the same schooljaar says about a sum of counts."""

    family: int
    atoms: np.ndarray
    offsets: np.ndarray
    lo: float
    hi: float
    block: int
    #: (numerator offsets, denominator offsets, lowest %, highest %) of an exact percentage
    ratio: tuple[np.ndarray, np.ndarray, float, float] | None = None
    #: from a published figure (True), or from a status alone (published, withheld: False)
    figure: bool = True
    #: the number of this release with the same sum (-1: none); the audit folds the row into
    #: that number's own row
    twin: int = -1


@dataclass
class PriorCell:
    """A withheld cell of an earlier release of the same schooljaar, as its status shows it."""

    family: int
    status: CellStatus
    atoms: np.ndarray
    num_offsets: np.ndarray
    den_offsets: np.ndarray
    #: true counts (to know which status alternative holds; never published)
    num: int
    den: int
    #: the policy the earlier release was made under (its statuses mean that policy's rules)
    policy: Policy


@dataclass
class KnownRow:
    """A bound that the public rules imply whatever is published, e.g. from the pooling map:
    a unit that still borders another unit of its gemeente was not small."""

    family: int
    atoms: np.ndarray
    offsets: np.ndarray
    #: coefficient per offset (all ones when None)
    weights: np.ndarray | None
    lo: float
    hi: float
    block: int


@dataclass
class Block:
    family: int
    atoms: np.ndarray
    items: list[int] = field(default_factory=list)
    #: column group of each atom of the family in this block (-1: not in it); atoms of one
    #: pool share a group when nothing published can tell them apart
    position: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_positions: int = 0


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
    known_rows: list[KnownRow] = field(default_factory=list)
    #: number -> withheld cells of an earlier release with the same sum (their statuses count)
    prior_cells: dict[int, list[PriorCell]] = field(default_factory=dict)
    #: per family: audited as one joint LP
    joint: list[bool] = field(default_factory=list)
    #: per family: the unit (column group) of each atom; pooled wijken share their wijkgroep's
    #: columns unless an earlier release published one of them on its own
    unit_of_atom: list[np.ndarray] = field(default_factory=list)
    #: DP: the counts are noisy and may be negative, so unknowns are not bounded below by 0
    noisy: bool = False
    #: number -> [(cell, "num" | "den")]
    exposures: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    _parent: dict[int, int] | None = field(default=None, repr=False)
    _caps: dict[int, list[tuple[int, int]]] = field(default_factory=dict, repr=False)
    _spans: dict[int, tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int]]] = (
        field(default_factory=dict, repr=False)
    )
    _land: dict[int, list[int]] = field(default_factory=dict, repr=False)
    _atom_block: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def block_of_atoms(self, family: int, atoms: np.ndarray) -> int:
        """The one audit block of ``family`` holding all ``atoms`` (-1: none, e.g. the land)."""
        if family not in self._atom_block:
            owner = np.full(len(self.families[family].atoms), -1, dtype=np.int64)
            for bi, b in enumerate(self.blocks):
                if b.family == family and b.items:
                    owner[b.atoms] = bi
            self._atom_block[family] = owner
        blocks = np.unique(self._atom_block[family][atoms])
        return int(blocks[0]) if len(blocks) == 1 else -1

    def land_numbers(self, family: int) -> list[int]:
        if family not in self._land:
            self._land[family] = [
                n
                for it in self.items
                if it.family == family and it.level is GeoLevel.LAND
                for n in it.numbers
            ]
        return self._land[family]

    def new_block(self, family: int, atoms: np.ndarray) -> int:
        """A block over ``atoms``; atoms of one unit share columns if ``unit_of_atom`` says so."""
        units = self.unit_of_atom[family][atoms]
        uniq, local = np.unique(units, return_inverse=True)
        position = np.full(len(self.families[family].atoms), -1, dtype=np.int64)
        position[atoms] = local
        self.blocks.append(Block(family, atoms, position=position, n_positions=len(uniq)))
        return len(self.blocks) - 1

    def make_joint(self, family: int) -> int:
        """Audit ``family`` as one joint LP from now on (once a national figure is withheld)."""
        fam = self.families[family]
        atoms = np.arange(len(fam.atoms), dtype=np.int64)
        bi = self.new_block(family, atoms)
        block = self.blocks[bi]
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
        for kr in self.known_rows:
            if kr.family == family:
                kr.block = bi
        self.joint[family] = True
        self._atom_block.pop(family, None)
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

    def parent_of(self) -> dict[int, int]:
        """Item -> the parent item of its first relation (built once: relations are fixed
        when the table is built)."""
        if self._parent is None:
            self._parent = {}
            for parent, children in self.relations:
                for c in children:
                    self._parent.setdefault(c, parent)
        return self._parent

    def ancestors(self, item: int) -> list[int]:
        """The items whose pupils strictly contain ``item``'s: its pool (for a pooled wijk),
        the gemeente, region pool and land above it, the ``totaal`` over its breakdowns."""
        parent = self.parent_of()
        out: list[int] = []
        seen = {item}
        while True:
            it = self.items[item]
            nxt = it.pool if it.phantom and it.pool >= 0 else parent.get(item, -1)
            if nxt < 0 or nxt in seen:
                return out
            out.append(nxt)
            seen.add(nxt)
            item = nxt

    def published_cap(self, n: int, base: int) -> tuple[float, int]:
        """The lowest upper bound that one published count of a larger unit (more units, or
        more breakdowns) containing number ``n`` gives on its own, and that count
        (``(INF, -1)``: none).

        Counts are non-negative, so a published sum over a superset bounds every part of it.
        """
        for m, hi in self._cap_sources(n, base):
            if self.is_published(m):
                return float(hi), m
        return INF, -1

    def _cap_sources(self, n: int, base: int) -> list[tuple[int, int]]:
        """The counts of larger units containing ``n``, with their highest values, lowest first
        (the geography and the values do not change while a table is decided over)."""
        cached = self._caps.get(n)
        if cached is not None:
            return cached
        num = self.numbers[n]
        units, breakdowns, atoms, offsets = self._span(n)
        out = []
        for anc in self.ancestors(num.item):
            for m in self.items[anc].numbers:
                if self.numbers[m].family != num.family:
                    continue
                m_units, m_breakdowns, m_atoms, m_offsets = self._span(m)
                if not (offsets <= m_offsets and atoms <= m_atoms):
                    continue
                # strictly larger in what the audit can tell apart: a pooled wijk shares its
                # wijkgroep's columns, so the wijkgroep's figure is its own, not a larger one
                if m_units > units or m_breakdowns > breakdowns:
                    out.append((m, rounding_interval(max(self.numbers[m].shown, 0), base)[1]))
        out.sort(key=lambda x: x[1])
        self._caps[n] = out
        return out

    def _span(
        self, n: int
    ) -> tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int]]:
        """Units, breakdowns, atoms and offsets of number ``n`` as sets (cached)."""
        span = self._spans.get(n)
        if span is None:
            num = self.numbers[n]
            n_cat = len(self.families[num.family].categories)
            span = (
                frozenset(self.unit_of_atom[num.family][num.atoms].tolist()),
                frozenset((num.offsets // n_cat).tolist()),
                frozenset(num.atoms.tolist()),
                frozenset(num.offsets.tolist()),
            )
            self._spans[n] = span
        return span


@dataclass
class Target:
    number: int
    value: int
    lo_req: float
    hi_req: float
    #: withheld cells that show this number, with the part it is of each
    owners: list[tuple[int, str]]
    #: the published count of a larger unit whose bound capped ``hi_req`` (-1: none)
    capped_by: int = -1


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


def targets_of(
    table: Table,
    policy: Policy,
    cell_rule: dict[int, Rule],
    numbers: Iterable[int] | None = None,
) -> list[Target]:
    """Every withheld numerator and denominator that must stay uncertain (of ``numbers``).

    Suppressed cells always; a pooled wijk (or gemeente) only where it would have failed the
    primary rules on its own (``cell_rule`` holds the rule of every cell on its exact counts).

    The reach asked of a count is [v - p, v + p], narrowed by what its cells' statuses say on
    their own (``inherent_range``) and, under ``secondary.cap_by_published_parent``, above by
    what one published count of a larger unit containing it says on its own (a gemeente shown
    as 0 says each of its wijken has at most 2): that figure passed the primary rules, and what
    it says about every part of its population no suppression of the parts can hide.
    """
    if numbers is None:
        cells: Iterable[int] = range(len(table.cells))
    else:
        cells = sorted({ci for n in numbers for ci, _ in table.exposures[n]})
    wanted: set[int] = set()
    for ci in cells:
        c = table.cells[ci]
        if c.status is CellStatus.PUBLISHED:
            continue
        if c.status is CellStatus.POOLED and cell_rule.get(ci, Rule.PUBLISHED) is Rule.PUBLISHED:
            continue
        # a count that another cell still shows is no secret of this cell: the primary rules
        # withheld every cell showing a count its status would give away
        wanted.update(n for n in (c.num, c.den) if not table.is_published(n))
    out = []
    cap_parent = policy.secondary.cap_by_published_parent and not table.noisy
    for n in sorted(wanted):
        owners = [
            (ci, part)
            for ci, part in table.exposures[n]
            if table.cells[ci].status is not CellStatus.PUBLISHED
        ]
        v = table.numbers[n].value
        p = policy.protection(abs(v))
        lo_req, hi_req = max(0.0, v - p) if not table.noisy else v - p, v + p
        for ci, part in owners:
            ilo, ihi = inherent_range(table.cells[ci].status, part, policy)  # type: ignore[arg-type]
            lo_req, hi_req = max(lo_req, min(ilo, v)), min(hi_req, max(ihi, v))
        capped_by = -1
        if cap_parent:
            cap, source = table.published_cap(n, policy.rounding.base)
            if cap < hi_req:
                hi_req, capped_by = max(cap, v), source
        out.append(Target(n, v, lo_req, hi_req, owners, capped_by))
    return out
