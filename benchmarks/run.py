"""``make bench``: the national-scale benchmark of Kansenkluis.

    .venv/bin/python benchmarks/run.py                 # everything, national scale
    .venv/bin/python benchmarks/run.py --quick         # small scale, one pass: a smoke check
    .venv/bin/python benchmarks/run.py --only engine   # one step (repeatable), reusing inputs

The steps are modules under ``benchmarks/steps/`` (one each: what it measures, its baseline,
its run function), run in the order of ``steps.STEPS``. Every measured piece of work runs in its
own child process (``measure.run_child``, ``child.py``): wall time from the outside, CPU time
and peak RSS from ``os.wait4``. Expensive steps run ``--repeats`` times (default 3) and report
median with min-max. Results go to ``benchmarks/results.json`` (``--only`` replaces just those
steps there); ``docs/performance.md`` gets its tables regenerated between its
``bench:begin``/``bench:end`` markers and ``docs/img/scaling.png`` is redrawn (``report.py``).
``--quick`` writes only into the work folder.

Inputs live in the work folder (default ``benchmarks/out/``, git-ignored): the synthetic batch,
an ingested ``KLUIS_HOME`` ("base home") and pickled exact aggregates. Each ``kluis run`` gets a
fresh copy of the base home, so no run audits against another run's release unless that is what
is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from measure import REPO, StepFailed, git_commit, machine, spread
from steps import BY_NAME, STEPS
from steps.base import RESULTS, YEAR, Bench, log

HERE = Path(__file__).resolve().parent
DOC = REPO / "docs" / "performance.md"
PLOT = REPO / "docs" / "img" / "scaling.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small scale, one pass")
    parser.add_argument("--only", action="append", choices=list(BY_NAME), help="run only this step")
    parser.add_argument("--repeats", type=int, help="runs per expensive step (default 3)")
    parser.add_argument("--work", type=Path, default=HERE / "out", help="work folder")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds before one child is killed"
    )
    parser.add_argument(
        "--slow", type=float, default=300.0, help="a step whose run takes longer runs only once"
    )
    args = parser.parse_args(argv)

    repeats = args.repeats or (1 if args.quick else 3)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(work, args.quick, repeats, args.timeout, args.slow)
    names = args.only or [step.name for step in STEPS]
    results_path = work / "results-quick.json" if args.quick else RESULTS
    previous: dict[str, Any] = {}
    if args.only and results_path.exists():
        previous = json.loads(results_path.read_text())
    results: dict[str, Any] = {
        "meta": {
            **previous.get("meta", {}),
            "command": "make bench  (= .venv/bin/python benchmarks/run.py)"
            + (" --quick" if args.quick else ""),
            "scale": bench.scale,
            "year": YEAR,
            "repeats": repeats,
            "machine": machine(),
            "code": git_commit(),
        },
        "steps": dict(previous.get("steps", {})),
    }
    started = datetime.now(UTC)
    loads = [os.getloadavg()[0]]
    failures: dict[str, str] = {}
    for name in names:
        log(f"step {name}")
        t0 = time.perf_counter()
        try:
            result = BY_NAME[name].run(bench)
        except StepFailed as e:
            log(f"step {name} FAILED: {e}")
            failures[name] = str(e)
            results["steps"][name] = {"failed": str(e), "at": datetime.now(UTC).isoformat()}
            continue
        result["step_wall_s"] = round(time.perf_counter() - t0, 1)
        result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
        loads.append(os.getloadavg()[0])
        bench.results[name] = result
        results["steps"][name] = result
        _write(results_path, results)
    results["meta"]["last_run"] = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "steps": names,
        "load_avg_1min": spread(loads),
    }
    _write(results_path, results)
    if not args.quick:
        from report import render

        render(results, DOC, PLOT)
    log(f"wrote {results_path}")
    if failures:
        log(f"failed steps: {', '.join(failures)}")
        return 1
    return 0


def _write(path: Path, results: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
