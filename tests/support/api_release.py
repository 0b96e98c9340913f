"""The hand-built release and the token holder's home that the API tests run against.

The release is written by hand so that the tests know, independently of the API code, which
geography every cell belongs to:

- GM0917 Heerlen: WK091710 published; WK091711 and WK091712 pooled into wijkgroep WG091701
  (published); WK091713 suppressed (primary); WK091714 suppressed (secondary);
- GM1883 Sittard-Geleen: WK188300, WK188301 published; WK188302 suppressed (primary);
- GM0363 Amsterdam: WK036300, WK036301 published;
- gemeente cells carry their region in ``parent_code`` (RG-ZL for the two Limburg gemeenten,
  RG-AM for Amsterdam); opleidingsmobiliteit is published for region pools RP-ZL (GM0917,
  GM1883, GM0935) and RP-AM (GM0363, GM0362), and the nation NL.

It is sealed with a throwaway signing key (never written to KLUIS_HOME), so the export verifies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.auth import create_token
from disclosure.log import Signer, policy_hash, seal
from disclosure.release import PoolingGroup, ProtectedDraft, Release, ReleaseCell
from disclosure.store import ReleaseStore
from kansenkluis.domain import GeoLevel
from tests.support.builders import POOLED, PRIM, PUB, SEC, release_cell

RELEASE_ID = "rel-2022-api-test"
SCHOOLJAAR = 2022
POLICY = {"version": 1, "min_cell": 10, "group_disclosure_min": 20, "rounding_base": 5}


#: geo_code -> the gemeente it lies in (None: land or regio)
GEMEENTE_OF: dict[str, str | None] = {
    "WK091710": "GM0917",
    "WK091711": "GM0917",
    "WK091712": "GM0917",
    "WK091713": "GM0917",
    "WK091714": "GM0917",
    "WG091701": "GM0917",
    "GM0917": "GM0917",
    "WK188300": "GM1883",
    "WK188301": "GM1883",
    "WK188302": "GM1883",
    "GM1883": "GM1883",
    "WK036300": "GM0363",
    "WK036301": "GM0363",
    "GM0363": "GM0363",
    "RG-ZL": None,
    "RP-ZL": None,
    "RP-AM": None,
    "NL": None,
}
#: the regions a gemeente lies in, for scoping (written down, not derived)
REGIOS_OF = {"GM0917": {"RG-ZL", "RP-ZL"}, "GM1883": {"RG-ZL", "RP-ZL"}, "GM0363": {"RP-AM"}}


def build_cells() -> list[ReleaseCell]:
    W, WG, G, R, L = (
        GeoLevel.WIJK,
        GeoLevel.WIJKGROEP,
        GeoLevel.GEMEENTE,
        GeoLevel.REGIO,
        GeoLevel.LAND,
    )
    cells: list[ReleaseCell] = []
    for indicator, breakdown, s in (
        ("heroverweging", "totaal", 1),
        ("opstroom", "vmbo", 2),
        ("opstroom", "havo", 3),
    ):
        c = partial(release_cell, indicator=indicator, breakdown=breakdown, schooljaar=SCHOOLJAAR)
        cells += [
            c(W, "WK091710", PUB, 5 * s, 40, name="Wijk 10", parent="GM0917"),
            c(W, "WK091711", POOLED, name="Wijk 11", parent="GM0917", pooled_into="WG091701"),
            c(W, "WK091712", POOLED, name="Wijk 12", parent="GM0917", pooled_into="WG091701"),
            c(WG, "WG091701", PUB, 5, 25, name="Wijk 11 en 12", parent="GM0917"),
            c(W, "WK091713", PRIM, name="Wijk 13", parent="GM0917"),
            c(W, "WK091714", SEC, name="Wijk 14", parent="GM0917"),
            c(G, "GM0917", PUB, 25, 120, name="Heerlen", parent="RG-ZL"),
            c(W, "WK188300", PUB, 10, 50, name="Limbrichterveld", parent="GM1883"),
            c(W, "WK188301", PUB, 15 * s, 60, name="Sittard", parent="GM1883"),
            c(W, "WK188302", PRIM, name="Overhoven", parent="GM1883"),
            c(G, "GM1883", PUB, 30, 115, name="Sittard-Geleen", parent="RG-ZL"),
            c(W, "WK036300", PUB, 20, 55, name="Burgwallen", parent="GM0363"),
            c(W, "WK036301", PUB, 5 * s, 45, name="Grachtengordel", parent="GM0363"),
            c(G, "GM0363", PUB, 40, 100, name="Amsterdam", parent="RG-AM"),
            c(L, "NL", PUB, 9000, 40000, name="Nederland"),
        ]
    for breakdown in ("max_mbo2", "totaal"):
        c = partial(
            release_cell,
            indicator="opleidingsmobiliteit",
            breakdown=breakdown,
            schooljaar=SCHOOLJAAR,
        )
        cells += [
            c(G, "GM0917", POOLED, name="Heerlen", parent="RG-ZL", pooled_into="RP-ZL"),
            c(R, "RP-ZL", PUB, 150, 400, name="Zuid-Limburg"),
            c(R, "RP-AM", PUB, 300, 600, name="Groot-Amsterdam"),
            c(L, "NL", PUB, 80000, 160000, name="Nederland"),
        ]
    return cells


POOLING = (
    PoolingGroup(
        code="WG091701",
        name="Wijk 11 en 12",
        level=GeoLevel.WIJKGROEP,
        members=("WK091711", "WK091712"),
        gemeentecode="GM0917",
    ),
    PoolingGroup(
        code="RP-ZL",
        name="Zuid-Limburg",
        level=GeoLevel.REGIO,
        members=("GM0917", "GM0935", "GM1883"),
    ),
    PoolingGroup(
        code="RP-AM", name="Groot-Amsterdam", level=GeoLevel.REGIO, members=("GM0362", "GM0363")
    ),
)


def build_release(release_id: str = RELEASE_ID) -> Release:
    draft = ProtectedDraft(
        schooljaar=SCHOOLJAAR,
        policy=POLICY,
        policy_hash=policy_hash(POLICY),
        percentage_basis="rounded",
        cells=tuple(build_cells()),
        pooling=POOLING,
    )
    return seal(
        draft,
        release_id=release_id,
        created_at="2024-05-01T12:00:00+00:00",
        data_fingerprint="sha256:" + "ab" * 32,
        geography_fingerprint="cd" * 32,
        code_version="0.1.0-test",
        run_report={"pupils_total": 123456, "pupils_without_adres": 321},
        signer=Signer(Ed25519PrivateKey.generate()),
        commitment_key=os.urandom(32),
    )


@dataclass
class Tokens:
    """One token per role (two regiocoordinators with different scopes) and their token ids."""

    by_name: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.by_name[name]


def make_home(home: Path) -> Tokens:
    """A KLUIS_HOME holding only a release store: no keys, no sealed store, no signing key."""
    db = home / "releases" / "releases.sqlite"
    with ReleaseStore(db) as store:
        store.save(build_release())
    tokens = Tokens()
    tokens.by_name["heerlen"] = create_token(
        db, "regiocoordinator", ["GM0917"], name="coord-h", person="coord-h"
    )
    tokens.by_name["limburg"] = create_token(
        db, "regiocoordinator", ["GM0917", "GM1883"], name="coord-l", person="coord-l"
    )
    tokens.by_name["outputchecker"] = create_token(
        db, "outputchecker", name="checker-1", person="checker-1"
    )
    tokens.by_name["outputchecker2"] = create_token(
        db, "outputchecker", name="checker-2", person="checker-2"
    )
    tokens.by_name["auditor"] = create_token(db, "auditor", name="auditor-1", person="auditor-1")
    tokens.by_name["operator"] = create_token(
        db, "operator", name="operator-1", person="operator-1"
    )
    return tokens
