"""Hand-built release parts: one ``ReleaseCell`` builder, decisions, and a small signed draft.

``release_cell`` is the one way tests write a cell by hand. ``small_draft`` holds every kind of
cell once (published, primary under two rules, secondary, pooled, a pool) with its decisions;
``seal_draft`` signs it with fixed metadata, as the log, utility and tamper tests need.
"""

from __future__ import annotations

from typing import Any

from disclosure import log
from disclosure.release import Decision, PoolingGroup, ProtectedDraft, Release, ReleaseCell
from kansenkluis.domain import CellStatus, GeoLevel, Rule

PUB = CellStatus.PUBLISHED
PRIM = CellStatus.SUPPRESSED_PRIMARY
SEC = CellStatus.SUPPRESSED_SECONDARY
POOLED = CellStatus.POOLED


def default_rule(status: CellStatus, level: GeoLevel) -> Rule:
    """The rule that usually goes with a status: min_cell, secondary, pooled wijk or region."""
    if status is POOLED:
        return Rule.POOLED_WIJK if level is GeoLevel.WIJK else Rule.POOLED_REGIO
    return {PUB: Rule.PUBLISHED, PRIM: Rule.MIN_CELL, SEC: Rule.SECONDARY}[status]


def release_cell(
    level: GeoLevel,
    code: str,
    status: CellStatus = PUB,
    num: int | None = None,
    den: int | None = None,
    *,
    indicator: str = "heroverweging",
    breakdown: str = "totaal",
    schooljaar: int = 2022,
    name: str | None = None,
    rule: Rule | None = None,
    percentage: float | None = None,
    parent: str | None = None,
    pooled_into: str | None = None,
    noise_scale: float | None = None,
    ci_low: float | None = None,
    ci_high: float | None = None,
) -> ReleaseCell:
    """A cell as disclosure control hands it over; numbers only where the caller gives them.

    ``name`` defaults to ``"naam <code>"``, ``rule`` to ``default_rule(status, level)`` and
    ``percentage`` to ``num / den`` in percent, one decimal (None without both counts).
    """
    if percentage is None and num is not None and den:
        percentage = round(100 * num / den, 1)
    return ReleaseCell(
        indicator=indicator,
        breakdown=breakdown,
        schooljaar=schooljaar,
        geo_level=level,
        geo_code=code,
        geo_name=f"naam {code}" if name is None else name,
        numerator=num,
        denominator=den,
        percentage=percentage,
        status=status,
        pooled_into=pooled_into,
        rule=default_rule(status, level) if rule is None else rule,
        parent_code=parent,
        noise_scale=noise_scale,
        ci_low=ci_low,
        ci_high=ci_high,
    )


def decision_for(
    c: ReleaseCell,
    rule: Rule | None = None,
    sealed_count: int | None = None,
    threshold: int | None = None,
    **detail: Any,
) -> Decision:
    """The log decision behind cell ``c`` (``sealed_count``: the true count, sealed side only)."""
    return Decision(
        kind=c.status.value,
        rule=rule or c.rule,
        indicator=c.indicator,
        breakdown=c.breakdown,
        schooljaar=c.schooljaar,
        geo_level=c.geo_level,
        geo_code=c.geo_code,
        status=c.status,
        threshold=threshold,
        detail=detail,
        sealed_count=sealed_count,
    )


#: the policy, commitment key and school year of ``small_draft``
POLICY: dict[str, Any] = {
    "min_cell": 10,
    "group_disclosure_min": 20,
    "rounding_base": 5,
    "complement_k": None,
}
COMMITMENT_KEY = bytes(range(32))
YEAR = 2023


def small_draft() -> ProtectedDraft:
    """Every kind of cell once: published, primary (two rules), secondary, pooled, a pool."""
    W, G = GeoLevel.WIJK, GeoLevel.GEMEENTE

    def cell(level: GeoLevel, code: str, status: CellStatus, *args: Any, **kw: Any) -> ReleaseCell:
        return release_cell(level, code, status, *args, schooljaar=YEAR, **kw)

    cells = [
        cell(GeoLevel.LAND, "NL", PUB, 1230, 4560),
        cell(G, "GM0001", PUB, 120, 400),
        cell(G, "GM0002", PUB, 0, 40),
        cell(W, "WK000101", PUB, 25, 100),
        cell(W, "WK000102", PRIM, rule=Rule.MIN_CELL),
        cell(W, "WK000103", PRIM, rule=Rule.GROUP_DISCLOSURE),
        cell(W, "WK000104", SEC, rule=Rule.SECONDARY),
        cell(W, "WK000105", POOLED, rule=Rule.POOLED_WIJK, pooled_into="WG000101"),
        cell(W, "WK000106", POOLED, rule=Rule.POOLED_WIJK, pooled_into="WG000101"),
        cell(GeoLevel.WIJKGROEP, "WG000101", PUB, 15, 20),
    ]
    decisions = [
        decision_for(cells[0], threshold=10),
        decision_for(cells[1], threshold=10),
        decision_for(cells[2], threshold=20),
        decision_for(cells[3], threshold=10),
        decision_for(cells[4], sealed_count=7, threshold=10, reason="min_cell"),
        decision_for(cells[5], sealed_count=15, threshold=20, reason="group_disclosure"),
        decision_for(cells[6], sealed_count=40, protects="WK000102"),
        decision_for(cells[7], sealed_count=6),
        decision_for(cells[8]),
        decision_for(cells[9]),
        Decision(kind="audit", rule=Rule.AUDIT, detail={"outcome": "pass", "cells": 3}),
    ]
    pooling = (
        PoolingGroup(
            code="WG000101",
            name="wijkgroep 1",
            level=GeoLevel.WIJKGROEP,
            members=("WK000105", "WK000106"),
            gemeentecode="GM0001",
        ),
    )
    return ProtectedDraft(
        schooljaar=YEAR,
        policy=POLICY,
        policy_hash=log.policy_hash(POLICY),
        percentage_basis="rounded",
        cells=tuple(cells),
        pooling=pooling,
        decisions=tuple(decisions),
    )


def seal_draft(
    draft: ProtectedDraft, signer: log.Signer, release_id: str = "R2023-test"
) -> Release:
    """``draft`` sealed into a release with fixed metadata and ``COMMITMENT_KEY``."""
    return log.seal(
        draft,
        release_id=release_id,
        created_at="2024-05-01T12:00:00+00:00",
        data_fingerprint="f" * 64,
        geography_fingerprint="g" * 64,
        code_version="0.1.0",
        run_report={"pupils_without_adres": 12},
        signer=signer,
        commitment_key=COMMITMENT_KEY,
    )
