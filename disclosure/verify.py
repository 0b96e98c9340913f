"""``kluis audit verify DIR``: check a release export with nothing but the export itself.

No store, no secret key: only release.json, cells.csv, suppression_log.jsonl and the public key
(the export's release.pub, or one the auditor got from the operator by another channel). Checks:

1. the log: every line canonical JSON, ``seq`` consecutive, each ``prev_hash`` the sha256 of the
   line before, header first, signed head last, the head signature valid for the public key;
2. release.json: byte-identical to its exported rendering, equal to the metadata the log signs
   (``release_json_sha256``), and its ``policy`` hashing to its ``policy_hash``;
3. cells.csv: the same cells as the log's cell entries, in the same order, with the same
   statuses and numbers, rendered byte for byte as the export writes them;
4. the policy, re-checked on every row: minimum cell, 0/100% only with a large enough
   denominator, the complement rule if on, counts rounded, percentage consistent with its basis,
   withheld rows without numbers, pooled rows naming a pool that holds them.

Nothing is tolerated silently: each failure names the file, the line or row, the cell and the rule.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from kansenkluis.domain import CellStatus, GeoLevel

from .export import (
    CELLS_CSV,
    LOG_JSONL,
    RELEASE_JSON,
    RELEASE_PUB,
    export_release,
    render_cells_csv,
    render_csv_value,
    render_release_json,
)
from .log import (
    CELL_FIELDS,
    CELL_KINDS,
    COMMON_FIELDS,
    GENESIS_HASH,
    LOG_FORMAT,
    PRIMARY_RULE_CLASS,
    canonical_json,
    line_hash,
    metadata_hash,
    policy_hash,
    public_key_fingerprint,
    public_key_pem,
    verify_head_signature,
)
from .release import CELL_CSV_COLUMNS, Release, ReleaseCell
from .utility import release_utility

#: More failures than this are counted, not listed: one broken file can fail every row.
MAX_LISTED_FAILURES = 500

_INT = re.compile(r"^(0|[1-9][0-9]*)$")
_PCT = re.compile(r"^(0|[1-9][0-9]*)\.([0-9]+)$")
_KEY_COLUMNS = ("indicator", "breakdown", "schooljaar", "geo_level", "geo_code")
_STATUSES = frozenset(s.value for s in CellStatus)
_GEO_LEVELS = frozenset(g.value for g in GeoLevel)
#: release.json fields that the header entry repeats (release.json name -> header name).
_HEADER_FIELDS = {
    "id": "release_id",
    "policy_hash": "policy_hash",
    "data_fingerprint": "data_fingerprint",
    "code_version": "code_version",
    "schooljaar": "schooljaar",
    "created_at": "created_at",
    "geography_fingerprint": "geography_fingerprint",
    "percentage_basis": "percentage_basis",
    "dp": "dp",
}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    failures: list[str]
    checked: dict[str, int]


def verify_export(export_dir: Path, public_key: Path | None = None) -> VerifyResult:
    """Verify an export folder; ``public_key`` overrides the export's own release.pub."""
    v = _Verifier(export_dir, public_key)
    v.run()
    failures = v.failures[:MAX_LISTED_FAILURES]
    if len(v.failures) > MAX_LISTED_FAILURES:
        failures.append(f"... and {len(v.failures) - MAX_LISTED_FAILURES} more failures")
    return VerifyResult(ok=not v.failures, failures=failures, checked=dict(v.checked))


# --- the policy as release.json states it ----------------------------------------------------


@dataclass(frozen=True)
class PolicyLimits:
    """The thresholds the verifier re-checks, read tolerantly from release.json's policy."""

    min_cell: int | None
    group_disclosure_min: int | None
    rounding_base: int | None
    complement_k: int | None
    #: decimals of a published percentage (docs/release-format.md: one)
    percentage_decimals: int = 1
    #: the basis the policy asks for, if it names one
    percentage_basis: str | None = None
    problems: tuple[str, ...] = ()


_ALIASES: dict[str, tuple[str, ...]] = {
    "min_cell": ("min_cell", "minimum_cell", "min_cell_size", "min_denominator"),
    "group_disclosure_min": (
        "group_disclosure_min",
        "group_disclosure_min_denominator",
        "group_disclosure_denominator",
        "group_disclosure",
    ),
    "rounding_base": ("rounding_base", "round_to", "rounding_multiple", "rounding"),
    "complement_k": ("complement_k", "complement"),
}


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, Mapping):
        out: list[tuple[tuple[str, ...], Any]] = []
        for k, v in value.items():
            out.extend(_leaves(v, (*path, str(k))))
        return out
    return [(path, value)]


def _matches(path: tuple[str, ...], name: str) -> bool:
    """True if the last components of ``path``, joined by '_', spell ``name``.

    So ``min_cell``, ``suppression.min_cell`` and ``group_disclosure.min`` (for
    ``group_disclosure_min``) all match.
    """
    return any("_".join(path[i:]) == name for i in range(len(path)))


def _find_number(leaves: list[tuple[tuple[str, ...], Any]], names: tuple[str, ...]) -> Any:
    """The numeric setting spelled by the first of ``names`` that the policy has.

    A top-level key wins; otherwise every match anywhere must agree. Returns None if absent,
    or a str describing an ambiguity.
    """
    for name in names:
        values = {
            ".".join(path): v
            for path, v in leaves
            if _matches(path, name) and isinstance(v, int | float) and not isinstance(v, bool)
        }
        if name in values:
            return values[name]
        if len(set(values.values())) > 1:
            return f"the policy sets {name} differently at {', '.join(sorted(values))}"
        if values:
            return next(iter(values.values()))
    return None


def read_policy_limits(policy: Mapping[str, Any]) -> PolicyLimits:
    leaves = _leaves(policy)
    found: dict[str, int | None] = {}
    problems: list[str] = []
    for key, names in _ALIASES.items():
        value = _find_number(leaves, names)
        if isinstance(value, str):
            problems.append(value)
            value = None
        elif value is not None:
            if float(value) != int(value) or value < 0:
                problems.append(f"the policy's {key} is not a whole number >= 0")
                value = None
            else:
                value = int(value)
        found[key] = value
    for key in ("min_cell", "group_disclosure_min", "rounding_base"):
        if found[key] is None and not any(key in p for p in problems):
            problems.append(
                f"the policy in release.json has no {key} (looked for {', '.join(_ALIASES[key])}, "
                "at the top level or in a section)"
            )
    # The complement rule is off unless the policy both gives k > 0 and does not disable it.
    flag_names = ("complement_rule", "complement_enabled", "complement")
    enabled_flags = [
        v
        for path, v in leaves
        if isinstance(v, bool) and any(_matches(path, name) for name in flag_names)
    ]
    complement = found["complement_k"]
    if complement is not None and (complement <= 0 or False in enabled_flags):
        complement = None
    if complement is None and True in enabled_flags:
        problems.append("the policy enables the complement rule but gives no complement_k")
    decimals = _find_number(leaves, ("percentage_decimals",))
    if decimals is None:
        decimals = 1
    elif isinstance(decimals, str) or decimals != int(decimals) or not 0 <= decimals <= 6:
        problems.append("the policy's percentage_decimals is not a whole number from 0 to 6")
        decimals = 1
    bases = {v for path, v in leaves if _matches(path, "percentage_basis") and isinstance(v, str)}
    if len(bases) > 1:
        problems.append("the policy names more than one percentage_basis")
    return PolicyLimits(
        min_cell=found["min_cell"],
        group_disclosure_min=found["group_disclosure_min"],
        rounding_base=found["rounding_base"] or None,
        complement_k=complement,
        percentage_decimals=int(decimals),
        percentage_basis=next(iter(bases)) if len(bases) == 1 else None,
        problems=tuple(problems),
    )


# --- the verifier ------------------------------------------------------------------------------


#: A text that starts with one of these is run as a formula by a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Row:
    __slots__ = ("key", "number", "values")

    def __init__(self, number: int, values: dict[str, str]) -> None:
        self.number = number  # 1-based data row (the header line is row 0)
        self.values = values
        self.key = tuple(values[c] for c in _KEY_COLUMNS)

    @property
    def where(self) -> str:
        return f"cells.csv row {self.number} ({'/'.join(self.key)})"


@dataclass
class _Verifier:
    export_dir: Path
    public_key_path: Path | None
    failures: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    key: Ed25519PublicKey | None = None
    key_source: str = RELEASE_PUB
    entries: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    header: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    rows: list[_Row] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def count(self, name: str, n: int = 1) -> None:
        self.checked[name] = self.checked.get(name, 0) + n

    def run(self) -> None:
        if not self.export_dir.is_dir():
            self.fail(f"{self.export_dir} is not a folder")
            return
        self.load_key()
        self.check_log()
        self.check_release_json()
        self.check_cells_csv()
        self.check_policy()
        self.check_utility()

    # --- reading -------------------------------------------------------------------------

    def read_text(self, name: str) -> str | None:
        path = self.export_dir / name
        if not path.is_file():
            self.fail(f"{name} is missing from the export")
            return None
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            self.fail(f"{name} is not valid UTF-8 (damaged or altered)")
            return None
        if not text.endswith("\n"):
            self.fail(f"{name} does not end with a newline: the file is truncated")
        return text

    def load_key(self) -> None:
        exported = self.export_dir / RELEASE_PUB
        if not exported.is_file():
            self.fail(f"{RELEASE_PUB} is missing from the export")
        if self.public_key_path is None:
            if exported.is_file():
                self.key = self._parse_key(exported, RELEASE_PUB)
            return
        self.key_source = str(self.public_key_path)
        self.key = self._parse_key(self.public_key_path, self.key_source)
        if self.key is None or not exported.is_file():
            return
        theirs = self._parse_key(exported, RELEASE_PUB)
        if theirs is None:
            return
        ours, their_id = public_key_fingerprint(self.key), public_key_fingerprint(theirs)
        if ours != their_id:
            self.fail(
                f"{RELEASE_PUB} in the export is not the public key you supplied "
                f"({their_id[:16]} vs {ours[:16]}): the export's key was swapped"
            )

    def _parse_key(self, path: Path, name: str) -> Ed25519PublicKey | None:
        if not path.is_file():
            self.fail(f"public key {name} does not exist")
            return None
        data = path.read_bytes()
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            self.fail(f"{name} is not a PEM public key (damaged or swapped)")
            return None
        if not isinstance(key, Ed25519PublicKey):
            self.fail(f"{name} is not an Ed25519 public key")
            return None
        if data.decode("ascii", errors="replace") != public_key_pem(key):
            self.fail(f"{name} is not in its exported PEM form (altered)")
        return key

    # --- 1. the log ----------------------------------------------------------------------

    def check_log(self) -> None:
        text = self.read_text(LOG_JSONL)
        if text is None:
            return
        lines = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
        prev_hash = GENESIS_HASH
        prev_seq: int | None = None
        for lineno, line in enumerate(lines, start=1):
            where = f"{LOG_JSONL} line {lineno}"
            entry = self._parse_line(line, where)
            if entry is not None:
                self.entries.append((lineno, entry))
                if entry.get("prev_hash") != prev_hash:
                    self.fail(
                        f"{where}: prev_hash is not the hash of the line before it: a line was "
                        "changed, removed or reordered"
                    )
                seq = entry.get("seq")
                expected = 0 if prev_seq is None else prev_seq + 1
                if seq != expected:
                    self.fail(
                        f"{where}: seq {seq} where {expected} was expected: "
                        "entries are missing or reordered"
                    )
                prev_seq = seq if isinstance(seq, int) else expected
            prev_hash = line_hash(line)
        self.count("log_entries", len(lines))
        if not self.entries:
            self.fail(f"{LOG_JSONL} holds no entries")
            return
        self._check_frame(lines)

    def _parse_line(self, line: str, where: str) -> dict[str, Any] | None:
        if not line:
            self.fail(f"{where} is empty")
            return None
        try:
            entry = json.loads(line)
        except ValueError:
            self.fail(f"{where} is not valid JSON: truncated or altered")
            return None
        if not isinstance(entry, dict):
            self.fail(f"{where} is not a JSON object")
            return None
        try:
            canonical = canonical_json(entry)
        except ValueError:
            canonical = None
        if canonical != line:
            self.fail(f"{where} is not in canonical JSON form: altered")
        missing = [f for f in COMMON_FIELDS if f not in entry]
        if entry.get("kind") in CELL_KINDS:
            missing += [f for f in CELL_FIELDS if f not in entry]
        if missing:
            self.fail(f"{where} lacks the field(s) {', '.join(missing)}")
        return entry

    def _check_frame(self, lines: list[str]) -> None:
        first_lineno, header = self.entries[0]
        if header.get("kind") != "header" or first_lineno != 1:
            self.fail(f"{LOG_JSONL} line 1 is not the header entry")
        else:
            self.header = header
            if header.get("format") != LOG_FORMAT:
                self.fail(f"{LOG_JSONL} header: unknown log format (expected {LOG_FORMAT})")
        last_lineno, head = self.entries[-1]
        if head.get("kind") != "head" or last_lineno != len(lines):
            self.fail(
                f"{LOG_JSONL}: the last line is not the signed head entry: the log is truncated"
            )
            head = {}
        for lineno, entry in self.entries:
            kind = entry.get("kind")
            if kind == "header" and lineno != 1:
                self.fail(f"{LOG_JSONL} line {lineno}: a second header entry")
            if kind == "head" and lineno != len(lines):
                self.fail(f"{LOG_JSONL} line {lineno}: a head entry before the end of the log")
            if self.header is not None:
                for name in ("release_id", "policy_hash", "data_fingerprint", "code_version"):
                    if entry.get(name) != self.header.get(name):
                        self.fail(f"{LOG_JSONL} line {lineno}: {name} differs from the header's")
            # The public log must not say which primary rule hit a cell (docs/auditing.md).
            primary = kind == "suppressed_primary" or entry.get("rule") == PRIMARY_RULE_CLASS
            if primary and (
                entry.get("rule") != PRIMARY_RULE_CLASS or entry.get("threshold") is not None
            ):
                self.fail(
                    f"{LOG_JSONL} line {lineno}: a primary suppression names its specific "
                    "rule or threshold"
                )
        if head:
            self._check_head(head, lines)

    def _check_head(self, head: dict[str, Any], lines: list[str]) -> None:
        where = f"{LOG_JSONL} head (line {len(lines)})"
        if len(lines) < 2 or head.get("head_hash") != line_hash(lines[-2]):
            self.fail(f"{where}: head_hash is not the hash of the last entry")
        if head.get("entries") != len(lines) - 1:
            self.fail(
                f"{where}: the head counts {head.get('entries')} entries, "
                f"the log holds {len(lines) - 1}"
            )
        if self.header is not None and head.get("cells") != self.header.get("cells"):
            self.fail(f"{where}: the head and the header disagree on the number of cells")
        if self.key is None:
            self.fail(f"{where}: the signature cannot be checked without a valid public key")
            return
        fingerprint = public_key_fingerprint(self.key)
        if head.get("public_key_sha256") != fingerprint:
            self.fail(
                f"{where}: the log names signing key {str(head.get('public_key_sha256'))[:16]}, "
                f"but {self.key_source} is key {fingerprint[:16]}: wrong or swapped public key"
            )
        if verify_head_signature(head, self.key):
            self.count("signature_ok")
        else:
            self.fail(
                f"{where}: the Ed25519 signature does not verify with {self.key_source}: "
                "the log was altered or the public key is not the one that signed it"
            )

    def cell_entries(self) -> list[tuple[int, dict[str, Any]]]:
        return [(n, e) for n, e in self.entries if e.get("kind") in CELL_KINDS]

    # --- 2. release.json ---------------------------------------------------------------------

    def check_release_json(self) -> None:
        text = self.read_text(RELEASE_JSON)
        if text is None:
            return
        try:
            metadata = json.loads(text)
        except ValueError:
            self.fail(f"{RELEASE_JSON} is not valid JSON: truncated or altered")
            return
        if not isinstance(metadata, dict):
            self.fail(f"{RELEASE_JSON} is not a JSON object")
            return
        self.metadata = metadata
        if text != render_release_json(metadata):
            self.fail(f"{RELEASE_JSON} is not in its exported form (edited)")
        policy = metadata.get("policy")
        if not isinstance(policy, dict):
            self.fail(f"{RELEASE_JSON} has no policy object")
        elif policy_hash(policy) != metadata.get("policy_hash"):
            self.fail(
                f"{RELEASE_JSON}: the policy does not hash to policy_hash "
                "(sha256 of its canonical JSON): the policy or its hash was changed"
            )
        if metadata.get("percentage_basis") not in ("exact", "rounded"):
            self.fail(f"{RELEASE_JSON}: percentage_basis must be 'exact' or 'rounded'")
        if self.header is None:
            return
        for name, header_name in _HEADER_FIELDS.items():
            if metadata.get(name) != self.header.get(header_name):
                self.fail(f"{RELEASE_JSON}: {name} differs from the signed log header")
        try:
            digest = metadata_hash(metadata)
        except ValueError:
            digest = None
        if digest != self.header.get("release_json_sha256"):
            self.fail(
                f"{RELEASE_JSON} differs from the metadata the signed log vouches for "
                "(release_json_sha256)"
            )

    # --- 3. cells.csv against the log ---------------------------------------------------------

    def check_cells_csv(self) -> None:
        text = self.read_text(CELLS_CSV)
        if text is None:
            return
        before = len(self.failures)
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records or tuple(records[0]) != CELL_CSV_COLUMNS:
            self.fail(f"{CELLS_CSV}: the header row is not {','.join(CELL_CSV_COLUMNS)}")
            return
        for number, record in enumerate(records[1:], start=1):
            if len(record) != len(CELL_CSV_COLUMNS):
                self.fail(
                    f"{CELLS_CSV} row {number} has {len(record)} fields, not "
                    f"{len(CELL_CSV_COLUMNS)}: truncated or altered"
                )
                continue
            self.rows.append(_Row(number, dict(zip(CELL_CSV_COLUMNS, record, strict=True))))
        self.count("cells", len(self.rows))
        for row in self.rows:
            self.count(row.values["status"] or "no_status")
            if row.values["geo_name"].startswith(FORMULA_STARTS):
                # a spreadsheet would run it (ingest refuses such names; an old or forged
                # release may still hold one)
                self.fail(f"{row.where}: geo_name starts like a spreadsheet formula")
        if not self.entries:
            return
        self._match_rows()
        if self.header is not None and len(records) - 1 != self.header.get("cells"):
            self.fail(
                f"{CELLS_CSV} has {len(records) - 1} rows; the signed log says "
                f"{self.header.get('cells')}"
            )
        if len(self.failures) == before:
            expected = render_cells_csv(e for _, e in self.cell_entries())
            if text != expected:
                self.fail(f"{CELLS_CSV} differs from the signed log in its formatting")

    def check_utility(self) -> None:
        """release.json's utility block is what the cells show (recomputed from cells.csv)."""
        if self.metadata is None or "utility" not in self.metadata or not self.rows:
            return
        try:
            cells = [
                ReleaseCell.model_validate(
                    {k: (v if v != "" or k == "geo_name" else None) for k, v in r.values.items()}
                )
                for r in self.rows
            ]
        except ValidationError:
            return  # the cell checks above name what is wrong with the rows
        if release_utility(cells) != self.metadata["utility"]:
            self.fail(
                f"{RELEASE_JSON}: its utility block does not match what {CELLS_CSV} shows "
                "(recomputed from the cells)"
            )
        self.count("utility")

    def _match_rows(self) -> None:
        by_key: dict[tuple[str, ...], tuple[int, dict[str, Any]]] = {}
        for lineno, entry in self.cell_entries():
            key = tuple(render_csv_value(entry.get(c)) for c in _KEY_COLUMNS)
            if key in by_key:
                self.fail(f"{LOG_JSONL} line {lineno}: a second entry for cell {'/'.join(key)}")
            by_key.setdefault(key, (lineno, entry))
        seen: dict[tuple[str, ...], int] = {}
        matched_order: list[int] = []
        for row in self.rows:
            if row.key in seen:
                self.fail(f"{row.where}: duplicates row {seen[row.key]}")
                continue
            seen[row.key] = row.number
            found = by_key.get(row.key)
            if found is None:
                self.fail(f"{row.where}: the signed log has no such cell (extra row)")
                continue
            lineno, entry = found
            matched_order.append(lineno)
            self._compare(row, entry, lineno)
        for key, (lineno, _) in by_key.items():
            if key not in seen:
                self.fail(
                    f"{CELLS_CSV}: cell {'/'.join(key)} of {LOG_JSONL} line {lineno} is missing "
                    "(row deleted or file truncated)"
                )
        if matched_order != sorted(matched_order):
            first = next(
                i
                for i, (a, b) in enumerate(zip(matched_order, sorted(matched_order), strict=True))
                if a != b
            )
            self.fail(
                f"{CELLS_CSV}: rows are not in the log's order (first at matched row {first + 1})"
            )

    def _compare(self, row: _Row, entry: dict[str, Any], lineno: int) -> None:
        signed_status = render_csv_value(entry.get("status"))
        for column in CELL_CSV_COLUMNS:
            expected = render_csv_value(entry.get(column))
            actual = row.values[column]
            if actual == expected:
                continue
            if signed_status == CellStatus.PUBLISHED.value or column in ("status", "geo_name"):
                detail = (
                    f"is '{actual}' but the signed log ({LOG_JSONL} line {lineno}) "
                    f"says '{expected}'"
                )
            else:
                # A withheld cell: never echo a number that should not be there.
                detail = (
                    f"differs from the signed log ({LOG_JSONL} line {lineno}), which withholds it"
                )
            self.fail(f"{row.where}: {column} {detail}")

    # --- 4. the policy, row by row -------------------------------------------------------------

    def check_policy(self) -> None:
        if self.metadata is None or not isinstance(self.metadata.get("policy"), dict):
            return
        limits = read_policy_limits(self.metadata["policy"])
        for problem in limits.problems:
            self.fail(f"{RELEASE_JSON}: {problem}")
        basis = self.metadata.get("percentage_basis")
        if limits.percentage_basis is not None and limits.percentage_basis != basis:
            self.fail(
                f"{RELEASE_JSON}: percentage_basis '{basis}' is not the policy's "
                f"'{limits.percentage_basis}' [percentage_basis]"
            )
        under_dp = self.metadata.get("dp") is not None
        pools = _pool_members(self.metadata.get("pooling"))
        keys = {
            (
                r.values["indicator"],
                r.values["breakdown"],
                r.values["schooljaar"],
                r.values["geo_code"],
            )
            for r in self.rows
        }
        for row in self.rows:
            _check_row(row, limits, basis, under_dp, pools, keys, self.fail)
            if row.values["status"] == CellStatus.PUBLISHED.value:
                self.count("published_rechecked")


def _pool_members(pooling: Any) -> dict[str, set[str]] | None:
    if not isinstance(pooling, list):
        return None
    members: dict[str, set[str]] = {}
    for group in pooling:
        if isinstance(group, dict) and isinstance(group.get("code"), str):
            members[group["code"]] = {str(m) for m in group.get("members") or ()}
    return members


def _floor_to(value: int, base: int | None) -> int:
    """The least a count that was at least ``value`` can show after rounding to ``base``.

    Rounding to a multiple of ``base`` (down, nearest or up) never takes a count at or above
    ``value`` below the multiple of ``base`` at or under it; for the default thresholds (10, 20)
    and base 5 this is the threshold itself.
    """
    if not base:
        return value
    return base * (value // base)


def _check_row(
    row: _Row,
    limits: PolicyLimits,
    basis: Any,
    under_dp: bool,
    pools: dict[str, set[str]] | None,
    keys: set[tuple[str, str, str, str]],
    fail: Callable[[str], None],
) -> None:
    v = row.values
    status = v["status"]
    if status not in _STATUSES:
        fail(f"{row.where}: unknown status '{status}'")
        return
    if v["geo_level"] not in _GEO_LEVELS:
        fail(f"{row.where}: unknown geo_level [geo_level]")
    if status != CellStatus.PUBLISHED.value:
        for column in ("numerator", "denominator", "percentage"):
            if v[column] != "":
                fail(
                    f"{row.where}: a {status} row carries a {column} [no numbers on withheld rows]"
                )
        if status == CellStatus.POOLED.value:
            _check_pooled(row, pools, keys, fail)
        elif v["pooled_into"]:
            fail(f"{row.where}: only pooled rows may name pooled_into [pooling]")
        return
    if v["pooled_into"]:
        fail(f"{row.where}: a published row names pooled_into [pooling]")
    for column in ("numerator", "denominator"):
        if not _INT.match(v[column]):
            fail(f"{row.where}: published {column} is not a whole number >= 0 [published numbers]")
            return
    decimals = limits.percentage_decimals
    shape = _PCT.match(v["percentage"])
    # Written as Python writes a float: 25.0, 25.3 (and 25.25 only with two decimals).
    if (
        not shape
        or len(shape.group(2)) > max(decimals, 1)
        or (decimals == 0 and shape.group(2) != "0")
    ):
        fail(
            f"{row.where}: percentage '{v['percentage']}' is not a number with {decimals} "
            "decimal(s) [rounding]"
        )
        return
    num, den, pct = int(v["numerator"]), int(v["denominator"]), float(v["percentage"])
    if num > den:
        fail(
            f"{row.where}: numerator {num} exceeds denominator {den} "
            "[0 <= numerator <= denominator]"
        )
        return
    base = limits.rounding_base
    rounded = base is not None and num % base == 0 and den % base == 0
    if base is not None and not under_dp and not rounded:
        fail(
            f"{row.where}: numerator {num} / denominator {den} are not multiples of {base} "
            "[rounding_base]"
        )
    if limits.min_cell is not None:
        floor = _floor_to(limits.min_cell, base if rounded else None)
        if den < floor:
            fail(f"{row.where}: denominator {den} is below min_cell {limits.min_cell} [min_cell]")
    extreme = pct in (0.0, 100.0) or (basis == "rounded" and num in (0, den))
    if limits.group_disclosure_min is not None and extreme:
        floor = _floor_to(limits.group_disclosure_min, base if rounded else None)
        if den < floor:
            fail(
                f"{row.where}: percentage {v['percentage']} with denominator {den} below "
                f"group_disclosure_min {limits.group_disclosure_min} [group_disclosure]"
            )
    if limits.complement_k is not None:
        k = limits.complement_k
        # Rounding moves each count by less than one base, so their difference shrinks by less
        # than one base too: a multiple of base that is > k - base is >= the floor of k as well.
        floor = _floor_to(k, base if rounded else None)
        if num < floor or den - num < floor:
            fail(
                f"{row.where}: numerator {num} or denominator - numerator {den - num} below "
                f"complement k {k} [complement]"
            )
    _check_percentage(row, num, den, pct, basis, base if rounded else None, decimals, fail)


def _check_percentage(
    row: _Row,
    num: int,
    den: int,
    pct: float,
    basis: Any,
    base: int | None,
    decimals: int,
    fail: Callable[[str], None],
) -> None:
    if den == 0:
        fail(f"{row.where}: a percentage with denominator 0 [percentage_basis]")
        return
    if basis == "exact" and base:
        # The exact counts lie within base - 1 of the rounded ones (any rounding direction).
        h = base - 1
        low = 100 * max(0, num - h) / (den + h)
        high = min(100.0, 100 * min(num + h, den + h) / max(den - h, 1))
    else:
        low = high = 100 * num / den
    # Rounded to ``decimals`` places, the published value may sit half a unit of the last place
    # from the true one (either way at a tie, whichever tie rule was used).
    tolerance = 0.5 * 10.0**-decimals + 1e-9
    if not (low - tolerance <= pct <= high + tolerance) or math.isnan(pct):
        rounded = round(100 * num / den, decimals)
        fail(
            f"{row.where}: percentage {row.values['percentage']} does not follow from "
            f"{num}/{den} on percentage_basis '{basis}' (expected about {rounded}) "
            "[percentage_basis]"
        )


def _check_pooled(
    row: _Row,
    pools: dict[str, set[str]] | None,
    keys: set[tuple[str, str, str, str]],
    fail: Callable[[str], None],
) -> None:
    v = row.values
    target = v["pooled_into"]
    if not target:
        fail(f"{row.where}: a pooled row must name pooled_into [pooling]")
        return
    if pools is not None:
        if target not in pools:
            fail(f"{row.where}: pooled_into {target} is not a pool of release.json [pooling]")
        elif v["geo_code"] not in pools[target]:
            fail(f"{row.where}: pool {target} does not list this area as a member [pooling]")
    if (v["indicator"], v["breakdown"], v["schooljaar"], target) not in keys:
        fail(f"{row.where}: the release has no row for pool {target} [pooling]")


def verify_release(release: Release) -> VerifyResult:
    """Verify a release as an auditor would see its export (for the API and the demo)."""
    with tempfile.TemporaryDirectory(prefix="kluis-verify-") as tmp:
        target = Path(tmp) / "export"
        export_release(release, target)
        return verify_export(target)
