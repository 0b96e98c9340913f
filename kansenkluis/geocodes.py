"""The area codes: what each looks like, how to check one, how pool codes are made and read back.

- ``NL``: the nation (``LAND_CODE``);
- ``GMgggg``, ``GM`` + 4 digits: a CBS gemeente;
- ``WKggggww``, ``WK`` + the gemeente's 4 digits + 2 digits or capitals: a CBS wijk;
- ``WGgggg_nn``, ``WG`` + the gemeente's 4 digits + ``_`` + a number of 2 or more digits: a
  wijkgroep, wijken of one gemeente pooled together (``disclosure.pooling``);
- ``RGnn``, ``RG`` + a number of 2 or more digits: a region pool of gemeenten (for
  ``opleidingsmobiliteit``).

CBS codes come from the ``geografie`` input table (docs/input-tables.md); wijkgroep and region
pool codes are made by pooling and appear in releases (docs/release-format.md).

The patterns are regular expressions that mean the same in Python and in DuckDB (RE2), without
anchors: match them whole (``re.fullmatch``, DuckDB ``regexp_full_match``, or ``^…$``). They say
``[0-9]``, never ``\\d``: in Python ``\\d`` also matches the digits of other scripts.
"""

from __future__ import annotations

import re

LAND_CODE = "NL"
LAND_NAME = "Nederland"

#: A CBS gemeentecode, e.g. ``GM0917`` (Heerlen).
GEMEENTE_PATTERN = "GM[0-9]{4}"
#: The number of a CBS wijk: the gemeente's 4 digits and the wijk's 2 digits or capitals (the
#: ``wc`` columns of the CBS wijk tables hold it without the ``WK``).
WIJK_NUMBER_PATTERN = "[0-9]{4}[0-9A-Z]{2}"
#: A CBS wijkcode, e.g. ``WK091710``.
WIJK_PATTERN = "WK" + WIJK_NUMBER_PATTERN
#: A wijkgroep, e.g. ``WG0917_01``.
WIJKGROEP_PATTERN = "WG[0-9]{4}_[0-9]{2,}"
#: A region pool, e.g. ``RG01``.
REGIO_POOL_PATTERN = "RG[0-9]{2,}"

_GEMEENTE = re.compile(GEMEENTE_PATTERN)
_WIJK = re.compile(WIJK_PATTERN)
_WIJKGROEP = re.compile(WIJKGROEP_PATTERN)
_REGIO_POOL = re.compile(REGIO_POOL_PATTERN)


def anchored(pattern: str) -> str:
    """``^pattern$``, for validators that search rather than match whole (pydantic, OpenAPI)."""
    return f"^{pattern}$"


def is_gemeentecode(code: object) -> bool:
    return isinstance(code, str) and _GEMEENTE.fullmatch(code) is not None


def is_wijkcode(code: object) -> bool:
    return isinstance(code, str) and _WIJK.fullmatch(code) is not None


def is_wijkgroep_code(code: object) -> bool:
    return isinstance(code, str) and _WIJKGROEP.fullmatch(code) is not None


def is_regio_pool_code(code: object) -> bool:
    return isinstance(code, str) and _REGIO_POOL.fullmatch(code) is not None


def _digits(gemeentecode: str) -> str:
    if not is_gemeentecode(gemeentecode):
        raise ValueError("not a CBS gemeentecode (GMgggg)")
    return gemeentecode[2:]


def wijkgroep_code(gemeentecode: str, n: int) -> str:
    """The code of the ``n``-th wijkgroep (from 1) of a gemeente: ``WGgggg_nn``."""
    if n < 1:
        raise ValueError("wijkgroepen are numbered from 1")
    return f"WG{_digits(gemeentecode)}_{n:02d}"


def regio_pool_code(n: int) -> str:
    """The code of the ``n``-th region pool (from 1): ``RGnn``."""
    if n < 1:
        raise ValueError("region pools are numbered from 1")
    return f"RG{n:02d}"


def gemeente_of(code: str) -> str | None:
    """The gemeentecode inside a wijkcode or wijkgroep code; None for any other code."""
    if _WIJK.fullmatch(code) or _WIJKGROEP.fullmatch(code):
        return f"GM{code[2:6]}"
    return None


def gemeente_digits_sql(column: str) -> str:
    """SQL for the gemeente's 4 digits inside a ``GMgggg`` or ``WKggggww`` column."""
    return f"substr({column}, 3, 4)"
