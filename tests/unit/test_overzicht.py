"""The programme's overview: all 342 gemeenten on one map, and the gemeenten per COROP region.

Rendered from the hand-built Heerlen release of ``tests/support/heerlen.py``: Heerlen has gemeente
figures, and opleidingsmobiliteit is published for the region pool Zuid-Limburg (Heerlen,
Landgraaf, Maastricht). Every other gemeente has no cell in that release.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from api.factsheet import factsheet_csp, geo, maps, render_overview
from kansenkluis.config import GEO_ATTRIBUTION
from kansenkluis.errors import UserError
from tests.support.heerlen import REGIO, heerlen_release, text_of

SVG = "{http://www.w3.org/2000/svg}"


def _page(
    indicator: str,
    visible: Callable[[str], bool] | None = None,
    breakdown: str | None = None,
) -> str:
    release = heerlen_release()
    return render_overview(release, indicator, breakdown, "html", visible).decode()


def _areas(page: str) -> list[ET.Element]:
    svg = ET.fromstring(re.search(r'<svg[^>]*class="kaart".*?</svg>', page, re.S).group(0))  # type: ignore[union-attr]
    return [p for p in svg.iter(f"{SVG}path") if p.get("class") == "gebied"]


def test_the_map_draws_every_gemeente_once() -> None:
    page = _page("heroverweging")
    areas = _areas(page)
    assert len(areas) == 342
    drawn = [w for a in areas for w in a.get("data-wijken", "").split(";")]
    assert sorted(drawn) == sorted(geo.geography().wijken)  # every wijk once: no gaps, no overlap
    by_code = {a.get("data-code"): a for a in areas}
    heerlen = by_code["GM0917"]
    assert heerlen.get("data-waarde") == "46.7" and heerlen.get("fill") in maps.CLASS_COLOURS
    assert by_code["GM0363"].get("data-status") == "missing"
    text = text_of(page)
    assert "Nederland: 35,1%" in text and html.unescape(GEO_ATTRIBUTION) in text
    assert "1 van de 342 gemeenten hebben een gepubliceerd cijfer" in text


def test_gemeenten_are_listed_per_corop_region() -> None:
    page = _page("heroverweging")
    sections = re.findall(r'<section class="corop" id="(CR\d\d)"', page)
    assert len(sections) == 40
    zuid = re.search(r'<section class="corop" id="CR39".*?</section>', page, re.S)
    assert zuid, "Heerlen lies in Zuid-Limburg (CR39)"
    rows = re.findall(
        r'<th scope="row">([^<]+) <span class="groep">(GM\d{4})</span>', zuid.group(0)
    )
    assert rows[0] == ("Heerlen", "GM0917"), "highest first; gemeenten without a figure after"
    assert {code for _, code in rows} == {
        code for code, g in geo.gemeenten().items() if g.corop_code == "CR39"
    }
    # on paper the same rows as a list (cheaper to lay out), in the same order
    printed = re.findall(r"<li><strong>([^<]+)</strong> (GM\d{4}):", zuid.group(0))
    assert printed == rows
    assert "<strong>Heerlen</strong> GM0917: 46,7% van 400 leerlingen" in zuid.group(0)


def test_region_pools_are_one_area_with_their_figure() -> None:
    page = _page("opleidingsmobiliteit", breakdown="max_mbo2")
    pools = [a for a in _areas(page) if a.get("data-code") == REGIO[0]]
    assert len(pools) == 1
    members = {w[:6].replace("WK", "GM") for w in pools[0].get("data-wijken", "").split(";")}
    assert members == {"GM0917", "GM0882", "GM0935"}
    assert pools[0].get("data-waarde") == "24.8"
    assert "cijfer van de regio Zuid-Limburg" in page


def test_a_scoped_caller_sees_only_its_gemeenten() -> None:
    page = _page("heroverweging", visible=lambda code: code == "GM0917")
    areas = _areas(page)
    assert len(areas) == 342  # the country is still drawn ...
    hidden = [a for a in areas if a.get("data-status") == maps.BUITEN]
    assert len(hidden) == 341 and all(a.get("fill") == "#ffffff" for a in hidden)
    # ... but only Heerlen's region has a table, with Heerlen alone
    assert re.findall(r'<section class="corop" id="(CR\d\d)"', page) == ["CR39"]
    assert "Landgraaf" not in re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
    pooled = _page("opleidingsmobiliteit", visible=lambda code: code == "GM0917")
    assert "Maastricht" not in re.sub(r"<svg.*?</svg>", "", pooled, flags=re.S)


def test_the_overview_is_a_self_contained_document_under_the_factsheet_csp() -> None:
    page = _page("heroverweging", visible=lambda code: code == "GM0917")
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert len(styles) == 1 and f"'sha256-{digest}'" in factsheet_csp()
    assert "<script" not in page and re.search(r"\sstyle=", page) is None
    pdf = render_overview(heerlen_release(), "heroverweging", None, "pdf", lambda c: c == "GM0917")
    assert pdf.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("indicator", "breakdown", "code"),
    [("geluk", None, "INDICATOR_NOT_FOUND"), ("opstroom", "vwo", "OVERVIEW_BAD_BREAKDOWN")],
)
def test_unknown_indicator_or_breakdown_is_a_user_error(
    indicator: str, breakdown: str | None, code: str
) -> None:
    with pytest.raises(UserError) as err:
        _page(indicator, breakdown=breakdown)
    assert err.value.code == code
