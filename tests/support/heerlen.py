"""The hand-built release for GM0917 Heerlen that the factsheet, map, trend, overview and
browser tests render.

It is written out by hand, cell by cell, the way disclosure control would hand it over:
published cells with rounded counts, pooled wijken that point at their wijkgroep, suppressed
cells without numbers, and opleidingsmobiliteit pooled into the region Zuid-Limburg.
"""

from __future__ import annotations

import html
import re
from functools import partial
from typing import Any

from api.factsheet import Jaar, jaar_of_release
from api.factsheet.geo import geography
from disclosure.release import DPParams, PoolingGroup, Release, ReleaseCell
from kansenkluis.domain import CellStatus, GeoLevel, Rule
from tests.support.builders import release_cell

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
    spec: tuple[Any, ...],
    parent: str | None,
    dp: bool,
) -> ReleaseCell:
    """The cell a ``SERIES`` entry describes: (status,), ("pooled", into) or (PUB, %, den)."""
    cell = partial(
        release_cell,
        level,
        code,
        indicator=indicator,
        breakdown=breakdown,
        name=name,
        parent=parent,
    )
    if spec[0] == "pooled":
        return cell(POOL, pooled_into=spec[1])
    if spec[0] is not PUB:
        return cell(spec[0])
    _, percentage, denominator = spec
    numerator = 5 * round(denominator * percentage / 500)
    if not dp:
        return cell(PUB, numerator, denominator, percentage=percentage)
    ci = (round(percentage - 2.4, 1), round(percentage + 2.4, 1))
    return cell(
        PUB,
        numerator,
        denominator,
        percentage=percentage,
        noise_scale=2.0,
        ci_low=ci[0],
        ci_high=ci[1],
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


def heerlen_history() -> tuple[Jaar, ...]:
    """Three school years for the trends: 2020 (-4 points), 2021 (heroverweging withheld for
    Heerlen, -2 points), and the 2022 release itself."""
    return (
        jaar_of_release(earlier_release(2020, -4.0), HEERLEN),
        jaar_of_release(earlier_release(2021, -2.0, withhold=("heroverweging",)), HEERLEN),
        jaar_of_release(heerlen_release(), HEERLEN),
    )


def heerlen_geography() -> tuple[str, ...]:
    """All 23 wijken of Heerlen in the shipped 2025 geography (the release has cells for 8)."""
    return geography().wijken_of(HEERLEN)


def text_of(markup: str) -> str:
    """Visible text with tags removed and whitespace collapsed, for sentence look-ups."""
    no_tags = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(no_tags))
