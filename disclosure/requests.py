"""The aggregate request queue (OpenSAFELY Airlock's pattern), in the release-store SQLite.

A regiocoördinator files a request for published figures that no release holds yet (indicator,
breakdown, school years, gemeenten); an output checker who is not the requester approves or
rejects it with a reason; the sealed worker claims an approved request, publishes the releases
that answer it and marks it answered (or failed). States::

    pending --approve--> approved --claim--> running --answer--> answered
       |                                       |  '----fail----> failed
       '------reject--> rejected               '--lease expired: claimed again by another worker

A claim is one IMMEDIATE transaction (approved -> running, with the worker's id and a lease), so
two workers never answer the same request: the second one skips it and takes the next. A worker
renews its lease while it works; if it dies, the lease runs out and another worker claims the
request again (the history records both claims). Only the claiming worker can answer or fail it.

Every state change is one row of ``request_events``, which is append-only (SQLite triggers refuse
UPDATE and DELETE): the request's history *is* its audit trail. A request names only public
things (codes, years, token ids), never microdata; a failure reason is a ``UserError`` message,
which by convention never quotes a value either.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from indicators.specs import INDICATORS
from kansenkluis.domain import IndicatorId
from kansenkluis.errors import UserError
from kansenkluis.geocodes import is_gemeentecode

from .store import connect, store_errors

#: plausible school years; a request outside them is a typo, not a wish
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_YEARS = 10
MAX_GEMEENTEN = 50
MAX_REASON = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS aggregate_requests (
    id TEXT PRIMARY KEY,
    requester_token_id TEXT NOT NULL,
    indicator TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    years_json TEXT NOT NULL,
    gemeenten_json TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    checker_token_id TEXT,
    decision_reason TEXT,
    release_id TEXT,
    failure_reason TEXT,
    worker_id TEXT,
    lease_until TEXT
);
CREATE INDEX IF NOT EXISTS aggregate_requests_state ON aggregate_requests (state, created_at);
CREATE TABLE IF NOT EXISTS request_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES aggregate_requests(id),
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    release_id TEXT
);
CREATE INDEX IF NOT EXISTS request_events_request ON request_events (request_id, seq);
CREATE TRIGGER IF NOT EXISTS request_events_no_update BEFORE UPDATE ON request_events
BEGIN SELECT RAISE(ABORT, 'request_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS request_events_no_delete BEFORE DELETE ON request_events
BEGIN SELECT RAISE(ABORT, 'request_events is append-only'); END;
"""

#: the actor recorded for state changes made by the sealed worker ("worker:<its id>")
WORKER_ACTOR = "worker"
#: seconds a claim stays valid without renewal; a worker renews it every third of that
DEFAULT_LEASE_SECONDS = 300.0
#: columns added after the first release of the schema (added to older stores on open)
_ADDED_COLUMNS = {"worker_id": "TEXT", "lease_until": "TEXT"}


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    REJECTED = "rejected"
    ANSWERED = "answered"
    FAILED = "failed"


class AggregateRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    requester_token_id: str
    indicator: str
    breakdown: str
    years: tuple[int, ...]
    gemeenten: tuple[str, ...]
    state: RequestState
    created_at: str
    updated_at: str
    checker_token_id: str | None = None
    decision_reason: str | None = None
    #: comma-separated when several releases (one per school year) answer the request
    release_id: str | None = None
    failure_reason: str | None = None
    #: the worker that claimed it and until when its claim holds (state ``running``)
    worker_id: str | None = None
    lease_until: str | None = None

    @property
    def release_ids(self) -> list[str]:
        return [] if not self.release_id else self.release_id.split(",")


# --- writing --------------------------------------------------------------------------------


def file_request(
    db_path: Path,
    requester_token_id: str,
    indicator: str,
    breakdown: str,
    years: Sequence[int],
    gemeenten: Sequence[str],
) -> str:
    """File a new request in state ``pending`` and return its id.

    Checks what can be checked without microdata: the indicator and its breakdown exist, the
    years are plausible, the gemeente codes are well formed. Whether the requester may ask for
    these gemeenten is the caller's (the API's) business: this module knows no token scopes.
    """
    clean_years, clean_gemeenten = _validate(indicator, breakdown, years, gemeenten)
    request_id = "req_" + secrets.token_hex(8)
    now = _now()
    with _transaction(db_path) as con:
        con.execute(
            "INSERT INTO aggregate_requests (id, requester_token_id, indicator, breakdown, "
            "years_json, gemeenten_json, state, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                request_id,
                requester_token_id,
                indicator,
                breakdown,
                json.dumps(clean_years),
                json.dumps(clean_gemeenten),
                RequestState.PENDING.value,
                now,
                now,
            ),
        )
        _event(con, request_id, None, RequestState.PENDING, requester_token_id, now)
    return request_id


def decide_request(
    db_path: Path, request_id: str, checker_token_id: str, approve: bool, reason: str
) -> None:
    """Approve or reject a pending request; the checker must not be the requester."""
    reason = _clean_reason(reason, "REQUEST_REASON_REQUIRED", "a decision needs a reason")
    target = RequestState.APPROVED if approve else RequestState.REJECTED
    now = _now()
    with _transaction(db_path) as con:
        current = _get(con, request_id)
        if current.requester_token_id == checker_token_id:
            raise UserError(
                "REQUEST_SELF_DECISION",
                "the requester cannot decide on their own request",
                hint="ask another output checker to review it",
            )
        _require_state(current, RequestState.PENDING)
        con.execute(
            "UPDATE aggregate_requests SET state = ?, updated_at = ?, checker_token_id = ?, "
            "decision_reason = ? WHERE id = ?",
            (target.value, now, checker_token_id, reason, request_id),
        )
        _event(con, request_id, current.state, target, checker_token_id, now, reason=reason)


def new_worker_id() -> str:
    """An id for one worker process: host, process id and a random part (never reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def claim_next(
    db_path: Path,
    worker_id: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    request_id: str | None = None,
) -> AggregateRequest | None:
    """Claim the oldest approved request (or one whose worker's lease ran out); None if none.

    The look-up and the claim are one IMMEDIATE transaction: of two workers asking at the same
    moment, one claims it and the other gets the next request or None. With ``request_id``
    only that request is claimed, if it can be.
    """
    now = _utcnow()
    only = "" if request_id is None else " AND id = ?"
    with _transaction(db_path) as con:
        row = con.execute(
            "SELECT * FROM aggregate_requests "
            f"WHERE (state = ? OR (state = ? AND lease_until < ?)){only} "
            "ORDER BY created_at, id LIMIT 1",
            (RequestState.APPROVED.value, RequestState.RUNNING.value, _iso(now))
            + (() if request_id is None else (request_id,)),
        ).fetchone()
        if row is None:
            return None
        current = _row_to_request(row)
        lease_until = _iso(now + timedelta(seconds=lease_seconds))
        con.execute(
            "UPDATE aggregate_requests SET state = ?, updated_at = ?, worker_id = ?, "
            "lease_until = ? WHERE id = ?",
            (RequestState.RUNNING.value, _iso(now), worker_id, lease_until, current.id),
        )
        reason = None
        if current.state == RequestState.RUNNING:
            reason = f"the lease of {current.worker_id} ran out; claimed again"
        _event(
            con,
            current.id,
            current.state,
            RequestState.RUNNING,
            _worker_actor(worker_id),
            _iso(now),
            reason=reason,
        )
        return _get(con, current.id)


def renew_lease(
    db_path: Path, request_id: str, worker_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> bool:
    """Extend the worker's claim; False if it no longer holds it (its lease ran out and another
    worker claimed the request)."""
    now = _utcnow()
    with _transaction(db_path) as con:
        cur = con.execute(
            "UPDATE aggregate_requests SET lease_until = ? "
            "WHERE id = ? AND state = ? AND worker_id = ?",
            (
                _iso(now + timedelta(seconds=lease_seconds)),
                request_id,
                RequestState.RUNNING.value,
                worker_id,
            ),
        )
        return cur.rowcount == 1


@contextmanager
def keep_lease(
    db_path: Path, request_id: str, worker_id: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> Iterator[None]:
    """Renew the claim every third of the lease while the body runs (a background thread)."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease_seconds / 3):
            try:
                if not renew_lease(db_path, request_id, worker_id, lease_seconds):
                    return
            except (sqlite3.Error, UserError):
                continue  # a busy store: try again at the next tick; the lease has slack

    thread = threading.Thread(target=renew, name=f"lease-{request_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def answer_in(
    con: sqlite3.Connection, request_id: str, worker_id: str, release_ids: Sequence[str]
) -> None:
    """Mark a claimed request answered, inside the caller's transaction (the one that saves the
    releases, so that releases and answer are stored together or not at all)."""
    ids = _release_ids(list(release_ids))
    now = _now()
    current = _get(con, request_id)
    _require_claim(current, worker_id)
    for rid in ids:
        if con.execute("SELECT 1 FROM releases WHERE id = ?", (rid,)).fetchone() is None:
            raise UserError(
                "RELEASE_NOT_FOUND",
                "an answering release is not in the release store",
                hint="save the release before marking the request answered",
            )
    joined = ",".join(ids)
    con.execute(
        "UPDATE aggregate_requests SET state = ?, updated_at = ?, release_id = ?, "
        "lease_until = NULL WHERE id = ?",
        (RequestState.ANSWERED.value, now, joined, request_id),
    )
    _event(
        con,
        request_id,
        current.state,
        RequestState.ANSWERED,
        _worker_actor(worker_id),
        now,
        release_id=joined,
    )


def mark_answered(
    db_path: Path, request_id: str, release_id: str | Sequence[str], worker_id: str
) -> None:
    """The claiming worker published the release(s) answering the request (already stored).

    A request for several school years is answered by one release per year: pass their ids as
    a list or comma-separated.
    """
    with _transaction(db_path) as con:
        answer_in(con, request_id, worker_id, _release_ids(release_id))


def mark_failed(db_path: Path, request_id: str, reason: str, worker_id: str) -> None:
    """The claiming worker could not answer the request (e.g. the policy refused it); nothing
    was published for it."""
    reason = _clean_reason(reason, "REQUEST_REASON_REQUIRED", "a failure needs a reason")
    now = _now()
    with _transaction(db_path) as con:
        current = _get(con, request_id)
        _require_claim(current, worker_id)
        con.execute(
            "UPDATE aggregate_requests SET state = ?, updated_at = ?, failure_reason = ?, "
            "lease_until = NULL WHERE id = ?",
            (RequestState.FAILED.value, now, reason, request_id),
        )
        _event(
            con,
            request_id,
            current.state,
            RequestState.FAILED,
            _worker_actor(worker_id),
            now,
            reason,
        )


# --- reading --------------------------------------------------------------------------------


def get_request(db_path: Path, request_id: str) -> AggregateRequest:
    con = _connect(db_path)
    try:
        return _get(con, request_id)
    finally:
        con.close()


def list_requests(
    db_path: Path,
    *,
    requester_token_id: str | None = None,
    state: RequestState | str | None = None,
) -> list[AggregateRequest]:
    """Requests in filing order, optionally only one requester's or one state's."""
    where, args = [], []
    if requester_token_id is not None:
        where.append("requester_token_id = ?")
        args.append(requester_token_id)
    if state is not None:
        where.append("state = ?")
        args.append(RequestState(state).value)
    sql = "SELECT * FROM aggregate_requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at, id"
    con = _connect(db_path)
    try:
        return [_row_to_request(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def approved_requests(db_path: Path) -> list[AggregateRequest]:
    """What the sealed worker should answer next, oldest first."""
    return list_requests(db_path, state=RequestState.APPROVED)


def request_history(db_path: Path, request_id: str) -> list[dict[str, Any]]:
    """The state changes of a request, oldest first: the audit events."""
    con = _connect(db_path)
    try:
        _get(con, request_id)
        rows = con.execute(
            "SELECT seq, at, from_state, to_state, actor, reason, release_id "
            "FROM request_events WHERE request_id = ? ORDER BY seq",
            (request_id,),
        ).fetchall()
        return [dict(r) for r in rows]
    finally:
        con.close()


def request_histories(db_path: Path, request_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """``request_history`` of many requests in one read (unknown ids get an empty history)."""
    out: dict[str, list[dict[str, Any]]] = {rid: [] for rid in request_ids}
    if not out:
        return out
    con = _connect(db_path)
    try:
        # one query per chunk: SQLite limits the number of bound parameters
        ids = list(out)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = con.execute(
                "SELECT request_id, seq, at, from_state, to_state, actor, reason, release_id "
                f"FROM request_events WHERE request_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY seq",
                chunk,
            ).fetchall()
            for r in rows:
                d = dict(r)
                out[d.pop("request_id")].append(d)
    finally:
        con.close()
    return out


# --- helpers --------------------------------------------------------------------------------


def _validate(
    indicator: str, breakdown: str, years: Sequence[int], gemeenten: Sequence[str]
) -> tuple[list[int], list[str]]:
    known = {i.value for i in IndicatorId}
    if indicator not in known:
        raise UserError(
            "REQUEST_UNKNOWN_INDICATOR",
            "the request names an unknown indicator",
            hint="use one of " + ", ".join(sorted(known)),
        )
    spec = INDICATORS[IndicatorId(indicator)]
    if breakdown not in spec.breakdowns:
        raise UserError(
            "REQUEST_UNKNOWN_BREAKDOWN",
            f"indicator {indicator} has no such breakdown",
            hint="use one of " + ", ".join(spec.breakdowns),
        )
    if not years or len(years) > MAX_YEARS:
        raise UserError(
            "REQUEST_BAD_YEARS",
            f"a request names between 1 and {MAX_YEARS} school years",
            hint="list the school years (2022 means 2022/23)",
        )
    # bool is an int subclass; True as a school year is a client bug
    if any(isinstance(y, bool) or not isinstance(y, int) for y in years) or not all(
        MIN_YEAR <= y <= MAX_YEAR for y in years
    ):
        raise UserError(
            "REQUEST_BAD_YEARS",
            f"school years must be whole years between {MIN_YEAR} and {MAX_YEAR}",
            hint="2022 means school year 2022/23",
        )
    if not gemeenten or len(gemeenten) > MAX_GEMEENTEN:
        raise UserError(
            "REQUEST_BAD_GEMEENTEN",
            f"a request names between 1 and {MAX_GEMEENTEN} gemeenten",
            hint="list gemeentecodes such as GM0917",
        )
    if not all(is_gemeentecode(g) for g in gemeenten):
        raise UserError(
            "REQUEST_BAD_GEMEENTEN",
            "a gemeentecode is not of the form GMgggg",
            hint="use CBS gemeentecodes such as GM0917",
        )
    return sorted(set(years)), sorted(set(gemeenten))


def _release_ids(release_id: str | Sequence[str]) -> list[str]:
    raw = release_id.split(",") if isinstance(release_id, str) else list(release_id)
    ids = [r.strip() for r in raw if r.strip()]
    if not ids:
        raise UserError(
            "REQUEST_NO_RELEASE",
            "an answered request needs the id of the release that answers it",
            hint="pass the id(s) of the stored release(s)",
        )
    return ids


def _clean_reason(reason: str, code: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise UserError(code, message, hint=f"give a reason of 1 to {MAX_REASON} characters")
    return reason


def _require_state(current: AggregateRequest, expected: RequestState) -> None:
    if current.state != expected:
        raise UserError(
            "REQUEST_WRONG_STATE",
            f"the request is {current.state.value}, not {expected.value}",
            hint="read the request's history to see what happened to it",
        )


def _require_claim(current: AggregateRequest, worker_id: str) -> None:
    _require_state(current, RequestState.RUNNING)
    if current.worker_id != worker_id:
        raise UserError(
            "REQUEST_CLAIMED_BY_ANOTHER",
            "another worker holds this request (this worker's lease ran out)",
            hint="read the request's history; the other worker answers it",
        )


def _worker_actor(worker_id: str) -> str:
    return f"{WORKER_ACTOR}:{worker_id}"


def _get(con: sqlite3.Connection, request_id: str) -> AggregateRequest:
    row = con.execute("SELECT * FROM aggregate_requests WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        raise UserError(
            "REQUEST_NOT_FOUND",
            "no aggregate request with that id",
            hint="list the requests you can see with GET /requests",
        )
    return _row_to_request(row)


def _row_to_request(row: sqlite3.Row) -> AggregateRequest:
    d = dict(row)
    d["years"] = tuple(json.loads(d.pop("years_json")))
    d["gemeenten"] = tuple(json.loads(d.pop("gemeenten_json")))
    return AggregateRequest(**d)


def _event(
    con: sqlite3.Connection,
    request_id: str,
    from_state: RequestState | None,
    to_state: RequestState,
    actor: str,
    at: str,
    reason: str | None = None,
    release_id: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO request_events (request_id, at, from_state, to_state, actor, reason, "
        "release_id) VALUES (?,?,?,?,?,?,?)",
        (
            request_id,
            at,
            None if from_state is None else from_state.value,
            to_state.value,
            actor,
            reason,
            release_id,
        ),
    )


def _connect(db_path: Path) -> sqlite3.Connection:
    con = connect(db_path)
    with store_errors(db_path):
        con.executescript(_SCHEMA)
        present = {r["name"] for r in con.execute("PRAGMA table_info(aggregate_requests)")}
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                try:
                    con.execute(f"ALTER TABLE aggregate_requests ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as e:  # another process added it just now
                    if "duplicate column" not in str(e).lower():
                        raise
    return con


@contextmanager
def _transaction(db_path: Path) -> Iterator[sqlite3.Connection]:
    """One IMMEDIATE transaction: a state check and its change cannot interleave with another."""
    con = _connect(db_path)
    try:
        with store_errors(db_path):
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
    finally:
        con.close()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def _now() -> str:
    return _iso(_utcnow())
