"""Secondary suppression: choose complementary cells so that nothing withheld can be derived.

Two passes, repeated until both hold:

1. **Relations** (structural). Every relation says a parent's counts are the sums of its
   children's: wijk/wijkgroep within gemeente, gemeente within land, region pool within land,
   parents' group within totaal. A relation with exactly one withheld term (the parent or one
   child) gives that term away by subtraction, so another term is withheld: a published child
   if there is one (the parent otherwise), preferring one at least as large as the withheld
   term's protection p (a small complement narrows its partner down), then the cheapest. Cost is
   the policy's cost model (``secondary.cost``, ``item_cost``): the item's pupils (what readers
   lose) times a factor per level (a gemeente figure is worth far more than a wijk figure), less
   where last year's cell was withheld too (stable statuses across years), and more where the
   suppression status alone would pin the cell down (a ``suppressed_secondary`` denominator of
   10-12 is known to be >= 10). Among wijk cells the smaller go first.
2. **Audit** (``audit.Auditor``). Every withheld numerator and denominator is checked by LP.
   Where one fails, the binding published rows (nonzero duals of the LP, or the dual ray that
   rules a status alternative out) name the items that limit it; the smallest geography among
   them is withheld first (a wijkgroep before its gemeente before the land), then the cheapest,
   and pass 1 runs again for the relations that changed. Where only the national figure limits
   it (through the rest of the country's range), the rest's ranges are first computed exactly,
   then a published gemeente of the same relation is withheld; the national figure goes last.
   Withholding only widens every other interval, so a count that passed stays passed, and the
   loop ends: at worst everything of a family is withheld.

The *item* is the unit of withholding: all cells of one family at one unit share counts (the
transition indicators share their denominator; bijstelling's denominator is heroverweging's
numerator), so hiding one cell hides them all, else its denominator would stay published.

``naive_secondary`` is the baseline of the benchmark: per parent cell, suppress the smallest
published sibling until no parent has exactly one suppressed child, cell by cell, without
looking at shared denominators, sizes or the audit.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import InternalError, PolicyRefusal

from .audit import Auditor, audit_all
from .policy import Policy
from .table import Check, Table, Target, targets_of

#: The order in which levels are offered as complements: a wijk or wijkgroep first, then a
#: gemeente or region pool, the national figure last (the policy's cost factors weigh within).
_LEVEL_RANK = {
    GeoLevel.WIJK: 0,
    GeoLevel.WIJKGROEP: 0,
    GeoLevel.GEMEENTE: 1,
    GeoLevel.REGIO: 1,
    GeoLevel.LAND: 2,
}


@dataclass
class SuppressionStats:
    rounds: int = 0
    relation_complements: int = 0
    audit_complements: int = 0
    relaxed_to_status: int = 0
    coupled_blocks: int = 0
    lp_solves: int = 0
    checks: list[Check] = field(default_factory=list, repr=False)
    tally: dict[str, int] = field(default_factory=dict)


def item_cost(table: Table, item: int, policy: Policy, withheld_last_year: set[int]) -> float:
    """What withholding ``item`` costs readers, by the policy's cost model (``secondary.cost``):
    its pupils (largest count) times the factor of its level, the previous year's factor, and
    the factor for a complement whose status would narrow it (docs/disclosure.md)."""
    it = table.items[item]
    model = policy.secondary.cost
    cost = float(it.size + 1) * float(getattr(model, it.level.value))
    if item in withheld_last_year:
        cost *= model.withheld_last_year
    m, g = policy.primary.min_cell, policy.primary.group_disclosure_min
    dens = [table.numbers[table.cells[ci].den].value for ci in it.cells]
    if any(den - policy.protection(den) < m for den in dens):
        cost *= model.unsafe
    elif any(den < g for den in dens):
        cost *= model.fragile
    return cost


def withhold(table: Table, item: int, protects: str | None) -> bool:
    """Withhold all cells of an item; False if it was withheld (or pooled) already."""
    it = table.items[item]
    if it.withheld or it.phantom:
        return False
    it.withheld = True
    for ci in it.cells:
        cell = table.cells[ci]
        if cell.status is CellStatus.PUBLISHED:
            cell.status = CellStatus.SUPPRESSED_SECONDARY
            cell.rule = Rule.SECONDARY
            cell.threshold = None
            cell.protects = protects
    return True


def protected_key(table: Table, item: int) -> str:
    """The cell that a complement protects, as a key text (first cell of the item)."""
    cell = table.cells[table.items[item].cells[0]]
    return cell.key_text(table.schooljaar)


def relations_of(table: Table) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for ri, (parent, children) in enumerate(table.relations):
        out[parent].append(ri)
        for c in children:
            out[c].append(ri)
    return out


def relation_pass(
    table: Table,
    policy: Policy,
    relations: Sequence[int] | None = None,
    withheld_last_year: set[int] | None = None,
) -> list[int]:
    """Withhold complements until no relation has exactly one withheld term; new items."""
    last_year = withheld_last_year or set()
    rel_of = relations_of(table)
    todo = list(range(len(table.relations)) if relations is None else relations)
    heapq.heapify(todo)
    queued = set(todo)
    new: list[int] = []
    while todo:
        ri = heapq.heappop(todo)
        queued.discard(ri)
        parent, children = table.relations[ri]
        terms = [parent, *children]
        withheld = [t for t in terms if table.items[t].withheld]
        if len(withheld) != 1:
            continue
        single = withheld[0]
        published_children = [c for c in children if not table.items[c].withheld]
        candidates = published_children if published_children else [parent]
        candidates = [c for c in candidates if c != single and not table.items[c].withheld]
        if not candidates:
            continue
        need = policy.protection(table.items[single].size)
        choice = min(
            candidates,
            key=lambda c: (
                table.items[c].size < need,
                item_cost(table, c, policy, last_year),
                c,
            ),
        )
        if withhold(table, choice, protected_key(table, parent)):
            new.append(choice)
            for r in rel_of[choice]:
                if r not in queued:
                    heapq.heappush(todo, r)
                    queued.add(r)
    return new


def _numbers_of(table: Table, items: Iterable[int]) -> set[int]:
    return {n for i in items for n in table.items[i].numbers}


def suppress(
    table: Table,
    policy: Policy,
    auditor: Auditor,
    cell_rule: dict[int, Rule],
    withheld_last_year: set[int] | None = None,
) -> SuppressionStats:
    """Relations and audit until every withheld count passes; returns what it took."""
    stats = SuppressionStats()
    last_year = withheld_last_year or set()
    stats.relation_complements += len(relation_pass(table, policy, None, last_year))
    for it in table.items:
        if it.withheld and it.block == -1 and not table.joint[it.family]:
            # a national figure is withheld: its family can only be audited jointly
            auditor.make_joint(it.family)
    parents = table.parent_of()
    relaxed: dict[int, tuple[float, float]] = {}
    #: number -> its family, for allowances that lean on a published larger unit's figure
    cap_relaxed: dict[int, int] = {}
    cap_parent = policy.secondary.cap_by_published_parent and not table.noisy
    refined: set[int] = set()  # families whose rest-of-country ranges were computed exactly
    results: dict[int, Check] = {}  # number -> its latest check (a pass stays a pass)
    pending: set[int] = set()
    current: dict[int, Target] | None = None
    max_rounds = len(table.items) + 50
    while True:
        stats.rounds += 1
        if stats.rounds > max_rounds:
            raise InternalError("SECONDARY_NO_PROGRESS", "secondary suppression did not settle")
        if current is None:
            current = {t.number: t for t in targets_of(table, policy, cell_rule)}
        else:
            # only the changed items' counts can have become (or stopped being) targets
            for n in pending:
                current.pop(n, None)
            current.update((t.number, t) for t in targets_of(table, policy, cell_rule, pending))
        targets = _with_relaxed(sorted(current.values(), key=lambda t: t.number), relaxed)
        todo = [t for t in targets if t.number in pending or t.number not in results]
        checks = audit_all(auditor, todo)
        for check in checks:
            results[check.target.number] = check
        failing = [c for c in checks if not c.ok]
        if not failing:
            coupled = auditor.couple(targets, results)
            if not coupled:
                break
            stats.coupled_blocks += len(coupled)
            blocks = set(coupled)
            pending = {t.number for t in targets if auditor.block_of_number(t.number) in blocks}
            for n in pending:
                results.pop(n, None)
            continue
        chosen: set[int] = set()
        progress = False
        pending = set()
        for check in failing:
            n = check.target.number
            pending.add(n)
            candidates = check.candidates
            if check.inherent:
                tg = check.target
                lo, hi = auditor.inherent_interval(tg)
                fixable = lo <= tg.lo_req + 1e-6 and hi >= tg.hi_req - 1e-6
                candidates = auditor.related_items(tg) if fixable else []
                if not candidates:
                    if fixable:
                        continue  # what limits it was withheld this round: check again
                    # Even if every cell still published vanished, the statuses already decided
                    # (and earlier releases) say this much: ask no more than that.
                    relaxed[n] = _allowance(table, auditor, tg, lo, hi)
                    progress = True
                    stats.relaxed_to_status += 1
                    continue
            if cap_parent and not check.inherent:
                # What one published figure of a larger unit says about this count, together
                # with the statuses, stays said whatever is withheld beside it: ask no more.
                tg = check.target
                lo, hi = auditor.inherent_interval(tg)
                if lo > tg.lo_req + 1e-6 or hi < tg.hi_req - 1e-6:
                    relaxed[n] = _allowance(table, auditor, tg, lo, hi)
                    cap_relaxed[n] = table.numbers[n].family
                    progress = True
                    stats.relaxed_to_status += 1
                    continue
            if chosen & set(candidates):
                continue  # a complement chosen this round may already fix it
            # the smallest geography first: a wijkgroep before its gemeente, a gemeente before
            # the land; then the cheapest
            item = min(
                candidates,
                key=lambda i: (
                    _LEVEL_RANK[table.items[i].level],
                    item_cost(table, i, policy, last_year),
                    i,
                ),
            )
            chosen_item = table.items[item]
            if (
                chosen_item.level is GeoLevel.LAND
                and not table.joint[chosen_item.family]
                and chosen_item.family not in refined
            ):
                # Only the national figure limits it, through the rest of the country's range,
                # which was an inner estimate. Compute those ranges exactly before giving up
                # a national figure.
                refined.add(chosen_item.family)
                auditor.invalidate(auditor.refine(chosen_item.family))
                progress = True
                continue
            if chosen_item.level is GeoLevel.LAND:
                # Rather than the national figure, widen the rest of the country: withhold
                # the cheapest published gemeente of the same relation.
                own_gemeente = _gemeente_item(table, table.numbers[n].item, parents)
                siblings = [
                    c
                    for parent, children in table.relations
                    if parent == item
                    for c in children
                    if not table.items[c].withheld and c != own_gemeente
                ]
                if siblings:
                    item = min(siblings, key=lambda i: (item_cost(table, i, policy, last_year), i))
            owner = table.numbers[n].item
            protects = protected_key(table, parents.get(owner, owner))
            if withhold(table, item, protects):
                chosen.add(item)
        if not chosen and not progress:
            raise InternalError("SECONDARY_NO_PROGRESS", "no complement could be chosen")
        stats.audit_complements += len(chosen)
        rel_of = relations_of(table)
        touched = sorted({r for i in chosen for r in rel_of[i]})
        more = relation_pass(table, policy, touched, last_year)
        stats.relation_complements += len(more)
        changed = list(chosen) + more
        for i in changed:
            it = table.items[i]
            if it.block == -1 and not table.joint[it.family]:
                # a national figure is withheld: its family is audited jointly from now on
                fam = it.family
                auditor.make_joint(fam)
                pending |= {n for x in table.items if x.family == fam for n in x.numbers}
        auditor.invalidate_items(changed)
        changed_numbers = _numbers_of(table, changed)
        pending |= changed_numbers
        # a count whose reach a now withheld figure capped must reach further
        pending |= {t.number for t in current.values() if t.capped_by in changed_numbers}
        # an allowance leans on figures of larger units around its count (its wijkgroep,
        # gemeente: the same block; the land: every block of the family): audit it again
        # where one of those may now be withheld
        whole = {table.items[i].family for i in changed if table.items[i].block == -1}
        blocks = {table.items[i].block for i in changed}
        for m in list(cap_relaxed):
            if cap_relaxed[m] in whole or auditor.block_of_number(m) in blocks:
                del cap_relaxed[m]
                relaxed.pop(m, None)
                pending.add(m)
        for n in pending:
            results.pop(n, None)
    final = _with_relaxed(targets_of(table, policy, cell_rule), relaxed)
    stats.checks = [results[t.number] for t in final]
    if any(not c.ok for c in stats.checks):  # pragma: no cover - monotonicity
        raise InternalError("AUDIT_REGRESSED", "a passed count failed again")
    stats.lp_solves = auditor.solves
    stats.tally = dict(auditor.tally)
    return stats


def _allowance(
    table: Table, auditor: Auditor, target: Target, lo: float, hi: float
) -> tuple[float, float]:
    """The reach asked of a count that the interval [lo, hi] left by withholding everything
    still published cannot give: the requirement narrowed to it. Next to earlier releases of
    the year, only to what statuses and pooling maps say without any published figure; where
    even that cannot be met, the release is refused."""
    if not table.prior_rows:
        return max(target.lo_req, lo), min(target.hi_req, hi)
    allowed = auditor.cross_release_allowance(target)
    if lo > allowed[0] + 1e-6 or hi < allowed[1] - 1e-6:
        raise _would_narrow(table.schooljaar)
    return allowed


def _gemeente_item(table: Table, item: int, parents: dict[int, int]) -> int:
    """The gemeente (or region pool) item above an item, or the item itself."""
    while table.items[item].level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP):
        it = table.items[item]
        if it.phantom:
            item = it.pool
            continue
        item = parents.get(item, item)
        if table.items[item].level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP):
            break  # pragma: no cover - a unit always has a gemeente above it
    return item


def _with_relaxed(targets: list[Target], relaxed: dict[int, tuple[float, float]]) -> list[Target]:
    for t in targets:
        if t.number in relaxed:
            lo, hi = relaxed[t.number]
            t.lo_req, t.hi_req = max(t.lo_req, lo), min(t.hi_req, hi)
    return targets


# --- the naive baseline --------------------------------------------------------------------------


def naive_secondary(table: Table) -> int:
    """Cell by cell, per parent: suppress the smallest published sibling until no parent has
    exactly one suppressed child. Returns how many cells it suppressed."""
    groups: list[tuple[int, list[int]]] = []
    for parent, children in table.relations:
        for k, pc in enumerate(table.items[parent].cells):
            pcell = table.cells[pc]
            kids = []
            for child in children:
                cells = table.items[child].cells
                match = [c for c in cells if table.cells[c].indicator == pcell.indicator]
                kids.append(match[0] if match else cells[min(k, len(cells) - 1)])
            groups.append((pc, kids))
    suppressed = 0
    changed = True
    while changed:
        changed = False
        for _pc, kids in groups:
            withheld = [c for c in kids if table.cells[c].status is not CellStatus.PUBLISHED]
            published = [c for c in kids if table.cells[c].status is CellStatus.PUBLISHED]
            if len(withheld) == 1 and published:
                smallest = min(
                    published, key=lambda c: (table.numbers[table.cells[c].den].value, c)
                )
                cell = table.cells[smallest]
                cell.status = CellStatus.SUPPRESSED_SECONDARY
                cell.rule = Rule.SECONDARY
                suppressed += 1
                changed = True
    for it in table.items:
        it.withheld = any(table.cells[c].status is not CellStatus.PUBLISHED for c in it.cells)
    return suppressed


def _would_narrow(schooljaar: int) -> PolicyRefusal:
    return PolicyRefusal(
        "RELEASE_WOULD_NARROW",
        f"a release of reference year {schooljaar} under this policy would, next to the "
        "earlier release of that year, narrow down a withheld cell; no suppression in this "
        "release can prevent that, because the earlier figures stay published",
        hint="release this year under the policy of the earlier release "
        "(see `kluis release show ID`), or keep the earlier release as the only one",
    )
