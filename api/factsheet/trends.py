"""Trends: a gemeente's figures over the last (up to) five school years, from released figures only.

A trend reads, per school year, one release: the shown release for its own year, and for each
earlier year the newest release of that year in the store (the factsheet names every release it
used). From each it takes only the gemeente's own cells, the region cell its
opleidingsmobiliteit is published in, and the national cells: never a wijk, never a count that
was not published. A figure withheld in a year is a gap in the line, not a zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from disclosure.release import Release, ReleaseCell
from disclosure.store import ReleaseStore
from kansenkluis.domain import LAND_CODE, CellStatus, GeoLevel

#: How many school years a trend covers, the shown one included.
JAREN = 5

Key = tuple[str, str, str]  # (indicator, breakdown, geo_level)


@dataclass(frozen=True)
class Jaar:
    """What one school year's release says about one gemeente: its, its region's and the
    nation's cells, per indicator and breakdown."""

    schooljaar: int
    release_id: str
    cells: Mapping[Key, ReleaseCell]

    def cell(self, indicator: str, breakdown: str, level: GeoLevel) -> ReleaseCell | None:
        return self.cells.get((indicator, breakdown, level.value))

    def percentage(self, indicator: str, breakdown: str, level: GeoLevel) -> float | None:
        cell = self.cell(indicator, breakdown, level)
        if cell is None or cell.status is not CellStatus.PUBLISHED:
            return None
        return cell.percentage


def _jaar(
    schooljaar: int, release_id: str, gemeentecode: str, cells: Iterable[ReleaseCell]
) -> Jaar:
    own: dict[Key, ReleaseCell] = {}
    regio_of: dict[tuple[str, str], str] = {}
    regio: dict[tuple[str, str, str], ReleaseCell] = {}
    for cell in cells:
        key = (cell.indicator, cell.breakdown, cell.geo_level.value)
        if cell.geo_level is GeoLevel.GEMEENTE and cell.geo_code == gemeentecode:
            own[key] = cell
            if cell.status is CellStatus.POOLED and cell.pooled_into:
                regio_of[(cell.indicator, cell.breakdown)] = cell.pooled_into
        elif cell.geo_level is GeoLevel.LAND and cell.geo_code == LAND_CODE:
            own[key] = cell
        elif cell.geo_level is GeoLevel.REGIO:
            regio[(cell.indicator, cell.breakdown, cell.geo_code)] = cell
    for (indicator, breakdown), code in regio_of.items():
        found = regio.get((indicator, breakdown, code))
        if found is not None:
            own[(indicator, breakdown, GeoLevel.REGIO.value)] = found
    return Jaar(schooljaar=schooljaar, release_id=release_id, cells=own)


def jaar_of_release(release: Release, gemeentecode: str) -> Jaar:
    """The shown release's own year (two passes that compare codes only, not 57,000 levels)."""
    own = [c for c in release.cells if c.geo_code == gemeentecode or c.geo_code == LAND_CODE]
    pools = {c.pooled_into for c in own if c.pooled_into}
    regio = [c for c in release.cells if c.geo_code in pools] if pools else []
    return _jaar(release.schooljaar, release.id, gemeentecode, own + regio)


def earlier_release_ids(
    store: ReleaseStore, release: Release, jaren: int = JAREN
) -> dict[int, str]:
    """Per earlier school year in the window, the newest release of that year in the store."""
    wanted = range(release.schooljaar - jaren + 1, release.schooljaar)
    chosen: dict[int, tuple[str, str]] = {}
    for row in store.list():
        year = int(row["schooljaar"])
        if year in wanted:
            stamp = (str(row["created_at"]), str(row["id"]))
            if year not in chosen or stamp > chosen[year]:
                chosen[year] = stamp
    return {year: stamp[1] for year, stamp in sorted(chosen.items())}


def load_history(
    store: ReleaseStore, release: Release, gemeentecode: str, jaren: int = JAREN
) -> tuple[Jaar, ...]:
    """The years of a trend, oldest first, the shown release last.

    Earlier releases are not loaded whole (a national release has some 57,000 cells): three or
    four queries each read the gemeente's cells, the national cells and the region cells its
    gemeente cells point at.
    """
    years: list[Jaar] = []
    for year, release_id in earlier_release_ids(store, release, jaren).items():
        rows: list[dict[str, Any]] = store.query_cells(
            release_id, geo_level="gemeente", geo_code=gemeentecode
        )
        rows += store.query_cells(release_id, geo_level="land")
        for code in sorted({r["pooled_into"] for r in rows if r["pooled_into"]}):
            rows += store.query_cells(release_id, geo_level="regio", geo_code=code)
        cells = [ReleaseCell(**r) for r in rows]
        years.append(_jaar(year, release_id, gemeentecode, cells))
    years.append(jaar_of_release(release, gemeentecode))
    return tuple(years)


@dataclass(frozen=True)
class Punt:
    schooljaar: int
    eigen: float | None
    land: float | None
    #: status of the gemeente's (or region's) cell that year; "missing" without one
    status: str


def punten(history: Sequence[Jaar], indicator: str, breakdown: str, level: GeoLevel) -> list[Punt]:
    """One point per school year from the first year with a release to the shown one."""
    if not history:
        return []
    by_year = {j.schooljaar: j for j in history}
    out: list[Punt] = []
    for year in range(min(by_year), max(by_year) + 1):
        jaar = by_year.get(year)
        if jaar is None:
            out.append(Punt(year, None, None, "missing"))
            continue
        cell = jaar.cell(indicator, breakdown, level)
        out.append(
            Punt(
                year,
                jaar.percentage(indicator, breakdown, level),
                jaar.percentage(indicator, breakdown, GeoLevel.LAND),
                cell.status.value if cell is not None else "missing",
            )
        )
    return out


def load_release(store: ReleaseStore, release_id: str, gemeentecode: str) -> Release:
    """The release with only the cells one gemeente's factsheet reads: its wijken and
    wijkgroepen, every gemeente cell (names of region members), the regions and the nation.

    A national release holds some 50,000 cells, of which a factsheet reads a few thousand;
    validating all of them is most of a ``kluis factsheet`` process. The factsheet rendered from
    this release is the same as from the whole one (``tests/unit/test_trends.py``). Wijk and
    wijkgroep cells are found by their ``parent_code``, which every release cell of those levels
    carries (docs/release-format.md).
    """
    row = store.con.execute(
        "SELECT metadata_json FROM releases WHERE id = ?", (release_id,)
    ).fetchone()
    if row is None:
        return store.get(release_id)  # raises the store's own RELEASE_NOT_FOUND
    rows: list[dict[str, Any]] = store.query_cells(release_id, parent_code=gemeentecode)
    rows = [r for r in rows if r["geo_level"] in ("wijk", "wijkgroep")]
    for level in ("gemeente", "regio", "land"):
        rows += store.query_cells(release_id, geo_level=level)
    return Release(**json.loads(row["metadata_json"]), cells=tuple(ReleaseCell(**r) for r in rows))
