"""The programme's overview: one indicator for every gemeente, on a national map and per COROP.

Like the factsheet it is rendered from a release only, as one self-contained HTML document (the
factsheet's stylesheet, so the same CSP) or as PDF. Gemeenten whose opleidingsmobiliteit is
published per region pool are drawn as one merged area with the pool's figure. A caller limited
to some gemeenten (a regiocoordinator) sees only those: the others are drawn blank and left out
of the tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from disclosure.release import Release
from indicators.specs import INDICATORS, IndicatorSpec
from kansenkluis.domain import LAND_CODE, TOTAAL, CellStatus, GeoLevel
from kansenkluis.errors import UserError

from ..release_index import ReleaseIndex
from . import geo, maps
from .charts import Reference
from .render import (
    STATUS_TEXT,
    _published,
    breakdown_label,
    capitalise,
    environment,
    indexed,
    release_context,
    static_text,
)


@dataclass(frozen=True)
class GemeenteRij:
    code: str
    naam: str
    percentage: float | None
    denominator: int | None
    #: published, suppressed_*, missing, or maps.BUITEN
    status: str
    #: the region pool whose figure this is (opleidingsmobiliteit)
    regio_code: str | None = None
    regio_naam: str | None = None

    @property
    def toelichting(self) -> str:
        if self.regio_naam:
            return f"cijfer van de regio {self.regio_naam}"
        if self.percentage is None:
            return STATUS_TEXT.get(self.status, maps.WITHHELD_TEXT.get(self.status, ""))
        return ""


@dataclass(frozen=True)
class Corop:
    code: str
    naam: str
    provincie: str
    rijen: tuple[GemeenteRij, ...]

    @property
    def hoogste(self) -> GemeenteRij | None:
        shown = [r for r in self.rijen if r.percentage is not None]
        return max(shown, key=lambda r: r.percentage or 0.0) if len(shown) >= 2 else None

    @property
    def laagste(self) -> GemeenteRij | None:
        shown = [r for r in self.rijen if r.percentage is not None]
        return min(shown, key=lambda r: r.percentage or 0.0) if len(shown) >= 2 else None


def _spec_and_breakdown(indicator: str, breakdown: str | None) -> tuple[IndicatorSpec, str]:
    known = {i.value: spec for i, spec in INDICATORS.items()}
    spec = known.get(indicator)
    if spec is None:
        raise UserError(
            "INDICATOR_NOT_FOUND",
            "the requested indicator is not known",
            hint=f"use one of {', '.join(known)}",
        )
    if breakdown is None:
        breakdown = TOTAAL if TOTAAL in spec.breakdowns else spec.breakdowns[0]
    if breakdown not in spec.breakdowns:
        raise UserError(
            "OVERVIEW_BAD_BREAKDOWN",
            f"{spec.id.value} has no breakdown of that name",
            hint=f"use one of {', '.join(spec.breakdowns)}",
        )
    return spec, breakdown


def gemeente_rijen(
    index: ReleaseIndex, ind: str, breakdown: str, visible: Callable[[str], bool]
) -> list[GemeenteRij]:
    rows: list[GemeenteRij] = []
    for code, gemeente in sorted(geo.gemeenten().items()):
        if not visible(code):
            rows.append(GemeenteRij(code, gemeente.naam, None, None, maps.BUITEN))
            continue
        cell = index.cell(ind, breakdown, GeoLevel.GEMEENTE, code)
        if cell is None:
            rows.append(GemeenteRij(code, gemeente.naam, None, None, "missing"))
        elif cell.status is CellStatus.POOLED and cell.pooled_into:
            regio = index.cell(ind, breakdown, GeoLevel.REGIO, cell.pooled_into)
            pool = index.pools.get(cell.pooled_into)
            value = _published(regio)
            rows.append(
                GemeenteRij(
                    code,
                    gemeente.naam,
                    value,
                    regio.denominator if regio is not None and value is not None else None,
                    CellStatus.PUBLISHED.value
                    if value is not None
                    else (regio.status.value if regio else "missing"),
                    regio_code=cell.pooled_into,
                    regio_naam=regio.geo_name if regio else (pool.name if pool else None),
                )
            )
        else:
            value = _published(cell)
            status = CellStatus.PUBLISHED.value if value is not None else cell.status.value
            denominator = cell.denominator if value is not None else None
            rows.append(GemeenteRij(code, gemeente.naam, value, denominator, status))
    return rows


def _areas(rows: Sequence[GemeenteRij]) -> list[maps.Gebied]:
    geography = geo.geography()
    areas: list[maps.Gebied] = []
    pools: dict[str, list[GemeenteRij]] = defaultdict(list)
    for row in rows:
        if row.regio_code:
            pools[row.regio_code].append(row)
            continue
        codes = frozenset(geography.wijken_of(row.code))
        if codes:
            areas.append(maps.Gebied(row.code, codes, row.naam, row.percentage, row.status))
    for code, members in sorted(pools.items()):
        codes = frozenset(w for m in members for w in geography.wijken_of(m.code))
        first = members[0]
        naam = f"regio {first.regio_naam or code}"
        areas.append(
            maps.Gebied(code, codes, naam, first.percentage, first.status, groep=len(members) > 1)
        )
    return areas


def render_overview_html(
    release: Release,
    indicator: str,
    breakdown: str | None = None,
    visible: Callable[[str], bool] | None = None,
    index: ReleaseIndex | None = None,
) -> str:
    """The overview of one indicator and breakdown over every gemeente of the 2025 geography.

    ``visible`` says which gemeenten the caller may see (default: all).
    """
    spec, breakdown = _spec_and_breakdown(indicator, breakdown)
    ind = spec.id.value
    index = indexed(release, index)
    rows = gemeente_rijen(index, ind, breakdown, visible or (lambda _: True))
    land = index.cell(ind, breakdown, GeoLevel.LAND, LAND_CODE)
    label = breakdown_label(spec, breakdown)
    naam = spec.naam if breakdown == TOTAAL else f"{spec.naam} ({label.lower()})"
    areas = _areas(rows)
    classes = maps.klassen([a.percentage for a in areas])
    shown = [r for r in rows if r.status != maps.BUITEN]
    published = sum(r.percentage is not None for r in shown)
    desc = (
        f"Kaart van Nederland met {naam} per gemeente, in klassen. "
        f"{published} van de {len(shown)} gemeenten hebben een gepubliceerd cijfer. "
        "De tabellen per COROP-regio geven alle cijfers."
    )
    kaart = maps.country_map(
        "kaart-nederland",
        f"Kaart: {naam} per gemeente",
        desc,
        areas,
        classes,
        (Reference("Nederland", _published(land)),),
    )
    corops: dict[str, list[GemeenteRij]] = defaultdict(list)
    info = geo.gemeenten()
    for row in shown:
        corops[info[row.code].corop_code].append(row)
    secties = []
    for code, members in corops.items():
        first = info[members[0].code]
        ordered = sorted(
            members, key=lambda r: (r.percentage is None, -(r.percentage or 0.0), r.naam)
        )
        secties.append(Corop(code, first.corop_naam, first.provincie_naam, tuple(ordered)))
    secties.sort(key=lambda c: (c.provincie, c.naam))
    template = environment().get_template("overzicht.html")
    return template.render(
        **release_context(release),
        spec=spec,
        titel=capitalise(naam),
        breakdown=breakdown,
        label=label,
        kaart=kaart,
        land=land,
        published_count=published,
        gemeenten_count=len(shown),
        secties=secties,
        css=Markup(static_text("factsheet.css")),  # noqa: S704 - our own file, not input
    )
