"""The Release: the only thing that crosses out of the sealed side.

A ``Release`` is frozen and holds only protected figures: rounded (or noisy) counts of published
cells, statuses of withheld ones, the pooling map, the policy and its hash, and the signed
suppression log as JSON lines. ``Decision`` records are what disclosure control decides per cell;
they become log entries (``disclosure.log``) and never leave the sealed side themselves, because a
decision may carry the true count for the sealed-side commitment (``sealed_count``, excluded from
every serialisation).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kansenkluis.domain import CellStatus, GeoLevel, Rule

#: Column order of cells.csv (docs/release-format.md, contract).
CELL_CSV_COLUMNS: tuple[str, ...] = (
    "indicator",
    "breakdown",
    "schooljaar",
    "geo_level",
    "geo_code",
    "geo_name",
    "numerator",
    "denominator",
    "percentage",
    "status",
    "pooled_into",
)

PercentageBasis = Literal["exact", "rounded"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReleaseCell(_Frozen):
    """One published or withheld figure. Withheld and pooled cells carry no numbers."""

    indicator: str
    breakdown: str
    schooljaar: int
    geo_level: GeoLevel
    geo_code: str
    geo_name: str
    numerator: int | None = None
    denominator: int | None = None
    percentage: float | None = None
    status: CellStatus
    pooled_into: str | None = None
    #: the rule behind the status (Rule.PUBLISHED for published cells)
    rule: Rule = Rule.PUBLISHED
    #: gemeentecode for wijk/wijkgroep cells, regio for gemeente cells, None for regio/land
    parent_code: str | None = None
    #: under differential privacy: the noise scale and a 95% interval of the percentage
    noise_scale: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def key(self) -> tuple[str, str, int, str, str]:
        return (
            self.indicator,
            self.breakdown,
            self.schooljaar,
            self.geo_level.value,
            self.geo_code,
        )

    def csv_row(self) -> dict[str, Any]:
        """The cells.csv row (docs/release-format.md) (empty strings for missing values)."""
        row = self.model_dump(mode="json", include=set(CELL_CSV_COLUMNS))
        return {c: ("" if row[c] is None else row[c]) for c in CELL_CSV_COLUMNS}


class PoolingGroup(_Frozen):
    """A named pool: wijken merged into a wijkgroep, or gemeenten merged into a region pool."""

    code: str
    name: str
    level: GeoLevel
    members: tuple[str, ...]
    #: the gemeente of a wijkgroep; None for a region pool
    gemeentecode: str | None = None
    #: the populations whose pooling map has this wijkgroep (their indicators show it); empty
    #: for a region pool (opleidingsmobiliteit's only)
    populations: tuple[str, ...] = ()


class DPParams(_Frozen):
    epsilon: float
    mechanism: str
    #: share of epsilon per population (sums to 1)
    weights: dict[str, float]
    #: noise scale per population
    scales: dict[str, float]


class Decision(_Frozen):
    """One disclosure decision (ACRO-style finding): data, not an exception."""

    kind: Literal[
        "published",
        "suppressed_primary",
        "suppressed_secondary",
        "pooled",
        "noise",
        "audit",
        "policy",
        "budget",
    ]
    rule: Rule
    indicator: str | None = None
    breakdown: str | None = None
    schooljaar: int | None = None
    geo_level: GeoLevel | None = None
    geo_code: str | None = None
    status: CellStatus | None = None
    threshold: float | None = None
    #: free, non-sensitive detail: members of a pool, the parent a secondary cell protects,
    #: noise mechanism and scale, audit outcome ("pass"), weakened policy flags ...
    detail: dict[str, Any] = Field(default_factory=dict)
    #: the true count behind a withheld cell, for the sealed-side commitment only; never serialised
    sealed_count: int | None = Field(default=None, exclude=True, repr=False)


class Release(_Frozen):
    id: str
    schooljaar: int
    created_at: str
    data_fingerprint: str
    geography_fingerprint: str
    policy: dict[str, Any]
    policy_hash: str
    code_version: str
    dp: DPParams | None = None
    percentage_basis: PercentageBasis
    cells: tuple[ReleaseCell, ...]
    pooling: tuple[PoolingGroup, ...] = ()
    #: the signed, hash-chained suppression log, one JSON document per line
    suppression_log: tuple[str, ...] = ()
    #: PEM of the Ed25519 public key that verifies the log
    public_key_pem: str = ""
    #: counts only: population sizes, pupils left out, link rates
    run_report: dict[str, int] = Field(default_factory=dict)
    #: per "indicator/breakdown": wijken with their own figure, via a wijkgroep, withheld;
    #: gemeente rows withheld; pupils outside wijk figures (``disclosure.utility``, computed
    #: from the cells alone)
    utility: dict[str, dict[str, int | None]] = Field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """release.json: everything but the cells and the log."""
        return self.model_dump(mode="json", exclude={"cells", "suppression_log", "public_key_pem"})


class ProtectedDraft(_Frozen):
    """What disclosure control produces for one reference year, before it is signed.

    ``disclosure.protect.protect`` builds it; ``disclosure.log.seal`` turns it into a signed
    ``Release``. It never leaves the sealed side: ``decisions`` may carry sealed counts.
    """

    schooljaar: int
    policy: dict[str, Any]
    policy_hash: str
    percentage_basis: PercentageBasis
    cells: tuple[ReleaseCell, ...]
    pooling: tuple[PoolingGroup, ...] = ()
    decisions: tuple[Decision, ...] = ()
    dp: DPParams | None = None


class EarlierRelease(_Frozen):
    """An earlier release as an attacker holds it, for ``protect``'s ``prior``.

    Every cell (published figures, the statuses of withheld cells, pooled rows), the policy it
    was made under and whether its figures were noisy. ``same_data``: made from the same
    ingested dataset (``data_fingerprint``); statuses of a release of other data, or of a noisy
    one, say nothing exact about these counts, so only its published figures are used.
    """

    schooljaar: int
    policy: dict[str, Any]
    cells: tuple[ReleaseCell, ...]
    noisy: bool = False
    same_data: bool = True

    @classmethod
    def of(cls, release: Release | ProtectedDraft, *, same_data: bool = True) -> EarlierRelease:
        return cls(
            schooljaar=release.schooljaar,
            policy=release.policy,
            cells=release.cells,
            noisy=release.dp is not None,
            same_data=same_data,
        )

    def published(self) -> list[ReleaseCell]:
        return [c for c in self.cells if c.status is CellStatus.PUBLISHED]
