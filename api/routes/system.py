"""Health, the caller's own token, and the API docs page."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Depends
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from kansenkluis import __version__

from ..auth import public
from ..deps import AnyRole
from ..schemas import HealthOut, MeOut

router = APIRouter()

_SWAGGER_CDN = "https://cdn.jsdelivr.net"


@router.get("/health", response_model=HealthOut, dependencies=[Depends(public)], tags=["system"])
async def health() -> HealthOut:
    """Liveness: answers without a token and touches no store."""
    return HealthOut(status="ok", version=__version__)


@router.get("/me", response_model=MeOut, tags=["system"])
async def me(caller: AnyRole) -> MeOut:
    """The role and gemeenten of the calling token."""
    return MeOut(
        token_id=caller.token_id,
        role=caller.role,
        gemeenten=None if caller.gemeenten is None else sorted(caller.gemeenten),
        name=caller.name,
    )


def _docs_page() -> tuple[bytes, str]:
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="Kansenkluis API")
    body = bytes(page.body)
    # Allow exactly the page's own inline script (by hash), not inline scripts in general.
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
        for s in re.findall(rb"<script>(.*?)</script>", body, flags=re.DOTALL)
    ]
    csp = (
        f"default-src 'self'; script-src 'self' {_SWAGGER_CDN} {' '.join(hashes)}; "
        f"style-src 'self' {_SWAGGER_CDN} 'unsafe-inline'; img-src 'self' data: "
        "https://fastapi.tiangolo.com; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return body, csp


_DOCS_BODY, _DOCS_CSP = _docs_page()


@router.get(
    "/docs", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(public)]
)
async def docs() -> HTMLResponse:
    """Swagger UI for the OpenAPI document; open, like the document itself."""
    return HTMLResponse(_DOCS_BODY, headers={"Content-Security-Policy": _DOCS_CSP})
