"""Request and response schemas: strict (``extra="forbid"``) and separate from internal types.

Response models list their fields explicitly, so an internal field (a cell's rule, a token hash,
a decision's sealed count) can only reach a client by someone adding it here on purpose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from disclosure.release import ReleaseCell
from disclosure.requests import MAX_GEMEENTEN, MAX_REASON, MAX_YEAR, MAX_YEARS, MIN_YEAR
from indicators.specs import INDICATORS, IndicatorSpec
from kansenkluis import geocodes
from kansenkluis.domain import CellStatus, GeoLevel, IndicatorId

GEMEENTE_PATTERN = geocodes.anchored(geocodes.GEMEENTE_PATTERN)
ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"
BREAKDOWN_PATTERN = r"^[a-z0-9_]{1,40}$"

GemeenteCode = Annotated[
    str, Field(pattern=GEMEENTE_PATTERN, description="CBS gemeentecode", examples=["GM0917"])
]
SchoolYear = Annotated[
    int, Field(ge=MIN_YEAR, le=MAX_YEAR, description="2022 means school year 2022/23")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(Strict):
    code: str = Field(description="stable machine-readable error code")
    message: str = Field(description="what went wrong")
    hint: str = Field(description="what to do about it")


class HealthOut(Strict):
    status: Literal["ok"]
    version: str


class MeOut(Strict):
    token_id: str
    role: str
    gemeenten: list[str] | None = Field(
        description="the gemeenten this token may see; null means all (not a regiocoordinator)"
    )
    name: str


class IndicatorOut(Strict):
    id: IndicatorId
    naam: str
    uitleg: str
    population: str
    population_description: str
    reference_year: str
    breakdowns: list[str]
    levels: list[GeoLevel]


class ReleaseSummaryOut(Strict):
    id: str
    schooljaar: int
    created_at: str
    data_fingerprint: str
    policy_hash: str


class DPOut(Strict):
    epsilon: float
    mechanism: str
    weights: dict[str, float]
    scales: dict[str, float]


class ReleaseOut(Strict):
    id: str
    schooljaar: int
    created_at: str
    data_fingerprint: str
    geography_fingerprint: str
    policy: dict[str, Any]
    policy_hash: str
    code_version: str
    dp: DPOut | None
    percentage_basis: Literal["exact", "rounded"]
    cell_count: int
    pooling_count: int
    run_report: dict[str, int] | None = Field(
        description="counts of the run (population sizes, pupils left out); only for "
        "outputchecker, auditor and operator"
    )


class CellOut(Strict):
    indicator: str
    breakdown: str
    schooljaar: int
    geo_level: GeoLevel
    geo_code: str
    geo_name: str
    numerator: int | None = Field(description="rounded (or noisy); null unless published")
    denominator: int | None = Field(description="rounded (or noisy); null unless published")
    percentage: float | None = Field(description="one decimal; null unless published")
    status: CellStatus
    pooled_into: str | None
    parent_code: str | None = Field(
        description="gemeentecode of a wijk or wijkgroep, region of a gemeente"
    )
    noise_scale: float | None
    ci_low: float | None
    ci_high: float | None

    @classmethod
    def of(cls, cell: ReleaseCell) -> CellOut:
        """A withheld or pooled cell goes out with its status and no numbers, whatever it holds.

        The rule behind a suppression is left out on purpose: "group disclosure" would tell
        the reader that everyone in a small group shares the outcome, which is the very thing
        that rule protects. Auditors read rules in the signed suppression log.
        """
        published = cell.status == CellStatus.PUBLISHED
        return cls(
            indicator=cell.indicator,
            breakdown=cell.breakdown,
            schooljaar=cell.schooljaar,
            geo_level=cell.geo_level,
            geo_code=cell.geo_code,
            geo_name=cell.geo_name,
            numerator=cell.numerator if published else None,
            denominator=cell.denominator if published else None,
            percentage=cell.percentage if published else None,
            status=cell.status,
            pooled_into=cell.pooled_into,
            parent_code=cell.parent_code,
            noise_scale=cell.noise_scale if published else None,
            ci_low=cell.ci_low if published else None,
            ci_high=cell.ci_high if published else None,
        )


class CellPage(Strict):
    release_id: str
    items: list[CellOut]
    total: int = Field(description="cells matching the filters that this token may see")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class PoolingGroupOut(Strict):
    code: str
    name: str
    level: GeoLevel
    members: list[str]
    gemeentecode: str | None


class PoolingOut(Strict):
    release_id: str
    groups: list[PoolingGroupOut]


class _RequestBase(Strict):
    #: narrowed per indicator by ``_request_model``
    indicator: str
    breakdown: str
    years: list[SchoolYear] = Field(min_length=1, max_length=MAX_YEARS)
    gemeenten: list[GemeenteCode] = Field(min_length=1, max_length=MAX_GEMEENTEN)


def _request_model(spec: IndicatorSpec) -> type[_RequestBase]:
    """One body schema per indicator, so the document says exactly which breakdowns it has."""
    name = "Request" + "".join(part.capitalize() for part in spec.id.value.split("_"))
    indicator: Any = Literal[spec.id.value]
    breakdowns: Any = Literal[tuple(spec.breakdowns)]
    model: type[_RequestBase] = create_model(
        name,
        __base__=_RequestBase,
        __doc__=f"An aggregate request for {spec.naam}.",
        indicator=(indicator, ...),
        breakdown=(breakdowns, ...),
    )
    return model


_REQUEST_MODELS = tuple(_request_model(spec) for spec in INDICATORS.values())
#: An aggregate request (published figures that no release holds yet), one schema per
#: indicator; routes take it as ``Annotated[RequestIn, Body(discriminator="indicator")]``.
if TYPE_CHECKING:
    RequestIn = _RequestBase
else:
    RequestIn = Union[_REQUEST_MODELS]  # noqa: UP007 - a union built at runtime


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=1, max_length=MAX_REASON, pattern=r"\S")


class RequestEventOut(Strict):
    seq: int
    at: str
    from_state: str | None
    to_state: str
    actor: str = Field(description="token id of the requester or checker, or 'worker'")
    reason: str | None
    release_id: str | None


class RequestOut(Strict):
    id: str
    requester_token_id: str
    indicator: str
    breakdown: str
    years: list[int]
    gemeenten: list[str]
    state: Literal["pending", "approved", "running", "rejected", "answered", "failed"]
    created_at: str
    updated_at: str
    checker_token_id: str | None
    decision_reason: str | None
    release_ids: list[str] = Field(
        description="the releases (one per school year) that answer it, once answered"
    )
    failure_reason: str | None
    history: list[RequestEventOut]


class RequestList(Strict):
    items: list[RequestOut]


class TokenOut(Strict):
    id: str
    role: str
    gemeenten: list[str]
    name: str
    person: str | None = Field(
        description="who holds the token (normalised); null for a token made before persons"
    )
    created_at: str
    expires_at: str = Field(description="after this moment the token answers 401")
    revoked_at: str | None


class TokenList(Strict):
    items: list[TokenOut]


class LogOut(Strict):
    release_id: str
    entries: list[dict[str, Any]] = Field(description="the hash-chained, signed log entries")
    public_key_pem: str


class VerifyOut(Strict):
    release_id: str
    ok: bool
    failures: list[str]
    checked: dict[str, int] = Field(description="what was checked, with counts")
