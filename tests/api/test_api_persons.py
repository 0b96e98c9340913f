"""Decisions by another *person*: every token names its holder, and tokens expire."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.auth import create_token, hash_token, list_tokens
from disclosure import requests as queue
from disclosure.store import ReleaseStore
from kansenkluis.errors import UserError
from tests.support.api_release import build_release
from tests.support.server import in_process_client

BODY = {"indicator": "opstroom", "breakdown": "vmbo", "years": [2022], "gemeenten": ["GM0917"]}
DECISION = {"decision": "approve", "reason": "binnen het beleid"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("person", ["", "   ", "ab", "x" * 101, "tab\there"])
def test_a_token_needs_a_person(db: Path, person: str) -> None:
    with pytest.raises(UserError) as exc:
        create_token(db, "outputchecker", name="no one", person=person)
    assert exc.value.code == "TOKEN_PERSON_REQUIRED"


def test_a_checker_cannot_decide_for_the_same_person_whatever_the_spelling(
    client: httpx.Client, db: Path
) -> None:
    coord = create_token(db, "regiocoordinator", ["GM0917"], name="Coord A", person="Coord A")
    rid = client.post("/requests", json=BODY, headers=bearer(coord)).json()["id"]
    for spelling in ("coord a", "COORD  A", "Ｃｏｏｒｄ Ａ"):  # the last in full-width letters
        twin = create_token(db, "outputchecker", name="checker", person=spelling)
        r = client.post(f"/requests/{rid}/decision", json=DECISION, headers=bearer(twin))
        assert r.status_code == 403 and r.json()["code"] == "REQUEST_SELF_DECISION", spelling
    other = create_token(db, "outputchecker", name="checker", person="Checker B")
    r = client.post(f"/requests/{rid}/decision", json=DECISION, headers=bearer(other))
    assert r.status_code == 200 and r.json()["state"] == "approved"


def test_tokens_expire_and_are_listed_with_their_expiry(
    client: httpx.Client, db: Path, as_
) -> None:
    token = create_token(db, "auditor", name="expiring", person="auditor-exp")
    assert client.get("/me", headers=bearer(token)).status_code == 200
    listed = client.get("/tokens", headers=as_("operator")).json()["items"]
    mine = next(t for t in listed if t["name"] == "expiring")
    expires = datetime.fromisoformat(mine["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    assert mine["person"] == "auditor-exp"
    con = sqlite3.connect(db)
    try:
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
        con.execute("UPDATE api_tokens SET expires_at = ? WHERE id = ?", (past, mine["id"]))
        con.commit()
    finally:
        con.close()
    r = client.get("/me", headers=bearer(token))
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED"


def test_expiry_is_bounded(db: Path) -> None:
    for days in (0, -1, 367):
        with pytest.raises(UserError) as exc:
            create_token(db, "auditor", person="someone", expires_in_days=days)
        assert exc.value.code == "TOKEN_BAD_EXPIRY"


# --- a store made before persons and expiry existed ------------------------------------------

OLD_TOKENS = {"coord": "kk_" + "c" * 43, "checker": "kk_" + "d" * 43}


@pytest.fixture(scope="module")
def old_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose token table has the old columns only (no person, no expiry)."""
    home = tmp_path_factory.mktemp("old-home")
    db = home / "releases" / "releases.sqlite"
    with ReleaseStore(db) as store:
        store.save(build_release())
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE api_tokens (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, "
        "role TEXT NOT NULL, gemeenten_json TEXT NOT NULL, name TEXT NOT NULL, "
        "created_at TEXT NOT NULL, revoked_at TEXT)"
    )
    for (key, token), role, gemeenten in zip(
        OLD_TOKENS.items(), ("regiocoordinator", "outputchecker"), (["GM0917"], []), strict=True
    ):
        con.execute(
            "INSERT INTO api_tokens VALUES (?,?,?,?,?,?,NULL)",
            (f"tok_old{key}", hash_token(token), role, json.dumps(gemeenten), "", "2020-01-01"),
        )
    con.commit()
    con.close()
    return home


def test_an_older_token_store_keeps_reading_and_refuses_decisions_clearly(
    old_home: Path,
) -> None:
    db = old_home / "releases" / "releases.sqlite"
    with in_process_client(old_home) as client:
        me = client.get("/me", headers=bearer(OLD_TOKENS["coord"]))
        assert me.status_code == 200  # reading keeps working after the upgrade
        r = client.post("/requests", json=BODY, headers=bearer(OLD_TOKENS["coord"]))
        assert r.status_code == 403 and r.json()["code"] == "TOKEN_NO_PERSON"
        assert "--person" in r.json()["hint"]

        # a request filed (before the upgrade) with a token that names no person
        rid = queue.file_request(db, "tok_oldcoord", "opstroom", "vmbo", [2022], ["GM0917"])
        checker = create_token(db, "outputchecker", name="new", person="checker-new")
        r = client.post(f"/requests/{rid}/decision", json=DECISION, headers=bearer(checker))
        assert r.status_code == 403 and r.json()["code"] == "REQUEST_PERSON_UNKNOWN"
        r = client.post(
            f"/requests/{rid}/decision", json=DECISION, headers=bearer(OLD_TOKENS["checker"])
        )
        assert r.status_code == 403 and r.json()["code"] == "TOKEN_NO_PERSON"
    old = {t["id"]: t for t in list_tokens(db)}["tok_oldcoord"]
    assert old["person"] is None
    grace = datetime.fromisoformat(old["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=89) < grace <= timedelta(days=90)  # 90 days from the upgrade
