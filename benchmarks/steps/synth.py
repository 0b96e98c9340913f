"""Step ``synth``: ``kluis synth`` at the bench scale (seed 1), repeated into the same folder
(the output is byte-identical)."""

from __future__ import annotations

from typing import Any

import data as bench_data
from measure import Sample, summarise

from steps.base import Bench, Step, folder_mb, log


def run(b: Bench) -> dict[str, Any]:
    """kluis synth at the bench scale, repeated into the same folder (byte-identical)."""

    def once(i: int) -> Sample:
        log(f"synth {b.scale} run {i + 1}")
        return b.kluis("synth", "--out", str(b.data), "--scale", b.scale, "--seed", "1")

    samples = b.repeat(once)
    return {
        "command": f"kluis synth --out DIR --scale {b.scale} --seed 1",
        "rows": bench_data.total_rows(b.data),
        "parquet_mb": round(folder_mb(b.data), 1),
        **summarise(samples),
        "goal": {"wall_s": 120, "peak_rss_mb": 6 * 1024},
    }


STEP = Step(
    name="synth",
    measures="kluis synth at the bench scale, seed 1: wall, CPU, peak RSS; rows and Parquet size",
    baseline="the goal (120 s, 6 GB)",
    run=run,
)
