"""Canary leak test for the API: nothing from the sealed side reaches a response or the log.

The API's KLUIS_HOME here holds a sealed folder with unmistakable canaries (a fake pseudonym
file, a quarantine report, a fake key blob; no real keys) and the server process gets a canary
in its environment. Every route is called with every role, without a token and with bad
arguments; no response body (zip members unpacked) and no line of the server log may contain a
canary, a token, or a token hash.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from api.app import create_app, route_rules
from api.auth import create_token, hash_token, list_tokens
from disclosure import requests as queue
from kansenkluis.config import Settings
from tests.support.api_release import RELEASE_ID, make_home
from tests.support.server import start_server

CANARIES = (
    "RIN-CANARY-5f1e9a77",
    "PSEUDO-CANARY-93be0c21",
    "KEY-CANARY-d41d8cd9",
    "QUARANTINE-CANARY-77aa01",
    "ENV-CANARY-0c4b2d61",
)


def plant_canaries(home: Path) -> None:
    sealed = Settings(home=home).sealed_dir
    (sealed / "quarantine").mkdir(parents=True)
    (sealed / "pseudonyms.csv").write_text(
        "rin,pseudonym,wijkcode\n"
        f"{CANARIES[0]},{CANARIES[1]},WK091710\n"
        f"{CANARIES[0]}-2,{CANARIES[1]}-2,WK188300\n",
        encoding="utf-8",
    )
    (sealed / "datakey.wrapped").write_text(CANARIES[2] + "\n", encoding="utf-8")
    (sealed / "quarantine" / "report.jsonl").write_text(
        f'{{"table": "adres", "row": 3, "rin": "{CANARIES[3]}"}}\n', encoding="utf-8"
    )


@pytest.fixture(scope="module")
def leak_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("leak-home")
    tokens = make_home(home)
    plant_canaries(home)
    log_path = tmp_path_factory.mktemp("leak-log") / "server.log"
    os.environ["KANSENKLUIS_TEST_CANARY"] = CANARIES[4]
    try:
        server = start_server(home, log_path)
    finally:
        del os.environ["KANSENKLUIS_TEST_CANARY"]
    yield server, tokens, home
    server.stop()


def _requests_for(method, path, db, requester_id):
    """(method, url, kwargs) variants for one route: valid ones and a few wrong ones."""
    rid = queue.file_request(db, requester_id, "afstroom", "vwo", [2022], ["GM0917"])
    create_token(db, "auditor", name="leak-victim", person="leak-victim")
    victim = [t for t in list_tokens(db) if t["name"] == "leak-victim"][-1]["id"]
    subst = {
        "{release_id}": RELEASE_ID,
        "{gemeentecode}": "GM0917",
        "{request_id}": rid,
        "{token_id}": victim,
        "{name}": "vergelijk.js",
    }
    url = path
    for k, v in subst.items():
        url = url.replace(k, v)
    kwargs: dict = {}
    if "/vergelijk" in url:
        kwargs["params"] = {"release": RELEASE_ID}
    if method == "POST" and url == "/requests":
        kwargs["json"] = {
            "indicator": "afstroom",
            "breakdown": "vwo",
            "years": [2022],
            "gemeenten": ["GM0917"],
        }
    if url.endswith("/decision"):
        kwargs["json"] = {"decision": "reject", "reason": "lektest"}
    variants = [(method, url, kwargs)]
    wrong = (
        url.replace(RELEASE_ID, "rel-unknown")
        .replace("GM0917", "GM1883")
        .replace(rid, "req_ffffffffffffffff")
    )
    variants.append(
        (
            method,
            wrong,
            {**kwargs, "params": {**kwargs.get("params", {}), "release": "rel-unknown"}}
            if "params" in kwargs
            else kwargs,
        )
    )
    if url.endswith("/cells"):
        for params in (
            {"gemeente": "GM1883"},
            {"status": "suppressed_primary"},
            {"limit": 1000},
            {"geo_level": "wijk", "indicator": "opstroom"},
        ):
            variants.append((method, url, {"params": params}))
    if "/factsheets/" in url:
        variants.append((method, url, {"params": {"format": "html"}}))
    return variants


def _texts(r: httpx.Response) -> list[str]:
    if r.headers.get("content-type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            return [zf.read(n).decode("utf-8", errors="replace") for n in zf.namelist()]
    return [r.content.decode("utf-8", errors="replace")]


def test_no_canary_token_or_hash_in_any_response_or_the_log(leak_server):
    server, tokens, home = leak_server
    db = Settings(home=home).release_db
    secrets = list(tokens.by_name.values())
    forbidden = [*CANARIES, *secrets, *(hash_token(t) for t in secrets)]
    app = create_app(Settings(home=home))
    callers = [None, *tokens.by_name.values(), "kk_not-a-token"]
    bodies: list[tuple[str, str]] = []
    with httpx.Client(base_url=server.url, timeout=60) as c:
        requester = c.get("/me", headers={"Authorization": f"Bearer {tokens['heerlen']}"})
        requester_id = requester.json()["token_id"]
        for path, methods, _access in route_rules(app):
            for method in sorted(methods - {"HEAD"}):
                # revoke hits a throwaway token: the sweep itself needs the others
                for m, url, kwargs in _requests_for(method, path, db, requester_id):
                    for token in callers:
                        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
                        r = c.request(m, url, headers=headers, **kwargs)
                        assert r.status_code < 500, (m, url, r.status_code, r.text[:300])
                        bodies += [(f"{m} {url}", t) for t in _texts(r)]
    assert len(bodies) > 300
    for where, text in bodies:
        for secret in forbidden:
            assert secret not in text, f"{where} leaks {secret[:12]}..."
    log = server.log()
    assert "GET /releases" in log and "POST /requests" in log  # the log was captured
    for secret in forbidden:
        assert secret not in log, f"the server log holds {secret[:12]}..."


def test_the_sealed_folder_is_left_untouched(leak_server):
    _server, _tokens, home = leak_server
    sealed = Settings(home=home).sealed_dir
    assert sorted(p.name for p in sealed.rglob("*")) == [
        "datakey.wrapped",
        "pseudonyms.csv",
        "quarantine",
        "report.jsonl",
    ]
    assert not Settings(home=home).keys_dir.exists()
