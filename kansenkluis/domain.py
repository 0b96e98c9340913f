"""Data-free value types shared by every layer: codes, ids, geography and aggregate tables.

Nothing here holds a pupil row. ``AggregateTable`` holds *exact counts per wijk and outcome
category*; it is what the sealed engine hands to disclosure control (via the pipeline).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import pandas as pd

from kansenkluis.geocodes import GEMEENTE_PATTERN, WIJK_PATTERN
from kansenkluis.geocodes import LAND_CODE as LAND_CODE
from kansenkluis.geocodes import LAND_NAME as LAND_NAME

# --- codes (docs/input-tables.md) ---------------------------------------------------------

#: Advice and vo-level codes in ascending *advice position* 0-9.
ADVICE_CODES: tuple[str, ...] = (
    "pro",
    "vmbo_b",
    "vmbo_bk",
    "vmbo_k",
    "vmbo_kgt",
    "vmbo_gt",
    "vmbo_gt_havo",
    "havo",
    "havo_vwo",
    "vwo",
)
ADVICE_POSITION: Mapping[str, int] = {code: pos for pos, code in enumerate(ADVICE_CODES)}

#: CBS's five single levels, ranked for transitions; pro and combined classes have no rank.
SINGLE_LEVEL_RANK: Mapping[str, int] = {"vmbo_b": 1, "vmbo_k": 2, "vmbo_gt": 3, "havo": 4, "vwo": 5}

#: The origin group of a single level, used as breakdown of the transition indicators.
ORIGIN_GROUP: Mapping[str, str] = {
    "vmbo_b": "vmbo",
    "vmbo_k": "vmbo",
    "vmbo_gt": "vmbo",
    "havo": "havo",
    "vwo": "vwo",
}

EXAM_LEVELS: tuple[str, ...] = ("vmbo_b", "vmbo_k", "vmbo_gt", "havo", "vwo")
MBO_LEVELS: tuple[int, ...] = (1, 2, 3, 4)
HO_SOORTEN: tuple[str, ...] = ("hbo", "wo")
OPLEIDINGSNIVEAUS: tuple[str, ...] = (
    "basis",
    "mbo1",
    "mbo2",
    "mbo3",
    "mbo4",
    "havo_vwo",
    "hbo",
    "wo",
)
#: Parents' education group of a person's highest ``opleidingsniveau`` (docs/indicators.md).
PARENT_GROUP: Mapping[str, str] = {
    "basis": "max_mbo2",
    "mbo1": "max_mbo2",
    "mbo2": "max_mbo2",
    "mbo3": "mbo3_4",
    "mbo4": "mbo3_4",
    "havo_vwo": "mbo3_4",
    "hbo": "hoger_onderwijs",
    "wo": "hoger_onderwijs",
}
PARENT_GROUPS: tuple[str, ...] = ("max_mbo2", "mbo3_4", "hoger_onderwijs", "onbekend")
HAVO_VWO_LEVELS: frozenset[str] = frozenset({"havo", "havo_vwo", "vwo"})

TOTAAL = "totaal"

# --- the input tables (docs/input-tables.md) ------------------------------------------------

ColumnKind = Literal["rin", "text", "int", "bool", "code"]

#: The SQL type a column of each kind has once parsed (DuckDB).
SQL_TYPE: Mapping[ColumnKind, str] = {
    "rin": "VARCHAR",
    "text": "VARCHAR",
    "int": "INTEGER",
    "bool": "BOOLEAN",
    "code": "VARCHAR",
}


@dataclass(frozen=True)
class InputColumn:
    """One column of an input table and the rules the ingest checks it against.

    ``kind``: ``rin`` a person key (re-pseudonymised on ingest), ``text``, ``int`` a whole
    number, ``bool`` a yes/no value, ``code`` a text code from ``codes``. An ``int`` column may
    have ``codes`` too (mbo levels). ``bounds`` are inclusive; the error code of a value outside
    them is ``bounds_code``.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    codes: tuple[str, ...] | tuple[int, ...] = ()
    what: str = ""  # e.g. "advice code", for "is not a known advice code"
    bounds: tuple[int, int] | None = None
    bounds_code: str = "INGEST_OUT_OF_RANGE"
    pattern: str | None = None
    pattern_what: str = ""
    #: the text reaches published output (cells.csv, factsheets, the API): no formula start
    published: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPE[self.kind]


def _rin(name: str = "rin", required: bool = True) -> InputColumn:
    return InputColumn(name, "rin", required)


def _schooljaar() -> InputColumn:
    return InputColumn(
        "schooljaar", "int", bounds=(2000, 2035), bounds_code="INGEST_IMPLAUSIBLE_YEAR"
    )


def _advice(name: str, required: bool = False) -> InputColumn:
    return InputColumn(name, "code", required, codes=ADVICE_CODES, what="advice code")


_WIJKCODE = InputColumn("wijkcode", "text", pattern=WIJK_PATTERN, pattern_what="CBS wijkcode")

#: The input tables and their columns, in order: the one declaration of the input schema.
INPUT_COLUMNS: Mapping[str, tuple[InputColumn, ...]] = {
    "po_advies": (
        _rin(),
        _schooljaar(),
        InputColumn("brin", "text", required=False),
        _advice("schooladvies"),
        _advice("toetsadvies"),
        _advice("advies_definitief"),
    ),
    "vo_inschrijving": (
        _rin(),
        _schooljaar(),
        InputColumn("brin", "text", required=False),
        InputColumn("niveau", "code", codes=ADVICE_CODES, what="vo level"),
        InputColumn("leerjaar", "int", bounds=(1, 6)),
    ),
    "vo_examen": (
        _rin(),
        _schooljaar(),
        InputColumn("niveau", "code", codes=EXAM_LEVELS, what="exam level"),
        InputColumn("geslaagd", "bool"),
    ),
    "mbo_inschrijving": (
        _rin(),
        _schooljaar(),
        InputColumn("niveau", "int", codes=MBO_LEVELS, what="mbo level"),
    ),
    "mbo_diploma": (
        _rin(),
        _schooljaar(),
        InputColumn("niveau", "int", codes=MBO_LEVELS, what="mbo level"),
    ),
    "ho_inschrijving": (
        _rin(),
        _schooljaar(),
        InputColumn("soort", "code", codes=HO_SOORTEN, what="kind of higher education"),
    ),
    "persoon": (
        _rin(),
        # Unknown birth dates exist in the person register; the engine reports them.
        InputColumn(
            "geboortejaar",
            "int",
            required=False,
            bounds=(1900, 2030),
            bounds_code="INGEST_IMPLAUSIBLE_YEAR",
        ),
        InputColumn("geboortemaand", "int", required=False, bounds=(1, 12)),
    ),
    "kind_ouder": (_rin(), _rin("rin_ouder1", False), _rin("rin_ouder2", False)),
    "hoogste_opleiding": (
        _rin(),
        InputColumn("opleidingsniveau", "code", codes=OPLEIDINGSNIVEAUS, what="education level"),
    ),
    "adres": (_rin(), _schooljaar(), _WIJKCODE),
    "geografie": (
        _WIJKCODE,
        InputColumn("wijknaam", "text", published=True),
        InputColumn("gemeentecode", "text", pattern=GEMEENTE_PATTERN, pattern_what="gemeentecode"),
        InputColumn("gemeentenaam", "text", published=True),
        InputColumn("regio", "text", published=True),
        InputColumn("buren", "text", required=False),
    ),
}

#: The input tables and their column names, in order.
INPUT_TABLES: Mapping[str, tuple[str, ...]] = {
    table: tuple(c.name for c in columns) for table, columns in INPUT_COLUMNS.items()
}

#: Columns that hold a person key and are re-pseudonymised on ingest.
PERSON_KEY_COLUMNS: Mapping[str, tuple[str, ...]] = {
    table: tuple(c.name for c in columns if c.kind == "rin")
    for table, columns in INPUT_COLUMNS.items()
    if table != "geografie"
}


# --- ids and enums ------------------------------------------------------------------------


class IndicatorId(StrEnum):
    HEROVERWEGING = "heroverweging"
    BIJSTELLING = "bijstelling"
    STAPELEN_VO = "stapelen_vo"
    STAPELEN_MBO = "stapelen_mbo"
    OPSTROOM = "opstroom"
    AFSTROOM = "afstroom"
    ZITTENBLIJVEN = "zittenblijven"
    OPLEIDINGSMOBILITEIT = "opleidingsmobiliteit"


class PopulationId(StrEnum):
    """A population puts each pupil of a reference year in exactly one outcome category."""

    GROEP8 = "groep8"  # groep-8 pupils with schooladvies and toetsadvies
    VMBO_GT_GESLAAGD = "vmbo_gt_geslaagd"  # passed vmbo_gt exam in t
    MBO4_DIPLOMA = "mbo4_diploma"  # mbo level-4 diploma in t
    TRANSITIE = "transitie"  # the transition population of t
    VEERTIENJARIGEN = "veertienjarigen"  # aged 14 on 1 October of t, enrolled in vo in t


class GeoLevel(StrEnum):
    WIJK = "wijk"
    WIJKGROEP = "wijkgroep"
    GEMEENTE = "gemeente"
    REGIO = "regio"
    LAND = "land"


class CellStatus(StrEnum):
    PUBLISHED = "published"
    SUPPRESSED_PRIMARY = "suppressed_primary"
    SUPPRESSED_SECONDARY = "suppressed_secondary"
    POOLED = "pooled"


class Rule(StrEnum):
    """Why a cell got its status; the id is what the suppression log records."""

    PUBLISHED = "published"
    MIN_CELL = "min_cell"
    GROUP_DISCLOSURE = "group_disclosure"
    COMPLEMENT = "complement"
    SECONDARY = "secondary"
    POOLED_WIJK = "pooled_wijk"
    POOLED_REGIO = "pooled_regio"
    NOISE = "noise"
    AUDIT = "audit"


# --- geography (public reference data) -----------------------------------------------------


@dataclass(frozen=True)
class Wijk:
    code: str
    naam: str
    gemeentecode: str
    buren: tuple[str, ...]


@dataclass(frozen=True)
class Gemeente:
    code: str
    naam: str
    regio: str


@dataclass(frozen=True)
class Geography:
    """The public geography: group keys come from here, never from the microdata."""

    wijken: Mapping[str, Wijk]
    gemeenten: Mapping[str, Gemeente]

    @classmethod
    def from_frame(cls, geografie: pd.DataFrame) -> Geography:
        """Build from a ``geografie`` input table (wijkcode, wijknaam, gemeentecode, ...)."""
        wijken: dict[str, Wijk] = {}
        gemeenten: dict[str, Gemeente] = {}
        for row in geografie.sort_values("wijkcode").itertuples(index=False):
            buren_raw = row.buren if isinstance(row.buren, str) else ""
            buren = tuple(sorted(b for b in buren_raw.split(";") if b))
            wijken[row.wijkcode] = Wijk(row.wijkcode, row.wijknaam, row.gemeentecode, buren)
            gemeenten.setdefault(
                row.gemeentecode, Gemeente(row.gemeentecode, row.gemeentenaam, row.regio)
            )
        return cls(wijken=wijken, gemeenten=gemeenten)

    def wijken_of(self, gemeentecode: str) -> list[str]:
        return sorted(w.code for w in self.wijken.values() if w.gemeentecode == gemeentecode)

    def regios(self) -> list[str]:
        return sorted({g.regio for g in self.gemeenten.values()})

    def gemeenten_of(self, regio: str) -> list[str]:
        return sorted(g.code for g in self.gemeenten.values() if g.regio == regio)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for w in sorted(self.wijken.values(), key=lambda w: w.code):
            g = self.gemeenten[w.gemeentecode]
            h.update(
                f"{w.code}|{w.naam}|{g.code}|{g.naam}|{g.regio}|{';'.join(w.buren)}\n".encode()
            )
        return h.hexdigest()


# --- aggregates ------------------------------------------------------------------------------

#: Columns of ``AggregateTable.counts``.
COUNT_COLUMNS: tuple[str, ...] = ("population", "breakdown", "category", "wijkcode", "count")


@dataclass(frozen=True)
class AggregateTable:
    """Exact counts per population x breakdown x outcome category x wijk for one year.

    ``counts`` has the columns of ``COUNT_COLUMNS`` and one row for *every* wijk of the
    geography and every (population, breakdown, category) of ``indicators.specs.POPULATIONS``,
    zeros included, so that which rows exist reveals nothing. Gemeente, region and national
    figures are sums of wijk counts. ``run_report`` holds counts only (population sizes, link
    rates, pupils left out and why).
    """

    schooljaar: int
    counts: pd.DataFrame
    geography: Geography
    data_fingerprint: str
    run_report: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(COUNT_COLUMNS) - set(self.counts.columns)
        if missing:
            raise ValueError(f"AggregateTable.counts lacks columns {sorted(missing)}")
