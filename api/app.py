"""The FastAPI application: the only door from the outside to Kansenkluis's published figures.

It reads the release store and writes aggregate requests; it never imports the sealed module or
an engine and never opens ``KLUIS_HOME/keys``, ``sealed`` or ``signing`` (import-linter and a
test hold it to that). Serve it with::

    uvicorn.run(create_app(settings), host=..., port=..., server_header=False)

or ``python -m api.app openapi docs/openapi.json`` to regenerate the checked-in OpenAPI document.
"""

from __future__ import annotations

import inspect
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from kansenkluis import __version__
from kansenkluis.config import Settings, get_settings

from .auth import route_access
from .deps import AppContext
from .errors import error_body, install_error_handlers, internal_error_response, log
from .routes import (
    audit,
    factsheets,
    indicators,
    overzicht,
    releases,
    requests,
    system,
    tokens,
    trends,
)
from .schemas import ErrorOut

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The largest request body accepted: a request names at most 50 gemeenten and 10 years.
MAX_BODY_BYTES = 16 * 1024

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
DEFAULT_CSP = b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

DESCRIPTION = """\
The narrow API of Kansenkluis: published cells of signed releases, factsheets, aggregate
requests and their approval, and audit exports. Every endpoint except `/health`,
`/openapi.json` and `/docs` needs `Authorization: Bearer <token>` (`kluis token create`).
Each operation lists the roles it admits under `x-roles`. Errors are JSON
`{"code", "message", "hint"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: from the environment, ``KLUIS_HOME``)."""
    settings = settings or get_settings()
    ctx = AppContext(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Load and index the newest releases before the server takes its first connection,
        # and each newly stored one soon after it appears, not on the first query.
        stop = ctx.releases.start_warming()
        try:
            yield
        finally:
            stop()

    app = FastAPI(
        title="Kansenkluis API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # served by routes.system with a strict CSP
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    for module in (
        system,
        indicators,
        releases,
        factsheets,
        overzicht,
        requests,
        audit,
        tokens,
        trends,
    ):
        _document_access(module.router.routes)
        app.include_router(module.router)
    # Added innermost first: headers wrap everything, including a 500 from the catch-all.
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(CatchAll)
    app.add_middleware(SecurityHeaders)
    _ensure_log_handler()
    return app


def route_rules(app: FastAPI) -> list[tuple[str, frozenset[str], frozenset[str] | str | None]]:
    """(path, methods, access) of every route the app serves, included routers flattened.

    ``access`` is the set of roles, ``"public"``, or None for a route that is not an APIRoute
    (FastAPI's own /openapi.json).
    """
    rules = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        access = route_access(route.dependant) if isinstance(route, APIRoute) else None
        rules.append((str(ctx.path), frozenset(ctx.methods or ()), access))
    return rules


def _document_access(routes: Sequence[BaseRoute]) -> None:
    """Put each route's roles and error answers into the OpenAPI document (idempotent).

    A route without an access rule is a programming error: refuse to build the app at all.
    """
    err = {"model": ErrorOut}
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        access = route_access(route.dependant)
        if access is None:
            raise RuntimeError(f"route {route.path} declares no roles (use require() or public)")
        doc = inspect.cleandoc(route.endpoint.__doc__ or "")
        responses: dict[int | str, dict[str, Any]] = {}
        if route.dependant.path_params or route.dependant.query_params or route.body_field:
            responses[422] = {**err, "description": "a parameter or the body is not valid"}
        if access != "public":
            route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": sorted(access)}
            route.description = doc + "\n\nRoles: " + ", ".join(sorted(access))
            responses[401] = {**err, "description": "no valid bearer token"}
            responses[403] = {**err, "description": "the token's role may not do this"}
            responses[429] = {**err, "description": "too many requests for this token"}
        if route.dependant.path_params or any(
            p.name == "release" for p in route.dependant.query_params
        ):
            responses[404] = {**err, "description": "not found, or not visible to this token"}
        if route.body_field is not None:
            responses[400] = {**err, "description": "the body is not JSON"}
            responses[413] = {**err, "description": "the body is too large"}
        if route.path.endswith("/decision"):
            responses[409] = {**err, "description": "the request is not pending"}
        if "factsheets" in route.path or route.path.endswith(("/vergelijk", "/overzicht")):
            responses[501] = {**err, "description": "this installation lacks the renderer"}
        route.responses = {**responses, **route.responses}


def _ensure_log_handler() -> None:
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


# --- ASGI middleware (plain ASGI: no per-request task or body buffering) ---------------------


class _BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` by Content-Length, and cut off longer streamed ones."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _send_json(send, 413, "REQUEST_TOO_LARGE", self.max_bytes)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        await self.app(scope, limited, send)


async def _send_json(send: Send, status: int, code: str, max_bytes: int) -> None:
    body = json.dumps(
        error_body(
            code,
            f"the request body is larger than {max_bytes} bytes",
            "send a smaller body; the API takes small JSON documents only",
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CatchAll:
    """Any exception a handler did not turn into an answer becomes a bare 500 JSON error.

    The traceback goes to the server log (for the operator), never to the client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await internal_error_response()(scope, receive, send)


class SecurityHeaders:
    """Security headers on every answer; CORS stays closed because no CORS middleware exists."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                if b"cache-control" not in present:
                    # Scoped answers differ per token: no shared or browser cache may keep them.
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# --- the checked-in OpenAPI document ---------------------------------------------------------


def openapi_json() -> str:
    """The OpenAPI document as written to docs/openapi.json (stable key order, trailing newline)."""
    app = create_app(Settings(home=Path("/nonexistent-kluis-home")))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "openapi" or len(args) > 2:
        print("usage: python -m api.app openapi [OUT_FILE]", file=sys.stderr)
        return 2
    text = openapi_json()
    if len(args) == 2:
        Path(args[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
