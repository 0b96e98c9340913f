"""Bearer tokens, roles, and the ``require`` dependency that every route declares.

A token is 32 random bytes (``secrets.token_urlsafe``) with a ``kk_`` prefix so that secret
scanners can spot a leaked one. The store keeps only its SHA-256: a slow password KDF (argon2,
scrypt) protects *low-entropy* secrets against guessing, but nobody can enumerate 2^256 tokens,
so a plain hash is as strong and keeps authentication at one indexed lookup per request.
Looking the hash up by index is not a timing oracle either: learning a prefix of a hash tells an
attacker nothing about a token that hashes to it.

Roles:
- ``regiocoordinator``: reads the cells of the gemeenten on the token (their wijken and
  wijkgroepen, the regions containing them, and the nation); files aggregate requests for them;
- ``outputchecker``: reads everything published; approves or rejects requests;
- ``auditor``: reads everything published; downloads exports and verifies them;
- ``operator``: reads everything published and the request queue; lists and revokes tokens.

Every token names the *person* who holds it (``--person``, e.g. an e-mail address or staff
number: one identity per person, the same on all their tokens). It is stored normalised (Unicode
NFKC, case-folded, inner whitespace collapsed), so "Coord A" and "coord  a" are one person; an
output checker can never decide on a request filed by the same person, whichever token they use.
A token expires (default after 90 days); an expired token answers like an unknown one (401).
Tokens made before persons and expiry existed keep reading until 90 days after the upgrade,
but may not file or decide requests until they are replaced by a token with a person.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from disclosure.store import connect, store_errors
from kansenkluis.errors import UserError
from kansenkluis.geocodes import is_gemeentecode

from .errors import ApiError

ROLES = ("regiocoordinator", "outputchecker", "auditor", "operator")
REGIOCOORDINATOR, OUTPUTCHECKER, AUDITOR, OPERATOR = ROLES
TOKEN_PREFIX = "kk_"  # noqa: S105 - a public marker, not a secret
MAX_NAME = 100
MIN_PERSON, MAX_PERSON = 3, 100
#: how long a new token is valid unless ``--expires-in-days`` says otherwise
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    gemeenten_json TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    person TEXT,
    expires_at TEXT
);
"""
#: columns added after the first release of the schema (added to older stores on open)
_ADDED_COLUMNS = ("person", "expires_at")


@dataclass(frozen=True)
class Caller:
    """Who is calling: what a route needs to know about the token, never the token itself."""

    token_id: str
    role: str
    #: the gemeenten a regiocoordinator may see; None means every gemeente (other roles)
    gemeenten: frozenset[str] | None
    name: str
    #: the normalised person identity; None only for a token made before persons existed
    person: str | None = None

    def sees_gemeente(self, gemeentecode: str) -> bool:
        return self.gemeenten is None or gemeentecode in self.gemeenten


# --- token store ----------------------------------------------------------------------------


def normalise_person(person: str) -> str:
    """The stored form of a person identity: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", person).casefold().split())


def create_token(
    db_path: Path,
    role: str,
    gemeenten: Sequence[str] = (),
    name: str = "",
    *,
    person: str,
    expires_in_days: int = DEFAULT_TOKEN_DAYS,
) -> str:
    """Create a token and return it; this is the only time it exists outside the caller's hands.

    A regiocoordinator token needs at least one gemeente; other roles see every gemeente and
    take none. ``person`` (required) is who holds it; the token expires after
    ``expires_in_days``.
    """
    who = normalise_person(person or "")
    if not MIN_PERSON <= len(who) <= MAX_PERSON or any(not ch.isprintable() for ch in person):
        raise UserError(
            "TOKEN_PERSON_REQUIRED",
            f"a token needs the person who holds it: {MIN_PERSON} to {MAX_PERSON} printable "
            "characters",
            hint="add --person with one identity per person, the same on all their tokens "
            "(e.g. their e-mail address or staff number)",
        )
    if isinstance(expires_in_days, bool) or not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise UserError(
            "TOKEN_BAD_EXPIRY",
            f"a token is valid for 1 to {MAX_TOKEN_DAYS} days",
            hint=f"use --expires-in-days between 1 and {MAX_TOKEN_DAYS} "
            f"(default {DEFAULT_TOKEN_DAYS})",
        )
    if role not in ROLES:
        raise UserError(
            "TOKEN_UNKNOWN_ROLE",
            "the role is not one of the API's roles",
            hint="use one of " + ", ".join(ROLES),
        )
    codes = sorted(set(gemeenten))
    bad = [g for g in codes if not is_gemeentecode(g)]
    if bad:
        raise UserError(
            "TOKEN_BAD_GEMEENTE",
            "a --gemeente is not a CBS gemeentecode of the form GMgggg",
            hint="write gemeentecodes like GM0917 (Heerlen)",
        )
    if role == REGIOCOORDINATOR and not codes:
        raise UserError(
            "TOKEN_SCOPE_REQUIRED",
            "a regiocoordinator token must list the gemeenten it may see",
            hint="add one or more --gemeente GMgggg",
        )
    if role != REGIOCOORDINATOR and codes:
        raise UserError(
            "TOKEN_SCOPE_NOT_ALLOWED",
            f"a {role} token sees every gemeente and takes no --gemeente",
            hint="leave out --gemeente, or use --role regiocoordinator",
        )
    name = name.strip()
    if len(name) > MAX_NAME or any(not ch.isprintable() for ch in name):
        raise UserError(
            "TOKEN_BAD_NAME",
            f"a token name is at most {MAX_NAME} printable characters",
            hint="use a short label such as the holder's initials and organisation",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = "tok_" + secrets.token_hex(6)
    now = _utcnow()
    con = _connect(db_path)
    try:
        with store_errors(db_path):
            con.execute(
                "INSERT INTO api_tokens (id, token_hash, role, gemeenten_json, name, created_at, "
                "person, expires_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    token_id,
                    hash_token(token),
                    role,
                    json.dumps(codes),
                    name,
                    _iso(now),
                    who,
                    _iso(now + timedelta(days=expires_in_days)),
                ),
            )
    finally:
        con.close()
    return token


def revoke_token(db_path: Path, token_id: str) -> None:
    """Revoke a token at once; revoking twice is harmless, an unknown id is an error."""
    con = _connect(db_path)
    try:
        with store_errors(db_path):
            cur = con.execute(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                (_now(), token_id),
            )
        if cur.rowcount == 0:
            raise UserError(
                "TOKEN_NOT_FOUND", "no token with that id", hint="list the tokens first"
            )
    finally:
        con.close()


def list_tokens(db_path: Path) -> list[dict[str, Any]]:
    """Token metadata (never the hash), oldest first."""
    con = _connect(db_path)
    try:
        rows = con.execute(
            "SELECT id, role, gemeenten_json, name, person, created_at, expires_at, revoked_at "
            "FROM api_tokens ORDER BY created_at, id"
        ).fetchall()
    finally:
        con.close()
    out = []
    for r in rows:
        d = dict(r)
        d["gemeenten"] = json.loads(d.pop("gemeenten_json"))
        out.append(d)
    return out


def token_person(db_path: Path, token_id: str) -> str | None:
    """The person who holds (or held: revoked and expired tokens count too) a token."""
    con = _connect(db_path)
    try:
        row = con.execute("SELECT person FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
    finally:
        con.close()
    return None if row is None or row["person"] is None else str(row["person"])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """Authenticates tokens over one SQLite connection per thread (the event loop's, mostly)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = _connect(self.db_path)
            self._local.con = con
        return con

    def authenticate(self, token: str) -> Caller | None:
        """The caller behind a token, or None for an unknown or revoked one."""
        # A token far longer than ours is not ours; don't hash megabytes for it.
        if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
            return None
        row = (
            self._con()
            .execute(
                "SELECT id, role, gemeenten_json, name, person, expires_at FROM api_tokens "
                "WHERE token_hash = ? AND revoked_at IS NULL",
                (hash_token(token),),
            )
            .fetchone()
        )
        if row is None or row["role"] not in ROLES or _expired(row["expires_at"]):
            return None
        gemeenten = frozenset(json.loads(row["gemeenten_json"]))
        return Caller(
            token_id=row["id"],
            role=row["role"],
            gemeenten=gemeenten if row["role"] == REGIOCOORDINATOR else None,
            name=row["name"],
            person=row["person"],
        )


def _expired(expires_at: str | None) -> bool:
    # no expiry at all is not a valid state after the migration in _connect: treat it as expired
    return expires_at is None or datetime.fromisoformat(expires_at) <= _utcnow()


def _connect(db_path: Path) -> sqlite3.Connection:
    """Open the token table, adding the columns of newer versions to an older store.

    Tokens of an older store get no person (they cannot file or decide requests) and expire
    ``DEFAULT_TOKEN_DAYS`` after the upgrade, so nobody is locked out without warning.
    """
    con = connect(db_path)
    with store_errors(db_path):
        con.executescript(_SCHEMA)
        present = {r["name"] for r in con.execute("PRAGMA table_info(api_tokens)")}
        if all(c in present for c in _ADDED_COLUMNS):
            return con
        con.execute("BEGIN IMMEDIATE")
        try:
            present = {r["name"] for r in con.execute("PRAGMA table_info(api_tokens)")}
            for column in _ADDED_COLUMNS:
                if column not in present:
                    con.execute(f"ALTER TABLE api_tokens ADD COLUMN {column} TEXT")
            grace = _iso(_utcnow() + timedelta(days=DEFAULT_TOKEN_DAYS))
            con.execute("UPDATE api_tokens SET expires_at = ? WHERE expires_at IS NULL", (grace,))
        except BaseException:
            con.execute("ROLLBACK")
            con.close()
            raise
        con.execute("COMMIT")
    return con


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _now() -> str:
    return _iso(_utcnow())


# --- the dependency every route declares -----------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="a token from `kluis token create`")


def _unauthorized() -> ApiError:
    # A fresh exception each time: re-raising one shared instance would grow its traceback.
    return ApiError(
        401,
        "UNAUTHORIZED",
        "this endpoint needs a valid bearer token",
        hint="send the header 'Authorization: Bearer <token>'; an operator creates tokens with "
        "`kluis token create`",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency that admits only ``roles``; the roles stay readable on the route.

    Order matters: authenticate (401), then count the call against the token's rate limit (429),
    then check the role (403). A missing, unknown and revoked token all get the same 401.
    """
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require() needs roles from {ROLES}, got {roles}")

    # async, so it runs on the event loop: the token look-up is one indexed SQLite read, cheaper
    # than the hop to a worker thread that a sync dependency costs.
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        ctx = request.app.state.ctx
        caller = ctx.tokens.authenticate(credentials.credentials) if credentials else None
        if caller is None:
            raise _unauthorized()
        retry_after = ctx.limiter.hit(caller.token_id)
        if retry_after is not None:
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"this token made more than {ctx.limiter.limit} requests in the last minute",
                hint=f"wait {retry_after} seconds and try again",
                headers={"Retry-After": str(retry_after)},
            )
        if caller.role not in roles:
            raise ApiError(
                403,
                "ROLE_NOT_ALLOWED",
                f"the role {caller.role} may not use this endpoint",
                hint="this endpoint is for: " + ", ".join(roles),
            )
        reject_unknown_query(request)
        request.state.caller = caller
        return caller

    dependency.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
    return dependency


async def public(request: Request) -> None:
    """Marks a route as open without a token (/health, the API docs and their assets)."""
    reject_unknown_query(request)


public.is_public = True  # type: ignore[attr-defined]


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def reject_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare.

    A misspelt filter (``?gemeeente=GM0917``) would otherwise be ignored silently and answer
    an unfiltered query; no endpoint takes free-form parameters.
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = frozenset(_query_names(dependant))
        _QUERY_NAMES[id(route)] = names
    if any(key not in names for key in request.query_params):
        raise ApiError(
            422,
            "INVALID_REQUEST",
            "the query has a parameter this endpoint does not take",
            hint="parameters of this endpoint: " + (", ".join(sorted(names)) or "none"),
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for dep in dependant.dependencies:
        names |= _query_names(dep)
    return names


def route_access(dependant: Dependant) -> frozenset[str] | str | None:
    """The roles a route admits, ``"public"``, or None when it declares no rule at all."""
    for dep in dependant.dependencies:
        call = dep.call
        if getattr(call, "is_public", False):
            return "public"
        roles = getattr(call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
        nested = route_access(dep)
        if nested is not None:
            return nested
    return None
