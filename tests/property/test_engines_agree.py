"""The fast engine (DuckDB) and the reference engine agree on every generated pupil table.

Hypothesis draws small sets of input tables over a handful of pupils and parents, with the
awkward parts on purpose: duplicate rows, pupils in several tables and years, missing
advices, empty parent slots, addresses that are missing, ambiguous or outside the geography,
and reference years with or without a t+1. Both engines must give the same counts in every
cell and the same run report.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators import reference
from indicators.docs import spec_geography
from indicators.specs import LEFT_OUT_REASONS, RUN_REPORT, population_keys
from kansenkluis.domain import (
    ADVICE_CODES,
    EXAM_LEVELS,
    HO_SOORTEN,
    INPUT_TABLES,
    MBO_LEVELS,
    OPLEIDINGSNIVEAUS,
    PopulationId,
)
from secure import engine

GEOGRAPHY = spec_geography()
YEARS = (2021, 2022, 2023)
PUPILS = tuple(f"p{i}" for i in range(6))
PARENTS = tuple(f"q{i}" for i in range(4))
WIJKEN = (*sorted(GEOGRAPHY.wijken), "WK999999")  # the last one is not in the geography

rin = st.sampled_from(PUPILS)
year = st.sampled_from(YEARS)
advice = st.sampled_from(ADVICE_CODES)
# half of the levels from a few common ones, so that pupils meet themselves across years
niveau = st.sampled_from(("vmbo_gt", "havo", "vwo")) | advice
maybe_advice = st.none() | advice
parent_slot = st.none() | st.just("") | st.sampled_from(PARENTS)


def _rows(*columns: st.SearchStrategy, max_size: int = 10) -> st.SearchStrategy:
    return st.lists(st.tuples(*columns), max_size=max_size)


@st.composite
def pupil_tables(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    rows = {
        "po_advies": draw(
            _rows(rin, year, st.just("00AA"), maybe_advice, maybe_advice, maybe_advice)
        ),
        "vo_inschrijving": draw(
            _rows(rin, year, st.just("00AA"), niveau, st.integers(2, 5), max_size=16)
        ),
        "vo_examen": draw(_rows(rin, year, st.sampled_from(EXAM_LEVELS), st.booleans())),
        "mbo_inschrijving": draw(_rows(rin, year, st.sampled_from(MBO_LEVELS), max_size=4)),
        "mbo_diploma": draw(_rows(rin, year, st.sampled_from(MBO_LEVELS), max_size=6)),
        "ho_inschrijving": draw(_rows(rin, year, st.sampled_from(HO_SOORTEN), max_size=6)),
        "persoon": draw(_rows(rin, st.integers(2006, 2010), st.integers(1, 12), max_size=10)),
        "kind_ouder": draw(_rows(rin, parent_slot, parent_slot, max_size=8)),
        "hoogste_opleiding": draw(
            _rows(st.sampled_from(PARENTS), st.sampled_from(OPLEIDINGSNIVEAUS), max_size=6)
        ),
        "adres": draw(_rows(rin, year, st.sampled_from(WIJKEN), max_size=12)),
    }
    return {
        table: pd.DataFrame(data, columns=list(INPUT_TABLES[table])) for table, data in rows.items()
    }


@pytest.fixture(scope="module")
def con():
    # one connection for all examples: connect_frames replaces its tables each time
    connection = duckdb.connect()
    yield connection
    connection.close()


def _run_both(con, tables: dict[str, pd.DataFrame], t: int):
    engine.connect_frames(tables, con)
    fast = engine.compute_aggregates(con, GEOGRAPHY, t, data_fingerprint="fp")
    slow = reference.compute_aggregates(tables, GEOGRAPHY, t, data_fingerprint="fp")
    return fast, slow


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tables=pupil_tables(), t=st.sampled_from((2021, 2022)))
def test_both_engines_give_the_same_aggregate_table(con, tables, t):
    fast, slow = _run_both(con, tables, t)
    pd.testing.assert_frame_equal(fast.counts, slow.counts)
    assert dict(fast.run_report) == dict(slow.run_report)
    assert (fast.schooljaar, fast.data_fingerprint) == (slow.schooljaar, slow.data_fingerprint)

    # and the shared shape: every key and wijk once, each population member in one place
    assert set(fast.run_report) == set(RUN_REPORT)
    assert len(fast.counts) == len(population_keys()) * len(GEOGRAPHY.wijken)
    assert not fast.counts.duplicated(["population", "breakdown", "category", "wijkcode"]).any()
    for pop in PopulationId:
        report = fast.run_report
        left_out = sum(report[f"{pop}_left_out_{reason}"] for reason in LEFT_OUT_REASONS)
        assert report[f"{pop}_population"] == report[f"{pop}_counted"] + left_out
        in_cells = fast.counts.loc[fast.counts["population"] == pop.value, "count"].sum()
        assert in_cells == report[f"{pop}_counted"]


@pytest.mark.parametrize("t", [2021, 2022])
def test_engines_agree_when_there_are_no_rows_at_all(con, t):
    fast, slow = _run_both(con, {}, t)
    pd.testing.assert_frame_equal(fast.counts, slow.counts)
    assert dict(fast.run_report) == dict(slow.run_report)
    assert fast.counts["count"].sum() == 0
