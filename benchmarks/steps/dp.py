"""Step ``dp``: ``kluis run --epsilon 1``, its time, and the errors of its published figures
against the exact ones (child ``accuracy``), next to the errors of the release without noise.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from measure import Sample, summarise, write_inner

from steps.base import YEAR, Bench, Child, Step, load_pickle, log


def run(b: Bench) -> dict[str, Any]:
    """kluis run --epsilon 1: time, and errors of the published figures vs the exact ones."""
    b.ensure_home()
    agg = str(b.ensure_agg(YEAR))
    samples: list[Sample] = []
    dp_release = ""
    for i in b.rounds(samples):
        home = b.copy_home(b.base_home, f"dp-home-{i}")
        log(f"kluis run --year {YEAR} --epsilon 1, run {i + 1}")
        samples.append(b.kluis("run", "--year", str(YEAR), "--epsilon", "1", home=home))
        if i == 0:
            dp_release = samples[0].stdout.strip().splitlines()[-1]
            dp_errors = b.child(
                "accuracy", "--home", str(home), "--release", dp_release, "--agg", agg
            ).inner
        shutil.rmtree(home)
    released, release_id = b.ensure_released()
    exact_errors = b.child(
        "accuracy", "--home", str(released), "--release", release_id, "--agg", agg
    ).inner
    comparison = {}
    for ind, dp_rules in dp_errors["wijk_rules"].items():
        plain = exact_errors["wijk_rules"].get(ind, {})
        comparison[ind] = {
            "min_cell_share_dp": dp_rules["min_cell_share"],
            "min_cell_share_exact": plain.get("min_cell_share"),
            "median_abs_error_pp_dp": {
                lvl: v["median_abs_error_pp"] for lvl, v in dp_errors["errors"][ind].items()
            },
            "median_abs_error_pp_exact_release": {
                lvl: v["median_abs_error_pp"]
                for lvl, v in exact_errors["errors"].get(ind, {}).items()
            },
        }
    return {
        "command": f"kluis run --year {YEAR} --epsilon 1",
        **summarise(samples),
        "dp": dp_errors.get("dp"),
        "per_indicator": comparison,
        "dp_release": dp_errors,
        "exact_release": exact_errors,
    }


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
                sums = by_gemeente[(ind, brk)]
                parts = [(sums[m][0], sums[m][1]) for m in group.members]
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


def accuracy(args: argparse.Namespace) -> None:
    """Errors of a kluis-run release (DP or not) against the exact aggregates."""
    from disclosure.store import ReleaseStore
    from kansenkluis.config import Settings

    agg = load_pickle(args.agg)
    store = ReleaseStore(Settings(home=Path(args.home)).release_db)
    try:
        release = store.get(args.release)
    finally:
        store.close()
    exact = _exact_figures(agg, release.pooling)
    out = _release_errors(release, exact)
    out["dp"] = None if release.dp is None else release.dp.model_dump(mode="json")
    write_inner(out)


def _accuracy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", required=True)
    p.add_argument("--release", required=True)
    p.add_argument("--agg", required=True)


STEP = Step(
    name="dp",
    measures="kluis run --epsilon 1: time; errors of the published figures against exact ones",
    baseline="the release of the same year without noise (the run step), its errors",
    run=run,
    children=(Child("accuracy", accuracy, _accuracy_options),),
)
