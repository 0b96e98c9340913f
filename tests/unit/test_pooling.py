"""Pooling: wijken into wijkgroepen along buren within a gemeente; gemeenten into region pools."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disclosure.pooling import (
    NAME_SEPARATOR,
    pool_regios,
    pool_wijken,
    pool_wijken_per_population,
)
from kansenkluis.domain import PARENT_GROUPS, Geography, GeoLevel


def geography(
    gemeenten: Mapping[str, list[str]],
    buren: Mapping[str, set[str]],
    regio: Mapping[str, str] | None = None,
) -> Geography:
    rows = []
    for gm, wijken in gemeenten.items():
        for w in wijken:
            rows.append(
                {
                    "wijkcode": w,
                    "wijknaam": f"Naam {w[-4:]}",
                    "gemeentecode": gm,
                    "gemeentenaam": f"Gemeente {gm}",
                    "regio": (regio or {}).get(gm, "Regio A"),
                    "buren": ";".join(sorted(buren.get(w, set()))),
                }
            )
    return Geography.from_frame(pd.DataFrame(rows))


def chain(codes: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {c: set() for c in codes}
    for a, b in zip(codes, codes[1:], strict=False):
        out[a].add(b)
        out[b].add(a)
    return out


W = [f"WK0001{i:02d}" for i in range(5)]


def test_big_wijken_stay_on_their_own() -> None:
    geo = geography({"GM0001": W}, chain(W))
    pooling = pool_wijken(geo, {w: [50, 40] for w in W}, 10)
    assert pooling.groups == ()
    assert all(pooling.unit_of[w] == w for w in W)


def test_small_wijk_merges_with_smallest_fitting_neighbour() -> None:
    # WK000102 (3 pupils) borders 101 (30) and 103 (12): 103 is the smallest merge that
    # reaches 10, so it wins although 101 is also a neighbour.
    geo = geography({"GM0001": W}, chain(W))
    sizes = {W[0]: [40], W[1]: [30], W[2]: [3], W[3]: [12], W[4]: [50]}
    pooling = pool_wijken(geo, sizes, 10)
    assert len(pooling.groups) == 1
    group = pooling.groups[0]
    assert group.members == (W[2], W[3])
    assert group.code == "WG0001_01"
    assert group.level is GeoLevel.WIJKGROEP
    assert group.gemeentecode == "GM0001"
    assert group.name == NAME_SEPARATOR.join(geo.wijken[w].naam for w in group.members)


def test_merge_prefers_the_merge_that_reaches_the_minimum() -> None:
    # 102 (2) borders 101 (6) and 103 (9): 2 + 6 stays small, 2 + 9 does not.
    geo = geography({"GM0001": W}, chain(W))
    sizes = {W[0]: [40], W[1]: [6], W[2]: [2], W[3]: [9], W[4]: [50]}
    pooling = pool_wijken(geo, sizes, 10)
    members = {g.members for g in pooling.groups}
    assert (W[2], W[3]) in members or any(set(W[2:4]) <= set(m) for m in members)
    # 101 (6) is small too, and ends up pooled as well
    assert pooling.unit_of[W[1]] != W[1]


def test_any_criterion_below_minimum_makes_a_wijk_small() -> None:
    geo = geography({"GM0001": W[:3]}, chain(W[:3]))
    pooling = pool_wijken(geo, {W[0]: [100, 4], W[1]: [100, 40], W[2]: [100, 40]}, 10)
    assert [g.members for g in pooling.groups] == [(W[0], W[1])]


def test_no_wijkgroep_covers_a_whole_gemeente() -> None:
    # Two wijken: merging them would only repeat the gemeente figure, so the small one stays
    # on its own (primary suppression takes over) and the gemeente figure stands.
    geo = geography({"GM0001": W[:2]}, chain(W[:2]))
    pooling = pool_wijken(geo, {W[0]: [4], W[1]: [40]}, 10)
    assert pooling.groups == ()
    assert pooling.unit_of == {W[0]: W[0], W[1]: W[1]}
    # Three small wijken in a row: one pair may merge, never all three.
    geo = geography({"GM0001": W[:3]}, chain(W[:3]))
    pooling = pool_wijken(geo, {W[0]: [3], W[1]: [3], W[2]: [3]}, 10)
    assert [len(g.members) for g in pooling.groups] == [2]


def test_a_small_wijk_joins_a_small_neighbour_before_a_big_one() -> None:
    # 102 (4) borders 101 (60, stands on its own) and 103 (7, small): it joins 103, so that 101
    # keeps its own figure although 102 + 101 would reach the minimum in one step.
    geo = geography({"GM0001": W}, chain(W))
    sizes = {W[0]: [40], W[1]: [60], W[2]: [4], W[3]: [7], W[4]: [50]}
    pooling = pool_wijken(geo, sizes, 10)
    assert [g.members for g in pooling.groups] == [(W[2], W[3])]
    assert pooling.unit_of[W[1]] == W[1]


def test_a_small_wijk_joins_an_existing_wijkgroep_before_a_wijk_that_stands_alone() -> None:
    # 100 (4) and 101 (8) form a wijkgroep of 12 first. Then 102 (9) borders that group and 103
    # (11, stands on its own): 102 + 103 = 20 would be the smaller merge, but it would cost 103
    # its own figure; joining the group costs no wijk one.
    geo = geography({"GM0001": W}, chain(W))
    sizes = {W[0]: [4], W[1]: [8], W[2]: [9], W[3]: [11], W[4]: [40]}
    pooling = pool_wijken(geo, sizes, 10)
    assert [g.members for g in pooling.groups] == [(W[0], W[1], W[2])]
    assert pooling.unit_of[W[3]] == W[3]


def test_a_wijkgroep_keeps_merging_up_to_its_own_minimum() -> None:
    geo = geography({"GM0001": W}, chain(W))
    sizes = {W[0]: [40], W[1]: [6], W[2]: [5], W[3]: [30], W[4]: [50]}
    # 101 + 102 = 11 reaches the wijk minimum of 10 ...
    assert [g.members for g in pool_wijken(geo, sizes, 10).groups] == [(W[1], W[2])]
    # ... but not a wijkgroep minimum of 15: the group takes its smaller neighbour too
    grown = pool_wijken(geo, sizes, 10, group_threshold=15)
    assert [g.members for g in grown.groups] == [(W[1], W[2], W[3])]


def test_one_map_per_population_with_codes_shared_across_maps() -> None:
    geo = geography({"GM0001": W}, chain(W))
    criteria = {
        # groep 8: every wijk large enough, nothing pooled
        "groep8": {w: [40] for w in W},
        # vmbo-gt graduates: 101 and 102 small, together large enough
        "vmbo_gt_geslaagd": {W[0]: [30], W[1]: [5], W[2]: [6], W[3]: [30], W[4]: [30]},
        # transition: the same pair, and 104 (merged with 103)
        "transitie": {W[0]: [30], W[1]: [5], W[2]: [6], W[3]: [30], W[4]: [2]},
    }
    maps = pool_wijken_per_population(geo, criteria, 10)
    assert maps["groep8"].groups == ()
    assert all(maps["groep8"].unit_of[w] == w for w in W)
    pair = maps["vmbo_gt_geslaagd"].unit_of[W[1]]
    assert maps["vmbo_gt_geslaagd"].unit_of[W[2]] == pair
    # the same member set has the same code in every map that has it
    assert maps["transitie"].unit_of[W[1]] == pair
    (shared,) = [g for g in maps["transitie"].groups if g.code == pair]
    assert shared.populations == ("transitie", "vmbo_gt_geslaagd")
    # another member set gets another code of the same gemeente
    other = maps["transitie"].unit_of[W[4]]
    assert other not in (pair, W[4]) and other.startswith("WG0001_")
    assert maps["vmbo_gt_geslaagd"].unit_of[W[4]] == W[4]


def test_isolated_small_wijk_is_not_pooled() -> None:
    buren = chain(W[:4])
    buren[W[4]] = set()
    geo = geography({"GM0001": W}, buren)
    sizes = {w: [50] for w in W} | {W[4]: [2]}
    pooling = pool_wijken(geo, sizes, 10)
    assert pooling.unit_of[W[4]] == W[4]


def test_pooling_never_crosses_a_gemeente() -> None:
    a = ["WK000100", "WK000101", "WK000102"]
    b = ["WK000200", "WK000201", "WK000202"]
    buren = chain(a) | chain(b)
    # a (cross-border) neighbour listed by mistake must be ignored
    buren["WK000102"].add("WK000200")
    buren["WK000200"].add("WK000102")
    geo = geography({"GM0001": a, "GM0002": b}, buren)
    sizes = {"WK000100": [50], "WK000101": [50], "WK000102": [2]}
    sizes |= {"WK000200": [2], "WK000201": [50], "WK000202": [50]}
    pooling = pool_wijken(geo, sizes, 10)
    for g in pooling.groups:
        assert {geo.wijken[w].gemeentecode for w in g.members} == {g.gemeentecode}
    assert {g.members for g in pooling.groups} == {
        ("WK000101", "WK000102"),
        ("WK000200", "WK000201"),
    }


@st.composite
def gemeente_worlds(draw: st.DrawFn) -> tuple[Geography, dict[str, list[int]]]:
    n = draw(st.integers(1, 9))
    codes = [f"WK0001{i:02d}" for i in range(n)]
    buren: dict[str, set[str]] = {c: set() for c in codes}
    for i in range(1, n):
        if draw(st.booleans()) or i < 2:
            j = draw(st.integers(0, i - 1))
            buren[codes[i]].add(codes[j])
            buren[codes[j]].add(codes[i])
    sizes = {c: [draw(st.integers(0, 30)), draw(st.integers(0, 30))] for c in codes}
    return geography({"GM0001": codes}, buren), sizes


def _connected(geo: Geography, members: tuple[str, ...]) -> bool:
    seen = {members[0]}
    todo = [members[0]]
    while todo:
        w = todo.pop()
        for b in geo.wijken[w].buren:
            if b in members and b not in seen:
                seen.add(b)
                todo.append(b)
    return seen == set(members)


@settings(max_examples=60, deadline=None)
@given(gemeente_worlds())
def test_pooling_properties(world: tuple[Geography, dict[str, list[int]]]) -> None:
    geo, sizes = world
    pooling = pool_wijken(geo, sizes, 10)
    again = pool_wijken(geo, dict(reversed(list(sizes.items()))), 10)
    assert pooling == again  # deterministic, whatever the input order
    covered = [w for g in pooling.groups for w in g.members]
    assert len(covered) == len(set(covered))
    assert set(pooling.unit_of) == set(geo.wijken)
    for g in pooling.groups:
        assert len(g.members) >= 2
        assert _connected(geo, g.members)  # merged only along buren
        assert all(pooling.unit_of[w] == g.code for w in g.members)
    assert all(len(g.members) < len(geo.wijken) for g in pooling.groups)  # never the gemeente
    # what stays small has no neighbouring unit it may merge with (the two not the gemeente)
    units: dict[str, list[str]] = {}
    for w, u in pooling.unit_of.items():
        units.setdefault(u, []).append(w)
    for u, ws in units.items():
        total = [sum(sizes[w][k] for w in ws) for k in range(2)]
        if min(total) < 10:
            others = {pooling.unit_of[b] for w in ws for b in geo.wijken[w].buren} - {u}
            assert all(len(ws) + len(units[o]) == len(geo.wijken) for o in others)


def _parents(values: Mapping[str, tuple[int, int, int, int]]) -> dict[str, dict[str, int]]:
    return {gm: dict(zip(PARENT_GROUPS, v, strict=True)) for gm, v in values.items()}


def test_regions_that_pass_stay_apart() -> None:
    geo = geography(
        {"GM0001": ["WK000100"], "GM0002": ["WK000200"]},
        {},
        {"GM0001": "Noord", "GM0002": "Zuid"},
    )
    pools = pool_regios(
        geo, _parents({"GM0001": (60, 60, 60, 5), "GM0002": (80, 70, 90, 10)}), 50, 0.2
    )
    assert [(g.code, g.name, g.members) for g in pools.groups] == [
        ("RG01", "Noord", ("GM0001",)),
        ("RG02", "Zuid", ("GM0002",)),
    ]
    assert pools.pool_of == {"GM0001": "RG01", "GM0002": "RG02"}


def test_failing_region_merges_until_groups_are_large() -> None:
    geo = geography(
        {"GM0001": ["WK000100"], "GM0002": ["WK000200"], "GM0003": ["WK000300"]},
        {},
        {"GM0001": "Noord", "GM0002": "Oost", "GM0003": "Zuid"},
    )
    # Noord has too few in max_mbo2; Oost is the smallest other region.
    values = {"GM0001": (20, 60, 60, 5), "GM0002": (40, 55, 55, 5), "GM0003": (90, 90, 90, 5)}
    pools = pool_regios(geo, _parents(values), 50, 0.2)
    names = {g.name for g in pools.groups}
    assert names == {f"Noord{NAME_SEPARATOR}Oost", "Zuid"}
    for g in pools.groups:
        total = {k: sum(_parents(values)[gm][k] for gm in g.members) for k in PARENT_GROUPS}
        assert min(total[k] for k in PARENT_GROUPS if k != "onbekend") >= 50


def test_too_many_unknown_parents_forces_a_merge() -> None:
    geo = geography(
        {"GM0001": ["WK000100"], "GM0002": ["WK000200"]},
        {},
        {"GM0001": "Noord", "GM0002": "Zuid"},
    )
    values = {"GM0001": (60, 60, 60, 100), "GM0002": (200, 200, 200, 10)}
    pools = pool_regios(geo, _parents(values), 50, 0.2)
    assert len(pools.groups) == 1
    assert pools.groups[0].members == ("GM0001", "GM0002")


def test_unsatisfiable_regions_end_in_one_pool() -> None:
    geo = geography(
        {"GM0001": ["WK000100"], "GM0002": ["WK000200"]},
        {},
        {"GM0001": "Noord", "GM0002": "Zuid"},
    )
    pools = pool_regios(geo, _parents({"GM0001": (1, 1, 1, 1), "GM0002": (2, 2, 2, 2)}), 50, 0.2)
    assert len(pools.groups) == 1


@pytest.mark.parametrize("threshold", [5, 10, 20])
def test_shipped_geography_pools_within_gemeenten(threshold: int) -> None:
    from kansenkluis.config import geo_dir

    wijken = pd.read_csv(geo_dir() / "wijken.csv", keep_default_na=False)
    gemeenten = pd.read_csv(geo_dir() / "gemeenten.csv", keep_default_na=False)
    frame = wijken.merge(gemeenten, on="gemeentecode")
    frame = frame.rename(columns={"corop_naam": "regio"})[
        ["wijkcode", "wijknaam", "gemeentecode", "gemeentenaam", "regio", "buren"]
    ]
    geo = Geography.from_frame(frame)
    # a deterministic spread of sizes: every third wijk small
    sizes = {w: [(i * 7) % 25] for i, w in enumerate(sorted(geo.wijken))}
    pooling = pool_wijken(geo, sizes, threshold)
    assert pooling == pool_wijken(geo, sizes, threshold)
    for g in pooling.groups:
        assert {geo.wijken[w].gemeentecode for w in g.members} == {g.gemeentecode}
        assert _connected(geo, g.members)
        assert NAME_SEPARATOR not in "".join(geo.wijken[w].naam for w in g.members)
