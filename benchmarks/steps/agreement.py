"""Step ``agreement``: both engines on the whole batch (or the largest sample of children the
reference engine does in about 5 minutes a year) for every reference year with a t+1, every
cell compared; and the engine on the plain batch against the sealed (pseudonymised) store.
"""

from __future__ import annotations

from typing import Any

import data as bench_data

from steps.base import YEAR, Bench, Step, log, previous

#: Every reference year of the synthetic batch that has a t+1 (school years 2018-2023).
AGREEMENT_YEARS = tuple(range(2018, 2023))


def run(b: Bench) -> dict[str, Any]:
    """Both engines on the whole batch for every reference year that has a t+1 (or, if the
    reference engine would take over ~5 min a year, on the largest sample of children that
    fits), every cell of every indicator compared."""
    b.ensure_data()
    ref_info = b.results.get("reference") or previous("reference")
    full_rows = bench_data.total_rows(b.data)
    budget_s = 300.0
    fraction = 1.0
    estimate = None
    if ref_info:
        estimate = ref_info["reference_us_per_row"] / 1e6 * full_rows
        if estimate > budget_s:
            fraction = max(0.1, round(budget_s / estimate, 2))
    if fraction >= 1.0:
        data = b.data
        scope = f"the whole {b.scale} batch"
    else:
        data = b.work / f"{b.scale}-sample-{int(fraction * 100)}pct"
        if not (data / "adres.parquet").exists():
            bench_data.subsample(b.data, data, fraction, salt="agreement")
        scope = (
            f"{fraction:.0%} of the children of the {b.scale} batch (hash of rin, with "
            f"their families): the reference engine would take about {estimate:.0f} s a "
            "year on all of it"
        )
    per_year: dict[str, Any] = {}
    for year in AGREEMENT_YEARS:
        log(f"both engines on {scope}, {year}")
        eng_agg = b.work / f"agg-{b.scale}-agreement-engine-{year}.pkl"
        ref_agg = b.work / f"agg-{b.scale}-agreement-reference-{year}.pkl"
        b.child("engine-parquet", "--data", str(data), "--year", str(year),
                "--save-agg", str(eng_agg))  # fmt: skip
        ref = b.child("reference", "--data", str(data), "--year", str(year),
                      "--save-agg", str(ref_agg), timeout_s=2 * b.timeout_s)  # fmt: skip
        compared = b.child("compare", "--a", str(ref_agg), "--b", str(eng_agg)).inner
        per_year[str(year)] = {
            "reference_compute_s": round(ref.inner["compute_s"], 2),
            "reference_peak_rss_mb": round(ref.peak_rss_mb, 1),
            **compared,
        }
        ref_agg.unlink()
        if year != YEAR or fraction < 1.0:
            eng_agg.unlink()
    # The same engine on the plain batch and on the sealed (pseudonymised) store.
    plain = b.agg_path(YEAR, "parquet")
    if not plain.exists():
        b.child("engine-parquet", "--data", str(b.data), "--year", str(YEAR),
                "--save-agg", str(plain))  # fmt: skip
    sealed_vs_plain = b.child("compare", "--a", str(plain), "--b", str(b.ensure_agg(YEAR))).inner
    return {
        "years": list(AGREEMENT_YEARS),
        "scope": scope,
        "rows": bench_data.total_rows(data),
        "reference_estimate_full_s_per_year": None if estimate is None else round(estimate),
        "all_agree": all(
            y["count_cells_differ"] == 0 and not y["run_report_keys_differ"]
            for y in per_year.values()
        ),
        "per_year": per_year,
        "parquet_vs_sealed_engine": sealed_vs_plain,
    }


STEP = Step(
    name="agreement",
    measures="cell-by-cell agreement of the reference and DuckDB engines, every year",
    baseline="the reference engine (the plain reading of the indicator definitions)",
    run=run,
)
