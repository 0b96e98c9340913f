"""``make bench``: the national-scale benchmark of Kansenkluis.

    .venv/bin/python benchmarks/run.py                 # everything, national scale
    .venv/bin/python benchmarks/run.py --quick         # small scale, one pass: a smoke check
    .venv/bin/python benchmarks/run.py --only engine   # one step (repeatable), reusing inputs

Every step runs in its own child process (``measure.run_child``): wall time from the outside,
CPU time and peak RSS from ``os.wait4``. Expensive steps run ``--repeats`` times (default 3) and
report median with min-max. Results go to ``benchmarks/results.json`` (``--only`` replaces just
those steps there); ``docs/performance.md`` gets its tables regenerated between its
``bench:begin``/``bench:end`` markers and ``docs/img/scaling.png`` is redrawn. ``--quick`` writes
only into the work folder.

Inputs live in the work folder (default ``benchmarks/out/``, git-ignored): the synthetic batch,
an ingested ``KLUIS_HOME`` ("base home") and pickled exact aggregates. Each ``kluis run`` gets a
fresh copy of the base home, so no run audits against another run's release unless that is what
is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import data as bench_data
from measure import (
    KLUIS,
    PYTHON,
    REPO,
    Sample,
    StepFailed,
    git_commit,
    machine,
    run_child,
    spread,
    step_argv,
    summarise,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
DOC = REPO / "docs" / "performance.md"
PLOT = REPO / "docs" / "img" / "scaling.png"

STEPS = (
    "synth",
    "ingest",
    "engine",
    "reference",
    "agreement",
    "protect",
    "utility",
    "cbs",
    "run",
    "dp",
    "api",
    "scaling",
    "factsheet",
)
#: The commit of the previous disclosure design (one pooling map, pools up to a whole
#: gemeente): the utility step measures it next to the current code in the same run.
UTILITY_BASELINE = "0f88b3e"
#: The reference year of the benchmark and the year after it (t+1 must exist: synth writes
#: school years 2018-2023).
YEAR = 2021
#: Every reference year of the synthetic batch that has a t+1 (school years 2018-2023).
AGREEMENT_YEARS = tuple(range(2018, 2023))


def log(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    load = os.getloadavg()[0]
    print(f"[{stamp} load {load:4.1f}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(
        self, work: Path, quick: bool, repeats: int, timeout_s: float, slow_s: float
    ) -> None:
        self.work = work
        self.timeout_s = timeout_s
        self.slow_s = slow_s
        self.quick = quick
        self.repeats = repeats
        self.scale = "small" if quick else "national"
        self.data = work / f"{self.scale}-seed1"
        self.base_home = work / f"{self.scale}-home"
        self.results: dict[str, Any] = {}
        self.ingest_flags: list[str] = []

    # --- helpers ------------------------------------------------------------------------------

    def kluis(
        self,
        *args: str,
        home: Path | None = None,
        env: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Sample:
        full = dict(env or {})
        if home is not None:
            full["KLUIS_HOME"] = str(home)
        return run_child([KLUIS, *args], env=full, timeout_s=timeout_s or self.timeout_s)

    def step(self, name: str, *args: str, timeout_s: float | None = None) -> Sample:
        return run_child(step_argv(name, *args), timeout_s=timeout_s or self.timeout_s)

    def repeat(self, fn: Callable[[int], Sample]) -> list[Sample]:
        samples: list[Sample] = []
        for i in self.rounds(samples):
            samples.append(fn(i))
        return samples

    def rounds(self, *series: list[Sample]) -> Iterator[int]:
        """Round numbers up to ``--repeats``, but no further round once a run of the given
        series took longer than ``--slow``: its figure is then one run (the report shows n)."""
        for i in range(self.repeats):
            if i and any(x.wall_s > self.slow_s for samples in series for x in samples):
                log(f"a run took longer than {self.slow_s:.0f} s: not repeating it")
                return
            yield i

    def fresh_home(self, name: str) -> Path:
        home = self.work / name
        if home.exists():
            shutil.rmtree(home)
        self.kluis("init", home=home)
        return home

    def copy_home(self, source: Path, name: str) -> Path:
        target = self.work / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, symlinks=True)
        return target

    def agg_path(self, year: int, tag: str = "sealed") -> Path:
        return self.work / f"agg-{self.scale}-{tag}-{year}.pkl"

    # --- inputs (built when missing, not measured) ---------------------------------------------

    def ensure_data(self) -> Path:
        if not (self.data / "adres.parquet").exists():
            log(f"generating the {self.scale} batch (seed 1)")
            self.kluis("synth", "--out", str(self.data), "--scale", self.scale, "--seed", "1")
        return self.data

    def ingest_into(self, home: Path, data: Path) -> tuple[Sample, list[str], str | None]:
        """``kluis ingest``. When it is refused, say why and try once more: with a larger
        DuckDB memory limit for validation when it ran out of memory (through ``SealedStore``:
        the CLI has no option for it), with ``--quarantine`` otherwise."""
        try:
            return self.kluis("ingest", str(data), home=home), [], None
        except StepFailed as e:
            refusal = " ".join(ln.strip() for ln in str(e).splitlines() if ln.startswith("error"))
            refusal = refusal or str(e).splitlines()[-1]
        if "INGEST_OUT_OF_MEMORY" in refusal:
            log(f"plain ingest refused ({refusal}); retrying with an 8 GB validation limit")
            sample = self.step("ingest-store", "--home", str(home), "--data", str(data),
                               "--memory-limit", "8GB")  # fmt: skip
            return sample, ["IngestLimits(duckdb_memory_limit='8GB')"], refusal
        log(f"plain ingest refused ({refusal}); retrying with --quarantine")
        sample = self.kluis("ingest", "--quarantine", str(data), home=home)
        return sample, ["--quarantine"], refusal

    def ensure_home(self) -> Path:
        if not (self.base_home / "sealed").exists():
            self.ensure_data()
            log("ingesting into the base home")
            home = self.fresh_home(self.base_home.name)
            self.ingest_into(home, self.data)
        return self.base_home

    def ensure_agg(self, year: int) -> Path:
        path = self.agg_path(year)
        if not path.exists():
            self.ensure_home()
            log(f"computing the exact aggregates of {year}")
            self.step(
                "engine-sealed",
                "--home",
                str(self.base_home),
                "--year",
                str(year),
                "--save-agg",
                str(path),
            )
        return path

    # --- steps ----------------------------------------------------------------------------------

    def run_synth(self) -> dict[str, Any]:
        """kluis synth at the bench scale, repeated into the same folder (byte-identical)."""

        def once(i: int) -> Sample:
            log(f"synth {self.scale} run {i + 1}")
            return self.kluis(
                "synth", "--out", str(self.data), "--scale", self.scale, "--seed", "1"
            )

        samples = self.repeat(once)
        return {
            "command": f"kluis synth --out DIR --scale {self.scale} --seed 1",
            "rows": bench_data.total_rows(self.data),
            "parquet_mb": round(_folder_mb(self.data), 1),
            **summarise(samples),
            "goal": {"wall_s": 120, "peak_rss_mb": 6 * 1024},
        }

    def run_ingest(self) -> dict[str, Any]:
        """kluis ingest of the batch into a fresh KLUIS_HOME (init not timed)."""
        self.ensure_data()
        samples: list[Sample] = []
        flags: list[str] = []
        refusal: str | None = None
        for i in self.rounds(samples):
            home = self.fresh_home(f"ingest-home-{i}")
            log(f"ingest run {i + 1}")
            sample, flags, refusal = self.ingest_into(home, self.data)
            samples.append(sample)
            if i == 0:
                if self.base_home.exists():
                    shutil.rmtree(self.base_home)
                home.rename(self.base_home)
                for stale in self.work.glob(f"agg-{self.scale}-*.pkl"):
                    stale.unlink()
            else:
                shutil.rmtree(home)
        return {
            "command": "kluis ingest DIR" + (f" (refused; then {flags[0]})" if flags else ""),
            "flags": flags,
            "plain_ingest_refused": refusal,
            "rows": bench_data.total_rows(self.data),
            "sealed_store_mb": round(_folder_mb(self.base_home / "sealed"), 1),
            **summarise(samples),
            "goal": {"wall_s": 120, "peak_rss_mb": 6 * 1024},
        }

    def run_engine(self) -> dict[str, Any]:
        """Floor and engine side by side, interleaved so that load changes hit both alike."""
        self.ensure_home()
        data = str(self.data)
        year = str(YEAR)
        floor: list[Sample] = []
        sealed: list[Sample] = []
        views: list[Sample] = []
        tables: list[Sample] = []
        self.step("floor", "--data", data)  # warm the page cache for everyone
        for i in self.rounds(sealed, views, tables):
            log(f"floor / engine round {i + 1}")
            floor.append(self.step("floor", "--data", data))
            save = ("--save-agg", str(self.agg_path(YEAR))) if i == 0 else ()
            sealed.append(
                self.step("engine-sealed", "--home", str(self.base_home), "--year", year, *save)
            )
            save = ("--save-agg", str(self.agg_path(YEAR, "parquet"))) if i == 0 else ()
            views.append(
                self.step(
                    "engine-parquet", "--data", data, "--year", year, "--mode", "views", *save
                )
            )
            tables.append(
                self.step("engine-parquet", "--data", data, "--year", year, "--mode", "tables")
            )
            floor.append(self.step("floor", "--data", data))
        floor_s = spread([s.inner["read_s"] for s in floor])["median"]

        def ratio(samples: list[Sample], key: str) -> dict[str, float | int]:
            return spread([s.inner[key] / floor_s for s in samples])

        return {
            "year": YEAR,
            "floor": {
                "what": "pyarrow.parquet.read_table(columns=needed) of every table, in one "
                "process (page cache warm)",
                "rows": floor[0].inner["rows"],
                "arrow_mb": round(floor[0].inner["arrow_mb"], 1),
                **summarise(floor, ["read_s"]),
            },
            "engine_sealed": {
                "what": "secure.link.open_linked (decrypt, load into DuckDB, link report) + "
                "secure.engine.compute_aggregates, as kluis run does",
                **summarise(sealed, ["link_s", "compute_s", "total_s"]),
                "ratio_total_to_floor": ratio(sealed, "total_s"),
                "ratio_compute_to_floor": ratio(sealed, "compute_s"),
            },
            "engine_parquet_views": {
                "what": "compute_aggregates on DuckDB views over the batch's Parquet files "
                "(the engine reads the files itself)",
                **summarise(views, ["load_s", "compute_s", "total_s"]),
                "ratio_total_to_floor": ratio(views, "total_s"),
            },
            "engine_parquet_tables": {
                "what": "the Parquet files loaded into DuckDB tables, then compute_aggregates",
                **summarise(tables, ["load_s", "compute_s", "total_s"]),
                "ratio_total_to_floor": ratio(tables, "total_s"),
                "ratio_compute_to_floor": ratio(tables, "compute_s"),
            },
            "goal": {"ratio_to_floor": 2.0, "peak_rss_mb": 4 * 1024},
        }

    def run_reference(self) -> dict[str, Any]:
        """The reference engine on a 1% sample of children, the DuckDB engine on the same."""
        self.ensure_data()
        sample_dir = self.work / f"{self.scale}-sample-1pct"
        if not (sample_dir / "adres.parquet").exists():
            bench_data.subsample(self.data, sample_dir, 0.01)
        rows = bench_data.total_rows(sample_dir)
        ref_agg = self.work / f"agg-{self.scale}-reference-1pct.pkl"
        eng_agg = self.work / f"agg-{self.scale}-engine-1pct.pkl"
        year = str(YEAR)
        ref: list[Sample] = []
        eng: list[Sample] = []
        for i in self.rounds(ref, eng):
            log(f"reference / engine on the 1% sample, round {i + 1}")
            save = ("--save-agg", str(ref_agg)) if i == 0 else ()
            ref.append(self.step("reference", "--data", str(sample_dir), "--year", year, *save))
            save = ("--save-agg", str(eng_agg)) if i == 0 else ()
            eng.append(
                self.step(
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
        agree = self.step("compare", "--a", str(ref_agg), "--b", str(eng_agg)).inner
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
        national = self.results.get("engine") or _previous("engine")
        if national:
            nat_rows = national["floor"]["rows"]
            nat_s = national["engine_parquet_tables"]["compute_s"]["median"]
            out["engine_us_per_row_full_scale"] = round(nat_s / nat_rows * 1e6, 3)
            out["ratio_per_row_reference_1pct_to_engine_full"] = round(
                (ref_s / rows) / (nat_s / nat_rows), 1
            )
        return out

    def run_agreement(self) -> dict[str, Any]:
        """Both engines on the whole batch for every reference year that has a t+1 (or, if the
        reference engine would take over ~5 min a year, on the largest sample of children that
        fits), every cell of every indicator compared."""
        self.ensure_data()
        ref_info = self.results.get("reference") or _previous("reference")
        full_rows = bench_data.total_rows(self.data)
        budget_s = 300.0
        fraction = 1.0
        estimate = None
        if ref_info:
            estimate = ref_info["reference_us_per_row"] / 1e6 * full_rows
            if estimate > budget_s:
                fraction = max(0.1, round(budget_s / estimate, 2))
        if fraction >= 1.0:
            data = self.data
            scope = f"the whole {self.scale} batch"
        else:
            data = self.work / f"{self.scale}-sample-{int(fraction * 100)}pct"
            if not (data / "adres.parquet").exists():
                bench_data.subsample(self.data, data, fraction, salt="agreement")
            scope = (
                f"{fraction:.0%} of the children of the {self.scale} batch (hash of rin, with "
                f"their families): the reference engine would take about {estimate:.0f} s a "
                "year on all of it"
            )
        per_year: dict[str, Any] = {}
        for year in AGREEMENT_YEARS:
            log(f"both engines on {scope}, {year}")
            eng_agg = self.work / f"agg-{self.scale}-agreement-engine-{year}.pkl"
            ref_agg = self.work / f"agg-{self.scale}-agreement-reference-{year}.pkl"
            self.step("engine-parquet", "--data", str(data), "--year", str(year),
                      "--save-agg", str(eng_agg))  # fmt: skip
            ref = self.step("reference", "--data", str(data), "--year", str(year),
                            "--save-agg", str(ref_agg), timeout_s=2 * self.timeout_s)  # fmt: skip
            compared = self.step("compare", "--a", str(ref_agg), "--b", str(eng_agg)).inner
            per_year[str(year)] = {
                "reference_compute_s": round(ref.inner["compute_s"], 2),
                "reference_peak_rss_mb": round(ref.peak_rss_mb, 1),
                **compared,
            }
            ref_agg.unlink()
            if year != YEAR or fraction < 1.0:
                eng_agg.unlink()
        # The same engine on the plain batch and on the sealed (pseudonymised) store.
        plain = self.agg_path(YEAR, "parquet")
        if not plain.exists():
            self.step("engine-parquet", "--data", str(self.data), "--year", str(YEAR),
                      "--save-agg", str(plain))  # fmt: skip
        sealed_vs_plain = self.step(
            "compare", "--a", str(plain), "--b", str(self.ensure_agg(YEAR))
        ).inner
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

    def run_protect(self) -> dict[str, Any]:
        """Pooling + suppression + LP audit + rounding, alone, on the exact aggregates."""
        agg = str(self.ensure_agg(YEAR))
        agg_next = str(self.ensure_agg(YEAR + 1))
        first_draft = self.work / f"draft-{self.scale}-{YEAR}.pkl"
        first: list[Sample] = []
        for i in self.rounds(first):
            log(f"protect {YEAR} run {i + 1}")
            save = ("--save-draft", str(first_draft)) if i == 0 else ()
            first.append(self.step("protect", "--agg", agg, *save))
        second: list[Sample] = []
        next_year: list[Sample] = []
        for i in self.rounds(second, next_year):
            log(f"protect {YEAR} again against the first, run {i + 1}")
            second.append(self.step("protect", "--agg", agg, "--prior", str(first_draft)))
            log(f"protect {YEAR + 1} after {YEAR}, run {i + 1}")
            next_year.append(self.step("protect", "--agg", agg_next, "--prior", str(first_draft)))
        log("naive baseline")
        baseline = self.step("baseline", "--agg", agg)
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

    def run_utility(self) -> dict[str, Any]:
        """What the release shows per indicator (seed 7, as the issue that set the goals was
        measured), next to the previous design (commit ``UTILITY_BASELINE``) in the same run."""
        data = self.work / f"{self.scale}-seed7"
        if not (data / "adres.parquet").exists():
            log(f"generating the {self.scale} batch (seed 7)")
            self.kluis("synth", "--out", str(data), "--scale", self.scale, "--seed", "7")
        agg = self.work / f"agg-{self.scale}-seed7-{YEAR}.pkl"
        if not agg.exists():
            self.step("engine-parquet", "--data", str(data), "--year", str(YEAR),
                      "--save-agg", str(agg))  # fmt: skip
        baseline = self.work / f"baseline-{UTILITY_BASELINE}"
        if not (baseline / "disclosure").is_dir():
            run_child(["git", "-C", str(REPO), "worktree", "add", "--detach", "--force",
                       str(baseline), UTILITY_BASELINE], timeout_s=120)  # fmt: skip
        log("utility of the current design")
        now = self.step("utility", "--agg", str(agg))
        log(f"utility of the previous design ({UTILITY_BASELINE})")
        before = run_child(
            step_argv("utility", "--agg", str(agg)),
            env={"PYTHONPATH": str(baseline)},
            timeout_s=self.timeout_s,
        )
        return {
            "command": "benchmarks/steps.py utility --agg <national seed 7, 2021>",
            "baseline": f"the same step on commit {UTILITY_BASELINE} (one pooling map for every "
            "indicator, pools up to a whole gemeente, items of whole units)",
            "now": {
                **now.inner,
                "wall_s": round(now.wall_s, 1),
                "peak_rss_mb": round(now.peak_rss_mb, 1),
            },  # fmt: skip
            "before": {
                **before.inner,
                "wall_s": round(before.wall_s, 1),
                "peak_rss_mb": round(before.peak_rss_mb, 1),
            },  # fmt: skip
            "goal": {"own_vs_bound": 0.8, "protect_s": 20},
        }

    def run_cbs(self) -> dict[str, Any]:
        """The CBS remote-access layout: ``kluis synth --layout cbs`` and ``kluis ingest
        --layout cbs`` of the bench world, next to the default layout's ingest of the same
        world (same seed) in the same run; both homes must hold the same data fingerprint."""
        cbs = self.work / f"{self.scale}-seed1-cbs"
        if cbs.exists():
            shutil.rmtree(cbs)
        log("synth --layout cbs")
        synth = self.kluis("synth", "--out", str(cbs), "--scale", self.scale, "--seed", "1",
                           "--layout", "cbs")  # fmt: skip
        home_cbs = self.fresh_home("cbs-home")
        # the same keys in both homes, so that the same data give the same fingerprint
        home_spec = self.copy_home(home_cbs, "cbs-spec-home")
        log("ingest --layout cbs")
        ingest_cbs = self.kluis("ingest", str(cbs), "--layout", "cbs", home=home_cbs)
        log("ingest (default layout) of the same world")
        ingest_spec = self.kluis("ingest", str(self.ensure_data()), home=home_spec)
        prints = [self.step("fingerprint", "--home", str(h)).inner for h in (home_cbs, home_spec)]
        same = prints[0].get("fingerprint") is not None and prints[0] == prints[1]
        shutil.rmtree(cbs)
        for home in (home_cbs, home_spec):
            shutil.rmtree(home)
        total = synth.wall_s + ingest_cbs.wall_s
        return {
            "command": "kluis synth --layout cbs; kluis ingest DIR --layout cbs",
            "synth_cbs": _fig(synth),
            "ingest_cbs": _fig(ingest_cbs),
            "ingest_default_layout": _fig(ingest_spec),
            "synth_plus_ingest_s": round(total, 1),
            "peak_rss_mb": round(max(synth.peak_rss_mb, ingest_cbs.peak_rss_mb), 1),
            "same_data_fingerprint": same,
            "goal": {"wall_s": 300, "peak_rss_mb": 6 * 1024},
        }

    def run_run(self) -> dict[str, Any]:
        """kluis run end to end (a fresh copy of the base home each time)."""
        self.ensure_home()
        first: list[Sample] = []
        release_id = ""
        for i in self.rounds(first):
            home = self.copy_home(self.base_home, f"run-home-{i}")
            log(f"kluis run --year {YEAR}, run {i + 1}")
            first.append(self.kluis("run", "--year", str(YEAR), home=home))
            if i == 0:
                release_id = first[0].stdout.strip().splitlines()[-1]
                released = self.work / f"{self.scale}-home-released"
                if released.exists():
                    shutil.rmtree(released)
                home.rename(released)
                (self.work / f"{self.scale}-release-id").write_text(release_id)
            else:
                shutil.rmtree(home)
        released = self.work / f"{self.scale}-home-released"
        second: list[Sample] = []
        for i in self.rounds(second):
            home = self.copy_home(released, f"run-home-second-{i}")
            log(f"kluis run --year {YEAR} again (against the first release), run {i + 1}")
            second.append(self.kluis("run", "--year", str(YEAR), home=home))
            shutil.rmtree(home)
        return {
            "command": f"KLUIS_HOME=<ingested home> kluis run --year {YEAR}",
            "first_release": summarise(first),
            "second_release_same_year": summarise(second),
            "release_id": release_id,
            "goal": {"wall_s": 60, "peak_rss_mb": 4 * 1024},
        }

    def run_dp(self) -> dict[str, Any]:
        """kluis run --epsilon 1: time, and errors of the published figures vs the exact ones."""
        self.ensure_home()
        agg = str(self.ensure_agg(YEAR))
        samples: list[Sample] = []
        dp_release = ""
        for i in self.rounds(samples):
            home = self.copy_home(self.base_home, f"dp-home-{i}")
            log(f"kluis run --year {YEAR} --epsilon 1, run {i + 1}")
            samples.append(self.kluis("run", "--year", str(YEAR), "--epsilon", "1", home=home))
            if i == 0:
                dp_release = samples[0].stdout.strip().splitlines()[-1]
                dp_errors = self.step(
                    "accuracy", "--home", str(home), "--release", dp_release, "--agg", agg
                ).inner
            shutil.rmtree(home)
        released = self.work / f"{self.scale}-home-released"
        id_file = self.work / f"{self.scale}-release-id"
        if not released.exists() or not id_file.exists():
            self.run_run_once()
        exact_errors = self.step(
            "accuracy",
            "--home",
            str(released),
            "--release",
            id_file.read_text().strip(),
            "--agg",
            agg,
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

    def run_run_once(self) -> None:
        home = self.copy_home(self.ensure_home(), f"{self.scale}-home-released")
        sample = self.kluis("run", "--year", str(YEAR), home=home)
        (self.work / f"{self.scale}-release-id").write_text(sample.stdout.strip().splitlines()[-1])

    def run_api(self) -> dict[str, Any]:
        """The published-cells route under a fixed request rate on loopback."""
        released = self.work / f"{self.scale}-home-released"
        id_file = self.work / f"{self.scale}-release-id"
        if not released.exists() or not id_file.exists():
            self.run_run_once()
        release_id = id_file.read_text().strip()
        gemeente = "GM0363" if self.scale == "national" else "GM0917"
        token = (
            self.kluis(
                "token",
                "create",
                "--role",
                "regiocoordinator",
                "--gemeente",
                gemeente,
                "--name",
                "bench",
                "--person",
                "bench-coordinator",
                home=released,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        path = (
            f"/releases/{release_id}/cells?indicator=heroverweging&gemeente={gemeente}&limit=1000"
        )
        port = _free_port()
        env = {
            **os.environ,
            "KLUIS_HOME": str(released),
            "KLUIS_RATE_LIMIT_PER_MINUTE": "1000000",
        }
        server = subprocess.Popen(
            [KLUIS, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rate, duration = (50.0, 5.0) if self.quick else (200.0, 30.0)
        try:
            _wait_for_port(port, server)
            load_env = {"KLUIS_BENCH_TOKEN": token}
            base = [PYTHON, str(HERE / "load.py"), "--port", str(port), "--path", path]
            log("API warm-up")
            run_child([*base, "--rate", "50", "--duration", "3"], env=load_env)
            cpu0 = _proc_cpu_s(server.pid)
            runs = []
            for i in range(1 if self.quick else 3):
                log(f"API load {rate:.0f} req/s for {duration:.0f} s, run {i + 1}")
                sample = run_child(
                    [*base, "--rate", str(rate), "--duration", str(duration)], env=load_env
                )
                runs.append({**json.loads(sample.stdout), "load_avg": sample.load_after})
            server_cpu = _proc_cpu_s(server.pid) - cpu0
            server_rss = _proc_hwm_mb(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        return {
            "command": "kluis serve (uvicorn, one process) + benchmarks/load.py (open loop, "
            "16 keep-alive connections, 127.0.0.1)",
            "query": "GET /releases/{id}/cells?indicator=heroverweging&gemeente="
            f"{gemeente}&limit=1000 as a regiocoordinator of {gemeente}",
            "runs": runs,
            "p50_ms": spread([r["service_ms"]["p50"] for r in runs]),
            "p99_ms": spread([r["service_ms"]["p99"] for r in runs]),
            "p99_scheduled_ms": spread([r["scheduled_ms"]["p99"] for r in runs]),
            "throughput_per_s": spread([r["throughput_per_s"] for r in runs]),
            "server_cpu_s_per_request": round(
                server_cpu / max(sum(r["requests"] for r in runs), 1), 5
            ),
            "server_peak_rss_mb": server_rss,
            "goal": {"p99_ms": 25, "rate_per_s": 200},
        }

    def trend_home(self) -> tuple[Path, str]:
        """A copy of the base home with releases of three consecutive school years (YEAR-2 to
        YEAR), so that factsheets carry trends; built once and reused."""
        home = self.work / f"{self.scale}-home-trend"
        id_file = self.work / f"{self.scale}-trend-release-id"
        if home.exists() and id_file.exists():
            return home, id_file.read_text().strip()
        home = self.copy_home(self.ensure_home(), f"{self.scale}-home-trend")
        release_id = ""
        for year in (YEAR - 2, YEAR - 1, YEAR):
            log(f"kluis run --year {year} (for the trends)")
            release_id = self.kluis("run", "--year", str(year), home=home).stdout.strip()
            release_id = release_id.splitlines()[-1]
        id_file.write_text(release_id)
        return home, release_id

    def run_factsheet(self) -> dict[str, Any]:
        """kluis factsheet with maps and trends (whole process, HTML and PDF) and the national
        overview; inner timings against the same factsheet without them, in the same run."""
        home, release_id = self.trend_home()
        gemeente = "GM0917"
        out = self.work / "factsheet-out"
        out.mkdir(exist_ok=True)
        html: list[Sample] = []
        pdf: list[Sample] = []
        for i in self.rounds(html, pdf):
            log(f"kluis factsheet {gemeente} html and pdf, run {i + 1}")
            for fmt, samples in (("html", html), ("pdf", pdf)):
                samples.append(
                    self.kluis("factsheet", gemeente, "--release", release_id, "--format", fmt,
                               "--out", str(out / f"{gemeente}.{fmt}"), home=home)
                )  # fmt: skip
        log("factsheet in one process, with maps and trends and without")
        inner = self.step("factsheet", "--home", str(home), "--release", release_id)
        plain = self.step("factsheet", "--home", str(home), "--release", release_id, "--plain")
        overview: list[Sample] = []
        for i in self.rounds(overview):
            log(f"national overview, run {i + 1}")
            overview.append(self.step("overview", "--home", str(home), "--release", release_id))
        keys = ["html_s", "pdf_s", "load_release_s"]
        return {
            "command": f"KLUIS_HOME=<3 school years> kluis factsheet {gemeente} --release "
            f"<{YEAR}> --format html|pdf",
            "html": summarise(html),
            "pdf": summarise(pdf),
            "inner": {**inner.inner, "cpu_s": round(inner.cpu_s, 2)},
            "plain": {**plain.inner, "cpu_s": round(plain.cpu_s, 2)},
            "overview": {
                "command": "benchmarks/steps.py overview (render_overview, heroverweging, "
                "all gemeenten)",
                **summarise(overview, keys),
                "detail": overview[0].inner,
            },
            "release_id": release_id,
            # pages: "under 20"
            "goal": {"html_wall_s": 2, "pdf_wall_s": 8, "pdf_pages": 19, "overview_s": 3},
        }

    def run_scaling(self) -> dict[str, Any]:
        """The pipeline at 10%, 30%, 100% and 200% of the bench scale."""
        self.ensure_data()
        points: list[dict[str, Any]] = []
        for label, fraction in (("10%", 0.1), ("30%", 0.3), ("100%", 1.0), ("200%", 2.0)):
            if fraction == 1.0:
                data = self.data
            elif fraction == 2.0:
                data = self.work / f"{self.scale}-2x"
                if not (data / "adres.parquet").exists():
                    second = self.work / f"{self.scale}-seed2"
                    if not (second / "adres.parquet").exists():
                        log("generating the second world (seed 2)")
                        self.kluis(
                            "synth", "--out", str(second), "--scale", self.scale, "--seed", "2"
                        )
                    log("joining the two worlds")
                    bench_data.concat_worlds(self.data, second, data)
            else:
                data = self.work / f"{self.scale}-sample-{label.rstrip('%')}pct"
                if not (data / "adres.parquet").exists():
                    bench_data.subsample(self.data, data, fraction, salt="scaling")
            log(f"scaling point {label}")
            points.append(self.scaling_point(label, fraction, data))
        return {
            "what": "one run per point; 10% and 30% are samples of children (hash of rin) of "
            "the national batch, 200% is two national worlds (seeds 1 and 2) on one geography",
            "points": points,
            "growth": _growth(points),
        }

    def scaling_point(self, label: str, fraction: float, data: Path) -> dict[str, Any]:
        """One run of each pipeline step on ``data``; a step that fails or times out is
        recorded as such and the later steps that need it are skipped."""
        tag = label.rstrip("%")
        point: dict[str, Any] = {
            "label": label,
            "fraction": fraction,
            "rows": bench_data.total_rows(data),
        }
        home = self.fresh_home(f"scale-home-{tag}")
        agg = self.work / f"agg-scale-{tag}.pkl"
        timeout = self.timeout_s
        try:
            ingest, flags, refusal = self.ingest_into(home, data)
            point["ingest_flags"] = flags
            point["ingest_refusal"] = refusal
            point["ingest"] = _fig(ingest)
            try:
                engine = self.step(
                    "engine-sealed",
                    "--home",
                    str(home),
                    "--year",
                    str(YEAR),
                    "--save-agg",
                    str(agg),
                    timeout_s=timeout,
                )
                point["engine"] = _fig(engine, "total_s")
                protect = self.step("protect", "--agg", str(agg), timeout_s=timeout)
                point["protect"] = _fig(protect, "protect_s")
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
            run_home = self.copy_home(home, f"scale-run-home-{tag}")
            try:
                point["kluis_run"] = _fig(
                    self.kluis("run", "--year", str(YEAR), home=run_home, timeout_s=timeout)
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


def _fig(s: Sample, inner: str | None = None) -> dict[str, float]:
    out = {
        "wall_s": round(s.wall_s, 2),
        "cpu_s": round(s.cpu_s, 2),
        "peak_rss_mb": round(s.peak_rss_mb, 1),
        "load": round(s.load_before, 1),
    }
    if inner:
        out["inner_s"] = round(s.inner[inner], 2)
    return out


# --- small helpers ---


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _previous(step: str) -> dict[str, Any] | None:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text()).get("steps", {}).get(step)
    return None


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, server: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StepFailed(f"kluis serve exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise StepFailed("kluis serve did not start listening")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _proc_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# --- main ---


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small scale, one pass")
    parser.add_argument("--only", action="append", choices=STEPS, help="run only this step")
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
    steps = args.only or list(STEPS)
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
    for step in steps:
        log(f"step {step}")
        t0 = time.perf_counter()
        try:
            result = getattr(bench, f"run_{step}")()
        except StepFailed as e:
            log(f"step {step} FAILED: {e}")
            failures[step] = str(e)
            results["steps"][step] = {"failed": str(e), "at": datetime.now(UTC).isoformat()}
            continue
        result["step_wall_s"] = round(time.perf_counter() - t0, 1)
        result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
        loads.append(os.getloadavg()[0])
        bench.results[step] = result
        results["steps"][step] = result
        _write(results_path, results)
    results["meta"]["last_run"] = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "steps": steps,
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
