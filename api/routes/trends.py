"""A gemeente's figures over the school years: the series behind the factsheet's trends.

One call gives every indicator and breakdown of one gemeente for the last (up to) five school
years: per year the release it comes from, the gemeente's own cell (for opleidingsmobiliteit the
region cell it is published in) and the national cell. The scope rules are those of the cells
route: a regiocoordinator sees only the gemeenten on the token. Only released cells are read; a
withheld figure comes back with its status and without numbers, never as zero.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from indicators.specs import INDICATORS
from kansenkluis.domain import GeoLevel, IndicatorId

from ..deps import AnyRole, Ctx
from ..errors import not_found
from ..schemas import GEMEENTE_PATTERN, ID_PATTERN, CellOut, Strict

router = APIRouter(tags=["trends"])

Gemeente = Annotated[str, Path(pattern=GEMEENTE_PATTERN, description="CBS gemeentecode")]


class TrendReleaseOut(Strict):
    schooljaar: int = Field(description="2022 means school year 2022/23")
    release_id: str


class TrendPointOut(Strict):
    schooljaar: int
    release_id: str | None = Field(description="null for a school year without a release")
    cell: CellOut | None = Field(
        description="the gemeente's cell (for opleidingsmobiliteit: its region's); null if the "
        "release has none"
    )
    land: CellOut | None


class TrendSeriesOut(Strict):
    indicator: IndicatorId
    breakdown: str
    geo_level: GeoLevel = Field(description="gemeente, or regio for opleidingsmobiliteit")
    points: list[TrendPointOut]


class TrendOut(Strict):
    gemeentecode: str
    release_id: str = Field(description="the release of the last school year")
    releases: list[TrendReleaseOut] = Field(description="the release read per school year")
    series: list[TrendSeriesOut]


@router.get("/gemeenten/{gemeentecode}/trend", response_model=TrendOut)
def trend(
    caller: AnyRole,
    ctx: Ctx,
    gemeentecode: Gemeente,
    release: Annotated[
        str, Query(pattern=ID_PATTERN, description="the release of the last school year")
    ],
    indicator: Annotated[list[IndicatorId] | None, Query(max_length=8)] = None,
) -> TrendOut:
    """A gemeente's figures and the nation's over the last (up to) five school years.

    For each earlier school year the newest release of that year is read.
    """
    view = ctx.releases.view(release)
    if not view.sees(caller.gemeenten, gemeentecode):
        raise not_found("GEMEENTE_NOT_FOUND")
    from ..factsheet.trends import load_history

    history = load_history(ctx.releases.store(), view.release, gemeentecode)
    by_year = {j.schooljaar: j for j in history}
    years = range(min(by_year), max(by_year) + 1)
    wanted = set(indicator or INDICATORS)
    series: list[TrendSeriesOut] = []
    for ind, spec in INDICATORS.items():
        if ind not in wanted:
            continue
        level = GeoLevel.GEMEENTE if GeoLevel.WIJK in spec.levels else GeoLevel.REGIO
        for breakdown in spec.breakdowns:
            points = []
            for year in years:
                jaar = by_year.get(year)
                own = jaar.cell(ind.value, breakdown, level) if jaar else None
                land = jaar.cell(ind.value, breakdown, GeoLevel.LAND) if jaar else None
                points.append(
                    TrendPointOut(
                        schooljaar=year,
                        release_id=jaar.release_id if jaar else None,
                        cell=CellOut.of(own) if own else None,
                        land=CellOut.of(land) if land else None,
                    )
                )
            series.append(
                TrendSeriesOut(indicator=ind, breakdown=breakdown, geo_level=level, points=points)
            )
    return TrendOut(
        gemeentecode=gemeentecode,
        release_id=view.release.id,
        releases=[
            TrendReleaseOut(schooljaar=j.schooljaar, release_id=j.release_id) for j in history
        ],
        series=series,
    )
