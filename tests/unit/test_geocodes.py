"""The area codes (kansenkluis.geocodes): forms, construction and parsing back."""

from __future__ import annotations

import re

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kansenkluis import geocodes
from kansenkluis.geocodes import (
    gemeente_of,
    is_gemeentecode,
    is_regio_pool_code,
    is_wijkcode,
    is_wijkgroep_code,
    regio_pool_code,
    wijkgroep_code,
)

gemeentecodes = st.from_regex(r"GM[0-9]{4}", fullmatch=True)
wijkcodes = st.from_regex(r"WK[0-9]{4}[0-9A-Z]{2}", fullmatch=True)
numbers = st.integers(min_value=1, max_value=10_000)


@pytest.mark.parametrize(
    ("code", "gemeente", "wijk", "wijkgroep", "regio"),
    [
        ("GM0917", True, False, False, False),
        ("WK091710", False, True, False, False),
        ("WK0917A1", False, True, False, False),
        ("WG0917_01", False, False, True, False),
        ("WG0917_123", False, False, True, False),
        ("RG01", False, False, False, True),
        ("GM917", False, False, False, False),
        ("GM09171", False, False, False, False),
        ("gm0917", False, False, False, False),
        ("GM0917\n", False, False, False, False),
        ("GM٠٩١٧", False, False, False, False),  # Arabic-Indic digits: \d would take them
        ("WK0917a1", False, False, False, False),
        ("WG091701", False, False, False, False),
        ("WG0917_1", False, False, False, False),
        ("RG1", False, False, False, False),
        ("NL", False, False, False, False),
    ],
)
def test_each_form_accepts_exactly_its_codes(
    code: str, gemeente: bool, wijk: bool, wijkgroep: bool, regio: bool
) -> None:
    assert is_gemeentecode(code) is gemeente
    assert is_wijkcode(code) is wijk
    assert is_wijkgroep_code(code) is wijkgroep
    assert is_regio_pool_code(code) is regio


def test_not_a_string_is_no_code() -> None:
    assert not is_gemeentecode(917)
    assert not is_wijkcode(None)


@given(gemeentecodes, numbers)
def test_a_wijkgroep_code_names_its_gemeente(gemeentecode: str, n: int) -> None:
    code = wijkgroep_code(gemeentecode, n)
    assert is_wijkgroep_code(code)
    assert gemeente_of(code) == gemeentecode
    assert int(code.rsplit("_", 1)[1]) == n


@given(wijkcodes)
def test_a_wijkcode_names_its_gemeente(wijkcode: str) -> None:
    gemeente = gemeente_of(wijkcode)
    assert gemeente is not None and is_gemeentecode(gemeente)
    assert wijkcode[2:6] == gemeente[2:]


@given(numbers)
def test_region_pool_codes_are_distinct_and_sort_in_order_below_100(n: int) -> None:
    code = regio_pool_code(n)
    assert is_regio_pool_code(code)
    assert int(code[2:]) == n
    if n < 99:
        assert code < regio_pool_code(n + 1)


@pytest.mark.parametrize("code", ["GM0917", "RG01", "NL", "", "WG0917", "WKX"])
def test_only_wijk_and_wijkgroep_codes_name_a_gemeente(code: str) -> None:
    assert gemeente_of(code) is None


def test_construction_refuses_what_it_cannot_encode() -> None:
    with pytest.raises(ValueError):
        wijkgroep_code("0917", 1)
    with pytest.raises(ValueError):
        wijkgroep_code("GM0917", 0)
    with pytest.raises(ValueError):
        regio_pool_code(0)


@pytest.mark.parametrize(
    "pattern",
    [
        geocodes.GEMEENTE_PATTERN,
        geocodes.WIJK_PATTERN,
        geocodes.WIJKGROEP_PATTERN,
        geocodes.REGIO_POOL_PATTERN,
    ],
)
def test_patterns_mean_the_same_in_duckdb(pattern: str) -> None:
    # the ingest checks codes in DuckDB with the same patterns
    samples = ["GM0917", "WK091710", "WK0917A1", "WG0917_01", "RG01", "GM917", "wk091710", "NL"]
    con = duckdb.connect()
    for sample in samples:
        in_sql = con.execute("SELECT regexp_full_match(?, ?)", [sample, pattern]).fetchone()
        assert in_sql is not None
        assert in_sql[0] is (re.fullmatch(pattern, sample) is not None), sample


def test_gemeente_digits_sql_reads_the_gemeente_of_both_code_forms() -> None:
    con = duckdb.connect()
    sql = geocodes.gemeente_digits_sql
    row = con.execute(f"SELECT {sql('w')}, {sql('g')} FROM (SELECT 'WK0917A1' w, 'GM0917' g)")
    assert row.fetchone() == ("0917", "0917")


def test_anchored_patterns_match_whole_codes_only() -> None:
    anchored = geocodes.anchored(geocodes.GEMEENTE_PATTERN)
    assert re.search(anchored, "GM0917")
    assert not re.search(anchored, "xGM0917")
    assert not re.search(anchored, "GM09171")
