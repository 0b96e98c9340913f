"""Pooling before suppression (docs/disclosure.md): wijken into wijkgroepen, gemeenten into
region pools.

Wijken. Pooling is decided per *population* (the pupils an indicator counts): groep 8, the
vmbo-gt graduates, the mbo-4 graduates, the transition population. A population's map uses only
the pooling criteria over that population, and every indicator over it shares the map
(heroverweging and bijstelling; opstroom, afstroom and zittenblijven). So a wijk with enough
groep-8 pupils keeps its own heroverweging figure even where its few vmbo-gt graduates are pooled.

Per gemeente, a wijk is *small* while any of its population's criterion denominators is below
``pooling.wijk_min``; a wijkgroep while one is below ``pooling.wijkgroep_min`` (by default the
group-disclosure minimum, 20: a group of 10 to 19 pupils often shows 0% or 100% and would be
withheld after all). Repeatedly the smallest small group (by its most limiting
criterion, then its total size, then its first wijkcode) is merged with one bordering group of
the same gemeente (``Geography.wijken[..].buren``): a neighbour that is small itself if there is
one (so that no wijk that could stand on its own is absorbed), then the merge that leaves the
group no longer small, then the smallest merged group. A merge that would cover every
wijk of the gemeente is never made: such a wijkgroep would only repeat the gemeente figure, and
its members are better withheld (primary suppression) so that the gemeente figure stands. It
stops when no small group has a neighbour it may merge with. A small wijk without one stays on its
own and primary suppression takes over; pooling never crosses a gemeente border, so gemeente
figures stay sums of wijken.

Codes. A group of two or more wijken is a wijkgroep ``WGgggg_nn``. Per gemeente, the distinct
member sets of all populations' maps are numbered together in order of their first wijkcode (then
their members), so one code always means one set of wijken within a release, whichever
populations use it (``PoolingGroup.populations``); its name lists its members' names.

Regions (``opleidingsmobiliteit`` only). Gemeenten start in their ``Gemeente.regio``. A region
pool fails while a known parents' group has fewer than ``pooling.regio_min_group`` pupils or
``onbekend`` is above ``pooling.regio_max_onbekend_share`` of its pupils. Repeatedly the smallest
failing pool is merged with another pool: one that makes it pass if possible, otherwise the
smallest (the geography has no region adjacency; ties by name). Pools are ``RGnn`` in order of
their first region name, named after their regions.

Pooling decides on exact (or, under DP, noisy) counts, so *that* a wijk was pooled says that one
of its criterion denominators was small, much like a primary suppression status does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kansenkluis.domain import PARENT_GROUPS, Geography, GeoLevel
from kansenkluis.geocodes import regio_pool_code, wijkgroep_code

from .release import PoolingGroup

#: Joins member names into a pool name; no wijk or region name contains it.
NAME_SEPARATOR = " + "


@dataclass(frozen=True)
class WijkPooling:
    """Which publication unit each wijk belongs to (for one population): itself, or a wijkgroep."""

    groups: tuple[PoolingGroup, ...]
    #: wijkcode -> the code of its unit (its own code, or the wijkgroep's)
    unit_of: Mapping[str, str]

    def members(self, unit: str) -> tuple[str, ...]:
        for g in self.groups:
            if g.code == unit:
                return g.members
        return (unit,)


@dataclass(frozen=True)
class RegioPooling:
    groups: tuple[PoolingGroup, ...]
    #: gemeentecode -> region pool code
    pool_of: Mapping[str, str]


def pool_wijken(
    geography: Geography,
    criteria: Mapping[str, Sequence[int]],
    threshold: int,
    group_threshold: int | None = None,
) -> WijkPooling:
    """Merge small wijken with bordering wijken of their gemeente, for one population.

    ``criteria`` maps every wijkcode to its criterion denominators (the same criteria, in the
    same order, for every wijk). A wijk is small below ``threshold``, a wijkgroep below
    ``group_threshold`` (default: ``threshold``).
    """
    return pool_wijken_per_population(geography, {"": criteria}, threshold, group_threshold)[""]


def pool_wijken_per_population(
    geography: Geography,
    criteria: Mapping[str, Mapping[str, Sequence[int]]],
    threshold: int,
    group_threshold: int | None = None,
) -> dict[str, WijkPooling]:
    """One pooling map per population, with wijkgroep codes shared across the maps.

    ``criteria`` maps each population id to its criteria per wijkcode (see ``pool_wijken``); a
    population with no criteria (an empty sequence per wijk) is not pooled.
    """
    wijken_of: dict[str, list[str]] = {g: [] for g in geography.gemeenten}
    for w in sorted(geography.wijken):
        wijken_of[geography.wijken[w].gemeentecode].append(w)
    populations = sorted(criteria)
    least = threshold if group_threshold is None else max(threshold, group_threshold)
    unit_of: dict[str, dict[str, str]] = {p: {} for p in populations}
    used_by: dict[str, list[str]] = {p: [] for p in populations}
    groups: list[PoolingGroup] = []
    for gemeentecode in sorted(geography.gemeenten):
        wijken = wijken_of[gemeentecode]
        found: dict[tuple[str, ...], list[str]] = {}  # member set -> populations using it
        for p in populations:
            for members in _pool_gemeente(geography, wijken, criteria[p], threshold, least):
                if len(members) == 1:
                    unit_of[p][members[0]] = members[0]
                else:
                    found.setdefault(tuple(members), []).append(p)
        for n, group in enumerate(sorted(found), 1):
            code = wijkgroep_code(gemeentecode, n)
            groups.append(
                PoolingGroup(
                    code=code,
                    name=NAME_SEPARATOR.join(geography.wijken[w].naam for w in group),
                    level=GeoLevel.WIJKGROEP,
                    members=group,
                    gemeentecode=gemeentecode,
                    populations=tuple(p for p in found[group] if p),
                )
            )
            for p in found[group]:
                used_by[p].append(code)
                for w in group:
                    unit_of[p][w] = code
    return {
        p: WijkPooling(
            groups=tuple(g for g in groups if g.code in set(used_by[p])),
            unit_of=unit_of[p],
        )
        for p in populations
    }


def _pool_gemeente(
    geography: Geography,
    wijken: list[str],
    criteria: Mapping[str, Sequence[int]],
    threshold: int,
    group_threshold: int,
) -> list[list[str]]:
    """The groups of one gemeente, each sorted, in order of their first wijkcode."""
    in_gemeente = set(wijken)
    whole = len(wijken)
    group_of = {w: w for w in wijken}  # wijk -> group id (the group's first wijkcode)
    members: dict[str, list[str]] = {w: [w] for w in wijken}
    sizes: dict[str, list[int]] = {w: [int(v) for v in criteria[w]] for w in wijken}

    def small(size: Sequence[int], n_members: int = 1) -> bool:
        least = threshold if n_members == 1 else group_threshold
        return min(size, default=least) < least

    def neighbours(gid: str) -> set[str]:
        out = set()
        for w in members[gid]:
            for b in geography.wijken[w].buren:
                if b in in_gemeente and group_of[b] != gid:
                    out.add(group_of[b])
        # never a group of every wijk of the gemeente: it would only repeat the gemeente figure
        return {o for o in out if len(members[gid]) + len(members[o]) < whole}

    while True:
        candidates = [g for g in members if small(sizes[g], len(members[g])) and neighbours(g)]
        if not candidates:
            break
        gid = min(candidates, key=lambda g: (min(sizes[g]), sum(sizes[g]), g))

        def merge_key(other: str, gid: str = gid) -> tuple[bool, bool, bool, int, str]:
            # a small neighbour first: merging two small groups costs no wijk its own figure;
            # then a group that already exists, which costs none either
            merged = [a + b for a, b in zip(sizes[gid], sizes[other], strict=True)]
            return (
                not small(sizes[other], len(members[other])),
                len(members[other]) == 1,
                small(merged, 2),
                sum(merged),
                other,
            )

        other = min(neighbours(gid), key=merge_key)
        keep, drop = sorted((gid, other))
        members[keep] = sorted(members[keep] + members.pop(drop))
        sizes[keep] = [a + b for a, b in zip(sizes[keep], sizes.pop(drop), strict=True)]
        for w in members[keep]:
            group_of[w] = keep
    return [members[g] for g in sorted(members)]


def pool_regios(
    geography: Geography,
    parent_groups: Mapping[str, Mapping[str, int]],
    min_group: int,
    max_onbekend_share: float,
) -> RegioPooling:
    """Pool gemeenten into regions for opleidingsmobiliteit.

    ``parent_groups`` maps every gemeentecode to its pupils per parents' group
    (``PARENT_GROUPS``).
    """
    known = [g for g in PARENT_GROUPS if g != "onbekend"]
    pools: dict[str, list[str]] = {}  # pool id (its first region name) -> region names
    sizes: dict[str, dict[str, int]] = {}
    for regio in geography.regios():
        pools[regio] = [regio]
        total = dict.fromkeys(PARENT_GROUPS, 0)
        for gm in geography.gemeenten_of(regio):
            for group in PARENT_GROUPS:
                total[group] += int(parent_groups[gm].get(group, 0))
        sizes[regio] = total

    def fails(size: Mapping[str, int]) -> bool:
        everyone = sum(size.values())
        too_few = any(size[g] < min_group for g in known)
        return too_few or size["onbekend"] > max_onbekend_share * everyone

    def merged(a: str, b: str) -> dict[str, int]:
        return {g: sizes[a][g] + sizes[b][g] for g in PARENT_GROUPS}

    while len(pools) > 1:
        failing = [p for p in pools if fails(sizes[p])]
        if not failing:
            break
        pid = min(failing, key=lambda p: (sum(sizes[p].values()), p))
        other = min(
            (p for p in pools if p != pid),
            key=lambda p: (fails(merged(pid, p)), sum(sizes[p].values()), p),
        )
        keep, drop = sorted((pid, other))
        sizes[keep] = merged(keep, drop)
        del sizes[drop]
        pools[keep] = sorted(pools[keep] + pools.pop(drop))

    groups: list[PoolingGroup] = []
    pool_of: dict[str, str] = {}
    for n, pid in enumerate(sorted(pools), 1):
        code = regio_pool_code(n)
        regios = pools[pid]
        gemeenten = sorted(gm for r in regios for gm in geography.gemeenten_of(r))
        groups.append(
            PoolingGroup(
                code=code,
                name=NAME_SEPARATOR.join(regios),
                level=GeoLevel.REGIO,
                members=tuple(gemeenten),
                gemeentecode=None,
            )
        )
        for gm in gemeenten:
            pool_of[gm] = code
    return RegioPooling(groups=tuple(groups), pool_of=pool_of)
