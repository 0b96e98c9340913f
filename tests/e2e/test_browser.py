"""The factsheet and the comparison page in a real browser (Debian's Chromium, headless).

Both pages are rendered from the hand-built Heerlen release of ``tests/support/heerlen.py``
(with two earlier school years made from it, for the trends)
into a temporary folder and served by a local HTTP server with the Content-Security-Policy the
API will send: the factsheet's own hash policy, and ``default-src 'self'`` for the comparison
page, whose script and CSS come from ``/static/``. The test fails on any CSP violation, script
error or request that leaves the server. Screenshots go to a temporary folder, or to
``docs/img/`` for the README when ``KLUIS_SCREENSHOTS=1`` (so a test run leaves the checkout as
it was).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response

from api.factsheet import STATIC_DIR, factsheet_csp, render_comparison, render_factsheet
from tests.support.heerlen import (
    HEERLEN,
    WIJKEN,
    heerlen_geography,
    heerlen_history,
    heerlen_release,
)

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
DOCS_IMG = REPO / "docs" / "img"

OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/img/ when asked for (KLUIS_SCREENSHOTS=1), else a temp folder."""
    if os.environ.get("KLUIS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        return DOCS_IMG
    return tmp_path_factory.mktemp("screenshots")


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no Chromium at /usr/bin/chromium: install Debian's chromium (make browser)",
    ),
]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        if self.path.startswith("/factsheet"):
            self.send_header("Content-Security-Policy", factsheet_csp())
        else:
            self.send_header("Content-Security-Policy", "default-src 'self'")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    release = heerlen_release()
    history = heerlen_history()  # three school years: the pages carry trends
    (root / "factsheet.html").write_bytes(render_factsheet(release, HEERLEN, "html", history))
    (root / "vergelijk.html").write_text(
        render_comparison(
            release, HEERLEN, ["heroverweging", "bijstelling", "opstroom", "afstroom"], history
        ),
        encoding="utf-8",
    )
    shutil.copytree(STATIC_DIR, root / "static")
    handler = functools.partial(_Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_at(browser: Browser, site: str) -> Iterator[OpenPage]:
    """Open a page; afterwards assert it made no outside request and hit no CSP or JS error."""
    pages: list[BrowserContext] = []
    problems: list[str] = []

    def on_console(m: ConsoleMessage) -> None:
        # Failed loads are judged by their response (the browser's own favicon request may
        # 404); everything else the console reports is a problem.
        if m.type in ("error", "warning") and not m.text.startswith("Failed to load resource"):
            problems.append(m.text)

    def on_response(r: Response) -> None:
        if r.status >= 400 and not r.url.endswith("/favicon.ico"):
            problems.append(f"{r.status} for {r.url}")

    def on_request(r: Request) -> None:
        if not r.url.startswith(site):
            problems.append(f"outside request {r.url}")

    def open_page(name: str, width: int = 1100, height: int = 1400) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="nl-NL")
        page = context.new_page()
        page.on("console", on_console)
        page.on("response", on_response)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", on_request)
        page.goto(f"{site}/{name}")
        pages.append(context)
        return page

    yield open_page
    for context in pages:
        context.close()
    assert problems == []


def test_factsheet_shows_sentences_and_charts(page_at: OpenPage, shots: Path) -> None:
    page = page_at("factsheet.html")
    assert page.title().startswith("Factsheet gelijke kansen – gemeente Heerlen")
    text = page.locator("main").inner_text()
    assert (
        "De gemeente Heerlen laat een gemiddelde zien van 46,7% t.o.v. een landelijk gemiddelde "
        "van 35,1% met als hoogste wijkpercentage 83,3% en als laagste wijkpercentage 23,2%."
    ) in text
    assert "De regio Zuid-Limburg laat een gemiddelde zien van 41,2%" in text

    chart = page.locator('#heroverweging svg.grafiek[role="img"]')
    assert chart.count() == 1
    box = chart.bounding_box()
    assert box and box["width"] > 400 and box["height"] > 150
    assert "Staafdiagram van aandeel heroverwegingen per wijk in Heerlen" in (
        chart.locator("desc").text_content() or ""
    )
    # The stylesheet is inline and allowed by its CSP hash: the header band is styled.
    header_bg = page.eval_on_selector(".kop", "el => getComputedStyle(el).backgroundColor")
    assert header_bg == "rgb(29, 79, 145)"

    # The data table is one click away.
    page.locator("#heroverweging details summary").first.click()
    table = page.locator("#heroverweging table.cijfers").first
    assert table.is_visible()
    assert "te weinig leerlingen om te publiceren" in table.inner_text()

    page.locator("#heroverweging details").first.evaluate("el => el.open = false")
    bottom = page.eval_on_selector(
        "#heroverweging figure:not(.kaartfiguur)",
        "el => el.getBoundingClientRect().bottom + window.scrollY",
    )
    page.screenshot(
        path=str(shots / "factsheet.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1100, "height": bottom + 60},
    )


def _row_names(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#vergelijking tbody tr:not([hidden]) th", "els => els.map(e => e.textContent.trim())"
    )


def test_comparison_sorts_filters_and_compares(page_at: OpenPage, shots: Path) -> None:
    page = page_at("vergelijk.html", width=1500, height=1000)
    # The script ran under default-src 'self': the controls are shown.
    assert page.locator("#bediening").is_visible()
    assert page.locator("#status").inner_text() == "8 van de 8 wijken zichtbaar."

    heroverweging = page.locator('button[data-sorteer="heroverweging-totaal"]')
    heroverweging.click()
    names = _row_names(page)
    # Highest first; wijken without a figure last; the pooled wijken carry their group's 41,7%.
    assert names[:3] == [
        "Wijk 10 Maria Gewanden - Terschuren",
        "Wijk 22 Heksenberg",
        "Wijk 14 De Koumen",
    ]
    assert set(names[-2:]) == {"Wijk 20 Vrieheide - De Stack", "Wijk 21 Heerlerheide - Passart"}
    header = page.locator('th[data-kolom="heroverweging-totaal"]')
    assert header.get_attribute("aria-sort") == "descending"
    heroverweging.click()
    assert _row_names(page)[0] == "Wijk 13 Nieuw Lotbroek"
    assert set(_row_names(page)[-2:]) == {
        "Wijk 20 Vrieheide - De Stack",
        "Wijk 21 Heerlerheide - Passart",
    }
    assert header.get_attribute("aria-sort") == "ascending"

    page.locator('button[data-sorteer="naam"]').click()
    assert _row_names(page) == sorted(WIJKEN.values())

    # Difference with the nation: 83,3 - 35,1.
    page.get_by_label("verschil met Nederland").check()
    cell = page.locator('tr[data-code="WK091710"] td[data-kolom="heroverweging-totaal"] .waarde')
    assert cell.inner_text() == "+48,2"
    page.get_by_label("percentage", exact=True).check()
    assert cell.inner_text() == "83,3%"

    page.get_by_label("Zoek een wijk").fill("mariarade")
    assert _row_names(page) == ["Wijk 11 Mariarade"]
    page.get_by_label("Zoek een wijk").fill("")

    # Hiding a column hides its header and cells.
    page.locator('input[name="kolom"][value="afstroom-vwo"]').uncheck()
    assert page.locator('th[data-kolom="afstroom-vwo"]').is_hidden()
    page.locator('input[name="kolom"][value="afstroom-vwo"]').check()

    # Only bijstelling: all but one wijk lack a figure, and can be hidden.
    for box in page.locator('input[name="kolom"]').all():
        if box.get_attribute("value") != "bijstelling-totaal":
            box.uncheck()
    page.get_by_label("Verberg wijken zonder gepubliceerd cijfer").check()
    assert _row_names(page) == ["Wijk 10 Maria Gewanden - Terschuren"]

    # Back to the full view, sorted on heroverweging, for the README screenshot.
    page.get_by_label("Verberg wijken zonder gepubliceerd cijfer").uncheck()
    for box in page.locator('input[name="kolom"]').all():
        box.check()
    page.locator('button[data-sorteer="heroverweging-totaal"]').click()
    # The map lights up the wijkgroep's rows: point at it for the screenshot.
    page.locator('figure[data-kaart="heroverweging-totaal"] path[data-code="WG091701"]').hover()
    bottom = page.evaluate(
        "Math.max(...['.tabelrand', '.kaartpaneel'].map(s => "
        "document.querySelector(s).getBoundingClientRect().bottom)) + window.scrollY"
    )
    page.screenshot(
        path=str(shots / "vergelijk.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1500, "height": bottom + 40},
    )


# --- maps ------------------------------------------------------------------------------------

_AREAS = """svg => Array.from(svg.querySelectorAll('path.gebied')).map(a => ({
    code: a.getAttribute('data-code'),
    wijken: a.getAttribute('data-wijken').split(';'),
    klasse: a.getAttribute('data-klasse'),
    status: a.getAttribute('data-status'),
    fill: getComputedStyle(a).fill,
    box: a.getBoundingClientRect().width * a.getBoundingClientRect().height,
}))"""
_LEGEND = """svg => Object.fromEntries(Array.from(svg.querySelectorAll('rect.klasse')).map(
    r => [r.getAttribute('data-klasse'), getComputedStyle(r).fill]))"""


def test_factsheet_map_draws_each_wijk_once_in_its_class(page_at: OpenPage, shots: Path) -> None:
    page = page_at("factsheet.html")
    svg = page.locator("#heroverweging svg.kaart")
    assert svg.count() == 1 and svg.is_visible()
    areas = svg.evaluate(_AREAS)
    legend = svg.evaluate(_LEGEND)
    drawn = sorted(code for a in areas for code in a["wijken"])
    assert drawn == sorted(heerlen_geography())
    assert all(a["box"] > 0 for a in areas), "every area is painted with a size"
    for area in areas:
        if area["klasse"]:
            assert area["fill"] == legend[area["klasse"]], area["code"]
        elif area["status"] != "missing":
            # withheld: a hatch pattern, never a class colour
            assert area["fill"].startswith("url("), area["code"]
            assert area["fill"] not in legend.values()
    assert {a["status"] for a in areas} >= {"suppressed_primary", "suppressed_secondary"}
    page.locator("#heroverweging figure.kaartfiguur").screenshot(path=str(shots / "kaart.png"))
    # The trend below it: three school years, the withheld one a gap in the gemeente's line.
    trend = page.locator("#heroverweging .trendblok")
    assert trend.locator("svg.trend circle").count() == 2
    trend.screenshot(path=str(shots / "trend.png"))


def test_comparison_map_and_table_light_up_together(page_at: OpenPage) -> None:
    page = page_at("vergelijk.html", width=1500, height=1100)
    figure = page.locator('figure[data-kaart="heroverweging-totaal"]')
    assert figure.is_visible()
    assert page.locator('figure[data-kaart="opstroom-vmbo"]').is_hidden()

    # Keyboard: from the map chooser, Tab reaches the first wijk of the map.
    page.locator("#kaartkeuze").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('data-wijken')")
    assert focused, "Tab lands on a map area"
    lit = page.eval_on_selector_all(
        "#vergelijking tbody tr.uitgelicht", "rows => rows.map(r => r.dataset.code)"
    )
    assert sorted(lit) == sorted(c for c in focused.split(";") if c in WIJKEN)

    # Focus on a table row lights up its wijkgroep on the map.
    page.locator('tr[data-code="WK091712"] th').focus()
    group = figure.locator('path.gebied[data-code="WG091701"]')
    assert "uitgelicht" in (group.get_attribute("class") or "")
    assert figure.locator("path.markering").get_attribute("d") == group.get_attribute("d")
    lit = page.eval_on_selector_all(
        "#vergelijking tbody tr.uitgelicht", "rows => rows.map(r => r.dataset.code)"
    )
    assert sorted(lit) == ["WK091711", "WK091712"]

    # Hover on the map lights up the row; the chooser switches the map.
    figure.locator('path.gebied[data-code="WK091710"]').hover()
    assert "uitgelicht" in (page.locator('tr[data-code="WK091710"]').get_attribute("class") or "")
    page.locator("#kaartkeuze").select_option("opstroom-havo")
    assert page.locator('figure[data-kaart="opstroom-havo"]').is_visible()
    assert figure.is_hidden()
