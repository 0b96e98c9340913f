"""Test data and a real API server for tests/api and tests/leak.

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
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.auth import create_token
from disclosure.log import Signer, policy_hash, seal
from disclosure.release import PoolingGroup, ProtectedDraft, Release, ReleaseCell
from disclosure.store import ReleaseStore
from kansenkluis.domain import CellStatus, GeoLevel, Rule

REPO = Path(__file__).resolve().parents[2]
RELEASE_ID = "rel-2022-api-test"
SCHOOLJAAR = 2022
POLICY = {"version": 1, "min_cell": 10, "group_disclosure_min": 20, "rounding_base": 5}

PUB = CellStatus.PUBLISHED
PRIM = CellStatus.SUPPRESSED_PRIMARY
SEC = CellStatus.SUPPRESSED_SECONDARY
POOLED = CellStatus.POOLED

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


def _cell(
    indicator: str,
    breakdown: str,
    level: GeoLevel,
    code: str,
    name: str,
    status: CellStatus,
    num: int | None = None,
    den: int | None = None,
    parent: str | None = None,
    pooled_into: str | None = None,
) -> ReleaseCell:
    published = status == PUB
    rule = {
        PUB: Rule.PUBLISHED,
        PRIM: Rule.MIN_CELL,
        SEC: Rule.SECONDARY,
        POOLED: Rule.POOLED_WIJK if level == GeoLevel.WIJK else Rule.POOLED_REGIO,
    }[status]
    return ReleaseCell(
        indicator=indicator,
        breakdown=breakdown,
        schooljaar=SCHOOLJAAR,
        geo_level=level,
        geo_code=code,
        geo_name=name,
        numerator=num if published else None,
        denominator=den if published else None,
        percentage=round(100 * num / den, 1) if published and num is not None and den else None,
        status=status,
        pooled_into=pooled_into,
        rule=rule,
        parent_code=parent,
    )


def build_cells() -> list[ReleaseCell]:
    W, WG, G, R, L = (
        GeoLevel.WIJK,
        GeoLevel.WIJKGROEP,
        GeoLevel.GEMEENTE,
        GeoLevel.REGIO,
        GeoLevel.LAND,
    )
    cells: list[ReleaseCell] = []
    for indicator, breakdown, scale in (
        ("heroverweging", "totaal", 1),
        ("opstroom", "vmbo", 2),
        ("opstroom", "havo", 3),
    ):
        s = scale
        cells += [
            _cell(indicator, breakdown, W, "WK091710", "Wijk 10", PUB, 5 * s, 40, "GM0917"),
            _cell(
                indicator,
                breakdown,
                W,
                "WK091711",
                "Wijk 11",
                POOLED,
                parent="GM0917",
                pooled_into="WG091701",
            ),
            _cell(
                indicator,
                breakdown,
                W,
                "WK091712",
                "Wijk 12",
                POOLED,
                parent="GM0917",
                pooled_into="WG091701",
            ),
            _cell(indicator, breakdown, WG, "WG091701", "Wijk 11 en 12", PUB, 5, 25, "GM0917"),
            _cell(indicator, breakdown, W, "WK091713", "Wijk 13", PRIM, parent="GM0917"),
            _cell(indicator, breakdown, W, "WK091714", "Wijk 14", SEC, parent="GM0917"),
            _cell(indicator, breakdown, G, "GM0917", "Heerlen", PUB, 25, 120, "RG-ZL"),
            _cell(indicator, breakdown, W, "WK188300", "Limbrichterveld", PUB, 10, 50, "GM1883"),
            _cell(indicator, breakdown, W, "WK188301", "Sittard", PUB, 15 * s, 60, "GM1883"),
            _cell(indicator, breakdown, W, "WK188302", "Overhoven", PRIM, parent="GM1883"),
            _cell(indicator, breakdown, G, "GM1883", "Sittard-Geleen", PUB, 30, 115, "RG-ZL"),
            _cell(indicator, breakdown, W, "WK036300", "Burgwallen", PUB, 20, 55, "GM0363"),
            _cell(indicator, breakdown, W, "WK036301", "Grachtengordel", PUB, 5 * s, 45, "GM0363"),
            _cell(indicator, breakdown, G, "GM0363", "Amsterdam", PUB, 40, 100, "RG-AM"),
            _cell(indicator, breakdown, L, "NL", "Nederland", PUB, 9000, 40000),
        ]
    for breakdown in ("max_mbo2", "totaal"):
        cells += [
            _cell(
                "opleidingsmobiliteit",
                breakdown,
                G,
                "GM0917",
                "Heerlen",
                POOLED,
                parent="RG-ZL",
                pooled_into="RP-ZL",
            ),
            _cell("opleidingsmobiliteit", breakdown, R, "RP-ZL", "Zuid-Limburg", PUB, 150, 400),
            _cell("opleidingsmobiliteit", breakdown, R, "RP-AM", "Groot-Amsterdam", PUB, 300, 600),
            _cell("opleidingsmobiliteit", breakdown, L, "NL", "Nederland", PUB, 80000, 160000),
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
    store = ReleaseStore(db)
    try:
        store.save(build_release())
    finally:
        store.close()
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    home: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(home: Path, log_path: Path, rate_limit: int = 100_000) -> Server:
    """uvicorn in a subprocess on a free loopback port, serving ``create_app`` for ``home``."""
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")} | {
            "KLUIS_HOME": str(home),
            "KLUIS_RATE_LIMIT_PER_MINUTE": str(rate_limit),
            "PYTHONUNBUFFERED": "1",
        }
        log_file = log_path.open("ab")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-server-header",
                "--log-level",
                "info",
            ],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        server = Server(f"http://127.0.0.1:{port}", proc, log_path, home)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        server.stop()
        last_error = server.log()[-2000:]
    raise RuntimeError(f"the API server did not start:\n{last_error}")
