"""The CBS layout mapping: which files, which columns, which codes (``cbs-layout.toml``).

The mapping is data, not code: a user whose delivery differs edits a copy and passes it with
``--mapping``. It is validated here with pydantic, so that a typo in it is reported as a mapping
problem (with the key to fix) before any microdata is read.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kansenkluis.config import package_data
from kansenkluis.domain import ADVICE_CODES, HO_SOORTEN, MBO_LEVELS, OPLEIDINGSNIVEAUS
from kansenkluis.errors import UserError

DEFAULT_MAPPING = "cbs-layout.toml"

#: The roles (column keys) every table of the mapping must name.
ROLES: Mapping[str, tuple[str, ...]] = {
    "GBAPERSOONTAB": ("soort", "rin", "geboortejaar", "geboortemaand"),
    "KINDOUDERTAB": ("soort", "rin", "soort_ma", "rin_ma", "soort_pa", "rin_pa"),
    "HOOGSTEOPLTAB": ("soort", "rin", "niveau"),
    "GBAADRESOBJECTBUS": ("soort", "rin", "soort_object", "object", "begin", "einde"),
    "VSLGWBTAB": ("soort_object", "object", "wijk"),
    "NIETVSLGWBTAB": ("soort_object", "object", "wijk"),
    "geografie": (),
    "INSCHRWPOTAB": ("soort", "rin", "leerjaar", "brin", "schooladvies", "toetsadvies", "herzien"),
    "ONDERWIJSINSCHRTAB": ("soort", "rin", "oplnr", "type", "leerjaar", "brin"),
    "DIPLOMAMBOTAB": ("soort", "rin", "oplnr", "datum"),
    "VOEXAMENTAB": ("soort", "rin", "oplnr", "uitslag"),
    "OPLEIDINGSNRREF": ("oplnr", "cto", "soort_vo"),
    "CTOREF": ("cto", "niveau"),
}

#: What each code list maps onto.
CODE_TARGETS: Mapping[str, tuple[str, ...]] = {
    "onderwijstype": ("vo", "mbo", "ho"),
    "advies": ADVICE_CODES,
    "vo_niveau": ADVICE_CODES,
    "soi_mbo": tuple(str(level) for level in MBO_LEVELS),
    "soi_ho": HO_SOORTEN,
    "soi_opleiding": OPLEIDINGSNIVEAUS,
    "uitslag": ("true", "false"),
}

_PATTERN_TOKENS = re.compile(r"\{jaar\}|\{versie\}|\*")


def normalise_code(value: str) -> str:
    """A code as compared: trimmed, and without leading zeros if it is a number."""
    v = value.strip()
    if v.isdigit():
        return v.lstrip("0") or "0"
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class YearColumn(_Strict):
    """A column whose name depends on the file's year (e.g. SOI 2016 up to 2018, 2021 after)."""

    name: str
    from_: int | None = Field(default=None, alias="from")
    to: int | None = None

    def covers(self, year: int | None) -> bool:
        if year is None:
            return self.from_ is None and self.to is None
        return (self.from_ is None or year >= self.from_) and (self.to is None or year <= self.to)


class TableSpec(_Strict):
    folder: str
    file: str
    per_year: bool = False
    required: bool = True
    certain: bool = True
    columns: dict[str, str | list[YearColumn]]
    groep8: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _pattern_ok(self) -> TableSpec:
        if "/" in self.file or "\\" in self.file:
            raise ValueError("file is a file name pattern; put folders in folder")
        if self.per_year and "{jaar}" not in self.file:
            raise ValueError("a per_year table needs {jaar} in its file pattern")
        return self

    def regex(self) -> re.Pattern[str]:
        def token(m: re.Match[str]) -> str:
            return {"{jaar}": r"(?P<jaar>\d{4})", "{versie}": r"(?P<versie>\d+)", "*": ".*?"}[
                m.group(0)
            ]

        parts, last = [], 0
        for m in _PATTERN_TOKENS.finditer(self.file):
            parts.append(re.escape(self.file[last : m.start()]))
            parts.append(token(m))
            last = m.end()
        parts.append(re.escape(self.file[last:]))
        return re.compile("".join(parts), re.IGNORECASE)

    def column(self, role: str, year: int | None, geography_year: int) -> str | None:
        """The column that plays ``role`` in a file of ``year`` (None: no column for that year)."""
        spec = self.columns[role]
        if isinstance(spec, str):
            return spec.replace("{geojaar}", str(geography_year))
        for option in spec:
            if option.covers(year):
                return option.name.replace("{geojaar}", str(geography_year))
        return None


class CodeList(_Strict):
    map: dict[str, str]
    missing: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    certain: bool = True

    def normalised(self) -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
        return (
            {normalise_code(k): v for k, v in self.map.items()},
            frozenset(normalise_code(c) for c in self.missing),
            frozenset(normalise_code(c) for c in self.ignore),
        )


class CbsMapping(_Strict):
    version: Literal[1]
    geography_year: int = Field(ge=1990, le=2100)
    reference_date: str = Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
    person_type: str = Field(min_length=1)
    first_year: int | None = None
    last_year: int | None = None
    tables: dict[str, TableSpec]
    codes: dict[str, CodeList]

    @model_validator(mode="after")
    def _complete(self) -> CbsMapping:
        for name, roles in ROLES.items():
            if name not in self.tables:
                raise ValueError(f"tables.{name} is missing")
            absent = [r for r in roles if r not in self.tables[name].columns]
            if absent:
                raise ValueError(f"tables.{name}.columns needs {', '.join(absent)}")
        unknown = sorted(set(self.tables) - set(ROLES))
        if unknown:
            raise ValueError(f"tables.{unknown[0]} is not a table of the CBS layout")
        for name, targets in CODE_TARGETS.items():
            if name not in self.codes:
                raise ValueError(f"codes.{name} is missing")
            codes = self.codes[name]
            for code, value in codes.map.items():
                if value not in targets:
                    raise ValueError(
                        f"codes.{name}.map: code {code!r} maps onto {value!r}, "
                        f"not one of {', '.join(targets)}"
                    )
            mapped, missing, ignore = codes.normalised()
            both = (set(mapped) & missing) | (set(mapped) & ignore) | (missing & ignore)
            if both:
                raise ValueError(f"codes.{name}: code {sorted(both)[0]!r} is listed twice")
            if len(mapped) != len(codes.map):
                raise ValueError(f"codes.{name}.map lists one code twice (e.g. '01' and '1')")
        return self

    def in_years(self, year: int) -> bool:
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )


def default_mapping_path() -> Path:
    return package_data(DEFAULT_MAPPING)


def load_mapping(path: Path | None = None) -> CbsMapping:
    """The shipped mapping, or the user's; a bad mapping is a ``UserError`` naming the key."""
    source = path or default_mapping_path()
    shown = source.name
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            "MAPPING_NOT_FOUND",
            f"mapping file {source} does not exist",
            hint="pass an existing file with --mapping, or leave --mapping out for the shipped one",
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(
            "MAPPING_INVALID",
            f"mapping file {shown} is not valid TOML ({e})",
            hint="compare it with the shipped kansenkluis/data/cbs-layout.toml",
        ) from None
    try:
        return CbsMapping.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UserError(
            "MAPPING_INVALID",
            f"mapping file {shown}: {where}: {first['msg']}",
            hint="fix that key; docs/cbs-layout.md describes every entry of the mapping",
        ) from None
