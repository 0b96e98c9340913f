"""Rounding of published counts and the percentage shown next to them (docs/disclosure.md).

A count v is published as the multiple of ``base`` nearest to it (halves up). An outsider who
knows the base therefore knows v to lie in ``rounding_interval(r, base)``: for base 5 that is
[r - 2, r + 2]. With ``percentage_basis = "rounded"`` the percentage is computed from the two
published rounded counts, so it can be recomputed from them and tells nothing more.
"""

from __future__ import annotations

import numpy as np


def round_count(v: int, base: int) -> int:
    """The multiple of ``base`` nearest to ``v`` (halves up); ``base`` 1 leaves v as it is."""
    if base <= 1:
        return int(v)
    return int((int(v) + base // 2) // base * base)


def round_counts(values: np.ndarray, base: int) -> np.ndarray:
    if base <= 1:
        return values.astype("int64")
    return ((values.astype("int64") + base // 2) // base) * base


def rounding_interval(r: int, base: int) -> tuple[int, int]:
    """Every non-negative count that rounds to ``r``: [r - base//2, r + base - 1 - base//2]."""
    if base <= 1:
        return int(r), int(r)
    return max(0, int(r) - base // 2), int(r) + base - 1 - base // 2


def percentage(numerator: int, denominator: int, decimals: int) -> float | None:
    """100 * numerator / denominator to ``decimals`` places (None for a zero denominator)."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, decimals)


def is_extreme(numerator: int, denominator: int) -> bool:
    """A percentage of exactly 0 or 100."""
    return numerator == 0 or numerator == denominator
