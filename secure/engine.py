"""The fast indicator engine: one set-based DuckDB statement per population (SPEC §3).

Each statement puts every pupil of a population in exactly one outcome category (the categories
of ``indicators.specs.POPULATIONS``) and counts pupils per breakdown x category x wijk. Pupils
that are not in the population for a reason worth reporting get a pseudo-category starting
with ``~`` and pupils that cannot be placed in a wijk get a pseudo-wijk starting with ``~``;
both end up in the run report, never in a cell. Only these counts leave the statements: no row
of microdata is ever returned to Python.

The SQL is written to be read by a statistician next to SPEC §3. ``indicators.reference`` is
the plain-pandas reference engine that the property tests hold this one to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from indicators.specs import LEFT_OUT_REASONS, POPULATIONS, RUN_REPORT, population_keys
from kansenkluis.domain import (
    ADVICE_POSITION,
    COUNT_COLUMNS,
    HAVO_VWO_LEVELS,
    INPUT_TABLES,
    OPLEIDINGSNIVEAUS,
    ORIGIN_GROUP,
    PARENT_GROUP,
    SINGLE_LEVEL_RANK,
    AggregateTable,
    Geography,
    PopulationId,
)
from kansenkluis.errors import InternalError

#: DuckDB column types of the SPEC §2 tables (used to build typed tables for tests and tools).
SQL_TYPES: Mapping[str, Mapping[str, str]] = {
    table: {
        col: (
            "INTEGER"
            if col in ("schooljaar", "leerjaar", "geboortejaar", "geboortemaand")
            or (col == "niveau" and table.startswith("mbo_"))
            else "BOOLEAN"
            if col == "geslaagd"
            else "VARCHAR"
        )
        for col in cols
    }
    for table, cols in INPUT_TABLES.items()
}

# Temporary objects live only during one compute_aggregates call and are dropped afterwards.
_TEMP_TABLES = ("_kk_niveau", "_kk_ouderniveau", "_kk_wijk", "_kk_adres", "_kk_vo", "_kk_t1")


def _literal(value: object) -> str:
    """SQL literal for a value from our own code tables (never from microdata)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "'" in text:
        raise InternalError("ENGINE_CODE_TABLE", "a code table value contains a quote")
    return f"'{text}'"


def _values_table(name: str, columns: str, rows: list[tuple[object, ...]]) -> str:
    values = ",\n  ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES\n  {values}\n) AS v({columns})"


def _code_tables(geography: Geography) -> list[str]:
    """The SPEC §2 code lists as small lookup tables, straight from ``kansenkluis.domain``."""
    niveau = [
        (
            code,
            pos,
            SINGLE_LEVEL_RANK.get(code),
            ORIGIN_GROUP.get(code),
            code in HAVO_VWO_LEVELS,
        )
        for code, pos in ADVICE_POSITION.items()
    ]
    ouder = [(code, order, PARENT_GROUP[code]) for order, code in enumerate(OPLEIDINGSNIVEAUS)]
    wijken = [(code,) for code in sorted(geography.wijken)]
    statements = [
        # code: advice/level code; positie: advice position 0-9; rang: single-level rank 1-5
        # (NULL for pro and combined classes); herkomst: origin group; havo_vwo: counts as
        # havo/vwo for opleidingsmobiliteit.
        _values_table("_kk_niveau", "code, positie, rang, herkomst, havo_vwo", niveau),
        # orde: order of opleidingsniveau (higher is more education); groep: parents' group.
        _values_table("_kk_ouderniveau", "code, orde, groep", ouder),
    ]
    if wijken:
        statements.append(_values_table("_kk_wijk", "wijkcode", wijken))
    else:
        statements.append("CREATE TEMP TABLE _kk_wijk (wijkcode VARCHAR)")
    return statements


#: The wijk of every person with an adres row in t, or the reason it cannot be used.
ADRES_SQL = """
CREATE TEMP TABLE _kk_adres AS
WITH per_persoon AS (
    SELECT rin, min(wijkcode) AS wijkcode, max(wijkcode) AS andere_wijkcode
    FROM adres
    WHERE schooljaar = $t AND wijkcode IS NOT NULL
    GROUP BY rin
)
SELECT p.rin,
       CASE WHEN p.wijkcode <> p.andere_wijkcode THEN '~ambiguous_address'
            WHEN w.wijkcode IS NULL THEN '~unknown_wijk'
            ELSE p.wijkcode END AS geo
FROM per_persoon p LEFT JOIN _kk_wijk w ON w.wijkcode = p.wijkcode
"""

#: The hoofdinschrijving (main vo enrolment) of every pupil in t and in t+1: the row with the
#: highest advice position, then the highest leerjaar.
VO_SQL = """
CREATE TEMP TABLE _kk_vo AS
WITH hoofd AS (
    SELECT v.rin, v.schooljaar,
           max({'positie': n.positie, 'leerjaar': coalesce(v.leerjaar, 0)}) AS inschrijving
    FROM vo_inschrijving v JOIN _kk_niveau n ON n.code = v.niveau
    WHERE v.schooljaar IN ($t, $t + 1)
    GROUP BY v.rin, v.schooljaar
)
SELECT h.rin, h.schooljaar, n.code AS niveau, n.positie, n.rang, n.herkomst, n.havo_vwo,
       h.inschrijving.leerjaar AS leerjaar
FROM hoofd h JOIN _kk_niveau n ON n.positie = h.inschrijving.positie
"""

#: Everyone enrolled anywhere in education in t+1 (for the 'found next year' link counts).
T1_SQL = """
CREATE TEMP TABLE _kk_t1 AS
SELECT rin FROM _kk_vo WHERE schooljaar = $t + 1
UNION
SELECT rin FROM mbo_inschrijving WHERE schooljaar = $t + 1
UNION
SELECT rin FROM ho_inschrijving WHERE schooljaar = $t + 1
"""

#: Each population statement returns (breakdown, category, geo, link, n). ``link`` is a
#: population-specific yes/no that only feeds the run report.
POPULATION_SQL: Mapping[PopulationId, str] = {
    # Groep 8: advice positions of schooladvies (s), toetsadvies (o) and advies_definitief (d).
    PopulationId.GROEP8: """
WITH rij AS (
    SELECT a.rin,
           CASE WHEN s.positie IS NULL OR o.positie IS NULL THEN -1  -- not both advices
                WHEN o.positie <= s.positie THEN 0                  -- geen heroverweging
                WHEN d.positie > s.positie THEN 2                   -- met bijstelling
                ELSE 1                                              -- zonder bijstelling
           END AS uitkomst
    FROM po_advies a
    LEFT JOIN _kk_niveau s ON s.code = a.schooladvies
    LEFT JOIN _kk_niveau o ON o.code = a.toetsadvies
    LEFT JOIN _kk_niveau d ON d.code = a.advies_definitief
    WHERE a.schooljaar = $t
),
leerling AS (  -- a pupil with several rows: the highest outcome counts
    SELECT rin, max(uitkomst) AS uitkomst FROM rij GROUP BY rin
)
SELECT 'totaal' AS breakdown,
       CASE uitkomst WHEN -1 THEN '~missing_advice'
                     WHEN 0 THEN 'geen_heroverweging'
                     WHEN 1 THEN 'heroverweging_zonder_bijstelling'
                     ELSE 'heroverweging_met_bijstelling' END AS category,
       coalesce(a.geo, '~no_address') AS geo,
       FALSE AS link,
       count(*) AS n
FROM leerling l LEFT JOIN _kk_adres a ON a.rin = l.rin
GROUP BY ALL
""",
    # Passed vmbo_gt exam in t; outcome: hoofdinschrijving in t+1 at niveau havo.
    PopulationId.VMBO_GT_GESLAAGD: """
WITH geslaagd AS (
    SELECT DISTINCT rin FROM vo_examen
    WHERE schooljaar = $t AND niveau = 'vmbo_gt' AND geslaagd
)
SELECT 'totaal' AS breakdown,
       CASE WHEN v.niveau = 'havo' THEN 'havo' ELSE 'geen_havo' END AS category,
       coalesce(a.geo, '~no_address') AS geo,
       f.rin IS NOT NULL AS link,
       count(*) AS n
FROM geslaagd g
LEFT JOIN _kk_vo v ON v.rin = g.rin AND v.schooljaar = $t + 1
LEFT JOIN _kk_t1 f ON f.rin = g.rin
LEFT JOIN _kk_adres a ON a.rin = g.rin
GROUP BY ALL
""",
    # mbo diploma at niveau 4 in t; outcome: ho_inschrijving of soort hbo in t+1.
    PopulationId.MBO4_DIPLOMA: """
WITH diploma AS (
    SELECT DISTINCT rin FROM mbo_diploma WHERE schooljaar = $t AND niveau = 4
),
hbo AS (
    SELECT DISTINCT rin FROM ho_inschrijving WHERE schooljaar = $t + 1 AND soort = 'hbo'
)
SELECT 'totaal' AS breakdown,
       CASE WHEN h.rin IS NOT NULL THEN 'hbo' ELSE 'geen_hbo' END AS category,
       coalesce(a.geo, '~no_address') AS geo,
       f.rin IS NOT NULL AS link,
       count(*) AS n
FROM diploma d
LEFT JOIN hbo h ON h.rin = d.rin
LEFT JOIN _kk_t1 f ON f.rin = d.rin
LEFT JOIN _kk_adres a ON a.rin = d.rin
GROUP BY ALL
""",
    # Candidates: hoofdinschrijving in t in leerjaar >= 3 at a single level (rank 1-5).
    # They leave the population with a passed exam in t or without enrolment in t+1; the rest
    # is compared with their hoofdinschrijving in t+1 (n).
    PopulationId.TRANSITIE: """
WITH geslaagd AS (
    SELECT DISTINCT rin FROM vo_examen WHERE schooljaar = $t AND geslaagd
)
SELECT k.herkomst AS breakdown,
       CASE WHEN g.rin IS NOT NULL THEN '~passed_exam'
            WHEN n.rin IS NULL THEN '~not_enrolled_next_year'
            WHEN n.rang > k.rang THEN 'opstroom'
            WHEN n.rang < k.rang THEN 'afstroom'
            WHEN n.niveau = k.niveau AND n.leerjaar = k.leerjaar THEN 'zittenblijven'
            ELSE 'overig' END AS category,
       coalesce(a.geo, '~no_address') AS geo,
       FALSE AS link,
       count(*) AS n
FROM _kk_vo k
LEFT JOIN geslaagd g ON g.rin = k.rin
LEFT JOIN _kk_vo n ON n.rin = k.rin AND n.schooljaar = $t + 1
LEFT JOIN _kk_adres a ON a.rin = k.rin
WHERE k.schooljaar = $t AND k.leerjaar >= 3 AND k.rang IS NOT NULL
GROUP BY ALL
""",
    # Hoofdinschrijving in t and aged 14 on 1 October of t. Breakdown: the parents' group of
    # the highest known opleidingsniveau of any parent named in kind_ouder.
    PopulationId.VEERTIENJARIGEN: """
WITH veertien AS (
    SELECT DISTINCT p.rin
    FROM persoon p
    WHERE p.geboortemaand IS NOT NULL
      AND $t - p.geboortejaar - CASE WHEN p.geboortemaand >= 10 THEN 1 ELSE 0 END = 14
),
leerling AS (
    SELECT v.rin, v.havo_vwo FROM _kk_vo v JOIN veertien USING (rin) WHERE v.schooljaar = $t
),
ouder AS (
    SELECT k.rin, o.ouder
    FROM kind_ouder k JOIN leerling l ON l.rin = k.rin,
         unnest([k.rin_ouder1, k.rin_ouder2]) AS o(ouder)
    WHERE o.ouder IS NOT NULL AND o.ouder <> ''
),
ouders AS (
    SELECT o.rin, max(n.orde) AS hoogste
    FROM ouder o
    LEFT JOIN hoogste_opleiding h ON h.rin = o.ouder
    LEFT JOIN _kk_ouderniveau n ON n.code = h.opleidingsniveau
    GROUP BY o.rin
)
SELECT coalesce(n.groep, 'onbekend') AS breakdown,
       CASE WHEN l.havo_vwo THEN 'havo_vwo' ELSE 'overig' END AS category,
       coalesce(a.geo, '~no_address') AS geo,
       o.rin IS NOT NULL AS link,
       count(*) AS n
FROM leerling l
LEFT JOIN ouders o ON o.rin = l.rin
LEFT JOIN _kk_ouderniveau n ON n.orde = o.hoogste
LEFT JOIN _kk_adres a ON a.rin = l.rin
GROUP BY ALL
""",
}

#: Pseudo-categories of pupils who are not in a population, and their run-report key.
EXCLUSION_REPORT_KEYS: Mapping[str, str] = {
    "~missing_advice": "groep8_missing_advice",
    "~passed_exam": "transitie_candidates_passed_exam",
    "~not_enrolled_next_year": "transitie_candidates_not_enrolled_next_year",
}

#: The run-report key of each population's ``link`` column.
LINK_REPORT_KEYS: Mapping[PopulationId, str] = {
    PopulationId.VMBO_GT_GESLAAGD: "vmbo_gt_geslaagd_found_next_year",
    PopulationId.MBO4_DIPLOMA: "mbo4_diploma_found_next_year",
    PopulationId.VEERTIENJARIGEN: "veertienjarigen_with_parent_link",
}

#: Counts about the vo enrolment of t and t+1 as a whole (run report only).
VO_REPORT_SQL = """
SELECT
    count(*) FILTER (WHERE v.schooljaar = $t) AS vo_pupils_t,
    count(*) FILTER (WHERE v.schooljaar = $t + 1) AS vo_pupils_t_plus_1,
    count(*) FILTER (WHERE v.schooljaar = $t AND NOT EXISTS (
        SELECT 1 FROM persoon p
        WHERE p.rin = v.rin AND p.geboortejaar IS NOT NULL AND p.geboortemaand IS NOT NULL
    )) AS vo_pupils_t_age_unknown
FROM _kk_vo v
"""


def compute_aggregates(
    con: duckdb.DuckDBPyConnection,
    geography: Geography,
    schooljaar: int,
    data_fingerprint: str = "",
) -> AggregateTable:
    """Exact counts per wijk x population x breakdown x category for reference year ``schooljaar``.

    ``con`` holds every SPEC §2 table under its own name. The engine creates a few temporary
    ``_kk_*`` tables on it and drops them again.
    """
    params = {"t": int(schooljaar)}
    try:
        for statement in _code_tables(geography):
            con.execute(statement)
        con.execute(ADRES_SQL, params)
        con.execute(VO_SQL, params)
        con.execute(T1_SQL, params)
        grouped = {pop: con.execute(sql, params).fetchall() for pop, sql in POPULATION_SQL.items()}
        vo_report = con.execute(VO_REPORT_SQL, params).fetchone()
    finally:
        for name in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {name}")

    report: dict[str, int] = dict.fromkeys(RUN_REPORT, 0)
    if vo_report is not None:
        keys = ("vo_pupils_t", "vo_pupils_t_plus_1", "vo_pupils_t_age_unknown")
        report.update({key: int(n or 0) for key, n in zip(keys, vo_report, strict=True)})
    cells: dict[tuple[str, str, str, str], int] = {}
    for pop, rows in grouped.items():
        _tally(pop, rows, report, cells)
    return AggregateTable(
        schooljaar=int(schooljaar),
        counts=_complete(cells, geography),
        geography=geography,
        data_fingerprint=data_fingerprint,
        run_report=report,
    )


def _tally(
    pop: PopulationId,
    rows: list[tuple[Any, ...]],
    report: dict[str, int],
    cells: dict[tuple[str, str, str, str], int],
) -> None:
    """Add one population's grouped counts to the run report and the wijk cells."""
    p = pop.value
    spec = POPULATIONS[pop]
    link_key = LINK_REPORT_KEYS.get(pop)
    for breakdown, category, geo, link, n in rows:
        if pop is PopulationId.TRANSITIE:
            report["transitie_candidates"] += n
        if category.startswith("~"):  # not in the population
            if category not in EXCLUSION_REPORT_KEYS:
                raise InternalError("ENGINE_REPORT_KEY", f"{p}: unexpected exclusion")
            report[EXCLUSION_REPORT_KEYS[category]] += n
            continue
        report[f"{p}_population"] += n
        if link and link_key:
            report[link_key] += n
        if pop is PopulationId.VEERTIENJARIGEN and breakdown != "onbekend":
            report["veertienjarigen_parents_education_known"] += n
        if geo.startswith("~"):  # in the population, but not in a wijk
            if geo[1:] not in LEFT_OUT_REASONS:
                raise InternalError("ENGINE_REPORT_KEY", f"{p}: unexpected address reason")
            report[f"{p}_left_out_{geo[1:]}"] += n
            continue
        if breakdown not in spec.breakdowns or category not in spec.categories:
            raise InternalError("ENGINE_CATEGORY", f"{p}: a pupil fell outside the categories")
        report[f"{p}_counted"] += n
        key = (p, breakdown, category, geo)
        cells[key] = cells.get(key, 0) + n


def _complete(cells: Mapping[tuple[str, str, str, str], int], geography: Geography) -> pd.DataFrame:
    """One row per wijk x (population, breakdown, category), zeros included, sorted."""
    keys = population_keys().sort_values(["population", "breakdown", "category"])
    wijken = sorted(geography.wijken)
    rows = [
        (
            population,
            breakdown,
            category,
            wijk,
            cells.get((population, breakdown, category, wijk), 0),
        )
        for population, breakdown, category in keys.itertuples(index=False)
        for wijk in wijken
    ]
    if sum(row[-1] for row in rows) != sum(cells.values()):
        raise InternalError("ENGINE_GRID", "counts did not line up with the population keys")
    counts = pd.DataFrame(rows, columns=list(COUNT_COLUMNS))
    return counts.astype({"count": "int64"})


def connect_frames(
    tables: Mapping[str, pd.DataFrame], con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every SPEC §2 table, typed as ``SQL_TYPES`` says.

    Tables missing from ``tables`` are created empty, so tests and tools can pass only the
    tables a case needs; extra columns are ignored, as SPEC §2 says. Pass ``con`` to replace
    the tables of an existing connection (a new connection costs tens of milliseconds, which
    adds up over hundreds of generated examples).
    """
    unknown = set(tables) - set(SQL_TYPES)
    if unknown:
        raise InternalError("ENGINE_UNKNOWN_TABLE", "connect_frames got a table not in SPEC §2")
    con = duckdb.connect() if con is None else con
    for table, types in SQL_TYPES.items():
        columns = ", ".join(f"{col} {typ}" for col, typ in types.items())
        con.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")
        frame = tables.get(table)
        if frame is None or frame.empty:
            continue
        if len(frame) > _SMALL_FRAME:
            con.register("_kk_input", frame[list(types)])
            casts = ", ".join(f"CAST({col} AS {typ})" for col, typ in types.items())
            con.execute(f"INSERT INTO {table} SELECT {casts} FROM _kk_input")
            con.unregister("_kk_input")
        else:
            # Registering a frame costs milliseconds; small frames go in as list parameters.
            casts = ", ".join(f"CAST(unnest(${col}) AS {typ})" for col, typ in types.items())
            values = {col: _python_values(frame[col], typ) for col, typ in types.items()}
            con.execute(f"INSERT INTO {table} SELECT {casts}", values)
    return con


_SMALL_FRAME = 1_000


def _python_values(column: pd.Series, sql_type: str) -> list[object]:
    convert = {"INTEGER": int, "BOOLEAN": bool}.get(sql_type, str)
    return [None if pd.isna(v) else convert(v) for v in column.tolist()]


__all__ = ["POPULATION_SQL", "SQL_TYPES", "compute_aggregates", "connect_frames"]
