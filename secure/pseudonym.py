"""Keyed pseudonyms: HMAC-SHA256 over the source ``rin`` under the secret in ``pseudonym.key``.

The pseudonym is the first 32 hex characters (128 bits) of the HMAC: short enough to keep the
store small, long enough that collisions among tens of millions of persons are out of reach
(birthday bound around 2^64). Every table is re-keyed with the same secret, so linkage across
tables keeps working, while the source keys are never stored.

Ingest computes the HMAC inside DuckDB (vectorised, on all cores) by spelling HMAC out in SQL
from its definition, ``H((K ^ opad) || H((K ^ ipad) || m))``; ``pseudonymise`` is the plain
Python reference that the tests hold the SQL to.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from kansenkluis.errors import InternalError

PSEUDONYM_HEX_CHARS = 32
_BLOCK = 64  # SHA-256 block size in bytes


def pseudonymise(secret: bytes, rin: str) -> str:
    """The pseudonym of one source ``rin`` (reference implementation)."""
    return hmac.digest(secret, rin.encode("utf-8"), "sha256").hex()[:PSEUDONYM_HEX_CHARS]


class SqlPseudonymiser:
    """Builds the DuckDB expression for the pseudonym of a column.

    The padded keys travel as bound query parameters, never as SQL text, so they cannot end up
    in a query string, a catalog entry or an error message.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) > _BLOCK or len(secret) < 16:
            raise InternalError("PSEUDONYM_KEY", "the pseudonymisation secret has a bad length")
        padded = secret.ljust(_BLOCK, b"\0")
        self._ipad = bytes(b ^ 0x36 for b in padded)
        self._opad = bytes(b ^ 0x5C for b in padded)

    @property
    def params(self) -> Mapping[str, bytes]:
        """Bind these (named parameters) to every query that uses ``expression``."""
        return {"kk_ipad": self._ipad, "kk_opad": self._opad}

    @staticmethod
    def expression(column_sql: str) -> str:
        """SQL for the pseudonym of ``column_sql`` (NULL stays NULL)."""
        inner = f"unhex(sha256($kk_ipad::BLOB || encode({column_sql})))"
        return f"left(sha256($kk_opad::BLOB || {inner}), {PSEUDONYM_HEX_CHARS})"
