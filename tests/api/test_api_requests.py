"""Aggregate requests end to end on the live server, and the queue's own rules."""

from __future__ import annotations

import sqlite3
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.auth import create_token
from disclosure import requests as queue
from disclosure.store import ReleaseStore
from kansenkluis.errors import UserError
from tests.support.api_release import RELEASE_ID, build_release

BODY = {
    "indicator": "opstroom",
    "breakdown": "vmbo",
    "years": [2023, 2022],
    "gemeenten": ["GM0917"],
}


def file(client, as_, who="heerlen", **changes):
    return client.post("/requests", json={**BODY, **changes}, headers=as_(who))


def test_request_lifecycle_with_history(client, as_, db):
    r = file(client, as_)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["state"] == "pending" and req["years"] == [2022, 2023]
    assert [(e["from_state"], e["to_state"]) for e in req["history"]] == [(None, "pending")]

    r = client.post(
        f"/requests/{req['id']}/decision",
        headers=as_("outputchecker"),
        json={"decision": "approve", "reason": "valt binnen het beleid"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    assert r.json()["decision_reason"] == "valt binnen het beleid"

    # the sealed worker claims it and answers it with a release
    assert req["id"] in {a.id for a in queue.approved_requests(db)}
    claimed = queue.claim_next(db, "w-life", request_id=req["id"])
    assert claimed is not None and claimed.state == "running" and claimed.worker_id == "w-life"
    assert req["id"] not in {a.id for a in queue.approved_requests(db)}
    queue.mark_answered(db, req["id"], RELEASE_ID, "w-life")

    done = client.get(f"/requests/{req['id']}", headers=as_("heerlen")).json()
    assert done["state"] == "answered" and done["release_ids"] == [RELEASE_ID]
    hist = done["history"]
    assert [(e["from_state"], e["to_state"]) for e in hist] == [
        (None, "pending"),
        ("pending", "approved"),
        ("approved", "running"),
        ("running", "answered"),
    ]
    listed = client.get("/requests", params={"state": "answered"}, headers=as_("heerlen"))
    assert next(i for i in listed.json()["items"] if i["id"] == req["id"])["history"] == hist
    checker_id = client.get("/me", headers=as_("outputchecker")).json()["token_id"]
    worker = "worker:w-life"
    assert [e["actor"] for e in hist] == [req["requester_token_id"], checker_id, worker, worker]


def test_reject_and_fail_paths(client, as_, db):
    rejected = file(client, as_).json()["id"]
    r = client.post(
        f"/requests/{rejected}/decision",
        headers=as_("outputchecker"),
        json={"decision": "reject", "reason": "te fijnmazig"},
    )
    assert r.json()["state"] == "rejected"
    assert queue.claim_next(db, "w-rej", request_id=rejected) is None
    with pytest.raises(UserError) as exc:
        queue.mark_answered(db, rejected, RELEASE_ID, "w-rej")
    assert exc.value.code == "REQUEST_WRONG_STATE"

    failing = file(client, as_).json()["id"]
    client.post(
        f"/requests/{failing}/decision",
        headers=as_("outputchecker"),
        json={"decision": "approve", "reason": "ok"},
    )
    assert queue.claim_next(db, "w-fail", request_id=failing) is not None
    queue.mark_failed(db, failing, "PRIVACY_BUDGET_EXHAUSTED: the budget is spent", "w-fail")
    got = client.get(f"/requests/{failing}", headers=as_("heerlen")).json()
    assert got["state"] == "failed" and got["failure_reason"].startswith("PRIVACY_BUDGET")


def test_a_decision_is_final(client, as_):
    rid = file(client, as_).json()["id"]
    ok = {"decision": "approve", "reason": "ok"}
    assert (
        client.post(f"/requests/{rid}/decision", headers=as_("outputchecker"), json=ok).status_code
        == 200
    )
    again = client.post(f"/requests/{rid}/decision", headers=as_("outputchecker2"), json=ok)
    assert again.status_code == 409 and again.json()["code"] == "REQUEST_WRONG_STATE"


def test_the_requester_cannot_approve_their_own_request(client, as_, db):
    rid = file(client, as_).json()["id"]
    # the same person also holds an output-checker token, under another name; the person
    # identity is compared case-folded and with whitespace collapsed
    twin = create_token(db, "outputchecker", name="checker hat", person="  COORD-H ")
    r = client.post(
        f"/requests/{rid}/decision",
        headers={"Authorization": f"Bearer {twin}"},
        json={"decision": "approve", "reason": "mijn eigen verzoek"},
    )
    assert r.status_code == 403 and r.json()["code"] == "REQUEST_SELF_DECISION"
    assert client.get(f"/requests/{rid}", headers=as_("heerlen")).json()["state"] == "pending"


def test_queue_refuses_a_decision_by_the_requesting_token(db):
    rid = queue.file_request(db, "tok_same", "heroverweging", "totaal", [2022], ["GM0917"])
    with pytest.raises(UserError) as exc:
        queue.decide_request(db, rid, "tok_same", True, "ok")
    assert exc.value.code == "REQUEST_SELF_DECISION"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"gemeenten": ["GM0917", "GM1883"]}, 403, "GEMEENTE_OUT_OF_SCOPE"),
        ({"breakdown": "vwo"}, 422, "INVALID_REQUEST"),  # opstroom has no vwo origin
        ({"indicator": "heroverweging"}, 422, "INVALID_REQUEST"),  # no vmbo breakdown
        ({"years": []}, 422, "INVALID_REQUEST"),
        ({"years": [1999]}, 422, "INVALID_REQUEST"),
        ({"gemeenten": ["0917"]}, 422, "INVALID_REQUEST"),
        ({"sql": "select * from cells"}, 422, "INVALID_REQUEST"),  # extra="forbid"
    ],
)
def test_bad_requests_are_refused(client, as_, changes, status, code):
    r = file(client, as_, **changes)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code


def test_decision_needs_a_reason(client, as_):
    rid = file(client, as_).json()["id"]
    for reason in ("", "   "):
        r = client.post(
            f"/requests/{rid}/decision",
            headers=as_("outputchecker"),
            json={"decision": "approve", "reason": reason},
        )
        assert r.status_code == 422


def test_a_multi_year_request_is_answered_by_one_release_per_year(client, as_, db):
    second = "rel-2023-api-test"
    with ReleaseStore(db) as store:
        if not store.exists(second):
            store.save(build_release(second))
    rid = file(client, as_).json()["id"]  # years 2022 and 2023
    client.post(
        f"/requests/{rid}/decision",
        headers=as_("outputchecker"),
        json={"decision": "approve", "reason": "ok"},
    )
    assert queue.claim_next(db, "w-multi", request_id=rid) is not None
    queue.mark_answered(db, rid, f"{RELEASE_ID},{second}", "w-multi")  # the worker's form
    got = client.get(f"/requests/{rid}", headers=as_("heerlen")).json()
    assert got["release_ids"] == [RELEASE_ID, second]


def test_answering_needs_a_stored_release(client, as_, db):
    rid = file(client, as_).json()["id"]
    client.post(
        f"/requests/{rid}/decision",
        headers=as_("outputchecker"),
        json={"decision": "approve", "reason": "ok"},
    )
    assert queue.claim_next(db, "w-none", request_id=rid) is not None
    with pytest.raises(UserError) as exc:
        queue.mark_answered(db, rid, "rel-that-does-not-exist", "w-none")
    assert exc.value.code == "RELEASE_NOT_FOUND"


def test_audit_events_are_append_only(db):
    rid = queue.file_request(db, "tok_x", "heroverweging", "totaal", [2022], ["GM0917"])
    con = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            con.execute(
                "UPDATE request_events SET to_state = 'approved' WHERE request_id = ?", (rid,)
            )
        with pytest.raises(sqlite3.DatabaseError):
            con.execute("DELETE FROM request_events WHERE request_id = ?", (rid,))
    finally:
        con.close()
    assert len(queue.request_history(db, rid)) == 1


@lru_cache(maxsize=1)
def _release_q():
    return build_release("rel-q")


OPS = st.lists(
    st.sampled_from(["approve", "reject", "claim", "answer", "fail"]), min_size=0, max_size=7
)


@settings(max_examples=30, deadline=None)
@given(ops=OPS)
def test_history_is_a_chain_ending_in_the_current_state(tmp_path_factory, ops):
    db = tmp_path_factory.mktemp("queue") / "releases.sqlite"
    with ReleaseStore(db) as store:
        store.save(_release_q())
    rid = queue.file_request(db, "tok_req", "afstroom", "vwo", [2021], ["GM1883"])
    changes = 1
    for op in ops:
        try:
            if op in ("approve", "reject"):
                queue.decide_request(db, rid, "tok_chk", op == "approve", "reden")
            elif op == "claim":
                if queue.claim_next(db, "w1", request_id=rid) is None:
                    continue
            elif op == "answer":
                queue.mark_answered(db, rid, "rel-q", "w1")
            else:
                queue.mark_failed(db, rid, "reden", "w1")
            changes += 1
        except UserError as exc:
            assert exc.code == "REQUEST_WRONG_STATE"
    hist = queue.request_history(db, rid)
    assert len(hist) == changes
    assert hist[0]["from_state"] is None
    for before, after in zip(hist, hist[1:], strict=False):
        assert after["from_state"] == before["to_state"]
    assert hist[-1]["to_state"] == queue.get_request(db, rid).state.value
