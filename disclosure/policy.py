"""The disclosure policy: one versioned TOML file holding every risk knob of docs/disclosure.md.

The shipped default (``kansenkluis/data/policy.toml``) is the floor. A file may be stricter
anywhere; to be weaker on any knob it must say ``allow_weaker_than_default = true``, and every
weakened knob is then named in the suppression log (``protect`` adds a ``policy`` decision).
The policy's hash (sha256 of its canonical JSON) goes into every release, so a reader can tell
exactly which rules a release was made under.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from indicators.specs import INDICATORS
from kansenkluis.config import package_data
from kansenkluis.domain import IndicatorId, PopulationId
from kansenkluis.errors import PolicyRefusal, UserError

POLICY_VERSION: Literal[1] = 1
DEFAULT_POLICY_FILE = "policy.toml"

#: Indicators published per wijk; a pooling criterion may name one of these or a population.
_WIJK_INDICATORS = tuple(
    i.value for i, spec in INDICATORS.items() if "wijk" in {lvl.value for lvl in spec.levels}
)
_WIJK_POPULATIONS = tuple(
    sorted({INDICATORS[IndicatorId(i)].population.value for i in _WIJK_INDICATORS})
)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PrimaryPolicy(_Section):
    """Rules applied to each cell on its own."""

    #: a percentage is published only if its denominator is at least this (CBS floor: 10)
    min_cell: int = Field(default=10, ge=1)
    #: a percentage of 0 or 100 is published only if its denominator is at least this
    group_disclosure_min: int = Field(default=20, ge=0)
    #: Kansenkaart's rule: numerator and denominator minus numerator each at least k
    complement_rule: bool = False
    complement_k: int = Field(default=10, ge=1)


class CostPolicy(_Section):
    """What a complement costs readers: the pupils of its item (its largest count) times the
    factors that apply. Secondary suppression withholds the cheapest complements that protect.

    These knobs weigh utility, not safety: the audit proves every release whatever they are.
    """

    #: factor per level of the complement; a gemeente (or region) figure is only chosen where
    #: no set of wijk or wijkgroep figures can give the protection, the national one last
    wijk: float = Field(default=1.0, gt=0)
    #: a wijkgroep figure stands for several wijken, so withholding it costs more wijken a figure
    wijkgroep: float = Field(default=1.5, gt=0)
    gemeente: float = Field(default=100.0, gt=0)
    regio: float = Field(default=100.0, gt=0)
    land: float = Field(default=1000.0, gt=0)
    #: a cell withheld in the previous school year's release costs this share: complements
    #: that stay the same across years tell readers less that is new
    withheld_last_year: float = Field(default=0.5, gt=0)
    #: a complement whose secondary status alone would narrow its own denominator
    #: (a denominator v with v - p(v) below the minimum cell: 10 to 12 by default)
    unsafe: float = Field(default=100.0, ge=1)
    #: a complement whose denominator is below the group minimum (its status then says its
    #: percentage lies strictly between 0 and 100, which narrows a small numerator)
    fragile: float = Field(default=10.0, ge=1)


class SecondaryPolicy(_Section):
    """How far the interval of a withheld count must reach: p = max(protection_min, share * v),
    and what complements cost (``cost``)."""

    protection_min: float = Field(default=3.0, ge=0)
    protection_share: float = Field(default=0.15, ge=0, le=1)
    #: ask a withheld count to reach no higher than one published count of a larger unit
    #: containing it allows on its own (a gemeente shown as 0 says "at most 2" of each of its
    #: wijken; that figure passed the primary rules). false: protect up to v + p regardless,
    #: which withholds such gemeente figures as complements (docs/disclosure.md)
    cap_by_published_parent: bool = True
    cost: CostPolicy = CostPolicy()


class RoundingPolicy(_Section):
    #: published counts are rounded to a multiple of this; 1 means no rounding
    base: int = Field(default=5, ge=1)
    percentage_decimals: int = Field(default=1, ge=0, le=4)
    #: "rounded": the percentage is computed from the published (rounded) counts, so it adds
    #: nothing to them; "exact": from the exact counts (the audit then treats it as a constraint)
    percentage_basis: Literal["exact", "rounded"] = "rounded"


class PoolingPolicy(_Section):
    #: a wijk is pooled while any criterion's denominator is below this
    wijk_min: int = Field(default=10, ge=1)
    #: a wijkgroep (two or more wijken) keeps merging while any criterion is below this; it is
    #: about utility (a group of 10-19 often shows 0% or 100% and is withheld after all), the
    #: audit proves safety whatever its value, so it is no safety knob
    wijkgroep_min: int = Field(default=15, ge=1)
    #: which denominators decide wijk pooling: an indicator id (each of its breakdowns) or a
    #: population id (the whole population of the wijk)
    wijk_criteria: tuple[str, ...] = (
        "heroverweging",
        "stapelen_vo",
        "stapelen_mbo",
        "transitie",
    )
    #: opleidingsmobiliteit: each known parents' group of a region pool has at least this many
    regio_min_group: int = Field(default=50, ge=1)
    #: ... and the pupils with unknown parents' education are at most this share of the pool
    regio_max_onbekend_share: float = Field(default=0.20, ge=0, le=1)

    @field_validator("wijk_criteria")
    @classmethod
    def _known_criteria(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = set(_WIJK_INDICATORS) | set(_WIJK_POPULATIONS)
        unknown = [c for c in value if c not in allowed]
        if unknown:
            raise ValueError(
                f"unknown pooling criteria {unknown}; use indicator ids "
                f"{', '.join(_WIJK_INDICATORS)} or population ids {', '.join(_WIJK_POPULATIONS)}"
            )
        if not value:
            raise ValueError("name at least one pooling criterion")
        return value


def _default_weights() -> dict[str, float]:
    return {p.value: 1.0 for p in PopulationId}


class DPPolicy(_Section):
    """Differential privacy (optional, per ``kluis run --epsilon``)."""

    mechanism: Literal["discrete_laplace", "discrete_gaussian"] = "discrete_laplace"
    #: total epsilon that all releases of one dataset may spend together
    epsilon_limit: float = Field(default=4.0, gt=0)
    #: share of a release's epsilon per population (normalised)
    weights: dict[str, float] = Field(default_factory=_default_weights)


class Policy(BaseModel):
    """Every docs/disclosure.md knob; validated on load, hashed into every release."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = POLICY_VERSION
    allow_weaker_than_default: bool = False
    primary: PrimaryPolicy = PrimaryPolicy()
    secondary: SecondaryPolicy = SecondaryPolicy()
    rounding: RoundingPolicy = RoundingPolicy()
    pooling: PoolingPolicy = PoolingPolicy()
    dp: DPPolicy = DPPolicy()

    def protection(self, v: float) -> float:
        """p (docs/disclosure.md): how far a withheld count's interval must reach either side."""
        return max(self.secondary.protection_min, self.secondary.protection_share * v)


def default_policy_path() -> Path:
    return package_data(DEFAULT_POLICY_FILE)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_policy(path: Path | None = None) -> Policy:
    """Read and validate a policy file (None: the shipped default).

    A malformed file raises ``UserError`` naming the file and the key; a policy weaker than the
    default without ``allow_weaker_than_default = true`` raises ``PolicyRefusal`` (exit 4).
    """
    source = default_policy_path() if path is None else Path(path)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            "POLICY_NOT_FOUND", f"{source}: no such policy file", hint="check the --policy path"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(
            "POLICY_INVALID",
            f"{source}: not valid TOML ({exc})",
            hint="fix the syntax; see kansenkluis/data/policy.toml for the format",
        ) from None
    except UnicodeDecodeError:
        raise UserError(
            "POLICY_INVALID", f"{source}: not UTF-8 text", hint="save the policy as UTF-8"
        ) from None
    return policy_from_mapping(raw, source=str(source))


def policy_from_mapping(raw: Mapping[str, Any], source: str = "policy") -> Policy:
    """Validate a parsed policy (see ``load_policy``)."""
    try:
        policy = Policy.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _where(tuple(first["loc"]))
        if first["type"] == "extra_forbidden":
            message = f"{source}: unknown key '{key}'"
            hint = "remove it or correct its spelling; see kansenkluis/data/policy.toml"
        else:
            message = f"{source}: key '{key}': {first['msg']}"
            hint = "see kansenkluis/data/policy.toml for the allowed values"
        raise UserError("POLICY_INVALID", message, hint=hint) from None
    check_not_weaker(policy, source)
    return policy


def weakened_knobs(policy: Policy) -> list[str]:
    """Each knob on which ``policy`` is weaker than the shipped default, as 'section.key'."""
    d = Policy()
    p = policy
    out: list[str] = []

    def weaker(name: str, condition: bool) -> None:
        if condition:
            out.append(name)

    weaker("primary.min_cell", p.primary.min_cell < d.primary.min_cell)
    weaker(
        "primary.group_disclosure_min",
        p.primary.group_disclosure_min < d.primary.group_disclosure_min,
    )
    if d.primary.complement_rule:  # pragma: no cover - the default has the rule off
        weaker("primary.complement_rule", not p.primary.complement_rule)
        weaker("primary.complement_k", p.primary.complement_k < d.primary.complement_k)
    weaker("secondary.protection_min", p.secondary.protection_min < d.secondary.protection_min)
    weaker(
        "secondary.protection_share",
        p.secondary.protection_share < d.secondary.protection_share,
    )
    weaker("rounding.base", p.rounding.base < d.rounding.base)
    weaker(
        "rounding.percentage_decimals",
        p.rounding.percentage_decimals > d.rounding.percentage_decimals,
    )
    # Percentages of exact counts carry information beyond the rounded counts.
    weaker(
        "rounding.percentage_basis",
        p.rounding.percentage_basis == "exact" and d.rounding.percentage_basis == "rounded",
    )
    weaker("pooling.wijk_min", p.pooling.wijk_min < d.pooling.wijk_min)
    weaker(
        "pooling.wijk_criteria",
        not set(d.pooling.wijk_criteria) <= set(p.pooling.wijk_criteria),
    )
    weaker("pooling.regio_min_group", p.pooling.regio_min_group < d.pooling.regio_min_group)
    weaker(
        "pooling.regio_max_onbekend_share",
        p.pooling.regio_max_onbekend_share > d.pooling.regio_max_onbekend_share,
    )
    weaker("dp.epsilon_limit", p.dp.epsilon_limit > d.dp.epsilon_limit)
    return out


def check_not_weaker(policy: Policy, source: str = "policy") -> list[str]:
    """The weakened knobs; raises ``PolicyRefusal`` if there are any and they are not allowed."""
    weak = weakened_knobs(policy)
    if weak and not policy.allow_weaker_than_default:
        raise PolicyRefusal(
            "POLICY_WEAKER_THAN_DEFAULT",
            f"{source}: weaker than the default policy on {', '.join(weak)}",
            hint="use the default values, or set allow_weaker_than_default = true "
            "(every weakened knob is then recorded in the suppression log)",
        )
    return weak


def policy_dict(policy: Policy) -> dict[str, Any]:
    """The policy as release.json holds it (plain JSON values)."""
    return policy.model_dump(mode="json")


def canonical_json(value: Any) -> str:
    # The same canonical form as the suppression log (sorted keys, no spaces, UTF-8), so that
    # the hash in a release can be recomputed from release.json alone.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def policy_hash(policy: Policy) -> str:
    """sha256 of the canonical JSON of the policy."""
    return hashlib.sha256(canonical_json(policy_dict(policy)).encode("utf-8")).hexdigest()
