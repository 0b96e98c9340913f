"""Step ``engine``: the DuckDB indicator engine against the floor, interleaved so that load
changes hit both alike.

The floor (child ``floor``) reads exactly the Parquet columns the engine needs into Arrow and
nothing else. The engine runs as ``kluis run`` does it (child ``engine-sealed``: decrypt, link,
compute), on DuckDB views over the batch's Parquet files and on tables loaded from them (child
``engine-parquet``). ``engine-sealed`` also makes the exact aggregates other steps start from
(``Bench.ensure_agg``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from measure import Sample, peak_rss_self_mb, spread, summarise, write_inner

from steps.base import YEAR, Bench, Child, Step, log, save_pickle

#: The columns the indicator engine reads, per input table (see secure/engine.py): the floor
#: reads exactly these. ``brin`` is never used; ``geografie`` is read whole (it is tiny and the
#: geography needs names, regions and buren).
NEEDED_COLUMNS: Mapping[str, tuple[str, ...] | None] = {
    "po_advies": ("rin", "schooljaar", "schooladvies", "toetsadvies", "advies_definitief"),
    "vo_inschrijving": ("rin", "schooljaar", "niveau", "leerjaar"),
    "vo_examen": ("rin", "schooljaar", "niveau", "geslaagd"),
    "mbo_inschrijving": ("rin", "schooljaar"),
    "mbo_diploma": ("rin", "schooljaar", "niveau"),
    "ho_inschrijving": ("rin", "schooljaar", "soort"),
    "persoon": ("rin", "geboortejaar", "geboortemaand"),
    "kind_ouder": ("rin", "rin_ouder1", "rin_ouder2"),
    "hoogste_opleiding": ("rin", "opleidingsniveau"),
    "adres": ("rin", "schooljaar", "wijkcode"),
    "geografie": None,
}


def run(b: Bench) -> dict[str, Any]:
    """Floor and engine side by side, interleaved so that load changes hit both alike."""
    b.ensure_home()
    data = str(b.data)
    year = str(YEAR)
    floor: list[Sample] = []
    sealed: list[Sample] = []
    views: list[Sample] = []
    tables: list[Sample] = []
    b.child("floor", "--data", data)  # warm the page cache for everyone
    for i in b.rounds(sealed, views, tables):
        log(f"floor / engine round {i + 1}")
        floor.append(b.child("floor", "--data", data))
        save = ("--save-agg", str(b.agg_path(YEAR))) if i == 0 else ()
        sealed.append(b.child("engine-sealed", "--home", str(b.base_home), "--year", year, *save))
        save = ("--save-agg", str(b.agg_path(YEAR, "parquet"))) if i == 0 else ()
        views.append(
            b.child("engine-parquet", "--data", data, "--year", year, "--mode", "views", *save)
        )
        tables.append(b.child("engine-parquet", "--data", data, "--year", year, "--mode", "tables"))
        floor.append(b.child("floor", "--data", data))
    floor_s = spread([s.inner["read_s"] for s in floor])["median"]

    def ratio(samples: list[Sample], key: str) -> dict[str, float | int]:
        return spread([s.inner[key] / floor_s for s in samples])

    return {
        "year": YEAR,
        "floor": {
            "what": "pyarrow.parquet.read_table(columns=needed) of every table, in one "
            "process (page cache warm)",
            "rows": floor[0].inner["rows"],
            "arrow_mb": round(floor[0].inner["arrow_mb"], 1),
            **summarise(floor, ["read_s"]),
        },
        "engine_sealed": {
            "what": "secure.link.open_linked (decrypt, load into DuckDB, link report) + "
            "secure.engine.compute_aggregates, as kluis run does",
            **summarise(sealed, ["link_s", "compute_s", "total_s"]),
            "ratio_total_to_floor": ratio(sealed, "total_s"),
            "ratio_compute_to_floor": ratio(sealed, "compute_s"),
        },
        "engine_parquet_views": {
            "what": "compute_aggregates on DuckDB views over the batch's Parquet files "
            "(the engine reads the files itself)",
            **summarise(views, ["load_s", "compute_s", "total_s"]),
            "ratio_total_to_floor": ratio(views, "total_s"),
        },
        "engine_parquet_tables": {
            "what": "the Parquet files loaded into DuckDB tables, then compute_aggregates",
            **summarise(tables, ["load_s", "compute_s", "total_s"]),
            "ratio_total_to_floor": ratio(tables, "total_s"),
            "ratio_compute_to_floor": ratio(tables, "compute_s"),
        },
        "goal": {"ratio_to_floor": 2.0, "peak_rss_mb": 4 * 1024},
    }


def floor(args: argparse.Namespace) -> None:
    """Read the needed Parquet columns of every table into Arrow, and nothing else."""
    data = Path(args.data)
    started = time.perf_counter()
    tables = {
        name: pq.read_table(data / f"{name}.parquet", columns=list(cols) if cols else None)
        for name, cols in NEEDED_COLUMNS.items()
    }
    read_s = time.perf_counter() - started
    write_inner(
        {
            "read_s": read_s,
            "rows": sum(t.num_rows for t in tables.values()),
            "arrow_mb": sum(t.nbytes for t in tables.values()) / 2**20,
        }
    )


def _geography_from_con(con: Any) -> Any:
    from kansenkluis.domain import Geography

    return Geography.from_frame(con.execute("SELECT * FROM geografie").df())


def engine_parquet(args: argparse.Namespace) -> None:
    """The engine straight on the batch's Parquet files (views) or on tables loaded first."""
    import duckdb

    from kansenkluis.domain import INPUT_TABLES
    from secure.engine import compute_aggregates

    data = Path(args.data)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    kind = "VIEW" if args.mode == "views" else "TABLE"
    for name in INPUT_TABLES:
        path = str(data / f"{name}.parquet").replace("'", "''")
        con.execute(f"CREATE {kind} {name} AS SELECT * FROM read_parquet('{path}')")
    geography = _geography_from_con(con)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    agg = compute_aggregates(con, geography, args.year, "parquet")
    compute_s = time.perf_counter() - started
    save_pickle(agg, args.save_agg)
    write_inner(
        {
            "load_s": load_s,
            "compute_s": compute_s,
            "total_s": load_s + compute_s,
            "peak_rss_self_mb": peak_rss_self_mb(),
        }
    )


def engine_sealed(args: argparse.Namespace) -> None:
    """What ``kluis run`` does before disclosure control: decrypt and link, then compute."""
    from kansenkluis import pipeline
    from kansenkluis.config import Settings
    from secure.engine import compute_aggregates
    from secure.link import open_linked

    store = pipeline.sealed_store(Settings(home=Path(args.home)))
    started = time.perf_counter()
    with open_linked(store) as linked:
        link_s = time.perf_counter() - started
        started = time.perf_counter()
        agg = compute_aggregates(linked.con, linked.geography, args.year, linked.data_fingerprint)
        compute_s = time.perf_counter() - started
    save_pickle(agg, args.save_agg)
    write_inner(
        {
            "link_s": link_s,
            "compute_s": compute_s,
            "total_s": link_s + compute_s,
            "peak_rss_self_mb": peak_rss_self_mb(),
        }
    )


def _floor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True)


def _engine_parquet_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--mode", choices=("views", "tables"), default="views")
    p.add_argument("--save-agg")


def _engine_sealed_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--save-agg")


STEP = Step(
    name="engine",
    measures="the indicator engine as kluis run does it, and on Parquet views and tables",
    baseline="the floor: reading the needed Parquet columns into Arrow, in the same run",
    run=run,
    children=(
        Child("floor", floor, _floor_options),
        Child("engine-parquet", engine_parquet, _engine_parquet_options),
        Child("engine-sealed", engine_sealed, _engine_sealed_options),
    ),
)
