"""The signed suppression log: keys, the hash chain, the head signature and the commitments."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from disclosure import log
from disclosure.release import ProtectedDraft
from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import InternalError, UserError
from tests.support.builders import (
    COMMITMENT_KEY,
    POLICY,
    YEAR,
    decision_for,
    release_cell,
    seal_draft,
    small_draft,
)


def entries(release) -> list[dict]:
    return [json.loads(line) for line in release.suppression_log]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- keys ---------------------------------------------------------------------------------


def test_signing_key_is_private_and_its_folder_closed(tmp_path):
    signing = tmp_path / "signing"
    log.create_signing_key(signing)
    assert mode(signing) == 0o700
    assert mode(signing / log.SIGNING_KEY_FILE) == 0o600
    signer = log.load_signer(signing)
    assert (signing / log.SIGNING_PUB_FILE).read_text() == signer.public_key_pem
    assert "PRIVATE" not in repr(signer)


def test_signing_key_is_never_overwritten(tmp_path):
    signing = tmp_path / "signing"
    log.create_signing_key(signing)
    before = (signing / log.SIGNING_KEY_FILE).read_bytes()
    with pytest.raises(UserError) as e:
        log.create_signing_key(signing)
    assert e.value.code == "KEYS_EXIST"
    assert (signing / log.SIGNING_KEY_FILE).read_bytes() == before


def test_commitment_key_is_32_private_bytes_and_never_overwritten(tmp_path):
    keys = tmp_path / "keys"
    log.create_commitment_key(keys)
    key = log.load_commitment_key(keys)
    assert len(key) == 32
    assert mode(keys / log.COMMITMENT_KEY_FILE) == 0o600
    with pytest.raises(UserError) as e:
        log.create_commitment_key(keys)
    assert e.value.code == "KEYS_EXIST"
    assert log.load_commitment_key(keys) == key


def test_commitment_key_goes_into_an_existing_sealed_folder(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "other.key").write_bytes(b"x")
    log.create_commitment_key(keys)
    assert (keys / "other.key").read_bytes() == b"x"


@pytest.mark.parametrize("bad_mode", [0o640, 0o604, 0o660, 0o644])
def test_a_group_or_world_readable_key_is_refused(tmp_path, bad_mode):
    signing = tmp_path / "signing"
    log.create_signing_key(signing)
    key_file = signing / log.SIGNING_KEY_FILE
    key_file.chmod(bad_mode)
    with pytest.raises(UserError) as e:
        log.load_signer(signing)
    assert e.value.code == "KEY_PERMISSIONS"
    assert "chmod 600" in e.value.hint
    assert "BEGIN" not in str(e.value)


def test_a_missing_key_says_how_to_create_one(tmp_path):
    with pytest.raises(UserError) as e:
        log.load_signer(tmp_path / "nowhere")
    assert e.value.code == "KEY_MISSING"
    assert "kluis init" in e.value.hint


def test_a_damaged_key_file_is_refused_without_quoting_it(tmp_path):
    signing = tmp_path / "signing"
    log.create_signing_key(signing)
    (signing / log.SIGNING_KEY_FILE).write_text("not a key SECRETCANARY")
    with pytest.raises(UserError) as e:
        log.load_signer(signing)
    assert e.value.code == "KEY_INVALID"
    assert "SECRETCANARY" not in str(e.value)


def test_rotation_replaces_the_key_and_archives_the_old_public_half(tmp_path):
    signing = tmp_path / "signing"
    log.create_signing_key(signing)
    old = log.load_signer(signing)
    new_id = log.rotate_signing_key(signing)
    new = log.load_signer(signing)
    assert new.key_id == new_id != old.key_id
    assert (signing / "archive" / f"{old.key_id}.pub").read_text() == old.public_key_pem
    assert (signing / log.SIGNING_PUB_FILE).read_text() == new.public_key_pem
    assert mode(signing / log.SIGNING_KEY_FILE) == 0o600
    rotations = [json.loads(x) for x in (signing / log.ROTATIONS_FILE).read_text().splitlines()]
    assert rotations == [{"retired": old.key_id, "current": new.key_id}]


# --- the chain and the head --------------------------------------------------------------------


def test_the_log_is_a_hash_chain_framed_by_header_and_signed_head(signer):
    release = seal_draft(small_draft(), signer)
    lines = release.suppression_log
    es = entries(release)
    assert es[0]["kind"] == "header" and es[-1]["kind"] == "head"
    assert [e["seq"] for e in es] == list(range(len(es)))
    assert es[0]["prev_hash"] == "0" * 64
    for prev_line, entry in zip(lines, es[1:], strict=False):
        assert entry["prev_hash"] == log.line_hash(prev_line)
    head = es[-1]
    assert head["head_hash"] == log.line_hash(lines[-2])
    assert head["entries"] == len(lines) - 1
    assert all(line == log.canonical_json(e) for line, e in zip(lines, es, strict=True))
    public = Ed25519PrivateKey.generate().public_key()
    assert log.verify_head_signature(head, signer._private.public_key())
    assert not log.verify_head_signature(head, public)
    assert not log.verify_head_signature(
        {**head, "entries": head["entries"] - 1}, signer._private.public_key()
    )


def test_every_entry_carries_release_policy_data_and_code_ids(signer):
    release = seal_draft(small_draft(), signer)
    for e in entries(release):
        assert e["release_id"] == "R2023-test"
        assert e["policy_hash"] == release.policy_hash
        assert e["data_fingerprint"] == "f" * 64
        assert e["code_version"] == "0.1.0"


def test_header_binds_release_json_and_basis(signer):
    release = seal_draft(small_draft(), signer)
    header = entries(release)[0]
    assert header["release_json_sha256"] == log.metadata_hash(release.metadata())
    assert header["percentage_basis"] == "rounded"
    assert header["cells"] == len(release.cells)
    assert header["public_key_sha256"] == signer.key_id


def test_one_entry_per_cell_in_cell_order_then_the_other_decisions(signer):
    draft = small_draft()
    release = seal_draft(draft, signer)
    es = entries(release)[1:-1]
    cell_entries = [e for e in es if e["kind"] in log.CELL_KINDS]
    assert [(e["geo_level"], e["geo_code"]) for e in cell_entries] == [
        (c.geo_level.value, c.geo_code) for c in draft.cells
    ]
    assert [e["kind"] for e in es if e["kind"] not in log.CELL_KINDS] == ["audit"]
    assert len(es) == len(draft.decisions)


def test_published_entries_carry_the_published_numbers(signer):
    draft = small_draft()
    es = {e["geo_code"]: e for e in entries(seal_draft(draft, signer)) if e["kind"] == "published"}
    for c in draft.cells:
        if c.status is CellStatus.PUBLISHED:
            e = es[c.geo_code]
            assert (e["numerator"], e["denominator"], e["percentage"]) == (
                c.numerator,
                c.denominator,
                c.percentage,
            )


def test_primary_entries_state_the_rule_class_only(signer):
    """ "group_disclosure" on a cell would say everyone in it shares the attribute."""
    release = seal_draft(small_draft(), signer)
    primaries = [e for e in entries(release) if e["kind"] == "suppressed_primary"]
    assert len(primaries) == 2
    for e in primaries:
        assert e["rule"] == "primary"
        assert e["threshold"] is None
        assert e["detail"] == {}
        assert e["numerator"] is None and e["denominator"] is None
    text = "\n".join(release.suppression_log)
    for specific in ("min_cell", "group_disclosure", "complement"):
        assert specific not in text


def test_commitments_open_to_the_rule_and_count_on_the_sealed_side(signer):
    release = seal_draft(small_draft(), signer)
    by_code = {e["geo_code"]: e for e in entries(release)}
    assert log.open_commitment_rule(by_code["WK000102"], COMMITMENT_KEY, 100) == ("min_cell", 7)
    assert log.open_commitment_rule(by_code["WK000103"], COMMITMENT_KEY, 100) == (
        "group_disclosure",
        15,
    )
    assert log.open_commitment(by_code["WK000104"], COMMITMENT_KEY, 100) == 40
    assert log.open_commitment(by_code["WK000105"], COMMITMENT_KEY, 100) == 6
    # No sealed count and not primary: nothing to commit to.
    assert by_code["WK000106"]["commitment"] is None


def test_a_commitment_does_not_open_with_another_key_or_a_changed_nonce(signer):
    release = seal_draft(small_draft(), signer)
    entry = next(e for e in entries(release) if e["geo_code"] == "WK000102")
    assert log.open_commitment(entry, bytes(32), 100) is None
    assert log.open_commitment({**entry, "nonce": "00" * 16}, COMMITMENT_KEY, 100) is None
    assert log.open_commitment({**entry, "seq": entry["seq"] + 1}, COMMITMENT_KEY, 100) is None


def test_equal_counts_give_unrelated_commitments(signer):
    """A random nonce per entry: equal hidden counts cannot be spotted by equal commitments."""
    draft = small_draft()
    decisions = list(draft.decisions)
    decisions[5] = decisions[5].model_copy(update={"sealed_count": 7})
    release = seal_draft(draft.model_copy(update={"decisions": tuple(decisions)}), signer)
    by_code = {e["geo_code"]: e for e in entries(release)}
    assert by_code["WK000102"]["commitment"] != by_code["WK000103"]["commitment"]


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=400),
    rule=st.sampled_from([Rule.MIN_CELL, Rule.GROUP_DISCLOSURE, Rule.COMPLEMENT]),
)
def test_any_primary_commitment_opens_to_what_was_committed(count, rule):
    signer = log.Signer(Ed25519PrivateKey.generate())
    c = release_cell(
        GeoLevel.WIJK, "WK000102", CellStatus.SUPPRESSED_PRIMARY, rule=rule, schooljaar=YEAR
    )
    draft = ProtectedDraft(
        schooljaar=YEAR,
        policy=POLICY,
        policy_hash=log.policy_hash(POLICY),
        percentage_basis="rounded",
        cells=(c,),
        decisions=(decision_for(c, sealed_count=count),),
    )
    entry = entries(seal_draft(draft, signer))[1]
    assert entry["rule"] == "primary"
    assert log.open_commitment_rule(entry, COMMITMENT_KEY, 400) == (rule.value, count)


def test_secondary_and_pooled_entries_say_why(signer):
    by_code = {e["geo_code"]: e for e in entries(seal_draft(small_draft(), signer))}
    assert by_code["WK000104"]["rule"] == "secondary"
    assert by_code["WK000104"]["detail"] == {"protects": "WK000102"}
    assert by_code["WK000105"]["pooled_into"] == "WG000101"
    assert by_code["WK000105"]["members"] == ["WK000105", "WK000106"]
    assert by_code["WG000101"]["members"] == ["WK000105", "WK000106"]


def test_a_cell_without_a_decision_still_gets_its_entry(signer):
    draft = small_draft()
    release = seal_draft(draft.model_copy(update={"decisions": ()}), signer)
    es = [e for e in entries(release) if e["kind"] in log.CELL_KINDS]
    assert len(es) == len(draft.cells)
    primary = next(e for e in es if e["geo_code"] == "WK000103")
    assert primary["rule"] == "primary"
    assert log.open_commitment_rule(primary, COMMITMENT_KEY, 5) == ("group_disclosure", None)


def test_signature_is_canonical_base64(signer):
    head = entries(seal_draft(small_draft(), signer))[-1]
    raw = base64.b64decode(head["signature"])
    assert len(raw) == 64
    assert base64.b64encode(raw).decode() == head["signature"]


# --- seal refuses what it must never sign ------------------------------------------------------


def _replace_cell(draft, index, **update):
    cells = list(draft.cells)
    cells[index] = cells[index].model_copy(update=update)
    return draft.model_copy(update={"cells": tuple(cells)})


def test_seal_refuses_a_withheld_cell_with_numbers(signer):
    draft = _replace_cell(small_draft(), 4, numerator=5, denominator=9)
    with pytest.raises(InternalError) as e:
        seal_draft(draft, signer)
    assert e.value.code == "SEAL_WITHHELD_HAS_NUMBERS"


def test_seal_refuses_a_decision_that_contradicts_its_cell(signer):
    draft = _replace_cell(
        small_draft(),
        3,
        status=CellStatus.SUPPRESSED_SECONDARY,
        numerator=None,
        denominator=None,
        percentage=None,
    )
    with pytest.raises(InternalError) as e:
        seal_draft(draft, signer)
    assert e.value.code == "SEAL_DECISION_STATUS"


def test_seal_refuses_a_decision_for_a_cell_that_is_not_there(signer):
    draft = small_draft()
    stray = decision_for(
        release_cell(GeoLevel.WIJK, "WK999999", CellStatus.PUBLISHED, 10, 10, schooljaar=YEAR)
    )
    draft = draft.model_copy(update={"decisions": (*draft.decisions, stray)})
    with pytest.raises(InternalError) as e:
        seal_draft(draft, signer)
    assert e.value.code == "SEAL_DECISION_WITHOUT_CELL"


def test_seal_refuses_a_policy_hash_that_is_not_the_policy(signer):
    draft = small_draft().model_copy(update={"policy_hash": "0" * 64})
    with pytest.raises(InternalError) as e:
        seal_draft(draft, signer)
    assert e.value.code == "SEAL_POLICY_HASH"


@pytest.mark.parametrize("key", ["rin", "sealed_count", "count", "pseudonym"])
def test_seal_refuses_person_keys_or_counts_in_detail_without_quoting_them(signer, key):
    draft = small_draft()
    decisions = list(draft.decisions)
    decisions[10] = decisions[10].model_copy(update={"detail": {key: "CANARY-rin-0042"}})
    with pytest.raises(InternalError) as e:
        seal_draft(draft.model_copy(update={"decisions": tuple(decisions)}), signer)
    assert e.value.code == "SEAL_SENSITIVE_DETAIL"
    assert "CANARY" not in str(e.value)


def test_seal_refuses_a_short_commitment_key(signer):
    with pytest.raises(UserError):
        log.seal(
            small_draft(),
            release_id="R",
            created_at="t",
            data_fingerprint="f",
            geography_fingerprint="g",
            code_version="0",
            run_report={},
            signer=signer,
            commitment_key=b"short",
        )


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_canonical_json_is_stable_under_a_round_trip(value):
    text = log.canonical_json(value)
    assert log.canonical_json(json.loads(text)) == text
    assert "\n" not in text
