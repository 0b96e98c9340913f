"""The ``spec`` fixture: run a worked example through BOTH engines and check it.

A case (``indicators.docs.SpecCase``) gives small pipe tables and hand-computed numerators
and denominators. ``spec(case)`` builds the tables, runs the fast engine (DuckDB) and the
reference engine, and checks each engine's ``indicator_counts`` and run report against the
hand-computed figures, so a wrong expectation or a wrong engine both fail loudly.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from indicators import reference
from indicators.docs import SpecCase, spec_geography
from indicators.specs import LEFT_OUT_REASONS, indicator_counts
from kansenkluis.domain import AggregateTable, PopulationId
from secure import engine


def _fast(tables: dict[str, pd.DataFrame], schooljaar: int) -> AggregateTable:
    con = engine.connect_frames(tables)
    try:
        return engine.compute_aggregates(con, spec_geography(), schooljaar)
    finally:
        con.close()


def _reference(tables: dict[str, pd.DataFrame], schooljaar: int) -> AggregateTable:
    return reference.compute_aggregates(tables, spec_geography(), schooljaar)


ENGINES: dict[str, Callable[[dict[str, pd.DataFrame], int], AggregateTable]] = {
    "duckdb": _fast,
    "reference": _reference,
}


def check_case(case: SpecCase) -> None:
    for engine_name, run in ENGINES.items():
        agg = run(case.frames(), case.schooljaar)
        counts = indicator_counts(agg)
        for key, expected in case.expect.items():
            indicator, breakdown, wijk = case.target(key)
            rows = counts[(counts["indicator"] == indicator) & (counts["breakdown"] == breakdown)]
            if wijk is not None:
                rows = rows[rows["wijkcode"] == wijk]
                assert len(rows) == 1, f"{engine_name}: no cell for {key}"
            got = (int(rows["numerator"].sum()), int(rows["denominator"].sum()))
            assert got == expected, f"{engine_name}, {key}: (numerator, denominator)"
        for key, value in case.report.items():
            assert agg.run_report[key] == value, f"{engine_name}, run report {key}"
        # every member of a population is either counted or left out for one named reason
        for pop in PopulationId:
            left_out = sum(agg.run_report[f"{pop}_left_out_{r}"] for r in LEFT_OUT_REASONS)
            assert (
                agg.run_report[f"{pop}_population"] == agg.run_report[f"{pop}_counted"] + left_out
            )
            in_cells = agg.counts.loc[agg.counts["population"] == pop.value, "count"].sum()
            assert in_cells == agg.run_report[f"{pop}_counted"], f"{engine_name}: {pop} cells"


@pytest.fixture
def spec() -> Callable[[SpecCase], None]:
    return check_case
