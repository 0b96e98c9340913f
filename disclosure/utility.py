"""What a release shows its readers, per indicator and breakdown: its utility, from its cells alone.

A regiocoördinator comes for wijk figures and for the gemeente figure. For each indicator and
breakdown a release states (``release.json``, key ``utility``; ``kluis release show``):

- ``wijken``: wijk rows; of those ``wijken_own`` with their own published figure,
  ``wijken_via_wijkgroep`` pooled into a wijkgroep whose figure is published, and
  ``wijken_withheld`` the rest (suppressed, or pooled into a withheld wijkgroep);
- ``gemeenten`` and the gemeente rows withheld as ``gemeenten_withheld_primary`` (the gemeente
  itself failed a primary rule) or ``gemeenten_withheld_secondary`` (a complement);
- ``regios`` and ``regios_withheld``: region pools (opleidingsmobiliteit only);
- ``pupils_outside_wijk_figures``: the information lost at wijk level, as a reader can tell it:
  the national denominator minus the denominators of all published wijk and wijkgroep figures
  (published, rounded counts; None when the national figure is withheld). A reader computes the
  same number from ``cells.csv``, so it tells nothing the cells do not.

Everything here is computed from the published cells and their statuses only, so an auditor
recomputes it (``kluis audit verify`` does) and it can never carry a sealed count. The benchmark
adds what only the sealed side knows (exact withheld denominators, the share of wijken that
would pass the primary rules on their own) for synthetic data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from kansenkluis.domain import CellStatus, GeoLevel

from .release import ReleaseCell

#: The figures per indicator and breakdown, in the order release.json lists them.
FIELDS: tuple[str, ...] = (
    "wijken",
    "wijken_own",
    "wijken_via_wijkgroep",
    "wijken_withheld",
    "gemeenten",
    "gemeenten_withheld_primary",
    "gemeenten_withheld_secondary",
    "regios",
    "regios_withheld",
    "pupils_outside_wijk_figures",
)


def release_utility(cells: Iterable[ReleaseCell]) -> dict[str, dict[str, int | None]]:
    """``{"indicator/breakdown": {field: value}}`` for every indicator and breakdown."""
    cells = list(cells)
    published_groups = {
        (c.indicator, c.breakdown, c.geo_code)
        for c in cells
        if c.geo_level is GeoLevel.WIJKGROEP and c.status is CellStatus.PUBLISHED
    }
    counts: dict[str, Counter[str]] = {}
    shown: Counter[str] = Counter()
    land: dict[str, int | None] = {}
    for c in cells:
        key = f"{c.indicator}/{c.breakdown}"
        row = counts.setdefault(key, Counter())
        published = c.status is CellStatus.PUBLISHED
        if c.geo_level is GeoLevel.WIJK:
            row["wijken"] += 1
            if published:
                row["wijken_own"] += 1
            elif c.status is CellStatus.POOLED and (
                (c.indicator, c.breakdown, c.pooled_into) in published_groups
            ):
                row["wijken_via_wijkgroep"] += 1
            else:
                row["wijken_withheld"] += 1
        elif c.geo_level is GeoLevel.GEMEENTE and c.status is not CellStatus.POOLED:
            row["gemeenten"] += 1
            if c.status is CellStatus.SUPPRESSED_PRIMARY:
                row["gemeenten_withheld_primary"] += 1
            elif c.status is CellStatus.SUPPRESSED_SECONDARY:
                row["gemeenten_withheld_secondary"] += 1
        elif c.geo_level is GeoLevel.REGIO:
            row["regios"] += 1
            if not published:
                row["regios_withheld"] += 1
        elif c.geo_level is GeoLevel.LAND:
            land[key] = c.denominator if published else None
        if published and c.geo_level in (GeoLevel.WIJK, GeoLevel.WIJKGROEP):
            shown[key] += int(c.denominator or 0)
    out: dict[str, dict[str, int | None]] = {}
    for key, row in counts.items():
        total = land.get(key)
        values: dict[str, int | None] = {f: row[f] for f in FIELDS[:-1]}
        values["pupils_outside_wijk_figures"] = (
            max(0, total - shown[key]) if total is not None and row["wijken"] else None
        )
        out[key] = values
    return out


def utility_table(utility: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Rows for a terminal table: indicator/breakdown, own, via wijkgroep, withheld (as shares
    of the wijken), gemeenten withheld (primary + secondary), pupils outside wijk figures."""

    def share(part: Any, whole: Any) -> str:
        return f"{100 * part / whole:.0f}%" if whole else "-"

    rows = []
    for key, u in utility.items():
        outside = u.get("pupils_outside_wijk_figures")
        rows.append(
            [
                key,
                share(u.get("wijken_own", 0), u.get("wijken", 0)),
                share(u.get("wijken_via_wijkgroep", 0), u.get("wijken", 0)),
                share(u.get("wijken_withheld", 0), u.get("wijken", 0)),
                f"{u.get('gemeenten_withheld_primary', 0)} + "
                f"{u.get('gemeenten_withheld_secondary', 0)}",
                "-" if outside is None else str(outside),
            ]
        )
    return rows
