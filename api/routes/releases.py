"""Releases, their cells and their pooling map: the published figures, scoped per token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from kansenkluis.domain import CellStatus, GeoLevel, IndicatorId

from ..auth import REGIOCOORDINATOR
from ..deps import AnyRole, Ctx
from ..schemas import (
    BREAKDOWN_PATTERN,
    GEMEENTE_PATTERN,
    ID_PATTERN,
    CellOut,
    CellPage,
    DPOut,
    PoolingGroupOut,
    PoolingOut,
    ReleaseOut,
    ReleaseSummaryOut,
)

router = APIRouter(tags=["releases"])

# The reading routes are async: with the release cached they are a few dictionary look-ups, and
# running them on the event loop saves two hops to the thread pool per request (the endpoint and
# its response serialisation). A release not yet cached is loaded in a worker thread.

ReleaseId = Annotated[str, Path(pattern=ID_PATTERN, description="a release id")]
MAX_PAGE = 1000


@router.get("/releases", response_model=list[ReleaseSummaryOut])
async def list_releases(
    caller: AnyRole,
    ctx: Ctx,
    schooljaar: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[ReleaseSummaryOut]:
    """Every release in the store, oldest first (optionally of one reference year)."""
    rows = ctx.releases.store().list()
    return [
        ReleaseSummaryOut(**r) for r in rows if schooljaar is None or r["schooljaar"] == schooljaar
    ]


@router.get("/releases/{release_id}", response_model=ReleaseOut)
async def show_release(caller: AnyRole, ctx: Ctx, release_id: ReleaseId) -> ReleaseOut:
    """The metadata of a release (release.json), without its cells or log."""
    release = (await ctx.releases.view_async(release_id)).release
    return ReleaseOut(
        id=release.id,
        schooljaar=release.schooljaar,
        created_at=release.created_at,
        data_fingerprint=release.data_fingerprint,
        geography_fingerprint=release.geography_fingerprint,
        policy=release.policy,
        policy_hash=release.policy_hash,
        code_version=release.code_version,
        dp=None if release.dp is None else DPOut(**release.dp.model_dump()),
        percentage_basis=release.percentage_basis,
        cell_count=len(release.cells),
        pooling_count=len(release.pooling),
        # Exact run counts are for the people who check the run, not for readers of figures.
        run_report=None if caller.role == REGIOCOORDINATOR else dict(release.run_report),
    )


@router.get("/releases/{release_id}/cells", response_model=CellPage)
async def list_cells(
    caller: AnyRole,
    ctx: Ctx,
    release_id: ReleaseId,
    indicator: IndicatorId | None = None,
    breakdown: Annotated[str | None, Query(pattern=BREAKDOWN_PATTERN)] = None,
    schooljaar: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    geo_level: GeoLevel | None = None,
    gemeente: Annotated[
        str | None,
        Query(
            pattern=GEMEENTE_PATTERN,
            description="only this gemeente's own cell and those of its wijken and wijkgroepen",
        ),
    ] = None,
    status: CellStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CellPage:
    """Cells of a release that this token may see, filtered, in release order, paginated.

    A regiocoordinator sees the cells of their gemeenten and of the wijken and wijkgroepen in
    them, the regions containing them, and the nation. Withheld and pooled cells come with
    their status and no numbers.
    """
    view = await ctx.releases.view_async(release_id)
    cells = view.query(
        caller.gemeenten,
        indicator=None if indicator is None else indicator.value,
        breakdown=breakdown,
        schooljaar=schooljaar,
        geo_level=None if geo_level is None else geo_level.value,
        status=None if status is None else status.value,
        gemeente=gemeente,
    )
    page = cells[offset : offset + limit]
    return CellPage(
        release_id=release_id,
        items=[CellOut.of(c) for c in page],
        total=len(cells),
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + limit < len(cells) else None,
    )


@router.get("/releases/{release_id}/pooling", response_model=PoolingOut)
async def pooling_map(caller: AnyRole, ctx: Ctx, release_id: ReleaseId) -> PoolingOut:
    """The wijkgroepen and region pools of a release (for a regiocoordinator: theirs)."""
    view = await ctx.releases.view_async(release_id)
    groups = []
    for g in view.release.pooling:
        if caller.gemeenten is not None:
            if g.level == GeoLevel.WIJKGROEP:
                if g.gemeentecode not in caller.gemeenten:
                    continue
            elif not any(g.code in view.regios_of.get(m, ()) for m in caller.gemeenten):
                continue
        groups.append(
            PoolingGroupOut(
                code=g.code,
                name=g.name,
                level=g.level,
                members=list(g.members),
                gemeentecode=g.gemeentecode,
            )
        )
    return PoolingOut(release_id=release_id, groups=groups)
