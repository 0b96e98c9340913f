"""A release's utility block: what readers see per indicator, from the cells alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from disclosure import log
from disclosure.export import export_release
from disclosure.release import ReleaseCell
from disclosure.utility import release_utility, utility_table
from disclosure.verify import verify_export
from kansenkluis.domain import CellStatus, GeoLevel, Rule
from tests.support.builders import release_cell, seal_draft, small_draft

P, S1, S2, POOLED = (
    CellStatus.PUBLISHED,
    CellStatus.SUPPRESSED_PRIMARY,
    CellStatus.SUPPRESSED_SECONDARY,
    CellStatus.POOLED,
)


def cell(
    level: GeoLevel,
    code: str,
    status: CellStatus,
    den: int | None = None,
    *,
    indicator: str = "heroverweging",
    pooled_into: str | None = None,
) -> ReleaseCell:
    """A cell whose published figure is half of ``den`` (50%); withheld ones carry no numbers."""
    return release_cell(
        level,
        code,
        status,
        None if den is None else den // 2,
        den,
        indicator=indicator,
        percentage=None if den is None else 50.0,
        rule=Rule.PUBLISHED if status is P else Rule.SECONDARY,
        pooled_into=pooled_into,
    )


W, G, WG, NL = GeoLevel.WIJK, GeoLevel.GEMEENTE, GeoLevel.WIJKGROEP, GeoLevel.LAND


def test_wijken_gemeenten_and_lost_pupils_are_counted_by_hand() -> None:
    cells = [
        cell(NL, "NL", P, 100),
        cell(G, "GM0001", P, 70),
        cell(G, "GM0002", S2),
        cell(G, "GM0003", S1),
        cell(WG, "WG0001_01", P, 25),
        cell(WG, "WG0002_01", S2),
        cell(W, "WK000101", P, 40),
        cell(W, "WK000102", POOLED, pooled_into="WG0001_01"),
        cell(W, "WK000103", POOLED, pooled_into="WG0001_01"),
        cell(W, "WK000201", POOLED, pooled_into="WG0002_01"),
        cell(W, "WK000202", POOLED, pooled_into="WG0002_01"),
        cell(W, "WK000301", S1),
        # another indicator: a published wijkgroep of the same code does not count here
        cell(WG, "WG0002_01", P, 30, indicator="bijstelling"),
    ]
    u = release_utility(cells)["heroverweging/totaal"]
    assert u["wijken"] == 6
    assert u["wijken_own"] == 1
    assert u["wijken_via_wijkgroep"] == 2  # WG0002_01 is withheld for heroverweging
    assert u["wijken_withheld"] == 3
    assert u["gemeenten"] == 3
    assert u["gemeenten_withheld_primary"] == 1
    assert u["gemeenten_withheld_secondary"] == 1
    assert u["regios"] == 0
    # 100 pupils in the land; 40 + 25 shown in wijk and wijkgroep figures
    assert u["pupils_outside_wijk_figures"] == 35
    rows = utility_table({"heroverweging/totaal": u})
    assert rows == [["heroverweging/totaal", "17%", "33%", "50%", "1 + 1", "35"]]


def test_a_withheld_land_leaves_the_lost_pupils_unknown() -> None:
    u = release_utility([cell(NL, "NL", S2), cell(W, "WK000101", P, 40)])
    assert u["heroverweging/totaal"]["pupils_outside_wijk_figures"] is None


def test_a_sealed_release_carries_its_utility_and_verify_recomputes_it(
    signer: log.Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = small_draft()
    release = seal_draft(draft, signer)
    assert release.utility == release_utility(draft.cells)
    assert "utility" in release.metadata()
    export_release(release, tmp_path / "good")
    assert verify_export(tmp_path / "good").ok
    # a release sealed (validly signed) over a utility block the cells do not show
    wrong = {k: {**v, "wijken_own": 999} for k, v in release_utility(draft.cells).items()}
    monkeypatch.setattr(log, "release_utility", lambda cells: wrong)
    export_release(seal_draft(draft, signer, release_id="R2023-bad"), tmp_path / "bad")
    result = verify_export(tmp_path / "bad")
    assert not result.ok
    assert any("utility block" in f for f in result.failures), result.failures
