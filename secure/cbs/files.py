"""Finding the CBS files of a delivery and reading them in chunks.

A CBS table lies on the remote-access drive as one ``.sav`` file per version (``…V1.sav``,
``…V2.sav``) and, for the education tables, per school year. The mapping names the folder and a
file pattern; the newest version of each year is read (of the newest year, for tables that are
not per year). Files are read with pyreadstat in chunks of only the columns the mapping names,
every column as text (SPSS value labels are ignored: the codes are what the mapping maps).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from secure.cbs.mapping import CbsMapping, TableSpec
from secure.ingest import (
    ROW,
    FileProblem,
    IngestLimits,
    Problem,
    _check_size,
    _damaged,
    _normalise,
    _too_many_rows,
)

#: ``__row`` of a derived row is ``file index << ROW_BITS | data row in that file``.
ROW_BITS = 40
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class CbsFile:
    table: str  # the mapping's table name, e.g. INSCHRWPOTAB
    path: Path
    year: int | None
    version: int
    index: int  # position in CbsFiles.files, encoded in __row
    columns: Mapping[str, str]  # role -> the column's name in this file

    @property
    def name(self) -> str:
        return self.path.name


def _mapping_key(table: str, role: str) -> str:
    return f"tables.{table}.columns.{role}"


def find(
    root: Path, name: str, spec: TableSpec, mapping: CbsMapping
) -> list[tuple[Path, int | None, int]]:
    """(path, year, version) of the files to read for one table, oldest year first."""
    folder = (root / spec.folder).resolve()
    if not folder.is_dir():
        return []
    regex = spec.regex()
    best: dict[int | None, tuple[int, Path]] = {}
    for path in sorted(folder.rglob("*")):
        m = regex.fullmatch(path.name)
        if m is None or not path.is_file():
            continue
        groups = m.groupdict()
        year = int(groups["jaar"]) if groups.get("jaar") else None
        version = int(groups["versie"]) if groups.get("versie") else 0
        if spec.per_year and year is not None and not mapping.in_years(year):
            continue
        if year not in best or version > best[year][0]:
            best[year] = (version, path)
    if not best:
        return []
    years = sorted(best, key=lambda y: -1 if y is None else y)
    if not spec.per_year:
        years = years[-1:]
    return [(best[y][1], y, best[y][0]) for y in years]


def sav_columns(path: Path, limits: IngestLimits) -> list[str]:
    """The variable names of a .sav file (metadata only); raises ``FileProblem``."""
    import pyreadstat

    _check_size(path, limits)
    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    except Exception:  # noqa: BLE001 - pyreadstat errors may name the file; details withheld
        raise FileProblem(
            Problem(
                "INGEST_MALFORMED_FILE",
                path.name,
                "is not a readable SPSS .sav file (truncated or damaged?)",
                hint="copy the file again from the remote-access drive",
            )
        ) from None
    if (meta.number_rows or 0) > limits.max_rows:
        raise FileProblem(_too_many_rows(path.name, limits))
    return [str(c) for c in meta.column_names]


def match_columns(
    table: str, path: Path, found: list[str], wanted: Mapping[str, str | None]
) -> tuple[dict[str, str], list[Problem]]:
    """Role -> actual column name (matched case-insensitively), and a problem per missing one."""
    by_lower: dict[str, str] = {}
    for found_name in found:
        by_lower.setdefault(found_name.lower(), found_name)
    out: dict[str, str] = {}
    problems = []
    for role, name in wanted.items():
        if name is None:
            problems.append(
                Problem(
                    "INGEST_MISSING_COLUMN",
                    path.name,
                    "names no column for the year of this file",
                    hint=f"add a column for this year to {_mapping_key(table, role)} "
                    "in the mapping",
                    column=role,
                )
            )
        elif name.lower() in by_lower:
            out[role] = by_lower[name.lower()]
        else:
            problems.append(
                Problem(
                    "INGEST_MISSING_COLUMN",
                    path.name,
                    "is missing",
                    hint=f"check the file's variables and set {_mapping_key(table, role)} "
                    "in the mapping to the right name",
                    column=name,
                )
            )
    return out, problems


def _text(values: object) -> pa.Array:
    """A pandas column from pyreadstat as clean Arrow text: numbers as whole-number text,
    trimmed, and empty where the value is empty or dashes only (``----``, ``---------``)."""
    arr = pa.array(values, from_pandas=True)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), pa.string())
    arr = _normalise(arr)
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    empty = pc.equal(pc.utf8_ltrim(arr, characters="-"), "")
    return pc.if_else(empty, pa.scalar(None, pa.string()), arr)


def chunks(f: CbsFile, limits: IngestLimits) -> Iterator[pa.Table]:
    """The file's mapped columns, named by role, plus ``__row``, a million rows at a time."""
    import pyreadstat

    roles = list(f.columns)
    names = [f.columns[r] for r in roles]
    usecols = list(dict.fromkeys(names))
    n = 0
    try:
        reader = pyreadstat.read_file_in_chunks(
            pyreadstat.read_sav, str(f.path), chunksize=CHUNK_ROWS, usecols=usecols
        )
        for frame, _ in reader:
            size = len(frame)
            rows = np.arange(n + 1, n + size + 1, dtype=np.int64) | (f.index << ROW_BITS)
            n += size
            if n > limits.max_rows:
                raise FileProblem(_too_many_rows(f.name, limits))
            data = {role: _text(frame[name]) for role, name in zip(roles, names, strict=True)}
            data[ROW] = pa.array(rows)
            yield pa.table(data)
    except FileProblem:
        raise
    except Exception:  # noqa: BLE001 - any reader failure is a damaged file; details withheld
        raise FileProblem(_damaged(f.name, n)) from None
