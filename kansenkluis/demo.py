"""``kluis demo``: the whole chain on synthetic data in a fresh KLUIS_HOME.

synth (as CBS remote-access files, docs/cbs-layout.md) -> init -> ingest -> run (three
consecutive reference years, so that the factsheets carry trends) -> export -> audit verify ->
factsheets and the national overview.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.table import Table

from kansenkluis.config import Settings
from kansenkluis.errors import InternalError

#: Three consecutive reference years: the synthetic world holds school years 2018-2023, so each
#: has its t+1 (the transition indicators and stapelen need the year after).
DEMO_YEARS = (2020, 2021, 2022)
#: gemeenten whose factsheets the national demo writes (the small demo writes all of its own)
NATIONAL_FACTSHEETS = ("GM0917", "GM1883", "GM0363", "GM0014", "GM0344")
#: every page is written in both formats
FORMATS: tuple[Literal["html", "pdf"], ...] = ("html", "pdf")
#: the indicator of the programme's national overview (a map of all gemeenten) in the demo
OVERVIEW_INDICATOR = "heroverweging"


def run_demo(
    out_dir: Path,
    scale: str = "small",
    seed: int = 1,
    console: Console | None = None,
    layout: str = "cbs",
) -> None:
    from api.factsheet import load_history, render_factsheet, render_overview
    from api.release_index import ReleaseIndex
    from disclosure.verify import verify_export
    from kansenkluis import pipeline
    from kansenkluis.synth import generate

    console = console or Console()
    pipeline.reset_home(out_dir)
    out_dir.mkdir(parents=True)
    settings = Settings(home=out_dir / "kluis-home")
    steps: list[tuple[str, float, str]] = []

    def step(name: str, started: float, detail: str) -> None:
        steps.append((name, time.perf_counter() - started, detail))
        console.print(f"[green]✓[/green] {name}: {detail}")

    t = time.perf_counter()
    summary = generate(out_dir / "microdata", scale=scale, seed=seed, layout=layout)
    step("synth", t, f"{sum(summary.rows.values()):,} rows ({scale}, seed {seed}, {layout} layout)")

    t = time.perf_counter()
    pipeline.init_home(settings)
    step("init", t, f"keys in {settings.home}")

    t = time.perf_counter()
    report = pipeline.ingest(settings, out_dir / "microdata", progress=console.log, layout=layout)
    step("ingest", t, f"data fingerprint {report.data_fingerprint[:16]}…")

    release_ids = []
    for year in DEMO_YEARS:
        t = time.perf_counter()
        release = pipeline.run(settings, year, progress=console.log)
        release_ids.append(release.id)
        published = sum(1 for c in release.cells if c.status.value == "published")
        step(
            f"run {year}",
            t,
            f"{release.id}: {published:,} of {len(release.cells):,} cells published",
        )

    for rid in release_ids:
        t = time.perf_counter()
        target = pipeline.export(settings, rid, out_dir / "releases" / rid)
        result = verify_export(target)
        if not result.ok:
            raise InternalError("DEMO_VERIFY_FAILED", f"audit verify failed for {rid}")
        step("export + audit verify", t, f"{rid} OK")

    from disclosure.store import ReleaseStore

    with ReleaseStore(settings.release_db) as store:
        latest = store.get(release_ids[-1])
        index = ReleaseIndex(latest)  # one index for every page of the release
        gemeenten = (
            sorted({c.geo_code for c in latest.cells if c.geo_level.value == "gemeente"})
            if scale == "small"
            else list(NATIONAL_FACTSHEETS)
        )
        t = time.perf_counter()
        sheets = out_dir / "factsheets"
        sheets.mkdir()
        for code in gemeenten:
            history = load_history(store, latest, code)
            for fmt in FORMATS:
                sheet = render_factsheet(latest, code, fmt, history, index)
                (sheets / f"{code}.{fmt}").write_bytes(sheet)
        overview = out_dir / "overzicht"
        overview.mkdir()
        for fmt in FORMATS:
            data = render_overview(latest, OVERVIEW_INDICATOR, None, fmt, index=index)
            (overview / f"{OVERVIEW_INDICATOR}.{fmt}").write_bytes(data)
    step(
        "factsheets",
        t,
        f"{len(gemeenten)} gemeenten as HTML and PDF, with maps and trends over "
        f"{len(release_ids)} school years, in {sheets}; the national overview in {overview}",
    )

    table = Table("step", "seconds", "result", title="kluis demo")
    for name, seconds, detail in steps:
        table.add_row(name, f"{seconds:.1f}", detail)
    console.print(table)
    console.print(
        f"KLUIS_HOME={settings.home}  ·  try: KLUIS_HOME={settings.home} kluis release list"
    )
