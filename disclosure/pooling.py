"""Pooling before suppression (SPEC §4): wijken into wijkgroepen, gemeenten into region pools.

Wijken. Per gemeente, a wijk (or group) is *small* while any pooling criterion's denominator is
below ``pooling.wijk_min``. Repeatedly the smallest small group (by its most limiting
criterion, then its total size, then its first wijkcode) is merged with one bordering group of
the same gemeente (``Geography.wijken[..].buren``): the merge that leaves the group no longer
small if one exists, and among those the smallest merged group. It stops when no small group has
a neighbour. One map serves every indicator of the release. A group of two or more wijken is a
wijkgroep ``WGgggg_nn``, numbered per gemeente in order of its first wijkcode; its name lists
its members' names. A small wijk without a neighbour stays on its own and primary suppression
takes over; pooling never crosses a gemeente border, so gemeente figures stay sums of wijken.

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

from .release import PoolingGroup

#: Joins member names into a pool name; no wijk or region name contains it.
NAME_SEPARATOR = " + "


@dataclass(frozen=True)
class WijkPooling:
    """Which publication unit each wijk belongs to: itself, or a wijkgroep."""

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


def _group_code(gemeentecode: str, n: int) -> str:
    return f"WG{gemeentecode[2:]}_{n:02d}"


def pool_wijken(
    geography: Geography,
    criteria: Mapping[str, Sequence[int]],
    threshold: int,
) -> WijkPooling:
    """Merge small wijken with bordering wijken of their gemeente.

    ``criteria`` maps every wijkcode to its criterion denominators (the same criteria, in the
    same order, for every wijk).
    """
    unit_of: dict[str, str] = {}
    groups: list[PoolingGroup] = []
    wijken_of: dict[str, list[str]] = {g: [] for g in geography.gemeenten}
    for w in sorted(geography.wijken):
        wijken_of[geography.wijken[w].gemeentecode].append(w)
    for gemeentecode in sorted(geography.gemeenten):
        wijken = wijken_of[gemeentecode]
        n = 0
        for members in _pool_gemeente(geography, wijken, criteria, threshold):
            if len(members) == 1:
                unit_of[members[0]] = members[0]
                continue
            n += 1
            code = _group_code(gemeentecode, n)
            name = NAME_SEPARATOR.join(geography.wijken[w].naam for w in members)
            groups.append(
                PoolingGroup(
                    code=code,
                    name=name,
                    level=GeoLevel.WIJKGROEP,
                    members=tuple(members),
                    gemeentecode=gemeentecode,
                )
            )
            for w in members:
                unit_of[w] = code
    return WijkPooling(groups=tuple(groups), unit_of=unit_of)


def _pool_gemeente(
    geography: Geography,
    wijken: list[str],
    criteria: Mapping[str, Sequence[int]],
    threshold: int,
) -> list[list[str]]:
    """The groups of one gemeente, each sorted, in order of their first wijkcode."""
    in_gemeente = set(wijken)
    group_of = {w: w for w in wijken}  # wijk -> group id (the group's first wijkcode)
    members: dict[str, list[str]] = {w: [w] for w in wijken}
    sizes: dict[str, list[int]] = {w: [int(v) for v in criteria[w]] for w in wijken}

    def small(size: Sequence[int]) -> bool:
        return min(size, default=threshold) < threshold

    def neighbours(gid: str) -> set[str]:
        out = set()
        for w in members[gid]:
            for b in geography.wijken[w].buren:
                if b in in_gemeente and group_of[b] != gid:
                    out.add(group_of[b])
        return out

    while True:
        candidates = [g for g in members if small(sizes[g]) and neighbours(g)]
        if not candidates:
            break
        gid = min(candidates, key=lambda g: (min(sizes[g]), sum(sizes[g]), g))

        def merge_key(other: str, gid: str = gid) -> tuple[bool, int, str]:
            merged = [a + b for a, b in zip(sizes[gid], sizes[other], strict=True)]
            return (small(merged), sum(merged), other)

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
        code = f"RG{n:02d}"
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
