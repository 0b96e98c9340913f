"""Token administration for operators: list and revoke (creating one is `kluis token create`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from ..auth import list_tokens, revoke_token
from ..deps import Ctx, Operator
from ..schemas import ID_PATTERN, TokenList, TokenOut

router = APIRouter(tags=["tokens"])


@router.get("/tokens", response_model=TokenList)
def tokens(caller: Operator, ctx: Ctx) -> TokenList:
    """Every token's id, role, gemeenten, name and dates (never the token or its hash)."""
    return TokenList(items=[TokenOut(**t) for t in list_tokens(ctx.db_path)])


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut, status_code=status.HTTP_200_OK)
def revoke(
    caller: Operator,
    ctx: Ctx,
    token_id: Annotated[str, Path(pattern=ID_PATTERN)],
) -> TokenOut:
    """Revoke a token; it answers 401 from the next request on."""
    revoke_token(ctx.db_path, token_id)
    return next(TokenOut(**t) for t in list_tokens(ctx.db_path) if t["id"] == token_id)
