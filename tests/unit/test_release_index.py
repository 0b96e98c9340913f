"""One release index (api.release_index) for the API routes and the factsheets.

The release here is made by hand with the cases on which two separate indexes once disagreed:
a wijk without ``parent_code`` whose wijk number has a capital, a wijkgroep without
``parent_code`` (its gemeente only in the pooling map, or only in its code), a gemeente that is
only a member of a region pool. Every route that takes a gemeente must answer the same for each
of them as the renderer and the cells query do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.auth import create_token
from api.factsheet.render import render_factsheet_html, wijk_rijen
from api.release_index import ReleaseIndex
from disclosure import log
from disclosure.log import policy_hash
from disclosure.release import PoolingGroup, ProtectedDraft, Release, ReleaseCell
from disclosure.store import ReleaseStore
from kansenkluis.config import Settings
from kansenkluis.domain import CellStatus, GeoLevel
from kansenkluis.errors import UserError
from tests.support.builders import POOLED, PUB, release_cell, seal_draft
from tests.support.server import in_process_client

POLICY = {"version": 1, "min_cell": 10, "group_disclosure_min": 20, "rounding_base": 5}
W, WG, G, R, L = GeoLevel.WIJK, GeoLevel.WIJKGROEP, GeoLevel.GEMEENTE, GeoLevel.REGIO, GeoLevel.LAND
HER = ("heroverweging", "totaal")
MOB = ("opleidingsmobiliteit", "totaal")

#: gemeente -> (covered by the release, its wijk codes in the release)
EXPECTED: dict[str, tuple[bool, set[str]]] = {
    # parent_code on its gemeente cell and one wijk; one wijk (with a capital) and one
    # wijkgroep without parent_code
    "GM0001": (True, {"WK000100", "WK0001A1", "WK000102", "WK000103"}),
    # no gemeente cell: a wijk without parent_code names it in its code
    "GM0002": (True, {"WK000200"}),
    # no gemeente cell: a wijkgroep without parent_code, absent from the pooling map
    "GM0003": (True, set()),
    # only a member of region pool RG01: no figure of its own
    "GM0004": (False, set()),
    # nowhere
    "GM0005": (False, set()),
}


def _cell(
    what: tuple[str, str],
    level: GeoLevel,
    code: str,
    status: CellStatus = PUB,
    *,
    parent: str | None = None,
    pooled_into: str | None = None,
) -> ReleaseCell:
    counts = (10, 40) if status is PUB else (None, None)
    return release_cell(
        level,
        code,
        status,
        *counts,
        indicator=what[0],
        breakdown=what[1],
        parent=parent,
        pooled_into=pooled_into,
    )


def edge_release(signer: log.Signer) -> Release:
    cells = [
        _cell(HER, W, "WK000100", parent="GM0001"),
        _cell(HER, W, "WK0001A1"),
        _cell(HER, W, "WK000102", POOLED, parent="GM0001", pooled_into="WG0001_01"),
        _cell(HER, W, "WK000103", POOLED, parent="GM0001", pooled_into="WG0001_01"),
        _cell(HER, WG, "WG0001_01"),
        _cell(HER, G, "GM0001", parent="RG01"),
        _cell(HER, W, "WK000200"),
        _cell(HER, WG, "WG0003_01"),
        _cell(HER, L, "NL"),
        _cell(MOB, G, "GM0001", POOLED, parent="RG01", pooled_into="RG01"),
        _cell(MOB, R, "RG01"),
        _cell(MOB, L, "NL"),
    ]
    pooling = (
        PoolingGroup(
            code="WG0001_01",
            name="naam WK000102 + naam WK000103",
            level=WG,
            members=("WK000102", "WK000103"),
            gemeentecode="GM0001",
        ),
        PoolingGroup(code="RG01", name="Regio", level=R, members=("GM0001", "GM0004")),
    )
    draft = ProtectedDraft(
        schooljaar=2022,
        policy=POLICY,
        policy_hash=policy_hash(POLICY),
        percentage_basis="rounded",
        cells=tuple(cells),
        pooling=pooling,
    )
    return seal_draft(draft, signer, release_id="rel-edge")


@pytest.fixture(scope="module")
def release(signer: log.Signer) -> Release:
    return edge_release(signer)


@pytest.fixture(scope="module")
def index(release: Release) -> ReleaseIndex:
    return ReleaseIndex(release)


@pytest.mark.parametrize("gemeente", sorted(EXPECTED))
def test_coverage_cells_and_factsheet_rows_agree(
    index: ReleaseIndex, release: Release, gemeente: str
) -> None:
    covered, wijken = EXPECTED[gemeente]
    assert index.covers(gemeente) is covered
    if not covered:
        with pytest.raises(UserError) as refused:
            index.query(None, gemeente=gemeente)
        assert refused.value.code == "GEMEENTE_NOT_FOUND"
        with pytest.raises(UserError) as not_rendered:
            render_factsheet_html(release, gemeente, index=index)
        assert not_rendered.value.code == "GEMEENTE_NOT_FOUND"
        return
    queried = {c.geo_code for c in index.query(None, gemeente=gemeente, geo_level="wijk")}
    rows, _, _ = wijk_rijen(index, *HER, gemeente)
    assert queried == {r.code for r in rows if not r.code.startswith("WG")} == wijken
    assert "<html" in render_factsheet_html(release, gemeente, index=index)


def test_a_wijkgroep_without_parent_code_belongs_to_its_gemeente(index: ReleaseIndex) -> None:
    assert [c.geo_code for c in index.wijkgroepen(*HER, "GM0001")] == ["WG0001_01"]
    assert [c.geo_code for c in index.wijkgroepen(*HER, "GM0003")] == ["WG0003_01"]
    rows, units, _ = wijk_rijen(index, *HER, "GM0001")
    pooled = [r for r in rows if r.status == CellStatus.POOLED.value]
    assert {r.groep_code for r in pooled} == {"WG0001_01"} and len(units) == 3


def test_scope_sees_its_regions_whatever_it_covers(index: ReleaseIndex) -> None:
    # GM0004 is not covered, yet it lies in region pool RG01: its scope sees RG01 and NL only
    seen = {index.cells[i].geo_code for i in index.visible(frozenset({"GM0004"})) or []}
    assert seen == {"RG01", "NL"}
    assert not index.sees(frozenset({"GM0004"}), "GM0004")
    seen = {index.cells[i].geo_code for i in index.visible(frozenset({"GM0001"})) or []}
    assert seen == {"GM0001", "RG01", "NL", "WG0001_01"} | EXPECTED["GM0001"][1]
    assert not index.sees(frozenset({"GM0002"}), "GM0001")


def test_the_factsheet_region_is_one_the_scope_sees(index: ReleaseIndex) -> None:
    regio = index.regio_of(*MOB, "GM0001")
    assert regio == "RG01" and regio in index.regios_of["GM0001"]
    # GM0002 has no gemeente cell and no pool: no region
    assert index.regio_of(*MOB, "GM0002") is None


@pytest.fixture(scope="module")
def home(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("kluis")
    with ReleaseStore(Settings(home=home).release_db) as store:
        store.save(release)
    return home


@pytest.mark.parametrize("gemeente", sorted(EXPECTED))
def test_every_route_that_takes_a_gemeente_answers_alike(
    home: Path, release: Release, gemeente: str
) -> None:
    db = Settings(home=home).release_db
    token = create_token(db, "regiocoordinator", [gemeente], name=gemeente, person=gemeente)
    rid = release.id
    paths = [
        f"/releases/{rid}/cells?gemeente={gemeente}",
        f"/releases/{rid}/factsheets/{gemeente}",
        f"/gemeenten/{gemeente}/vergelijk?release={rid}",
        f"/gemeenten/{gemeente}/trend?release={rid}",
    ]
    with in_process_client(home) as client:
        headers = {"Authorization": f"Bearer {token}"}
        statuses = {path: client.get(path, headers=headers).status_code for path in paths}
    expected = 200 if EXPECTED[gemeente][0] else 404
    assert set(statuses.values()) == {expected}, statuses
