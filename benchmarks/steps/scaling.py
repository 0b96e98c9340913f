"""Step ``scaling``: ingest, engine, protection and ``kluis run`` at 10%, 30%, 100% and 200% of
the bench scale, and the growth exponent between neighbouring points (1 is linear).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import data as bench_data
from measure import StepFailed

from steps.base import YEAR, Bench, Step, fig, log


def run(b: Bench) -> dict[str, Any]:
    """The pipeline at 10%, 30%, 100% and 200% of the bench scale."""
    b.ensure_data()
    points: list[dict[str, Any]] = []
    for label, fraction in (("10%", 0.1), ("30%", 0.3), ("100%", 1.0), ("200%", 2.0)):
        if fraction == 1.0:
            data = b.data
        elif fraction == 2.0:
            data = b.work / f"{b.scale}-2x"
            if not (data / "adres.parquet").exists():
                second = b.work / f"{b.scale}-seed2"
                if not (second / "adres.parquet").exists():
                    log("generating the second world (seed 2)")
                    b.kluis("synth", "--out", str(second), "--scale", b.scale, "--seed", "2")
                log("joining the two worlds")
                bench_data.concat_worlds(b.data, second, data)
        else:
            data = b.work / f"{b.scale}-sample-{label.rstrip('%')}pct"
            if not (data / "adres.parquet").exists():
                bench_data.subsample(b.data, data, fraction, salt="scaling")
        log(f"scaling point {label}")
        points.append(_point(b, label, fraction, data))
    return {
        "what": "one run per point; 10% and 30% are samples of children (hash of rin) of "
        "the national batch, 200% is two national worlds (seeds 1 and 2) on one geography",
        "points": points,
        "growth": _growth(points),
    }


def _point(b: Bench, label: str, fraction: float, data: Path) -> dict[str, Any]:
    """One run of each pipeline step on ``data``; a step that fails or times out is
    recorded as such and the later steps that need it are skipped."""
    tag = label.rstrip("%")
    point: dict[str, Any] = {
        "label": label,
        "fraction": fraction,
        "rows": bench_data.total_rows(data),
    }
    home = b.fresh_home(f"scale-home-{tag}")
    agg = b.work / f"agg-scale-{tag}.pkl"
    timeout = b.timeout_s
    try:
        ingest, flags, refusal = b.ingest_into(home, data)
        point["ingest_flags"] = flags
        point["ingest_refusal"] = refusal
        point["ingest"] = fig(ingest)
        try:
            engine = b.child(
                "engine-sealed",
                "--home",
                str(home),
                "--year",
                str(YEAR),
                "--save-agg",
                str(agg),
                timeout_s=timeout,
            )
            point["engine"] = fig(engine, "total_s")
            protect = b.child("protect", "--agg", str(agg), timeout_s=timeout)
            point["protect"] = fig(protect, "protect_s")
            wijk = protect.inner["level_status"].get("wijk", {})
            point["protect_detail"] = {
                "audited_counts": protect.inner["audited_counts"],
                "lp_solves": protect.inner["lp_solves"],
                "rounds": protect.inner["rounds"],
                "wijkgroepen": protect.inner["wijkgroepen"],
                "wijk_cells": wijk,
            }
        except StepFailed as e:
            point.setdefault("engine", {"failed": str(e)})
        run_home = b.copy_home(home, f"scale-run-home-{tag}")
        try:
            point["kluis_run"] = fig(
                b.kluis("run", "--year", str(YEAR), home=run_home, timeout_s=timeout)
            )
        except StepFailed as e:
            point["kluis_run"] = {"failed": str(e)}
        finally:
            shutil.rmtree(run_home)
    except StepFailed as e:
        point["ingest"] = {"failed": str(e)}
    finally:
        shutil.rmtree(home, ignore_errors=True)
        agg.unlink(missing_ok=True)
    return point


def _growth(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Exponent k in time ~ rows^k between neighbouring points, per step (1 = linear)."""
    import math

    out: dict[str, Any] = {}
    for step in ("ingest", "engine", "protect", "kluis_run"):
        exps = {}
        for a, b in zip(points, points[1:], strict=False):
            ta = a.get(step, {}).get("wall_s", 0)
            tb = b.get(step, {}).get("wall_s", 0)
            if ta > 0 and tb > 0 and b["rows"] > a["rows"]:
                exps[f"{a['label']}->{b['label']}"] = round(
                    math.log(tb / ta) / math.log(b["rows"] / a["rows"]), 2
                )
        out[step] = exps
    return out


STEP = Step(
    name="scaling",
    measures="each pipeline step at 10%, 30%, 100% and 200% of the bench scale",
    baseline="the 100% point: time against rows between neighbouring points",
    run=run,
)
