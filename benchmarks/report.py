"""Turn ``benchmarks/results.json`` into the tables of ``docs/performance.md`` and the plot
``docs/img/scaling.png``.

Only the part of the document between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` is
generated; the prose around it (how to read the figures, the distributed-engine section) is
written by hand. ``python benchmarks/report.py`` re-renders from the stored results without
measuring anything.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

HERE = Path(__file__).resolve().parent
STATUSES = ("published", "pooled", "suppressed_primary", "suppressed_secondary")


def _num(v: float, digits: int = 1) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def fmt(s: Mapping[str, Any] | None, unit: str = "s", scale: float = 1.0, digits: int = 1) -> str:
    """'median (min–max) unit' of a spread; a single run shows just its value."""
    if not s:
        return "—"
    med, lo, hi = (s[k] * scale for k in ("median", "min", "max"))
    text = f"{_num(med, digits)} {unit}".strip()
    if s.get("n", 1) > 1:
        text += f" ({_num(lo, digits)}–{_num(hi, digits)})"
    return text


def gb(s: Mapping[str, Any] | None) -> str:
    return fmt(s, "GB", 1 / 1024, 2)


def verdict(value: float | None, goal: float | None) -> str:
    if value is None or goal is None:
        return "—"
    if value <= goal:
        return "met"
    over = 100 * (value / goal - 1)
    return f"**missed** by {over:.0f}%" if over >= 1 else f"**missed** by {over:.1f}%"


def _get(d: Mapping[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def _failed(step: Mapping[str, Any] | None) -> str | None:
    if step and "failed" in step:
        lines = [ln for ln in step["failed"].splitlines() if ln.strip()]
        error = next((ln for ln in lines if ln.startswith("error")), lines[0] if lines else "")
        return error.strip()
    return None


def headline(steps: Mapping[str, Any], scale: str = "national") -> list[str]:
    rows = [
        "| step | what is timed | time: median (min–max) | peak RSS | goal | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def add(name: str, what: str, time: str, rss: str, goal: str, ok: str) -> None:
        rows.append(f"| {name} | {what} | {time} | {rss} | {goal} | {ok} |")

    def failed(name: str, key: str) -> bool:
        err = _failed(steps.get(key))
        if err:
            add(name, "—", f"FAILED: `{err}`", "—", "—", "**not measured**")
        return err is not None

    s = steps.get("synth")
    if s and not failed("synth", "synth"):
        add(
            f"`kluis synth --scale {scale}`",
            "whole command",
            fmt(s["wall_s"]),
            gb(s["peak_rss_mb"]),
            "< 120 s, < 6 GB",
            _both(verdict(s["wall_s"]["median"], 120), verdict(s["peak_rss_mb"]["median"], 6144)),
        )
    e = steps.get("engine")
    if e and not failed("engine", "engine"):
        f = e["floor"]
        add(
            "**floor**",
            "read needed Parquet columns into Arrow",
            fmt(f["read_s"]),
            gb(f["peak_rss_mb"]),
            "—",
            "—",
        )
    s = steps.get("ingest")
    if s and not failed("`kluis ingest`", "ingest"):
        flag = f" (refused, then `{s['flags'][0]}`)" if s.get("flags") else ""
        add(
            f"`kluis ingest`{flag}",
            "whole command",
            fmt(s["wall_s"]),
            gb(s["peak_rss_mb"]),
            "< 120 s, < 6 GB",
            _both(verdict(s["wall_s"]["median"], 120), verdict(s["peak_rss_mb"]["median"], 6144)),
        )
    if e and "floor" in e:
        es = e["engine_sealed"]
        ratio = es["ratio_total_to_floor"]
        add(
            "indicators, as `kluis run` does",
            "decrypt + load + link report + compute",
            f"{fmt(es['total_s'])}; **{_num(ratio['median'], 2)}× floor**",
            gb(es["peak_rss_mb"]),
            "≤ 2× floor, < 4 GB",
            _both(verdict(ratio["median"], 2.0), verdict(es["peak_rss_mb"]["median"], 4096)),
        )
        add("", "of which decrypt + load + link report", fmt(es["link_s"]), "", "", "")
        add(
            "",
            "of which `compute_aggregates`",
            f"{fmt(es['compute_s'])}; {_num(es['ratio_compute_to_floor']['median'], 2)}× floor",
            "",
            "",
            "",
        )
        ev = e["engine_parquet_views"]
        add(
            "indicators on the plain Parquet batch",
            "DuckDB views on the files + compute",
            f"{fmt(ev['total_s'])}; **{_num(ev['ratio_total_to_floor']['median'], 2)}× floor**",
            gb(ev["peak_rss_mb"]),
            "≤ 2× floor",
            verdict(ev["ratio_total_to_floor"]["median"], 2.0),
        )
        et = e["engine_parquet_tables"]
        add(
            "",
            "load into DuckDB tables, then compute",
            f"{fmt(et['total_s'])}; {_num(et['ratio_total_to_floor']['median'], 2)}× floor "
            f"(compute alone {_num(et['ratio_compute_to_floor']['median'], 2)}×)",
            gb(et["peak_rss_mb"]),
            "",
            "",
        )
    r = steps.get("reference")
    if r and not failed("reference engine", "reference"):
        per_row = r.get("ratio_per_row_reference_1pct_to_engine_full")
        add(
            "reference engine (1% sample)",
            f"compute on {r['rows']:,} rows",
            f"{fmt(r['reference']['compute_s'], digits=2)}; {r['reference_us_per_row']} µs/row"
            + (f", **{per_row}× the engine per row**" if per_row else ""),
            gb(r["reference"]["peak_rss_mb"]),
            "—",
            "—",
        )
    p = steps.get("protect")
    if p and not failed("disclosure control", "protect"):
        for key, name in (
            ("first_release", "pooling + suppression + audit, one year"),
            ("second_release_same_year", "the same year again, first as prior"),
            ("next_year_after_first", "the next year, first as prior"),
        ):
            q = p[key]
            add(
                name if key == "first_release" else "",
                name if key != "first_release" else "`run_protection` (incl. rounding)",
                fmt(q["protect_s"]),
                gb(q["peak_rss_mb"]),
                "≤ 20 s",
                verdict(q["protect_s"]["median"], 20),
            )
    k = steps.get("run")
    if k and not failed("`kluis run`", "run"):
        add(
            "`kluis run --year 2021`",
            "whole command",
            fmt(k["first_release"]["wall_s"]),
            gb(k["first_release"]["peak_rss_mb"]),
            "≤ 60 s, < 4 GB",
            _both(
                verdict(k["first_release"]["wall_s"]["median"], 60),
                verdict(k["first_release"]["peak_rss_mb"]["median"], 4096),
            ),
        )
        add(
            "",
            "second release of the same year",
            fmt(k["second_release_same_year"]["wall_s"]),
            gb(k["second_release_same_year"]["peak_rss_mb"]),
            "≤ 60 s",
            verdict(k["second_release_same_year"]["wall_s"]["median"], 60),
        )
    d = steps.get("dp")
    if d and not failed("`kluis run --epsilon 1`", "dp"):
        add(
            "`kluis run --year 2021 --epsilon 1`",
            "whole command",
            fmt(d["wall_s"]),
            gb(d["peak_rss_mb"]),
            "≤ 60 s",
            verdict(d["wall_s"]["median"], 60),
        )
    a = steps.get("api")
    if a and not failed("API", "api"):
        rate = a["runs"][0]["rate_target_per_s"]
        dur = a["runs"][0]["duration_target_s"]
        add(
            "API, published cells",
            f"{rate:.0f} req/s for {dur:.0f} s, loopback",
            f"p50 {fmt(a['p50_ms'], 'ms', digits=1)}, **p99 {fmt(a['p99_ms'], 'ms', digits=1)}**, "
            f"{fmt(a['throughput_per_s'], 'req/s', digits=0)}",
            f"{a['server_peak_rss_mb'] / 1024:.2f} GB (server)",
            "p99 ≤ 25 ms",
            verdict(a["p99_ms"]["median"], 25),
        )
    return rows


def _both(a: str, b: str) -> str:
    if a == "met" and b == "met":
        return "met"
    return "; ".join(
        x for x in (a if a != "met" else "time met", b if b != "met" else "memory met")
    )


def disclosure_table(steps: Mapping[str, Any]) -> list[str]:
    p = steps.get("protect")
    if not p or "failed" in p:
        return []
    ours = p["first_release"]["detail"]["wijk_cells_per_indicator"]
    base = p["naive_baseline"]
    rows = [
        "| indicator | wijk cells | published | pooled | suppressed primary | suppressed "
        "secondary | naive baseline: suppressed secondary |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for ind, d in ours.items():
        cells = [f"{d[s]['n']:,} ({100 * d[s]['share']:.1f}%)" if s in d else "0" for s in STATUSES]
        b = base["wijk_status"].get(ind, {})
        total = sum(b.values()) or 1
        bs = b.get("suppressed_secondary", 0)
        rows.append(
            f"| {ind} | {d['wijk_cells']:,} | " + " | ".join(cells) + f" | {bs:,} "
            f"({100 * bs / total:.1f}%) |"
        )
    rows.append("")
    rows.append(
        f"Naive baseline (smallest published sibling per parent until no parent has exactly one "
        f"withheld child, same pooling and primary suppression): {base['suppressed_secondary']:,} "
        f"secondary suppressions; the LP audit finds **{base['failing_counts']:,} of "
        f"{base['audited_counts']:,}** withheld counts that can be narrowed down — "
        f"{'it passes' if base['passes_audit'] else 'it does **not** pass the audit'}. "
        f"Kansenkluis's own release: {p['first_release']['detail']['audit_failures']} failures "
        f"in {p['first_release']['detail']['audited_counts']:,} audited counts, "
        f"{p['first_release']['detail']['lp_solves']:,} LP solves."
    )
    return rows


_UTILITY_HEADER = [
    "| indicator/breakdown | own before | own now | bound | own/bound | covered before "
    "| covered now | gemeente prim. | gemeente sec. before | gemeente sec. now "
    "| withheld den. before | withheld den. now |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def _utility_rows(
    now: Mapping[str, Any], before: Mapping[str, Any]
) -> tuple[list[str], Counter[str]]:
    """One table row per indicator/breakdown (columns of ``_UTILITY_HEADER``), and the gemeente
    rows withheld in total (primary; secondary now and before)."""

    def pct(r: Mapping[str, Any], k: str) -> str:
        return f"{100 * r.get(k, 0) / r['wijken']:.1f}%" if r.get("wijken") else "-"

    def cov(r: Mapping[str, Any]) -> str:
        n = r.get("wijken", 0)
        return f"{100 * (r.get('own', 0) + r.get('via_wijkgroep', 0)) / n:.1f}%" if n else "-"

    rows: list[str] = []
    totals: Counter[str] = Counter()
    for key, r in now.items():
        b = before.get(key, {})
        ratio = r.get("own", 0) / r["bound"] if r.get("bound") else 0.0
        totals["primary"] += r.get("gemeenten_primary", 0)
        totals["secondary"] += r.get("gemeenten_secondary", 0)
        totals["secondary_before"] += b.get("gemeenten_secondary", 0)
        rows.append(
            f"| {key} | {pct(b, 'own')} | {pct(r, 'own')} | {pct(r, 'bound')} | {ratio:.2f} "
            f"| {cov(b)} | {cov(r)} | {r.get('gemeenten_primary', 0)} "
            f"| {b.get('gemeenten_secondary', '-')} | {r.get('gemeenten_secondary', 0)} "
            f"| {b.get('withheld_denominators', '-')} | {r.get('withheld_denominators', 0)} |"
        )
    return rows, totals


def utility_table(steps: Mapping[str, Any]) -> list[str]:
    """Per indicator/breakdown: own figures against the bound, coverage, gemeente rows withheld,
    information loss; now and in the previous design (same run)."""
    u = steps.get("utility")
    if not u or "now" not in u:
        return []
    rows, totals = _utility_rows(u["now"]["per_indicator"], u["before"].get("per_indicator", {}))
    lines = [
        f"Command: `{u['command']}`; baseline: {u['baseline']}. *Bound*: wijken whose own exact "
        "counts pass the primary rules unpooled. Goal: own >= 0.8 x bound, coverage (own or via a "
        "published wijkgroep) not below the baseline, gemeente rows withheld as secondary no more "
        "than the primary ones.",
        "",
        *_UTILITY_HEADER,
        *rows,
        "",
        f"Gemeente rows withheld: {totals['primary']} primary; secondary "
        f"{totals['secondary_before']} before, {totals['secondary']} now. Wijkgroepen covering a "
        f"whole gemeente: {u['before'].get('wijkgroepen_whole_gemeente', '-')} before, "
        f"{u['now'].get('wijkgroepen_whole_gemeente')} now. `run_protection`: "
        f"{u['before'].get('protect_s', 0):.1f} s before, {u['now']['protect_s']:.1f} s now "
        f"(ratio {u['now']['protect_s'] / max(u['before'].get('protect_s', 1e-9), 1e-9):.2f}); "
        f"audit failures now: {u['now'].get('audit_failures')}.",
    ]
    return lines + _other_seed_table(u.get("other_seed"))


def _other_seed_table(o: Mapping[str, Any] | None) -> list[str]:
    """The same comparison on the default batch: how far the goals set on seed 7 carry."""
    if not o or "now" not in o:
        return []
    rows, totals = _utility_rows(o["now"]["per_indicator"], o["before"].get("per_indicator", {}))
    return [
        "",
        f"The same step on the default batch (seed {o['seed']}, 2021), where the goals were not "
        "set; it shows how far they carry to other data:",
        "",
        *_UTILITY_HEADER,
        *rows,
        "",
        f"Gemeente rows withheld (seed {o['seed']}): {totals['primary']} primary; secondary "
        f"{totals['secondary_before']} before, {totals['secondary']} now; audit failures now: "
        f"{o['now'].get('audit_failures')}.",
    ]


def dp_table(steps: Mapping[str, Any]) -> list[str]:
    d = steps.get("dp")
    if not d or "failed" in d:
        return []
    rows = [
        "| indicator | median abs. error, wijk (pp) | median abs. error, gemeente (pp) | "
        "same without DP (rounding only): wijk / gemeente | min-cell suppressed wijk cells: DP "
        "vs without |",
        "|---|---:|---:|---:|---:|",
    ]
    for ind, c in d["per_indicator"].items():
        dp_err = c["median_abs_error_pp_dp"]
        ex_err = c["median_abs_error_pp_exact_release"]

        def e(m: Mapping[str, float], lvl: str) -> str:
            return f"{m[lvl]:.2f}" if lvl in m else "—"

        rows.append(
            f"| {ind} | {e(dp_err, 'wijk')} | {e(dp_err, 'gemeente')} | "
            f"{e(ex_err, 'wijk')} / {e(ex_err, 'gemeente')} | "
            f"{100 * c['min_cell_share_dp']:.1f}% vs "
            f"{100 * (c['min_cell_share_exact'] or 0):.1f}% |"
        )
    return rows


def agreement_lines(steps: Mapping[str, Any]) -> list[str]:
    a = steps.get("agreement")
    if not a:
        return []
    if "failed" in a:
        return [f"Agreement check FAILED: `{_failed(a)}`"]
    ps = a["parquet_vs_sealed_engine"]
    lines = [
        f"- Scope: {a['scope']} ({a['rows']:,} input rows), every reference year with a t+1: "
        f"{', '.join(str(y) for y in a['years'])}. Both engines get the same tables; every count "
        "cell (population × breakdown × category × wijk, zeros included), every indicator cell "
        "(numerator and denominator per indicator × breakdown × wijk) and every run-report count "
        "is compared. "
        + ("**All agree.**" if a["all_agree"] else "**They do not all agree** (see below)."),
        "",
        "| year | count cells differing | indicator cells differing | run-report counts "
        "differing | pupils counted | reference engine |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for year, y in a["per_year"].items():
        lines.append(
            f"| {year} | {y['count_cells_differ']} of {y['count_cells']:,} | "
            f"{y['indicator_cells_differ']} of {y['indicator_cells']:,} | "
            f"{len(y['run_report_keys_differ'])} of {y['run_report_keys']} | "
            f"{y['pupils_counted']:,} | {y['reference_compute_s']:.1f} s, "
            f"{y['reference_peak_rss_mb'] / 1024:.2f} GB |"
        )
    lines += [
        "",
        f"- The DuckDB engine on the plain batch vs on the sealed (pseudonymised) store, "
        f"{steps.get('engine', {}).get('year', 2021)}: {ps['count_cells_differ']} of "
        f"{ps['count_cells']:,} count cells differ.",
    ]
    return lines


def scaling_table(steps: Mapping[str, Any]) -> list[str]:
    s = steps.get("scaling")
    if not s:
        return []
    if "failed" in s:
        return [f"Scaling FAILED: `{_failed(s)}`"]
    rows = [
        "| scale | input rows | ingest | indicators (decrypt+link+compute) | disclosure control "
        "| `kluis run` | withheld counts audited (LP solves) |",
        "|---|---:|---|---|---|---|---:|",
    ]

    def audit(p: Mapping[str, Any]) -> str:
        d = p.get("protect_detail")
        return f"{d['audited_counts']:,} ({d['lp_solves']:,})" if d else "—"

    for p in s["points"]:

        def cell(x: Mapping[str, Any] | None) -> str:
            if not x:
                return "—"
            if "failed" in x:
                return "FAILED"
            return f"{x['wall_s']:.1f} s, {x['peak_rss_mb'] / 1024:.2f} GB"

        note = " ¹" if p.get("ingest_flags") else ""
        rows.append(
            f"| {p['label']} | {p['rows']:,} | {cell(p.get('ingest'))}{note} | "
            f"{cell(p.get('engine'))} "
            f"| {cell(p.get('protect'))} | {cell(p.get('kluis_run'))} | {audit(p)} |"
        )
    flagged = [p for p in s["points"] if p.get("ingest_flags")]
    for p in flagged:
        rows.append("")
        rows.append(
            f"¹ {p['label']}: `kluis ingest` was refused (`{p.get('ingest_refusal')}`); "
            f"measured instead with `{p['ingest_flags'][0]}`."
        )
    rows.append("")
    rows.append("Growth exponent k (time ∝ rows^k, 1 = linear) between neighbouring points:")
    rows.append("")
    for step, exps in s["growth"].items():
        text = ", ".join(f"{k}: {v}" for k, v in exps.items()) or "—"
        rows.append(f"- {step}: {text}")
    return rows


def _runs(node: Any) -> int:
    """The smallest ``n`` of the timed figures (``{"median": .., "n": ..}``) under ``node``:
    the repeats of the step (a floor measured twice per repeat has a larger n); 0 if none."""
    found: list[int] = []

    def walk(x: Any) -> None:
        if isinstance(x, Mapping):
            if "median" in x and isinstance(x.get("n"), int):
                found.append(int(x["n"]))
            for k, v in x.items():
                if k != "load_avg_1min":
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(node)
    return min(found, default=0)


def machine_lines(meta: Mapping[str, Any], steps: Mapping[str, Any] | None = None) -> list[str]:
    m = meta["machine"]
    v = m["versions"]
    run = meta.get("last_run", {})
    load = run.get("load_avg_1min")
    # steps run with --only keep the repeats of the invocation that last ran them
    by_repeats: dict[int, list[str]] = {}
    for name, step in (steps or {}).items():
        n = _runs(step)
        if n:
            by_repeats.setdefault(n, []).append(name)
    repeats = (
        "; ".join(
            f"{n} run{'s' if n > 1 else ''} ({', '.join(names)})"
            for n, names in sorted(by_repeats.items())
        )
        if len(by_repeats) > 1
        else f"{meta['repeats']} runs"
    )
    return [
        f"- Command: `{meta['command']}`; scale `{meta['scale']}`, reference year "
        f"{meta['year']}, {repeats} per expensive step (median, min–max).",
        f"- Machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gb']} GB memory, "
        f"{m['os']}; Python {m['python']}; duckdb {v['duckdb']}, pyarrow {v['pyarrow']}, "
        f"pandas {v['pandas']}, scipy {v['scipy']} (HiGHS), fastapi {v['fastapi']}, "
        f"uvicorn {v['uvicorn']}.",
        f"- Code: `{meta['code']}`; last run {run.get('started', '?')} – "
        f"{run.get('finished', '?')} (steps: {', '.join(run.get('steps', []))}).",
        "- Load average (1 min) during the run: "
        + (f"median {load['median']:.1f}, {load['min']:.1f}–{load['max']:.1f}" if load else "?")
        + f" on {m['cores']} cores. Other work on the machine inflates wall times; CPU times "
        "(user + system, in `results.json`) are less sensitive to it.",
    ]


def factsheet_table(steps: Mapping[str, Any]) -> list[str]:
    """kluis factsheet with maps and trends, and the national overview, against their goals."""
    f = steps.get("factsheet")
    if not f or "html" not in f:
        return []
    inner, plain, ov = f.get("inner", {}), f.get("plain", {}), f.get("overview", {})
    goal = f.get("goal", {})
    return [
        f"Command: `{f['command']}` (Heerlen, 23 wijken, releases of three school years). The "
        "inner figures come from two processes that render the same release, with maps and trends "
        "and without them (the baseline of the same run).",
        "",
        "| what | with maps and trends | without (same run) | goal |",
        "|---|---|---|---|",
        f"| HTML, whole process | {fmt(f['html']['wall_s'], digits=2)} | - | "
        f"{verdict(f['html']['wall_s']['median'], goal.get('html_wall_s'))} |",
        f"| PDF, whole process | {fmt(f['pdf']['wall_s'], digits=2)} | - | "
        f"{verdict(f['pdf']['wall_s']['median'], goal.get('pdf_wall_s'))} |",
        f"| HTML rendering (inner) | {inner.get('html_s', '-')} s | "
        f"{plain.get('html_s', '-')} s | |",
        f"| PDF rendering (inner) | {inner.get('pdf_s', '-')} s | {plain.get('pdf_s', '-')} s | |",
        f"| PDF pages | {inner.get('pdf_pages', '-')} | {plain.get('pdf_pages', '-')} | "
        f"{verdict(inner.get('pdf_pages'), goal.get('pdf_pages'))} |",
        f"| earlier school years read | {inner.get('history_s', '-')} s | - | |",
        f"| CPU of the process (inner step) | {inner.get('cpu_s', '-')} s | "
        f"{plain.get('cpu_s', '-')} s | |",
        f"| national overview, HTML (inner) | {fmt(ov.get('html_s'), digits=2)} | - | "
        f"{verdict(_get(ov, 'html_s', 'median'), goal.get('overview_s'))} |",
        f"| national overview, PDF (inner) | {fmt(ov.get('pdf_s'), digits=2)} | - | "
        f"{verdict(_get(ov, 'pdf_s', 'median'), goal.get('overview_s'))} |",
        "",
        f"The overview draws {_get(ov, 'detail', 'gemeenten_on_map')} gemeenten; its PDF has "
        f"{_get(ov, 'detail', 'pdf_pages')} pages and loads the whole release "
        f"({_get(ov, 'detail', 'load_release_s')} s). A factsheet reads only its gemeente's part "
        f"of the release ({inner.get('cells', '-')} cells, {inner.get('load_release_s', '-')} s; "
        "`api.factsheet.load_release`). Wall times count other work on the shared machine too; "
        "`results.json` has the CPU times. This step ran at "
        f"{f.get('at', '-')} (load average {_get(f, 'html', 'load_avg_1min', 'median')}).",
    ]


def render_markdown(results: Mapping[str, Any]) -> str:
    steps = results["steps"]
    scale = results["meta"]["scale"]
    parts: list[str] = [
        "### Run",
        "",
        *machine_lines(results["meta"], results["steps"]),
        "",
        "### Figures against the goals",
        "",
        *headline(steps, scale),
        "",
    ]
    dis = disclosure_table(steps)
    if dis:
        parts += [
            f"### Disclosure control: wijk cells per indicator (one {scale} year)",
            "",
            *dis,
            "",
        ]
    cbs = steps.get("cbs")
    if cbs and "synth_cbs" in cbs:
        parts += [
            "### The CBS remote-access layout",
            "",
            f"`{cbs['command']}` (national, seed 1): synth {cbs['synth_cbs']['wall_s']:.0f} s, "
            f"ingest {cbs['ingest_cbs']['wall_s']:.0f} s (the default layout's ingest of the same "
            f"world: {cbs['ingest_default_layout']['wall_s']:.0f} s); together "
            f"{cbs['synth_plus_ingest_s']:.0f} s against a goal of 300 s, peak "
            f"{cbs['peak_rss_mb'] / 1024:.2f} GB against 6 GB; same data fingerprint in both "
            f"layouts: {'yes' if cbs['same_data_fingerprint'] else 'NO'} (load "
            f"{cbs['synth_cbs']['load']}).",
            "",
        ]
    ut = utility_table(steps)
    if ut:
        parts += ["### What a release shows: wijk figures per indicator (seed 7)", "", *ut, ""]
    dp = dp_table(steps)
    if dp:
        parts += ["### Differential privacy (`--epsilon 1`) against the exact figures", "", *dp, ""]
    ag = agreement_lines(steps)
    if ag:
        parts += ["### Both engines agree", "", *ag, ""]
    fs = factsheet_table(steps)
    if fs:
        parts += ["### Factsheets with maps and trends, and the national overview", "", *fs, ""]
    sc = scaling_table(steps)
    if sc:
        parts += ["### How cost grows", "", *sc, "", "![scaling](img/scaling.png)", ""]
    return "\n".join(parts)


def plot(results: Mapping[str, Any], target: Path) -> bool:
    s = results["steps"].get("scaling")
    if not s or "failed" in s:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = s["points"]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {
        "ingest": "kluis ingest",
        "engine": "indicators (decrypt+link+compute)",
        "protect": "disclosure control",
        "kluis_run": "kluis run (end to end)",
    }
    for key, label in labels.items():
        pts = [p for p in points if isinstance(p.get(key), dict) and "wall_s" in p[key]]
        if not pts:
            continue
        rows = [p["rows"] / 1e6 for p in pts]
        ax_t.plot(rows, [p[key]["wall_s"] for p in pts], marker="o", label=label)
        ax_m.plot(rows, [p[key]["peak_rss_mb"] / 1024 for p in pts], marker="o", label=label)
    for ax in (ax_t, ax_m):
        ax.set_xlabel("input rows (millions)")
        ax.grid(alpha=0.3)
        for p in points:
            ax.axvline(p["rows"] / 1e6, color="0.85", lw=0.8, zorder=0)
    ax_t.set_ylabel("wall time (s)")
    ax_m.set_ylabel("peak RSS (GB)")
    ax_t.axhline(60, color="tab:red", ls=":", lw=1)
    ax_t.text(
        0.01,
        60,
        " 60 s goal (kluis run)",
        color="tab:red",
        va="bottom",
        transform=ax_t.get_yaxis_transform(),
    )
    ax_m.axhline(4, color="tab:red", ls=":", lw=1)
    ax_m.text(
        0.01, 4, " 4 GB goal", color="tab:red", va="bottom", transform=ax_m.get_yaxis_transform()
    )
    ax_t.legend(fontsize=8, loc="upper left")
    fig.suptitle("Kansenkluis: cost against input size (10%, 30%, 100%, 200% of national)")
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=120)
    plt.close(fig)
    return True


def render(results: Mapping[str, Any], doc: Path, png: Path) -> None:
    body = render_markdown(results)
    text = doc.read_text() if doc.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n\n{body}\n{END}{tail}")
    plot(results, png)


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results.json"
    repo = HERE.parent
    render(
        json.loads(source.read_text()),
        repo / "docs" / "performance.md",
        repo / "docs" / "img" / "scaling.png",
    )
