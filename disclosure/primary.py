"""Primary suppression: the rules each cell must pass on its own (docs/disclosure.md), and
what a cell's public status implies about its counts.

A cell fails
- ``min_cell`` if its denominator is below ``primary.min_cell``;
- ``group_disclosure`` if its percentage is 0 or 100 and its denominator is below
  ``primary.group_disclosure_min``. The test is applied to the exact counts *and* to the rounded
  counts that would be published: a published "0.0%" must never appear over a small group, even
  when the exact numerator was 1 or 2;
- ``complement`` (only with ``primary.complement_rule``) if the numerator or the denominator minus
  the numerator is below ``primary.complement_k`` (again exact and rounded).

Because the policy is public, a cell's status says something about its counts; the audit and an
attacker both use that. ``status_bounds`` gives the linear bounds a status always implies, and
``status_cases`` the alternatives ("either the denominator was below the minimum, or the
percentage was 0 and the denominator below 20, or ...") whose hull an attacker can take.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from kansenkluis.domain import CellStatus, Rule

from .policy import Policy
from .rounding import is_extreme, round_count

Part = Literal["num", "den", "rest"]
INF = math.inf


def primary_rule(numerator: int, denominator: int, policy: Policy) -> tuple[Rule, float | None]:
    """The first primary rule the cell fails and its threshold, or (PUBLISHED, None)."""
    pp = policy.primary
    base = policy.rounding.base
    if denominator < pp.min_cell:
        return Rule.MIN_CELL, float(pp.min_cell)
    rn, rd = round_count(numerator, base), round_count(denominator, base)
    extreme = is_extreme(numerator, denominator) or is_extreme(rn, rd)
    if extreme and denominator < pp.group_disclosure_min:
        return Rule.GROUP_DISCLOSURE, float(pp.group_disclosure_min)
    if pp.complement_rule:
        k = pp.complement_k
        if min(numerator, denominator - numerator, rn, rd - rn) < k:
            return Rule.COMPLEMENT, float(k)
    return Rule.PUBLISHED, None


@dataclass(frozen=True)
class Bound:
    """lo <= (a part of one cell: its numerator, denominator or denominator - numerator) <= hi."""

    part: Part
    lo: float = 0.0
    hi: float = INF


def _round_zero_max(base: int) -> int:
    """The largest count that rounds to 0."""
    return base - 1 - base // 2 if base > 1 else 0


def published_bounds(rounded_num: int, rounded_den: int, policy: Policy) -> list[Bound]:
    """What passing the primary rules implies for a published cell (besides rounding)."""
    pp = policy.primary
    out = [Bound("den", pp.min_cell)]
    if is_extreme(rounded_num, rounded_den):
        # A published 0.0% or 100.0% passed group disclosure, so its denominator is large.
        out.append(Bound("den", pp.group_disclosure_min))
    if pp.complement_rule:
        out += [Bound("num", pp.complement_k), Bound("rest", pp.complement_k)]
    return out


def status_bounds(status: CellStatus, policy: Policy) -> list[Bound]:
    """Bounds that a withheld cell's status implies on its own counts, in every case."""
    pp = policy.primary
    if status is CellStatus.SUPPRESSED_PRIMARY and not pp.complement_rule:
        # min cell or group disclosure: either way the denominator was below the larger minimum
        return [Bound("den", 0, max(pp.min_cell, pp.group_disclosure_min) - 1)]
    if status is CellStatus.SUPPRESSED_SECONDARY:
        out = [Bound("den", pp.min_cell)]
        if pp.complement_rule:
            out += [Bound("num", pp.complement_k), Bound("rest", pp.complement_k)]
        return out
    return []


def status_cases(status: CellStatus, policy: Policy) -> list[list[Bound]]:
    """The alternatives a withheld cell's status allows; its counts satisfy at least one.

    Each alternative is convex, so an attacker may bound a count in each and take the hull.
    Empty when the status allows no useful split.
    """
    pp = policy.primary
    m, g, base = pp.min_cell, pp.group_disclosure_min, policy.rounding.base
    zero = _round_zero_max(base)
    same = base - 1  # rounded numerator equals rounded denominator => den - num <= base - 1
    if status is CellStatus.SUPPRESSED_PRIMARY:
        cases = [[Bound("den", 0, m - 1)]]
        if g > m:
            cases.append([Bound("den", m, g - 1), Bound("num", 0, zero)])
            cases.append([Bound("den", m, g - 1), Bound("rest", 0, same)])
        if pp.complement_rule:
            k = pp.complement_k
            # exact or rounded numerator (rest) below k
            cases.append([Bound("num", 0, k - 1 + base // 2)])
            cases.append([Bound("rest", 0, k + max(base, 1) - 2)])
        return cases
    if status is CellStatus.SUPPRESSED_SECONDARY and g > m:
        # it passed group disclosure: a large denominator, or a percentage strictly inside
        return [
            [Bound("den", g)],
            [Bound("den", m, g - 1), Bound("num", zero + 1), Bound("rest", 1)],
        ]
    return []


def inherent_range(status: CellStatus, part: Part, policy: Policy) -> tuple[float, float]:
    """The range of a cell's numerator or denominator that its status alone already reveals.

    The audit cannot ask more of the published figures than this: a ``suppressed_primary``
    status always says the denominator (so also the numerator) is below the group minimum, and a
    ``suppressed_secondary`` one that the denominator reached the minimum cell.
    """
    lo, hi = 0.0, INF
    for b in status_bounds(status, policy):
        if b.part == part or (part == "num" and b.part == "den"):
            if b.part == part:
                lo = max(lo, b.lo)
            hi = min(hi, b.hi)
    return lo, hi
