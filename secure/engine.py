"""The fast indicator engine on DuckDB: a few set-based SQL statements per reference year.

``VO_SQL`` finds each pupil's hoofdinschrijving in t and t+1 (and age) once; then one counting
statement holds one SELECT per population (``POPULATION_SQL``, read them next to
docs/indicators.md and ``indicators.specs``), puts each member of each population in exactly
one outcome category, places it in the wijk of its adres in t and counts per population x
breakdown x category x wijk.
Pupils that are not in a population for a reason worth reporting get a pseudo-category starting
with ``~``, and members that cannot be placed in a wijk a pseudo-wijk starting with ``~``; both
end up in the run report, never in a cell. Only these grouped counts leave DuckDB: no row of
microdata is ever returned to Python. Print ``count_sql()`` to review the whole statement.

``indicators.reference`` is the plain-Python reference engine that the spec and property tests
hold this one to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

from indicators.specs import LEFT_OUT_REASONS, POPULATIONS, RUN_REPORT, population_keys
from kansenkluis.domain import (
    ADVICE_POSITION,
    COUNT_COLUMNS,
    HAVO_VWO_LEVELS,
    INPUT_COLUMNS,
    OPLEIDINGSNIVEAUS,
    ORIGIN_GROUP,
    PARENT_GROUP,
    SINGLE_LEVEL_RANK,
    AggregateTable,
    Geography,
    PopulationId,
)
from kansenkluis.errors import InternalError

#: DuckDB column types of the input tables (used to build typed tables for tests and tools).
SQL_TYPES: Mapping[str, Mapping[str, str]] = {
    table: {c.name: c.sql_type for c in columns} for table, columns in INPUT_COLUMNS.items()
}

# Temporary objects live only during one compute_aggregates call and are dropped afterwards.
_TEMP_TABLES = ("_kk_niveau", "_kk_ouderniveau", "_kk_wijk", "_kk_vo")


def _literal(value: object) -> str:
    """SQL literal for a value from our own code lists (never from microdata)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "'" in text:
        raise InternalError("ENGINE_CODE_TABLE", "a code list value contains a quote")
    return f"'{text}'"


def _values_table(name: str, columns: str, rows: Sequence[tuple[object, ...]]) -> str:
    values = ",\n  ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return (
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM (VALUES\n  {values}\n)"
        f" AS v({columns})"
    )


def _code_tables(con: duckdb.DuckDBPyConnection, geography: Geography) -> None:
    """The input code lists as small lookup tables, straight from ``kansenkluis.domain``,
    and the wijken of the geography (group keys come from there, never from the data)."""
    niveau = [
        (code, pos, SINGLE_LEVEL_RANK.get(code), ORIGIN_GROUP.get(code), code in HAVO_VWO_LEVELS)
        for code, pos in ADVICE_POSITION.items()
    ]
    ouder = [(code, order, PARENT_GROUP[code]) for order, code in enumerate(OPLEIDINGSNIVEAUS)]
    # code: advice/level code; positie: advice position 0-9; rang: single-level rank 1-5 (NULL
    # for pro and combined classes); herkomst: origin group; havo_vwo: counts as havo/vwo for
    # opleidingsmobiliteit.
    con.execute(_values_table("_kk_niveau", "code, positie, rang, herkomst, havo_vwo", niveau))
    # orde: order of opleidingsniveau (higher is more education); groep: parents' group.
    con.execute(_values_table("_kk_ouderniveau", "code, orde, groep", ouder))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _kk_wijk AS SELECT unnest($wijken::VARCHAR[]) AS wijkcode",
        {"wijken": sorted(geography.wijken)},
    )


#: One row per pupil enrolled in vo in t or t+1: the hoofdinschrijving (main enrolment) of
#: each year, i.e. the row with the highest advice position, then the highest leerjaar; and,
#: for pupils enrolled in t, their age on 1 October of t from persoon.
#: The pair (positie, leerjaar) is packed into one BIGINT ``sleutel`` so that a plain max()
#: finds the highest pair (a struct max gives the same answer, about 1.7 times slower):
#: positie in the high 32 bits, leerjaar + 2^31 (never negative) in the low 32 bits.
VO_SQL = """
CREATE OR REPLACE TEMP TABLE _kk_vo AS
WITH inschrijving AS (
    SELECT v.rin,
           max(n.positie::BIGINT * 4294967296 + coalesce(v.leerjaar, 0) + 2147483648)
               FILTER (WHERE v.schooljaar = $t) AS sleutel_t,
           max(n.positie::BIGINT * 4294967296 + coalesce(v.leerjaar, 0) + 2147483648)
               FILTER (WHERE v.schooljaar = $t + 1) AS sleutel_t1
    FROM vo_inschrijving v JOIN _kk_niveau n ON n.code = v.niveau
    WHERE v.schooljaar IN ($t, $t + 1)
    GROUP BY v.rin
),
leeftijd AS (  -- several persoon rows: aged 14 if any of them says so
    SELECT p.rin,
           bool_or($t - p.geboortejaar - CASE WHEN p.geboortemaand >= 10 THEN 1 ELSE 0 END = 14)
               AS veertien
    FROM persoon p SEMI JOIN inschrijving i ON i.rin = p.rin AND i.sleutel_t IS NOT NULL
    WHERE p.geboortejaar IS NOT NULL AND p.geboortemaand IS NOT NULL
    GROUP BY p.rin
)
SELECT i.rin,
       nt.code AS niveau_t, nt.rang AS rang_t, nt.herkomst AS herkomst_t,
       nt.havo_vwo AS havo_vwo_t,
       ((i.sleutel_t & 4294967295) - 2147483648)::INTEGER AS leerjaar_t,
       n1.code AS niveau_t1, n1.rang AS rang_t1,
       ((i.sleutel_t1 & 4294967295) - 2147483648)::INTEGER AS leerjaar_t1,
       l.rin IS NOT NULL AS leeftijd_bekend, coalesce(l.veertien, FALSE) AS veertien
FROM inschrijving i
LEFT JOIN _kk_niveau nt ON nt.positie = i.sleutel_t >> 32
LEFT JOIN _kk_niveau n1 ON n1.positie = i.sleutel_t1 >> 32
LEFT JOIN leeftijd l ON l.rin = i.rin
"""

#: Each population is one SELECT that gives every pupil it concerns once, as
#: (rin, breakdown, category, link). A category starting with ``~`` marks a pupil who is not in
#: the population for a reason the run report counts; ``link`` is a yes/no per population that
#: only feeds the run report.
POPULATION_SQL: Mapping[PopulationId, str] = {
    # Groep 8: advice positions of schooladvies (s), toetsadvies (o) and advies_definitief (d).
    # A pupil with several rows gets the highest outcome.
    PopulationId.GROEP8: """
    SELECT a.rin, 'totaal' AS breakdown,
           CASE max(CASE WHEN s.positie IS NULL OR o.positie IS NULL THEN -1
                         WHEN o.positie <= s.positie THEN 0
                         WHEN d.positie > s.positie THEN 2
                         ELSE 1 END)
                WHEN -1 THEN '~missing_advice'
                WHEN 0 THEN 'geen_heroverweging'
                WHEN 1 THEN 'heroverweging_zonder_bijstelling'
                ELSE 'heroverweging_met_bijstelling' END AS category,
           FALSE AS link
    FROM po_advies a
    LEFT JOIN _kk_niveau s ON s.code = a.schooladvies
    LEFT JOIN _kk_niveau o ON o.code = a.toetsadvies
    LEFT JOIN _kk_niveau d ON d.code = a.advies_definitief
    WHERE a.schooljaar = $t
    GROUP BY a.rin""",
    # Passed vmbo_gt exam in t; outcome: hoofdinschrijving in t+1 at niveau havo.
    PopulationId.VMBO_GT_GESLAAGD: """
    SELECT g.rin, 'totaal' AS breakdown,
           CASE WHEN v.niveau_t1 = 'havo' THEN 'havo' ELSE 'geen_havo' END AS category,
           f.rin IS NOT NULL AS link
    FROM (SELECT DISTINCT rin FROM vo_examen
          WHERE schooljaar = $t AND niveau = 'vmbo_gt' AND geslaagd) g
    LEFT JOIN _kk_vo v ON v.rin = g.rin
    LEFT JOIN volgend_jaar f ON f.rin = g.rin""",
    # mbo diploma at niveau 4 in t; outcome: ho_inschrijving of soort hbo in t+1.
    PopulationId.MBO4_DIPLOMA: """
    SELECT d.rin, 'totaal' AS breakdown,
           CASE WHEN h.rin IS NOT NULL THEN 'hbo' ELSE 'geen_hbo' END AS category,
           f.rin IS NOT NULL AS link
    FROM (SELECT DISTINCT rin FROM mbo_diploma WHERE schooljaar = $t AND niveau = 4) d
    LEFT JOIN (SELECT DISTINCT rin FROM ho_inschrijving
               WHERE schooljaar = $t + 1 AND soort = 'hbo') h ON h.rin = d.rin
    LEFT JOIN volgend_jaar f ON f.rin = d.rin""",
    # Candidates: hoofdinschrijving in t in leerjaar >= 3 at a single level (rank 1-5). They
    # leave the population with a passed exam in t or without vo enrolment in t+1.
    PopulationId.TRANSITIE: """
    SELECT v.rin, v.herkomst_t AS breakdown,
           CASE WHEN g.rin IS NOT NULL THEN '~passed_exam'
                WHEN v.niveau_t1 IS NULL THEN '~not_enrolled_next_year'
                WHEN v.rang_t1 > v.rang_t THEN 'opstroom'
                WHEN v.rang_t1 < v.rang_t THEN 'afstroom'
                WHEN v.niveau_t1 = v.niveau_t AND v.leerjaar_t1 = v.leerjaar_t
                    THEN 'zittenblijven'
                ELSE 'overig' END AS category,
           FALSE AS link
    FROM _kk_vo v
    LEFT JOIN (SELECT DISTINCT rin FROM vo_examen WHERE schooljaar = $t AND geslaagd) g
        ON g.rin = v.rin
    WHERE v.leerjaar_t >= 3 AND v.rang_t IS NOT NULL""",
    # Hoofdinschrijving in t and aged 14 on 1 October of t. Breakdown: the parents' group of
    # the highest known opleidingsniveau of any parent named in kind_ouder.
    PopulationId.VEERTIENJARIGEN: """
    SELECT v.rin, coalesce(n.groep, 'onbekend') AS breakdown,
           CASE WHEN v.havo_vwo_t THEN 'havo_vwo' ELSE 'overig' END AS category,
           o.rin IS NOT NULL AS link
    FROM _kk_vo v
    LEFT JOIN (SELECT DISTINCT rin FROM ouder) o ON o.rin = v.rin
    LEFT JOIN (SELECT o.rin, max(n.orde) AS hoogste
               FROM ouder o JOIN ouder_niveau n ON n.ouder = o.ouder
               GROUP BY o.rin) h ON h.rin = v.rin
    LEFT JOIN _kk_ouderniveau n ON n.orde = h.hoogste
    WHERE v.niveau_t IS NOT NULL AND v.veertien""",
}

#: Every member of every population, placed in the wijk of its adres in t (or a ``~`` reason:
#: no adres row in t, rows naming more than one wijk, a wijkcode outside the geography), and
#: counted per population x breakdown x category x wijk.
COUNT_SQL = """
WITH stapelaar AS (  -- members of the two stapelen populations
    SELECT rin FROM vo_examen WHERE schooljaar = $t AND niveau = 'vmbo_gt' AND geslaagd
    UNION
    SELECT rin FROM mbo_diploma WHERE schooljaar = $t AND niveau = 4
),
volgend_jaar AS (  -- those of them enrolled in vo, mbo or ho in t+1
    SELECT v.rin FROM _kk_vo v SEMI JOIN stapelaar s ON s.rin = v.rin
    WHERE v.niveau_t1 IS NOT NULL
    UNION
    SELECT m.rin FROM mbo_inschrijving m SEMI JOIN stapelaar s ON s.rin = m.rin
    WHERE m.schooljaar = $t + 1
    UNION
    SELECT h.rin FROM ho_inschrijving h SEMI JOIN stapelaar s ON s.rin = h.rin
    WHERE h.schooljaar = $t + 1
),
veertien AS (
    SELECT rin FROM _kk_vo WHERE niveau_t IS NOT NULL AND veertien
),
kind AS (  -- the kind_ouder rows of the veertienjarigen, read once
    SELECT k.rin, k.rin_ouder1, k.rin_ouder2
    FROM kind_ouder k SEMI JOIN veertien v ON v.rin = k.rin
),
ouder AS (  -- the parents named for each veertienjarige, one row per parent slot
    SELECT rin, rin_ouder1 AS ouder FROM kind WHERE rin_ouder1 IS NOT NULL AND rin_ouder1 <> ''
    UNION ALL
    SELECT rin, rin_ouder2 AS ouder FROM kind WHERE rin_ouder2 IS NOT NULL AND rin_ouder2 <> ''
),
ouder_niveau AS (  -- the known levels of those parents only
    SELECT h.rin AS ouder, n.orde
    FROM hoogste_opleiding h
    SEMI JOIN ouder o ON o.ouder = h.rin
    JOIN _kk_ouderniveau n ON n.code = h.opleidingsniveau
),
{populations},
leden AS (
    {union}
),
adres_t AS (
    SELECT a.rin, min(a.wijkcode) AS wijkcode, max(a.wijkcode) AS andere_wijkcode
    FROM adres a SEMI JOIN leden l ON l.rin = a.rin
    WHERE a.schooljaar = $t AND a.wijkcode IS NOT NULL
    GROUP BY a.rin
)
SELECT l.populatie, l.breakdown, l.category,
       CASE WHEN a.rin IS NULL THEN '~no_address'
            WHEN a.wijkcode <> a.andere_wijkcode THEN '~ambiguous_address'
            WHEN w.wijkcode IS NULL THEN '~unknown_wijk'
            ELSE a.wijkcode END AS geo,
       l.link,
       count(*) AS n
FROM leden l
LEFT JOIN adres_t a ON a.rin = l.rin
LEFT JOIN _kk_wijk w ON w.wijkcode = a.wijkcode
GROUP BY ALL
"""


def count_sql() -> str:
    """The full counting statement, with one CTE per population (for review: print it)."""
    populations = ",\n".join(f"{pop.value} AS ({sql}\n)" for pop, sql in POPULATION_SQL.items())
    union = "\n    UNION ALL\n    ".join(
        f"SELECT '{pop.value}' AS populatie, * FROM {pop.value}" for pop in POPULATION_SQL
    )
    return COUNT_SQL.format(populations=populations, union=union)


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
SELECT count(*) FILTER (WHERE niveau_t IS NOT NULL) AS vo_pupils_t,
       count(*) FILTER (WHERE niveau_t1 IS NOT NULL) AS vo_pupils_t_plus_1,
       count(*) FILTER (WHERE niveau_t IS NOT NULL AND NOT leeftijd_bekend)
           AS vo_pupils_t_age_unknown
FROM _kk_vo
"""


def compute_aggregates(
    con: duckdb.DuckDBPyConnection,
    geography: Geography,
    schooljaar: int,
    data_fingerprint: str = "",
) -> AggregateTable:
    """Exact counts per wijk x population x breakdown x category for reference year ``schooljaar``.

    ``con`` holds every input table under its own name. The engine creates a few temporary
    ``_kk_*`` tables on it and drops them again.
    """
    params = {"t": int(schooljaar)}
    try:
        _code_tables(con, geography)
        con.execute(VO_SQL, params)
        grouped = con.execute(count_sql(), params).fetchall()
        vo_report = con.execute(VO_REPORT_SQL).fetchone()
    finally:
        for name in _TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {name}")

    report: dict[str, int] = dict.fromkeys(RUN_REPORT, 0)
    if vo_report is not None:
        keys = ("vo_pupils_t", "vo_pupils_t_plus_1", "vo_pupils_t_age_unknown")
        report.update({key: int(n or 0) for key, n in zip(keys, vo_report, strict=True)})
    cells: dict[tuple[str, str, str, str], int] = {}
    for populatie, *row in grouped:
        _tally(PopulationId(populatie), row, report, cells)
    return AggregateTable(
        schooljaar=int(schooljaar),
        counts=_complete(cells, geography),
        geography=geography,
        data_fingerprint=data_fingerprint,
        run_report=report,
    )


def _tally(
    pop: PopulationId,
    row: list[Any],
    report: dict[str, int],
    cells: dict[tuple[str, str, str, str], int],
) -> None:
    """Add one grouped count of one population to the run report or to a wijk cell."""
    p = pop.value
    breakdown, category, geo, link, n = row
    if pop is PopulationId.TRANSITIE:
        report["transitie_candidates"] += n
    if category.startswith("~"):  # not in the population
        if category not in EXCLUSION_REPORT_KEYS:
            raise InternalError("ENGINE_REPORT_KEY", f"{p}: unexpected exclusion")
        report[EXCLUSION_REPORT_KEYS[category]] += n
        return
    report[f"{p}_population"] += n
    link_key = LINK_REPORT_KEYS.get(pop)
    if link and link_key:
        report[link_key] += n
    if pop is PopulationId.VEERTIENJARIGEN and breakdown != "onbekend":
        report["veertienjarigen_parents_education_known"] += n
    if geo.startswith("~"):  # in the population, but not in a wijk
        if geo[1:] not in LEFT_OUT_REASONS:
            raise InternalError("ENGINE_REPORT_KEY", f"{p}: unexpected address reason")
        report[f"{p}_left_out_{geo[1:]}"] += n
        return
    spec = POPULATIONS[pop]
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
    return counts.astype({**dict.fromkeys(COUNT_COLUMNS[:-1], "str"), "count": "int64"})


def connect_frames(
    tables: Mapping[str, pd.DataFrame], con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every input table, typed as ``SQL_TYPES`` says.

    Tables missing from ``tables`` are created empty, so tests and tools can pass only the
    tables a case needs; extra columns are ignored (docs/input-tables.md). Pass ``con`` to replace
    the tables of an existing connection (a new connection costs tens of milliseconds, which
    adds up over hundreds of generated examples).
    """
    unknown = set(tables) - set(SQL_TYPES)
    if unknown:
        raise InternalError(
            "ENGINE_UNKNOWN_TABLE", "connect_frames got a table not in docs/input-tables.md"
        )
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


__all__ = ["POPULATION_SQL", "SQL_TYPES", "compute_aggregates", "connect_frames", "count_sql"]
