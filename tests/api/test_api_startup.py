"""The API answers a body that is not JSON with 400, and indexes releases before it is asked."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

import api.deps
from api.app import create_app
from disclosure.store import ReleaseStore
from kansenkluis.config import Settings
from tests.support.api_release import RELEASE_ID, build_release


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"indicator=opstroom", "application/x-www-form-urlencoded"),
        (b"hello", "text/plain"),
    ],
    ids=["broken-json", "not-utf8", "form", "text"],
)
@pytest.mark.parametrize("path", ["/requests", "/requests/req_0123456789abcdef/decision"])
def test_a_body_that_is_not_json_answers_400(
    client: httpx.Client, as_, path: str, body: bytes, content_type: str
) -> None:
    who = "heerlen" if path == "/requests" else "outputchecker"
    r = client.post(path, content=body, headers={**as_(who), "Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "MALFORMED_BODY"


def test_a_json_body_with_a_wrong_field_still_answers_422(client: httpx.Client, as_) -> None:
    r = client.post("/requests", json={"indicator": "opstroom"}, headers=as_("heerlen"))
    assert r.status_code == 422 and r.json()["code"] == "INVALID_REQUEST"


def test_releases_are_indexed_at_start_and_when_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "home" / "releases" / "releases.sqlite"
    with ReleaseStore(db) as store:
        store.save(build_release())
        monkeypatch.setattr(api.deps, "WARM_INTERVAL", 0.05)
        app = create_app(Settings(home=tmp_path / "home"))
        cache = app.state.ctx.releases
        assert cache.loaded() == []

        async def serve() -> None:
            # the lifespan uvicorn runs before it accepts the first connection
            async with app.router.lifespan_context(app):
                assert cache.loaded() == [RELEASE_ID]  # loaded and indexed before any query
                store.save(build_release("rel-stored-later"))  # what a worker does meanwhile
                deadline = time.monotonic() + 30
                while "rel-stored-later" not in cache.loaded():
                    assert time.monotonic() < deadline, "a newly stored release was never loaded"
                    await asyncio.sleep(0.05)

        asyncio.run(serve())
