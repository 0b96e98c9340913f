"""Step ``run``: ``kluis run --year YEAR`` end to end on a fresh copy of the base home, and a
second release of the same year against the first (the cross-release audit). The first
run's home is kept as the released home for the ``dp`` and ``api`` steps.
"""

from __future__ import annotations

import shutil
from typing import Any

from measure import Sample, summarise

from steps.base import YEAR, Bench, Step, log


def run(b: Bench) -> dict[str, Any]:
    """kluis run end to end (a fresh copy of the base home each time)."""
    b.ensure_home()
    first: list[Sample] = []
    release_id = ""
    for i in b.rounds(first):
        home = b.copy_home(b.base_home, f"run-home-{i}")
        log(f"kluis run --year {YEAR}, run {i + 1}")
        first.append(b.kluis("run", "--year", str(YEAR), home=home))
        if i == 0:
            release_id = first[0].stdout.strip().splitlines()[-1]
            released = b.work / f"{b.scale}-home-released"
            if released.exists():
                shutil.rmtree(released)
            home.rename(released)
            (b.work / f"{b.scale}-release-id").write_text(release_id)
        else:
            shutil.rmtree(home)
    released = b.work / f"{b.scale}-home-released"
    second: list[Sample] = []
    for i in b.rounds(second):
        home = b.copy_home(released, f"run-home-second-{i}")
        log(f"kluis run --year {YEAR} again (against the first release), run {i + 1}")
        second.append(b.kluis("run", "--year", str(YEAR), home=home))
        shutil.rmtree(home)
    return {
        "command": f"KLUIS_HOME=<ingested home> kluis run --year {YEAR}",
        "first_release": summarise(first),
        "second_release_same_year": summarise(second),
        "release_id": release_id,
        "goal": {"wall_s": 60, "peak_rss_mb": 4 * 1024},
    }


STEP = Step(
    name="run",
    measures="kluis run end to end: first release, second release of the same year",
    baseline="the goal (60 s, 4 GB)",
    run=run,
)
