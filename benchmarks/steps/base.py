"""What every benchmark step shares: the ``Step`` and ``Child`` records, the ``Bench`` context
(the work folder, how to run ``kluis`` and child processes, the inputs built when missing) and
the small helpers that turn samples into figures.

A step (``Step``) is what ``run.py`` measures and ``results.json`` records under its name: what
it measures, what it is compared against in the same run, and the function that runs it. A
child (``Child``) is work a step starts in its own process, ``python benchmarks/child.py NAME``,
so that its peak memory is its own (``measure.run_child``).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from measure import KLUIS, Sample, StepFailed, child_argv, run_child

BENCHMARKS = Path(__file__).resolve().parent.parent
RESULTS = BENCHMARKS / "results.json"
#: The reference year of the benchmark and the year after it (t+1 must exist: synth writes
#: school years 2018-2023).
YEAR = 2021


@dataclass(frozen=True)
class Child:
    """Work run in its own process: ``python benchmarks/child.py NAME [options]``."""

    name: str
    run: Callable[[argparse.Namespace], None]
    options: Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Step:
    """One benchmark step: its name in ``--only`` and ``results.json``, what it measures, its
    baseline (what the figure is compared against in the same run), the function that runs it,
    and the children it starts."""

    name: str
    measures: str
    baseline: str
    run: Callable[[Bench], dict[str, Any]]
    children: tuple[Child, ...] = ()


def log(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    load = os.getloadavg()[0]
    print(f"[{stamp} load {load:4.1f}] {message}", file=sys.stderr, flush=True)


class Bench:
    """One benchmark run: its work folder, scale and repeats, how to start ``kluis`` and child
    processes, and the inputs that steps share (built when missing, not measured)."""

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
        #: figures of the steps run so far in this run, by step name
        self.results: dict[str, Any] = {}

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

    def child(self, name: str, *args: str, timeout_s: float | None = None) -> Sample:
        """``benchmarks/child.py NAME ARGS``, measured."""
        return run_child(child_argv(name, *args), timeout_s=timeout_s or self.timeout_s)

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
            sample = self.child("ingest-store", "--home", str(home), "--data", str(data),
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
            self.child(
                "engine-sealed",
                "--home",
                str(self.base_home),
                "--year",
                str(year),
                "--save-agg",
                str(path),
            )
        return path

    @property
    def released_home(self) -> Path:
        """The base home after one ``kluis run --year YEAR`` (made by the ``run`` step)."""
        return self.work / f"{self.scale}-home-released"

    @property
    def release_id_file(self) -> Path:
        return self.work / f"{self.scale}-release-id"

    def ensure_released(self) -> tuple[Path, str]:
        """The released home and its release id; one ``kluis run`` when the ``run`` step has
        not left them."""
        if not self.released_home.exists() or not self.release_id_file.exists():
            home = self.copy_home(self.ensure_home(), self.released_home.name)
            sample = self.kluis("run", "--year", str(YEAR), home=home)
            self.release_id_file.write_text(sample.stdout.strip().splitlines()[-1])
        return self.released_home, self.release_id_file.read_text().strip()


def fig(s: Sample, inner: str | None = None) -> dict[str, float]:
    """One sample as a figure: wall, CPU, peak RSS, load before (and one inner timing)."""
    out = {
        "wall_s": round(s.wall_s, 2),
        "cpu_s": round(s.cpu_s, 2),
        "peak_rss_mb": round(s.peak_rss_mb, 1),
        "load": round(s.load_before, 1),
    }
    if inner:
        out["inner_s"] = round(s.inner[inner], 2)
    return out


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def previous(step: str) -> dict[str, Any] | None:
    """The figures of ``step`` in ``results.json`` from an earlier run, if any."""
    if RESULTS.exists():
        return json.loads(RESULTS.read_text()).get("steps", {}).get(step)
    return None


# --- in a child: aggregates and drafts travel between steps as pickles in the work folder ---
# They hold exact counts of *synthetic* data and never leave that folder; only status counts,
# timings and errors against the exact figures go into ``results.json``.


def save_pickle(obj: object, path: str | None) -> None:
    if path:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path: str) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)  # noqa: S301 - our own pickles, in our own work folder
