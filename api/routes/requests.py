"""Aggregate requests: a regiocoordinator files, an output checker decides, the worker answers.

A regiocoordinator sees only the requests filed with their own token; another's request answers
exactly like one that does not exist. Output checkers, auditors and operators see the queue.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, status

from disclosure import requests as queue

from ..auth import Caller, token_person
from ..deps import AnyRole, Checker, Coordinator, Ctx
from ..errors import ApiError, not_found
from ..schemas import ID_PATTERN, DecisionIn, RequestEventOut, RequestIn, RequestList, RequestOut

router = APIRouter(tags=["requests"])

RequestId = Annotated[str, Path(pattern=ID_PATTERN, description="a request id")]


def _out(
    db_path: FsPath, req: queue.AggregateRequest, history: list[dict] | None = None
) -> RequestOut:
    if history is None:
        history = queue.request_history(db_path, req.id)
    return RequestOut(
        **req.model_dump(mode="json", exclude={"release_id", "worker_id", "lease_until"}),
        release_ids=req.release_ids,
        history=[RequestEventOut(**e) for e in history],
    )


def _require_person(caller: Caller) -> str:
    if caller.person is None:
        raise ApiError(
            403,
            "TOKEN_NO_PERSON",
            "this token names no person; filing and deciding requests need one",
            hint="ask an operator for a new token: kluis token create --person ...",
        )
    return caller.person


def _visible(caller: Caller, req: queue.AggregateRequest) -> bool:
    return caller.gemeenten is None or req.requester_token_id == caller.token_id


@router.post("/requests", response_model=RequestOut, status_code=status.HTTP_201_CREATED)
def file_request(
    caller: Coordinator,
    ctx: Ctx,
    body: Annotated[RequestIn, Body(discriminator="indicator")],
) -> RequestOut:
    """File an aggregate request for gemeenten on your token; it waits for an output checker."""
    assert caller.gemeenten is not None
    _require_person(caller)
    outside = sorted(set(body.gemeenten) - caller.gemeenten)
    if outside:
        raise ApiError(
            403,
            "GEMEENTE_OUT_OF_SCOPE",
            "the request names gemeenten that this token may not see",
            hint="request only for your own gemeenten: " + ", ".join(sorted(caller.gemeenten)),
        )
    request_id = queue.file_request(
        ctx.db_path,
        caller.token_id,
        body.indicator,
        body.breakdown,
        body.years,
        body.gemeenten,
    )
    return _out(ctx.db_path, queue.get_request(ctx.db_path, request_id))


@router.get("/requests", response_model=RequestList)
def list_requests(
    caller: AnyRole,
    ctx: Ctx,
    state: Literal["pending", "approved", "running", "rejected", "answered", "failed"]
    | None = None,
) -> RequestList:
    """Requests you may see, oldest first: a regiocoordinator's own, everyone else's queue."""
    mine = caller.token_id if caller.gemeenten is not None else None
    reqs = queue.list_requests(ctx.db_path, requester_token_id=mine, state=state)
    histories = queue.request_histories(ctx.db_path, [r.id for r in reqs])
    return RequestList(items=[_out(ctx.db_path, r, histories[r.id]) for r in reqs])


@router.get("/requests/{request_id}", response_model=RequestOut)
def show_request(caller: AnyRole, ctx: Ctx, request_id: RequestId) -> RequestOut:
    """One request with its state history (every state change is an audit event)."""
    req = queue.get_request(ctx.db_path, request_id)
    if not _visible(caller, req):
        raise not_found("REQUEST_NOT_FOUND")
    return _out(ctx.db_path, req)


@router.post("/requests/{request_id}/decision", response_model=RequestOut)
def decide(caller: Checker, ctx: Ctx, request_id: RequestId, body: DecisionIn) -> RequestOut:
    """Approve or reject a pending request, with a reason; not your own request."""
    req = queue.get_request(ctx.db_path, request_id)
    # One person may hold a coordinator and a checker token; the person ties them together.
    person = _require_person(caller)
    requester = token_person(ctx.db_path, req.requester_token_id)
    if requester is None:
        raise ApiError(
            403,
            "REQUEST_PERSON_UNKNOWN",
            "the request was filed with a token that names no person, so nobody can show "
            "that they are someone else",
            hint="ask the requester to file it again with a token made with --person",
        )
    if person == requester:
        raise ApiError(
            403,
            "REQUEST_SELF_DECISION",
            "the requester cannot decide on their own request",
            hint="ask another output checker to review it",
        )
    queue.decide_request(
        ctx.db_path, request_id, caller.token_id, body.decision == "approve", body.reason
    )
    return _out(ctx.db_path, queue.get_request(ctx.db_path, request_id))
