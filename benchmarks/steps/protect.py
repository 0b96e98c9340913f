"""Step ``protect``: disclosure control alone (pooling, primary and secondary suppression, the
LP audit, rounding) on the exact aggregates (child ``protect``): a first release, the same year
again against it, and the next year after it. Baseline in the same run: the naive suppression
of the smallest sibling per parent (child ``baseline``), which the audit shows to leak.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from measure import Sample, peak_rss_self_mb, summarise, write_inner

from steps.base import YEAR, Bench, Child, Step, load_pickle, log, save_pickle


def run(b: Bench) -> dict[str, Any]:
    """Pooling + suppression + LP audit + rounding, alone, on the exact aggregates."""
    agg = str(b.ensure_agg(YEAR))
    agg_next = str(b.ensure_agg(YEAR + 1))
    first_draft = b.work / f"draft-{b.scale}-{YEAR}.pkl"
    first: list[Sample] = []
    for i in b.rounds(first):
        log(f"protect {YEAR} run {i + 1}")
        save = ("--save-draft", str(first_draft)) if i == 0 else ()
        first.append(b.child("protect", "--agg", agg, *save))
    second: list[Sample] = []
    next_year: list[Sample] = []
    for i in b.rounds(second, next_year):
        log(f"protect {YEAR} again against the first, run {i + 1}")
        second.append(b.child("protect", "--agg", agg, "--prior", str(first_draft)))
        log(f"protect {YEAR + 1} after {YEAR}, run {i + 1}")
        next_year.append(b.child("protect", "--agg", agg_next, "--prior", str(first_draft)))
    log("naive baseline")
    baseline = b.child("baseline", "--agg", agg)
    keys = ["protect_s"]
    return {
        "command": "disclosure.protect.run_protection(agg, load_policy(None), prior=...)",
        "first_release": {**summarise(first, keys), "detail": _protect_detail(first[0])},
        "second_release_same_year": {
            "what": f"{YEAR} again, with the first release (figures, statuses, pooling map, "
            "policy) as prior: the cross-release audit",
            **summarise(second, keys),
            "detail": _protect_detail(second[0]),
        },
        "next_year_after_first": {
            "what": f"{YEAR + 1} with the release of {YEAR} as prior (its withheld cells "
            "steer the complements: stable statuses)",
            **summarise(next_year, keys),
            "detail": _protect_detail(next_year[0]),
        },
        "naive_baseline": {**baseline.inner, "peak_rss_mb": round(baseline.peak_rss_mb, 1)},
        "goal": {"protect_s": 20},
    }


def _protect_detail(sample: Sample) -> dict[str, Any]:
    inner = dict(sample.inner)
    inner.pop("protect_s", None)
    wijk = inner.pop("wijk_status")
    shares = {}
    for ind, statuses in wijk.items():
        total = sum(statuses.values())
        shares[ind] = {
            "wijk_cells": total,
            **{s: {"n": n, "share": round(n / total, 4)} for s, n in statuses.items()},
        }
    inner["wijk_cells_per_indicator"] = shares
    return inner


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

    agg = load_pickle(args.agg)
    policy = load_policy(None)
    from disclosure.release import EarlierRelease

    prior: tuple[Any, ...] = ()
    if args.prior:
        prior = (EarlierRelease.of(load_pickle(args.prior)),)
    started = time.perf_counter()
    result = run_protection(agg, policy, prior=prior)
    protect_s = time.perf_counter() - started
    draft = result.draft
    save_pickle(draft, args.save_draft)
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

    agg = load_pickle(args.agg)
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


def _protect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agg", required=True)
    p.add_argument("--prior")
    p.add_argument("--save-draft")


def _baseline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agg", required=True)


STEP = Step(
    name="protect",
    measures="run_protection on the exact aggregates: first, second same-year, next-year release",
    baseline="the naive smallest-sibling suppression on the same pooling, in the same run",
    run=run,
    children=(
        Child("protect", protect_step, _protect_options),
        Child("baseline", baseline_step, _baseline_options),
    ),
)
