"""Random small worlds for the attack tests: a public geography plus exact aggregate counts.

A world is what the sealed side would hand to disclosure control: an ``AggregateTable`` with a
count for every (population, breakdown, category, wijk), zeros included. Sizes are kept small so
that pooling, primary and secondary suppression all happen. ``naive_release`` builds a
deliberately bad release by hand (primary suppression only), so that the attacker can be shown
to break it without relying on ``disclosure.protect``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from disclosure.release import PoolingGroup, ReleaseCell
from indicators.specs import INDICATORS, POPULATIONS, population_keys
from kansenkluis.domain import (
    LAND_CODE,
    LAND_NAME,
    TOTAAL,
    AggregateTable,
    CellStatus,
    Geography,
    GeoLevel,
    PopulationId,
    Rule,
)

#: (population, breakdown, category, wijkcode) -> exact count
Counts = Mapping[tuple[str, str, str, str], int]

#: Relative size of each population per wijk: groep 8 is a whole year group, stapelen a sliver.
_POPULATION_SCALE: Mapping[PopulationId, float] = {
    PopulationId.GROEP8: 1.0,
    PopulationId.VMBO_GT_GESLAAGD: 0.35,
    PopulationId.MBO4_DIPLOMA: 0.4,
    PopulationId.TRANSITIE: 0.6,
    PopulationId.VEERTIENJARIGEN: 0.9,
}


@dataclass(frozen=True)
class World:
    geography: Geography
    agg: AggregateTable

    @property
    def truth(self) -> dict[tuple[int, str, str, str, str], int]:
        """(schooljaar, population, breakdown, category, wijk) -> count, as the attacker keys it."""
        sj = self.agg.schooljaar
        return {
            (sj, r.population, r.breakdown, r.category, r.wijkcode): int(r.count)
            for r in self.agg.counts.itertuples(index=False)
        }

    def __repr__(self) -> str:
        """Python that rebuilds the world (hypothesis prints this for a failing example)."""
        geo = self.geography
        sizes = [len(geo.wijken_of(g)) for g in sorted(geo.gemeenten)]
        buren = {w.code: set(w.buren) for w in geo.wijken.values()}
        regio_of = [geo.gemeenten[g].regio for g in sorted(geo.gemeenten)]
        counts = {
            (r.population, r.breakdown, r.category, r.wijkcode): int(r.count)
            for r in self.agg.counts.itertuples(index=False)
            if r.count
        }
        return (
            f"make_world(make_geography({sizes}, {buren!r}, {regio_of!r}), {counts!r}, "
            f"{self.agg.schooljaar})"
        )

    def describe(self) -> str:
        """A compact dump of the world (for a failing example's report)."""
        lines = []
        for w in self.geography.wijken.values():
            lines.append(f"{w.code} gemeente={w.gemeentecode} buren={','.join(w.buren)}")
        nonzero = self.agg.counts[self.agg.counts["count"] > 0]
        for r in nonzero.itertuples(index=False):
            lines.append(f"  {r.population}/{r.breakdown}/{r.category}/{r.wijkcode} = {r.count}")
        return "\n".join(lines)


def make_geography(
    wijken_per_gemeente: list[int],
    buren: Mapping[str, set[str]] | None = None,
    regio_of: list[str] | None = None,
) -> Geography:
    """A geography with gemeenten GM0001.. and wijken WKggggww; without ``buren`` the wijken of
    each gemeente border in a chain."""
    rows = []
    chain = buren is None
    buren = dict(buren or {})
    for gi, n in enumerate(wijken_per_gemeente, start=1):
        gm = f"GM{gi:04d}"
        codes = [f"WK{gi:04d}{wi:02d}" for wi in range(n)]
        if chain:
            for a, b in zip(codes, codes[1:], strict=False):
                buren.setdefault(a, set()).add(b)
                buren.setdefault(b, set()).add(a)
        regio = regio_of[gi - 1] if regio_of else "Regio Een"
        for c in codes:
            rows.append(
                {
                    "wijkcode": c,
                    "wijknaam": f"Wijk {c[-4:]}",
                    "gemeentecode": gm,
                    "gemeentenaam": f"Gemeente {gi}",
                    "regio": regio,
                    "buren": ";".join(sorted(buren.get(c, set()))),
                }
            )
    return Geography.from_frame(pd.DataFrame(rows))


def make_world(geography: Geography, counts: Counts, schooljaar: int = 2022) -> World:
    """An AggregateTable with every key present: unspecified counts are zero."""
    keys = population_keys()
    rows = [
        (
            k.population,
            k.breakdown,
            k.category,
            w,
            int(counts.get((k.population, k.breakdown, k.category, w), 0)),
        )
        for k in keys.itertuples(index=False)
        for w in geography.wijken
    ]
    frame = pd.DataFrame(rows, columns=["population", "breakdown", "category", "wijkcode", "count"])
    agg = AggregateTable(schooljaar, frame, geography, data_fingerprint="attack-world")
    return World(geography, agg)


def random_counts(geography: Geography, seed: int, scale: float) -> dict:
    """Small random counts: a size per wijk, split over categories with skewed shares."""
    rng = np.random.default_rng(seed)
    counts: dict[tuple[str, str, str, str], int] = {}
    # Some wijken are nearly empty, most are small, a few are big enough to publish alone.
    wijk_size = {
        w: float(rng.choice([0.0, 3.0, 8.0, 18.0, 40.0], p=[0.1, 0.3, 0.3, 0.2, 0.1])) * scale
        for w in geography.wijken
    }
    for pop in POPULATIONS.values():
        for b in pop.breakdowns:
            # Skewed shares make 0% and 100% cells (group disclosure) appear.
            shares = rng.dirichlet(np.full(len(pop.categories), 0.6))
            for w, size in wijk_size.items():
                n = int(rng.poisson(size * _POPULATION_SCALE[pop.id]))
                for c, k in zip(pop.categories, rng.multinomial(n, shares), strict=True):
                    if k:
                        counts[(pop.id.value, b, c, w)] = int(k)
    return counts


@st.composite
def worlds(draw: st.DrawFn, max_gemeenten: int = 3, max_wijken: int = 8) -> World:
    """1-3 gemeenten of 2-8 wijken with random (symmetric) buren and small random counts."""
    n_gemeenten = draw(st.integers(1, max_gemeenten))
    sizes = [draw(st.integers(2, max_wijken)) for _ in range(n_gemeenten)]
    regio_of = [draw(st.sampled_from(["Regio Een", "Regio Twee"])) for _ in range(n_gemeenten)]
    buren: dict[str, set[str]] = {}
    for gi, n in enumerate(sizes, start=1):
        codes = [f"WK{gi:04d}{wi:02d}" for wi in range(n)]
        for code in codes:
            buren.setdefault(code, set())
        for i in range(1, n):
            # A random tree keeps the gemeente connected unless the draw cuts a wijk loose.
            if draw(st.integers(0, 9)) == 0:
                continue
            j = draw(st.integers(0, i - 1))
            buren[codes[i]].add(codes[j])
            buren[codes[j]].add(codes[i])
        for _ in range(draw(st.integers(0, n))):
            a, b = draw(st.sampled_from(codes)), draw(st.sampled_from(codes))
            if a != b:
                buren[a].add(b)
                buren[b].add(a)
    geography = make_geography(sizes, buren, regio_of)
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([0.5, 1.0, 2.0]))
    return make_world(geography, random_counts(geography, seed, scale))


# --- a deliberately bad release, built by hand ------------------------------------------------


def _round(v: int, base: int) -> int:
    """Nearest multiple of ``base``, halves up."""
    return (v + base // 2) // base * base


def naive_release(
    world: World,
    *,
    rounding_base: int = 5,
    percentage_basis: str = "rounded",
    min_cell: int = 10,
    group_min: int = 20,
) -> tuple[list[ReleaseCell], list[PoolingGroup]]:
    """Every cell with primary suppression only: no pooling, no secondary suppression.

    Region cells use ``geografie.regio`` directly; the pooling map lists those regions so that an
    attacker can resolve them. This is what a careless analyst would publish.
    """
    geo = world.geography
    wijk_counts = _wijk_indicator_counts(world)
    cells: list[ReleaseCell] = []
    pools = [
        PoolingGroup(code=r, name=r, level=GeoLevel.REGIO, members=tuple(geo.gemeenten_of(r)))
        for r in geo.regios()
    ]
    for spec in INDICATORS.values():
        for b in spec.breakdowns:
            units: list[tuple[GeoLevel, str, str, list[str]]] = []
            if GeoLevel.WIJK in spec.levels:
                units += [(GeoLevel.WIJK, w.code, w.naam, [w.code]) for w in geo.wijken.values()]
                units += [
                    (GeoLevel.GEMEENTE, g.code, g.naam, geo.wijken_of(g.code))
                    for g in geo.gemeenten.values()
                ]
            if GeoLevel.REGIO in spec.levels:
                units += [
                    (
                        GeoLevel.REGIO,
                        p.code,
                        p.name,
                        [w for g in p.members for w in geo.wijken_of(g)],
                    )
                    for p in pools
                ]
            units.append((GeoLevel.LAND, LAND_CODE, LAND_NAME, list(geo.wijken)))
            for level, code, naam, wijken in units:
                num = sum(wijk_counts[(spec.id.value, b, w)][0] for w in wijken)
                den = sum(wijk_counts[(spec.id.value, b, w)][1] for w in wijken)
                base: dict[str, Any] = dict(
                    indicator=spec.id.value,
                    breakdown=b,
                    schooljaar=world.agg.schooljaar,
                    geo_level=level,
                    geo_code=code,
                    geo_name=naam,
                )
                if den < min_cell:
                    cells.append(
                        ReleaseCell(
                            **base, status=CellStatus.SUPPRESSED_PRIMARY, rule=Rule.MIN_CELL
                        )
                    )
                    continue
                rn, rd = _round(num, rounding_base), _round(den, rounding_base)
                # docs/disclosure.md: no published 0% or 100% over a small group, exact or rounded.
                if (num in (0, den) or rn in (0, rd)) and den < group_min:
                    cells.append(
                        ReleaseCell(
                            **base, status=CellStatus.SUPPRESSED_PRIMARY, rule=Rule.GROUP_DISCLOSURE
                        )
                    )
                    continue
                pn, pd_ = (rn, rd) if percentage_basis == "rounded" else (num, den)
                cells.append(
                    ReleaseCell(
                        **base,
                        numerator=rn,
                        denominator=rd,
                        percentage=round(100 * pn / pd_, 1) if pd_ else None,
                        status=CellStatus.PUBLISHED,
                    )
                )
    return cells, pools


def _wijk_indicator_counts(world: World) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(indicator, breakdown, wijk) -> (numerator, denominator), straight from the categories."""
    counts: dict[tuple[str, str, str, str], int] = {
        (r.population, r.breakdown, r.category, r.wijkcode): int(r.count)
        for r in world.agg.counts.itertuples(index=False)
    }
    out: dict[tuple[str, str, str], tuple[int, int]] = {}
    for spec in INDICATORS.values():
        pop = POPULATIONS[spec.population]
        p = spec.population.value
        for b in spec.breakdowns:
            parts = pop.breakdowns if (b == TOTAAL and pop.breakdowns != (TOTAAL,)) else (b,)
            for w in world.geography.wijken:
                num = sum(counts[(p, x, c, w)] for x in parts for c in spec.numerator)
                den = sum(counts[(p, x, c, w)] for x in parts for c in spec.denominator)
                out[(spec.id.value, b, w)] = (num, den)
    return out
