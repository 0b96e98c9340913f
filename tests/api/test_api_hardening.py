"""Errors, limits, headers, CORS, the docs page, rate limiting and the OpenAPI document.

What the app answers is checked in-process (``client``); what goes over the wire (security
headers as sent, no ``server`` header, CORS, a streamed body without Content-Length, the docs
page's CSP) is checked against the real server (``server_client``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import Depends
from hypothesis import given
from hypothesis import strategies as st

from api.app import MAX_BODY_BYTES, create_app, openapi_json
from api.auth import public
from api.deps import RateLimiter
from kansenkluis.config import Settings
from tests.support.api_release import RELEASE_ID, make_home
from tests.support.server import REPO, in_process_client

ERROR_KEYS = {"code", "message", "hint"}


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == ERROR_KEYS and body["code"] == code
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


def test_every_error_is_json_with_code_message_hint(client, as_):
    assert_error(client.get("/no/such/path"), 404, "NOT_FOUND")
    r = client.post("/releases", headers=as_("operator"))
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == "GET"
    assert_error(client.get("/releases"), 401, "UNAUTHORIZED")
    assert_error(client.get("/tokens", headers=as_("heerlen")), 403, "ROLE_NOT_ALLOWED")
    assert_error(
        client.get(
            f"/releases/{RELEASE_ID}/cells", params={"limit": "many"}, headers=as_("operator")
        ),
        422,
        "INVALID_REQUEST",
    )
    r = client.post(
        "/requests",
        content=b"{not json",
        headers={**as_("heerlen"), "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422) and set(r.json()) == ERROR_KEYS


def test_a_misspelt_filter_is_refused_not_ignored(client, as_):
    r = client.get(
        f"/releases/{RELEASE_ID}/cells", params={"gemeeente": "GM0917"}, headers=as_("heerlen")
    )
    body = assert_error(r, 422, "INVALID_REQUEST")
    assert "gemeente" in body["hint"] and "gemeeente" not in r.text
    # ... but only for a caller who got past authentication
    assert client.get(f"/releases/{RELEASE_ID}/cells?x=1").status_code == 401


def test_405_lists_every_method_of_the_path(client, as_):
    r = client.put("/requests", headers=as_("operator"))
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}


def test_validation_errors_name_the_parameter_but_never_echo_the_value(client, as_):
    marker = "GMzz-echo-canary-7731"
    r = client.get(
        f"/releases/{RELEASE_ID}/cells", params={"gemeente": marker}, headers=as_("operator")
    )
    body = assert_error(r, 422, "INVALID_REQUEST")
    assert "gemeente" in body["message"]
    assert "canary" not in r.text


async def in_process(app, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
        return await c.get(path)


def test_an_unexpected_fault_is_a_bare_500_and_the_traceback_stays_in_the_log(caplog):
    app = create_app(Settings(home=Path("/nonexistent")))

    @app.get("/boom", dependencies=[Depends(public)])
    def boom() -> None:
        raise RuntimeError("internal detail 0xDEADBEEF must not reach the client")

    r = asyncio.run(in_process(app, "/boom"))
    assert_error(r, 500, "INTERNAL_ERROR")
    assert "DEADBEEF" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "DEADBEEF" in caplog.text  # the operator can find it


def test_large_bodies_are_refused(server_client, as_):
    big = {
        "indicator": "opstroom",
        "breakdown": "vmbo",
        "years": [2022],
        "gemeenten": ["GM0917"],
        "pad": "x" * (MAX_BODY_BYTES + 1),
    }
    assert_error(
        server_client.post("/requests", json=big, headers=as_("heerlen")), 413, "REQUEST_TOO_LARGE"
    )

    def chunks():  # no Content-Length: the limit must hold while streaming
        for _ in range(40):
            yield b" " * 1024

    r = server_client.post(
        "/requests",
        content=chunks(),
        headers={**as_("heerlen"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "REQUEST_TOO_LARGE")


@pytest.mark.parametrize("path", ["/health", f"/releases/{RELEASE_ID}", "/nope", "/releases"])
def test_security_headers_on_every_answer(server_client, as_, path):
    r = server_client.get(path, headers=as_("heerlen"))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["cache-control"] == "no-store"
    assert "server" not in r.headers


def test_cors_is_closed(server_client, as_):
    origin = {"Origin": "https://evil.example"}
    r = server_client.get("/releases", headers={**as_("operator"), **origin})
    assert r.status_code == 200
    assert not any(h.startswith("access-control-") for h in r.headers)
    pre = server_client.options(
        "/releases",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert pre.status_code == 405
    assert not any(h.startswith("access-control-") for h in pre.headers)


def test_health_openapi_and_docs_are_open(server_client):
    assert server_client.get("/health").json()["status"] == "ok"
    doc = server_client.get("/openapi.json")
    assert doc.status_code == 200 and doc.json()["info"]["title"] == "Kansenkluis API"
    page = server_client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    csp = page.headers["content-security-policy"]
    assert "'sha256-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]


def test_factsheet_and_comparison_page_render_for_their_gemeente(client, as_):
    html = client.get(f"/releases/{RELEASE_ID}/factsheets/GM0917", headers=as_("heerlen"))
    assert html.status_code == 200 and "Heerlen" in html.text
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-security-policy"].startswith("default-src 'none'")
    page = client.get(
        "/gemeenten/GM0917/vergelijk", params={"release": RELEASE_ID}, headers=as_("heerlen")
    )
    assert page.status_code == 200 and "/static/vergelijk.js" in page.text
    assert client.get("/static/vergelijk.js").status_code == 200
    assert client.get("/static/secret.js").status_code == 404


@pytest.mark.slow
def test_factsheet_pdf(client, as_):
    r = client.get(
        f"/releases/{RELEASE_ID}/factsheets/GM0917",
        params={"format": "pdf"},
        headers=as_("heerlen"),
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_auditor_export_and_verify(client, as_):
    import io
    import zipfile

    r = client.get(f"/releases/{RELEASE_ID}/export", headers=as_("auditor"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    assert names == {"release.json", "cells.csv", "suppression_log.jsonl", "release.pub"}
    v = client.get(f"/releases/{RELEASE_ID}/verify", headers=as_("auditor")).json()
    assert v["ok"] is True and v["failures"] == [] and v["checked"]["cells"] > 0
    log = client.get(f"/releases/{RELEASE_ID}/log", headers=as_("auditor")).json()
    assert log["entries"][0]["kind"] == "header" and "BEGIN PUBLIC KEY" in log["public_key_pem"]


def test_the_api_home_holds_no_keys_and_the_api_created_none(server):
    home = Path(server.home)
    assert sorted(p.name for p in home.iterdir()) == ["releases"]
    settings = Settings(home=home)
    for sealed in (settings.keys_dir, settings.sealed_dir, settings.signing_dir):
        assert not sealed.exists()


def test_the_api_process_never_loads_the_sealed_side():
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import asyncio, httpx\n"
        "from api.app import create_app\n"
        "import api.factsheet, disclosure.export, disclosure.verify, disclosure.requests\n"
        "from kansenkluis.config import Settings\n"
        "app = create_app(Settings(home=Path(sys.argv[1])))\n"
        "async def go():\n"
        "    t = httpx.ASGITransport(app=app)\n"
        "    async with httpx.AsyncClient(transport=t, base_url='http://a') as c:\n"
        "        assert (await c.get('/health')).status_code == 200\n"
        "asyncio.run(go())\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('secure', 'duckdb', 'opendp')\n"
        "       or m == 'kansenkluis.pipeline' or m == 'indicators.reference']\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "/nonexistent"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert out.stdout.strip() == ""


def test_checked_in_openapi_document_is_current():
    path = REPO / "docs" / "openapi.json"
    assert path.exists(), "run: .venv/bin/python -m api.app openapi docs/openapi.json"
    assert path.read_text(encoding="utf-8") == openapi_json(), (
        "docs/openapi.json is stale; run: .venv/bin/python -m api.app openapi docs/openapi.json"
    )
    json.loads(path.read_text(encoding="utf-8"))


def test_rate_limit_per_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tokens = make_home(home)
    with in_process_client(home, rate_limit=5) as c:
        h = {"Authorization": f"Bearer {tokens['heerlen']}"}
        assert [c.get("/me", headers=h).status_code for _ in range(5)] == [200] * 5
        r = c.get("/me", headers=h)
        assert_error(r, 429, "RATE_LIMITED")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        other = {"Authorization": f"Bearer {tokens['operator']}"}
        assert c.get("/me", headers=other).status_code == 200


@given(
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=60),
    limit=st.integers(1, 8),
)
def test_rate_limiter_never_admits_more_than_the_limit_in_any_window(gaps, limit):
    now = [0.0]
    limiter = RateLimiter(limit, window=60.0, clock=lambda: now[0])
    admitted = []
    for gap in gaps:
        now[0] += gap
        if limiter.hit("tok") is None:
            admitted.append(now[0])
        else:
            # refused only when the window really is full
            assert sum(1 for t in admitted if t > now[0] - 60.0) >= limit
    for t in admitted:
        assert sum(1 for u in admitted if t - 60.0 < u <= t) <= limit
