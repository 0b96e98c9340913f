"""Disclosure control end to end: exact aggregates in, a ``ProtectedDraft`` out.

``protect`` runs, in order: (optional) noise, pooling (wijken into wijkgroepen, gemeenten into
region pools for opleidingsmobiliteit), primary suppression, secondary suppression with the LP
audit, rounding. Every decision becomes a ``Decision``; the draft carries only protected figures
plus, on its decisions, the sealed counts that the log turns into commitments.

Cells (``ReleaseCell``), per indicator and breakdown, in this order: land (``NL``), region pools
(opleidingsmobiliteit only), gemeenten, wijkgroepen, wijken; by code within a level.
- An indicator published per wijk has a row for every wijk of the geography: ``published``,
  ``suppressed_primary``, ``suppressed_secondary``, or ``pooled`` into its wijkgroep.
- opleidingsmobiliteit has a row per region pool and for the land, and every gemeente row is
  ``pooled`` into its region pool.
- ``parent_code``: the gemeentecode for wijk and wijkgroep rows, the region pool code for the
  (pooled) gemeente rows of opleidingsmobiliteit, None otherwise.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kansenkluis.domain import (
    AggregateTable,
    CellStatus,
    GeoLevel,
    Rule,
)

from .assemble import assemble, policy_decision
from .audit import Auditor, audit_all
from .build import build_table, pool_units, population_arrays
from .earlier import (
    adopt_statuses,
    keep_earlier_complements,
    pooled_rows,
    pooling_signature,
    prior_rows,
    withheld_last_year,
)
from .noise import NoiseSource
from .policy import Policy, check_not_weaker
from .pooling import (
    RegioPooling,
    WijkPooling,
)
from .primary import primary_rule
from .release import (
    Decision,
    DPParams,
    EarlierRelease,
    ProtectedDraft,
)
from .rounding import rounding_interval
from .secondary import SuppressionStats, item_cost, naive_secondary, suppress
from .table import (
    JOINT_MAX_COLUMNS,
    Check,
    Table,
    targets_of,
)


@dataclass
class Protection:
    """Everything ``protect`` worked out, for the benchmark and tests (sealed side only)."""

    draft: ProtectedDraft
    table: Table
    stats: SuppressionStats
    checks: list[Check]
    #: population id -> its wijk pooling map
    wijk_pooling: Mapping[str, WijkPooling]
    regio_pooling: RegioPooling


def protect(
    agg: AggregateTable,
    policy: Policy,
    prior: Sequence[EarlierRelease] = (),
    noise: NoiseSource | None = None,
) -> ProtectedDraft:
    """Pool, suppress, audit and round one year's aggregates into a draft release.

    ``prior``: earlier releases, whole (every cell with its status, and the policy). Those of
    the same schooljaar describe the same pupils: their published figures, their statuses and
    their pooling map enter the audit, read under the policy each was made under. Those of the
    year before steer complements towards cells that were withheld then too. ``noise``: a
    ``NoiseSource`` (``.perturb(counts)``); when given, every decision uses the noisy counts.
    """
    return run_protection(agg, policy, prior, noise).draft


def run_protection(
    agg: AggregateTable,
    policy: Policy,
    prior: Sequence[EarlierRelease] = (),
    noise: NoiseSource | None = None,
    *,
    joint_max_columns: int = JOINT_MAX_COLUMNS,
) -> Protection:
    """``protect`` with its working (table, statistics, final audit checks) kept."""
    # Tens of thousands of small objects: the cyclic garbage collector would rescan the whole
    # heap over and over (five times the run time nationally); nothing here forms cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_protection(agg, policy, prior, noise, joint_max_columns)
    finally:
        if collecting:
            gc.enable()


def _run_protection(
    agg: AggregateTable,
    policy: Policy,
    prior: Sequence[EarlierRelease],
    noise: NoiseSource | None,
    joint_max_columns: int,
) -> Protection:
    weak = check_not_weaker(policy)
    counts = agg.counts
    dp: DPParams | None = None
    decisions: list[Decision] = []
    if noise is not None:
        counts, dp, noise_decisions = noise.perturb(agg.counts.copy())
        decisions += list(noise_decisions)
    geo = agg.geography
    arrays = population_arrays(counts, geo)
    wijk_pooling, regio_pooling = pool_units(arrays, geo, policy)
    same_year = [r for r in prior if r.schooljaar == agg.schooljaar]
    table = build_table(
        agg.schooljaar,
        arrays,
        geo,
        wijk_pooling,
        regio_pooling,
        policy,
        noise is not None,
        joint_max_columns,
        merge_units=all(
            pooled_rows(r.cells) == pooling_signature(wijk_pooling, regio_pooling)
            for r in same_year
        ),
    )
    cell_rule = apply_primary(table, policy)
    for earlier in same_year:
        made_under = Policy.model_validate(earlier.policy)
        table.prior_rows += prior_rows(table, earlier.cells, geo, made_under)
        if noise is None and earlier.same_data and not earlier.noisy:
            adopt_statuses(table, earlier.cells, geo, made_under, arrays)
    last_year = withheld_last_year(
        table,
        [c for r in prior if r.schooljaar == agg.schooljaar - 1 for c in r.published()],
    )
    for ii in range(len(table.items)):
        table.items[ii].cost = item_cost(table, ii, policy, last_year)
    if noise is None:
        for earlier in same_year:
            if earlier.same_data and not earlier.noisy:
                keep_earlier_complements(table, earlier.cells)
        auditor = Auditor(table, policy)
        stats = suppress(table, policy, auditor, cell_rule, last_year)
    else:
        # Under DP every published number is already epsilon-DP, and differences of noisy
        # numbers are noisy: secondary suppression and its audit, which need true values, do not
        # run (they would make the release depend on true counts). Primary rules on the noisy
        # counts stay, as a quality rule. docs/differential-privacy.md explains.
        stats = SuppressionStats()
        decisions.append(
            Decision(
                kind="policy",
                rule=Rule.NOISE,
                detail={"secondary_suppression": "not applied under differential privacy"},
            )
        )
    for knob in weak:
        decisions.append(policy_decision(policy, knob))
    draft = assemble(table, policy, stats.checks, wijk_pooling, regio_pooling, decisions, dp)
    return Protection(draft, table, stats, stats.checks, wijk_pooling, regio_pooling)


@dataclass(frozen=True)
class BaselineResult:
    """The naive baseline on the same pooling and primary suppression."""

    table: Table
    suppressed_secondary: int
    failing_counts: int
    audited_counts: int

    @property
    def passes_audit(self) -> bool:
        return self.failing_counts == 0


def naive_baseline(
    agg: AggregateTable, policy: Policy, *, joint_max_columns: int = JOINT_MAX_COLUMNS
) -> BaselineResult:
    """Pool, primary, then ``naive_secondary``; audit the result (nothing is repaired)."""
    check_not_weaker(policy)
    geo = agg.geography
    arrays = population_arrays(agg.counts, geo)
    wijk_pooling, regio_pooling = pool_units(arrays, geo, policy)
    table = build_table(
        agg.schooljaar, arrays, geo, wijk_pooling, regio_pooling, policy, False, joint_max_columns
    )
    cell_rule = apply_primary(table, policy)
    n = naive_secondary(table)
    auditor = Auditor(table, policy)
    checks = audit_all(auditor, targets_of(table, policy, cell_rule))
    return BaselineResult(table, n, sum(not c.ok for c in checks), len(checks))


def apply_primary(table: Table, policy: Policy) -> dict[int, Rule]:
    """Primary rules on every cell; returns each cell's rule (pooled cells included).

    A failing cell is withheld together with every cell that shows one of its counts: its
    numerator always, its denominator only where showing it would let the status say more.
    Bijstelling's denominator is heroverweging's numerator, so a bijstelling over 4
    heroverwegingen is withheld while the heroverweging figure stands.

    The status ``suppressed_primary`` says: the denominator was below the minimum cell, or the
    percentage was (close to) 0 or 100 over fewer than the group minimum. Next to a published
    denominator whose rounding interval still reaches below the minimum cell, the first
    alternative stays open and the audit takes the hull of both. A published denominator that
    proves the minimum cell was met leaves only "0 or 100%": then it is withheld too.
    """
    rules: dict[int, Rule] = {}
    failed: list[int] = []
    for ci, cell in enumerate(table.cells):
        num = table.numbers[cell.num].value
        den = table.numbers[cell.den].value
        if table.noisy:
            num, den = min(max(num, 0), max(den, 0)), max(den, 0)
        rule, threshold = primary_rule(num, den, policy)
        rules[ci] = rule
        item = table.items[cell.item]
        if item.phantom:
            cell.status = CellStatus.POOLED
            cell.rule = Rule.POOLED_REGIO if cell.level is GeoLevel.GEMEENTE else Rule.POOLED_WIJK
            continue
        if rule is not Rule.PUBLISHED:
            cell.status = CellStatus.SUPPRESSED_PRIMARY
            cell.rule = rule
            cell.threshold = threshold
            failed.append(ci)
    # what each failed cell's counts take with them: the items that show them
    taken: dict[int, int] = {}  # item -> the failed cell it is withheld for
    base, floor = policy.rounding.base, policy.primary.min_cell
    for ci in failed:
        cell = table.cells[ci]
        den_lo = rounding_interval(max(table.numbers[cell.den].shown, 0), base)[0]
        hidden = [cell.num] if den_lo < floor else [cell.num, cell.den]
        taken.setdefault(cell.item, ci)
        for n in hidden:
            for other, _part in table.exposures[n]:
                taken.setdefault(table.cells[other].item, ci)
    for ii in sorted(taken):
        item = table.items[ii]
        if item.phantom:
            continue
        item.withheld = True
        first = table.cells[taken[ii]].key_text(table.schooljaar)
        for ci in item.cells:
            cell = table.cells[ci]
            if cell.status is CellStatus.PUBLISHED:
                cell.status = CellStatus.SUPPRESSED_SECONDARY
                cell.rule = Rule.SECONDARY
                cell.protects = first
    return rules


__all__ = ["BaselineResult", "Protection", "naive_baseline", "protect", "run_protection"]
