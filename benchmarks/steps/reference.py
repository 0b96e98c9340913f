"""Step ``reference``: the plain-pandas reference engine (child ``reference``) on a 1% sample
of children, against the DuckDB engine on the same sample in the same run; every cell of the
two compared (child ``compare``, also used by the ``agreement`` step).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import data as bench_data
import pyarrow.parquet as pq
from measure import Sample, peak_rss_self_mb, spread, summarise, write_inner

from steps.base import YEAR, Bench, Child, Step, load_pickle, log, previous, save_pickle


def run(b: Bench) -> dict[str, Any]:
    """The reference engine on a 1% sample of children, the DuckDB engine on the same."""
    b.ensure_data()
    sample_dir = b.work / f"{b.scale}-sample-1pct"
    if not (sample_dir / "adres.parquet").exists():
        bench_data.subsample(b.data, sample_dir, 0.01)
    rows = bench_data.total_rows(sample_dir)
    ref_agg = b.work / f"agg-{b.scale}-reference-1pct.pkl"
    eng_agg = b.work / f"agg-{b.scale}-engine-1pct.pkl"
    year = str(YEAR)
    ref: list[Sample] = []
    eng: list[Sample] = []
    for i in b.rounds(ref, eng):
        log(f"reference / engine on the 1% sample, round {i + 1}")
        save = ("--save-agg", str(ref_agg)) if i == 0 else ()
        ref.append(b.child("reference", "--data", str(sample_dir), "--year", year, *save))
        save = ("--save-agg", str(eng_agg)) if i == 0 else ()
        eng.append(
            b.child(
                "engine-parquet",
                "--data",
                str(sample_dir),
                "--year",
                year,
                "--mode",
                "tables",
                *save,
            )
        )
    agree = b.child("compare", "--a", str(ref_agg), "--b", str(eng_agg)).inner
    ref_s = spread([s.inner["compute_s"] for s in ref])["median"]
    eng_s = spread([s.inner["compute_s"] for s in eng])["median"]
    out: dict[str, Any] = {
        "sample": "1% of children (hash of rin), with every row of theirs and their "
        "parents' persoon/hoogste_opleiding rows",
        "rows": rows,
        "reference": summarise(ref, ["read_s", "compute_s"]),
        "engine_same_sample": summarise(eng, ["load_s", "compute_s"]),
        "ratio_reference_to_engine_same_sample": round(ref_s / eng_s, 1),
        "reference_us_per_row": round(ref_s / rows * 1e6, 2),
        "agreement_on_sample": agree,
    }
    national = b.results.get("engine") or previous("engine")
    if national:
        nat_rows = national["floor"]["rows"]
        nat_s = national["engine_parquet_tables"]["compute_s"]["median"]
        out["engine_us_per_row_full_scale"] = round(nat_s / nat_rows * 1e6, 3)
        out["ratio_per_row_reference_1pct_to_engine_full"] = round(
            (ref_s / rows) / (nat_s / nat_rows), 1
        )
    return out


def reference(args: argparse.Namespace) -> None:
    """The plain-pandas reference engine on a batch (all columns, as the engine gets them)."""
    from indicators.reference import compute_aggregates
    from kansenkluis.domain import INPUT_TABLES, Geography

    data = Path(args.data)
    started = time.perf_counter()
    tables = {name: pq.read_table(data / f"{name}.parquet").to_pandas() for name in INPUT_TABLES}
    geography = Geography.from_frame(tables["geografie"])
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    agg = compute_aggregates(tables, geography, args.year, "parquet")
    compute_s = time.perf_counter() - started
    save_pickle(agg, args.save_agg)
    write_inner(
        {
            "read_s": read_s,
            "compute_s": compute_s,
            "rows": sum(len(t) for t in tables.values()),
            "peak_rss_self_mb": peak_rss_self_mb(),
        }
    )


def compare(args: argparse.Namespace) -> None:
    """Cell-by-cell comparison of two aggregates (counts and every indicator cell)."""
    from indicators.specs import indicator_counts

    a, b = load_pickle(args.a), load_pickle(args.b)
    keys = ["population", "breakdown", "category", "wijkcode"]
    left = a.counts.set_index(keys)["count"].sort_index()
    right = b.counts.set_index(keys)["count"].sort_index()
    joined = left.to_frame("a").join(right.to_frame("b"), how="outer").fillna(-1)
    differ = joined[joined["a"] != joined["b"]]
    ia, ib = indicator_counts(a), indicator_counts(b)
    ikeys = ["indicator", "breakdown", "wijkcode"]
    ij = ia.set_index(ikeys).join(ib.set_index(ikeys), lsuffix="_a", rsuffix="_b", how="outer")
    idiffer = ij[
        (ij["numerator_a"] != ij["numerator_b"]) | (ij["denominator_a"] != ij["denominator_b"])
    ]
    report_keys = set(a.run_report) | set(b.run_report)
    report_differ = sorted(k for k in report_keys if a.run_report.get(k) != b.run_report.get(k))
    write_inner(
        {
            "count_cells": len(joined),
            "count_cells_differ": len(differ),
            "indicator_cells": len(ij),
            "indicator_cells_differ": len(idiffer),
            "indicators_differing": sorted({str(k[0]) for k in idiffer.index}),
            "run_report_keys": len(report_keys),
            "run_report_keys_differ": report_differ,
            "pupils_counted": int(a.counts["count"].sum()),
        }
    )


def _reference_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--save-agg")


def _compare_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)


STEP = Step(
    name="reference",
    measures="the reference engine on a 1% sample of children: time per row, agreement",
    baseline="the DuckDB engine on the same sample, in the same run",
    run=run,
    children=(
        Child("reference", reference, _reference_options),
        Child("compare", compare, _compare_options),
    ),
)
