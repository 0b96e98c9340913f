"""Earlier releases as attacker knowledge, and as a guide for stable statuses.

An earlier release of the same schooljaar describes the same pupils: ``prior_rows`` turns its
published figures into constraints (read under the policy it was made under),
``adopt_statuses`` adds what its statuses and pooling maps say, and
``keep_earlier_complements`` starts this release from its complements. The release of the year
before steers complements towards cells that were withheld then too (``withheld_last_year``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from indicators.specs import INDICATORS
from kansenkluis.domain import (
    TOTAAL,
    CellStatus,
    Geography,
    GeoLevel,
)
from kansenkluis.errors import InternalError
from kansenkluis.geocodes import gemeente_of

from .build import REGIONAL, block_of, pool_units, pooling_rows
from .policy import Policy
from .pooling import (
    NAME_SEPARATOR,
    RegioPooling,
    WijkPooling,
)
from .primary import status_bounds
from .release import (
    ReleaseCell,
)
from .rounding import percentage, round_count, rounding_interval
from .secondary import withhold
from .table import (
    INF,
    Family,
    PriorCell,
    PriorRow,
    Table,
)

#: what a complement kept from an earlier release of the same schooljaar protects (log detail)
EARLIER_COMPLEMENT = "withheld in the earlier release of this schooljaar"


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
            block_of(table, fi, atoms),
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


def adopt_statuses(
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
        table.known_rows += pooling_rows(table, geo, wijk_pooling, regio_pooling, made_under)


def _earlier_pooling(
    cells: Sequence[ReleaseCell],
    geo: Geography,
    made_under: Policy,
    arrays: Mapping[str, np.ndarray],
) -> tuple[dict[str, WijkPooling], RegioPooling] | None:
    """The earlier release's pooling, re-derived; None if it does not match its pooled rows."""
    wijk_pooling, regio_pooling = pool_units(arrays, geo, made_under)
    if pooled_rows(cells) != pooling_signature(wijk_pooling, regio_pooling):
        return None
    return wijk_pooling, regio_pooling


_PoolingKey = tuple[str, GeoLevel, str, str | None]


def pooled_rows(cells: Sequence[ReleaseCell]) -> set[_PoolingKey]:
    """A release's pooling maps as its pooled rows show them: (population, level, code, pool)."""
    out: set[_PoolingKey] = set()
    for c in cells:
        if c.status is CellStatus.POOLED:
            spec = INDICATORS.get(c.indicator)  # type: ignore[call-overload]
            population = spec.population.value if spec is not None else c.indicator
            out.add((population, c.geo_level, c.geo_code, c.pooled_into))
    return out


def pooling_signature(
    wijk_pooling: Mapping[str, WijkPooling], regio_pooling: RegioPooling
) -> set[_PoolingKey]:
    """The pooled rows a release with this pooling shows (see ``pooled_rows``)."""
    out: set[_PoolingKey] = {
        (p, GeoLevel.WIJK, w, u)
        for p, pooling in wijk_pooling.items()
        for w, u in pooling.unit_of.items()
        if u != w
    }
    return out | {(REGIONAL, GeoLevel.GEMEENTE, g, r) for g, r in regio_pooling.pool_of.items()}


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
            gm = c.parent_code or gemeente_of(code)
            cands = {w: geo.wijken[w].naam for w in wijken_by_gem.get(gm, ())} if gm else {}
            names = _members_by_name(c.geo_name, cands)
            if names is None:
                return None
            ws = set(names)
        return [wijk_idx[w] for w in ws if w in wijk_idx]
    return []


def keep_earlier_complements(table: Table, cells: Sequence[ReleaseCell]) -> None:
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
