"""Every error the API sends is JSON ``{"code", "message", "hint"}`` with a stable code.

No stack trace, exception text of an unexpected fault, or echo of the caller's input reaches a
client. "Not found" and "not allowed for you" are the same answer: a ``*_NOT_FOUND`` error always
goes out with the canonical message of its code, whichever layer raised it and why, so a
regiocoördinator cannot tell a gemeente outside their scope from one that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from kansenkluis.errors import InternalError, KluisError, UserError

log = logging.getLogger("kansenkluis.api")


class ApiError(UserError):
    """A UserError with the HTTP status (and headers) the API answers it with."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, hint)
        self.status = status
        self.headers = dict(headers or {})


#: One message per not-found code; both "does not exist" and "not yours" send exactly this.
NOT_FOUND: Mapping[str, tuple[str, str]] = {
    "RELEASE_NOT_FOUND": (
        "no release with that id",
        "list the releases with GET /releases",
    ),
    "GEMEENTE_NOT_FOUND": (
        "no gemeente with that code in this release for this token",
        "use a gemeentecode from GET /me that the release covers",
    ),
    "REQUEST_NOT_FOUND": (
        "no aggregate request with that id for this token",
        "list the requests you can see with GET /requests",
    ),
    "TOKEN_NOT_FOUND": (
        "no token with that id",
        "list the tokens with GET /tokens",
    ),
    "NOT_FOUND": (
        "no such endpoint",
        "see /docs or /openapi.json for the endpoints",
    ),
}

#: HTTP status of error codes raised below the API (disclosure.requests, factsheets, ...).
STATUS_OF_CODE: Mapping[str, int] = {
    "REQUEST_SELF_DECISION": 403,
    "REQUEST_WRONG_STATE": 409,
    "FACTSHEETS_UNAVAILABLE": 501,
}

_HTTP_CODES: Mapping[int, tuple[str, str, str]] = {
    400: (
        "MALFORMED_BODY",
        "the request body could not be read as JSON",
        "send a UTF-8 JSON document with Content-Type: application/json",
    ),
    404: ("NOT_FOUND", *NOT_FOUND["NOT_FOUND"]),
    405: (
        "METHOD_NOT_ALLOWED",
        "this endpoint does not accept that HTTP method",
        "see the Allow header or /openapi.json",
    ),
    413: ("REQUEST_TOO_LARGE", "the request body is too large", "send a smaller body"),
}

MAX_VALIDATION_MESSAGE = 600


def not_found(code: str) -> ApiError:
    message, hint = NOT_FOUND[code]
    return ApiError(404, code, message, hint)


def error_body(code: str, message: str, hint: str = "") -> dict[str, str]:
    return {"code": code, "message": message, "hint": hint}


def json_error(
    status: int, code: str, message: str, hint: str = "", headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, hint), status_code=status, headers=headers)


def _kluis_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KluisError)
    if isinstance(exc, InternalError):
        log.error("internal error %s on %s %s", exc.code, request.method, request.url.path)
        return internal_error_response()
    if exc.code in NOT_FOUND or exc.code.endswith("_NOT_FOUND"):
        code = exc.code if exc.code in NOT_FOUND else "NOT_FOUND"
        message, hint = NOT_FOUND[code]
        return json_error(404, code, message, hint)
    if isinstance(exc, ApiError):
        return json_error(exc.status, exc.code, exc.message, exc.hint, exc.headers)
    if isinstance(exc, UserError):
        status = STATUS_OF_CODE.get(exc.code, 422)
        return json_error(status, exc.code, exc.message, exc.hint)
    return internal_error_response()


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message, hint = _HTTP_CODES.get(
        exc.status_code, ("HTTP_ERROR", "the request could not be served", "")
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; list every method.
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return json_error(exc.status_code, code, message, hint, headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    methods: set[str] = set()
    for ctx in iter_route_contexts(app.routes):
        regex = getattr(ctx, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(ctx.methods or ())
    return sorted(methods)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Name the parameter and the rule it broke; never repeat the value that was sent."""
    assert isinstance(exc, RequestValidationError)
    if _body_not_json(request, exc):
        code, message, hint = _HTTP_CODES[400]
        return json_error(400, code, message, hint)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p)[:40] for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    message = "; ".join(parts)
    if len(message) > MAX_VALIDATION_MESSAGE:
        message = message[: MAX_VALIDATION_MESSAGE - 3] + "..."
    return json_error(
        422,
        "INVALID_REQUEST",
        message or "the request is not valid",
        "see /openapi.json for the parameters and their allowed values",
    )


def _body_not_json(request: Request, exc: RequestValidationError) -> bool:
    """The body could not be read as JSON at all: not a wrong field, a wrong document (400)."""
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return True
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = content_type == "application/json" or content_type.endswith("+json")
    sent_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    return (
        sent_body
        and not is_json
        and any(tuple(err.get("loc", ()))[:1] == ("body",) for err in errors)
    )


def internal_error_response() -> JSONResponse:
    return json_error(
        500,
        "INTERNAL_ERROR",
        "the server hit an unexpected fault",
        "this is a bug in Kansenkluis; the operator finds it in the server log",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KluisError, _kluis_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
