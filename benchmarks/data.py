"""Benchmark inputs derived from ``kluis synth`` output: samples of pupils and doubled worlds.

Both keep the input batch valid, so the derived folders go through ``kluis ingest`` like any
other batch:

- ``subsample`` keeps a fraction of the *children* (every ``rin`` of ``kind_ouder``: each pupil
  and mbo student appears there once) chosen by a salted hash of the ``rin``, with every row
  of theirs in every table, plus their parents' ``persoon`` and ``hoogste_opleiding`` rows.
  A child's whole career and family stay together, so the indicators of the sample are exact
  indicators of a smaller country on the same geography.
- ``concat_worlds`` puts two synthetic countries (two seeds) on the one geography. The second
  world's ``rin`` values get a leading ``1`` (synthetic rins are 9 digits), so no person of one
  world is linked to a person of the other.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from kansenkluis.domain import INPUT_TABLES

#: Tables whose rows belong to one person (``rin``); ``geografie`` is reference data.
PERSON_TABLES = tuple(t for t in INPUT_TABLES if t != "geografie")
RIN_COLUMNS = ("rin", "rin_ouder1", "rin_ouder2")


def _parquet(folder: Path, table: str) -> str:
    path = folder / f"{table}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `kluis synth` first")
    return "'" + str(path).replace("'", "''") + "'"


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> None:
    quoted = "'" + str(target).replace("'", "''") + "'"
    con.execute(f"COPY ({select}) TO {quoted} (FORMAT parquet, COMPRESSION zstd)")


def subsample(src: Path, dst: Path, fraction: float, salt: str = "bench") -> dict[str, int]:
    """Write the children with hash(rin) in the lowest ``fraction`` (and their families) to
    ``dst``; returns rows per table."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    dst.mkdir(parents=True, exist_ok=True)
    buckets = 1_000_000
    keep = int(round(fraction * buckets))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE kids AS
            SELECT rin, rin_ouder1, rin_ouder2 FROM read_parquet({_parquet(src, "kind_ouder")})
            WHERE hash(rin || $salt) % {buckets} < {keep}
            """,
            {"salt": salt},
        )
        con.execute(
            """
            CREATE TEMP TABLE persons AS
            SELECT rin FROM kids
            UNION SELECT rin_ouder1 FROM kids WHERE rin_ouder1 IS NOT NULL
            UNION SELECT rin_ouder2 FROM kids WHERE rin_ouder2 IS NOT NULL
            """
        )
        rows: dict[str, int] = {}
        for table in INPUT_TABLES:
            source = f"read_parquet({_parquet(src, table)})"
            if table == "geografie":
                select = f"SELECT * FROM {source}"
            else:
                select = f"SELECT * FROM {source} t WHERE t.rin IN (SELECT rin FROM persons)"
            _copy(con, select, dst / f"{table}.parquet")
            count = con.execute(f"SELECT count(*) FROM read_parquet({_parquet(dst, table)})")
            rows[table] = int(count.fetchone()[0])  # type: ignore[index]
        return rows
    finally:
        con.close()


def concat_worlds(first: Path, second: Path, dst: Path) -> dict[str, int]:
    """Two synthetic countries on one geography (see module docstring); rows per table."""
    dst.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        a, b = _parquet(first, "geografie"), _parquet(second, "geografie")
        differ = con.execute(
            f"SELECT count(*) FROM ((SELECT * FROM read_parquet({a}) EXCEPT "
            f"SELECT * FROM read_parquet({b})) UNION ALL (SELECT * FROM read_parquet({b}) "
            f"EXCEPT SELECT * FROM read_parquet({a})))"
        ).fetchone()
        if differ is None or differ[0]:
            raise ValueError("the two worlds have different geografie tables")
        rows: dict[str, int] = {}
        for table, columns in INPUT_TABLES.items():
            one = f"SELECT {', '.join(columns)} FROM read_parquet({_parquet(first, table)})"
            if table == "geografie":
                select = one
            else:
                renamed = ", ".join(
                    f"'1' || {c} AS {c}" if c in RIN_COLUMNS else c for c in columns
                )
                two = f"SELECT {renamed} FROM read_parquet({_parquet(second, table)})"
                select = f"{one} UNION ALL {two}"
            _copy(con, select, dst / f"{table}.parquet")
            count = con.execute(f"SELECT count(*) FROM read_parquet({_parquet(dst, table)})")
            rows[table] = int(count.fetchone()[0])  # type: ignore[index]
        return rows
    finally:
        con.close()


def total_rows(folder: Path) -> int:
    """Rows over all input tables of a Parquet batch (from the footers, no data read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(folder / f"{t}.parquet").metadata.num_rows for t in INPUT_TABLES)
