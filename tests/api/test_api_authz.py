"""The authorisation matrix: every route x every role (+ no token, bad token, revoked token).

``EXPECTED`` is written by hand. A route the app serves that is missing here, or whose declared
roles differ, fails ``test_every_route_has_a_rule_and_it_is_the_expected_one``, so a new route
cannot slip in without someone deciding who may call it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app, route_rules
from api.auth import create_token
from disclosure import requests as queue
from kansenkluis.config import Settings
from tests.support.api_release import RELEASE_ID, Tokens

ALL = frozenset({"regiocoordinator", "outputchecker", "auditor", "operator"})
PUBLIC = "public"

EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/me"): ALL,
    ("GET", "/indicators"): ALL,
    ("GET", "/releases"): ALL,
    ("GET", "/releases/{release_id}"): ALL,
    ("GET", "/releases/{release_id}/cells"): ALL,
    ("GET", "/releases/{release_id}/pooling"): ALL,
    ("GET", "/releases/{release_id}/factsheets/{gemeentecode}"): ALL,
    ("GET", "/gemeenten/{gemeentecode}/vergelijk"): ALL,
    ("GET", "/gemeenten/{gemeentecode}/trend"): ALL,
    ("GET", "/overzicht"): ALL,
    ("POST", "/requests"): frozenset({"regiocoordinator"}),
    ("GET", "/requests"): ALL,
    ("GET", "/requests/{request_id}"): ALL,
    ("POST", "/requests/{request_id}/decision"): frozenset({"outputchecker"}),
    ("GET", "/releases/{release_id}/log"): frozenset({"auditor"}),
    ("GET", "/releases/{release_id}/export"): frozenset({"auditor"}),
    ("GET", "/releases/{release_id}/verify"): frozenset({"auditor"}),
    ("GET", "/tokens"): frozenset({"operator"}),
    ("POST", "/tokens/{token_id}/revoke"): frozenset({"operator"}),
}
#: FastAPI's own route; not an APIRoute, so it carries no dependency, and it is open by docs/api.md.
FRAMEWORK_PUBLIC = {("GET", "/openapi.json")}

#: the token that stands for each role in the matrix
ROLE_TOKEN = {
    "regiocoordinator": "heerlen",
    "outputchecker": "outputchecker",
    "auditor": "auditor",
    "operator": "operator",
}
CALLERS = [*ROLE_TOKEN, "no_token", "bad_token", "revoked_token", "malformed_header"]


def test_every_route_has_a_rule_and_it_is_the_expected_one():
    app = create_app(Settings(home=Path("/nonexistent")))
    served: dict[tuple[str, str], Any] = {}
    for path, methods, access in route_rules(app):
        for method in methods - {"HEAD"}:
            served[(method, path)] = access
    for key in FRAMEWORK_PUBLIC:
        assert served.pop(key) is None
    assert set(served) == set(EXPECTED), "a route without an entry in EXPECTED (or a stale one)"
    for key, access in served.items():
        assert access == EXPECTED[key], key


def test_openapi_lists_the_roles_of_every_operation(client):
    doc = client.get("/openapi.json").json()
    for (method, path), access in EXPECTED.items():
        op = doc["paths"].get(path, {}).get(method.lower())
        if op is None:  # /docs and /static are not API operations
            assert access == PUBLIC
            continue
        if access == PUBLIC:
            assert "x-roles" not in op and "security" not in op
        else:
            assert set(op["x-roles"]) == access
            assert op["security"] == [{"HTTPBearer": []}]


@pytest.fixture(scope="session")
def revoked_token(api_home) -> str:
    home, _ = api_home
    db = Path(home) / "releases" / "releases.sqlite"
    token = create_token(db, "operator", name="to-be-revoked", person="to-be-revoked")
    from api.auth import list_tokens, revoke_token

    token_id = next(t["id"] for t in list_tokens(db) if t["name"] == "to-be-revoked")
    revoke_token(db, token_id)
    return token


@pytest.fixture(scope="session")
def token_id_of(client, tokens: Tokens) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def lookup(name: str) -> str:
        if name not in cache:
            me = client.get("/me", headers={"Authorization": f"Bearer {tokens[name]}"})
            cache[name] = me.json()["token_id"]
        return cache[name]

    return lookup


def _concrete(method: str, path: str, db: Path, token_id_of) -> tuple[str, dict[str, Any]]:
    """A request that the route's allowed roles can complete successfully."""
    kwargs: dict[str, Any] = {}
    url = path.replace("{release_id}", RELEASE_ID).replace("{gemeentecode}", "GM0917")
    url = url.replace("{name}", "vergelijk.css")
    if "{request_id}" in url:
        # A fresh pending request of the matrix's regiocoordinator for every call.
        rid = queue.file_request(db, token_id_of("heerlen"), "opstroom", "vmbo", [2022], ["GM0917"])
        url = url.replace("{request_id}", rid)
    if "{token_id}" in url:
        create_token(db, "auditor", name="matrix-victim", person="matrix-victim")
        from api.auth import list_tokens

        victim = [t for t in list_tokens(db) if t["name"] == "matrix-victim"][-1]
        url = url.replace("{token_id}", victim["id"])
    if url.endswith(("/vergelijk", "/trend")):
        kwargs["params"] = {"release": RELEASE_ID}
    if url.endswith("/overzicht"):
        kwargs["params"] = {"release": RELEASE_ID, "indicator": "heroverweging"}
    if method == "POST" and url == "/requests":
        kwargs["json"] = {
            "indicator": "opstroom",
            "breakdown": "havo",
            "years": [2022],
            "gemeenten": ["GM0917"],
        }
    if url.endswith("/decision"):
        kwargs["json"] = {"decision": "approve", "reason": "alleen gepubliceerde aggregaten"}
    return url, kwargs


def _headers(caller: str, tokens: Tokens, revoked: str) -> dict[str, str]:
    if caller == "no_token":
        return {}
    if caller == "bad_token":
        return {"Authorization": "Bearer kk_thisisnotatokenthatexists0000000000000000000"}
    if caller == "revoked_token":
        return {"Authorization": f"Bearer {revoked}"}
    if caller == "malformed_header":
        return {"Authorization": f"Basic {tokens['operator']}"}
    return {"Authorization": f"Bearer {tokens[ROLE_TOKEN[caller]]}"}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_authz_matrix(
    method, path, caller, client: httpx.Client, tokens, revoked_token, db, token_id_of
):
    access = EXPECTED[(method, path)]
    url, kwargs = _concrete(method, path, db, token_id_of)
    r = client.request(method, url, headers=_headers(caller, tokens, revoked_token), **kwargs)
    if access == PUBLIC:
        assert r.status_code == 200, r.text
    elif caller not in ROLE_TOKEN:
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "UNAUTHORIZED"
        assert r.headers["www-authenticate"] == "Bearer"
    elif caller in access:
        assert r.status_code in (200, 201), r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "ROLE_NOT_ALLOWED"


def test_401_is_the_same_for_missing_unknown_and_revoked_tokens(client, tokens, revoked_token):
    bodies = {
        caller: client.get("/releases", headers=_headers(caller, tokens, revoked_token)).json()
        for caller in ("no_token", "bad_token", "revoked_token", "malformed_header")
    }
    assert len({str(b) for b in bodies.values()}) == 1


def test_a_revoked_token_stops_working_at_once(client, tokens, db):
    token = create_token(db, "outputchecker", name="short-lived", person="short-lived")
    headers = {"Authorization": f"Bearer {token}"}
    token_id = client.get("/me", headers=headers).json()["token_id"]
    r = client.post(f"/tokens/{token_id}/revoke", headers=_headers("operator", tokens, ""))
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert client.get("/me", headers=headers).status_code == 401


def test_token_listing_never_shows_a_token_or_its_hash(client, tokens):
    from api.auth import hash_token

    body = client.get("/tokens", headers=_headers("operator", tokens, "")).text
    for token in tokens.by_name.values():
        assert token not in body
        assert hash_token(token) not in body
