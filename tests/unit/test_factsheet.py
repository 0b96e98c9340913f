"""The factsheet and comparison page, rendered from the hand-built release for GM0917 Heerlen
(``tests/support/heerlen.py``)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import xml.etree.ElementTree as ET
import zlib

import pytest

from api.factsheet import STATIC_DIR, factsheet_csp, render_comparison, render_factsheet
from api.factsheet.charts import PALETTE, contrast_ratio
from api.factsheet.maps import CLASS_COLOURS, MISSING
from kansenkluis.config import GEO_ATTRIBUTION
from kansenkluis.errors import UserError
from tests.support.heerlen import (
    HEERLEN,
    LANDGRAAF_WIJK,
    WG1,
    WIJKEN,
    heerlen_release,
    text_of,
)


@pytest.fixture(scope="module")
def factsheet() -> str:
    return render_factsheet(heerlen_release(), HEERLEN, "html").decode("utf-8")


def _section(page: str, indicator: str) -> str:
    match = re.search(rf'<section class="indicator" id="{indicator}".*?</section>', page, re.S)
    assert match, indicator
    return match.group(0)


def test_the_programmes_sentence_appears_exactly(factsheet: str) -> None:
    assert (
        "De gemeente Heerlen laat een gemiddelde zien van 46,7% t.o.v. een landelijk gemiddelde "
        "van 35,1% met als hoogste wijkpercentage 83,3% en als laagste wijkpercentage 23,2%."
    ) in text_of(factsheet)


def test_withheld_wijken_are_counted_in_wijken_not_units(factsheet: str) -> None:
    # heroverweging: WK091720 primary, WK091721 secondary -> two wijken unpublished, for two
    # reasons: the secondary one need not be small, so it is not said to be.
    section = text_of(_section(factsheet, "heroverweging"))
    assert (
        "Voor 1 wijk zijn te weinig leerlingen om te publiceren en van 1 wijk is het cijfer "
        "weggelaten om kleine aantallen elders te beschermen; die tellen niet mee"
    ) in section
    # opstroom havo: the suppressed wijkgroep hides both its members.
    opstroom = text_of(_section(factsheet, "opstroom"))
    assert "Voor 2 wijken zijn te weinig leerlingen om te publiceren" in opstroom


def test_single_none_and_suppressed_gemeente_wordings(factsheet: str) -> None:
    page = text_of(factsheet)
    assert (
        "De gemeente Heerlen laat een gemiddelde zien van 30,2% t.o.v. een landelijk gemiddelde "
        "van 28,4%. Van één wijk is een percentage gepubliceerd (52,0%), dus er is geen hoogste "
        "of laagste wijkpercentage. Voor 7 wijken zijn te weinig leerlingen om te publiceren."
    ) in page
    assert (
        "De gemeente Heerlen laat een gemiddelde zien van 40,0% t.o.v. een landelijk gemiddelde "
        "van 38,2%. Voor geen enkele wijk zijn genoeg leerlingen om een wijkpercentage te "
        "publiceren."
    ) in page
    assert (
        "In de gemeente Heerlen zijn te weinig leerlingen om een gemiddelde te publiceren; het "
        "landelijk gemiddelde is 45,6%."
    ) in page


def test_region_sentences_per_parents_group(factsheet: str) -> None:
    section = text_of(_section(factsheet, "opleidingsmobiliteit"))
    assert (
        "De regio Zuid-Limburg laat een gemiddelde zien van 24,8% t.o.v. een landelijk "
        "gemiddelde van 30,1%." in section
    )
    assert (
        "In de regio Zuid-Limburg zijn te weinig leerlingen om een gemiddelde te publiceren; het "
        "landelijk gemiddelde is 35,0%." in section
    )
    # The region's member gemeenten are named, from the release's own gemeente cells.
    assert "Heerlen, Landgraaf, Maastricht" in section
    # opleidingsmobiliteit has no wijk figures: no wijk sentence in its section.
    assert "wijkpercentage" not in section


def test_a_missing_breakdown_is_said_in_words(factsheet: str) -> None:
    assert "Deze release bevat geen cijfers over zittenblijven (leerlingen op het vwo)." in text_of(
        factsheet
    )


def test_other_gemeenten_never_show(factsheet: str) -> None:
    assert LANDGRAAF_WIJK[1] not in factsheet
    assert "99,9" not in factsheet


CHART = 'class="grafiek"'
MAP = 'class="kaart"'


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, re.S)


def test_every_indicator_has_an_accessible_chart_and_a_table(factsheet: str) -> None:
    charts = [s for s in _svgs(factsheet) if 'role="img"' in s and 'class="grafiek"' in s]
    # 7 wijk indicators with 11 breakdown charts (zittenblijven vwo missing) + 1 region chart
    assert len(charts) == 12
    # and one map per wijk indicator (its breakdowns side by side)
    maps = [s for s in _svgs(factsheet) if 'role="img"' in s and 'class="kaart"' in s]
    assert len(maps) == 7
    charts += maps
    for svg in charts:
        root = ET.fromstring(svg)
        ns = "{http://www.w3.org/2000/svg}"
        title, desc = root.find(f"{ns}title"), root.find(f"{ns}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert factsheet.count('<table class="cijfers">') == 12


def test_charts_show_withheld_and_pooled_wijken(factsheet: str) -> None:
    chart = next(s for s in _svgs(_section(factsheet, "heroverweging")) if CHART in s)
    text = text_of(chart)
    assert "te weinig leerlingen om te publiceren" in text
    assert "niet gepubliceerd (bescherming kleine aantallen)" in text
    # The wijkgroep is labelled with its name, lists both its wijken, and has one hatched bar
    # with one figure (one figure for two wijken, not two figures).
    assert f"wijkgroep {WG1[1]}" in text
    assert WIJKEN["WK091711"] in text and WIJKEN["WK091712"] in text
    assert text.count("41,7%") == 1
    # the legend swatch and the one bar of the wijkgroep
    assert chart.count('fill="url(#grafiek-heroverweging-totaal-arcering)"') == 2
    # Every wijk of the gemeente has a row; the other gemeente's wijk has none.
    for naam in WIJKEN.values():
        assert naam in text
    # Gemeente and nation lines with their values in the legend.
    assert "Gemeente Heerlen: 46,7%" in text and "Nederland: 35,1%" in text


def test_chart_bars_are_ordered_highest_first(factsheet: str) -> None:
    chart = next(s for s in _svgs(_section(factsheet, "heroverweging")) if CHART in s)
    shown = [p for p in re.findall(r">(\d+,\d)%<", chart)]
    values = [float(p.replace(",", ".")) for p in shown]
    assert values == sorted(values, reverse=True)
    assert values[0] == 83.3 and values[-1] == 23.2


def test_chart_colours_have_enough_contrast(factsheet: str) -> None:
    colours = set(re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"', factsheet))
    colours.discard("#ffffff")  # the background itself (stripes in the wijkgroep hatch)
    # Map areas are filled with class colours (ordered in lightness: tests/unit/test_maps.py)
    # and light grey; they carry no text, and the legend and table name every figure.
    colours -= CLASS_COLOURS | {MISSING}
    assert colours, "no colours found"
    for colour in colours | set(PALETTE):
        assert contrast_ratio(colour) >= 4.5, colour


def test_release_metadata_disclaimer_and_attribution(factsheet: str) -> None:
    page = text_of(factsheet)
    assert "R2022-heerlen-test" in page
    assert "ab12cd34ef56" + "0" * 52 in page
    assert "2022/23" in page
    assert html.unescape(GEO_ATTRIBUTION) in page
    assert "niet als oordeel over een school, wijk of gemeente" in page
    # every indicator's plain-Dutch explanation is there
    assert "Het deel van de 14-jarigen dat op havo of vwo zit" in page


def test_no_interval_without_dp_and_intervals_under_dp(factsheet: str) -> None:
    assert "95%-interval" not in factsheet
    noisy = text_of(render_factsheet(heerlen_release(dp=True), HEERLEN, "html").decode())
    assert "95%-interval: gemeente Heerlen: 44,3% tot 49,1%; Nederland: 32,7% tot 37,5%." in noisy
    assert "differential privacy" in noisy


def test_names_are_escaped() -> None:
    evil = heerlen_release(wijknaam={"WK091710": "<script>alert(1)</script> & co"})
    page = render_factsheet(evil, HEERLEN, "html").decode()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_the_inline_stylesheet_is_allowed_by_the_csp_hash(factsheet: str) -> None:
    styles = re.findall(r"<style>(.*?)</style>", factsheet, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in factsheet_csp()
    assert "<script" not in factsheet
    assert re.search(r"\sstyle=", factsheet) is None  # no style attributes: CSP blocks them


@pytest.mark.parametrize("code", ["GM0363", "GM0882x", ""])
def test_unknown_gemeente_is_a_user_error(code: str) -> None:
    with pytest.raises(UserError) as err:
        render_factsheet(heerlen_release(), code, "html")
    assert err.value.code == "GEMEENTE_NOT_FOUND"
    with pytest.raises(UserError) as err:
        render_comparison(heerlen_release(), code)
    assert err.value.code == "GEMEENTE_NOT_FOUND"


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's own text plus every Flate stream decompressed (WeasyPrint packs the page
    tree into compressed object streams)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end() :]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def test_pdf_renders_with_pages() -> None:
    pdf = render_factsheet(heerlen_release(), HEERLEN, "pdf")
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    objects = _pdf_objects(pdf)
    counts = [int(n) for n in re.findall(rb"/Type\s*/Pages\b.*?/Count\s+(\d+)", objects, re.S)]
    # the summary page and then every indicator on a page of its own
    assert counts and max(counts) >= 9
    # tagged PDF (structure tree), so that screen readers can follow it
    assert b"/StructTreeRoot" in objects


# --- comparison page ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def vergelijk() -> str:
    return render_comparison(heerlen_release(), HEERLEN, ["heroverweging", "opstroom"])


def test_comparison_has_every_wijk_and_only_chosen_indicators(vergelijk: str) -> None:
    rows = re.findall(r'<tr data-naam="[^"]*" data-code="([^"]+)"', vergelijk)
    assert sorted(rows) == sorted(WIJKEN)
    columns = re.findall(r'<th scope="col" data-kolom="([^"]+)"', vergelijk)
    assert columns == ["heroverweging-totaal", "opstroom-vmbo", "opstroom-havo"]
    assert "Aandeel bijstellingen" not in vergelijk
    assert LANDGRAAF_WIJK[1] not in vergelijk


def test_comparison_cells_carry_sortable_values(vergelijk: str) -> None:
    cell = re.search(
        r'data-code="WK091711">.*?<td data-kolom="heroverweging-totaal" data-waarde="([^"]*)"',
        vergelijk,
        re.S,
    )
    assert cell and cell.group(1) == "41.7"  # a pooled wijk sorts on its wijkgroep's figure
    withheld = re.search(
        r'data-code="WK091720">.*?<td data-kolom="heroverweging-totaal" data-waarde="([^"]*)"',
        vergelijk,
        re.S,
    )
    assert withheld and withheld.group(1) == ""
    header = re.search(r'data-kolom="heroverweging-totaal"[^>]*data-gemeente="([^"]*)"', vergelijk)
    assert header and header.group(1) == "46.7"


def test_comparison_needs_no_inline_code(vergelijk: str) -> None:
    # CSP default-src 'self': only same-origin files, no inline script, style or handlers.
    assert '<script src="/static/vergelijk.js" defer></script>' in vergelijk
    assert re.search(r"<script(?![^>]*\bsrc=)", vergelijk) is None
    assert "<style" not in vergelijk and re.search(r"\sstyle=", vergelijk) is None
    assert re.search(r"\son[a-z]+=", vergelijk) is None
    for href in re.findall(r'(?:src|href)="(/static/[^"]+)"', vergelijk):
        assert (STATIC_DIR / href.removeprefix("/static/")).is_file(), href


def test_comparison_shows_the_region_table_for_opleidingsmobiliteit() -> None:
    page = text_of(render_comparison(heerlen_release(), HEERLEN, ["opleidingsmobiliteit"]))
    assert "Opleidingsmobiliteit: regio Zuid-Limburg" in page
    assert "De regio Zuid-Limburg laat een gemiddelde zien van 67,3%" in page


def test_comparison_rejects_unknown_indicators() -> None:
    with pytest.raises(UserError) as err:
        render_comparison(heerlen_release(), HEERLEN, ["heroverweging", "geluk"])
    assert err.value.code == "INDICATOR_NOT_FOUND"
