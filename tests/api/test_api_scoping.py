"""What a regiocoördinator sees: their gemeenten, the wijken and wijkgroepen in them, the regions
containing them and the nation; and "not found" looks exactly like "not yours".

The expected sets come from the hand-written geography in apitest_support (GEMEENTE_OF,
REGIOS_OF), not from the API code.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth import create_token
from api.schemas import CellOut
from disclosure.release import ReleaseCell
from kansenkluis.domain import CellStatus, GeoLevel
from tests.support.api_release import GEMEENTE_OF, REGIOS_OF, RELEASE_ID, build_cells

ALL_GEMEENTEN = ("GM0917", "GM1883", "GM0363")
CELLS = build_cells()


def expected_keys(scope: frozenset[str] | None, **filters) -> set[tuple[str, str, str]]:
    def visible(code: str) -> bool:
        if scope is None or code == "NL":
            return True
        gemeente = GEMEENTE_OF[code]
        if gemeente is not None:
            return gemeente in scope
        return any(code in REGIOS_OF[g] for g in scope)

    out = set()
    for c in CELLS:
        if not visible(c.geo_code):
            continue
        if any(
            v is not None
            and str(getattr(c, k).value if k in ("geo_level", "status") else getattr(c, k))
            != str(v)
            for k, v in filters.items()
        ):
            continue
        out.add((c.indicator, c.breakdown, c.geo_code))
    return out


def fetch_all(client, headers, **params) -> list[dict]:
    items, offset = [], 0
    while True:
        r = client.get(
            f"/releases/{RELEASE_ID}/cells",
            headers=headers,
            params={
                **{k: v for k, v in params.items() if v is not None},
                "limit": 7,
                "offset": offset,
            },
        )
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if page["next_offset"] is None:
            assert len(items) == page["total"]
            return items
        offset = page["next_offset"]


@pytest.fixture(scope="session")
def scoped_headers(api_home):
    """One regiocoordinator token per non-empty subset of the three gemeenten."""
    db = Path(api_home[0]) / "releases" / "releases.sqlite"
    out = {}
    for n in range(1, len(ALL_GEMEENTEN) + 1):
        for scope in combinations(ALL_GEMEENTEN, n):
            token = create_token(
                db,
                "regiocoordinator",
                scope,
                name="scope-" + "-".join(scope),
                person="scope-" + "-".join(scope),
            )
            out[frozenset(scope)] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.mark.parametrize(
    ("who", "scope"),
    [
        ("heerlen", frozenset({"GM0917"})),
        ("limburg", frozenset({"GM0917", "GM1883"})),
        ("operator", None),
        ("auditor", None),
        ("outputchecker", None),
    ],
)
def test_each_token_sees_exactly_its_cells(client, as_, who, scope):
    got = {(c["indicator"], c["breakdown"], c["geo_code"]) for c in fetch_all(client, as_(who))}
    assert got == expected_keys(scope)


def test_heerlen_sees_the_regions_containing_heerlen_and_no_other_gemeente(client, as_):
    codes = {c["geo_code"] for c in fetch_all(client, as_("heerlen"))}
    assert {"GM0917", "WG091701", "WK091713", "RP-ZL", "NL"} <= codes
    assert not codes & {"GM1883", "WK188300", "GM0363", "WK036300", "RP-AM"}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scope=st.sets(st.sampled_from(ALL_GEMEENTEN), min_size=1).map(frozenset),
    indicator=st.sampled_from([None, "heroverweging", "opstroom", "opleidingsmobiliteit"]),
    geo_level=st.sampled_from([None, *(lvl.value for lvl in GeoLevel)]),
    status=st.sampled_from([None, *(s.value for s in CellStatus)]),
)
def test_scoped_filtered_queries_match_the_geography(
    client, scoped_headers, scope, indicator, geo_level, status
):
    got = fetch_all(
        client, scoped_headers[scope], indicator=indicator, geo_level=geo_level, status=status
    )
    keys = {(c["indicator"], c["breakdown"], c["geo_code"]) for c in got}
    assert keys == expected_keys(scope, indicator=indicator, geo_level=geo_level, status=status)


@pytest.mark.parametrize("gemeente", ["GM0917", "GM1883"])
def test_gemeente_filter_gives_the_gemeente_and_its_wijken(client, as_, gemeente):
    got = fetch_all(client, as_("limburg"), gemeente=gemeente)
    assert {c["geo_code"] for c in got} == {
        code
        for code, g in GEMEENTE_OF.items()
        if g == gemeente and code in {c.geo_code for c in CELLS}
    }


def _same_404(a, b):
    assert a.status_code == b.status_code == 404
    assert a.json() == b.json()
    assert a.headers["content-type"] == b.headers["content-type"]


@pytest.mark.parametrize(
    "url",
    [
        "/releases/" + RELEASE_ID + "/cells?gemeente={g}",
        "/releases/" + RELEASE_ID + "/factsheets/{g}",
        "/gemeenten/{g}/vergelijk?release=" + RELEASE_ID,
        "/gemeenten/{g}/trend?release=" + RELEASE_ID,
    ],
)
def test_not_yours_looks_exactly_like_not_there(client, as_, url):
    # GM1883 exists in the release but is not Heerlen's; GM9999 exists nowhere.
    not_yours = client.get(url.format(g="GM1883"), headers=as_("heerlen"))
    not_there = client.get(url.format(g="GM9999"), headers=as_("heerlen"))
    _same_404(not_yours, not_there)
    assert not_yours.json()["code"] == "GEMEENTE_NOT_FOUND"
    # ... and the gemeente is there for someone allowed to see it.
    assert client.get(url.format(g="GM1883"), headers=as_("limburg")).status_code == 200


def test_another_coordinators_request_looks_like_no_request(client, as_):
    body = {
        "indicator": "heroverweging",
        "breakdown": "totaal",
        "years": [2022],
        "gemeenten": ["GM0917"],
    }
    r = client.post("/requests", json=body, headers=as_("heerlen"))
    assert r.status_code == 201
    rid = r.json()["id"]
    _same_404(
        client.get(f"/requests/{rid}", headers=as_("limburg")),
        client.get("/requests/req_0000000000000000", headers=as_("limburg")),
    )
    listed = client.get("/requests", headers=as_("limburg")).json()["items"]
    assert rid not in {i["id"] for i in listed}
    assert client.get(f"/requests/{rid}", headers=as_("outputchecker")).status_code == 200


def test_unknown_release_and_unknown_path_are_plain_404s(client, as_):
    r = client.get("/releases/no-such-release/cells", headers=as_("operator"))
    assert r.status_code == 404 and r.json()["code"] == "RELEASE_NOT_FOUND"


def test_pooling_map_is_scoped(client, as_):
    def codes(who):
        r = client.get(f"/releases/{RELEASE_ID}/pooling", headers=as_(who))
        assert r.status_code == 200
        return {g["code"] for g in r.json()["groups"]}

    assert codes("heerlen") == {"WG091701", "RP-ZL"}
    assert codes("operator") == {"WG091701", "RP-ZL", "RP-AM"}


def test_withheld_cells_carry_status_and_no_numbers(client, as_):
    cells = fetch_all(client, as_("operator"))
    withheld = [c for c in cells if c["status"] != "published"]
    assert {c["status"] for c in withheld} == {
        "suppressed_primary",
        "suppressed_secondary",
        "pooled",
    }
    for c in withheld:
        assert c["numerator"] is None and c["denominator"] is None and c["percentage"] is None
    # The rule behind a suppression would tell "group disclosure" apart: never sent.
    assert all("rule" not in c for c in cells)


@given(
    num=st.integers(0, 10**6),
    den=st.integers(0, 10**6),
    status=st.sampled_from([s for s in CellStatus if s != CellStatus.PUBLISHED]),
)
def test_cell_schema_drops_numbers_of_withheld_cells_even_if_a_release_had_them(num, den, status):
    cell = ReleaseCell(
        indicator="heroverweging",
        breakdown="totaal",
        schooljaar=2022,
        geo_level=GeoLevel.WIJK,
        geo_code="WK091713",
        geo_name="Wijk 13",
        numerator=num,
        denominator=den,
        percentage=12.5,
        status=status,
        pooled_into="WG091701" if status == CellStatus.POOLED else None,
        noise_scale=1.0,
        ci_low=1.0,
        ci_high=2.0,
    )
    out = CellOut.of(cell).model_dump()
    assert out["numerator"] is None and out["denominator"] is None
    assert out["percentage"] is None and out["ci_low"] is None and out["ci_high"] is None


def test_run_report_only_for_checkers_auditors_and_operators(client, as_):
    def report(who):
        return client.get(f"/releases/{RELEASE_ID}", headers=as_(who)).json()["run_report"]

    assert report("heerlen") is None
    assert report("auditor") == {"pupils_total": 123456, "pupils_without_adres": 321}


def test_pagination_is_bounded(client, as_):
    r = client.get(f"/releases/{RELEASE_ID}/cells", params={"limit": 1001}, headers=as_("operator"))
    assert r.status_code == 422 and r.json()["code"] == "INVALID_REQUEST"
    r = client.get(
        f"/releases/{RELEASE_ID}/cells",
        params={"limit": 5, "offset": 10_000},
        headers=as_("operator"),
    )
    assert r.status_code == 200 and r.json()["items"] == [] and r.json()["next_offset"] is None
