"""Building the table of one reference year: counts per population, pooling, the structure.

``population_arrays`` turns the aggregate counts into one array per population (wijk x
breakdown x category); ``pool_units`` decides the wijk pooling maps (one per population) and
the region pools; ``build_table`` lays out families, items (cells sharing a denominator),
numbers, cells, relations and audit blocks, with what the pooling maps prove
(``pooling_rows``). Rules and decisions come later (``disclosure.protect``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.specs import INDICATORS, POPULATIONS
from kansenkluis.domain import (
    LAND_CODE,
    LAND_NAME,
    PARENT_GROUPS,
    TOTAAL,
    Geography,
    GeoLevel,
    IndicatorId,
    PopulationId,
)
from kansenkluis.errors import InternalError

from .policy import Policy
from .pooling import (
    RegioPooling,
    WijkPooling,
    pool_regios,
    pool_wijken_per_population,
)
from .release import (
    PoolingGroup,
)
from .rounding import round_counts
from .table import (
    INF,
    JOINT_MAX_COLUMNS,
    Cell,
    Family,
    Item,
    KnownRow,
    Number,
    Table,
)

REGIONAL = PopulationId.VEERTIENJARIGEN.value


def population_arrays(counts: pd.DataFrame, geo: Geography) -> dict[str, np.ndarray]:
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
        p.id.value: [] for p in POPULATIONS.values() if p.id.value != REGIONAL
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
    per_wijk = arrays[REGIONAL].sum(axis=2)  # [wijk, parents' group]
    out: dict[str, dict[str, int]] = {g: dict.fromkeys(PARENT_GROUPS, 0) for g in geo.gemeenten}
    for i, w in enumerate(wijken):
        gm = geo.wijken[w].gemeentecode
        for bi, b in enumerate(pop.breakdowns):
            out[gm][b] += int(per_wijk[i, bi])
    return out


def pool_units(
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
        if p == REGIONAL:
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
    table.known_rows = pooling_rows(table, geo, wijk_pooling, regio_pooling, policy)
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


def pooling_rows(
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
            block = block_of(table, fi, atoms)
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
                block = block_of(table, fi, atoms)
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


def block_of(table: Table, family: int, atoms: np.ndarray) -> int:
    return table.block_of_atoms(family, atoms)
