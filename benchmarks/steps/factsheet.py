"""Step ``factsheet``: ``kluis factsheet`` with maps and trends (whole process, HTML and PDF)
on a home with three school years of releases, and the programme's national overview; inner
timings in one process (child ``factsheet``) against the same factsheet without maps and
trends (``--plain``), and the overview (child ``overview``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from measure import Sample, peak_rss_self_mb, summarise, write_inner

from steps.base import YEAR, Bench, Child, Step, log


def _trend_home(b: Bench) -> tuple[Path, str]:
    """A copy of the base home with releases of three consecutive school years (YEAR-2 to
    YEAR), so that factsheets carry trends; built once and reused."""
    home = b.work / f"{b.scale}-home-trend"
    id_file = b.work / f"{b.scale}-trend-release-id"
    if home.exists() and id_file.exists():
        return home, id_file.read_text().strip()
    home = b.copy_home(b.ensure_home(), f"{b.scale}-home-trend")
    release_id = ""
    for year in (YEAR - 2, YEAR - 1, YEAR):
        log(f"kluis run --year {year} (for the trends)")
        release_id = b.kluis("run", "--year", str(year), home=home).stdout.strip()
        release_id = release_id.splitlines()[-1]
    id_file.write_text(release_id)
    return home, release_id


def run(b: Bench) -> dict[str, Any]:
    """kluis factsheet with maps and trends (whole process, HTML and PDF) and the national
    overview; inner timings against the same factsheet without them, in the same run."""
    home, release_id = _trend_home(b)
    gemeente = "GM0917"
    out = b.work / "factsheet-out"
    out.mkdir(exist_ok=True)
    html: list[Sample] = []
    pdf: list[Sample] = []
    for i in b.rounds(html, pdf):
        log(f"kluis factsheet {gemeente} html and pdf, run {i + 1}")
        for fmt, samples in (("html", html), ("pdf", pdf)):
            samples.append(
                b.kluis("factsheet", gemeente, "--release", release_id, "--format", fmt,
                        "--out", str(out / f"{gemeente}.{fmt}"), home=home)
            )  # fmt: skip
    log("factsheet in one process, with maps and trends and without")
    inner = b.child("factsheet", "--home", str(home), "--release", release_id)
    plain = b.child("factsheet", "--home", str(home), "--release", release_id, "--plain")
    overview: list[Sample] = []
    for i in b.rounds(overview):
        log(f"national overview, run {i + 1}")
        overview.append(b.child("overview", "--home", str(home), "--release", release_id))
    keys = ["html_s", "pdf_s", "load_release_s"]
    return {
        "command": f"KLUIS_HOME=<3 school years> kluis factsheet {gemeente} --release "
        f"<{YEAR}> --format html|pdf",
        "html": summarise(html),
        "pdf": summarise(pdf),
        "inner": {**inner.inner, "cpu_s": round(inner.cpu_s, 2)},
        "plain": {**plain.inner, "cpu_s": round(plain.cpu_s, 2)},
        "overview": {
            "command": "benchmarks/child.py overview (render_overview, heroverweging, "
            "all gemeenten)",
            **summarise(overview, keys),
            "detail": overview[0].inner,
        },
        "release_id": release_id,
        # pages: "under 20"
        "goal": {"html_wall_s": 2, "pdf_wall_s": 8, "pdf_pages": 19, "overview_s": 3},
    }


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
        render.build_kaart = lambda *a, **k: (render.Markup(), "")
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


def _factsheet_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", required=True)
    p.add_argument("--release", required=True)
    p.add_argument("--gemeente", default="GM0917")
    p.add_argument("--plain", action="store_true", help="without maps and trends")


def _overview_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", required=True)
    p.add_argument("--release", required=True)
    p.add_argument("--indicator", default="heroverweging")


STEP = Step(
    name="factsheet",
    measures="kluis factsheet with maps and trends, HTML and PDF; the national overview",
    baseline="the same factsheet without maps and trends (--plain), in the same run",
    run=run,
    children=(
        Child("factsheet", factsheet_step, _factsheet_options),
        Child("overview", overview_step, _overview_options),
    ),
)
