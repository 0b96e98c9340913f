"""Dutch factsheets and the comparison page, rendered by ``api.factsheet`` from a Release.

``api.factsheet`` is imported inside the route functions: the renderer (and WeasyPrint behind
its PDFs) loads only when someone asks for a factsheet, not at start-up of every API process.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response

from kansenkluis.domain import IndicatorId

from ..auth import public
from ..deps import AnyRole, Ctx
from ..errors import ApiError, not_found
from ..schemas import GEMEENTE_PATTERN, ID_PATTERN

router = APIRouter(tags=["factsheets"])

STATIC_NAME = r"^[a-z_]{1,40}\.(css|js)$"
STATIC_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}

Gemeente = Annotated[str, Path(pattern=GEMEENTE_PATTERN, description="CBS gemeentecode")]
ReleaseId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get(
    "/releases/{release_id}/factsheets/{gemeentecode}",
    response_class=Response,
    responses={
        200: {
            "description": "the factsheet",
            "content": {"text/html": {}, "application/pdf": {}},
        }
    },
)
def factsheet(
    caller: AnyRole,
    ctx: Ctx,
    release_id: ReleaseId,
    gemeentecode: Gemeente,
    fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
) -> Response:
    """The Dutch factsheet of one gemeente, as HTML or PDF."""
    view = ctx.releases.view(release_id)
    if not view.sees(caller.gemeenten, gemeentecode):
        raise not_found("GEMEENTE_NOT_FOUND")
    try:
        from ..factsheet import factsheet_csp, load_history, render_factsheet
    except ImportError as exc:
        raise _unavailable() from exc
    history = load_history(ctx.releases.store(), view.release, gemeentecode)
    body = render_factsheet(view.release, gemeentecode, fmt, history, index=view)
    if fmt == "pdf":
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="factsheet-{gemeentecode}.pdf"'},
        )
    # The factsheet is one self-contained document; its CSP allows its inline stylesheet only.
    return HTMLResponse(body, headers={"Content-Security-Policy": factsheet_csp()})


@router.get(
    "/gemeenten/{gemeentecode}/vergelijk",
    response_class=Response,
    responses={200: {"description": "the comparison page", "content": {"text/html": {}}}},
)
def vergelijk(
    caller: AnyRole,
    ctx: Ctx,
    gemeentecode: Gemeente,
    release: Annotated[str, Query(pattern=ID_PATTERN, description="a release id")],
    indicator: Annotated[list[IndicatorId] | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    """A page comparing the gemeente's wijken with each other and with the nation."""
    view = ctx.releases.view(release)
    if not view.sees(caller.gemeenten, gemeentecode):
        raise not_found("GEMEENTE_NOT_FOUND")
    try:
        from ..factsheet import load_history, render_comparison
    except ImportError as exc:
        raise _unavailable() from exc

    indicators = None if not indicator else [i.value for i in indicator]
    history = load_history(ctx.releases.store(), view.release, gemeentecode)
    html = render_comparison(view.release, gemeentecode, indicators, history, index=view)
    # Under the default CSP (default-src 'self'): the page loads its CSS and JS from /static.
    return HTMLResponse(html)


@router.get("/static/{name}", include_in_schema=False, dependencies=[Depends(public)])
def static_asset(name: Annotated[str, Path(pattern=STATIC_NAME)]) -> Response:
    """The comparison page's stylesheets and script: shipped code, no data, so open.

    A browser fetches them by <link>/<script>, which cannot carry a bearer token.
    """
    try:
        from ..factsheet import STATIC_DIR
    except ImportError as exc:
        raise _unavailable() from exc
    allowed = {p.name: p for p in STATIC_DIR.iterdir() if re.fullmatch(STATIC_NAME, p.name)}
    if name not in allowed:
        raise not_found("NOT_FOUND")
    return Response(
        allowed[name].read_bytes(),
        media_type=STATIC_TYPES[name.rsplit(".", 1)[1]],
        headers={"Cache-Control": "public, max-age=3600"},
    )


def _unavailable() -> ApiError:
    return ApiError(
        501,
        "FACTSHEETS_UNAVAILABLE",
        "this installation has no factsheet renderer",
        hint="install Kansenkluis with its api.factsheet package",
    )
