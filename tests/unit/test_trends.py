"""Trends over school years: the sentence, the series with gaps, the store look-up, the pages.

The releases are the hand-built Heerlen release of ``tests/support/heerlen.py`` (2022) and two
earlier years made from it (``earlier_release``): 2020 with every figure 4 points lower, 2021 2
points lower and Heerlen's heroverweging withheld.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from api.factsheet import jaar_of_release, load_history, render_comparison, render_factsheet
from api.factsheet.sentences import trend_sentence
from api.factsheet.trends import punten
from disclosure.store import ReleaseStore
from kansenkluis.domain import GeoLevel
from kansenkluis.errors import UserError
from tests.support.heerlen import (
    HEERLEN,
    LANDGRAAF_WIJK,
    earlier_release,
    heerlen_history,
    heerlen_release,
    text_of,
)

JAREN = ("2020/21", "2021/22", "2022/23")


# --- the sentence ------------------------------------------------------------------------


def test_the_trend_sentence_compares_the_last_year_with_the_first() -> None:
    assert trend_sentence("gemeente Heerlen", JAREN, (42.7, 44.7, 46.7), (31.1, 33.1, 35.1)) == (
        "In 2022/23 laat de gemeente Heerlen een gemiddelde zien van 46,7% t.o.v. 42,7% in "
        "2020/21. Het landelijk gemiddelde is 35,1% t.o.v. 31,1% in 2020/21."
    )


def test_a_withheld_year_is_skipped_never_read_as_zero() -> None:
    # first year withheld: the comparison is with the earliest published one
    assert trend_sentence("gemeente Heerlen", JAREN, (None, 44.7, 46.7), (31.1, 33.1, 35.1)) == (
        "In 2022/23 laat de gemeente Heerlen een gemiddelde zien van 46,7% t.o.v. 44,7% in "
        "2021/22. Het landelijk gemiddelde is 35,1% t.o.v. 31,1% in 2020/21."
    )
    assert trend_sentence("gemeente Heerlen", JAREN, (42.7, 44.7, None), (31.1, 33.1, 35.1)) == (
        "In 2022/23 zijn in de gemeente Heerlen te weinig leerlingen om een gemiddelde te "
        "publiceren; in 2020/21 was het gemiddelde 42,7%. Het landelijk gemiddelde is 35,1% "
        "t.o.v. 31,1% in 2020/21."
    )
    assert trend_sentence("regio Zuid-Limburg", JAREN, (None, None, 41.2), (None, None, 48.9)) == (
        "In 2022/23 laat de regio Zuid-Limburg een gemiddelde zien van 41,2%; voor eerdere "
        "schooljaren is geen gemiddelde gepubliceerd."
    )
    assert trend_sentence("gemeente Heerlen", JAREN, (None, None, None), (1.0, 2.0, 3.0)) == (
        "In de gemeente Heerlen zijn in deze schooljaren te weinig leerlingen om een gemiddelde "
        "te publiceren."
    )


# --- the series --------------------------------------------------------------------------


def test_points_follow_the_years_with_gaps() -> None:
    history = heerlen_history()
    got = punten(history, "heroverweging", "totaal", GeoLevel.GEMEENTE)
    assert [(p.schooljaar, p.eigen, p.land) for p in got] == [
        (2020, 42.7, 31.1),
        (2021, None, 33.1),
        (2022, 46.7, 35.1),
    ]
    assert got[1].status == "suppressed_primary"
    # a school year without any release is a gap too (here: 2021 left out)
    gap = punten((history[0], history[2]), "heroverweging", "totaal", GeoLevel.GEMEENTE)
    assert [(p.schooljaar, p.eigen, p.status) for p in gap][1] == (2021, None, "missing")
    # opleidingsmobiliteit is read from the region pool the gemeente's cell points at
    regio = punten(history, "opleidingsmobiliteit", "max_mbo2", GeoLevel.REGIO)
    assert [p.eigen for p in regio] == [20.8, 22.8, 24.8]


def test_history_reads_the_newest_release_of_each_earlier_year(tmp_path: Path) -> None:
    with ReleaseStore(tmp_path / "releases.sqlite") as store:
        shown = heerlen_release()
        first_2021 = earlier_release(2021, -2.0)
        second_2021 = earlier_release(2021, -3.0).model_copy(
            update={"id": "R2021-second", "created_at": "2024-06-01T00:00:00+00:00"}
        )
        for release in (
            earlier_release(2016, -9.0),  # outside the five school years of 2022
            earlier_release(2020, -4.0),
            second_2021,
            first_2021,
            shown,
        ):
            store.save(release)
        history = load_history(store, shown, HEERLEN)
    assert [(j.schooljaar, j.release_id) for j in history] == [
        (2020, "R2020-heerlen-test"),
        (2021, "R2021-second"),
        (2022, shown.id),
    ]
    # what the store gives equals what the release itself says
    assert history[0].cells == jaar_of_release(earlier_release(2020, -4.0), HEERLEN).cells
    # the gemeente's, its region's and the nation's cells only: never a wijk
    levels = {c.geo_level for j in history for c in j.cells.values()}
    assert levels == {GeoLevel.GEMEENTE, GeoLevel.LAND, GeoLevel.REGIO}


# --- the pages ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def factsheet() -> str:
    html = render_factsheet(heerlen_release(), HEERLEN, "html", heerlen_history())
    return html.decode()


def _trend_svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r'<svg[^>]*class="trend".*?</svg>', page, re.S)]


def test_every_indicator_gets_a_trend_with_labelled_values(factsheet: str) -> None:
    svgs = _trend_svgs(factsheet)
    assert len(svgs) == 8  # seven wijk indicators and opleidingsmobiliteit
    text = text_of(factsheet)
    assert "In 2022/23 zijn in de gemeente Heerlen te weinig leerlingen" not in text, (
        "2022 is published"
    )
    assert (
        "In 2022/23 laat de gemeente Heerlen een gemiddelde zien van 46,7% t.o.v. 42,7% in "
        "2020/21. Het landelijk gemiddelde is 35,1% t.o.v. 31,1% in 2020/21."
    ) in text
    heroverweging = "".join(svgs[0].itertext())
    for label in ("42,7", "46,7", "31,1", "33,1", "35,1", "2020/21", "2021/22", "2022/23"):
        assert label in heroverweging
    # the withheld 2021 figure is not drawn as a value: the gemeente line breaks there
    circles = svgs[0].findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 2
    assert "Lijndiagram" in (svgs[0].find("{http://www.w3.org/2000/svg}desc").text or "")  # type: ignore[union-attr]
    # the verantwoording names every release the trends read
    for rid in ("R2020-heerlen-test", "R2021-heerlen-test", "R2022-heerlen-test"):
        assert rid in text


def test_one_school_year_gives_no_trend() -> None:
    page = render_factsheet(heerlen_release(), HEERLEN, "html").decode()
    assert 'class="trend"' not in page and "t.o.v. 42,7%" not in page
    single = (jaar_of_release(heerlen_release(), HEERLEN),)
    assert (
        'class="trend"' not in render_factsheet(heerlen_release(), HEERLEN, "html", single).decode()
    )


def test_the_comparison_page_shows_the_trends_of_its_indicators() -> None:
    page = render_comparison(
        heerlen_release(), HEERLEN, ["heroverweging", "opstroom"], heerlen_history()
    )
    assert len(_trend_svgs(page)) == 2
    assert "Ontwikkeling over de schooljaren" in page


def test_a_gemeentes_part_of_the_release_renders_the_same_factsheet(tmp_path: Path) -> None:
    from api.factsheet import load_release

    with ReleaseStore(tmp_path / "releases.sqlite") as store:
        full = heerlen_release()
        store.save(full)
        part = load_release(store, full.id, HEERLEN)
        # Landgraaf's wijk is not read; everything Heerlen's factsheet shows is
        assert LANDGRAAF_WIJK[0] not in {c.geo_code for c in part.cells}
        assert len(part.cells) < len(full.cells)
        assert render_factsheet(part, HEERLEN, "html") == render_factsheet(full, HEERLEN, "html")
        with pytest.raises(UserError) as err:
            load_release(store, "R-none", HEERLEN)
        assert err.value.code == "RELEASE_NOT_FOUND"
