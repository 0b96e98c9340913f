"""Canary leak tests for the suppression log and the export.

True counts of withheld cells travel inside the sealed side as ``Decision.sealed_count``. We
plant unmistakable values there (777, 4321, 31337, 98765: no published figure is near them),
plus recognisable key material, and assert that none of it reaches the signed log, the four
export files, the release store or a verifier message.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from functools import partial
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from disclosure import log
from disclosure.export import CELLS_CSV, EXPORT_FILES, LOG_JSONL, export_release
from disclosure.release import Decision, PoolingGroup, ProtectedDraft
from disclosure.store import ReleaseStore
from disclosure.verify import verify_export
from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import InternalError
from tests.support.builders import decision_for, release_cell

SEALED_CANARIES = (777, 4321, 31337, 98765)
COMMITMENT_KEY = b"CANARY-COMMITMENT-KEY-0123456789"[:32]
POLICY = {"min_cell": 10, "group_disclosure_min": 20, "rounding_base": 5}
PERSON_CANARY = "RIN-CANARY-55501"


def _number_pattern(n: int) -> re.Pattern[str]:
    # A number on its own: not part of a hex hash, a base64 signature or a longer number.
    return re.compile(rf"(?<![0-9A-Za-z+/.]){n}(?![0-9A-Za-z+/=.])")


def canary_draft() -> ProtectedDraft:
    W, P = GeoLevel.WIJK, CellStatus.PUBLISHED
    cell = partial(release_cell, indicator="opstroom", breakdown="vmbo", schooljaar=2022)
    cells = [
        cell(W, "WK010001", P, 35, 120),
        cell(W, "WK010002", CellStatus.SUPPRESSED_PRIMARY, rule=Rule.MIN_CELL),
        cell(W, "WK010003", CellStatus.SUPPRESSED_PRIMARY, rule=Rule.GROUP_DISCLOSURE),
        cell(W, "WK010004", CellStatus.SUPPRESSED_SECONDARY, rule=Rule.SECONDARY),
        cell(W, "WK010005", CellStatus.POOLED, rule=Rule.POOLED_WIJK, pooled_into="WG010001"),
        cell(GeoLevel.WIJKGROEP, "WG010001", P, 10, 30),
    ]
    decisions = [
        decision_for(cells[0]),
        decision_for(cells[1], sealed_count=SEALED_CANARIES[0]),
        decision_for(cells[2], sealed_count=SEALED_CANARIES[1]),
        decision_for(cells[3], sealed_count=SEALED_CANARIES[2], protects="WK010002"),
        decision_for(cells[4], sealed_count=SEALED_CANARIES[3]),
        decision_for(cells[5]),
        Decision(kind="audit", rule=Rule.AUDIT, detail={"outcome": "pass"}),
    ]
    return ProtectedDraft(
        schooljaar=2022,
        policy=POLICY,
        policy_hash=log.policy_hash(POLICY),
        percentage_basis="rounded",
        cells=tuple(cells),
        pooling=(
            PoolingGroup(
                code="WG010001",
                name="Wijkgroep",
                level=GeoLevel.WIJKGROEP,
                members=("WK010005", "WK010006"),
                gemeentecode="GM0100",
            ),
        ),
        decisions=tuple(decisions),
    )


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    private = Ed25519PrivateKey.generate()
    signer = log.Signer(private)
    release = log.seal(
        canary_draft(),
        release_id="R2022-leak",
        created_at="2024-01-01T00:00:00+00:00",
        data_fingerprint="d" * 64,
        geography_fingerprint="e" * 64,
        code_version="0.1.0",
        run_report={"transitie": 150},
        signer=signer,
        commitment_key=COMMITMENT_KEY,
    )
    root = tmp_path_factory.mktemp("leak")
    export_release(release, root / "export")
    with ReleaseStore(root / "store" / "releases.sqlite") as store:
        store.save(release)
    return release, private, root


def _secret_forms(private: Ed25519PrivateKey) -> list[str]:
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    body = "".join(pem.splitlines()[1:-1])
    return [
        raw.hex(),
        base64.b64encode(raw).decode(),
        body,
        COMMITMENT_KEY.decode(),
        COMMITMENT_KEY.hex(),
        base64.b64encode(COMMITMENT_KEY).decode(),
    ]


def _all_public_text(release, root: Path) -> dict[str, str]:
    texts = {name: (root / "export" / name).read_text() for name in EXPORT_FILES}
    texts["Release.model_dump_json"] = release.model_dump_json()
    texts["metadata"] = json.dumps(release.metadata())
    for path in (root / "store").iterdir():
        texts[f"store/{path.name}"] = path.read_bytes().decode("latin-1")
    return texts


def test_sealed_counts_never_reach_the_log_the_export_or_the_store(sealed):
    release, _, root = sealed
    for where, text in _all_public_text(release, root).items():
        for n in SEALED_CANARIES:
            assert not _number_pattern(n).search(text), f"sealed count {n} leaked into {where}"
        assert "sealed_count" not in text, where


def test_the_canary_pattern_would_catch_a_leak():
    """Guard against a vacuous test: the pattern matches a count as JSON and CSV write it."""
    assert _number_pattern(777).search('{"numerator":777,"x":1}')
    assert _number_pattern(777).search("opstroom,vmbo,2022,wijk,WK1,Naam,777,800,97.1,")
    assert not _number_pattern(777).search('"prev_hash":"ab777cd"')


def test_no_key_material_in_any_public_file(sealed):
    release, private, root = sealed
    texts = _all_public_text(release, root)
    for secret in _secret_forms(private):
        for where, text in texts.items():
            assert secret not in text, f"key material leaked into {where}"


def test_the_specific_primary_rule_stays_out_of_the_log_and_cells(sealed):
    _, _, root = sealed
    for name in (LOG_JSONL, CELLS_CSV):
        text = (root / "export" / name).read_text()
        assert "group_disclosure" not in text and "min_cell" not in text, name


def test_the_sealed_side_can_still_open_every_canary(sealed):
    release, _, _ = sealed
    opened = set()
    for line in release.suppression_log:
        entry = json.loads(line)
        if entry.get("commitment"):
            opened.add(log.open_commitment(entry, COMMITMENT_KEY, max_count=100_000))
    assert opened == set(SEALED_CANARIES)


def test_verifier_messages_never_echo_a_planted_withheld_number(sealed, tmp_path):
    _, _, root = sealed
    target = tmp_path / "export"
    shutil.copytree(root / "export", target)
    lines = (target / CELLS_CSV).read_text().splitlines()
    i = next(i for i, r in enumerate(lines) if ",WK010002," in r)
    fields = lines[i].split(",")
    fields[6], fields[7] = str(SEALED_CANARIES[0]), str(SEALED_CANARIES[1])
    lines[i] = ",".join(fields)
    (target / CELLS_CSV).write_text("\n".join(lines) + "\n")
    result = verify_export(target)
    assert not result.ok
    text = "\n".join(result.failures)
    assert "WK010002" in text
    for n in SEALED_CANARIES:
        assert not _number_pattern(n).search(text)


def test_a_person_key_in_a_decision_is_refused_and_not_quoted():
    draft = canary_draft()
    bad = Decision(kind="audit", rule=Rule.AUDIT, detail={"rin": PERSON_CANARY})
    draft = draft.model_copy(update={"decisions": (*draft.decisions, bad)})
    with pytest.raises(InternalError) as e:
        log.seal(
            draft,
            release_id="R",
            created_at="t",
            data_fingerprint="d",
            geography_fingerprint="e",
            code_version="0",
            run_report={},
            signer=log.Signer(Ed25519PrivateKey.generate()),
            commitment_key=COMMITMENT_KEY,
        )
    assert PERSON_CANARY not in str(e.value) and PERSON_CANARY not in repr(e.value)
