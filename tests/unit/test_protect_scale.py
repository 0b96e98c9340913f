"""What keeps disclosure control fast at every scale, without weakening it.

- A status alternative bound only by its own rows must not hide the items that limit the other
  alternatives (else the loop fell back to withholding a whole country's items one by one).
- In a joint (whole-country) block the fallback offers the target's own gemeente first.
- Whatever the mode (joint or gemeente blocks), every withheld count passes the audit and the
  same input gives the same statuses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure import audit
from disclosure.audit import Auditor
from disclosure.lp import BlockLP, Row
from disclosure.policy import load_policy
from disclosure.protect import run_protection
from disclosure.table import Table, targets_of
from indicators.specs import POPULATIONS, population_keys
from kansenkluis.domain import AggregateTable, CellStatus, Geography, GeoLevel

POLICY = load_policy()
INF = float("inf")


def _row(cols: list[int], vals: list[float], lo: float, hi: float, item: int) -> Row:
    return Row(np.array(cols, dtype=np.int64), np.array(vals, dtype=float), lo, hi, item)


def test_case_hull_names_the_items_of_the_other_alternatives() -> None:
    # x0 is the target. Alternative A: x0 >= 3 (its own status row; nothing can widen it).
    # Alternative B: x1 >= 20, and a published row of item 7 (x0 - x1 >= -17) then holds x0 at
    # 3 too. Withholding item 7 widens B below 3, so item 7 is what limits the hull.
    lp = BlockLP(2, [_row([0, 1], [1.0, -1.0], -17.0, INF, 7)], free=False)
    case_a = [_row([0], [1.0], 3.0, INF, -1)]
    case_b = [_row([1], [1.0], 20.0, INF, -1)]
    auditor = Auditor(Table(2021, [], []), POLICY)
    value, cands = auditor._case_hull(lp, np.array([0]), [case_a, case_b], 1.0, need=2.0)
    assert value == 3.0
    assert cands == {7}
    # the other order: B is the widest found first, its binding item is named directly
    value, cands = auditor._case_hull(lp, np.array([0]), [case_b, case_a], 1.0, need=2.0)
    assert value == 3.0
    assert 7 in cands


def test_case_hull_names_nothing_when_no_published_row_binds() -> None:
    lp = BlockLP(2, [_row([0, 1], [1.0, 1.0], 0.0, 100.0, 7)], free=False)
    case_a = [_row([0], [1.0], 3.0, INF, -1)]
    case_b = [_row([0], [1.0], 4.0, INF, -1)]
    auditor = Auditor(Table(2021, [], []), POLICY)
    value, cands = auditor._case_hull(lp, np.array([0]), [case_a, case_b], 1.0, need=2.0)
    assert value == 3.0
    assert cands == set()


# --- small worlds --------------------------------------------------------------------------------


def _geography(sizes: list[int]) -> Geography:
    rows = []
    for gi, n in enumerate(sizes, start=1):
        for wi in range(n):
            rows.append(
                {
                    "wijkcode": f"WK{gi:04d}{wi:02d}",
                    "wijknaam": f"Wijk {gi}-{wi}",
                    "gemeentecode": f"GM{gi:04d}",
                    "gemeentenaam": f"Gemeente {gi}",
                    "regio": "Noord" if gi % 2 else "Zuid",
                    # a chain of neighbours within the gemeente
                    "buren": f"WK{gi:04d}{wi - 1:02d}" if wi else "",
                }
            )
    return Geography.from_frame(pd.DataFrame(rows))


def _world(sizes: list[int], seed: int, scale: float) -> AggregateTable:
    geo = _geography(sizes)
    rng = np.random.default_rng(seed)
    wijken = sorted(geo.wijken)
    size = {w: float(rng.choice([2.0, 6.0, 15.0, 40.0])) * scale for w in wijken}
    counts: dict[tuple[str, str, str, str], int] = {}
    for pop in POPULATIONS.values():
        for b in pop.breakdowns:
            shares = rng.dirichlet(np.full(len(pop.categories), 0.8))
            for w in wijken:
                n = int(rng.poisson(size[w]))
                for c, k in zip(pop.categories, rng.multinomial(n, shares), strict=True):
                    counts[(pop.id.value, b, c, w)] = int(k)
    frame = pd.DataFrame(
        [
            (
                k.population,
                k.breakdown,
                k.category,
                w,
                counts[(k.population, k.breakdown, k.category, w)],
            )
            for k in population_keys().itertuples(index=False)
            for w in wijken
        ],
        columns=["population", "breakdown", "category", "wijkcode", "count"],
    )
    return AggregateTable(2021, frame, geo, data_fingerprint=f"scale-{seed}")


def _statuses(agg: AggregateTable, joint_max_columns: int) -> list[tuple[str, CellStatus]]:
    result = run_protection(agg, POLICY, joint_max_columns=joint_max_columns)
    assert all(c.ok for c in result.checks)
    return [(c.key_text(2021), c.status) for c in result.table.cells]


WORLDS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@WORLDS
@given(
    st.lists(st.integers(2, 5), min_size=2, max_size=3),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_every_withheld_count_passes_in_joint_and_block_mode(
    sizes: list[int], seed: int, scale: float
) -> None:
    agg = _world(sizes, seed, scale)
    joint = _statuses(agg, 10**6)
    assert joint == _statuses(agg, 10**6)  # deterministic
    blocks = _statuses(agg, 0)  # one block per gemeente, coupled through the land figures
    assert [k for k, _ in blocks] == [k for k, _ in joint]


def test_joint_fallback_offers_the_targets_own_gemeente_first() -> None:
    agg = _world([4, 4, 4], seed=11, scale=0.5)
    result = run_protection(agg, POLICY)
    table = result.table
    auditor = Auditor(table, POLICY)
    rules = {ci: c.rule for ci, c in enumerate(table.cells)}
    seen = 0
    for target in targets_of(table, POLICY, rules):
        owner = table.items[table.numbers[target.number].item]
        if owner.level is not GeoLevel.WIJKGROEP and owner.level is not GeoLevel.WIJK:
            continue
        if not table.joint[owner.family] or owner.phantom:
            continue
        gemeente = table.cells[owner.cells[0]].parent_code
        related = auditor.related_items(target)
        everything = [
            i
            for i in table.blocks[owner.block].items
            if not table.items[i].withheld and not table.items[i].phantom
        ]
        assert set(related) <= set(everything)
        for i in related:
            it = table.items[i]
            assert (
                it.level is GeoLevel.LAND
                or it.code == gemeente
                or (table.cells[it.cells[0]].parent_code == gemeente)
            )
        # something outside the gemeente was published, and it is not offered first
        outside = [
            i
            for i in everything
            if table.items[i].level is not GeoLevel.LAND
            and table.items[i].code != gemeente
            and table.cells[table.items[i].cells[0]].parent_code != gemeente
        ]
        if related and outside:
            seen += 1
    assert seen > 0


def test_a_split_audit_gives_the_same_release_with_or_without_a_child_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nationally the audit checks its blocks in two halves, the second in a forked child where
    # there are two cores. The release must not depend on whether the child could run.
    agg = _world([5, 4, 5, 3], seed=11, scale=1.0)
    monkeypatch.setattr(audit, "SPLIT_MIN_TARGETS", 1)
    forked: list[int] = []
    start = audit._start_child

    def counting_start(*args: Any) -> Any:
        child = start(*args)
        forked.append(child is not None)
        return child

    monkeypatch.setattr(audit, "_start_child", counting_start)
    with_child = run_protection(agg, POLICY, joint_max_columns=0)
    assert any(forked), "no half was checked in a child process"
    assert all(c.ok for c in with_child.checks)
    monkeypatch.setattr(audit.os, "cpu_count", lambda: 1)
    forked.clear()
    in_process = run_protection(agg, POLICY, joint_max_columns=0)
    assert not any(forked)
    assert in_process.draft == with_child.draft
    assert in_process.stats.lp_solves == with_child.stats.lp_solves
