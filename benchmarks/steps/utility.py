"""Step ``utility``: what one release shows per indicator and breakdown (national, seed 7),
next to the previous disclosure design in the same run.

The previous design is commit ``UTILITY_BASELINE``, checked out as a git worktree under the
work folder; the child ``utility`` runs ``run_protection`` of whatever ``disclosure`` package is
first on the path, so the same child measures both (``PYTHONPATH`` points at the checkout for
the baseline). Nothing this module imports at the top may come from the project's packages.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from measure import REPO, Sample, child_argv, run_child, write_inner

from steps.base import YEAR, Bench, Child, Step, load_pickle, log

#: The commit of the previous disclosure design (one pooling map, pools up to a whole
#: gemeente): the utility step measures it next to the current code in the same run.
UTILITY_BASELINE = "0f88b3e"


def run(b: Bench) -> dict[str, Any]:
    """What the release shows per indicator (seed 7, as the issue that set the goals was
    measured), next to the previous design (commit ``UTILITY_BASELINE``) in the same run."""
    data = b.work / f"{b.scale}-seed7"
    if not (data / "adres.parquet").exists():
        log(f"generating the {b.scale} batch (seed 7)")
        b.kluis("synth", "--out", str(data), "--scale", b.scale, "--seed", "7")
    agg = b.work / f"agg-{b.scale}-seed7-{YEAR}.pkl"
    if not agg.exists():
        b.child("engine-parquet", "--data", str(data), "--year", str(YEAR),
                "--save-agg", str(agg))  # fmt: skip
    baseline = b.work / f"baseline-{UTILITY_BASELINE}"
    if not (baseline / "disclosure").is_dir():
        run_child(["git", "-C", str(REPO), "worktree", "add", "--detach", "--force",
                   str(baseline), UTILITY_BASELINE], timeout_s=120)  # fmt: skip
    now, before = _now_and_before(b, agg, baseline, "seed 7")
    # the goals were set on seed 7; the default batch (seed 1) shows how far they carry
    other = b.ensure_agg(YEAR)
    other_now, other_before = _now_and_before(b, other, baseline, "seed 1")
    return {
        "command": "benchmarks/child.py utility --agg <national seed 7, 2021>",
        "baseline": f"the same step on commit {UTILITY_BASELINE} (one pooling map for every "
        "indicator, pools up to a whole gemeente, items of whole units)",
        "now": now,
        "before": before,
        "other_seed": {"seed": 1, "now": other_now, "before": other_before},
        "goal": {"own_vs_bound": 0.8, "protect_s": 20},
    }


def _now_and_before(
    b: Bench, agg: Path, baseline: Path, label: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The child on ``agg`` with the current code, then with the baseline's checkout."""
    log(f"utility of the current design ({label})")
    now = b.child("utility", "--agg", str(agg))
    log(f"utility of the previous design ({UTILITY_BASELINE}, {label})")
    before = run_child(
        child_argv("utility", "--agg", str(agg)),
        env={"PYTHONPATH": str(baseline)},
        timeout_s=b.timeout_s,
    )
    return _figures(now), _figures(before)


def _figures(sample: Sample) -> dict[str, Any]:
    return {
        **sample.inner,
        "wall_s": round(sample.wall_s, 1),
        "peak_rss_mb": round(sample.peak_rss_mb, 1),
    }


def utility_step(args: argparse.Namespace) -> None:
    """What one release shows per indicator and breakdown, with what only exact counts tell.

    Runs ``run_protection`` of whatever ``disclosure`` package is first on the path, so the
    same child measures the previous design from a checkout of its commit (``run`` above).
    Reported per indicator/breakdown (opleidingsmobiliteit has no wijk rows): wijken with their
    own figure, covered by a published wijkgroep, and the *bound*: wijken whose own exact counts
    would pass the primary rules unpooled; gemeente rows withheld (primary, secondary); the sum
    of the exact denominators of withheld wijk, wijkgroep and gemeente rows (information loss).
    """
    from disclosure.policy import load_policy
    from disclosure.primary import primary_rule
    from disclosure.protect import run_protection
    from kansenkluis.domain import CellStatus, GeoLevel, Rule

    agg = load_pickle(args.agg)
    policy = load_policy(None)
    started = time.perf_counter()
    result = run_protection(agg, policy)
    protect_s = time.perf_counter() - started
    table, draft = result.table, result.draft
    group_status: dict[tuple[str, str, str | None], CellStatus] = {
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
    for cell in table.cells:
        key = f"{cell.indicator}/{cell.breakdown}"
        den = table.numbers[cell.den].value
        if cell.level is GeoLevel.WIJK:
            rule, _ = primary_rule(table.numbers[cell.num].value, den, policy)
            rows[key]["bound"] += rule is Rule.PUBLISHED
        withheld = cell.status in (CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY)
        if withheld and cell.level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP, GeoLevel.GEMEENTE):
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


def _utility_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agg", required=True)


STEP = Step(
    name="utility",
    measures="wijken with their own figure, via a wijkgroep, and the bound; withheld rows",
    baseline=f"the same child on commit {UTILITY_BASELINE}, the previous design, in the same run",
    run=run,
    children=(Child("utility", utility_step, _utility_options),),
)
