"""Step ``ingest``: ``kluis ingest`` of the bench batch into a fresh ``KLUIS_HOME`` (``kluis
init`` not timed). The first run's home becomes the base home that later steps copy.

Child ``ingest-store``: the same ingest with a larger DuckDB memory limit for validation, for
when the plain ingest runs out of memory (``Bench.ingest_into``).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import data as bench_data
from measure import Sample, summarise, write_inner

from steps.base import Bench, Child, Step, folder_mb, log


def run(b: Bench) -> dict[str, Any]:
    """kluis ingest of the batch into a fresh KLUIS_HOME (init not timed)."""
    b.ensure_data()
    samples: list[Sample] = []
    flags: list[str] = []
    refusal: str | None = None
    for i in b.rounds(samples):
        home = b.fresh_home(f"ingest-home-{i}")
        log(f"ingest run {i + 1}")
        sample, flags, refusal = b.ingest_into(home, b.data)
        samples.append(sample)
        if i == 0:
            if b.base_home.exists():
                shutil.rmtree(b.base_home)
            home.rename(b.base_home)
            for stale in b.work.glob(f"agg-{b.scale}-*.pkl"):
                stale.unlink()
        else:
            shutil.rmtree(home)
    return {
        "command": "kluis ingest DIR" + (f" (refused; then {flags[0]})" if flags else ""),
        "flags": flags,
        "plain_ingest_refused": refusal,
        "rows": bench_data.total_rows(b.data),
        "sealed_store_mb": round(folder_mb(b.base_home / "sealed"), 1),
        **summarise(samples),
        "goal": {"wall_s": 120, "peak_rss_mb": 6 * 1024},
    }


def ingest_store(args: argparse.Namespace) -> None:
    """``kluis ingest --memory-limit``: validation with a larger DuckDB memory limit."""
    from kansenkluis import pipeline
    from kansenkluis.config import Settings

    settings = Settings(home=Path(args.home))
    started = time.perf_counter()
    report = pipeline.ingest(settings, Path(args.data), memory_limit=args.memory_limit)
    write_inner({"ingest_s": time.perf_counter() - started, "rows": sum(report.rows.values())})


def _ingest_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--memory-limit", default="8GB")


STEP = Step(
    name="ingest",
    measures="kluis ingest of the bench batch into a fresh home: wall, CPU, peak RSS",
    baseline="the goal (120 s, 6 GB)",
    run=run,
    children=(Child("ingest-store", ingest_store, _ingest_store_options),),
)
