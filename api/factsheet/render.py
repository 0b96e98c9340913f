"""From a ``Release`` to the factsheet and comparison views, and from there to HTML and PDF.

Only release cells are read: published (rounded or noisy) figures, the statuses of withheld
ones and the pooling map. Nothing here can see a true small count, so nothing here can leak one.

Which cells belong to a gemeente, and whether the release covers it at all, is the one rule of
``api.release_index.ReleaseIndex``, which the API routes use too. For opleidingsmobiliteit the
gemeente's figure is that of the region pool its gemeente cell is ``pooled`` into
(``ReleaseIndex.regio_of``).
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from disclosure.release import Release, ReleaseCell
from indicators.specs import INDICATORS, IndicatorSpec
from kansenkluis.config import GEO_ATTRIBUTION
from kansenkluis.domain import LAND_CODE, TOTAAL, CellStatus, GeoLevel, IndicatorId
from kansenkluis.errors import InternalError, UserError

from ..release_index import ReleaseIndex
from . import charts, maps
from .sentences import (
    TE_WEINIG,
    format_count,
    gemeente_sentence,
    interval_text,
    missing_sentence,
    pct,
    regio_sentence,
    trend_sentence,
)
from .trends import Jaar, punten

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

#: Wording per status, for tables and charts. A secondary suppression is not about this wijk
#: being small, so it gets its own wording.
STATUS_TEXT: dict[str, str] = {
    CellStatus.SUPPRESSED_PRIMARY.value: TE_WEINIG,
    CellStatus.SUPPRESSED_SECONDARY.value: "niet gepubliceerd, om kleine aantallen elders te "
    "beschermen",
    "missing": "geen cijfer in deze release",
}
STATUS_SHORT: dict[str, str] = {
    CellStatus.SUPPRESSED_PRIMARY.value: TE_WEINIG,
    CellStatus.SUPPRESSED_SECONDARY.value: "niet gepubliceerd (bescherming kleine aantallen)",
    "missing": "geen cijfer in deze release",
}

BREAKDOWN_LABEL: dict[str, str] = {
    TOTAAL: "Alle leerlingen",
    "vmbo": "Leerlingen op het vmbo (basis, kader of gemengd/theoretisch)",
    "havo": "Leerlingen op de havo",
    "vwo": "Leerlingen op het vwo",
    "max_mbo2": "Ouders met hoogstens mbo-2",
    "mbo3_4": "Ouders met mbo-3, mbo-4 of havo/vwo",
    "hoger_onderwijs": "Ouders met hbo of wo",
    "onbekend": "Opleiding ouders onbekend",
}
#: Short labels for table headers on the comparison page.
BREAKDOWN_SHORT: dict[str, str] = {
    TOTAAL: "",
    "vmbo": "vanuit vmbo",
    "havo": "vanuit havo",
    "vwo": "vanuit vwo",
    "max_mbo2": "ouders max. mbo-2",
    "mbo3_4": "ouders mbo-3/4",
    "hoger_onderwijs": "ouders hbo/wo",
    "onbekend": "ouders onbekend",
}

#: Who is counted, per indicator, for reference year ``t`` (docs/indicators.md).
COHORT: dict[IndicatorId, str] = {
    IndicatorId.HEROVERWEGING: "Leerlingen in groep 8 in schooljaar {jaar}.",
    IndicatorId.BIJSTELLING: "Leerlingen in groep 8 in schooljaar {jaar} bij wie het "
    "toetsadvies hoger was dan het schooladvies.",
    IndicatorId.STAPELEN_VO: "Leerlingen die in schooljaar {jaar} slaagden voor het "
    "vmbo-gt-examen, en hun school op 1 oktober {t1}.",
    IndicatorId.STAPELEN_MBO: "Studenten die in schooljaar {jaar} een mbo-4-diploma haalden, en "
    "hun inschrijving in het hoger onderwijs in {volgend}.",
    IndicatorId.OPSTROOM: "Leerlingen in leerjaar 3 of hoger op 1 oktober {t}, vergeleken met "
    "1 oktober {t1}.",
    IndicatorId.AFSTROOM: "Leerlingen in leerjaar 3 of hoger op 1 oktober {t}, vergeleken met "
    "1 oktober {t1}.",
    IndicatorId.ZITTENBLIJVEN: "Leerlingen in leerjaar 3 of hoger op 1 oktober {t}, vergeleken "
    "met 1 oktober {t1}.",
    IndicatorId.OPLEIDINGSMOBILITEIT: "Leerlingen die op 1 oktober {t} 14 jaar waren en op het "
    "voortgezet onderwijs zaten.",
}

DISCLAIMER = (
    "Deze cijfers zijn beschermd tegen onthulling van gegevens over personen. Aantallen zijn "
    "afgerond op vijftallen en percentages op één decimaal. Een wijk met te weinig leerlingen is "
    "eerst samengevoegd met aangrenzende wijken tot een wijkgroep; lukte dat niet, dan is het "
    "cijfer niet gepubliceerd. Soms is ook een ander cijfer weggelaten, zodat het weggelaten "
    "cijfer niet terug te rekenen is. Het gemiddelde van de gemeente en van Nederland is berekend "
    "over alle leerlingen samen, niet als gemiddelde van de wijken. Verschillen tussen kleine "
    "wijken kunnen op toeval berusten: gebruik de cijfers als begin van een gesprek, niet als "
    "oordeel over een school, wijk of gemeente."
)
DP_NOTE = (
    "Aan de aantallen is bovendien willekeurige ruis toegevoegd (differential privacy). Elk "
    "percentage heeft daarom een 95%-interval: het gebied waarin het cijfer zonder ruis met 95% "
    "zekerheid ligt."
)


def schooljaar_label(t: int) -> str:
    """2022 -> ``"2022/23"`` (2022 means school year 2022/23, docs/input-tables.md)."""
    return f"{t}/{(t + 1) % 100:02d}"


def cohort_text(indicator: IndicatorId, t: int) -> str:
    return COHORT[indicator].format(
        jaar=schooljaar_label(t), volgend=schooljaar_label(t + 1), t=t, t1=t + 1
    )


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- view models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WijkRij:
    """One CBS wijk for one indicator and breakdown, with the figure that applies to it."""

    code: str
    naam: str
    #: published, pooled (figure of its wijkgroep), suppressed_primary/secondary, missing
    status: str
    percentage: float | None
    numerator: int | None = None
    denominator: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    groep_code: str | None = None
    groep_naam: str | None = None
    #: the wijkgroep's status, for a pooled wijk
    groep_status: str | None = None

    @property
    def toelichting(self) -> str:
        if self.status == CellStatus.POOLED.value:
            extra = (
                f" ({STATUS_TEXT[self.groep_status]})" if self.groep_status in STATUS_TEXT else ""
            )
            return f"samengevoegd in wijkgroep {self.groep_naam}{extra}"
        return STATUS_TEXT.get(self.status, "")

    @property
    def withheld_text(self) -> str:
        status = self.groep_status if self.status == CellStatus.POOLED.value else self.status
        return STATUS_SHORT.get(status or "missing", STATUS_SHORT["missing"])


@dataclass(frozen=True)
class Reeks:
    """One indicator x breakdown for one gemeente: the sentence, the chart and the table."""

    spec: IndicatorSpec
    breakdown: str
    label: str
    gemeente: ReleaseCell | None
    land: ReleaseCell | None
    rijen: tuple[WijkRij, ...]
    #: one entry per wijk unit (wijk or wijkgroep counted once); None = withheld
    eenheden: tuple[float | None, ...]
    wijken_niet_gepubliceerd: int
    zin: str
    interval: str = ""
    grafiek: Markup = field(default_factory=Markup)
    #: the release holds no cell at all for this indicator and breakdown
    ontbreekt: bool = False

    @property
    def chart_id(self) -> str:
        return f"grafiek-{self.spec.id.value}-{self.breakdown}"

    @property
    def hoogste(self) -> float | None:
        published = [p for p in self.eenheden if p is not None]
        return max(published) if len(published) >= 2 else None

    @property
    def laagste(self) -> float | None:
        published = [p for p in self.eenheden if p is not None]
        return min(published) if len(published) >= 2 else None

    @property
    def rijen_op_code(self) -> list[WijkRij]:
        return sorted(self.rijen, key=lambda r: r.code)


@dataclass(frozen=True)
class RegioReeks:
    """Opleidingsmobiliteit for one parents' group: the region against the nation."""

    breakdown: str
    label: str
    regio_code: str | None
    regio_naam: str
    regio: ReleaseCell | None
    land: ReleaseCell | None
    zin: str
    interval: str = ""


@dataclass(frozen=True)
class Sectie:
    spec: IndicatorSpec
    titel: str
    cohort: str
    reeksen: tuple[Reeks, ...] = ()
    regio_reeksen: tuple[RegioReeks, ...] = ()
    regio_leden: tuple[str, ...] = ()
    grafiek: Markup = field(default_factory=Markup)
    ontbreekt: str = ""
    #: the wijk map of all breakdowns (empty for a gemeente outside the shipped geography)
    kaart: Markup = field(default_factory=Markup)
    #: said under the map when release wijken are missing from the 2025 geography
    kaart_noot: str = ""
    #: the figures over the school years (empty with one school year only)
    trend: Markup = field(default_factory=Markup)
    #: per breakdown (label, sentence) over the school years
    trend_zinnen: tuple[tuple[str, str], ...] = ()


def _published(cell: ReleaseCell | None) -> float | None:
    if cell is None or cell.status is not CellStatus.PUBLISHED:
        return None
    return cell.percentage


def breakdown_label(spec: IndicatorSpec, breakdown: str) -> str:
    if breakdown == TOTAAL and spec.id is IndicatorId.OPLEIDINGSMOBILITEIT:
        return "Alle 14-jarigen"
    return BREAKDOWN_LABEL.get(breakdown, breakdown)


def _ordered_breakdowns(spec: IndicatorSpec) -> list[str]:
    # The total first: it is the headline, the groups refine it.
    return sorted(spec.breakdowns, key=lambda b: (b != TOTAAL, spec.breakdowns.index(b)))


def wijk_rijen(
    index: ReleaseIndex, indicator: str, breakdown: str, gemeentecode: str
) -> tuple[list[WijkRij], list[float | None], int]:
    """Per CBS wijk the figure that applies, the wijk units, and how many wijken go unpublished."""
    wijk_cells = sorted(index.wijken(indicator, breakdown, gemeentecode), key=lambda c: c.geo_code)
    groep_cells = {c.geo_code: c for c in index.wijkgroepen(indicator, breakdown, gemeentecode)}
    rows: list[WijkRij] = []
    units: list[float | None] = []
    used_groups: set[str] = set()
    withheld = 0
    for cell in wijk_cells:
        if cell.status is CellStatus.POOLED:
            group = groep_cells.get(cell.pooled_into or "") or (
                index.cell(indicator, breakdown, GeoLevel.WIJKGROEP, cell.pooled_into or "")
            )
            pool = index.pools.get(cell.pooled_into or "")
            naam = group.geo_name if group else (pool.name if pool else cell.pooled_into or "")
            group_status = group.status.value if group else "missing"
            value = _published(group)
            if group is not None and group.geo_code not in used_groups:
                used_groups.add(group.geo_code)
                units.append(value)
            withheld += value is None
            rows.append(
                WijkRij(
                    code=cell.geo_code,
                    naam=cell.geo_name,
                    status=CellStatus.POOLED.value,
                    percentage=value,
                    numerator=group.numerator if value is not None and group else None,
                    denominator=group.denominator if value is not None and group else None,
                    ci_low=group.ci_low if group and value is not None else None,
                    ci_high=group.ci_high if group and value is not None else None,
                    groep_code=cell.pooled_into,
                    groep_naam=naam,
                    groep_status=group_status,
                )
            )
            continue
        value = _published(cell)
        units.append(value)
        withheld += value is None
        rows.append(
            WijkRij(
                code=cell.geo_code,
                naam=cell.geo_name,
                status="missing"
                if cell.status is CellStatus.PUBLISHED and value is None
                else cell.status.value,
                percentage=value,
                numerator=cell.numerator if value is not None else None,
                denominator=cell.denominator if value is not None else None,
                ci_low=cell.ci_low if value is not None else None,
                ci_high=cell.ci_high if value is not None else None,
            )
        )
    # A wijkgroep that no wijk cell points at (should not happen) still counts as a unit.
    for code, group in sorted(groep_cells.items()):
        if code in used_groups:
            continue
        value = _published(group)
        units.append(value)
        rows.append(
            WijkRij(
                code=code,
                naam=group.geo_name,
                status=group.status.value,
                percentage=value,
                numerator=group.numerator if value is not None else None,
                denominator=group.denominator if value is not None else None,
                ci_low=group.ci_low,
                ci_high=group.ci_high,
                groep_code=code,
                groep_naam=group.geo_name,
            )
        )
    return rows, units, withheld


def _chart_bars(rows: Sequence[WijkRij]) -> list[charts.Bar]:
    """One bar per wijk and one per wijkgroep (with its wijken), highest first, withheld last."""
    bars: list[charts.Bar] = []
    groups: dict[str, list[WijkRij]] = defaultdict(list)
    for row in rows:
        if row.status == CellStatus.POOLED.value and row.groep_code:
            groups[row.groep_code].append(row)
        else:
            bars.append(
                charts.Bar(
                    label=row.naam,
                    percentage=row.percentage,
                    withheld_text=row.withheld_text,
                    ci_low=row.ci_low,
                    ci_high=row.ci_high,
                )
            )
    for members in groups.values():
        first = members[0]
        bars.append(
            charts.Bar(
                label=first.groep_naam or first.groep_code or "",
                percentage=first.percentage,
                members=tuple(m.naam for m in sorted(members, key=lambda m: m.code)),
                withheld_text=first.withheld_text,
                ci_low=first.ci_low,
                ci_high=first.ci_high,
            )
        )
    return sorted(bars, key=lambda b: (b.percentage is None, -(b.percentage or 0.0), b.label))


def _chart_desc(naam: str, gemeente: str, reeks_zin: str, rows: Sequence[WijkRij]) -> str:
    pooled = sum(r.status == CellStatus.POOLED.value for r in rows)
    shown = sum(r.percentage is not None for r in rows)
    parts = [
        f"Staafdiagram van {naam} per wijk in {gemeente}, met lijnen voor het gemiddelde van de "
        f"gemeente en van Nederland. {reeks_zin}",
        f"{shown} van de {len(rows)} wijken hebben een gepubliceerd cijfer.",
    ]
    if pooled:
        parts.append(f"{pooled} wijken zijn samengevoegd tot wijkgroepen.")
    parts.append("De tabel bij deze grafiek geeft alle cijfers.")
    return " ".join(parts)


def _interval_line(label_cells: Iterable[tuple[str, ReleaseCell | None]]) -> str:
    parts = []
    for label, cell in label_cells:
        if cell is not None and cell.status is CellStatus.PUBLISHED:
            text = interval_text(cell.ci_low, cell.ci_high)
            if text:
                parts.append(f"{label}: {text}")
    return "; ".join(parts)


def _withheld_text(cell: ReleaseCell | None) -> str:
    """Why a region or national figure is not shown, in the chart's words."""
    if cell is None:
        return STATUS_SHORT["missing"]
    return STATUS_SHORT.get(cell.status.value, TE_WEINIG)


def build_reeks(
    index: ReleaseIndex, spec: IndicatorSpec, breakdown: str, gemeentecode: str, gemeente: str
) -> Reeks:
    ind = spec.id.value
    gem_cell = index.cell(ind, breakdown, GeoLevel.GEMEENTE, gemeentecode)
    land_cell = index.cell(ind, breakdown, GeoLevel.LAND, LAND_CODE)
    rows, units, withheld = wijk_rijen(index, ind, breakdown, gemeentecode)
    label = breakdown_label(spec, breakdown)
    if gem_cell is None and land_cell is None and not rows:
        naam = spec.naam if breakdown == TOTAAL else f"{spec.naam} ({label.lower()})"
        return Reeks(
            spec=spec,
            breakdown=breakdown,
            label=label,
            gemeente=None,
            land=None,
            rijen=(),
            eenheden=(),
            wijken_niet_gepubliceerd=0,
            zin=missing_sentence(naam),
            ontbreekt=True,
        )
    secondary = CellStatus.SUPPRESSED_SECONDARY.value
    zin = gemeente_sentence(
        gemeente,
        _published(gem_cell),
        _published(land_cell),
        units,
        wijken_niet_gepubliceerd=withheld,
        wijken_beschermd=sum(
            r.status == secondary
            or (r.status == CellStatus.POOLED.value and r.groep_status == secondary)
            for r in rows
        ),
        gemeente_beschermd=gem_cell is not None
        and gem_cell.status is CellStatus.SUPPRESSED_SECONDARY,
    )
    interval = _interval_line([(f"gemeente {gemeente}", gem_cell), ("Nederland", land_cell)])
    reeks = Reeks(
        spec=spec,
        breakdown=breakdown,
        label=label,
        gemeente=gem_cell,
        land=land_cell,
        rijen=tuple(rows),
        eenheden=tuple(units),
        wijken_niet_gepubliceerd=withheld,
        zin=zin,
        interval=interval,
    )
    titel = f"{capitalise(spec.naam)} per wijk in {gemeente}" + (
        f" — {label.lower()}" if breakdown != TOTAAL else ""
    )
    grafiek = charts.wijk_chart(
        reeks.chart_id,
        titel,
        _chart_desc(spec.naam, gemeente, zin, rows),
        _chart_bars(rows),
        charts.Reference(
            f"Gemeente {gemeente}",
            _published(gem_cell),
            gem_cell.ci_low if gem_cell else None,
            gem_cell.ci_high if gem_cell else None,
        ),
        charts.Reference("Nederland", _published(land_cell)),
    )
    return replace(reeks, grafiek=grafiek)


def _regio_of(
    index: ReleaseIndex, indicator: str, breakdown: str, gemeentecode: str
) -> tuple[str | None, str]:
    """The region (pool) code and name that publishes this gemeente's figure."""
    code = index.regio_of(indicator, breakdown, gemeentecode)
    if code is None:
        return None, ""
    regio_cell = index.cell(indicator, breakdown, GeoLevel.REGIO, code)
    pool = index.pools.get(code)
    naam = regio_cell.geo_name if regio_cell else (pool.name if pool else code)
    return code, naam


def build_regio_sectie(
    index: ReleaseIndex, spec: IndicatorSpec, gemeentecode: str, gemeente: str, t: int
) -> Sectie:
    ind = spec.id.value
    reeksen: list[RegioReeks] = []
    regio_codes: list[str] = []
    for breakdown in _ordered_breakdowns(spec):
        code, naam = _regio_of(index, ind, breakdown, gemeentecode)
        regio_cell = index.cell(ind, breakdown, GeoLevel.REGIO, code) if code else None
        land_cell = index.cell(ind, breakdown, GeoLevel.LAND, LAND_CODE)
        if regio_cell is None and land_cell is None:
            continue
        if code:
            regio_codes.append(code)
        naam = naam or "onbekend"
        reeksen.append(
            RegioReeks(
                breakdown=breakdown,
                label=breakdown_label(spec, breakdown),
                regio_code=code,
                regio_naam=naam,
                regio=regio_cell,
                land=land_cell,
                zin=regio_sentence(naam, _published(regio_cell), _published(land_cell)),
                interval=_interval_line([(f"regio {naam}", regio_cell), ("Nederland", land_cell)]),
            )
        )
    sectie = Sectie(spec=spec, titel=capitalise(spec.naam), cohort=cohort_text(spec.id, t))
    if not reeksen:
        return replace(sectie, ontbreekt=missing_sentence(spec.naam))
    # Members of the region pool (names where the release knows them) tell the reader which
    # gemeenten the region figure covers.
    leden: tuple[str, ...] = ()
    pool = index.pools.get(regio_codes[0]) if regio_codes else None
    if pool is not None:
        leden = tuple(sorted(index.gemeente_naam.get(m, m) for m in pool.members))
    regio_naam = reeksen[0].regio_naam
    grafiek = charts.regio_chart(
        f"grafiek-{ind}",
        f"{capitalise(spec.naam)} in de regio {regio_naam} en Nederland, naar opleiding ouders",
        f"Staafdiagram met per opleidingsniveau van de ouders het percentage 14-jarigen op havo "
        f"of vwo in de regio {regio_naam} en in Nederland. "
        + " ".join(f"{r.label}: {r.zin}" for r in reeksen),
        [
            (
                r.label,
                charts.Reference(
                    f"Regio {r.regio_naam}",
                    _published(r.regio),
                    r.regio.ci_low if r.regio else None,
                    r.regio.ci_high if r.regio else None,
                    _withheld_text(r.regio),
                ),
                charts.Reference(
                    "Nederland",
                    _published(r.land),
                    r.land.ci_low if r.land else None,
                    r.land.ci_high if r.land else None,
                    _withheld_text(r.land),
                ),
            )
            for r in reeksen
        ],
    )
    return replace(sectie, regio_reeksen=tuple(reeksen), regio_leden=leden, grafiek=grafiek)


def build_secties(
    index: ReleaseIndex,
    gemeentecode: str,
    gemeente: str,
    indicators: Sequence[IndicatorSpec],
    *,
    kaarten: bool = True,
    history: Sequence[Jaar] = (),
) -> list[Sectie]:
    t = index.release.schooljaar
    secties: list[Sectie] = []
    for spec in indicators:
        if GeoLevel.WIJK not in spec.levels:
            sectie = build_regio_sectie(index, spec, gemeentecode, gemeente, t)
            lijnen = [(r.breakdown, r.label, f"regio {r.regio_naam}") for r in sectie.regio_reeksen]
            trend, zinnen = build_trend(spec, lijnen, GeoLevel.REGIO, history)
            secties.append(replace(sectie, trend=trend, trend_zinnen=zinnen))
            continue
        reeksen = [
            build_reeks(index, spec, b, gemeentecode, gemeente) for b in _ordered_breakdowns(spec)
        ]
        if all(r.ontbreekt for r in reeksen):
            reeksen = []
        kaart, noot = (
            build_kaart(spec, reeksen, gemeentecode, gemeente) if kaarten else (Markup(), "")
        )
        trend, zinnen = build_trend(
            spec,
            [(r.breakdown, r.label, f"gemeente {gemeente}") for r in reeksen if not r.ontbreekt],
            GeoLevel.GEMEENTE,
            history,
        )
        secties.append(
            Sectie(
                spec=spec,
                titel=capitalise(spec.naam),
                cohort=cohort_text(spec.id, t),
                reeksen=tuple(reeksen),
                ontbreekt="" if reeksen else missing_sentence(spec.naam),
                kaart=kaart,
                kaart_noot=noot,
                trend=trend,
                trend_zinnen=zinnen,
            )
        )
    return secties


def build_trend(
    spec: IndicatorSpec,
    lijnen: Sequence[tuple[str, str, str]],
    level: GeoLevel,
    history: Sequence[Jaar],
    chart_id: str | None = None,
) -> tuple[Markup, tuple[tuple[str, str], ...]]:
    """The trend figure and sentences of one indicator: per (breakdown, label, gebied) a panel
    with the gemeente (or region) against the nation. Nothing with fewer than two school years."""
    if len({j.schooljaar for j in history}) < 2 or not lijnen:
        return Markup(), ()
    ind = spec.id.value
    panels: list[charts.TrendPaneel] = []
    zinnen: list[tuple[str, str]] = []
    for breakdown, label, gebied in lijnen:
        points = punten(history, ind, breakdown, level)
        jaren = tuple(schooljaar_label(p.schooljaar) for p in points)
        eigen = tuple(p.eigen for p in points)
        land = tuple(p.land for p in points)
        panels.append(
            charts.TrendPaneel(
                titel=(BREAKDOWN_SHORT.get(breakdown) or label) if len(lijnen) > 1 else "",
                jaren=jaren,
                lijnen=(
                    charts.TrendLijn(capitalise(gebied), eigen, charts.GEMEENTE),
                    charts.TrendLijn("Nederland", land, charts.LAND, dashed=True),
                ),
            )
        )
        zinnen.append(
            (label if len(lijnen) > 1 else "", trend_sentence(gebied, jaren, eigen, land))
        )
    gebied = lijnen[0][2]
    first, last = panels[0].jaren[0], panels[0].jaren[-1]
    desc = (
        f"Lijndiagram van {spec.naam} in de {gebied} en in Nederland per schooljaar, van {first} "
        f"tot en met {last}. Een schooljaar zonder gepubliceerd cijfer is een onderbreking van "
        "de lijn. " + " ".join(z for _, z in zinnen)
    )
    chart = charts.trend_chart(
        chart_id or f"trend-{ind}",
        f"{capitalise(spec.naam)} per schooljaar, {first} tot en met {last}",
        desc,
        panels,
    )
    return chart, tuple(zinnen)


def build_kaart(
    spec: IndicatorSpec,
    reeksen: Sequence[Reeks],
    gemeentecode: str,
    gemeente: str,
    *,
    interactive: bool = False,
    map_id: str | None = None,
    width: float = 720.0,
) -> tuple[Markup, str]:
    """One map figure for an indicator: a map per breakdown, one shared set of classes."""
    shown = [r for r in reeksen if not r.ontbreekt]
    if not shown:
        return Markup(), ""
    panels: list[maps.Paneel] = []
    off_map = 0
    for reeks in shown:
        areas, missing = maps.wijk_gebieden(gemeentecode, reeks.rijen)
        off_map = max(off_map, missing)
        panels.append(
            maps.Paneel(
                titel=capitalise(BREAKDOWN_SHORT.get(reeks.breakdown) or reeks.label)
                if len(shown) > 1
                else "",
                gebieden=tuple(areas),
                referenties=(
                    charts.Reference(f"Gemeente {gemeente}", _published(reeks.gemeente)),
                    charts.Reference("Nederland", _published(reeks.land)),
                ),
            )
        )
    classes = maps.klassen([a.percentage for p in panels for a in p.gebieden])
    naam = spec.naam
    map_id = map_id or f"kaart-{spec.id.value}"
    if len(shown) == 1 and shown[0].breakdown != TOTAAL:
        naam = f"{naam} ({shown[0].label.lower()})"
    kaart = maps.wijk_map(
        map_id,
        f"Kaart: {naam} per wijk in {gemeente}",
        maps.map_desc(naam, gemeente, panels, classes),
        gemeentecode,
        panels,
        classes,
        interactive=interactive,
        width=width,
        legend_below=interactive,
    )
    noot = (
        f"{off_map} {'wijk' if off_map == 1 else 'wijken'} uit deze release "
        f"{'staat' if off_map == 1 else 'staan'} niet op de kaart van 2025 (andere wijkindeling); "
        "de tabel geeft hun cijfers."
        if off_map and kaart
        else ""
    )
    return kaart, noot


# --- templates -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: pct(v) if v is not None else "–"
    env.filters["aantal"] = lambda v: format_count(v) if v is not None else "–"
    env.filters["hoofdletter"] = capitalise
    # why a gemeente, region or national figure is not shown: its status says which reason
    env.filters["reden"] = lambda cel: STATUS_TEXT.get(cel.status.value, TE_WEINIG)
    env.globals["schooljaar_label"] = schooljaar_label
    return env


@lru_cache(maxsize=4)
def static_text(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline ``<style>`` text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def factsheet_csp() -> str:
    """The Content-Security-Policy under which a served factsheet renders fully.

    The factsheet is one self-contained document (it is also saved to disk and mailed), so its
    CSS is inline; this policy allows that one stylesheet by hash and nothing else.
    """
    return (
        f"default-src 'none'; style-src {csp_hash(static_text('factsheet.css'))}; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def trend_releases(history: Sequence[Jaar]) -> list[tuple[str, str]]:
    """(school year, release id) of every release a trend read, oldest first."""
    if len({j.schooljaar for j in history}) < 2:
        return []
    return [(schooljaar_label(j.schooljaar), j.release_id) for j in history]


def release_context(release: Release) -> dict[str, Any]:
    dp = release.dp
    return {
        "release": release,
        "schooljaar": schooljaar_label(release.schooljaar),
        "aangemaakt": release.created_at[:10],
        "policy_hash_kort": release.policy_hash[:12],
        "basis": "de exacte aantallen"
        if release.percentage_basis == "exact"
        else "de afgeronde aantallen",
        "dp": dp,
        "epsilon": f"{dp.epsilon:g}".replace(".", ",") if dp else "",
        "disclaimer": DISCLAIMER,
        "dp_note": DP_NOTE,
        "geo_attribution": GEO_ATTRIBUTION,
    }


def indexed(release: Release, index: ReleaseIndex | None) -> ReleaseIndex:
    """``index`` if given (the API's, built once per release), else a new one."""
    if index is None:
        return ReleaseIndex(release)
    if index.release is not release:
        raise InternalError("FACTSHEET_INDEX", "the index given is of another release")
    return index


def render_factsheet_html(
    release: Release,
    gemeentecode: str,
    history: Sequence[Jaar] = (),
    index: ReleaseIndex | None = None,
) -> str:
    index = indexed(release, index)
    gemeente = index.require_gemeente(gemeentecode)
    secties = build_secties(
        index, gemeentecode, gemeente, list(INDICATORS.values()), history=history
    )
    template = environment().get_template("factsheet.html")
    return template.render(
        **release_context(release),
        gemeente=gemeente,
        gemeentecode=gemeentecode,
        secties=secties,
        intervals=index.has_intervals,
        css=Markup(static_text("factsheet.css")),  # noqa: S704 - our own file, not input
        TOTAAL=TOTAAL,
        kort=BREAKDOWN_SHORT,
        trend_releases=trend_releases(history),
    )


def html_to_pdf(html: str) -> bytes:
    """The same HTML as PDF (tagged, A4). Nothing is fetched: the document is self-contained."""
    # Imported here: WeasyPrint loads Pango on import, which the HTML path does not need.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only data: URLs may load; a name in the release can never make the renderer fetch.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = HTML(string=html, url_fetcher=fetcher, base_url=None)
    pdf = document.write_pdf(pdf_tags=True)
    if not pdf:  # pragma: no cover - write_pdf without a target always returns bytes
        raise InternalError("FACTSHEET_PDF", "WeasyPrint returned no PDF")
    return bytes(pdf)


# --- comparison page -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kolom:
    """One indicator x breakdown column of the comparison table."""

    key: str
    kop: str
    subkop: str
    reeks: Reeks
    top: float
    kaart: Markup = field(default_factory=Markup)
    kaart_noot: str = ""

    @cached_property
    def per_wijk(self) -> dict[str, WijkRij]:
        return {r.code: r for r in self.reeks.rijen}


def selected_indicators(indicators: list[str] | None) -> list[IndicatorSpec]:
    if indicators is None or not indicators:
        return list(INDICATORS.values())
    known = {i.value: spec for i, spec in INDICATORS.items()}
    unknown = [i for i in indicators if i not in known]
    if unknown:
        raise UserError(
            "INDICATOR_NOT_FOUND",
            f"{len(unknown)} of the requested indicators are not known",
            hint=f"use one or more of {', '.join(known)}",
        )
    # Keep the programme's order, whatever order the caller used.
    wanted = set(indicators)
    return [spec for i, spec in known.items() if i in wanted]


def render_comparison_html(
    release: Release,
    gemeentecode: str,
    indicators: list[str] | None,
    history: Sequence[Jaar] = (),
    index: ReleaseIndex | None = None,
) -> str:
    specs = selected_indicators(indicators)
    index = indexed(release, index)
    gemeente = index.require_gemeente(gemeentecode)
    secties = build_secties(index, gemeentecode, gemeente, specs, kaarten=False, history=history)
    kolommen: list[Kolom] = []
    for sectie in secties:
        for reeks in sectie.reeksen:
            if reeks.ontbreekt:
                continue
            values = [r.percentage for r in reeks.rijen] + [
                _published(reeks.gemeente),
                _published(reeks.land),
            ]
            top, _ = charts.axis_max(values)
            key = f"{reeks.spec.id.value}-{reeks.breakdown}"
            kaart, noot = build_kaart(
                reeks.spec,
                [reeks],
                gemeentecode,
                gemeente,
                interactive=True,
                map_id=f"kaart-{key}",
                width=520.0,
            )
            kolommen.append(
                Kolom(
                    key=key,
                    kop=capitalise(reeks.spec.naam),
                    subkop=BREAKDOWN_SHORT.get(reeks.breakdown, reeks.breakdown),
                    reeks=reeks,
                    top=top,
                    kaart=kaart,
                    kaart_noot=noot,
                )
            )
    wijken: dict[str, str] = {}
    for kolom in kolommen:
        for rij in kolom.reeks.rijen:
            wijken.setdefault(rij.code, rij.naam)
    regio_secties = [s for s in secties if s.regio_reeksen or (s.ontbreekt and not s.reeksen)]
    template = environment().get_template("vergelijk.html")
    return template.render(
        **release_context(release),
        gemeente=gemeente,
        gemeentecode=gemeentecode,
        kolommen=kolommen,
        wijken=sorted(wijken.items()),
        regio_secties=[s for s in regio_secties if s.regio_reeksen],
        ontbrekend=[s for s in secties if s.ontbreekt],
        published=_published,
        mini_bar=charts.mini_bar,
        hatch_defs=charts.hatch_defs(),
        pooled=CellStatus.POOLED.value,
        intervals=index.has_intervals,
        trend_secties=[s for s in secties if s.trend],
        trend_releases=trend_releases(history),
    )
