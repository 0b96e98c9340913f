"""The programme's overview: one indicator over every gemeente, as a page or a PDF.

A national map of the gemeenten in classes and, per COROP region, the gemeenten's figures. The
scope rules are those of the cells route: a regiocoordinator's overview shows only the gemeenten
on the token (the others are blank on the map and absent from the tables).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from kansenkluis.domain import IndicatorId

from ..deps import AnyRole, Ctx
from ..errors import ApiError
from ..schemas import BREAKDOWN_PATTERN, ID_PATTERN

router = APIRouter(tags=["factsheets"])


@router.get(
    "/overzicht",
    response_class=Response,
    responses={
        200: {"description": "the overview", "content": {"text/html": {}, "application/pdf": {}}}
    },
)
def overzicht(
    caller: AnyRole,
    ctx: Ctx,
    release: Annotated[str, Query(pattern=ID_PATTERN, description="a release id")],
    indicator: IndicatorId,
    breakdown: Annotated[
        str | None,
        Query(pattern=BREAKDOWN_PATTERN, description="default: totaal, or the first breakdown"),
    ] = None,
    fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
) -> Response:
    """One indicator for every gemeente: a national map and the figures per COROP region."""
    view = ctx.releases.view(release)
    try:
        from ..factsheet import factsheet_csp, render_overview
    except ImportError as exc:
        raise ApiError(
            501,
            "FACTSHEETS_UNAVAILABLE",
            "this installation has no factsheet renderer",
            hint="install Kansenkluis with its api.factsheet package",
        ) from exc
    body = render_overview(
        view.release, indicator.value, breakdown, fmt, caller.sees_gemeente, index=view
    )
    if fmt == "pdf":
        name = f"overzicht-{indicator.value}-{release}.pdf"
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    # One self-contained document, like the factsheet: the same inline stylesheet and CSP.
    return HTMLResponse(body, headers={"Content-Security-Policy": factsheet_csp()})
