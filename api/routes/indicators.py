"""The indicator catalogue: what each of the eight indicators means and where it is published."""

from __future__ import annotations

from fastapi import APIRouter

from indicators.specs import INDICATORS, POPULATIONS

from ..deps import AnyRole
from ..schemas import IndicatorOut

router = APIRouter(tags=["indicators"])


@router.get("/indicators", response_model=list[IndicatorOut])
async def list_indicators(caller: AnyRole) -> list[IndicatorOut]:
    """The eight indicators with their breakdowns and the geographic levels they appear at."""
    out = []
    for spec in INDICATORS.values():
        pop = POPULATIONS[spec.population]
        out.append(
            IndicatorOut(
                id=spec.id,
                naam=spec.naam,
                uitleg=spec.uitleg,
                population=pop.id.value,
                population_description=pop.description,
                reference_year=pop.reference_year,
                breakdowns=list(spec.breakdowns),
                levels=list(spec.levels),
            )
        )
    return out
