"""Spec tests for the factsheet sentences: the programme's wording, exactly.

Rounding rule under test: release percentages already have one decimal; the sentence writes
them with a decimal comma and, should a value carry more decimals, rounds half away from zero on
its decimal representation (46,65 -> 46,7; plain float formatting would give 46,6).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.factsheet.sentences import (
    format_count,
    format_percentage,
    gemeente_sentence,
    interval_text,
    regio_sentence,
)

# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (46.7, "46,7"),
        (46.65, "46,7"),  # half away from zero on the decimal value, not the binary float
        (46.64, "46,6"),
        (0.05, "0,1"),
        (2.675, "2,7"),
        (35.0, "35,0"),
        (0, "0,0"),
        (100, "100,0"),
        (99.96, "100,0"),
    ],
)
def test_percentage_rounding_and_decimal_comma(value: float, expected: str) -> None:
    assert format_percentage(value) == expected


def test_plain_float_formatting_would_round_46_65_down() -> None:
    # Why the rule is stated: Python's own formatting gives the other answer.
    assert f"{46.65:.1f}" == "46.6"
    assert format_percentage(46.65) == "46,7"


@given(st.integers(min_value=0, max_value=1000))
def test_one_decimal_values_are_written_unchanged(tenths: int) -> None:
    # A release percentage has one decimal: the sentence must show exactly that value.
    assert format_percentage(tenths / 10) == f"{tenths // 10},{tenths % 10}"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_numbers_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        format_percentage(bad)


def test_counts_use_a_dutch_thousands_separator() -> None:
    assert format_count(180000) == "180.000"
    assert format_count(95) == "95"


# --- the gemeente sentence ---------------------------------------------------------------


def test_the_programmes_example() -> None:
    assert gemeente_sentence("Heerlen", 46.7, 35.1, [83.3, 23.2, 41.7, 50.0]) == (
        "De gemeente Heerlen laat een gemiddelde zien van 46,7% t.o.v. een landelijk gemiddelde "
        "van 35,1% met als hoogste wijkpercentage 83,3% en als laagste wijkpercentage 23,2%."
    )


def test_suppressed_wijken_never_give_the_minimum_or_maximum() -> None:
    # The withheld wijken (None) might hold the true extremes; only published ones count,
    # and the reader is told how many were left out.
    assert gemeente_sentence("Heerlen", 46.7, 35.1, [None, 70.0, None, 20.0, 40.0]) == (
        "De gemeente Heerlen laat een gemiddelde zien van 46,7% t.o.v. een landelijk gemiddelde "
        "van 35,1% met als hoogste wijkpercentage 70,0% en als laagste wijkpercentage 20,0%. "
        "Voor 2 wijken zijn te weinig leerlingen om te publiceren; die tellen niet mee voor het "
        "hoogste en laagste wijkpercentage."
    )


def test_one_withheld_wijk_is_singular() -> None:
    sentence = gemeente_sentence("Heerlen", 46.7, 35.1, [60.0, None, 30.0])
    assert sentence.endswith(
        "Voor 1 wijk zijn te weinig leerlingen om te publiceren; die telt niet mee voor het "
        "hoogste en laagste wijkpercentage."
    )


def test_a_withheld_wijkgroep_counts_all_its_wijken() -> None:
    # One unit withheld, but it is a wijkgroep of three wijken.
    sentence = gemeente_sentence(
        "Heerlen", 46.7, 35.1, [60.0, None, 30.0], wijken_niet_gepubliceerd=3
    )
    assert "Voor 3 wijken zijn te weinig leerlingen om te publiceren" in sentence


def test_wijken_withheld_to_protect_others_are_not_called_small() -> None:
    # A secondary suppression is about another cell's safety, not this wijk's size.
    mixed = gemeente_sentence("Heerlen", 46.7, 35.1, [60.0, None, None, 30.0], wijken_beschermd=1)
    assert (
        "Voor 1 wijk zijn te weinig leerlingen om te publiceren en van 1 wijk is het cijfer "
        "weggelaten om kleine aantallen elders te beschermen; die tellen niet mee"
    ) in mixed
    only = gemeente_sentence("Heerlen", 46.7, 35.1, [60.0, None, 30.0], wijken_beschermd=1)
    assert "Van 1 wijk is het cijfer weggelaten om kleine aantallen elders te beschermen" in only
    assert "te weinig" not in only


def test_a_gemeente_withheld_to_protect_others_says_so() -> None:
    assert gemeente_sentence(
        "Gorinchem", None, 35.1, [60.0, 30.0], gemeente_beschermd=True
    ).startswith(
        "In de gemeente Gorinchem is het gemiddelde niet gepubliceerd, om kleine aantallen "
        "elders te beschermen; het landelijk gemiddelde is 35,1%."
    )


def test_a_single_published_wijk_has_no_highest_or_lowest() -> None:
    assert gemeente_sentence("Urk", 40.0, 35.1, [40.0]) == (
        "De gemeente Urk laat een gemiddelde zien van 40,0% t.o.v. een landelijk gemiddelde van "
        "35,1%. Van één wijk is een percentage gepubliceerd (40,0%), dus er is geen hoogste of "
        "laagste wijkpercentage."
    )
    assert gemeente_sentence("Heerlen", 30.2, 28.4, [52.0, None, None]) == (
        "De gemeente Heerlen laat een gemiddelde zien van 30,2% t.o.v. een landelijk gemiddelde "
        "van 28,4%. Van één wijk is een percentage gepubliceerd (52,0%), dus er is geen hoogste "
        "of laagste wijkpercentage. Voor 2 wijken zijn te weinig leerlingen om te publiceren."
    )


def test_no_published_wijk() -> None:
    assert gemeente_sentence("Heerlen", 40.0, 38.2, [None, None]) == (
        "De gemeente Heerlen laat een gemiddelde zien van 40,0% t.o.v. een landelijk gemiddelde "
        "van 38,2%. Voor geen enkele wijk zijn genoeg leerlingen om een wijkpercentage te "
        "publiceren."
    )
    assert gemeente_sentence("Heerlen", 40.0, 38.2, []).endswith("Er zijn geen wijkcijfers.")


def test_a_suppressed_gemeente_and_nation() -> None:
    assert gemeente_sentence("Heerlen", None, 45.6, [None, None]) == (
        "In de gemeente Heerlen zijn te weinig leerlingen om een gemiddelde te publiceren; het "
        "landelijk gemiddelde is 45,6%. Voor geen enkele wijk zijn genoeg leerlingen om een "
        "wijkpercentage te publiceren."
    )
    # wijk figures can survive a withheld gemeente figure (secondary suppression)
    assert gemeente_sentence("Heerlen", None, 45.6, [50.0, 30.0]) == (
        "In de gemeente Heerlen zijn te weinig leerlingen om een gemiddelde te publiceren; het "
        "landelijk gemiddelde is 45,6%. Het hoogste wijkpercentage is 50,0% en het laagste "
        "wijkpercentage 30,0%."
    )
    assert gemeente_sentence("Heerlen", 46.7, None, [50.0, 30.0]).startswith(
        "De gemeente Heerlen laat een gemiddelde zien van 46,7% t.o.v. een landelijk gemiddelde "
        "dat niet gepubliceerd is met als hoogste"
    )


published = st.integers(min_value=0, max_value=1000).map(lambda t: t / 10)


@given(
    gemeente=st.none() | published,
    land=st.none() | published,
    wijken=st.lists(st.none() | published, max_size=30),
)
def test_sentences_only_quote_published_figures(
    gemeente: float | None, land: float | None, wijken: list[float | None]
) -> None:
    sentence = gemeente_sentence("Heerlen", gemeente, land, wijken)
    quoted = set(re.findall(r"(\d+,\d)%", sentence))
    allowed = {format_percentage(v) for v in [gemeente, land, *wijken] if v is not None}
    assert quoted <= allowed
    shown = [w for w in wijken if w is not None]
    if len(shown) >= 2:
        hoog = re.search(r"hoogste wijkpercentage (?:is )?(\d+,\d)%", sentence)
        laag = re.search(r"laagste wijkpercentage (?:is )?(\d+,\d)%", sentence)
        assert hoog and hoog.group(1) == format_percentage(max(shown))
        assert laag and laag.group(1) == format_percentage(min(shown))
    else:
        assert "hoogste wijkpercentage" not in sentence
    assert sentence.endswith(".")
    assert re.search(r"\d\.\d", sentence) is None  # never a decimal point


# --- the region sentence (opleidingsmobiliteit) ------------------------------------------


def test_region_sentence() -> None:
    assert regio_sentence("Zuid-Limburg", 41.2, 48.9) == (
        "De regio Zuid-Limburg laat een gemiddelde zien van 41,2% t.o.v. een landelijk "
        "gemiddelde van 48,9%."
    )


def test_region_sentence_for_a_withheld_group() -> None:
    assert regio_sentence("Zuid-Limburg", None, 35.0) == (
        "In de regio Zuid-Limburg zijn te weinig leerlingen om een gemiddelde te publiceren; het "
        "landelijk gemiddelde is 35,0%."
    )


def test_region_sentence_for_a_merged_region_pool() -> None:
    # A pool of regions carries the pool's name as the release gives it.
    assert regio_sentence("Zuid-Limburg en Midden-Limburg", 39.95, 48.9).startswith(
        "De regio Zuid-Limburg en Midden-Limburg laat een gemiddelde zien van 40,0% t.o.v."
    )


def test_interval_text() -> None:
    assert interval_text(44.3, 49.1) == "44,3% tot 49,1%"
    assert interval_text(None, 49.1) == ""
