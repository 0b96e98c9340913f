"""`kluis audit verify`: an untouched export passes; every kind of tampering is named.

The exports are built from a hand-made draft (``tests.support.builders.small_draft``) sealed with
a fresh key.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from disclosure import log
from disclosure.export import (
    CELLS_CSV,
    EXPORT_FILES,
    LOG_JSONL,
    RELEASE_JSON,
    RELEASE_PUB,
    export_release,
    render_cells_csv,
)
from disclosure.release import ProtectedDraft
from disclosure.verify import read_policy_limits, verify_export
from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import UserError
from tests.support.builders import (
    COMMITMENT_KEY,
    POLICY,
    YEAR,
    decision_for,
    release_cell,
    seal_draft,
    small_draft,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, signer) -> Path:
    out = tmp_path_factory.mktemp("pristine") / "export"
    export_release(seal_draft(small_draft(), signer), out)
    return out


@pytest.fixture
def export(pristine, tmp_path) -> Path:
    target = tmp_path / "export"
    shutil.copytree(pristine, target)
    return target


def failures_of(path: Path, key: Path | None = None) -> str:
    result = verify_export(path, key)
    assert not result.ok
    assert result.failures
    return "\n".join(result.failures)


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


# --- the untouched export -----------------------------------------------------------------------


def test_an_untouched_export_verifies(pristine):
    result = verify_export(pristine)
    assert result.failures == []
    assert result.ok
    assert result.checked["cells"] == 10
    assert result.checked["published"] == 5
    assert result.checked["suppressed_primary"] == 2
    assert result.checked["pooled"] == 2
    assert result.checked["published_rechecked"] == 5
    assert result.checked["signature_ok"] == 1
    assert result.checked["log_entries"] == 13  # header + 10 cells + 1 audit + head


def test_export_writes_the_four_contract_files(pristine):
    assert sorted(p.name for p in pristine.iterdir()) == sorted(EXPORT_FILES)
    header = read_lines(pristine / CELLS_CSV)[0]
    assert header == (
        "indicator,breakdown,schooljaar,geo_level,geo_code,geo_name,numerator,denominator,"
        "percentage,status,pooled_into"
    )
    rows = read_lines(pristine / CELLS_CSV)[1:]
    suppressed = [r for r in rows if ",suppressed_primary," in r]
    assert suppressed and all(",,,,suppressed_primary," in r for r in suppressed)


def test_the_export_verifies_with_the_same_key_given_explicitly(pristine, signer, tmp_path):
    key = tmp_path / "trusted.pub"
    key.write_text(signer.public_key_pem)
    assert verify_export(pristine, key).ok


def test_export_refuses_a_folder_holding_another_release(pristine, signer, tmp_path):
    out = tmp_path / "x"
    export_release(seal_draft(small_draft(), signer, release_id="R-one"), out)
    export_release(seal_draft(small_draft(), signer, release_id="R-one"), out)  # same release: fine
    with pytest.raises(UserError) as e:
        export_release(seal_draft(small_draft(), signer, release_id="R-two"), out)
    assert e.value.code == "EXPORT_FOLDER_IN_USE"


# --- tampering: each case must fail and say what was wrong ------------------------------------


def _edit_csv(export: Path, row: int, column: str, value: str) -> None:
    lines = read_lines(export / CELLS_CSV)
    header = lines[0].split(",")
    fields = lines[row].split(",")
    fields[header.index(column)] = value
    lines[row] = ",".join(fields)
    write_lines(export / CELLS_CSV, lines)


def _row_of(export: Path, geo_code: str) -> int:
    return next(i for i, r in enumerate(read_lines(export / CELLS_CSV)) if f",{geo_code}," in r)


def changed_numerator(export: Path) -> None:
    _edit_csv(export, _row_of(export, "WK000101"), "numerator", "30")


def changed_percentage(export: Path) -> None:
    _edit_csv(export, _row_of(export, "GM0001"), "percentage", "31.0")


def changed_status(export: Path) -> None:
    _edit_csv(export, _row_of(export, "WK000104"), "status", "published")


def number_in_a_suppressed_row(export: Path) -> None:
    _edit_csv(export, _row_of(export, "WK000102"), "numerator", "5")


def extra_row(export: Path) -> None:
    lines = read_lines(export / CELLS_CSV)
    lines.append(lines[1].replace(",NL,", ",WK000199,"))
    write_lines(export / CELLS_CSV, lines)


def duplicated_row(export: Path) -> None:
    lines = read_lines(export / CELLS_CSV)
    write_lines(export / CELLS_CSV, [*lines, lines[3]])


def deleted_row(export: Path) -> None:
    lines = read_lines(export / CELLS_CSV)
    del lines[5]
    write_lines(export / CELLS_CSV, lines)


def reordered_rows(export: Path) -> None:
    lines = read_lines(export / CELLS_CSV)
    lines[2], lines[3] = lines[3], lines[2]
    write_lines(export / CELLS_CSV, lines)


def truncated_csv(export: Path) -> None:
    data = (export / CELLS_CSV).read_bytes()
    (export / CELLS_CSV).write_bytes(data[: len(data) // 2])


def deleted_log_line(export: Path) -> None:
    lines = read_lines(export / LOG_JSONL)
    del lines[4]
    write_lines(export / LOG_JSONL, lines)


def reordered_log_lines(export: Path) -> None:
    lines = read_lines(export / LOG_JSONL)
    lines[3], lines[4] = lines[4], lines[3]
    write_lines(export / LOG_JSONL, lines)


def altered_log_line(export: Path) -> None:
    """A careful forger: changes a status, keeps canonical form, fixes cells.csv to match."""
    lines = read_lines(export / LOG_JSONL)
    entry = json.loads(lines[7])
    assert entry["status"] == "suppressed_secondary"
    entry.update(kind="published", status="published", rule="published")
    lines[7] = log.canonical_json(entry)
    write_lines(export / LOG_JSONL, lines)


def altered_head(export: Path) -> None:
    lines = read_lines(export / LOG_JSONL)
    head = json.loads(lines[-1])
    head["cells"] += 1
    lines[-1] = log.canonical_json(head)
    write_lines(export / LOG_JSONL, lines)


def log_truncated_mid_line(export: Path) -> None:
    data = (export / LOG_JSONL).read_bytes()
    (export / LOG_JSONL).write_bytes(data[: len(data) - 40])


def log_truncated_at_a_line(export: Path) -> None:
    lines = read_lines(export / LOG_JSONL)
    write_lines(export / LOG_JSONL, lines[:-3])


def log_reformatted(export: Path) -> None:
    lines = read_lines(export / LOG_JSONL)
    lines[2] = json.dumps(json.loads(lines[2]), indent=1).replace("\n", "")
    write_lines(export / LOG_JSONL, lines)


def swapped_public_key(export: Path) -> None:
    other = log.Signer(Ed25519PrivateKey.generate())
    (export / RELEASE_PUB).write_text(other.public_key_pem)


def damaged_public_key(export: Path) -> None:
    (export / RELEASE_PUB).write_text(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    )


def weakened_policy(export: Path) -> None:
    meta = json.loads((export / RELEASE_JSON).read_text())
    meta["policy"]["min_cell"] = 5
    (export / RELEASE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def weakened_policy_and_its_hash(export: Path) -> None:
    meta = json.loads((export / RELEASE_JSON).read_text())
    meta["policy"]["min_cell"] = 5
    meta["policy_hash"] = log.policy_hash(meta["policy"])
    (export / RELEASE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def changed_run_report(export: Path) -> None:
    meta = json.loads((export / RELEASE_JSON).read_text())
    meta["run_report"]["pupils_without_adres"] = 0
    (export / RELEASE_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def reformatted_release_json(export: Path) -> None:
    meta = json.loads((export / RELEASE_JSON).read_text())
    (export / RELEASE_JSON).write_text(json.dumps(meta) + "\n")


def csv_without_final_newline(export: Path) -> None:
    text = (export / CELLS_CSV).read_text()
    (export / CELLS_CSV).write_text(text[:-1])


def _missing(name: str) -> Callable[[Path], None]:
    def remove(export: Path) -> None:
        (export / name).unlink()

    remove.__name__ = f"missing_{name}"
    return remove


TAMPERING: list[tuple[Callable[[Path], None], list[str]]] = [
    (changed_numerator, ["row 4 (heroverweging/totaal/2023/wijk/WK000101)", "numerator", "'30'"]),
    (changed_percentage, ["GM0001", "percentage", "signed log"]),
    (changed_status, ["WK000104", "status"]),
    (number_in_a_suppressed_row, ["WK000102", "no numbers on withheld rows"]),
    (extra_row, ["WK000199", "extra row"]),
    (duplicated_row, ["duplicates row"]),
    (deleted_row, ["missing", "row deleted"]),
    (reordered_rows, ["not in the log's order"]),
    (truncated_csv, ["cells.csv"]),
    (deleted_log_line, ["line 5", "prev_hash", "seq"]),
    (reordered_log_lines, ["line 4", "prev_hash", "reordered"]),
    (altered_log_line, ["line 9", "prev_hash"]),
    (altered_head, ["signature does not verify"]),
    (log_truncated_mid_line, ["suppression_log.jsonl", "truncated"]),
    (log_truncated_at_a_line, ["not the signed head entry", "truncated"]),
    (log_reformatted, ["line 3", "canonical"]),
    (swapped_public_key, ["signature does not verify", "wrong or swapped public key"]),
    (damaged_public_key, ["release.pub", "not a PEM public key"]),
    (weakened_policy, ["policy does not hash to policy_hash"]),
    (weakened_policy_and_its_hash, ["policy_hash differs from the signed log header"]),
    (changed_run_report, ["release_json_sha256"]),
    (reformatted_release_json, ["release.json is not in its exported form"]),
    (csv_without_final_newline, ["cells.csv does not end with a newline"]),
    *[(_missing(name), [f"{name} is missing"]) for name in EXPORT_FILES],
]


@pytest.mark.parametrize(("tamper", "expected"), TAMPERING, ids=[t.__name__ for t, _ in TAMPERING])
def test_tampering_is_detected_and_named(export, tamper, expected):
    tamper(export)
    text = failures_of(export)
    for fragment in expected:
        assert fragment in text, text


def test_a_changed_number_alone_is_reported_once_with_cell_and_column(export):
    changed_numerator(export)
    result = verify_export(export)
    # The CSV no longer matches the log, and 30/100 is not 25.0%: both are real failures.
    assert len(result.failures) == 2
    assert any("[percentage_basis]" in f for f in result.failures)


def test_a_withheld_number_is_never_echoed(export):
    _edit_csv(export, _row_of(export, "WK000102"), "numerator", "7")
    text = failures_of(export)
    assert "'7'" not in text and " 7 " not in text


def test_another_trusted_key_fails_even_if_the_export_is_intact(export, tmp_path):
    other = tmp_path / "other.pub"
    other.write_text(log.Signer(Ed25519PrivateKey.generate()).public_key_pem)
    text = failures_of(export, other)
    assert "is not the public key you supplied" in text
    assert "signature does not verify with" in text


def test_a_folder_that_is_not_there(tmp_path):
    assert "is not a folder" in failures_of(tmp_path / "nope")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_in_any_file_is_detected(pristine, data):
    name = data.draw(st.sampled_from(EXPORT_FILES))
    original = (pristine / name).read_bytes()
    position = data.draw(st.integers(0, len(original) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]))
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "export"
        shutil.copytree(pristine, target)
        (target / name).write_bytes(original[:position] + bytes([byte]) + original[position + 1 :])
        assert not verify_export(target).ok


# --- key rotation -----------------------------------------------------------------------------


def test_a_release_from_before_a_rotation_still_verifies_with_its_own_key(tmp_path):
    signing = tmp_path / "signing"
    log.create_signing_key(signing)
    old_export, new_export = tmp_path / "old", tmp_path / "new"
    export_release(seal_draft(small_draft(), log.load_signer(signing), "R-old"), old_export)
    log.rotate_signing_key(signing)
    export_release(seal_draft(small_draft(), log.load_signer(signing), "R-new"), new_export)

    assert verify_export(old_export).ok
    assert verify_export(new_export).ok
    new_pub = signing / log.SIGNING_PUB_FILE
    archived = next((signing / "archive").iterdir())
    assert verify_export(old_export, archived).ok
    assert not verify_export(old_export, new_pub).ok
    assert "signature does not verify" in failures_of(old_export, new_pub)
    assert not verify_export(new_export, archived).ok


# --- a correctly signed release that breaks the policy still fails ------------------------------


def _one_cell_draft(c, policy=None, basis="rounded", dp=None, pooling=()) -> ProtectedDraft:
    policy = policy or POLICY
    return ProtectedDraft(
        schooljaar=2023,
        policy=policy,
        policy_hash=log.policy_hash(policy),
        percentage_basis=basis,
        cells=(c,),
        decisions=(decision_for(c),),
        dp=dp,
        pooling=pooling,
    )


def _published(num, den, pct=None):
    c = release_cell(GeoLevel.WIJK, "WK000101", CellStatus.PUBLISHED, num, den, schooljaar=YEAR)
    return c if pct is None else c.model_copy(update={"percentage": pct})


def _signed_export(draft, signer, tmp_path) -> Path:
    out = tmp_path / "signed"
    export_release(seal_draft(draft, signer), out)
    return out


@pytest.mark.parametrize(
    ("c", "rule"),
    [
        (_published(5, 5), "[min_cell]"),
        (_published(0, 15), "[group_disclosure]"),
        (_published(15, 15), "[group_disclosure]"),
        (_published(12, 40), "[rounding_base]"),
        (_published(10, 40, pct=30.0), "[percentage_basis]"),
        (_published(10, 40, pct=25.04), "[rounding]"),
        (_published(45, 40), "[0 <= numerator <= denominator]"),
    ],
    ids=["min_cell", "zero", "hundred", "rounding", "percentage", "decimals", "num>den"],
)
def test_a_signed_release_that_breaks_the_policy_fails(signer, tmp_path, c, rule):
    out = _signed_export(_one_cell_draft(c), signer, tmp_path)
    result = verify_export(out)
    assert result.checked.get("signature_ok") == 1
    assert not result.ok
    assert any(rule in f and "WK000101" in f for f in result.failures), result.failures


def test_zero_percent_with_a_large_denominator_is_fine(signer, tmp_path):
    assert verify_export(_signed_export(_one_cell_draft(_published(0, 20)), signer, tmp_path)).ok


def test_exact_basis_accepts_a_percentage_within_the_rounding_of_the_counts(signer, tmp_path):
    # Exact 24/98 = 24.5%, published as 25/100 (rounded counts) with the exact percentage.
    ok = _one_cell_draft(_published(25, 100, pct=24.5), basis="exact")
    assert verify_export(_signed_export(ok, signer, tmp_path)).ok
    bad = _one_cell_draft(_published(25, 100, pct=40.0), basis="exact")
    assert "[percentage_basis]" in failures_of(_signed_export(bad, signer, tmp_path / "b"))


def test_complement_rule_is_checked_when_the_policy_turns_it_on(signer, tmp_path):
    policy = {**POLICY, "complement_k": 10}
    draft = _one_cell_draft(_published(40, 45), policy=policy)
    assert "[complement]" in failures_of(_signed_export(draft, signer, tmp_path))


def test_a_pooled_row_must_name_a_pool_that_holds_it(signer, tmp_path):
    c = release_cell(
        GeoLevel.WIJK,
        "WK000105",
        CellStatus.POOLED,
        rule=Rule.POOLED_WIJK,
        pooled_into="WG000999",
        schooljaar=YEAR,
    )
    text = failures_of(_signed_export(_one_cell_draft(c, pooling=()), signer, tmp_path))
    assert "not a pool of release.json" in text
    assert "no row for pool WG000999" in text


def _resign(export: Path, signer: log.Signer, mutate: Callable[[dict], None]) -> None:
    """Play a dishonest operator who holds the key: change entries, re-chain, re-sign."""
    entries = [json.loads(line) for line in read_lines(export / LOG_JSONL)]
    body = entries[:-1]
    for e in body:
        mutate(e)
    prev, lines = log.GENESIS_HASH, []
    for e in body:
        e["prev_hash"] = prev
        lines.append(log.canonical_json(e))
        prev = log.line_hash(lines[-1])
    head = {**entries[-1], "prev_hash": prev, "head_hash": prev}
    head.pop("signature")
    head["signature"] = base64.b64encode(signer.sign(log.head_signing_message(head))).decode()
    write_lines(export / LOG_JSONL, [*lines, log.canonical_json(head)])
    cell_entries = [e for e in body if e["kind"] in log.CELL_KINDS]
    (export / CELLS_CSV).write_text(render_cells_csv(cell_entries))


def test_a_re_signed_release_with_numbers_in_a_withheld_row_still_fails(export, signer):
    def leak(e: dict) -> None:
        if e.get("geo_code") == "WK000102":
            e.update(numerator=5, denominator=9)

    _resign(export, signer, leak)
    result = verify_export(export)
    assert result.checked.get("signature_ok") == 1
    assert any("WK000102" in f and "no numbers on withheld rows" in f for f in result.failures)


def test_a_re_signed_log_naming_the_specific_primary_rule_fails(export, signer):
    def name_rule(e: dict) -> None:
        if e.get("geo_code") == "WK000103":
            e["rule"] = "group_disclosure"

    _resign(export, signer, name_rule)
    assert "names its specific rule" in failures_of(export)


# --- reading the policy tolerantly ------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        {"min_cell": 10, "group_disclosure_min": 20, "rounding_base": 5},
        {"suppression": {"min_cell": 10, "group_disclosure_min": 20}, "rounding": {"base": 5}},
        {"min_cell": 10, "group_disclosure": {"min": 20}, "rounding": {"base": 5}},
    ],
)
def test_policy_limits_are_found_at_the_top_or_in_sections(policy):
    limits = read_policy_limits(policy)
    assert (limits.min_cell, limits.group_disclosure_min, limits.rounding_base) == (10, 20, 5)
    assert limits.complement_k is None
    assert limits.problems == ()


def test_policy_limits_report_what_is_missing_or_ambiguous():
    limits = read_policy_limits({"a": {"min_cell": 10}, "b": {"min_cell": 50}})
    text = "\n".join(limits.problems)
    assert "sets min_cell differently" in text
    assert "no group_disclosure_min" in text
    assert "no rounding_base" in text


def test_complement_is_off_when_disabled_or_zero():
    base = {"min_cell": 10, "group_disclosure_min": 20, "rounding_base": 5}
    assert read_policy_limits({**base, "complement_k": 0}).complement_k is None
    off = {**base, "complement": {"k": 3, "enabled": False}}
    assert read_policy_limits(off).complement_k is None
    on = {**base, "complement": {"k": 3, "enabled": True}}
    assert read_policy_limits(on).complement_k == 3


def test_commitment_key_never_needed_to_verify(pristine):
    # verify_export takes no secret: a folder of four public files is all it reads.
    assert verify_export(pristine).ok
    assert COMMITMENT_KEY.hex() not in "".join((pristine / n).read_text() for n in EXPORT_FILES)


def test_the_shipped_policy_is_read_as_disclosure_control_writes_it():
    from disclosure.policy import load_policy, policy_dict

    policy = policy_dict(load_policy())
    limits = read_policy_limits(policy)
    assert limits.problems == ()
    assert limits.min_cell == policy["primary"]["min_cell"]
    assert limits.group_disclosure_min == policy["primary"]["group_disclosure_min"]
    assert limits.rounding_base == policy["rounding"]["base"]
    assert limits.percentage_decimals == policy["rounding"]["percentage_decimals"]
    assert limits.percentage_basis == policy["rounding"]["percentage_basis"]
    # complement_k is set but complement_rule is off by default
    assert policy["primary"]["complement_rule"] is False
    assert limits.complement_k is None
    on = {**policy, "primary": {**policy["primary"], "complement_rule": True}}
    assert read_policy_limits(on).complement_k == policy["primary"]["complement_k"]


def test_a_release_under_the_shipped_policy_verifies_and_its_basis_is_checked(signer, tmp_path):
    from disclosure.policy import load_policy, policy_dict

    policy = policy_dict(load_policy())
    c = _published(5, 40)
    assert verify_export(_signed_export(_one_cell_draft(c, policy=policy), signer, tmp_path)).ok
    other = _one_cell_draft(c, policy=policy, basis="exact")
    text = failures_of(_signed_export(other, signer, tmp_path / "b"))
    assert "is not the policy's 'rounded' [percentage_basis]" in text


def test_percentage_decimals_follow_the_policy(signer, tmp_path):
    two = {**POLICY, "percentage_decimals": 2}
    c = _published(10, 15, pct=66.67)
    assert verify_export(_signed_export(_one_cell_draft(c, policy=two), signer, tmp_path)).ok
    one = _one_cell_draft(c, policy=POLICY)
    assert "[rounding]" in failures_of(_signed_export(one, signer, tmp_path / "b"))


def test_verify_release_checks_a_release_as_its_export(signer):
    from disclosure.verify import verify_release

    release = seal_draft(small_draft(), signer)
    assert verify_release(release).ok
    forged = release.model_copy(update={"suppression_log": release.suppression_log[:-1]})
    assert not verify_release(forged).ok


def test_an_export_without_its_release_pub_fails_even_with_a_trusted_key(export, signer, tmp_path):
    key = tmp_path / "trusted.pub"
    key.write_text(signer.public_key_pem)
    (export / RELEASE_PUB).unlink()
    assert "release.pub is missing" in failures_of(export, key)


def test_noisy_unrounded_counts_pass_only_under_differential_privacy(signer, tmp_path):
    from disclosure.release import DPParams

    dp = DPParams(
        epsilon=1.0,
        mechanism="discrete_laplace",
        weights={"groep8": 1.0},
        scales={"groep8": 2.5},
    )
    noisy = _published(12, 41)
    assert verify_export(_signed_export(_one_cell_draft(noisy, dp=dp), signer, tmp_path)).ok
    plain = _signed_export(_one_cell_draft(noisy), signer, tmp_path / "b")
    assert "[rounding_base]" in failures_of(plain)


def test_a_name_that_a_spreadsheet_would_run_fails_verification(export):
    _edit_csv(export, 1, "geo_name", "=HYPERLINK(x)")
    assert "starts like a spreadsheet formula" in failures_of(export)
