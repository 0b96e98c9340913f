"""Wijk maps: the shipped geometry, the classes, and the maps in the factsheet and comparison page.

The release is the hand-built Heerlen release of ``tests/support/heerlen.py`` (eight of Heerlen's 23
wijken have cells, two wijkgroepen, primary and secondary suppression).
"""

from __future__ import annotations

import csv
import html
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.factsheet import geo, maps, render_comparison, render_factsheet
from api.factsheet.charts import _luminance
from kansenkluis.config import GEO_ATTRIBUTION, geo_dir
from tests.support.heerlen import HEERLEN, LANDGRAAF_WIJK, WG1, WG2, heerlen_release

SVG = "{http://www.w3.org/2000/svg}"


# --- the geometry ------------------------------------------------------------------------


def test_geometry_matches_the_shipped_wijk_list() -> None:
    g = geo.geography()
    with (geo_dir() / "wijken.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["wijkcode"] for r in rows} == set(g.wijken)
    assert all(g.wijken[r["wijkcode"]].gemeentecode == r["gemeentecode"] for r in rows)
    assert len(g.by_gemeente) == 342
    assert len(g.wijken_of(HEERLEN)) == 23


def _ring_points(ring: geo.Ring) -> list[tuple[float, float]]:
    g = geo.geography()
    points: list[tuple[float, float]] = []
    for ref in ring:
        arc = g.arcs[ref if ref >= 0 else ~ref]
        seq = arc if ref >= 0 else arc[::-1]
        if points:
            assert tuple(seq[0]) == points[-1], "arcs of a ring must join end to start"
        points.extend(tuple(p) for p in seq)
    return points


def _area(points: list[tuple[float, float]]) -> float:
    return 0.5 * sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1])
    )


def test_every_gemeente_outline_closes_and_keeps_its_area() -> None:
    g = geo.geography()
    with (geo_dir() / "gemeenten.csv").open(encoding="utf-8") as f:
        area_km2 = {r["gemeentecode"]: float(r["area_km2"]) for r in csv.DictReader(f)}
    for gemeente, codes in g.by_gemeente.items():
        rings = geo.merged_rings(frozenset(codes))
        total = 0.0
        for ring in rings:
            points = _ring_points(ring)
            assert points[0] == points[-1], gemeente
            total += _area(points)
        # Rings keep their winding, so holes subtract: the outline encloses the wijken's area.
        assert abs(abs(total) / 1e6 - area_km2[gemeente]) <= 0.01 + 0.001 * area_km2[gemeente]


def test_a_merged_wijkgroep_drops_its_inner_boundary() -> None:
    pair = frozenset({"WK091711", "WK091712"})  # neighbours in Heerlen
    merged = geo.merged_rings(pair)
    own = [ring for code in pair for ring in geo.merged_rings(frozenset({code}))]
    inner = {abs(r) for ring in own for r in ring} - {abs(r) for ring in merged for r in ring}
    assert len(merged) == 1 and inner, "one outline, and the shared arcs are gone"


# --- classes -----------------------------------------------------------------------------


@given(st.lists(st.floats(0, 100).map(lambda v: round(v, 1)), min_size=1, max_size=40))
def test_classes_cover_every_value_with_round_bounds(values: list[float]) -> None:
    k = maps.klassen(values)
    assert k is not None
    assert 1 <= len(k.colours) <= maps.MAX_CLASSES
    assert 0 <= k.breaks[0] <= min(values) and max(values) <= k.breaks[-1] <= 100
    for v in values:
        i = k.index(v)
        low, high = k.breaks[i], k.breaks[i + 1]
        last = i == len(k.colours) - 1
        assert low <= v and (v < high or (last and v <= high))


def test_class_labels_say_where_a_bound_belongs() -> None:
    k = maps.klassen([23.2, 41.7, 50.0, 61.5, 83.3])
    assert k is not None
    assert k.breaks == (20.0, 40.0, 60.0, 80.0, 100.0)
    assert k.label(0) == "20 tot 40%" and k.label(3) == "80 tot en met 100%"
    assert k.index(40.0) == 1 and k.index(39.9) == 0 and k.index(100.0) == 3
    assert maps.klassen([None, None]) is None


def test_class_colours_darken_step_by_step() -> None:
    # A sequential scheme ordered in lightness reads without colour vision and in grey print.
    for scheme in maps.SCHEMES.values():
        lum = [_luminance(c) for c in scheme]
        assert lum == sorted(lum, reverse=True) and len(set(lum)) == len(lum)


# --- maps in the pages -------------------------------------------------------------------


@pytest.fixture(scope="module")
def factsheet() -> str:
    return render_factsheet(heerlen_release(), HEERLEN, "html").decode()


def _map_of(page: str, indicator: str) -> ET.Element:
    section = re.search(rf'<section class="indicator" id="{indicator}".*?</section>', page, re.S)
    assert section
    svg = re.search(r'<svg[^>]*class="kaart".*?</svg>', section.group(0), re.S)
    assert svg
    return ET.fromstring(svg.group(0))


def _areas(svg: ET.Element) -> list[ET.Element]:
    return [p for p in svg.iter(f"{SVG}path") if p.get("class") == "gebied"]


def test_the_map_draws_every_wijk_of_the_gemeente_once(factsheet: str) -> None:
    svg = _map_of(factsheet, "heroverweging")
    drawn = [c for a in _areas(svg) for c in a.get("data-wijken", "").split(";")]
    assert sorted(drawn) == sorted(geo.geography().wijken_of(HEERLEN))
    # the wijkgroep is one area with its figure written on it
    groups = [a for a in _areas(svg) if a.get("data-code") == WG1[0]]
    assert len(groups) == 1 and groups[0].get("data-wijken") == "WK091711;WK091712"
    assert "41,7%" in "".join(svg.itertext())
    assert LANDGRAAF_WIJK[0] not in ET.tostring(svg, encoding="unicode")


def test_map_colours_follow_the_legend_classes(factsheet: str) -> None:
    svg = _map_of(factsheet, "heroverweging")
    legend = {
        r.get("data-klasse"): (float(r.get("data-van", "")), float(r.get("data-tot", "")), r)
        for r in svg.iter(f"{SVG}rect")
        if r.get("class") == "klasse"
    }
    assert legend
    published = [a for a in _areas(svg) if a.get("data-waarde")]
    assert len(published) == 5  # four wijken and one wijkgroep
    for area in published:
        low, high, swatch = legend[area.get("data-klasse")]
        assert low <= float(area.get("data-waarde", "")) <= high
        assert area.get("fill") == swatch.get("fill")


def test_withheld_wijken_are_hatched_with_their_reason(factsheet: str) -> None:
    svg = _map_of(factsheet, "heroverweging")
    status = {a.get("data-code"): a for a in _areas(svg)}
    assert status["WK091720"].get("fill") == "url(#kaart-heroverweging-p1)"
    assert status["WK091721"].get("fill") == "url(#kaart-heroverweging-p2)"
    text = "".join(svg.itertext())
    assert "te weinig leerlingen om te publiceren" in text
    assert "niet gepubliceerd (bescherming kleine aantallen)" in text
    # 15 of Heerlen's wijken have no cell in this hand-built release: grey, said in the legend
    assert "geen cijfer in deze release" in text
    assert sum(a.get("data-status") == "missing" for a in _areas(svg)) == 15
    # gemeente and nation in the legend, attribution under the map
    assert "Gemeente Heerlen: 46,7%" in text and "Nederland: 35,1%" in text
    section = re.search(
        r'<section class="indicator" id="heroverweging".*?</section>', factsheet, re.S
    )
    assert section and GEO_ATTRIBUTION in html.unescape(section.group(0))


def test_breakdowns_share_one_figure_and_one_set_of_classes(factsheet: str) -> None:
    svg = _map_of(factsheet, "opstroom")
    codes = [c for a in _areas(svg) for c in a.get("data-wijken", "").split(";")]
    assert len(codes) == 2 * 23  # vmbo and havo (vwo has no cells in this release)
    # the suppressed wijkgroep of opstroom havo is one hatched area
    group = [a for a in _areas(svg) if a.get("data-code") == WG2[0]]
    assert len(group) == 1 and group[0].get("data-status") == "suppressed_primary"


def test_comparison_maps_are_focusable_and_name_their_wijk() -> None:
    page = render_comparison(heerlen_release(), HEERLEN, ["heroverweging"])
    svg = ET.fromstring(re.search(r'<svg[^>]*class="kaart".*?</svg>', page, re.S).group(0))  # type: ignore[union-attr]
    assert svg.get("role") == "group"
    areas = _areas(svg)
    assert areas and all(a.get("tabindex") == "0" for a in areas)
    labels = {a.get("data-code"): a.get("aria-label") for a in areas}
    assert labels["WK091710"] == "Wijk 10 Maria Gewanden - Terschuren: 83,3%"
    assert (
        labels["WK091720"] == "Wijk 20 Vrieheide - De Stack: te weinig leerlingen om te publiceren"
    )
    assert GEO_ATTRIBUTION in html.unescape(page)
