"""Write a release export (docs/release-format.md): release.json, cells.csv,
suppression_log.jsonl, release.pub.

The export is all an auditor needs: ``kluis audit verify DIR`` checks it without the store. Every
file has one exact rendering (``render_*``), which the verifier reproduces byte for byte, so that
not even a formatting change passes unnoticed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kansenkluis.errors import InternalError, UserError

from .release import CELL_CSV_COLUMNS, Release

RELEASE_JSON = "release.json"
CELLS_CSV = "cells.csv"
LOG_JSONL = "suppression_log.jsonl"
RELEASE_PUB = "release.pub"
EXPORT_FILES: tuple[str, ...] = (RELEASE_JSON, CELLS_CSV, LOG_JSONL, RELEASE_PUB)


def render_release_json(metadata: Mapping[str, Any]) -> str:
    return json.dumps(dict(metadata), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_csv_value(value: Any) -> str:
    """How one cells.csv field is written: empty for missing, ``str`` otherwise (12.3, 15)."""
    return "" if value is None else str(value)


def render_cells_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CELL_CSV_COLUMNS)
    for row in rows:
        writer.writerow([render_csv_value(row.get(c)) for c in CELL_CSV_COLUMNS])
    return buf.getvalue()


def render_log(lines: Iterable[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_release(release: Release, out: Path) -> None:
    """Write the four export files into ``out`` (created if needed).

    Refuses a folder that already holds the export of another release, so two releases never
    mix; re-exporting the same release overwrites its files.
    """
    if not release.suppression_log or not release.public_key_pem:
        raise InternalError(
            "EXPORT_UNSIGNED", f"release {release.id} has no signed suppression log to export"
        )
    if out.exists() and not out.is_dir():
        raise UserError(
            "EXPORT_NOT_A_FOLDER", f"{out} exists and is not a folder", hint="give a folder path"
        )
    existing = out / RELEASE_JSON
    if existing.exists():
        try:
            other_id = json.loads(existing.read_text(encoding="utf-8")).get("id")
        except (ValueError, AttributeError):
            other_id = None
        if other_id != release.id:
            raise UserError(
                "EXPORT_FOLDER_IN_USE",
                f"{out} already holds the export of another release",
                hint="export into an empty or new folder",
            )
    out.mkdir(parents=True, exist_ok=True)
    pem = (
        release.public_key_pem
        if release.public_key_pem.endswith("\n")
        else (release.public_key_pem + "\n")
    )
    # The log and the key go first and release.json last: a crash mid-export leaves a folder
    # that verify rejects, never one that looks complete.
    _write_text(out / LOG_JSONL, render_log(release.suppression_log))
    _write_text(out / RELEASE_PUB, pem)
    _write_text(out / CELLS_CSV, render_cells_csv(c.csv_row() for c in release.cells))
    _write_text(out / RELEASE_JSON, render_release_json(release.metadata()))
