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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from indicators.specs import INDICATORS, POPULATIONS
from kansenkluis.domain import (
    LAND_CODE,
    LAND_NAME,
    PARENT_GROUPS,
    TOTAAL,
    AggregateTable,
    CellStatus,
    Geography,
    GeoLevel,
    IndicatorId,
    PopulationId,
    Rule,
)
from kansenkluis.errors import InternalError

from .audit import (
    INF,
    JOINT_MAX_COLUMNS,
    Auditor,
    Cell,
    Check,
    Family,
    Item,
    KnownRow,
    Number,
    PriorCell,
    PriorRow,
    Table,
    audit_all,
    targets_of,
)
from .noise import percentage_interval
from .policy import Policy, check_not_weaker, policy_dict, policy_hash
from .pooling import (
    NAME_SEPARATOR,
    RegioPooling,
    WijkPooling,
    pool_regios,
    pool_wijken_per_population,
)
from .primary import primary_rule, status_bounds
from .release import (
    Decision,
    DPParams,
    EarlierRelease,
    PoolingGroup,
    ProtectedDraft,
    ReleaseCell,
)
from .rounding import percentage, round_count, round_counts, rounding_interval
from .secondary import SuppressionStats, item_cost, naive_secondary, suppress, withhold

_LEVEL_ORDER = {
    GeoLevel.LAND: 0,
    GeoLevel.REGIO: 1,
    GeoLevel.GEMEENTE: 2,
    GeoLevel.WIJKGROEP: 3,
    GeoLevel.WIJK: 4,
}
_INDICATOR_ORDER = {i.value: n for n, i in enumerate(INDICATORS)}
_REGIONAL = PopulationId.VEERTIENJARIGEN.value
#: what a complement kept from an earlier release of the same schooljaar protects (log detail)
EARLIER_COMPLEMENT = "withheld in the earlier release of this schooljaar"


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


# --- public entry points -------------------------------------------------------------------------


def protect(
    agg: AggregateTable,
    policy: Policy,
    prior: Sequence[EarlierRelease] = (),
    noise: object | None = None,
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
    noise: object | None = None,
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
    noise: object | None,
    joint_max_columns: int,
) -> Protection:
    weak = check_not_weaker(policy)
    counts = agg.counts
    dp: DPParams | None = None
    decisions: list[Decision] = []
    if noise is not None:
        counts, dp, noise_decisions = noise.perturb(agg.counts.copy())  # type: ignore[attr-defined]
        decisions += list(noise_decisions)
    geo = agg.geography
    arrays = _population_arrays(counts, geo)
    wijk_pooling, regio_pooling = _pool(arrays, geo, policy)
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
            _pooled_rows(r.cells) == _pooling_signature(wijk_pooling, regio_pooling)
            for r in same_year
        ),
    )
    cell_rule = apply_primary(table, policy)
    for earlier in same_year:
        made_under = Policy.model_validate(earlier.policy)
        table.prior_rows += prior_rows(table, earlier.cells, geo, made_under)
        if noise is None and earlier.same_data and not earlier.noisy:
            _adopt_statuses(table, earlier.cells, geo, made_under, arrays)
    last_year = withheld_last_year(
        table,
        [c for r in prior if r.schooljaar == agg.schooljaar - 1 for c in r.published()],
    )
    for ii in range(len(table.items)):
        table.items[ii].cost = item_cost(table, ii, policy, last_year)
    if noise is None:
        for earlier in same_year:
            if earlier.same_data and not earlier.noisy:
                _keep_earlier_complements(table, earlier.cells)
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
        decisions.append(_policy_decision(policy, knob))
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
    arrays = _population_arrays(agg.counts, geo)
    wijk_pooling, regio_pooling = _pool(arrays, geo, policy)
    table = build_table(
        agg.schooljaar, arrays, geo, wijk_pooling, regio_pooling, policy, False, joint_max_columns
    )
    cell_rule = apply_primary(table, policy)
    n = naive_secondary(table)
    auditor = Auditor(table, policy)
    checks = audit_all(auditor, targets_of(table, policy, cell_rule))
    return BaselineResult(table, n, sum(not c.ok for c in checks), len(checks))


# --- counts --------------------------------------------------------------------------------------


def _population_arrays(counts: pd.DataFrame, geo: Geography) -> dict[str, np.ndarray]:
    """Per population: counts[wijk, breakdown, category] in geography and spec order."""
    wijk_index = {w: i for i, w in enumerate(sorted(geo.wijken))}
    out: dict[str, np.ndarray] = {}
    for pop in POPULATIONS.values():
        sub = counts[counts["population"] == pop.id.value]
        arr = np.zeros((len(wijk_index), len(pop.breakdowns), len(pop.categories)), np.int64)
        wi = sub["wijkcode"].map(wijk_index)
        bi = sub["breakdown"].map({b: i for i, b in enumerate(pop.breakdowns)})
        ci = sub["category"].map({c: i for i, c in enumerate(pop.categories)})
        if wi.isna().any() or bi.isna().any() or ci.isna().any():
            raise InternalError(
                "AGG_UNKNOWN_KEY",
                f"aggregate counts of {pop.id.value} name a wijk, breakdown or category that the "
                "geography or the indicator specs do not know",
            )
        values = sub["count"].to_numpy()
        whole = np.issubdtype(values.dtype, np.integer) or np.all(np.equal(np.mod(values, 1), 0))
        if not whole:
            raise InternalError("AGG_NOT_INTEGER", "aggregate counts must be whole numbers")
        np.add.at(
            arr,
            (wi.to_numpy(np.int64), bi.to_numpy(np.int64), ci.to_numpy(np.int64)),
            values.astype(np.int64),
        )
        out[pop.id.value] = arr
    return out


def _criteria(
    arrays: Mapping[str, np.ndarray], geo: Geography, policy: Policy
) -> dict[str, dict[str, list[int]]]:
    """Per wijk population: each wijk's criterion denominators (only that population's)."""
    wijken = sorted(geo.wijken)
    columns: dict[str, list[np.ndarray]] = {
        p.id.value: [] for p in POPULATIONS.values() if p.id.value != _REGIONAL
    }
    for crit in policy.pooling.wijk_criteria:
        if crit in arrays:
            columns[crit].append(arrays[crit].sum(axis=(1, 2)))
            continue
        spec = INDICATORS[IndicatorId(crit)]
        pop = POPULATIONS[spec.population]
        arr = arrays[spec.population.value]
        cats = [i for i, c in enumerate(pop.categories) if c in spec.denominator]
        for b in spec.breakdowns:
            if b == TOTAAL and pop.breakdowns != (TOTAAL,):
                columns[pop.id.value].append(arr[:, :, cats].sum(axis=(1, 2)))
            else:
                columns[pop.id.value].append(arr[:, pop.breakdowns.index(b), cats].sum(axis=1))
    out: dict[str, dict[str, list[int]]] = {}
    for p, cols in columns.items():
        matrix = np.stack(cols, axis=1) if cols else np.zeros((len(wijken), 0), np.int64)
        out[p] = {w: [int(v) for v in matrix[i]] for i, w in enumerate(wijken)}
    return out


def _parent_groups(arrays: Mapping[str, np.ndarray], geo: Geography) -> dict[str, dict[str, int]]:
    wijken = sorted(geo.wijken)
    pop = POPULATIONS[PopulationId.VEERTIENJARIGEN]
    per_wijk = arrays[_REGIONAL].sum(axis=2)  # [wijk, parents' group]
    out: dict[str, dict[str, int]] = {g: dict.fromkeys(PARENT_GROUPS, 0) for g in geo.gemeenten}
    for i, w in enumerate(wijken):
        gm = geo.wijken[w].gemeentecode
        for bi, b in enumerate(pop.breakdowns):
            out[gm][b] += int(per_wijk[i, bi])
    return out


# --- building the table --------------------------------------------------------------------------


@dataclass(frozen=True)
class _CellSpec:
    indicator: str
    label: str
    num_form: int
    den_form: int


def _den_groups(cellspecs: Sequence[_CellSpec]) -> list[list[_CellSpec]]:
    """Cells grouped by their denominator, in order of first appearance: each group is one item.

    Cells over one denominator (opstroom, afstroom and zittenblijven of an origin group) are
    withheld together, since withholding one while its siblings show the denominator tells
    little. A cell whose denominator is another cell's numerator (bijstelling's is
    heroverweging's) is an item of its own: it can be withheld while heroverweging stays.
    """
    groups: dict[int, list[_CellSpec]] = {}
    for cs in cellspecs:
        groups.setdefault(cs.den_form, []).append(cs)
    return list(groups.values())


def _family_layout(
    population: str, label_breakdowns: Mapping[str, tuple[str, ...]]
) -> tuple[list[tuple[str, tuple[str, ...], frozenset[str]]], dict[str, list[_CellSpec]]]:
    """Forms (label, breakdowns, categories) and the cells per label of one family."""
    forms: list[tuple[str, tuple[str, ...], frozenset[str]]] = []
    cells: dict[str, list[_CellSpec]] = {}
    for label, bds in label_breakdowns.items():
        cells[label] = []
        for spec in INDICATORS.values():
            if spec.population.value != population or label not in spec.breakdowns:
                continue
            idx = []
            for cats in (spec.denominator, spec.numerator):
                key = (label, bds, frozenset(cats))
                if key not in forms:
                    forms.append(key)
                idx.append(forms.index(key))
            cells[label].append(_CellSpec(spec.id.value, label, idx[1], idx[0]))
    return forms, cells


def build_table(
    schooljaar: int,
    arrays: Mapping[str, np.ndarray],
    geo: Geography,
    wijk_pooling: Mapping[str, WijkPooling],
    regio_pooling: RegioPooling,
    policy: Policy,
    noisy: bool,
    joint_max_columns: int = JOINT_MAX_COLUMNS,
    merge_units: bool = True,
) -> Table:
    """The structure of the release: families, items, numbers, cells, relations, blocks.

    ``merge_units``: let the pooled wijken of a wijkgroep (the gemeenten of a region pool) share
    their pool's unknowns in the audit LPs. Exact when no earlier release published a pool
    member on its own (only sums over whole pools then touch them); off otherwise.
    """
    wijken = sorted(geo.wijken)
    gemeenten = sorted(geo.gemeenten)
    wijk_idx = {w: i for i, w in enumerate(wijken)}
    gem_idx = {g: i for i, g in enumerate(gemeenten)}
    families: list[Family] = []
    values: list[np.ndarray] = []
    layouts = []
    for pop in POPULATIONS.values():
        p = pop.id.value
        arr = arrays[p]
        if p == _REGIONAL:
            gm_of_wijk = np.array([gem_idx[geo.wijken[w].gemeentecode] for w in wijken])
            per_gem = np.zeros((len(gemeenten), arr.shape[1], arr.shape[2]), np.int64)
            np.add.at(per_gem, gm_of_wijk, arr)
            families.append(Family(p, p, pop.breakdowns, pop.categories, True, tuple(gemeenten)))
            values.append(per_gem.reshape(len(gemeenten), -1))
            regional_labels = {b: (b,) for b in pop.breakdowns} | {TOTAAL: pop.breakdowns}
            layouts.append(_family_layout(p, regional_labels))
            continue
        # One family per population: its origin groups share a pooling criterion (the whole
        # transition population of a wijk), so an attacker sees them together.
        families.append(Family(p, p, pop.breakdowns, pop.categories, False, tuple(wijken)))
        values.append(arr.reshape(len(wijken), -1).copy())
        layouts.append(_family_layout(p, {b: (b,) for b in pop.breakdowns}))

    table = Table(schooljaar, families, values, noisy=noisy)
    base = policy.rounding.base
    gemeente_of_wijk = {w: geo.wijken[w].gemeentecode for w in wijken}
    wijken_of: dict[str, list[str]] = {g: [] for g in gemeenten}
    for w in wijken:
        wijken_of[gemeente_of_wijk[w]].append(w)
    # per family and form: its label and offsets, computed once
    form_offsets = [
        [(flabel, fam_obj.offsets(bds, cats)) for flabel, bds, cats in layouts[fi][0]]
        for fi, fam_obj in enumerate(families)
    ]

    number_form: list[int] = []  # the form (index in its family's layout) of each number

    def add_items(
        fam: int,
        label: str,
        level: GeoLevel,
        code: str,
        name: str,
        atoms: np.ndarray,
        block: int,
        parent_code: str | None,
        phantom: bool = False,
        pooled_into: str | None = None,
        pools: Sequence[int] = (),
    ) -> list[int]:
        """The items of one unit: one per group of cells that share a denominator."""
        form_number: dict[int, int] = {}
        made: list[int] = []
        for k, group in enumerate(_den_groups(layouts[fam][1][label])):
            ii = len(table.items)
            item = Item(
                fam, label, level, code, block, phantom=phantom, pool=pools[k] if pools else -1
            )
            table.items.append(item)
            made.append(ii)
            for cs in group:
                for fi in (cs.den_form, cs.num_form):
                    if fi in form_number:
                        continue
                    form_number[fi] = len(table.numbers)
                    # values are filled in below, all numbers of a family at once
                    offsets = form_offsets[fam][fi][1]
                    table.numbers.append(Number(fam, ii, atoms, offsets, 0, 0))
                    number_form.append(fi)
                    item.numbers.append(form_number[fi])
            for cs in group:
                item.cells.append(len(table.cells))
                table.cells.append(
                    Cell(
                        cs.indicator,
                        label,
                        level,
                        code,
                        name,
                        ii,
                        form_number[cs.num_form],
                        form_number[cs.den_form],
                        parent_code,
                        pooled_into,
                    )
                )
            if block >= 0:
                table.blocks[block].items.append(ii)
        return made

    def relate(parents: list[int], children: Sequence[list[int]]) -> None:
        for k, parent in enumerate(parents):
            table.relations.append((parent, tuple(child[k] for child in children)))

    new_block = table.new_block
    for family in families:
        if not merge_units:
            table.unit_of_atom.append(np.arange(len(family.atoms), dtype=np.int64))
        elif family.regional:
            pool_codes = sorted({g.code for g in regio_pooling.groups})
            table.unit_of_atom.append(
                np.array([pool_codes.index(regio_pooling.pool_of[g]) for g in gemeenten], np.int64)
            )
        else:
            unit_of = wijk_pooling[family.population].unit_of
            unit_index = {u: i for i, u in enumerate(sorted(set(unit_of.values())))}
            table.unit_of_atom.append(np.array([unit_index[unit_of[w]] for w in wijken], np.int64))

    pool_of = regio_pooling.pool_of
    regio_groups = {g.code: g for g in regio_pooling.groups}
    for fam, family in enumerate(families):
        n_cols = len(set(table.unit_of_atom[fam].tolist())) * family.width
        joint = family.regional or n_cols <= joint_max_columns
        table.joint.append(joint)
        all_atoms = np.arange(len(family.atoms), dtype=np.int64)
        joint_block = new_block(fam, all_atoms) if joint else -1
        if family.regional:
            for label in [*family.breakdowns, TOTAAL]:
                land = add_items(
                    fam, label, GeoLevel.LAND, LAND_CODE, LAND_NAME, all_atoms, joint_block, None
                )
                pools: list[list[int]] = []
                for code in sorted(regio_groups):
                    group = regio_groups[code]
                    atoms = np.array(sorted(gem_idx[g] for g in group.members), dtype=np.int64)
                    pool_items = add_items(
                        fam, label, GeoLevel.REGIO, code, group.name, atoms, joint_block, None
                    )
                    pools.append(pool_items)
                    for gm in group.members:
                        add_items(
                            fam,
                            label,
                            GeoLevel.GEMEENTE,
                            gm,
                            geo.gemeenten[gm].naam,
                            np.array([gem_idx[gm]], dtype=np.int64),
                            joint_block,
                            pool_of[gm],
                            phantom=True,
                            pooled_into=pool_of[gm],
                            pools=pool_items,
                        )
                relate(land, pools)
            continue
        land_block = joint_block if joint else -1
        fam_pooling = wijk_pooling[family.population]
        groups_of: dict[str, dict[str, PoolingGroup]] = {g: {} for g in gemeenten}
        for group in fam_pooling.groups:
            groups_of[str(group.gemeentecode)][group.code] = group
        labels: list[str] = [b for b in family.breakdowns if layouts[fam][1].get(b)]
        gem_items: dict[str, list[list[int]]] = {label: [] for label in labels}
        lands = {
            label: add_items(
                fam, label, GeoLevel.LAND, LAND_CODE, LAND_NAME, all_atoms, land_block, None
            )
            for label in labels
        }
        for gm in gemeenten:
            members = [wijk_idx[w] for w in wijken_of[gm]]
            atoms = np.array(sorted(members), dtype=np.int64)
            block = joint_block if joint else new_block(fam, atoms)
            units: dict[str, list[int]] = {}
            for w in wijken_of[gm]:
                units.setdefault(fam_pooling.unit_of.get(w, w), []).append(wijk_idx[w])
            groups = groups_of[gm]
            for label in labels:
                gem = add_items(
                    fam, label, GeoLevel.GEMEENTE, gm, geo.gemeenten[gm].naam, atoms, block, None
                )
                gem_items[label].append(gem)
                unit_items: list[list[int]] = []
                for code in sorted(units):
                    unit_atoms = np.array(sorted(units[code]), dtype=np.int64)
                    if code in groups:
                        group_items = add_items(
                            fam,
                            label,
                            GeoLevel.WIJKGROEP,
                            code,
                            groups[code].name,
                            unit_atoms,
                            block,
                            gm,
                        )
                        unit_items.append(group_items)
                        for w in groups[code].members:
                            add_items(
                                fam,
                                label,
                                GeoLevel.WIJK,
                                w,
                                geo.wijken[w].naam,
                                np.array([wijk_idx[w]], dtype=np.int64),
                                block,
                                gemeente_of_wijk[w],
                                phantom=True,
                                pooled_into=code,
                                pools=group_items,
                            )
                    else:
                        unit_items.append(
                            add_items(
                                fam,
                                label,
                                GeoLevel.WIJK,
                                code,
                                geo.wijken[code].naam,
                                unit_atoms,
                                block,
                                gm,
                            )
                        )
                relate(gem, unit_items)
        for label in labels:
            relate(lands[label], gem_items[label])
    _fill_values(table, form_offsets, number_form, base, noisy)
    table.known_rows = _pooling_rows(table, geo, wijk_pooling, regio_pooling, policy)
    # regional families: a pool's total is the sum of its parents' groups, and so is the land's
    for fam, family in enumerate(families):
        if not family.regional:
            continue
        by_key: dict[tuple[str, str], int] = {}
        for ii, it in enumerate(table.items):
            if it.family == fam and not it.phantom:
                by_key[(it.code, it.breakdown)] = ii
        codes = sorted({code for code, _ in by_key})
        for code in codes:
            parts = tuple(by_key[(code, b)] for b in family.breakdowns)
            table.relations.append((by_key[(code, TOTAAL)], parts))
    table.index_exposures()
    return table


def _pooling_rows(
    table: Table,
    geo: Geography,
    wijk_pooling: Mapping[str, WijkPooling],
    regio_pooling: RegioPooling,
    policy: Policy,
) -> list[KnownRow]:
    """What the published pooling maps prove, whatever the numbers (docs: "Attacker model").

    Pooling stops only when no small unit borders another unit of its gemeente that it may merge
    with (the two together not covering the whole gemeente), so a unit that does has every
    criterion denominator of its population >= ``pooling.wijk_min``. Region pools are merged until
    each passes (unless one pool is left), so each known parents' group of a pool has at least
    ``pooling.regio_min_group`` pupils and ``onbekend`` is at most its share.
    """
    out: list[KnownRow] = []
    pp = policy.pooling
    wijk_idx = {w: i for i, w in enumerate(sorted(geo.wijken))}
    n_wijken: dict[str, int] = {}
    for wijk in geo.wijken.values():
        n_wijken[wijk.gemeentecode] = n_wijken.get(wijk.gemeentecode, 0) + 1
    for fi, fam in enumerate(table.families):
        if fam.regional:
            continue
        bordered = _mergeable_units(geo, wijk_pooling[fam.population].unit_of, n_wijken)
        forms: list[np.ndarray] = []
        for crit in pp.wijk_criteria:
            if crit == fam.population:
                forms.append(fam.offsets(fam.breakdowns, fam.categories))
            elif crit in INDICATORS and INDICATORS[IndicatorId(crit)].population.value == (
                fam.population
            ):
                spec = INDICATORS[IndicatorId(crit)]
                for b in spec.breakdowns:
                    forms.append(fam.offsets((b,), spec.denominator))
        if not forms:
            continue
        for unit in sorted(bordered):
            atoms = np.array(sorted(wijk_idx[w] for w in bordered[unit]), dtype=np.int64)
            block = _block_of(table, fi, atoms)
            least = pp.wijk_min if len(atoms) == 1 else max(pp.wijk_min, pp.wijkgroep_min)
            for offsets in forms:
                out.append(KnownRow(fi, atoms, offsets, None, least, INF, block))
    if len(regio_pooling.groups) > 1:
        gem_idx = {g: i for i, g in enumerate(sorted(geo.gemeenten))}
        for fi, fam in enumerate(table.families):
            if not fam.regional:
                continue
            everyone = fam.offsets(fam.breakdowns, fam.categories)
            unknown = set(fam.offsets(("onbekend",), fam.categories).tolist())
            share = pp.regio_max_onbekend_share
            weights = np.array([(1.0 - share) if o in unknown else -share for o in everyone])
            for group in regio_pooling.groups:
                atoms = np.array(sorted(gem_idx[g] for g in group.members), dtype=np.int64)
                block = _block_of(table, fi, atoms)
                for b in fam.breakdowns:
                    if b != "onbekend":
                        offsets = fam.offsets((b,), fam.categories)
                        out.append(
                            KnownRow(fi, atoms, offsets, None, pp.regio_min_group, INF, block)
                        )
                out.append(KnownRow(fi, atoms, everyone, weights, -INF, 0.0, block))
    return out


def _mergeable_units(
    geo: Geography, unit_of: Mapping[str, str], n_wijken: Mapping[str, int]
) -> dict[str, list[str]]:
    """Units of one map that border a unit they may merge with: their wijken, per unit code."""
    size: dict[str, int] = {}
    for unit in unit_of.values():
        size[unit] = size.get(unit, 0) + 1
    members: dict[str, list[str]] = {}
    for w, unit in unit_of.items():
        members.setdefault(unit, []).append(w)
    out: dict[str, list[str]] = {}
    for unit, ws in members.items():
        gm = geo.wijken[ws[0]].gemeentecode
        for w in ws:
            others = {
                unit_of[b]
                for b in geo.wijken[w].buren
                if b in unit_of and unit_of[b] != unit and geo.wijken[b].gemeentecode == gm
            }
            if any(size[unit] + size[o] < n_wijken[gm] for o in others):
                out[unit] = ws
                break
    return out


def _fill_values(
    table: Table,
    form_offsets: list[list[tuple[str, np.ndarray]]],
    number_form: list[int],
    base: int,
    noisy: bool,
) -> None:
    """Every number's exact (or noisy) value and the value it shows when published."""
    by_family: dict[int, list[int]] = {}
    for n, num in enumerate(table.numbers):
        by_family.setdefault(num.family, []).append(n)
    for fam, numbers in by_family.items():
        vals = table.values[fam]
        # item x atom membership as an index list, then one sum per (item, form)
        per_form = np.zeros((vals.shape[1], len(form_offsets[fam])), dtype=np.int64)
        for fi, (_label, offsets) in enumerate(form_offsets[fam]):
            per_form[offsets, fi] = 1
        atom_form = vals @ per_form  # [atom, form]
        lengths = np.array([len(table.numbers[n].atoms) for n in numbers])
        flat_atoms = np.concatenate([table.numbers[n].atoms for n in numbers])
        flat_forms = np.repeat(np.array([number_form[n] for n in numbers]), lengths)
        contrib = atom_form[flat_atoms, flat_forms]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        sums = np.add.reduceat(contrib, starts)
        shown = round_counts(np.maximum(sums, 0) if noisy else sums, base)
        for n, v, sh in zip(numbers, sums.tolist(), shown.tolist(), strict=True):
            table.numbers[n].value = v
            table.numbers[n].shown = sh
    for item in table.items:
        item.size = max((table.numbers[n].value for n in item.numbers), default=0)


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


# --- earlier releases ----------------------------------------------------------------------------


def _members_by_name(names: str, candidates: Mapping[str, str]) -> list[str] | None:
    """Resolve a pool name (members' names joined) against code -> name; None if ambiguous."""
    wanted = names.split(NAME_SEPARATOR)
    by_name: dict[str, list[str]] = {}
    for code, name in candidates.items():
        by_name.setdefault(name, []).append(code)
    out = []
    for n in wanted:
        codes = by_name.get(n, [])
        if len(codes) != 1:
            return None
        out.append(codes[0])
    return sorted(out)


@dataclass(frozen=True)
class _PriorPlace:
    """Where an earlier release's cell sits among this table's unknowns."""

    family: int
    atoms: np.ndarray
    num_offsets: np.ndarray
    den_offsets: np.ndarray
    block: int


def _placer(
    table: Table, cells: Sequence[ReleaseCell], geo: Geography
) -> Callable[[ReleaseCell], _PriorPlace | None]:
    """Resolve cells of an earlier release to families, atoms and offsets of this table."""
    wijk_idx = {w: i for i, w in enumerate(sorted(geo.wijken))}
    gem_idx = {g: i for i, g in enumerate(sorted(geo.gemeenten))}
    wijken_by_gem: dict[str, list[str]] = {}
    for w in sorted(geo.wijken):
        wijken_by_gem.setdefault(geo.wijken[w].gemeentecode, []).append(w)
    # pool membership of the earlier release: from its pooled rows, else from the pool name
    pooled: dict[str, set[str]] = {}
    for c in cells:
        if c.status is CellStatus.POOLED and c.pooled_into:
            pooled.setdefault(c.pooled_into, set()).add(c.geo_code)
    fam_of: dict[tuple[str, str], int] = {}
    for fi, fam in enumerate(table.families):
        for b in (*fam.breakdowns, TOTAAL):
            fam_of[(fam.population, b)] = fi

    def place(c: ReleaseCell) -> _PriorPlace | None:
        spec = INDICATORS.get(c.indicator)  # type: ignore[call-overload]
        if spec is None:
            return None
        fi = fam_of.get((spec.population.value, c.breakdown))
        if fi is None:
            return None
        fam = table.families[fi]
        members = _prior_atoms(c, fam, geo, pooled, wijk_idx, gem_idx, wijken_by_gem)
        if members is None:
            raise InternalError(
                "PRIOR_POOL_UNKNOWN",
                f"an earlier release's {c.geo_level.value} {c.geo_code} cannot be resolved to "
                "its members; pass its pooled rows too",
            )
        if len(members) == 0:
            return None  # a unit of another geography: it cannot be placed
        atoms = np.array(sorted(members), dtype=np.int64)
        bds = fam.breakdowns if c.breakdown == TOTAAL else (c.breakdown,)
        return _PriorPlace(
            fi,
            atoms,
            fam.offsets(bds, spec.numerator),
            fam.offsets(bds, spec.denominator),
            _block_of(table, fi, atoms),
        )

    return place


def prior_rows(
    table: Table, prior: Sequence[ReleaseCell], geo: Geography, made_under: Policy
) -> list[PriorRow]:
    """Constraints from the published cells of an earlier release of the same schooljaar.

    ``prior``: that release's cells (pooled rows resolve its pools); ``made_under``: its policy.
    """
    if not prior:
        return []
    place = _placer(table, prior, geo)
    index = {_number_key(n.family, n.atoms, n.offsets): i for i, n in enumerate(table.numbers)}
    out: list[PriorRow] = []
    for c in prior:
        if c.status is not CellStatus.PUBLISHED or c.numerator is None or c.denominator is None:
            continue
        where = place(c)
        if where is None:
            continue
        fi, atoms, block = where.family, where.atoms, where.block
        num_off, den_off = where.num_offsets, where.den_offsets
        published = ((num_off, int(c.numerator)), (den_off, int(c.denominator)))
        for offsets, shown in published:
            truth = table.number_value(fi, atoms, offsets)
            lo, hi = _prior_interval(shown, truth, made_under.rounding.base)
            twin = index.get(_number_key(fi, atoms, offsets), -1)
            out.append(PriorRow(fi, atoms, offsets, lo, hi, block, twin=twin))
        # It passed the primary rules of its release, unless the data changed since.
        floor = made_under.primary
        den_true = table.number_value(fi, atoms, den_off)
        extreme = c.numerator == 0 or c.numerator == c.denominator
        least = floor.group_disclosure_min if extreme else floor.min_cell
        if den_true >= least:
            out.append(PriorRow(fi, atoms, den_off, least, INF, block, figure=False))
        if c.percentage is not None and c.denominator > 0:
            implied = percentage(
                c.numerator, c.denominator, made_under.rounding.percentage_decimals
            )
            if implied != c.percentage:
                # a percentage of exact counts: a linear constraint of its own
                decimals = len(str(c.percentage).split(".")[-1]) if "." in str(c.percentage) else 0
                half = 0.5 * 10.0 ** (-decimals)
                n_true = table.number_value(fi, atoms, num_off)
                d_true = table.number_value(fi, atoms, den_off)
                lo_pct, hi_pct = c.percentage - half, c.percentage + half
                if lo_pct * d_true <= 100 * n_true <= hi_pct * d_true:
                    out.append(
                        PriorRow(
                            fi, atoms, num_off, 0, 0, block, (num_off, den_off, lo_pct, hi_pct)
                        )
                    )
    return out


def _adopt_statuses(
    table: Table,
    cells: Sequence[ReleaseCell],
    geo: Geography,
    made_under: Policy,
    arrays: Mapping[str, np.ndarray],
) -> None:
    """The statuses and pooling map of an earlier release of these counts, as attacker knowledge.

    Every withheld cell's status says what the primary rules of ``made_under`` imply: linear
    bounds always (a prior row), and its alternatives where this release withholds the same
    sum. The earlier pooling map is re-derived (pooling is deterministic on the counts and the
    policy) and, where it matches the earlier pooled rows, adds what it proves.
    """
    place = _placer(table, cells, geo)

    index = {_number_key(n.family, n.atoms, n.offsets): i for i, n in enumerate(table.numbers)}
    for c in cells:
        if c.status not in (CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY):
            continue
        where = place(c)
        if where is None:
            continue
        fi, atoms, block = where.family, where.atoms, where.block
        parts = {
            "num": where.num_offsets,
            "den": where.den_offsets,
            "rest": np.setdiff1d(where.den_offsets, where.num_offsets),
        }
        truth = {part: table.number_value(fi, atoms, off) for part, off in parts.items()}
        pc = PriorCell(
            fi,
            c.status,
            atoms,
            where.num_offsets,
            where.den_offsets,
            truth["num"],
            truth["den"],
            made_under,
        )
        for offsets in (where.num_offsets, where.den_offsets):
            current = index.get(_number_key(fi, atoms, offsets))
            if current is not None:
                table.prior_cells.setdefault(current, []).append(pc)
        for b in status_bounds(c.status, made_under):
            # the truth outside a bound means the data changed since: the bound says nothing
            if b.lo <= truth[b.part] <= b.hi:
                table.prior_rows.append(
                    PriorRow(fi, atoms, parts[b.part], b.lo, b.hi, block, figure=False)
                )
    earlier_pooling = _earlier_pooling(cells, geo, made_under, arrays)
    if earlier_pooling is not None:
        wijk_pooling, regio_pooling = earlier_pooling
        table.known_rows += _pooling_rows(table, geo, wijk_pooling, regio_pooling, made_under)


def _pool(
    arrays: Mapping[str, np.ndarray], geo: Geography, policy: Policy
) -> tuple[dict[str, WijkPooling], RegioPooling]:
    """Wijken into wijkgroepen (one map per population) and gemeenten into region pools."""
    pp = policy.pooling
    wijk_pooling = pool_wijken_per_population(
        geo, _criteria(arrays, geo, policy), pp.wijk_min, pp.wijkgroep_min
    )
    regio_pooling = pool_regios(
        geo,
        _parent_groups(arrays, geo),
        policy.pooling.regio_min_group,
        policy.pooling.regio_max_onbekend_share,
    )
    return wijk_pooling, regio_pooling


def _earlier_pooling(
    cells: Sequence[ReleaseCell],
    geo: Geography,
    made_under: Policy,
    arrays: Mapping[str, np.ndarray],
) -> tuple[dict[str, WijkPooling], RegioPooling] | None:
    """The earlier release's pooling, re-derived; None if it does not match its pooled rows."""
    wijk_pooling, regio_pooling = _pool(arrays, geo, made_under)
    if _pooled_rows(cells) != _pooling_signature(wijk_pooling, regio_pooling):
        return None
    return wijk_pooling, regio_pooling


_PoolingKey = tuple[str, GeoLevel, str, str | None]


def _pooled_rows(cells: Sequence[ReleaseCell]) -> set[_PoolingKey]:
    """A release's pooling maps as its pooled rows show them: (population, level, code, pool)."""
    out: set[_PoolingKey] = set()
    for c in cells:
        if c.status is CellStatus.POOLED:
            spec = INDICATORS.get(c.indicator)  # type: ignore[call-overload]
            population = spec.population.value if spec is not None else c.indicator
            out.add((population, c.geo_level, c.geo_code, c.pooled_into))
    return out


def _pooling_signature(
    wijk_pooling: Mapping[str, WijkPooling], regio_pooling: RegioPooling
) -> set[_PoolingKey]:
    """The pooled rows a release with this pooling shows (see ``_pooled_rows``)."""
    out: set[_PoolingKey] = {
        (p, GeoLevel.WIJK, w, u)
        for p, pooling in wijk_pooling.items()
        for w, u in pooling.unit_of.items()
        if u != w
    }
    return out | {(_REGIONAL, GeoLevel.GEMEENTE, g, r) for g, r in regio_pooling.pool_of.items()}


def _number_key(family: int, atoms: np.ndarray, offsets: np.ndarray) -> tuple[int, bytes, bytes]:
    """A sum of unknowns, comparable across releases (atoms and offsets sorted int64)."""
    return (family, atoms.astype(np.int64).tobytes(), offsets.astype(np.int64).tobytes())


def _prior_interval(shown: int, truth: int, base: int) -> tuple[int, int]:
    """What an earlier release's published count tells: its rounding interval (``base``, from
    the policy in its release.json). If the truth does not round to it (the data were
    corrected since, or the figure was noisy), the published count and the truth both bound
    the interval.
    """
    if round_count(truth, base) == shown:
        return rounding_interval(shown, base)
    return min(shown, truth), max(shown, truth)


def _prior_atoms(
    c: ReleaseCell,
    fam: Family,
    geo: Geography,
    pooled: Mapping[str, set[str]],
    wijk_idx: Mapping[str, int],
    gem_idx: Mapping[str, int],
    wijken_by_gem: Mapping[str, Sequence[str]],
) -> list[int] | None:
    level, code = c.geo_level, c.geo_code
    if level is GeoLevel.LAND:
        return list(range(len(fam.atoms)))
    if fam.regional:
        if level is GeoLevel.REGIO:
            gms = pooled.get(code)
            if gms is None:
                regios = {r: r for r in geo.regios()}
                names = _members_by_name(c.geo_name, regios)
                if names is None:
                    return None
                gms = {g for r in names for g in geo.gemeenten_of(r)}
            return [gem_idx[g] for g in gms if g in gem_idx]
        if level is GeoLevel.GEMEENTE:
            return [gem_idx[code]] if code in gem_idx else []
        return []
    if level is GeoLevel.WIJK:
        return [wijk_idx[code]] if code in wijk_idx else []
    if level is GeoLevel.GEMEENTE:
        return [wijk_idx[w] for w in wijken_by_gem.get(code, ())]
    if level is GeoLevel.WIJKGROEP:
        ws = pooled.get(code)
        if ws is None:
            gm = c.parent_code or _gemeente_of_group(code)
            cands = {w: geo.wijken[w].naam for w in wijken_by_gem.get(gm, ())} if gm else {}
            names = _members_by_name(c.geo_name, cands)
            if names is None:
                return None
            ws = set(names)
        return [wijk_idx[w] for w in ws if w in wijk_idx]
    return []


def _gemeente_of_group(code: str) -> str | None:
    m = re.fullmatch(r"WG(\d{4})_\d+", code)
    return f"GM{m.group(1)}" if m else None


def _block_of(table: Table, family: int, atoms: np.ndarray) -> int:
    return table.block_of_atoms(family, atoms)


def _keep_earlier_complements(table: Table, cells: Sequence[ReleaseCell]) -> None:
    """Withhold again what an earlier release of this schooljaar withheld as a complement.

    A second release of the same counts that chose other complements would publish what the
    first withheld next to what the first published, and together they narrow the cells both
    withheld. Starting from the earlier complements keeps statuses stable (under the same
    policy the release comes out the same); the audit then adds what the new policy needs.
    """
    earlier = {
        (c.indicator, c.breakdown, c.geo_level, c.geo_code)
        for c in cells
        if c.status is CellStatus.SUPPRESSED_SECONDARY
    }
    for ii, it in enumerate(table.items):
        if it.withheld or it.phantom:
            continue
        for ci in it.cells:
            c = table.cells[ci]
            if (c.indicator, c.breakdown, c.level, c.code) in earlier:
                withhold(table, ii, EARLIER_COMPLEMENT)
                break


def withheld_last_year(table: Table, last_year: Sequence[ReleaseCell]) -> set[int]:
    """Items whose cells existed last year but were not published (to keep statuses stable)."""
    if not last_year:
        return set()
    published = {(c.indicator, c.breakdown, c.geo_level, c.geo_code) for c in last_year}
    seen_units = {(c.geo_level, c.geo_code) for c in last_year}
    out = set()
    for ii, it in enumerate(table.items):
        if it.phantom or (it.level, it.code) not in seen_units:
            continue
        for ci in it.cells:
            c = table.cells[ci]
            if (c.indicator, c.breakdown, c.level, c.code) not in published:
                out.add(ii)
                break
    return out


# --- output --------------------------------------------------------------------------------------


def _policy_decision(policy: Policy, knob: str) -> Decision:
    section, key = knob.split(".")
    value = getattr(getattr(policy, section), key)
    default = getattr(getattr(Policy(), section), key)
    rule = {
        "primary.min_cell": Rule.MIN_CELL,
        "primary.group_disclosure_min": Rule.GROUP_DISCLOSURE,
        "primary.complement_k": Rule.COMPLEMENT,
        "secondary.protection_min": Rule.SECONDARY,
        "secondary.protection_share": Rule.SECONDARY,
        "pooling.wijk_min": Rule.POOLED_WIJK,
        "pooling.wijk_criteria": Rule.POOLED_WIJK,
        "pooling.regio_min_group": Rule.POOLED_REGIO,
        "pooling.regio_max_onbekend_share": Rule.POOLED_REGIO,
        "dp.epsilon_limit": Rule.NOISE,
    }.get(knob, Rule.PUBLISHED)

    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return Decision(
        kind="policy",
        rule=rule,
        detail={"knob": knob, "value": plain(value), "default": plain(default), "weaker": True},
    )


def assemble(
    table: Table,
    policy: Policy,
    checks: Sequence[Check],
    wijk_pooling: Mapping[str, WijkPooling],
    regio_pooling: RegioPooling,
    decisions: list[Decision],
    dp: DPParams | None,
) -> ProtectedDraft:
    sj = table.schooljaar
    decimals = policy.rounding.percentage_decimals
    basis = policy.rounding.percentage_basis
    order = sorted(
        range(len(table.cells)),
        key=lambda ci: (
            _INDICATOR_ORDER[table.cells[ci].indicator],
            INDICATORS[IndicatorId(table.cells[ci].indicator)].breakdowns.index(
                table.cells[ci].breakdown
            ),
            _LEVEL_ORDER[table.cells[ci].level],
            table.cells[ci].code,
        ),
    )
    cells: list[ReleaseCell] = []
    cell_decisions: list[Decision] = []
    for ci in order:
        c = table.cells[ci]
        common: dict[str, Any] = {
            "indicator": c.indicator,
            "breakdown": c.breakdown,
            "schooljaar": sj,
            "geo_level": c.level,
            "geo_code": c.code,
        }
        if c.status is CellStatus.PUBLISHED:
            num, den = table.numbers[c.num], table.numbers[c.den]
            shown_num, shown_den = min(num.shown, den.shown), den.shown
            if basis == "rounded":
                pct = percentage(shown_num, shown_den, decimals)
            else:
                true_num = min(max(num.value, 0), max(den.value, 0))
                pct = percentage(true_num, max(den.value, 0), decimals)
            scale = None
            interval: tuple[float | None, float | None] = (None, None)
            if dp is not None:
                scale = dp.scales.get(table.families[num.family].population)
                if scale is not None:
                    num_cells = len(num.atoms) * len(num.offsets)
                    den_cells = len(den.atoms) * len(den.offsets)
                    interval = percentage_interval(
                        shown_num,
                        shown_den,
                        num_cells,
                        max(den_cells - num_cells, 0),
                        scale,
                        dp.mechanism,
                    )
            cells.append(
                ReleaseCell(
                    **common,
                    geo_name=c.name,
                    numerator=shown_num,
                    denominator=shown_den,
                    percentage=pct,
                    status=c.status,
                    rule=Rule.PUBLISHED,
                    parent_code=c.parent_code,
                    noise_scale=scale,
                    ci_low=interval[0],
                    ci_high=interval[1],
                )
            )
            continue
        cells.append(
            ReleaseCell(
                **common,
                geo_name=c.name,
                status=c.status,
                pooled_into=c.pooled_into,
                rule=c.rule,
                parent_code=c.parent_code,
            )
        )
        detail: dict[str, Any] = {}
        sealed: int | None = None
        if c.status is CellStatus.POOLED:
            detail = {"into": c.pooled_into}
        else:
            sealed = table.numbers[c.den].value
            if c.status is CellStatus.SUPPRESSED_SECONDARY and c.protects:
                detail = {"protects": c.protects}
        cell_decisions.append(
            Decision(
                kind=c.status.value,  # type: ignore[arg-type]
                rule=c.rule,
                **common,
                status=c.status,
                threshold=c.threshold,
                detail=detail,
                sealed_count=sealed,
            )
        )
    audit_decisions: list[Decision] = []
    for check in sorted(checks, key=lambda ch: ch.target.number):
        if not check.ok:
            raise InternalError("AUDIT_FAILED", "a withheld count failed the final audit (a bug)")
        for ci, part in check.target.owners:
            c = table.cells[ci]
            audit_decisions.append(
                Decision(
                    kind="audit",
                    rule=Rule.AUDIT,
                    indicator=c.indicator,
                    breakdown=c.breakdown,
                    schooljaar=sj,
                    geo_level=c.level,
                    geo_code=c.code,
                    status=c.status,
                    detail={
                        "outcome": "pass",
                        "part": "numerator" if part == "num" else "denominator",
                    },
                    sealed_count=check.target.value,
                )
            )
    audit_decisions.sort(
        key=lambda d: (
            d.indicator or "",
            d.breakdown or "",
            d.geo_level or "",
            d.geo_code or "",
            d.detail["part"],
        )
    )
    wijkgroepen = {g.code: g for p in wijk_pooling.values() for g in p.groups}
    pooling: tuple[PoolingGroup, ...] = tuple(
        sorted((*wijkgroepen.values(), *regio_pooling.groups), key=lambda g: g.code)
    )
    return ProtectedDraft(
        schooljaar=sj,
        policy=policy_dict(policy),
        policy_hash=policy_hash(policy),
        percentage_basis=basis,
        cells=tuple(cells),
        pooling=pooling,
        decisions=tuple(decisions + cell_decisions + audit_decisions),
        dp=dp,
    )


__all__ = ["BaselineResult", "Protection", "naive_baseline", "protect", "run_protection"]
