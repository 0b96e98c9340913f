"""The signed suppression log, the release signing key and the sealed-side commitments.

This is the only disclosure module that handles keys. ``seal`` turns a ``ProtectedDraft`` into a
signed ``Release``: one log entry per cell (published, suppressed, pooled) and per other decision
(noise, audit, policy, budget), framed by a ``header`` entry and a signed ``head`` entry.

Log format ``kansenkluis-log/1`` (docs/auditing.md describes it field by field):
- one canonical JSON object per line (``canonical_json``); every entry carries ``seq``,
  ``release_id``, ``policy_hash``, ``data_fingerprint``, ``code_version`` and ``prev_hash``, the
  sha256 of the previous line's bytes (the genesis entry has 64 zeros);
- the ``head`` entry holds ``head_hash`` (sha256 of the last entry before it) and an Ed25519
  signature over the rest of the head entry, so changing, dropping or reordering any line breaks
  either the chain or the signature.

What an entry never holds: a true count of a withheld cell, a pseudonym, or the specific primary
rule of a suppressed cell. The rule is withheld because "group_disclosure" on a cell says that
everyone in it shares the attribute; the public entry says ``primary`` and the specific rule and
count sit inside ``commitment`` = HMAC-SHA256(commitment key, release|seq|rule|count|nonce), which
only the sealed side (``open_commitment``, ``kluis audit open``) can open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kansenkluis.domain import CellStatus, GeoLevel, Rule
from kansenkluis.errors import InternalError, UserError

from .release import Decision, ProtectedDraft, Release, ReleaseCell
from .utility import release_utility

LOG_FORMAT = "kansenkluis-log/1"
GENESIS_HASH = "0" * 64
#: Domain separation: a head signature can never be mistaken for a signature over anything else.
HEAD_SIGNATURE_CONTEXT = b"kansenkluis-log-head/1\n"

SIGNING_KEY_FILE = "release_signing.key"
SIGNING_PUB_FILE = "release_signing.pub"
SIGNING_ARCHIVE_DIR = "archive"
ROTATIONS_FILE = "rotations.jsonl"
COMMITMENT_KEY_FILE = "commitment.key"
COMMITMENT_KEY_BYTES = 32

#: Entry kinds that stand for one row of cells.csv.
CELL_KINDS: frozenset[str] = frozenset(s.value for s in CellStatus)
#: The public rule class of every primary suppression; the specific rule is committed.
PRIMARY_RULE_CLASS = "primary"
PRIMARY_RULES: tuple[Rule, ...] = (Rule.MIN_CELL, Rule.GROUP_DISCLOSURE, Rule.COMPLEMENT)
WITHHELD_STATUSES: frozenset[CellStatus] = frozenset(
    {CellStatus.SUPPRESSED_PRIMARY, CellStatus.SUPPRESSED_SECONDARY, CellStatus.POOLED}
)

#: Fields every entry carries (null where they do not apply), in the order the docs list them.
COMMON_FIELDS: tuple[str, ...] = (
    "seq",
    "release_id",
    "policy_hash",
    "data_fingerprint",
    "code_version",
    "prev_hash",
    "kind",
    "rule",
    "indicator",
    "breakdown",
    "schooljaar",
    "geo_level",
    "geo_code",
    "status",
    "threshold",
    "detail",
)
#: Extra fields of a cell entry: exactly the cells.csv row, plus pool members and commitment.
CELL_FIELDS: tuple[str, ...] = (
    "geo_name",
    "numerator",
    "denominator",
    "percentage",
    "pooled_into",
    "members",
    "commitment",
    "nonce",
)

#: Detail keys that would put a true count or a person key in the public log.
_FORBIDDEN_DETAIL_KEYS: frozenset[str] = frozenset(
    {"sealed_count", "true_count", "exact_count", "count", "rin", "pseudonym", "rin_ouder"}
)
_WITHHELD_FORBIDDEN_DETAIL_KEYS: frozenset[str] = frozenset(
    {"numerator", "denominator", "percentage", "value", "exact"}
)


# --- canonical form ------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed and signed: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def policy_hash(policy: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the policy dict, as release.json's ``policy`` holds it."""
    return hashlib.sha256(canonical_json(dict(policy)).encode("utf-8")).hexdigest()


def metadata_hash(metadata: Mapping[str, Any]) -> str:
    """sha256 of release.json's content: binds every metadata field to the signed log."""
    return hashlib.sha256(canonical_json(dict(metadata)).encode("utf-8")).hexdigest()


def head_signing_message(head: Mapping[str, Any]) -> bytes:
    """What the head signature covers: the whole head entry except the signature itself."""
    unsigned = {k: v for k, v in head.items() if k != "signature"}
    return HEAD_SIGNATURE_CONTEXT + canonical_json(unsigned).encode("utf-8")


def public_key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def verify_head_signature(head: Mapping[str, Any], public_key: Ed25519PublicKey) -> bool:
    """True if ``head["signature"]`` (canonical base64) is a valid signature by ``public_key``."""
    encoded = head.get("signature")
    if not isinstance(encoded, str):
        return False
    try:
        signature = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    # Non-canonical base64 (spare bits set) decodes to the same bytes: refuse it, so that no
    # byte of the log can change unnoticed.
    if base64.b64encode(signature).decode("ascii") != encoded:
        return False
    try:
        public_key.verify(signature, head_signing_message(head))
    except InvalidSignature:
        return False
    return True


# --- keys ------------------------------------------------------------------------------------


class Signer:
    """The release signing key, loaded. Its private half never leaves this object."""

    __slots__ = ("_private", "key_id", "public_key_pem")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        public = private.public_key()
        self.key_id = public_key_fingerprint(public)
        self.public_key_pem = public_key_pem(public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id[:16]}...)"


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically (a crash leaves no half key)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_public(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _check_secret_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise UserError(
            "KEY_MISSING",
            f"{path} does not exist: no {what}",
            hint="run `kluis init` to create fresh keys (or set KLUIS_HOME to the right folder)",
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserError(
            "KEY_PERMISSIONS",
            f"{path} ({what}) is readable or writable by group or others (mode {mode:o})",
            hint=f"run `chmod 600 {path}`, and rotate the key if others may have read it",
        )


def create_signing_key(signing_dir: Path) -> None:
    """Create the Ed25519 release signing key (private 0600, folder 0700); never overwrite."""
    key_path = signing_dir / SIGNING_KEY_FILE
    if key_path.exists():
        raise UserError(
            "KEYS_EXIST",
            f"{key_path} already exists; refusing to overwrite the release signing key",
            hint="use `rotate_signing_key` (docs/auditing.md, key rotation) to replace it",
        )
    _private_dir(signing_dir)
    (signing_dir / SIGNING_ARCHIVE_DIR).mkdir(exist_ok=True)
    private = Ed25519PrivateKey.generate()
    _write_secret(key_path, _private_pem(private))
    _write_public(signing_dir / SIGNING_PUB_FILE, public_key_pem(private.public_key()))


def create_commitment_key(keys_dir: Path) -> None:
    """Create the sealed-side commitment key: 32 random bytes, mode 0600; never overwrite."""
    key_path = keys_dir / COMMITMENT_KEY_FILE
    if key_path.exists():
        raise UserError(
            "KEYS_EXIST",
            f"{key_path} already exists; refusing to overwrite the commitment key",
            hint="without it earlier commitments can no longer be opened; keep it",
        )
    _private_dir(keys_dir)
    _write_secret(key_path, secrets.token_bytes(COMMITMENT_KEY_BYTES))


def load_commitment_key(keys_dir: Path) -> bytes:
    """The commitment key (sealed side only), after checking its permissions and length."""
    key_path = keys_dir / COMMITMENT_KEY_FILE
    _check_secret_file(key_path, "commitment key")
    key = key_path.read_bytes()
    if len(key) != COMMITMENT_KEY_BYTES:
        raise UserError(
            "KEY_INVALID",
            f"{key_path} is not a {COMMITMENT_KEY_BYTES}-byte commitment key",
            hint="restore it from backup; a new key cannot open earlier commitments",
        )
    return key


def load_signer(signing_dir: Path) -> Signer:
    """The current release signing key; refuses a missing or group/world-accessible key file."""
    key_path = signing_dir / SIGNING_KEY_FILE
    _check_secret_file(key_path, "release signing key")
    try:
        private = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        private = None
    if not isinstance(private, Ed25519PrivateKey):
        raise UserError(
            "KEY_INVALID",
            f"{key_path} is not an unencrypted Ed25519 private key in PEM form",
            hint="restore it from backup, or rotate to a fresh key",
        )
    return Signer(private)


def rotate_signing_key(signing_dir: Path) -> str:
    """Replace the signing key; archive the old public key. Returns the new key's fingerprint.

    Earlier releases keep verifying: each export carries its own ``release.pub`` and the old
    public keys stay in ``archive/<fingerprint>.pub``. The old private key is destroyed, so a
    leaked old key file can no longer sign anything the operator would vouch for.
    """
    old = load_signer(signing_dir)
    archive = signing_dir / SIGNING_ARCHIVE_DIR
    archive.mkdir(exist_ok=True)
    _write_public(archive / f"{old.key_id}.pub", old.public_key_pem)
    private = Ed25519PrivateKey.generate()
    _write_secret(signing_dir / SIGNING_KEY_FILE, _private_pem(private))
    _write_public(signing_dir / SIGNING_PUB_FILE, public_key_pem(private.public_key()))
    new = Signer(private)
    with (signing_dir / ROTATIONS_FILE).open("a", encoding="utf-8") as f:
        f.write(canonical_json({"retired": old.key_id, "current": new.key_id}) + "\n")
    return new.key_id


# --- commitments -----------------------------------------------------------------------------


def _commitment_message(
    release_id: str, seq: int, rule: str, count: int | None, nonce: str
) -> bytes:
    return f"{release_id}|{seq}|{rule}|{'' if count is None else count}|{nonce}".encode()


def _commit(key: bytes, release_id: str, seq: int, rule: str, count: int | None, nonce: str) -> str:
    return hmac.digest(
        key, _commitment_message(release_id, seq, rule, count, nonce), "sha256"
    ).hex()


def open_commitment_rule(
    entry: Mapping[str, Any], commitment_key: bytes, max_count: int = 1_000_000
) -> tuple[str, int | None] | None:
    """Sealed side only: the (rule, count) an entry's commitment hides, or None if none fits.

    The count is ``None`` when the decision had no sealed count (the commitment then hides only
    the rule). Tries counts 0..max_count for each candidate rule, smallest counts first.
    """
    commitment, nonce = entry.get("commitment"), entry.get("nonce")
    if not isinstance(commitment, str) or not isinstance(nonce, str):
        return None
    release_id, seq = str(entry.get("release_id")), int(entry.get("seq", -1))
    public_rule = entry.get("rule")
    if public_rule == PRIMARY_RULE_CLASS:
        # The primary rules first; the rest only in case disclosure control used another id.
        rules = [r.value for r in PRIMARY_RULES] + [r.value for r in Rule if r not in PRIMARY_RULES]
    else:
        rules = [str(public_rule)]
    target = bytes.fromhex(commitment)
    for rule in rules:
        probe = _commitment_message(release_id, seq, rule, None, nonce)
        if hmac.compare_digest(hmac.digest(commitment_key, probe, "sha256"), target):
            return rule, None
    for count in range(max_count + 1):
        for rule in rules:
            probe = _commitment_message(release_id, seq, rule, count, nonce)
            if hmac.compare_digest(hmac.digest(commitment_key, probe, "sha256"), target):
                return rule, count
    return None


def open_commitment(
    entry: dict[str, Any], commitment_key: bytes, max_count: int = 1_000_000
) -> int | None:
    """Sealed side only: the true count an entry's commitment hides, or None."""
    opened = open_commitment_rule(entry, commitment_key, max_count)
    return None if opened is None else opened[1]


# --- sealing ---------------------------------------------------------------------------------

_CellKey = tuple[str, str, int, str, str]


def _decision_key(d: Decision) -> _CellKey | None:
    if d.indicator is None or d.breakdown is None or d.schooljaar is None:
        return None
    if d.geo_level is None or d.geo_code is None:
        return None
    return (d.indicator, d.breakdown, d.schooljaar, GeoLevel(d.geo_level).value, d.geo_code)


def _key_text(key: Iterable[Any]) -> str:
    return "/".join(str(k) for k in key)


def _jsonable(value: Any, where: str) -> Any:
    """Plain JSON values only (numpy scalars become Python numbers); fails loudly otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)  # a StrEnum becomes its plain value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InternalError("SEAL_BAD_DETAIL", f"{where}: a detail value is not finite")
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_jsonable(v, where) for v in items]
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item(), where)
    raise InternalError("SEAL_BAD_DETAIL", f"{where}: a detail value is not JSON ({type(value)})")


def _check_detail(detail: Mapping[str, Any], withheld: bool, where: str) -> None:
    def walk(d: Mapping[str, Any]) -> None:
        for k, v in d.items():
            name = str(k).lower()
            if name in _FORBIDDEN_DETAIL_KEYS or (
                withheld and name in _WITHHELD_FORBIDDEN_DETAIL_KEYS
            ):
                raise InternalError(
                    "SEAL_SENSITIVE_DETAIL",
                    f"{where}: decision detail has a key '{k}' that must never be logged",
                )
            if isinstance(v, Mapping):
                walk(v)

    walk(detail)


def _check_cell(cell: ReleaseCell) -> None:
    where = f"cell {_key_text(cell.key)}"
    if cell.status in WITHHELD_STATUSES and (
        cell.numerator is not None or cell.denominator is not None or cell.percentage is not None
    ):
        raise InternalError(
            "SEAL_WITHHELD_HAS_NUMBERS", f"{where}: a withheld cell carries numbers"
        )
    if (cell.status is CellStatus.POOLED) != (cell.pooled_into is not None):
        raise InternalError(
            "SEAL_POOLED_INTO", f"{where}: pooled_into must be set exactly for pooled cells"
        )


def seal(
    draft: ProtectedDraft,
    *,
    release_id: str,
    created_at: str,
    data_fingerprint: str,
    geography_fingerprint: str,
    code_version: str,
    run_report: dict[str, int],
    signer: Signer,
    commitment_key: bytes,
) -> Release:
    """Turn a draft into a signed Release whose suppression log covers every decision."""
    if len(commitment_key) < COMMITMENT_KEY_BYTES:
        raise UserError(
            "KEY_INVALID",
            f"the commitment key must be at least {COMMITMENT_KEY_BYTES} bytes",
            hint="create one with `kluis init`",
        )
    if policy_hash(draft.policy) != draft.policy_hash:
        raise InternalError(
            "SEAL_POLICY_HASH",
            "the draft's policy_hash is not sha256 of the canonical JSON of its policy",
        )
    unsigned = Release(
        id=release_id,
        schooljaar=draft.schooljaar,
        created_at=created_at,
        data_fingerprint=data_fingerprint,
        geography_fingerprint=geography_fingerprint,
        policy=draft.policy,
        policy_hash=draft.policy_hash,
        code_version=code_version,
        dp=draft.dp,
        percentage_basis=draft.percentage_basis,
        cells=draft.cells,
        pooling=draft.pooling,
        run_report=run_report,
        utility=release_utility(draft.cells),
    )
    metadata = unsigned.metadata()
    entries = _entries(draft, unsigned, signer, commitment_key, metadata_hash(metadata))
    lines = _chain(entries, signer)
    return unsigned.model_copy(
        update={"suppression_log": tuple(lines), "public_key_pem": signer.public_key_pem}
    )


def _entries(
    draft: ProtectedDraft,
    release: Release,
    signer: Signer,
    commitment_key: bytes,
    release_json_sha256: str,
) -> list[dict[str, Any]]:
    """All entries but the head, without ``seq``/``prev_hash`` (the chain adds those)."""
    cell_decisions: dict[_CellKey, Decision] = {}
    other: list[Decision] = []
    for d in draft.decisions:
        if d.kind not in CELL_KINDS:
            other.append(d)
            continue
        key = _decision_key(d)
        if key is None:
            raise InternalError(
                "SEAL_DECISION_KEY", f"a '{d.kind}' decision does not name its cell completely"
            )
        if key in cell_decisions:
            raise InternalError("SEAL_DECISION_DUPLICATE", f"two decisions for {_key_text(key)}")
        cell_decisions[key] = d

    members = {g.code: list(g.members) for g in draft.pooling}
    seen: set[_CellKey] = set()
    entries: list[dict[str, Any]] = [
        {
            "kind": "header",
            "format": LOG_FORMAT,
            "schooljaar": release.schooljaar,
            "created_at": release.created_at,
            "geography_fingerprint": release.geography_fingerprint,
            "percentage_basis": release.percentage_basis,
            "dp": None if release.dp is None else release.dp.model_dump(mode="json"),
            "public_key_sha256": signer.key_id,
            "cells": len(draft.cells),
            "release_json_sha256": release_json_sha256,
        }
    ]
    for cell in draft.cells:
        key = cell.key
        if key in seen:
            raise InternalError("SEAL_CELL_DUPLICATE", f"cell {_key_text(key)} occurs twice")
        seen.add(key)
        _check_cell(cell)
        decision = cell_decisions.pop(key, None)
        if decision is not None and decision.kind != cell.status.value:
            raise InternalError(
                "SEAL_DECISION_STATUS",
                f"cell {_key_text(key)}: the decision says {decision.kind}, "
                f"the cell says {cell.status.value}",
            )
        if decision is None:
            decision = Decision(kind=cell.status.value, rule=cell.rule, status=cell.status)
        entry = _decision_entry(decision, key, cell.status.value)
        entry.update(
            {
                "geo_name": cell.geo_name,
                "numerator": cell.numerator,
                "denominator": cell.denominator,
                "percentage": cell.percentage,
                "pooled_into": cell.pooled_into,
                "members": members.get(
                    cell.pooled_into if cell.pooled_into is not None else cell.geo_code
                ),
                "commitment": None,
                "nonce": None,
            }
        )
        entries.append(entry)
    if cell_decisions:
        first = next(iter(cell_decisions))
        raise InternalError(
            "SEAL_DECISION_WITHOUT_CELL",
            f"{len(cell_decisions)} cell decision(s) name no cell of the draft, e.g. "
            f"{_key_text(first)}",
        )
    for d in other:
        entries.append(_decision_entry(d, _decision_key(d), None if d.status is None else d.status))
    # The commitments need the final seq, so they are added once the order is fixed.
    for seq, (entry, decision) in enumerate(_with_decisions(entries)):
        if decision is None:
            continue
        needs = entry["rule"] == PRIMARY_RULE_CLASS or decision.sealed_count is not None
        if needs:
            nonce = secrets.token_hex(16)
            entry["nonce"] = nonce
            entry["commitment"] = _commit(
                commitment_key,
                release.id,
                seq,
                decision.rule.value,
                decision.sealed_count,
                nonce,
            )
    common = {
        "release_id": release.id,
        "policy_hash": release.policy_hash,
        "data_fingerprint": release.data_fingerprint,
        "code_version": release.code_version,
    }
    for entry in entries:
        for field in COMMON_FIELDS:
            entry.setdefault(field, None)
        entry.update(common)
        if entry["detail"] is None:
            entry["detail"] = {}
    return entries


def _with_decisions(
    entries: list[dict[str, Any]],
) -> list[tuple[dict[str, Any], Decision | None]]:
    """Pair each entry with the decision it came from (kept on the side, never serialised)."""
    return [(e, e.pop("_decision", None)) for e in entries]


def _decision_entry(d: Decision, key: _CellKey | None, status: Any) -> dict[str, Any]:
    where = f"{d.kind} decision" + ("" if key is None else f" for {_key_text(key)}")
    withheld = d.kind in ("suppressed_primary", "suppressed_secondary", "pooled")
    _check_detail(d.detail, withheld, where)
    rule: str = d.rule.value
    threshold = _jsonable(d.threshold, where)
    detail = _jsonable(dict(d.detail), where)
    # A published cell reveals nothing by its rule; any withheld or audited cell whose reason is
    # a primary rule must not say which one.
    hide_rule = d.kind == "suppressed_primary" or (
        d.kind != "published" and key is not None and d.rule in PRIMARY_RULES
    )
    if hide_rule:
        # Threshold and detail would name the specific rule (10 is min_cell, 20 group disclosure).
        rule, threshold, detail = PRIMARY_RULE_CLASS, None, {}
    entry: dict[str, Any] = {
        "kind": d.kind,
        "rule": rule,
        "status": None if status is None else str(getattr(status, "value", status)),
        "threshold": threshold,
        "detail": detail,
        "_decision": d,
    }
    if key is not None:
        entry.update(
            {
                "indicator": key[0],
                "breakdown": key[1],
                "schooljaar": key[2],
                "geo_level": key[3],
                "geo_code": key[4],
            }
        )
    elif d.kind not in CELL_KINDS:
        # A non-cell decision may still name part of a cell (say, the indicator of a noise step).
        entry.update(
            {
                "indicator": d.indicator,
                "breakdown": d.breakdown,
                "schooljaar": d.schooljaar,
                "geo_level": None if d.geo_level is None else GeoLevel(d.geo_level).value,
                "geo_code": d.geo_code,
            }
        )
    return entry


def _chain(entries: list[dict[str, Any]], signer: Signer) -> list[str]:
    lines: list[str] = []
    prev = GENESIS_HASH
    for seq, entry in enumerate(entries):
        entry["seq"] = seq
        entry["prev_hash"] = prev
        line = canonical_json(entry)
        lines.append(line)
        prev = line_hash(line)
    header = entries[0]
    head: dict[str, Any] = {field: None for field in COMMON_FIELDS}
    head.update(
        {
            "seq": len(entries),
            "release_id": header["release_id"],
            "policy_hash": header["policy_hash"],
            "data_fingerprint": header["data_fingerprint"],
            "code_version": header["code_version"],
            "prev_hash": prev,
            "kind": "head",
            "detail": {},
            "head_hash": prev,
            "entries": len(entries),
            "cells": header["cells"],
            "public_key_sha256": signer.key_id,
        }
    )
    head["signature"] = base64.b64encode(signer.sign(head_signing_message(head))).decode("ascii")
    lines.append(canonical_json(head))
    return lines
