"""The factsheet and comparison page, rendered from a hand-built release for GM0917 Heerlen.

The release below is written out by hand, cell by cell, the way disclosure control would hand it
over: published cells with rounded counts, pooled wijken that point at their wijkgroep,
suppressed cells without numbers, and opleidingsmobiliteit pooled into the region Zuid-Limburg.
``tests/e2e/test_browser.py`` loads ``heerlen_release`` from this file.
"""

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
from disclosure.release import DPParams, PoolingGroup, Release, ReleaseCell
from kansenkluis.config import GEO_ATTRIBUTION
from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import UserError

PUB, POOL = CellStatus.PUBLISHED, CellStatus.POOLED
PRIM, SEC = CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY

HEERLEN = "GM0917"
#: eight real CBS wijken of Heerlen (kansenkluis/data/geo/wijken.csv)
WIJKEN = {
    "WK091710": "Wijk 10 Maria Gewanden - Terschuren",
    "WK091711": "Wijk 11 Mariarade",
    "WK091712": "Wijk 12 Hoensbroek - De Dem",
    "WK091713": "Wijk 13 Nieuw Lotbroek",
    "WK091714": "Wijk 14 De Koumen",
    "WK091720": "Wijk 20 Vrieheide - De Stack",
    "WK091721": "Wijk 21 Heerlerheide - Passart",
    "WK091722": "Wijk 22 Heksenberg",
}
WG1 = ("WG091701", "Mariarade en Hoensbroek - De Dem")
WG2 = ("WG091702", "Vrieheide en Heerlerheide")

# Per indicator and breakdown: gemeente, nation, and per wijk (status, percentage, denominator)
# or ("pooled", wijkgroep code). Wijkgroep rows are keyed by their code.
SERIES: dict[tuple[str, str], dict[str, tuple]] = {
    ("heroverweging", "totaal"): {
        "gemeente": (PUB, 46.7, 400),
        "land": (PUB, 35.1, 180000),
        "WK091710": (PUB, 83.3, 30),
        "WK091711": ("pooled", WG1[0]),
        "WK091712": ("pooled", WG1[0]),
        WG1[0]: (PUB, 41.7, 60),
        "WK091713": (PUB, 23.2, 95),
        "WK091714": (PUB, 50.0, 40),
        "WK091720": (PRIM,),
        "WK091721": (SEC,),
        "WK091722": (PUB, 61.5, 65),
    },
    ("bijstelling", "totaal"): {
        "gemeente": (PUB, 30.2, 185),
        "land": (PUB, 28.4, 63000),
        "WK091710": (PUB, 52.0, 25),
        **{w: (PRIM,) for w in WIJKEN if w != "WK091710"},
    },
    ("stapelen_vo", "totaal"): {
        "gemeente": (PUB, 40.0, 75),
        "land": (PUB, 38.2, 21000),
        **{w: (PRIM,) for w in WIJKEN},
    },
    ("stapelen_mbo", "totaal"): {
        "gemeente": (PRIM,),
        "land": (PUB, 45.6, 52000),
        **{w: (PRIM,) for w in WIJKEN},
    },
    ("opstroom", "vmbo"): {
        "gemeente": (PUB, 8.4, 600),
        "land": (PUB, 6.9, 150000),
        **{w: (PUB, p, 70) for w, p in zip(WIJKEN, (12.9, 4.3, 8.6, 10.0, 5.7, 7.1, 11.4, 7.1))},
    },
    ("opstroom", "havo"): {
        "gemeente": (PUB, 3.5, 285),
        "land": (PUB, 4.1, 90000),
        "WK091710": (PUB, 2.9, 35),
        "WK091711": (PUB, 5.0, 40),
        "WK091712": (PUB, 3.3, 30),
        "WK091713": (PUB, 4.0, 50),
        "WK091714": (PUB, 2.5, 40),
        "WK091720": ("pooled", WG2[0]),
        "WK091721": ("pooled", WG2[0]),
        WG2[0]: (PRIM,),
        "WK091722": (PUB, 3.1, 65),
    },
    ("afstroom", "vmbo"): {
        "gemeente": (PUB, 9.8, 600),
        "land": (PUB, 7.7, 150000),
        **{w: (PUB, p, 70) for w, p in zip(WIJKEN, (8.6, 14.3, 10.0, 7.1, 11.4, 12.9, 8.6, 5.7))},
    },
    ("afstroom", "havo"): {
        "gemeente": (PUB, 11.2, 285),
        "land": (PUB, 10.3, 90000),
        **{w: (PUB, p, 35) for w, p in zip(WIJKEN, (11.4, 14.3, 8.6, 11.4, 5.7, 17.1, 11.4, 8.6))},
    },
    ("afstroom", "vwo"): {
        "gemeente": (PUB, 6.1, 165),
        "land": (PUB, 6.6, 70000),
        **{w: (PRIM,) for w in WIJKEN},
    },
    ("zittenblijven", "vmbo"): {
        "gemeente": (PUB, 4.5, 600),
        "land": (PUB, 3.9, 150000),
        **{w: (PUB, p, 70) for w, p in zip(WIJKEN, (4.3, 5.7, 2.9, 4.3, 7.1, 5.7, 4.3, 1.4))},
    },
    ("zittenblijven", "havo"): {
        "gemeente": (PUB, 6.0, 285),
        "land": (PUB, 5.2, 90000),
        **{w: (PUB, p, 35) for w, p in zip(WIJKEN, (5.7, 8.6, 5.7, 2.9, 8.6, 5.7, 5.7, 2.9))},
    },
    # zittenblijven vwo is left out on purpose: a breakdown the release does not hold.
}
REGIO = ("RG39", "Zuid-Limburg")
OPLEIDINGSMOBILITEIT = {
    "totaal": ((PUB, 41.2, 2950), (PUB, 48.9, 190000)),
    "max_mbo2": ((PUB, 24.8, 690), (PUB, 30.1, 41000)),
    "mbo3_4": ((PUB, 38.9, 1100), (PUB, 44.0, 72000)),
    "hoger_onderwijs": ((PUB, 67.3, 880), (PUB, 72.5, 64000)),
    "onbekend": ((PRIM,), (PUB, 35.0, 13000)),
}
OTHER_GEMEENTEN = {"GM0882": "Landgraaf", "GM0935": "Maastricht"}
#: a wijk of another gemeente: it must never show on Heerlen's pages
LANDGRAAF_WIJK = ("WK088201", "Wijk 01 Schaesberg-Centrum")


def _cell(
    indicator: str,
    breakdown: str,
    level: GeoLevel,
    code: str,
    name: str,
    spec: tuple,
    parent: str | None,
    dp: bool,
) -> ReleaseCell:
    common = dict(
        indicator=indicator,
        breakdown=breakdown,
        schooljaar=2022,
        geo_level=level,
        geo_code=code,
        geo_name=name,
        parent_code=parent,
    )
    if spec[0] == "pooled":
        rule = Rule.POOLED_REGIO if level is GeoLevel.GEMEENTE else Rule.POOLED_WIJK
        return ReleaseCell(**common, status=POOL, pooled_into=spec[1], rule=rule)
    if spec[0] is not PUB:
        rule = Rule.MIN_CELL if spec[0] is PRIM else Rule.SECONDARY
        return ReleaseCell(**common, status=spec[0], rule=rule)
    _, percentage, denominator = spec
    numerator = 5 * round(denominator * percentage / 500)
    noisy = (
        dict(noise_scale=2.0, ci_low=round(percentage - 2.4, 1), ci_high=round(percentage + 2.4, 1))
        if dp
        else {}
    )
    return ReleaseCell(
        **common,
        status=PUB,
        numerator=numerator,
        denominator=denominator,
        percentage=percentage,
        **noisy,
    )


def heerlen_release(*, dp: bool = False, wijknaam: dict[str, str] | None = None) -> Release:
    """A release with Heerlen's eight wijken, two wijkgroepen and the region Zuid-Limburg."""
    names = {**WIJKEN, **(wijknaam or {})}
    cells: list[ReleaseCell] = []
    for (indicator, breakdown), series in SERIES.items():
        for key, spec in series.items():
            if key == "gemeente":
                cells.append(
                    _cell(
                        indicator,
                        breakdown,
                        GeoLevel.GEMEENTE,
                        HEERLEN,
                        "Heerlen",
                        spec,
                        REGIO[0],
                        dp,
                    )
                )
            elif key == "land":
                cells.append(
                    _cell(indicator, breakdown, GeoLevel.LAND, "NL", "Nederland", spec, None, dp)
                )
            elif key.startswith("WG"):
                name = dict((WG1, WG2))[key]
                cells.append(
                    _cell(indicator, breakdown, GeoLevel.WIJKGROEP, key, name, spec, HEERLEN, dp)
                )
            else:
                cells.append(
                    _cell(indicator, breakdown, GeoLevel.WIJK, key, names[key], spec, HEERLEN, dp)
                )
        # Another gemeente in the same release, with its own (high) wijk figure.
        cells.append(
            _cell(
                indicator, breakdown, GeoLevel.WIJK, *LANDGRAAF_WIJK, (PUB, 99.9, 50), "GM0882", dp
            )
        )
    for breakdown, (regio, land) in OPLEIDINGSMOBILITEIT.items():
        for code, name in {HEERLEN: "Heerlen", **OTHER_GEMEENTEN}.items():
            cells.append(
                _cell(
                    "opleidingsmobiliteit",
                    breakdown,
                    GeoLevel.GEMEENTE,
                    code,
                    name,
                    ("pooled", REGIO[0]),
                    REGIO[0],
                    dp,
                )
            )
        cells.append(
            _cell("opleidingsmobiliteit", breakdown, GeoLevel.REGIO, *REGIO, regio, None, dp)
        )
        cells.append(
            _cell(
                "opleidingsmobiliteit", breakdown, GeoLevel.LAND, "NL", "Nederland", land, None, dp
            )
        )
    pooling = (
        PoolingGroup(
            code=WG1[0],
            name=WG1[1],
            level=GeoLevel.WIJKGROEP,
            members=("WK091711", "WK091712"),
            gemeentecode=HEERLEN,
        ),
        PoolingGroup(
            code=WG2[0],
            name=WG2[1],
            level=GeoLevel.WIJKGROEP,
            members=("WK091720", "WK091721"),
            gemeentecode=HEERLEN,
        ),
        PoolingGroup(
            code=REGIO[0], name=REGIO[1], level=GeoLevel.REGIO, members=(HEERLEN, *OTHER_GEMEENTEN)
        ),
    )
    return Release(
        id="R2022-heerlen-test",
        schooljaar=2022,
        created_at="2025-03-14T09:30:00+00:00",
        data_fingerprint="d" * 64,
        geography_fingerprint="g" * 64,
        policy={"min_cell": 10},
        policy_hash="ab12cd34ef56" + "0" * 52,
        code_version="0.1.0",
        dp=DPParams(
            epsilon=1.0,
            mechanism="discrete_laplace",
            weights={"groep8": 1.0},
            scales={"groep8": 2.0},
        )
        if dp
        else None,
        percentage_basis="exact",
        cells=tuple(cells),
        pooling=pooling,
    )


def earlier_release(year: int, shift: float, withhold: tuple[str, ...] = ()) -> Release:
    """Heerlen's release as if for an earlier school year: every published percentage moved by
    ``shift`` points, and the gemeente cells of the ``withhold`` indicators suppressed."""
    current = heerlen_release()
    cells = []
    for cell in current.cells:
        update: dict[str, object] = {"schooljaar": year}
        if cell.status is PUB and cell.percentage is not None:
            update["percentage"] = round(min(100.0, max(0.0, cell.percentage + shift)), 1)
        if cell.geo_level is GeoLevel.GEMEENTE and cell.indicator in withhold:
            update |= {"status": PRIM, "rule": Rule.MIN_CELL, "percentage": None}
            update |= {"numerator": None, "denominator": None}
        cells.append(cell.model_copy(update=update))
    return current.model_copy(
        update={
            "id": f"R{year}-heerlen-test",
            "schooljaar": year,
            "created_at": f"{year + 2}-03-14T09:30:00+00:00",
            "cells": tuple(cells),
        }
    )


def heerlen_history() -> tuple:
    """Three school years for the trends: 2020 (-4 points), 2021 (heroverweging withheld for
    Heerlen, -2 points), and the 2022 release itself."""
    from api.factsheet import jaar_of_release

    return (
        jaar_of_release(earlier_release(2020, -4.0), HEERLEN),
        jaar_of_release(earlier_release(2021, -2.0, withhold=("heroverweging",)), HEERLEN),
        jaar_of_release(heerlen_release(), HEERLEN),
    )


def heerlen_geography() -> tuple[str, ...]:
    """All 23 wijken of Heerlen in the shipped 2025 geography (the release has cells for 8)."""
    from api.factsheet.geo import geography

    return geography().wijken_of(HEERLEN)


def text_of(markup: str) -> str:
    """Visible text with tags removed and whitespace collapsed, for sentence look-ups."""
    no_tags = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(no_tags))


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
    # heroverweging: WK091720 primary, WK091721 secondary -> two wijken unpublished.
    section = text_of(_section(factsheet, "heroverweging"))
    assert "Voor 2 wijken zijn te weinig leerlingen om te publiceren" in section
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
