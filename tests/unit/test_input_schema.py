"""docs/input-tables.md says what the code declares: the columns of kansenkluis.domain.INPUT_COLUMNS
and every error code the ingest can raise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kansenkluis.domain import INPUT_COLUMNS, INPUT_TABLES, PERSON_KEY_COLUMNS
from secure.engine import SQL_TYPES

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "input-tables.md").read_text(encoding="utf-8")
#: where the ingest raises its errors: the reader and checks, the CBS layout's readers, and the
#: pipeline's checks of the ingest options
INGEST_SOURCES = [
    ROOT / "secure" / "ingest.py",
    *sorted((ROOT / "secure" / "cbs").glob("*.py")),
    ROOT / "kansenkluis" / "pipeline.py",
]
ERROR_CODE = re.compile(r"\b((?:INGEST|MAPPING)_[A-Z0-9_]+|BAD_LAYOUT|BAD_MEMORY_LIMIT)\b")

DOC_TYPE = {"person key": "rin", "text": "text", "whole number": "int", "yes/no": "bool"}


def _doc_columns(table: str) -> list[list[str]]:
    """The rows (column, type, req., allowed values) of the table's section in the doc."""
    section = re.split(r"\n##+ ", DOC.split(f"### `{table}`\n", 1)[1], maxsplit=1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


@pytest.mark.parametrize("table", list(INPUT_COLUMNS))
def test_the_doc_lists_each_column_with_its_type_and_rules(table: str) -> None:
    rows = _doc_columns(table)
    assert [r[0] for r in rows] == [c.name for c in INPUT_COLUMNS[table]]
    for row, column in zip(rows, INPUT_COLUMNS[table], strict=True):
        name, kind, required, allowed = row
        assert DOC_TYPE.get(kind, kind) == column.kind, name
        assert required == ("yes" if column.required else "no"), name
        if column.bounds:
            lo, hi = column.bounds
            assert f"{lo}–{hi}" in allowed, name
        if column.kind == "int" and column.codes:
            assert all(str(code) in allowed for code in column.codes), name


def test_every_error_code_the_ingest_raises_is_documented() -> None:
    raised = {c.bounds_code for cols in INPUT_COLUMNS.values() for c in cols}
    for source in INGEST_SOURCES:
        raised |= set(ERROR_CODE.findall(source.read_text(encoding="utf-8")))
    documented = set(ERROR_CODE.findall(DOC))
    assert len(raised) > 30  # the scan found the codes at all
    assert sorted(raised - documented) == []
    # and the doc names no code the ingest no longer has
    assert sorted(documented - raised) == []


def test_names_keys_and_sql_types_derive_from_the_one_declaration() -> None:
    assert {t: tuple(c.name for c in cols) for t, cols in INPUT_COLUMNS.items()} == INPUT_TABLES
    assert PERSON_KEY_COLUMNS["kind_ouder"] == ("rin", "rin_ouder1", "rin_ouder2")
    assert "geografie" not in PERSON_KEY_COLUMNS
    assert SQL_TYPES["mbo_diploma"]["niveau"] == "INTEGER"
    assert SQL_TYPES["vo_inschrijving"]["niveau"] == "VARCHAR"
    assert SQL_TYPES["vo_examen"]["geslaagd"] == "BOOLEAN"
    assert set(SQL_TYPES) == set(INPUT_COLUMNS)
