"""Linkage: the one place that hands the indicator engine the tables, joined on the pseudonym.

``open_linked`` decrypts the current generation into an in-memory DuckDB database in which every
input table can be queried under its own name with the input columns (``rin`` columns hold
pseudonyms). The database never spills to disk and cannot read or write files. The link rates
(how many persons have an address, parents, parents with a known education) are counted here,
as plain counts for the run report.

Memory: each table is decrypted, decoded from Parquet into Arrow and its plaintext Parquet bytes
dropped before the next one is decrypted. DuckDB reads the Arrow tables in place (registered
views) instead of copying them into its own tables, so the linked data are held once, and code
columns stay dictionary-encoded. On the national benchmark this keeps the whole run under 4 GB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import duckdb

from kansenkluis.domain import INPUT_TABLES, Geography
from kansenkluis.errors import InternalError
from secure.ingest import UNIQUE_KEYS
from secure.store import SealedStore

# The counts below rely on what ingest guarantees for every stored generation: one
# hoogste_opleiding row per rin and one adres row per (rin, schooljaar). Plain joins and counts
# then equal their DISTINCT forms at a fraction of the cost (seconds at national scale). Checked
# here so that a change to those rules cannot silently change the link report.
_RELIED_ON_KEYS = {"hoogste_opleiding": ("rin",), "adres": ("rin", "schooljaar")}
if any(UNIQUE_KEYS.get(table) != key for table, key in _RELIED_ON_KEYS.items()):
    raise InternalError("LINK_UNIQUE_KEYS", "the link report needs the ingest's unique keys")

LINK_REPORT_SQL = """
SELECT
    (SELECT count(*) FROM persoon) AS persons,
    (SELECT count(*) FROM kind_ouder) AS children,
    (SELECT count(*) FROM kind_ouder
        WHERE rin_ouder1 IS NOT NULL OR rin_ouder2 IS NOT NULL) AS children_with_parent,
    (SELECT count(*) FROM kind_ouder k  -- hoogste_opleiding.rin is unique: no row doubles
        LEFT JOIN hoogste_opleiding h1 ON h1.rin = k.rin_ouder1
        LEFT JOIN hoogste_opleiding h2 ON h2.rin = k.rin_ouder2
        WHERE h1.rin IS NOT NULL OR h2.rin IS NOT NULL) AS children_with_parent_education,
    (SELECT count(*) FROM hoogste_opleiding) AS persons_with_education
"""

# (rin, schooljaar) is unique in adres: the persons with an adres per year are its rows.
PER_YEAR_SQL = """
SELECT schooljaar, count(rin) AS n FROM adres GROUP BY schooljaar
"""

VO_PER_YEAR_SQL = "SELECT schooljaar, count(*) FROM vo_inschrijving GROUP BY schooljaar"

# A vo row is "with adres" when the pupil has an adres row in the same schooljaar: a semi join
# gives the same count as a left join on the distinct adres pairs without building those pairs.
VO_WITH_ADRES_SQL = """
SELECT v.schooljaar, count(*)
FROM vo_inschrijving v SEMI JOIN adres a ON a.rin = v.rin AND a.schooljaar = v.schooljaar
GROUP BY v.schooljaar
"""

#: String code columns with few distinct values: kept dictionary-encoded in Arrow (a short list
#: of values and a small index per row); DuckDB reads them as plain VARCHAR.
CODE_COLUMNS = frozenset(
    {"brin", "schooladvies", "toetsadvies", "advies_definitief", "niveau", "soort",
     "opleidingsniveau", "wijkcode"}
)  # fmt: skip


@dataclass
class LinkedData:
    """The linked tables of one generation; close it (or use ``with``) to free the memory."""

    con: duckdb.DuckDBPyConnection
    geography: Geography
    data_fingerprint: str
    link_report: Mapping[str, int]

    def close(self) -> None:
        # Closing the connection drops its references to the Arrow tables it reads.
        self.con.close()

    def __enter__(self) -> LinkedData:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _link_report(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    row = con.execute(LINK_REPORT_SQL).fetchone()
    assert row is not None
    names = ("persons", "children", "children_with_parent", "children_with_parent_education",
             "persons_with_education")  # fmt: skip
    report = {f"link_{k}": int(v) for k, v in zip(names, row, strict=True)}
    for year, n in con.execute(PER_YEAR_SQL).fetchall():
        report[f"link_persons_with_adres_{int(year)}"] = int(n)
    with_adres = dict(con.execute(VO_WITH_ADRES_SQL).fetchall())
    for year, pupils in con.execute(VO_PER_YEAR_SQL).fetchall():
        report[f"link_vo_pupils_{int(year)}"] = int(pupils)
        report[f"link_vo_pupils_with_adres_{int(year)}"] = int(with_adres.get(year, 0))
    return dict(sorted(report.items()))


def open_linked(store: SealedStore, memory_limit: str | None = None) -> LinkedData:
    """The current generation of ``store`` as linked DuckDB tables (see module docstring)."""
    # temp_directory '': an in-memory database then has nowhere to spill, so plaintext rows
    # never reach the disk (a query that outgrows memory_limit fails instead). No memory_limit
    # by default: with no spill area a limit can only turn a large run into an error.
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": ""}
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET enable_external_access = false")
        # Nobody holding the connection can switch spilling or file access back on.
        con.execute("SET lock_configuration = true")
        # One table at a time, all from one generation: the plaintext Parquet bytes of a table
        # are freed once it is decoded, before the next is decrypted. The connection keeps the
        # Arrow table alive and DuckDB scans it in place; no second copy in DuckDB tables.
        with store.snapshot() as snapshot:
            fingerprint = snapshot.data_fingerprint
            for name in INPUT_TABLES:
                con.register(name, snapshot.table(name, dictionary=CODE_COLUMNS))
        geography = Geography.from_frame(con.execute("SELECT * FROM geografie").df())
        report = _link_report(con)
    except BaseException as e:
        con.close()
        if not isinstance(e, duckdb.Error):
            raise
    else:
        return LinkedData(con, geography, fingerprint, report)
    # Outside the except block, so the DuckDB error (which may quote values) is not chained.
    raise InternalError("LINK_QUERY", "loading the linked tables failed (details withheld)")
