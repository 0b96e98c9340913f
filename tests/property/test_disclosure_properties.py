"""Properties of disclosure control over random small worlds (hypothesis).

Whatever the counts, every published cell obeys the policy, withheld cells carry no numbers, the
pooling map stays inside a gemeente and along buren, and the same input gives the same release.
Derivability of withheld cells is attacked separately, by an independent attacker, in
tests/attack/.
"""

from __future__ import annotations

from collections import defaultdict

from attack.worlds import World, worlds
from hypothesis import HealthCheck, given, settings

from disclosure.policy import load_policy
from disclosure.protect import protect
from kansenkluis.domain import CellStatus, GeoLevel

POLICY = load_policy(None)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@SETTINGS
@given(worlds())
def test_every_published_cell_obeys_the_policy(world: World) -> None:
    draft = protect(world.agg, POLICY)
    base = POLICY.rounding.base
    published = [c for c in draft.cells if c.status == CellStatus.PUBLISHED]
    for c in published:
        assert c.numerator is not None and c.denominator is not None
        assert c.numerator % base == 0 and c.denominator % base == 0, c.key
        assert 0 <= c.numerator <= c.denominator, c.key
        # a published rounded denominator can only come from a true one >= min_cell
        assert c.denominator >= POLICY.primary.min_cell - base // 2, c.key
        assert c.percentage == round(100 * c.numerator / c.denominator, 1), c.key
        if c.percentage in (0.0, 100.0):
            assert c.denominator >= POLICY.primary.group_disclosure_min - base // 2, c.key
    for c in draft.cells:
        if c.status != CellStatus.PUBLISHED:
            assert c.numerator is None and c.denominator is None and c.percentage is None
        if c.status == CellStatus.POOLED:
            assert c.pooled_into, c.key


@SETTINGS
@given(worlds())
def test_pooling_stays_inside_a_gemeente_and_along_buren(world: World) -> None:
    draft = protect(world.agg, POLICY)
    geo = world.geography
    groups = [g for g in draft.pooling if g.level == GeoLevel.WIJKGROEP]
    seen: set[str] = set()
    for group in groups:
        members = set(group.members)
        assert len(members) >= 2
        assert not members & seen, "a wijk sits in two wijkgroepen"
        seen |= members
        assert {geo.wijken[w].gemeentecode for w in members} == {group.gemeentecode}
        # connected through buren within the group
        reached, frontier = set(), [sorted(members)[0]]
        while frontier:
            w = frontier.pop()
            if w in reached:
                continue
            reached.add(w)
            frontier += [b for b in geo.wijken[w].buren if b in members]
        assert reached == members, f"{group.code} is not connected along buren"
    pooled_cells = defaultdict(set)
    for c in draft.cells:
        if c.status == CellStatus.POOLED and c.geo_level == GeoLevel.WIJK:
            pooled_cells[c.pooled_into].add(c.geo_code)
    for group in groups:
        assert pooled_cells[group.code] <= set(group.members)


@SETTINGS
@given(worlds(max_gemeenten=2, max_wijken=6))
def test_the_same_input_gives_the_same_release(world: World) -> None:
    first = protect(world.agg, POLICY)
    second = protect(world.agg, POLICY)
    assert first.cells == second.cells
    assert first.pooling == second.pooling


@SETTINGS
@given(worlds(max_gemeenten=2, max_wijken=6))
def test_every_wijk_and_the_nation_get_a_row_for_every_indicator(world: World) -> None:
    draft = protect(world.agg, POLICY)
    land = {(c.indicator, c.breakdown) for c in draft.cells if c.geo_level == GeoLevel.LAND}
    wijk_rows = defaultdict(set)
    for c in draft.cells:
        if c.geo_level == GeoLevel.WIJK:
            wijk_rows[(c.indicator, c.breakdown)].add(c.geo_code)
    assert ("heroverweging", "totaal") in land and ("opleidingsmobiliteit", "totaal") in land
    for key, wijken in wijk_rows.items():
        assert wijken == set(world.geography.wijken), key
    assert ("opleidingsmobiliteit", "totaal") not in wijk_rows
