"""Linkage: the one place that hands the indicator engine the tables, joined on the pseudonym.

``open_linked`` decrypts the current generation into an in-memory DuckDB database in which every
SPEC §2 table is a table under its own name with the SPEC columns (``rin`` columns hold
pseudonyms). The database never spills to disk and cannot read or write files. The link rates
(how many persons have an address, parents, parents with a known education) are counted here,
as plain counts for the run report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import duckdb

from kansenkluis.domain import INPUT_TABLES, Geography
from kansenkluis.errors import InternalError
from secure.store import SealedStore

LINK_REPORT_SQL = """
SELECT
    (SELECT count(*) FROM persoon) AS persons,
    (SELECT count(*) FROM kind_ouder) AS children,
    (SELECT count(*) FROM kind_ouder
        WHERE rin_ouder1 IS NOT NULL OR rin_ouder2 IS NOT NULL) AS children_with_parent,
    (SELECT count(*) FROM kind_ouder
        WHERE rin_ouder1 IN (SELECT rin FROM hoogste_opleiding)
           OR rin_ouder2 IN (SELECT rin FROM hoogste_opleiding)) AS children_with_parent_education,
    (SELECT count(*) FROM hoogste_opleiding) AS persons_with_education
"""

PER_YEAR_SQL = """
SELECT schooljaar, count(DISTINCT rin) AS n FROM adres GROUP BY schooljaar
"""

VO_PER_YEAR_SQL = """
SELECT v.schooljaar, count(*) AS pupils, count(a.rin) AS with_adres
FROM vo_inschrijving v
LEFT JOIN (SELECT DISTINCT rin, schooljaar FROM adres) a USING (rin, schooljaar)
GROUP BY v.schooljaar
"""


@dataclass
class LinkedData:
    """The linked tables of one generation; close it (or use ``with``) to free the memory."""

    con: duckdb.DuckDBPyConnection
    geography: Geography
    data_fingerprint: str
    link_report: Mapping[str, int]

    def close(self) -> None:
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
    for year, pupils, with_adres in con.execute(VO_PER_YEAR_SQL).fetchall():
        report[f"link_vo_pupils_{int(year)}"] = int(pupils)
        report[f"link_vo_pupils_with_adres_{int(year)}"] = int(with_adres)
    return dict(sorted(report.items()))


def open_linked(store: SealedStore, memory_limit: str | None = None) -> LinkedData:
    """The current generation of ``store`` as linked DuckDB tables (see module docstring)."""
    # temp_directory '': no spilling, so plaintext rows never reach the disk
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": ""}
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute("SET enable_external_access = false")
        # One table at a time, all from one generation: only one decrypted Arrow copy at once.
        with store.snapshot() as snapshot:
            fingerprint = snapshot.data_fingerprint
            for name in INPUT_TABLES:
                con.register("_kk_load", snapshot.table(name))
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM _kk_load")
                con.unregister("_kk_load")
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
