"""Step ``cbs``: the CBS remote-access layout, ``kluis synth --layout cbs`` and ``kluis ingest
--layout cbs`` of the bench world, next to the default layout's ingest of the same world in
the same run; both homes must hold the same data fingerprint (child ``fingerprint``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from measure import write_inner

from steps.base import Bench, Child, Step, fig, log


def run(b: Bench) -> dict[str, Any]:
    """The CBS remote-access layout: ``kluis synth --layout cbs`` and ``kluis ingest
    --layout cbs`` of the bench world, next to the default layout's ingest of the same
    world (same seed) in the same run; both homes must hold the same data fingerprint."""
    cbs = b.work / f"{b.scale}-seed1-cbs"
    if cbs.exists():
        shutil.rmtree(cbs)
    log("synth --layout cbs")
    synth = b.kluis("synth", "--out", str(cbs), "--scale", b.scale, "--seed", "1",
                    "--layout", "cbs")  # fmt: skip
    home_cbs = b.fresh_home("cbs-home")
    # the same keys in both homes, so that the same data give the same fingerprint
    home_spec = b.copy_home(home_cbs, "cbs-spec-home")
    log("ingest --layout cbs")
    ingest_cbs = b.kluis("ingest", str(cbs), "--layout", "cbs", home=home_cbs)
    log("ingest (default layout) of the same world")
    ingest_spec = b.kluis("ingest", str(b.ensure_data()), home=home_spec)
    prints = [b.child("fingerprint", "--home", str(h)).inner for h in (home_cbs, home_spec)]
    same = prints[0].get("fingerprint") is not None and prints[0] == prints[1]
    shutil.rmtree(cbs)
    for home in (home_cbs, home_spec):
        shutil.rmtree(home)
    total = synth.wall_s + ingest_cbs.wall_s
    return {
        "command": "kluis synth --layout cbs; kluis ingest DIR --layout cbs",
        "synth_cbs": fig(synth),
        "ingest_cbs": fig(ingest_cbs),
        "ingest_default_layout": fig(ingest_spec),
        "synth_plus_ingest_s": round(total, 1),
        "peak_rss_mb": round(max(synth.peak_rss_mb, ingest_cbs.peak_rss_mb), 1),
        "same_data_fingerprint": same,
        "goal": {"wall_s": 300, "peak_rss_mb": 6 * 1024},
    }


def fingerprint(args: argparse.Namespace) -> None:
    """The data fingerprint of a home's current sealed dataset (no data leave the child)."""
    from kansenkluis import pipeline
    from kansenkluis.config import Settings

    store = pipeline.sealed_store(Settings(home=Path(args.home)))
    write_inner({"fingerprint": store.current_fingerprint()})


def _fingerprint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", required=True)


STEP = Step(
    name="cbs",
    measures="kluis synth --layout cbs plus kluis ingest --layout cbs: wall, peak RSS",
    baseline="kluis ingest of the same world in the default layout, in the same run",
    run=run,
    children=(Child("fingerprint", fingerprint, _fingerprint_options),),
)
