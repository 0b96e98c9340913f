"""The trend series: three school years, scoped like the cells route (in-process client).

The home holds the hand-built release of ``tests.support.api_release`` (2022) and two earlier
releases made from it: 2020 with other figures, and 2021 in which Heerlen's heroverweging is
withheld.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from disclosure.log import Signer, policy_hash, seal
from disclosure.release import ProtectedDraft, Release, ReleaseCell
from disclosure.store import ReleaseStore
from indicators.specs import INDICATORS
from kansenkluis.domain import CellStatus, IndicatorId, Rule
from tests.support.api_release import POLICY, POOLING, RELEASE_ID, Tokens, build_cells, make_home
from tests.support.server import in_process_client


def _earlier(year: int, withhold_heerlen: bool) -> Release:
    cells: list[ReleaseCell] = []
    for cell in build_cells():
        update: dict[str, object] = {"schooljaar": year}
        published = cell.status is CellStatus.PUBLISHED
        if published and cell.numerator is not None and cell.denominator is not None:
            # other figures each year: the numerator moves by (2022 - year) * 5
            num = max(0, cell.numerator - (2022 - year) * 5)
            update |= {"numerator": num, "percentage": round(100 * num / cell.denominator, 1)}
        if withhold_heerlen and cell.geo_code == "GM0917" and cell.indicator == "heroverweging":
            update |= {
                "status": CellStatus.SUPPRESSED_PRIMARY,
                "numerator": None,
                "denominator": None,
                "percentage": None,
                "rule": Rule.MIN_CELL,
            }
        cells.append(cell.model_copy(update=update))
    draft = ProtectedDraft(
        schooljaar=year,
        policy=POLICY,
        policy_hash=policy_hash(POLICY),
        percentage_basis="rounded",
        cells=tuple(cells),
        pooling=POOLING,
    )
    return seal(
        draft,
        release_id=f"rel-{year}-api-test",
        created_at=f"{year + 2}-05-01T12:00:00+00:00",
        data_fingerprint="sha256:" + "ab" * 32,
        geography_fingerprint="cd" * 32,
        code_version="0.1.0-test",
        run_report={},
        signer=Signer(Ed25519PrivateKey.generate()),
        commitment_key=b"k" * 32,
    )


@pytest.fixture(scope="module")
def trend_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, Tokens]]:
    home = tmp_path_factory.mktemp("trend-home")
    tokens = make_home(home)
    with ReleaseStore(home / "releases" / "releases.sqlite") as store:
        store.save(_earlier(2020, withhold_heerlen=False))
        store.save(_earlier(2021, withhold_heerlen=True))
    with in_process_client(home) as client:
        yield client, tokens


Get = Callable[..., httpx.Response]


@pytest.fixture(scope="module")
def get(trend_client: tuple[httpx.Client, Tokens]) -> Get:
    client, tokens = trend_client

    def call(path: str, who: str = "heerlen") -> httpx.Response:
        return client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})

    return call


def _series(body: dict, indicator: str, breakdown: str) -> dict:
    return next(
        s for s in body["series"] if s["indicator"] == indicator and s["breakdown"] == breakdown
    )


def test_one_call_gives_every_school_year_with_gaps_for_withheld_figures(get: Get) -> None:
    r = get(f"/gemeenten/GM0917/trend?release={RELEASE_ID}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["schooljaar"], x["release_id"]) for x in body["releases"]] == [
        (2020, "rel-2020-api-test"),
        (2021, "rel-2021-api-test"),
        (2022, RELEASE_ID),
    ]
    points = _series(body, "heroverweging", "totaal")["points"]
    assert [p["schooljaar"] for p in points] == [2020, 2021, 2022]
    # 2022: 25 of 120; 2020: 25 - 10 = 15 of 120
    assert [p["cell"]["percentage"] for p in points] == [12.5, None, 20.8]
    withheld = points[1]["cell"]
    assert withheld["status"] == "suppressed_primary"
    assert withheld["numerator"] is None and withheld["denominator"] is None
    land = [round(100 * (9000 - k * 5) / 40000, 1) for k in (2, 1, 0)]
    assert [p["land"]["percentage"] for p in points] == land
    # opleidingsmobiliteit: the region Heerlen's figure is published in
    regio = _series(body, "opleidingsmobiliteit", "totaal")
    assert regio["geo_level"] == "regio"
    assert {p["cell"]["geo_code"] for p in regio["points"]} == {"RP-ZL"}
    # only the gemeente, its region and the nation: no wijk, no other gemeente
    assert "WK0917" not in r.text and "GM1883" not in r.text and "RP-AM" not in r.text


def test_the_trend_is_scoped_like_the_cells(get: Get) -> None:
    not_yours = get(f"/gemeenten/GM1883/trend?release={RELEASE_ID}")
    not_there = get(f"/gemeenten/GM9999/trend?release={RELEASE_ID}")
    assert not_yours.status_code == not_there.status_code == 404
    assert not_yours.json() == not_there.json()
    assert get(f"/gemeenten/GM1883/trend?release={RELEASE_ID}", who="limburg").status_code == 200
    one = get(f"/gemeenten/GM0917/trend?release={RELEASE_ID}&indicator=opstroom").json()
    assert {(s["indicator"], s["breakdown"]) for s in one["series"]} == {
        ("opstroom", b) for b in INDICATORS[IndicatorId.OPSTROOM].breakdowns
    }


def test_the_served_factsheet_carries_the_trend(get: Get) -> None:
    r = get(f"/releases/{RELEASE_ID}/factsheets/GM0917")
    assert r.status_code == 200
    page = r.text
    assert (
        "In 2022/23 laat de gemeente Heerlen een gemiddelde zien van 20,8% t.o.v. 12,5% in "
        "2020/21. Het landelijk gemiddelde is 22,5% t.o.v. "
    ) in page
    for rid in ("rel-2020-api-test", "rel-2021-api-test", RELEASE_ID):
        assert rid in page
    comparison = get(f"/gemeenten/GM0917/vergelijk?release={RELEASE_ID}&indicator=heroverweging")
    assert comparison.status_code == 200
    assert "Ontwikkeling over de schooljaren" in comparison.text
    assert 'class="trend"' in comparison.text


def test_trend_needs_a_token(trend_client: tuple[httpx.Client, Tokens]) -> None:
    client, _ = trend_client
    r = client.get(f"/gemeenten/GM0917/trend?release={RELEASE_ID}")
    assert r.status_code == 401


def test_the_overview_is_scoped_and_served_as_page_and_pdf(get: Get) -> None:
    url = f"/overzicht?release={RELEASE_ID}&indicator=heroverweging"
    mine = get(url)
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("text/html")
    assert "style-src 'sha256-" in mine.headers["content-security-policy"]
    # Heerlen's 25 of 120; Sittard-Geleen's 30 of 115 is not Heerlen's coordinator's to see
    # (its name stays on the map: geography is public, its figure is not there).
    sittard = f"{100 * 30 / 115:.1f}".replace(".", ",") + "%"
    assert "20,8%" in mine.text and sittard not in mine.text
    everyone = get(url, who="outputchecker").text
    assert "20,8%" in everyone and sittard in everyone
    pdf = get(url + "&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    bad = get(f"/overzicht?release={RELEASE_ID}&indicator=opstroom&breakdown=vwo")
    assert bad.status_code == 422 and bad.json()["code"] == "OVERVIEW_BAD_BREAKDOWN"
