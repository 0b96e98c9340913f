"""The protected draft: release cells in their order, decisions, audit outcomes, pooling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from indicators.specs import INDICATORS
from kansenkluis.domain import (
    CellStatus,
    GeoLevel,
    IndicatorId,
    Rule,
)
from kansenkluis.errors import InternalError

from .noise import percentage_interval
from .policy import Policy, policy_dict, policy_hash
from .pooling import (
    RegioPooling,
    WijkPooling,
)
from .release import (
    Decision,
    DPParams,
    PoolingGroup,
    ProtectedDraft,
    ReleaseCell,
)
from .rounding import percentage
from .table import (
    Check,
    Table,
)

_LEVEL_ORDER = {
    GeoLevel.LAND: 0,
    GeoLevel.REGIO: 1,
    GeoLevel.GEMEENTE: 2,
    GeoLevel.WIJKGROEP: 3,
    GeoLevel.WIJK: 4,
}


_INDICATOR_ORDER = {i.value: n for n, i in enumerate(INDICATORS)}


def policy_decision(policy: Policy, knob: str) -> Decision:
    section, key = knob.split(".")
    value = getattr(getattr(policy, section), key)
    default = getattr(getattr(Policy(), section), key)
    rule = {
        "primary.min_cell": Rule.MIN_CELL,
        "primary.group_disclosure_min": Rule.GROUP_DISCLOSURE,
        "primary.complement_k": Rule.COMPLEMENT,
        "secondary.protection_min": Rule.SECONDARY,
        "secondary.protection_share": Rule.SECONDARY,
        "pooling.wijk_min": Rule.POOLED_WIJK,
        "pooling.wijk_criteria": Rule.POOLED_WIJK,
        "pooling.regio_min_group": Rule.POOLED_REGIO,
        "pooling.regio_max_onbekend_share": Rule.POOLED_REGIO,
        "dp.epsilon_limit": Rule.NOISE,
    }.get(knob, Rule.PUBLISHED)

    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return Decision(
        kind="policy",
        rule=rule,
        detail={"knob": knob, "value": plain(value), "default": plain(default), "weaker": True},
    )


def assemble(
    table: Table,
    policy: Policy,
    checks: Sequence[Check],
    wijk_pooling: Mapping[str, WijkPooling],
    regio_pooling: RegioPooling,
    decisions: list[Decision],
    dp: DPParams | None,
) -> ProtectedDraft:
    sj = table.schooljaar
    decimals = policy.rounding.percentage_decimals
    basis = policy.rounding.percentage_basis
    order = sorted(
        range(len(table.cells)),
        key=lambda ci: (
            _INDICATOR_ORDER[table.cells[ci].indicator],
            INDICATORS[IndicatorId(table.cells[ci].indicator)].breakdowns.index(
                table.cells[ci].breakdown
            ),
            _LEVEL_ORDER[table.cells[ci].level],
            table.cells[ci].code,
        ),
    )
    cells: list[ReleaseCell] = []
    cell_decisions: list[Decision] = []
    for ci in order:
        c = table.cells[ci]
        common: dict[str, Any] = {
            "indicator": c.indicator,
            "breakdown": c.breakdown,
            "schooljaar": sj,
            "geo_level": c.level,
            "geo_code": c.code,
        }
        if c.status is CellStatus.PUBLISHED:
            num, den = table.numbers[c.num], table.numbers[c.den]
            shown_num, shown_den = min(num.shown, den.shown), den.shown
            if basis == "rounded":
                pct = percentage(shown_num, shown_den, decimals)
            else:
                true_num = min(max(num.value, 0), max(den.value, 0))
                pct = percentage(true_num, max(den.value, 0), decimals)
            scale = None
            interval: tuple[float | None, float | None] = (None, None)
            if dp is not None:
                scale = dp.scales.get(table.families[num.family].population)
                if scale is not None:
                    num_cells = len(num.atoms) * len(num.offsets)
                    den_cells = len(den.atoms) * len(den.offsets)
                    interval = percentage_interval(
                        shown_num,
                        shown_den,
                        num_cells,
                        max(den_cells - num_cells, 0),
                        scale,
                        dp.mechanism,
                    )
            cells.append(
                ReleaseCell(
                    **common,
                    geo_name=c.name,
                    numerator=shown_num,
                    denominator=shown_den,
                    percentage=pct,
                    status=c.status,
                    rule=Rule.PUBLISHED,
                    parent_code=c.parent_code,
                    noise_scale=scale,
                    ci_low=interval[0],
                    ci_high=interval[1],
                )
            )
            continue
        cells.append(
            ReleaseCell(
                **common,
                geo_name=c.name,
                status=c.status,
                pooled_into=c.pooled_into,
                rule=c.rule,
                parent_code=c.parent_code,
            )
        )
        detail: dict[str, Any] = {}
        sealed: int | None = None
        if c.status is CellStatus.POOLED:
            detail = {"into": c.pooled_into}
        else:
            sealed = table.numbers[c.den].value
            if c.status is CellStatus.SUPPRESSED_SECONDARY and c.protects:
                detail = {"protects": c.protects}
        cell_decisions.append(
            Decision(
                kind=c.status.value,  # type: ignore[arg-type]
                rule=c.rule,
                **common,
                status=c.status,
                threshold=c.threshold,
                detail=detail,
                sealed_count=sealed,
            )
        )
    audit_decisions: list[Decision] = []
    for check in sorted(checks, key=lambda ch: ch.target.number):
        if not check.ok:
            raise InternalError("AUDIT_FAILED", "a withheld count failed the final audit (a bug)")
        for ci, part in check.target.owners:
            c = table.cells[ci]
            audit_decisions.append(
                Decision(
                    kind="audit",
                    rule=Rule.AUDIT,
                    indicator=c.indicator,
                    breakdown=c.breakdown,
                    schooljaar=sj,
                    geo_level=c.level,
                    geo_code=c.code,
                    status=c.status,
                    detail={
                        "outcome": "pass",
                        "part": "numerator" if part == "num" else "denominator",
                    },
                    sealed_count=check.target.value,
                )
            )
    audit_decisions.sort(
        key=lambda d: (
            d.indicator or "",
            d.breakdown or "",
            d.geo_level or "",
            d.geo_code or "",
            d.detail["part"],
        )
    )
    wijkgroepen = {g.code: g for p in wijk_pooling.values() for g in p.groups}
    pooling: tuple[PoolingGroup, ...] = tuple(
        sorted((*wijkgroepen.values(), *regio_pooling.groups), key=lambda g: g.code)
    )
    return ProtectedDraft(
        schooljaar=sj,
        policy=policy_dict(policy),
        policy_hash=policy_hash(policy),
        percentage_basis=basis,
        cells=tuple(cells),
        pooling=pooling,
        decisions=tuple(decisions + cell_decisions + audit_decisions),
        dp=dp,
    )
