"""The benchmark steps, one per child process: ``python benchmarks/steps.py STEP [options]``.

``run.py`` starts each of these in a fresh process and measures wall time, CPU time and peak
RSS from the outside (``measure.run_child``). A step reports its inner timings (the part that
is the work itself, without imports and set-up) through ``measure.write_inner``.

Aggregates and drafts travel between steps as pickles in the benchmark's work folder. They hold
exact counts of *synthetic* data and never leave that folder; only status counts, timings and
errors against the exact figures go into ``results.json``.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from measure import peak_rss_self_mb, write_inner

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


def _save(obj: object, path: str | None) -> None:
    if path:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)  # noqa: S301 - our own pickles, in our own work folder


# --- the floor ---


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


# --- ingest with other limits ---


def ingest_store(args: argparse.Namespace) -> None:
    """``kluis ingest --memory-limit``: validation with a larger DuckDB memory limit."""
    from kansenkluis import pipeline
    from kansenkluis.config import Settings

    settings = Settings(home=Path(args.home))
    started = time.perf_counter()
    report = pipeline.ingest(settings, Path(args.data), memory_limit=args.memory_limit)
    write_inner({"ingest_s": time.perf_counter() - started, "rows": sum(report.rows.values())})


# --- the DuckDB engine ---


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
    _save(agg, args.save_agg)
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
    _save(agg, args.save_agg)
    write_inner(
        {
            "link_s": link_s,
            "compute_s": compute_s,
            "total_s": link_s + compute_s,
            "peak_rss_self_mb": peak_rss_self_mb(),
        }
    )


def fingerprint(args: argparse.Namespace) -> None:
    """The data fingerprint of a home's current sealed dataset (no data leave the child)."""
    from kansenkluis import pipeline
    from kansenkluis.config import Settings

    store = pipeline.sealed_store(Settings(home=Path(args.home)))
    write_inner({"fingerprint": store.current_fingerprint()})


# --- the reference engine ---


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
    _save(agg, args.save_agg)
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

    a, b = _load(args.a), _load(args.b)
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


# --- disclosure control ---


def _wijk_status(cells: Iterable[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    """(indicator, level, status) triples -> per indicator: wijk cells per status."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for indicator, level, status in cells:
        if level == "wijk":
            out[indicator][status] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _level_status(cells: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for level, status in cells:
        out[level][status] += 1
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def protect_step(args: argparse.Namespace) -> None:
    """Pooling + primary + secondary suppression + LP audit + rounding for one year."""
    from disclosure.policy import load_policy
    from disclosure.protect import run_protection

    agg = _load(args.agg)
    policy = load_policy(None)
    from disclosure.release import EarlierRelease

    prior: tuple[Any, ...] = ()
    if args.prior:
        prior = (EarlierRelease.of(_load(args.prior)),)
    started = time.perf_counter()
    result = run_protection(agg, policy, prior=prior)
    protect_s = time.perf_counter() - started
    draft = result.draft
    _save(draft, args.save_draft)
    stats = result.stats
    write_inner(
        {
            "protect_s": protect_s,
            "prior_cells": sum(len(r.cells) for r in prior),
            "cells": len(draft.cells),
            "wijkgroepen": sum(1 for g in draft.pooling if g.level.value == "wijkgroep"),
            "region_pools": sum(1 for g in draft.pooling if g.level.value == "regio"),
            "wijk_status": _wijk_status(
                (c.indicator, c.geo_level.value, c.status.value) for c in draft.cells
            ),
            "level_status": _level_status((c.geo_level.value, c.status.value) for c in draft.cells),
            "audited_counts": len(result.checks),
            "audit_failures": sum(not ch.ok for ch in result.checks),
            "rounds": stats.rounds,
            "relation_complements": stats.relation_complements,
            "audit_complements": stats.audit_complements,
            "lp_solves": stats.lp_solves,
            "peak_rss_self_mb": peak_rss_self_mb(),
        }
    )


def baseline_step(args: argparse.Namespace) -> None:
    """The naive baseline (smallest sibling per parent) on the same pooling, then the audit."""
    from disclosure.policy import load_policy
    from disclosure.protect import naive_baseline

    agg = _load(args.agg)
    started = time.perf_counter()
    result = naive_baseline(agg, load_policy(None))
    baseline_s = time.perf_counter() - started
    table = result.table
    write_inner(
        {
            "baseline_s": baseline_s,
            "suppressed_secondary": result.suppressed_secondary,
            "audited_counts": result.audited_counts,
            "failing_counts": result.failing_counts,
            "passes_audit": result.passes_audit,
            "wijk_status": _wijk_status(
                (c.indicator, c.level.value, c.status.value) for c in table.cells
            ),
            "level_status": _level_status((c.level.value, c.status.value) for c in table.cells),
        }
    )


# --- differential privacy: accuracy ---


def _exact_figures(agg: Any, pooling: Iterable[Any]) -> dict[tuple[str, str, str, str], tuple]:
    """(indicator, breakdown, level, code) -> exact (numerator, denominator), every level."""
    from indicators.specs import indicator_counts

    geo = agg.geography
    wijk = indicator_counts(agg)
    wijk["gemeente"] = wijk["wijkcode"].map(lambda w: geo.wijken[w].gemeentecode)
    out: dict[tuple[str, str, str, str], tuple[int, int]] = {}
    by_wijk: dict[tuple[str, str], dict[str, tuple[int, int]]] = defaultdict(dict)
    by_gemeente: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for ind, brk, w, gem, num, den in wijk[
        ["indicator", "breakdown", "wijkcode", "gemeente", "numerator", "denominator"]
    ].itertuples(index=False):
        out[(ind, brk, "wijk", w)] = (int(num), int(den))
        by_wijk[(ind, brk)][w] = (int(num), int(den))
        acc = by_gemeente[(ind, brk)][gem]
        acc[0] += int(num)
        acc[1] += int(den)
    for (ind, brk), gems in by_gemeente.items():
        for gem, (num, den) in gems.items():
            out[(ind, brk, "gemeente", gem)] = (num, den)
        out[(ind, brk, "land", "NL")] = (
            sum(v[0] for v in gems.values()),
            sum(v[1] for v in gems.values()),
        )
    for group in pooling:
        level = group.level.value
        for ind, brk in by_wijk:
            if level == "wijkgroep":
                parts = [by_wijk[(ind, brk)][m] for m in group.members]
            else:
                parts = [tuple(by_gemeente[(ind, brk)][m]) for m in group.members]
            out[(ind, brk, level, group.code)] = (
                sum(p[0] for p in parts),
                sum(p[1] for p in parts),
            )
    return out


def _release_errors(release: Any, exact: Mapping[tuple, tuple]) -> dict[str, Any]:
    """Per indicator and level: median and 90th-percentile absolute error of published
    percentages (points) against the exact ones, and the share of wijk cells per rule."""
    errors: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    wijk_rules: dict[str, Counter[str]] = defaultdict(Counter)
    for c in release.cells:
        level = c.geo_level.value
        if level == "wijk":
            wijk_rules[c.indicator][c.rule.value] += 1
        if c.percentage is None:
            continue
        num, den = exact[(c.indicator, c.breakdown, level, c.geo_code)]
        if den <= 0:
            continue
        errors[c.indicator][level].append(abs(c.percentage - 100.0 * num / den))
    mae: dict[str, dict[str, dict[str, float]]] = {}
    for ind, levels in sorted(errors.items()):
        mae[ind] = {}
        for level, errs in sorted(levels.items()):
            errs.sort()
            mae[ind][level] = {
                "median_abs_error_pp": round(statistics.median(errs), 3),
                "p90_abs_error_pp": round(errs[int(0.9 * (len(errs) - 1))], 3),
                "published_cells": len(errs),
            }
    shares = {
        ind: {
            "wijk_cells": sum(rules.values()),
            "min_cell_share": round(rules["min_cell"] / max(sum(rules.values()), 1), 4),
            "suppressed_primary_share": round(
                sum(
                    n
                    for r, n in rules.items()
                    if r in ("min_cell", "group_disclosure", "complement")
                )
                / max(sum(rules.values()), 1),
                4,
            ),
            "rules": dict(sorted(rules.items())),
        }
        for ind, rules in sorted(wijk_rules.items())
    }
    return {"errors": mae, "wijk_rules": shares}


def utility_step(args: argparse.Namespace) -> None:
    """What one release shows per indicator and breakdown, with what only exact counts tell.

    Runs ``run_protection`` of whatever ``disclosure`` package is first on the path, so the
    same step measures the previous design from a checkout of its commit (``run.py``).
    Reported per indicator/breakdown (opleidingsmobiliteit has no wijk rows): wijken with their
    own figure, covered by a published wijkgroep, and the *bound*: wijken whose own exact counts
    would pass the primary rules unpooled; gemeente rows withheld (primary, secondary); the sum
    of the exact denominators of withheld wijk, wijkgroep and gemeente rows (information loss).
    """
    from disclosure.policy import load_policy
    from disclosure.primary import primary_rule
    from disclosure.protect import run_protection
    from kansenkluis.domain import CellStatus, GeoLevel, Rule

    agg = _load(args.agg)
    policy = load_policy(None)
    started = time.perf_counter()
    result = run_protection(agg, policy)
    protect_s = time.perf_counter() - started
    table, draft = result.table, result.draft
    group_status = {
        (c.indicator, c.breakdown, c.geo_code): c.status
        for c in draft.cells
        if c.geo_level is GeoLevel.WIJKGROEP
    }
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for c in draft.cells:
        r = rows[f"{c.indicator}/{c.breakdown}"]
        if c.geo_level is GeoLevel.WIJK:
            r["wijken"] += 1
            if c.status is CellStatus.PUBLISHED:
                r["own"] += 1
            elif (
                c.status is CellStatus.POOLED
                and group_status.get((c.indicator, c.breakdown, c.pooled_into))
                is CellStatus.PUBLISHED
            ):
                r["via_wijkgroep"] += 1
        elif c.geo_level is GeoLevel.GEMEENTE and c.status is not CellStatus.POOLED:
            r["gemeenten"] += 1
            if c.status is CellStatus.SUPPRESSED_PRIMARY:
                r["gemeenten_primary"] += 1
            elif c.status is CellStatus.SUPPRESSED_SECONDARY:
                r["gemeenten_secondary"] += 1
    for c in table.cells:
        key = f"{c.indicator}/{c.breakdown}"
        den = table.numbers[c.den].value
        if c.level is GeoLevel.WIJK:
            rule, _ = primary_rule(table.numbers[c.num].value, den, policy)
            rows[key]["bound"] += rule is Rule.PUBLISHED
        withheld = c.status in (CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY)
        if withheld and c.level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP, GeoLevel.GEMEENTE):
            rows[key]["withheld_denominators"] += den
    n_wijken: Counter[str] = Counter(w.gemeentecode for w in agg.geography.wijken.values())
    whole = sum(
        1
        for g in draft.pooling
        if g.level is GeoLevel.WIJKGROEP and len(g.members) == n_wijken[str(g.gemeentecode)]
    )
    write_inner(
        {
            "protect_s": protect_s,
            "audit_failures": sum(not ch.ok for ch in result.checks),
            "wijkgroepen": sum(1 for g in draft.pooling if g.level is GeoLevel.WIJKGROEP),
            "wijkgroepen_whole_gemeente": whole,
            "per_indicator": {k: dict(v) for k, v in rows.items() if v["wijken"]},
        }
    )


def accuracy(args: argparse.Namespace) -> None:
    """Errors of a kluis-run release (DP or not) against the exact aggregates."""
    from disclosure.store import ReleaseStore
    from kansenkluis.config import Settings

    agg = _load(args.agg)
    store = ReleaseStore(Settings(home=Path(args.home)).release_db)
    try:
        release = store.get(args.release)
    finally:
        store.close()
    exact = _exact_figures(agg, release.pooling)
    out = _release_errors(release, exact)
    out["dp"] = None if release.dp is None else release.dp.model_dump(mode="json")
    write_inner(out)


# --- command line ---


# --- factsheets with maps and trends, and the programme's overview ---


def _pdf_pages(pdf: bytes) -> int:
    """Page count of a WeasyPrint PDF (its page tree sits in compressed object streams)."""
    import re
    import zlib

    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end() :]))
        except zlib.error:
            continue
    counts = re.findall(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)", b"\n".join(parts), re.S)
    return max((int(n) for n in counts), default=0)


def factsheet_step(args: argparse.Namespace) -> None:
    """One gemeente's factsheet in one process: the release, the earlier school years, HTML and
    PDF with maps and trends. ``--plain``: the same release without them (maps switched off
    here, no earlier years), the baseline of the same run."""
    from api.factsheet import load_history, load_release, render, render_factsheet
    from disclosure.store import ReleaseStore

    if args.plain:
        render.build_kaart = lambda *a, **k: (render.Markup(), "")  # type: ignore[assignment]
    t0 = time.perf_counter()
    store = ReleaseStore(Path(args.home) / "releases" / "releases.sqlite")
    # as kluis factsheet reads it: the gemeente's part of the release
    release = load_release(store, args.release, args.gemeente)
    t1 = time.perf_counter()
    history = () if args.plain else load_history(store, release, args.gemeente)
    t2 = time.perf_counter()
    html = render_factsheet(release, args.gemeente, "html", history)
    t3 = time.perf_counter()
    pdf = render_factsheet(release, args.gemeente, "pdf", history)
    t4 = time.perf_counter()
    write_inner(
        {
            "cells": len(release.cells),
            "school_years": len(history),
            "load_release_s": round(t1 - t0, 3),
            "history_s": round(t2 - t1, 3),
            "html_s": round(t3 - t2, 3),
            "pdf_s": round(t4 - t3, 3),
            "pdf_pages": _pdf_pages(pdf),
            "html_kb": round(len(html) / 1024),
            "peak_rss_mb": round(peak_rss_self_mb(), 1),
        }
    )


def overview_step(args: argparse.Namespace) -> None:
    """The programme's overview of one indicator: every gemeente on the map, HTML and PDF."""
    from api.factsheet import render_overview
    from disclosure.store import ReleaseStore

    t0 = time.perf_counter()
    store = ReleaseStore(Path(args.home) / "releases" / "releases.sqlite")
    release = store.get(args.release)
    t1 = time.perf_counter()
    html = render_overview(release, args.indicator, None, "html")
    t2 = time.perf_counter()
    pdf = render_overview(release, args.indicator, None, "pdf")
    t3 = time.perf_counter()
    write_inner(
        {
            "gemeenten_on_map": html.count(b'class="gebied"'),
            "load_release_s": round(t1 - t0, 3),
            "html_s": round(t2 - t1, 3),
            "pdf_s": round(t3 - t2, 3),
            "pdf_pages": _pdf_pages(pdf),
            "html_kb": round(len(html) / 1024),
            "peak_rss_mb": round(peak_rss_self_mb(), 1),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="step", required=True)

    p = sub.add_parser("floor")
    p.add_argument("--data", required=True)
    p.set_defaults(fn=floor)

    p = sub.add_parser("ingest-store")
    p.add_argument("--home", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--memory-limit", default="8GB")
    p.set_defaults(fn=ingest_store)

    p = sub.add_parser("engine-parquet")
    p.add_argument("--data", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--mode", choices=("views", "tables"), default="views")
    p.add_argument("--save-agg")
    p.set_defaults(fn=engine_parquet)

    p = sub.add_parser("engine-sealed")
    p.add_argument("--home", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--save-agg")
    p.set_defaults(fn=engine_sealed)

    p = sub.add_parser("fingerprint")
    p.add_argument("--home", required=True)
    p.set_defaults(fn=fingerprint)

    p = sub.add_parser("reference")
    p.add_argument("--data", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--save-agg")
    p.set_defaults(fn=reference)

    p = sub.add_parser("compare")
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.set_defaults(fn=compare)

    p = sub.add_parser("protect")
    p.add_argument("--agg", required=True)
    p.add_argument("--prior")
    p.add_argument("--save-draft")
    p.set_defaults(fn=protect_step)

    p = sub.add_parser("baseline")
    p.add_argument("--agg", required=True)
    p.set_defaults(fn=baseline_step)

    p = sub.add_parser("utility")
    p.add_argument("--agg", required=True)
    p.set_defaults(fn=utility_step)

    p = sub.add_parser("accuracy")
    p.add_argument("--home", required=True)
    p.add_argument("--release", required=True)
    p.add_argument("--agg", required=True)
    p.set_defaults(fn=accuracy)

    p = sub.add_parser("factsheet")
    p.add_argument("--home", required=True)
    p.add_argument("--release", required=True)
    p.add_argument("--gemeente", default="GM0917")
    p.add_argument("--plain", action="store_true", help="without maps and trends")
    p.set_defaults(fn=factsheet_step)

    p = sub.add_parser("overview")
    p.add_argument("--home", required=True)
    p.add_argument("--release", required=True)
    p.add_argument("--indicator", default="heroverweging")
    p.set_defaults(fn=overview_step)

    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
