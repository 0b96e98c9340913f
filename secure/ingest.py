"""Reading and validating one batch of input tables, and re-pseudonymising it.

A batch is a complete snapshot: one folder with exactly one ``<table>.parquet|csv|sav`` file per
input table. ``ingest_batch`` first probes every file cheaply (size, header or metadata), then
reads, checks and pseudonymises the tables one at a time with set-based DuckDB statements in an
in-memory database that never spills to disk, and hands each accepted table to a sink (the store
encrypts it at once). Nothing here writes to disk.

Every problem is reported as ``<file> row <n>: <column> <rule>`` where ``n`` counts *data rows*
from 1 (the header of a CSV file is not counted, so row n is line n+1 of a CSV file and case n of
an SPSS file). No message ever quotes a value from the data or a ``rin``: DuckDB and Arrow errors,
which may quote values, are replaced by our own messages, raised outside the ``except`` block or
``from None`` and then dropped, so the original is not even chained.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kansenkluis.domain import (
    INPUT_COLUMNS,
    INPUT_TABLES,
    PERSON_KEY_COLUMNS,
    InputColumn,
)
from kansenkluis.errors import InternalError, UserError
from kansenkluis.geocodes import WIJK_PATTERN, gemeente_digits_sql
from secure.pseudonym import SqlPseudonymiser

Progress = Callable[[str], None]
SOURCE_FORMATS: tuple[str, ...] = ("parquet", "csv", "sav")
ROW = "__row"  # 1-based data row number in the source file

#: Order in which tables are checked: references first, so that every later check can use them.
CHECK_ORDER: tuple[str, ...] = (
    "geografie",
    "persoon",
    "kind_ouder",
    "hoogste_opleiding",
    "adres",
    "po_advies",
    "vo_inschrijving",
    "vo_examen",
    "mbo_inschrijving",
    "mbo_diploma",
    "ho_inschrijving",
)

#: Plausible age on 1 October of ``schooljaar`` per table (inclusive).
#: Wide on purpose: they catch a wrong birth year or school year, not an unusual school career
#: (the national synthetic data, like CBS data, has havo-5 pupils of 26).
AGE_RANGES: Mapping[str, tuple[int, int]] = {
    "po_advies": (9, 15),
    "vo_inschrijving": (10, 30),
    "vo_examen": (12, 30),
    "mbo_inschrijving": (14, 75),
    "mbo_diploma": (14, 75),
    "ho_inschrijving": (15, 90),
}
#: A parent is born at least this many and at most this many years before the child.
PARENT_AGE_GAP: tuple[int, int] = (12, 70)

#: Keys that may occur only once per table.
UNIQUE_KEYS: Mapping[str, tuple[str, ...]] = {
    "geografie": ("wijkcode",),
    "persoon": ("rin",),
    "kind_ouder": ("rin",),
    "hoogste_opleiding": ("rin",),
    "adres": ("rin", "schooljaar"),
    "po_advies": ("rin", "schooljaar"),
    "vo_inschrijving": ("rin", "schooljaar"),
}


# --- limits, report, problems ----------------------------------------------------------------


@dataclass(frozen=True)
class IngestLimits:
    """Sizes beyond which a file is refused as absurd, and how many problems an error lists."""

    max_file_bytes: int = 16 * 2**30
    max_rows: int = 100_000_000
    max_problems_shown: int = 20
    duckdb_memory_limit: str = "4GB"


DEFAULT_LIMITS = IngestLimits()


@dataclass(frozen=True)
class IngestReport:
    """What an ingest tells the operator: counts only, never a value from the data."""

    data_fingerprint: str
    rows: Mapping[str, int]
    quarantined: Mapping[str, int] = field(default_factory=dict)
    quarantined_per_table: Mapping[str, int] = field(default_factory=dict)
    #: what the input layout reports besides the tables (the CBS layout: geography year, rows
    #: it could not link); empty for the default layout
    source: Mapping[str, int] = field(default_factory=dict)

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "data_fingerprint": self.data_fingerprint,
            "rows": dict(self.rows),
            "quarantined": dict(self.quarantined),
            "quarantined_per_table": dict(self.quarantined_per_table),
            "source": dict(self.source),
        }


@dataclass(frozen=True)
class Problem:
    code: str
    file: str
    text: str
    hint: str
    row: int | None = None
    column: str | None = None

    def describe(self) -> str:
        """``<file> row <n>: <column> <rule>``; row 0 is the header of a CSV file."""
        where = "header" if self.row == 0 else f"row {self.row}"
        if self.row is not None and self.column is not None:
            return f"{self.file} {where}: {self.column} {self.text}"
        if self.row is not None:
            return f"{self.file} {where}: {self.text}"
        if self.column is not None:
            return f"{self.file} header: column {self.column} {self.text}"
        return f"{self.file} {self.text}"


def raise_problems(
    problems: Sequence[Problem], total: int | None = None, by_rule: Mapping[str, int] | None = None
) -> None:
    """One ``UserError`` for the whole batch; its code is that of the first problem."""
    if not problems:
        return
    total = max(total or 0, len(problems))
    first = problems[0]
    if total == 1:
        raise UserError(first.code, first.describe(), hint=first.hint)
    lines = [f"{total} problems in the batch; nothing was changed."]
    if by_rule:
        counts = ", ".join(f"{code} {n}" for code, n in sorted(by_rule.items()))
        lines.append(f"per rule: {counts}")
    lines.append(f"the first {len(problems)}:" if total > len(problems) else "all of them:")
    lines += [f"  {p.describe()} [{p.code}]" for p in problems]
    hints = list(dict.fromkeys(p.hint for p in problems if p.hint))
    raise UserError(first.code, "\n".join(lines), hint="; ".join(hints))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: Sequence[object]) -> str:
    """SQL literal list of our own code tables (never microdata)."""
    return ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)


def _parsed(col: InputColumn) -> str:
    """Name of the parsed (typed) copy of a column in the typed tables."""
    return _q(col.name + "__v") if col.kind in ("int", "bool") else _q(col.name)


# --- reading files ---------------------------------------------------------------------------


class _FileProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


FileProblem = _FileProblem  # raised by other layouts' readers


def _normalise(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Any Arrow column as text, integer or boolean; trimming and parsing happen in DuckDB."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if (
        pa.types.is_integer(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
    ):
        return col
    if pa.types.is_floating(t):
        # SPSS and pandas store whole numbers (and numeric keys) as floats: 2022.0 means 2022.
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, t), col)
        whole = pc.and_(
            pc.equal(col, pc.trunc(col)), pc.less(pc.abs(col), pa.scalar(1e15, pa.float64()))
        )
        as_int = pc.cast(pc.trunc(pc.if_else(whole, col, pa.scalar(0.0, t))), pa.int64())
        return pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(col, pa.string()))
    return col.cast(pa.string())  # binary must be UTF-8 (ArrowInvalid otherwise)


def _match_columns(file: str, found: Sequence[str], table: str) -> dict[str, int]:
    """Position of each input column among the file's columns (names match case-insensitively)."""
    positions: dict[str, int] = {}
    for i, name in enumerate(found):
        key = str(name).strip().lower()
        if key in INPUT_TABLES[table]:
            if key in positions:
                raise _FileProblem(
                    Problem(
                        "INGEST_MALFORMED_FILE",
                        file,
                        "appears more than once",
                        hint="keep one column of each name",
                        column=key,
                    )
                )
            positions[key] = i
    for name in INPUT_TABLES[table]:
        if name not in positions:
            looks_semicolon = len(found) == 1 and ";" in str(found[0])
            raise _FileProblem(
                Problem(
                    "INGEST_MISSING_COLUMN",
                    file,
                    "is missing",
                    hint=(
                        "the file looks semicolon-separated; CSV files must be comma separated"
                        if looks_semicolon
                        else f"{table} needs the columns {', '.join(INPUT_TABLES[table])}"
                    ),
                    column=name,
                )
            )
    return positions


def _first_bad_utf8_row(path: Path) -> int | None:
    """Data row of the first byte that is not UTF-8, or None if the file decodes (0 = header)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                # newlines before the bad byte = its data row (the header is line 1, row 0)
                return lines_before + chunk.count(b"\n", 0, e.start)
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return lines_before
    return None


def _diagnose_csv(path: Path, width: int) -> Problem:
    """Why pyarrow could not read a CSV file, found the slow way (error path only)."""
    bad_utf8 = _first_bad_utf8_row(path)
    if bad_utf8 is not None:
        return _not_utf8(path.name, bad_utf8)
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        n = 0  # the data row being read
        try:
            next(reader, None)
            for n, record in enumerate(reader, start=1):
                if record and len(record) != width:
                    return _malformed_csv(path.name, n)
        except csv.Error as e:
            if "field limit" in str(e):
                return _value_too_long(path.name, n + 1)
            return _malformed_csv(path.name, None)
    return _malformed_csv(path.name, None)


#: A header line longer than this is not a header (real ones are a few hundred bytes).
MAX_HEADER_BYTES = 1 << 20
#: The longest value the CSV diagnosis reads (the ``csv`` module's own field limit).
MAX_CSV_VALUE = csv.field_size_limit()


def _csv_header(path: Path, table: str) -> tuple[list[str], dict[str, int]]:
    with path.open("rb") as f:
        head = f.readline(MAX_HEADER_BYTES + 1)
    if len(head) > MAX_HEADER_BYTES:
        raise _FileProblem(
            Problem(
                "INGEST_MALFORMED_FILE",
                path.name,
                f"is longer than {MAX_HEADER_BYTES:,} bytes, so it is not a header row",
                hint="check that the file starts with a header row and has line breaks; "
                "export the table again as comma-separated UTF-8",
                row=0,
            )
        )
    try:
        header_text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _FileProblem(_not_utf8(path.name, 0)) from None
    try:
        header = next(csv.reader([header_text]), [])
    except csv.Error:
        raise _FileProblem(
            Problem(
                "INGEST_MALFORMED_FILE",
                path.name,
                f"cannot be read as CSV (a column name longer than {MAX_CSV_VALUE:,} "
                "characters, or unbalanced quotes)",
                hint="export the table again as comma-separated UTF-8 with a header row",
                row=0,
            )
        ) from None
    return header, _match_columns(path.name, header, table)


def _probe_csv(path: Path, table: str, limits: IngestLimits) -> None:
    _csv_header(path, table)


def _read_csv(path: Path, table: str, limits: IngestLimits) -> pa.Table:
    file = path.name
    header, positions = _csv_header(path, table)
    names = [f"c{i}" for i in range(len(header))]
    invalid: list[int] = []

    def on_invalid(row: object) -> str:
        invalid.append(1)
        return "skip"

    batches: list[pa.RecordBatch] = []
    n_rows = 0
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=1 << 24, use_threads=True
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=[names[positions[c]] for c in INPUT_TABLES[table]],
                column_types={names[positions[c]]: pa.string() for c in INPUT_TABLES[table]},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            n_rows += batch.num_rows
            if n_rows > limits.max_rows:
                raise _FileProblem(_too_many_rows(file, limits))
            batches.append(batch)
    except _FileProblem:
        raise
    except (pa.ArrowException, OSError, ValueError):
        raise _FileProblem(_diagnose_csv(path, len(header))) from None
    if invalid:
        raise _FileProblem(_diagnose_csv(path, len(header)))
    if not batches:
        return pa.table({c: pa.array([], type=pa.string()) for c in INPUT_TABLES[table]})
    data = pa.Table.from_batches(batches)
    return pa.table({c: data.column(names[positions[c]]) for c in INPUT_TABLES[table]})


_UTF8_HINT = "save the file as UTF-8 (in Excel: 'CSV UTF-8'; in SPSS: Unicode mode)"


def _not_utf8(file: str, row: int) -> Problem:
    return Problem("INGEST_NOT_UTF8", file, "holds bytes that are not UTF-8", _UTF8_HINT, row=row)


def _malformed_csv(file: str, row: int | None) -> Problem:
    if row is None:
        return Problem(
            "INGEST_MALFORMED_FILE",
            file,
            "is not a well-formed CSV file (unbalanced quotes or a line break inside a value?)",
            hint="export the table again as comma-separated UTF-8 with a header row",
        )
    return Problem(
        "INGEST_MALFORMED_FILE",
        file,
        "has a different number of fields than the header",
        hint="check separators and quotes in that row, or export the table again",
        row=row,
    )


def _too_many_rows(file: str, limits: IngestLimits) -> Problem:
    return Problem(
        "INGEST_TOO_MANY_ROWS",
        file,
        f"has more than {limits.max_rows:,} rows, more than any real table",
        hint="check that the right file was exported; the limit is IngestLimits.max_rows",
    )


def _open_parquet(path: Path, table: str, limits: IngestLimits) -> tuple[pq.ParquetFile, list[str]]:
    try:
        pf = pq.ParquetFile(path)
        found = pf.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError):
        raise _FileProblem(
            Problem(
                "INGEST_MALFORMED_FILE",
                path.name,
                "is not a readable Parquet file (truncated or damaged?)",
                hint="copy or export the file again",
            )
        ) from None
    try:
        if pf.metadata.num_rows > limits.max_rows:
            raise _FileProblem(_too_many_rows(path.name, limits))
        positions = _match_columns(path.name, found, table)
    except _FileProblem:
        pf.close()
        raise
    return pf, [found[positions[c]] for c in INPUT_TABLES[table]]


def _probe_parquet(path: Path, table: str, limits: IngestLimits) -> None:
    _open_parquet(path, table, limits)[0].close()


def _read_parquet(path: Path, table: str, limits: IngestLimits) -> pa.Table:
    file = path.name
    pf, wanted = _open_parquet(path, table, limits)
    with pf:
        parts: dict[str, list[pa.Array]] = {c: [] for c in INPUT_TABLES[table]}
        n_rows = 0
        try:
            for batch in pf.iter_batches(batch_size=1 << 20, columns=wanted):
                for c, name in zip(INPUT_TABLES[table], wanted, strict=True):
                    parts[c].append(_normalise(batch.column(name)))
                n_rows += batch.num_rows
        except pa.ArrowInvalid as e:
            if "utf8" in str(e).lower() or "utf-8" in str(e).lower():
                raise _FileProblem(
                    Problem(
                        "INGEST_NOT_UTF8",
                        file,
                        f"holds text that is not valid UTF-8 after row {n_rows}",
                        hint=_UTF8_HINT,
                    )
                ) from None
            raise _FileProblem(_damaged(file, n_rows)) from None
        except (pa.ArrowException, OSError, ValueError):
            raise _FileProblem(_damaged(file, n_rows)) from None
    return _assemble(parts)


def _assemble(parts: Mapping[str, list[pa.Array]]) -> pa.Table:
    return pa.table(
        {
            c: pa.chunked_array(v) if v else pa.chunked_array([], pa.string())
            for c, v in parts.items()
        }
    )


def _damaged(file: str, n_rows: int) -> Problem:
    return Problem(
        "INGEST_MALFORMED_FILE",
        file,
        f"cannot be read after row {n_rows} (truncated or damaged?)",
        hint="copy or export the file again",
    )


def _sav_columns(path: Path, table: str, limits: IngestLimits) -> list[str]:
    import pyreadstat

    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    except Exception:  # pyreadstat raises bare ReadstatError/PyreadstatError with file details
        raise _FileProblem(_bad_sav(path.name)) from None
    if (meta.number_rows or 0) > limits.max_rows:
        raise _FileProblem(_too_many_rows(path.name, limits))
    positions = _match_columns(path.name, list(meta.column_names), table)
    return [meta.column_names[positions[c]] for c in INPUT_TABLES[table]]


def _probe_sav(path: Path, table: str, limits: IngestLimits) -> None:
    _sav_columns(path, table, limits)


def _read_sav(path: Path, table: str, limits: IngestLimits) -> pa.Table:
    import pyreadstat

    file = path.name
    wanted = _sav_columns(path, table, limits)
    parts: dict[str, list[pa.Array]] = {c: [] for c in INPUT_TABLES[table]}
    n_rows = 0
    try:
        chunks = pyreadstat.read_file_in_chunks(
            pyreadstat.read_sav, str(path), chunksize=500_000, usecols=wanted
        )
        for frame, _ in chunks:
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            for c, name in zip(INPUT_TABLES[table], wanted, strict=True):
                parts[c].append(_normalise(arrow.column(name)).combine_chunks())
            n_rows += arrow.num_rows
            if n_rows > limits.max_rows:
                raise _FileProblem(_too_many_rows(file, limits))
    except _FileProblem:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure is a damaged file; details withheld
        if "encod" in str(e).lower() or "convert" in str(e).lower():
            raise _FileProblem(
                Problem(
                    "INGEST_NOT_UTF8",
                    file,
                    f"holds text that cannot be converted to UTF-8 after row {n_rows}",
                    hint=_UTF8_HINT,
                )
            ) from None
        raise _FileProblem(_damaged(file, n_rows)) from None
    return _assemble(parts)


def _bad_sav(file: str) -> Problem:
    return Problem(
        "INGEST_MALFORMED_FILE",
        file,
        "is not a readable SPSS .sav file (truncated or damaged?)",
        hint="save the file again from SPSS",
    )


_READERS: Mapping[str, Callable[[Path, str, IngestLimits], pa.Table]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "sav": _read_sav,
}
_PROBES: Mapping[str, Callable[[Path, str, IngestLimits], None]] = {
    "csv": _probe_csv,
    "parquet": _probe_parquet,
    "sav": _probe_sav,
}


def find_batch_files(batch_dir: Path) -> dict[str, Path]:
    """The one file per input table in ``batch_dir``; every missing or doubled table is listed."""
    if not batch_dir.is_dir():
        raise UserError(
            "INGEST_NOT_A_DIRECTORY",
            f"{batch_dir} is not a folder",
            hint="pass the folder that holds the <table>.parquet|csv|sav files",
        )
    found: dict[str, list[Path]] = {t: [] for t in INPUT_TABLES}
    for path in sorted(batch_dir.iterdir()):
        stem, _, ext = path.name.rpartition(".")
        if stem in found and ext.lower() in SOURCE_FORMATS and path.is_file():
            found[stem].append(path)
    problems = []
    for table, paths in found.items():
        if not paths:
            problems.append(
                Problem(
                    "INGEST_MISSING_TABLE",
                    f"{table}.*",
                    "is missing from the batch",
                    hint=f"a batch is a complete snapshot: add {table}.parquet, .csv or .sav",
                )
            )
        elif len(paths) > 1:
            problems.append(
                Problem(
                    "INGEST_DUPLICATE_TABLE",
                    f"{table}.*",
                    f"has {len(paths)} files ({', '.join(p.name for p in paths)})",
                    hint="keep exactly one file per table",
                )
            )
    raise_problems(problems)
    return {t: paths[0] for t, paths in found.items()}


def _check_size(path: Path, limits: IngestLimits) -> None:
    size = path.stat().st_size
    if size == 0:
        raise _FileProblem(
            Problem("INGEST_EMPTY_FILE", path.name, "is empty (0 bytes)", "export the table again")
        )
    if size > limits.max_file_bytes:
        raise _FileProblem(
            Problem(
                "INGEST_FILE_TOO_LARGE",
                path.name,
                f"is larger than {limits.max_file_bytes:,} bytes",
                hint="check that the right file was exported; the limit is "
                "IngestLimits.max_file_bytes",
            )
        )


def read_source_table(path: Path, table: str, limits: IngestLimits = DEFAULT_LIMITS) -> pa.Table:
    """One source file in input column order plus ``__row``; raises ``_FileProblem``."""
    file = path.name
    _check_size(path, limits)
    data = _READERS[path.name.rpartition(".")[2].lower()](path, table, limits)
    _check_value_lengths(data, file)
    if data.num_rows == 0:
        raise _FileProblem(
            Problem(
                "INGEST_EMPTY_TABLE",
                file,
                "has no data rows",
                hint="a batch is a complete snapshot: every table needs its rows",
            )
        )
    return data.append_column(ROW, pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64)))


def _check_value_lengths(data: pa.Table, file: str) -> None:
    """Refuse a value longer than ``MAX_CSV_VALUE`` characters, in every format alike."""
    for name in data.column_names:
        col = data.column(name)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        longest = pc.max(pc.binary_length(col)).as_py()  # bytes >= characters: a cheap bound
        if longest is None or longest <= MAX_CSV_VALUE:
            continue
        too_long = pc.greater(pc.utf8_length(col), MAX_CSV_VALUE)
        if not pc.any(too_long).as_py():
            continue
        row = pc.index(too_long, True).as_py() + 1
        raise _FileProblem(_value_too_long(file, row, name))


def _value_too_long(file: str, row: int, column: str | None = None) -> Problem:
    return Problem(
        "INGEST_VALUE_TOO_LONG",
        file,
        f"holds a value longer than {MAX_CSV_VALUE:,} characters (or a line without its line "
        "break), longer than any real value",
        hint="check that the right file was exported, with line breaks between rows and "
        "balanced quotes",
        row=row,
        column=column,
    )


# --- rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    id: int
    code: str
    table: str
    column: str
    text: str
    hint: str


class _Rules:
    def __init__(self) -> None:
        self.rules: list[_Rule] = []

    def add(self, code: str, table: str, column: str, text: str, hint: str) -> int:
        self.rules.append(_Rule(len(self.rules), code, table, column, text, hint))
        return len(self.rules) - 1


def _column_rules(rules: _Rules, table: str) -> list[tuple[int, str]]:
    """(rule id, SQL condition on ``t``) for the checks that need only the row itself."""
    cols = INPUT_COLUMNS[table]
    out: list[tuple[int, str]] = []
    for c in cols:
        if c.required:
            rid = rules.add(
                "INGEST_MISSING_VALUE",
                table,
                c.name,
                "is empty",
                f"every {table} row needs a {c.name}",
            )
            out.append((rid, f"t.{_q(c.name)} IS NULL"))
    for c in cols:
        raw, parsed = f"t.{_q(c.name)}", f"t.{_parsed(c)}"
        if c.kind == "int":
            rid = rules.add(
                "INGEST_BAD_TYPE",
                table,
                c.name,
                "is not a whole number",
                f"write {c.name} as a whole number",
            )
            out.append((rid, f"{raw} IS NOT NULL AND {parsed} IS NULL"))
        elif c.kind == "bool":
            rid = rules.add(
                "INGEST_BAD_TYPE",
                table,
                c.name,
                "is not a yes/no value",
                f"write {c.name} as true/false, 1/0 or ja/nee",
            )
            out.append((rid, f"{raw} IS NOT NULL AND {parsed} IS NULL"))
        elif c.kind == "text" and c.pattern is None and c.name != "buren":
            rid = rules.add(
                "INGEST_BAD_TYPE",
                table,
                c.name,
                "contains control characters (tab, line break, ...)",
                f"remove control characters from {c.name}",
            )
            out.append((rid, f"regexp_matches({raw}, '[\\x00-\\x1f\\x7f]')"))
        if c.published:
            # CSV/formula injection: a spreadsheet runs a cell that starts with one of these
            # (tab and line breaks are refused above as control characters)
            rid = rules.add(
                "INGEST_FORMULA_TEXT",
                table,
                c.name,
                "starts with =, +, - or @, which a spreadsheet would run as a formula",
                f"remove the leading character from {c.name}; names are published in cells.csv",
            )
            out.append((rid, f"regexp_matches({raw}, '^[=+@-]')"))
    for c in cols:
        raw, parsed = f"t.{_q(c.name)}", f"t.{_parsed(c)}"
        if c.codes:
            rid = rules.add(
                "INGEST_UNKNOWN_CODE",
                table,
                c.name,
                f"is not a known {c.what}",
                f"use one of {', '.join(str(v) for v in c.codes)}",
            )
            out.append((rid, f"{parsed} NOT IN ({_sql_list(c.codes)})"))
        if c.bounds:
            lo, hi = c.bounds
            if c.bounds_code == "INGEST_IMPLAUSIBLE_YEAR":
                text = f"is not a plausible year (expected {lo}-{hi})"
                hint = f"check {c.name}; schooljaar 2022 means school year 2022/23"
            else:
                text, hint = f"is outside {lo}-{hi}", f"use a value from {lo} to {hi}"
            rid = rules.add(c.bounds_code, table, c.name, text, hint)
            out.append((rid, f"{parsed} NOT BETWEEN {lo} AND {hi}"))
        if c.pattern:
            rid = rules.add(
                "INGEST_BAD_FORMAT",
                table,
                c.name,
                f"is not a {c.pattern_what} ({c.pattern.replace('[0-9]', 'd')})",
                f"write {c.name} as a CBS code, e.g. "
                + ("WK036300" if c.name == "wijkcode" else "GM0363"),
            )
            out.append((rid, f"NOT regexp_full_match({raw}, '{c.pattern}')"))
    return out


def _reference_rules(rules: _Rules, table: str, quarantine: bool) -> list[tuple[int, str]]:
    """Checks against other tables: persons, wijken, ages and parents."""
    out: list[tuple[int, str]] = []
    for col in PERSON_KEY_COLUMNS.get(table, ()):
        if table == "persoon":
            continue
        rid = rules.add(
            "INGEST_UNKNOWN_PERSON",
            table,
            col,
            "is not in persoon",
            "every person (parents too) needs a persoon row; add it or correct the key",
        )
        out.append((rid, f"t.{_q(col)} IS NOT NULL AND {_alias(col)}.rin IS NULL"))
        if quarantine:
            rid = rules.add(
                "INGEST_QUARANTINED_PERSON",
                table,
                col,
                "belongs to a persoon row that was quarantined",
                "correct the person's persoon row and ingest again",
            )
            out.append((rid, f"t.{_q(col)} IS NOT NULL AND NOT {_alias(col)}.ok"))
    if table in AGE_RANGES:
        lo, hi = AGE_RANGES[table]
        rid = rules.add(
            "INGEST_IMPLAUSIBLE_AGE",
            table,
            "schooljaar",
            f"gives an age on 1 October outside {lo}-{hi} years for {table} "
            "(with persoon.geboortejaar and geboortemaand)",
            "check schooljaar here and the person's birth date in persoon",
        )
        # Unknown birth month: the age is one of two values; accept either.
        age = "t.schooljaar__v - p.gj - CASE WHEN p.gm >= 10 THEN 1 ELSE 0 END"
        out.append((rid, f"p.ok AND ({age}) NOT BETWEEN {lo} - (p.gm IS NULL)::INT AND {hi}"))
    if table == "kind_ouder":
        for col in ("rin_ouder1", "rin_ouder2"):
            rid = rules.add(
                "INGEST_SELF_PARENT",
                table,
                col,
                "is the child itself",
                "correct the parent key",
            )
            out.append((rid, f"t.{col} = t.rin"))
        rid = rules.add(
            "INGEST_DUPLICATE_PARENT",
            table,
            "rin_ouder2",
            "is the same person as rin_ouder1",
            "leave rin_ouder2 empty when only one parent is known",
        )
        out.append((rid, "t.rin_ouder2 = t.rin_ouder1"))
        lo, hi = PARENT_AGE_GAP
        for col in ("rin_ouder1", "rin_ouder2"):
            a = _alias(col)
            rid = rules.add(
                "INGEST_IMPLAUSIBLE_PARENT_AGE",
                table,
                col,
                f"is born less than {lo} or more than {hi} years before the child",
                "check the parent key and both birth years in persoon",
            )
            out.append((rid, f"p.ok AND {a}.ok AND (p.gj - {a}.gj) NOT BETWEEN {lo} AND {hi}"))
    if table == "adres":
        rid = rules.add(
            "INGEST_UNKNOWN_WIJK",
            table,
            "wijkcode",
            "is not in geografie",
            "use the wijk codes of geografie (the same CBS year), or add the wijk there",
        )
        out.append((rid, "t.wijkcode NOT IN (SELECT wijkcode FROM kk_wijken)"))
    if table == "geografie":
        rid = rules.add(
            "INGEST_WIJK_GEMEENTE_MISMATCH",
            table,
            "wijkcode",
            "does not lie in gemeentecode (WKggggww must match GMgggg)",
            "correct wijkcode or gemeentecode",
        )
        wijk, gemeente = gemeente_digits_sql("t.wijkcode"), gemeente_digits_sql("t.gemeentecode")
        out.append((rid, f"{wijk} <> {gemeente}"))
    return out


def _alias(col: str) -> str:
    return {"rin": "p", "rin_ouder1": "p1", "rin_ouder2": "p2"}[col]


WHITESPACE_SQL = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"


def _source_expr(c: InputColumn, arrow_type: pa.DataType, prefix: str = "") -> str:
    """The raw column as the checks see it: text trimmed (empty is NULL), numbers as they are."""
    v = prefix + _q(c.name)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return f"nullif(trim({v}, {WHITESPACE_SQL}), '')"
    if c.kind in ("int", "bool") and (
        pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type)
    ):
        return v
    return f"CAST({v} AS VARCHAR)"


def _source_sql(c: InputColumn, arrow_type: pa.DataType) -> str:
    return f"{_source_expr(c, arrow_type)} AS {_q(c.name)}"


def _parse_sql(c: InputColumn, arrow_type: pa.DataType) -> str:
    """The typed value of an int or bool column, NULL where the raw value does not parse."""
    v, out = _q(c.name), _parsed(c)
    numeric = pa.types.is_integer(arrow_type)
    if c.kind == "int":
        if numeric:
            return f"CASE WHEN {v} BETWEEN -1e9 AND 1e9 THEN {v}::INTEGER END AS {out}"
        if pa.types.is_boolean(arrow_type):
            return f"NULL::INTEGER AS {out}"
        d = f"TRY_CAST({v} AS DOUBLE)"
        return (
            f"CASE WHEN isfinite({d}) AND {d} = trunc({d}) AND abs({d}) < 1e9 "
            f"THEN {d}::INTEGER END AS {out}"
        )
    if c.kind == "bool":
        if pa.types.is_boolean(arrow_type):
            return f"{v} AS {out}"
        if numeric:
            return f"CASE {v} WHEN 1 THEN true WHEN 0 THEN false END AS {out}"
        low = f"lower({v})"
        return (
            f"CASE WHEN {low} IN ('true', 't', 'ja', 'j', 'yes', 'y', 'waar') "
            f"OR TRY_CAST({v} AS DOUBLE) = 1 THEN true "
            f"WHEN {low} IN ('false', 'f', 'nee', 'n', 'no', 'onwaar') "
            f"OR TRY_CAST({v} AS DOUBLE) = 0 THEN false END AS {out}"
        )
    raise InternalError("INGEST_PARSE", f"no parser for kind {c.kind}")


# --- the batch -------------------------------------------------------------------------------

#: Receives each accepted table (pseudonymised, typed, sorted on all columns) as soon as it is
#: checked, so that at most one table is held in memory at a time.
Sink = Callable[[str, pa.Table], None]


@dataclass(frozen=True)
class IngestOutcome:
    """What ``ingest_batch`` found besides the tables it handed to the sink."""

    notes: Mapping[str, int]
    quarantined: Mapping[str, int]
    quarantined_per_table: Mapping[str, int]
    quarantine: pa.Table


def _output_sql(table: str) -> str:
    """The accepted rows with person ids for person keys (see ``_with_pseudonyms``)."""
    select, joins = [], []
    for c in INPUT_COLUMNS[table]:
        if c.kind == "rin" and table == "persoon":
            joins.append("JOIN kk_people k ON k.rin = t.rin")
            select.append("k.pid AS rin")
        elif c.kind == "rin":
            select.append(f"t.{_pid(c.name)} AS {_q(c.name)}")
        elif c.name == "buren":
            # Canonical: sorted, without duplicates or blanks, so order in the source is moot.
            parts = (
                "list_filter(list_transform(string_split(t.buren, ';'), lambda x: trim(x)), "
                "lambda x: x <> '')"
            )
            select.append(
                f"nullif(array_to_string(list_sort(list_distinct({parts})), ';'), '') AS buren"
            )
        else:
            select.append(f"t.{_parsed(c)} AS {_q(c.name)}")
    # Sorting gives the canonical order of the fingerprint and drops the source's row order;
    # person ids sort like the pseudonyms they stand for.
    return (
        f"SELECT {', '.join(select)} FROM typed_{table} t {' '.join(joins)} "
        f"WHERE t.__fail IS NULL ORDER BY ALL"
    )


def _with_pseudonyms(data: pa.Table, pseudonyms: pa.StringArray, table: str) -> pa.Table:
    """Replace the person ids of ``_output_sql`` by the pseudonyms they stand for."""
    for i, name in enumerate(data.column_names):
        if name in PERSON_KEY_COLUMNS.get(table, ()):
            data = data.set_column(i, name, pc.take(pseudonyms, data.column(i)))
    return data


def _quarantine_rows(
    con: duckdb.DuckDBPyConnection,
    rules: _Rules,
    pseudo: SqlPseudonymiser,
    table: str,
    types: Mapping[str, pa.DataType],
    source: TableSource,
) -> pa.Table:
    """The failing rows of ``table``: source row, rule, and the source values (rins
    pseudonymised, from the trimmed key as the accepted rows are). Where the source derives
    the table from other files, ``tabel`` is ``<table>/<file>`` and ``rij`` the row there."""
    values = []
    for c in INPUT_COLUMNS[table]:
        if c.kind == "rin":
            key = _source_expr(c, types[c.name], prefix="r.")
            values.append(f"'{c.name}', {pseudo.expression(key)}")
        else:
            values.append(f"'{c.name}', r.{_q(c.name)}")
    found = _arrow(
        con,
        f"SELECT t.{ROW} AS rij, t.__fail AS rule, json_object({', '.join(values)})::VARCHAR "
        f"AS waarden FROM raw_{table} r JOIN typed_{table} t USING ({ROW}) "
        f"WHERE t.__fail IS NOT NULL ORDER BY t.{ROW}",
        pseudo.params,
    )
    rule_ids = found.column("rule")
    located = [source.locate(table, int(r)) for r in found.column("rij").to_pylist()]
    tabel = [table if f == source.label(table) else f"{table}/{f}" for f, _ in located]
    codes = pa.array([r.code for r in rules.rules], pa.string())
    columns = pa.array([r.column for r in rules.rules], pa.string())
    return pa.table(
        {
            "tabel": pa.array(tabel, pa.string()),
            "rij": pa.array([at for _, at in located], pa.int64()),
            "regel": pc.take(codes, rule_ids),
            "kolom": pc.take(columns, rule_ids),
            "waarden": found.column("waarden"),
        }
    ).cast(QUARANTINE_SCHEMA)


QUARANTINE_SCHEMA = pa.schema(
    [("tabel", pa.string()), ("rij", pa.int64()), ("regel", pa.string()), ("kolom", pa.string()),
     ("waarden", pa.string())]
)  # fmt: skip


def _query_failed(out_of_memory: bool) -> Exception:
    if out_of_memory:
        return UserError(
            "INGEST_OUT_OF_MEMORY",
            "the batch does not fit in the memory allowed for validation",
            hint="raise the limit, e.g. `kluis ingest --memory-limit 8GB DIR`, on a machine "
            "with that much memory to spare",
        )
    return InternalError(
        "INGEST_QUERY", "an ingest query failed (details withheld: they may quote microdata)"
    )


# DuckDB errors may quote values, so they are replaced by our own; raising *after* the except
# block keeps them out of __context__ too, where a crash reporter could still find them.
def _arrow(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None
) -> pa.Table:
    try:
        return con.sql(sql, params=dict(params) if params else None).to_arrow_table()
    except duckdb.OutOfMemoryException:
        oom = True
    except duckdb.Error:
        oom = False
    raise _query_failed(oom)


def _execute(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object] | None = None
) -> None:
    try:
        con.execute(sql, dict(params) if params else None)
        return
    except duckdb.OutOfMemoryException:
        oom = True
    except duckdb.Error:
        oom = False
    raise _query_failed(oom)


def _connect(limits: IngestLimits) -> duckdb.DuckDBPyConnection:
    # temp_directory '' forbids spilling: plaintext microdata must never reach the disk.
    con = duckdb.connect(
        ":memory:", config={"temp_directory": "", "memory_limit": limits.duckdb_memory_limit}
    )
    con.execute("SET enable_external_access = false")
    return con


def _typed_table(
    con: duckdb.DuckDBPyConnection,
    rules: _Rules,
    table: str,
    quarantine: bool,
    types: Mapping[str, pa.DataType],
) -> None:
    """``typed_<table>``: typed values, person ids, and the first rule each row fails.

    Only what the later steps need is kept: parsed numbers, trimmed text, and for every person
    column the person id (``<col>__pid``) instead of the key. The source values of failing rows
    are read again from ``raw_<table>`` for the quarantine.
    """
    cols = INPUT_COLUMNS[table]
    source = ", ".join(_source_sql(c, types[c.name]) for c in cols)
    parsed = "".join(", " + _parse_sql(c, types[c.name]) for c in cols if c.kind in ("int", "bool"))
    checks = _column_rules(rules, table) + _reference_rules(rules, table, quarantine)
    case = " ".join(f"WHEN {cond} THEN {rid}" for rid, cond in checks)
    joins, keep = [], [ROW]
    for c in cols:
        if c.kind == "rin" and table != "persoon":
            # One hash join per person column gives existence, validity, birth date and id.
            a = _alias(c.name)
            joins.append(f"LEFT JOIN kk_people {a} ON {a}.rin = t.{_q(c.name)}")
            keep.append(f"{a}.pid AS {_pid(c.name)}")
        else:
            keep.append(f"t.{_parsed(c)}")
    sql = (
        f"CREATE TABLE typed_{table} AS "
        f"WITH t0 AS (SELECT {ROW}, {source} FROM raw_{table}), "
        f"t1 AS (SELECT *{parsed} FROM t0) "
        f"SELECT {', '.join(keep)}, CASE {case} END AS __fail, NULL::BIGINT AS __first "
        f"FROM t1 t {' '.join(joins)}"
    )
    _execute(con, sql)


def _pid(column: str) -> str:
    return _q(column + "__pid")


def _duplicate_rule(rules: _Rules, table: str) -> int:
    shown = " and ".join(UNIQUE_KEYS[table])
    return rules.add(
        "INGEST_DUPLICATE_KEY",
        table,
        shown,
        "occurs more than once (first at row {first})",
        f"keep one {table} row per {shown}",
    )


def _mark_duplicates(con: duckdb.DuckDBPyConnection, rules: _Rules, table: str) -> None:
    """Flag every row of a key that occurs more than once among the rows that passed so far."""
    if table not in UNIQUE_KEYS:
        return
    by_name = {c.name: c for c in INPUT_COLUMNS[table]}
    parts = [_pid(k) if k == "rin" else _parsed(by_name[k]) for k in UNIQUE_KEYS[table]]
    rid = _duplicate_rule(rules, table)
    # Grouping finds the (usually zero) duplicated keys cheaply; only then is anything updated.
    _execute(
        con,
        f"CREATE TEMP TABLE kk_dups AS SELECT {', '.join(parts)}, min({ROW}) AS first "
        f"FROM typed_{table} WHERE __fail IS NULL GROUP BY ALL HAVING count(*) > 1",
    )
    found = con.execute("SELECT count(*) FROM kk_dups").fetchone()
    if found and found[0]:
        match = " AND ".join(f"typed_{table}.{k} = d.{k}" for k in parts)
        _execute(
            con,
            f"UPDATE typed_{table} SET __fail = {rid}, __first = d.first FROM kk_dups d "
            f"WHERE typed_{table}.__fail IS NULL AND {match}",
        )
    _execute(con, "DROP TABLE kk_dups")


def _people(
    con: duckdb.DuckDBPyConnection, rules: _Rules, pseudo: SqlPseudonymiser
) -> pa.StringArray:
    """``kk_people``: one row per ``rin`` of persoon, whether it is usable, and its person id.

    A person is usable (``ok``) when exactly one of its persoon rows passed every check; rows of a
    rin that occurs more than once are flagged as duplicates. The HMAC is computed once per
    person; the person id ``pid`` is the rank of the pseudonym, so that the other tables carry
    and sort small integers and sorting on ``pid`` is sorting on the pseudonym. Returns the
    pseudonyms, indexed by ``pid``.
    """
    valid = "FILTER (WHERE __fail IS NULL)"
    _execute(
        con,
        f"""
        CREATE TABLE kk_people AS
        SELECT *, (row_number() OVER (ORDER BY pseudo) - 1)::INTEGER AS pid FROM (
            SELECT rin, count(*) {valid} = 1 AS ok, count(*) {valid} AS n_ok,
                   min({ROW}) {valid} AS first, any_value(geboortejaar__v) {valid} AS gj,
                   any_value(geboortemaand__v) {valid} AS gm, {pseudo.expression("rin")} AS pseudo
            FROM typed_persoon WHERE rin IS NOT NULL GROUP BY rin
        )
        """,
        pseudo.params,
    )
    pseudonyms = _arrow(con, "SELECT pseudo FROM kk_people ORDER BY pid").column(0)
    _execute(con, "ALTER TABLE kk_people DROP COLUMN pseudo")
    rid = _duplicate_rule(rules, "persoon")
    found = con.execute("SELECT count(*) FROM kk_people WHERE n_ok > 1").fetchone()
    if found and found[0]:
        _execute(
            con,
            f"UPDATE typed_persoon SET __fail = {rid}, __first = k.first FROM kk_people k "
            f"WHERE typed_persoon.__fail IS NULL AND typed_persoon.rin = k.rin AND k.n_ok > 1",
        )
    # The other tables join on this table once per person column: keep it narrow.
    _execute(con, "ALTER TABLE kk_people DROP COLUMN n_ok")
    _execute(con, "ALTER TABLE kk_people DROP COLUMN first")
    return pseudonyms.combine_chunks()


def _check_geografie_consistency(con: duckdb.DuckDBPyConnection, rules: _Rules) -> None:
    """One name and one region per gemeente, and a symmetric neighbour relation within it."""
    naam = rules.add(
        "INGEST_INCONSISTENT_GEMEENTE",
        "geografie",
        "gemeentenaam",
        "differs from the first row of the same gemeentecode",
        "give every wijk of a gemeente the same gemeentenaam and regio",
    )
    regio = rules.add(
        "INGEST_INCONSISTENT_GEMEENTE",
        "geografie",
        "regio",
        "differs from the first row of the same gemeentecode",
        "give every wijk of a gemeente the same gemeentenaam and regio",
    )
    _execute(
        con,
        f"""
        UPDATE typed_geografie SET __fail = CASE WHEN d.gemeentenaam <> d.fn THEN {naam}
                                                 ELSE {regio} END
        FROM (
            SELECT {ROW}, gemeentenaam, regio,
                   first_value(gemeentenaam) OVER g AS fn, first_value(regio) OVER g AS fr
            FROM typed_geografie WHERE __fail IS NULL
            WINDOW g AS (PARTITION BY gemeentecode ORDER BY {ROW})
        ) d
        WHERE typed_geografie.{ROW} = d.{ROW} AND (d.gemeentenaam <> d.fn OR d.regio <> d.fr)
        """,
    )
    hint = "buren lists the ;-separated wijkcodes of bordering wijken of the same gemeente"
    checks = [
        (
            rules.add("INGEST_BAD_FORMAT", "geografie", "buren", "holds a non-wijkcode", hint),
            f"NOT regexp_full_match(b.buur, '{WIJK_PATTERN}')",
        ),
        (
            rules.add("INGEST_BUREN_SELF", "geografie", "buren", "lists the wijk itself", hint),
            "b.buur = b.wijkcode",
        ),
        (
            rules.add(
                "INGEST_UNKNOWN_WIJK", "geografie", "buren", "lists a wijk not in geografie", hint
            ),
            "a.wijkcode IS NULL",
        ),
        (
            rules.add(
                "INGEST_BUREN_OTHER_GEMEENTE",
                "geografie",
                "buren",
                "lists a wijk of another gemeente",
                hint,
            ),
            "g.gemeentecode <> b.gemeentecode",
        ),
        (
            rules.add(
                "INGEST_BUREN_NOT_SYMMETRIC",
                "geografie",
                "buren",
                "lists a wijk that does not list this wijk back",
                "if wijk A borders B then B borders A: add the missing entry",
            ),
            "NOT EXISTS (SELECT 1 FROM kk_pairs r "
            "WHERE r.wijkcode = b.buur AND r.buur = b.wijkcode)",
        ),
    ]
    case = " ".join(f"WHEN {cond} THEN {rid}" for rid, cond in checks)
    _execute(
        con,
        f"""
        CREATE TEMP TABLE kk_pairs AS
        SELECT {ROW}, wijkcode, gemeentecode, trim(buur) AS buur, ok FROM (
            SELECT {ROW}, wijkcode, gemeentecode, unnest(string_split(buren, ';')) AS buur,
                   __fail IS NULL AS ok
            FROM typed_geografie WHERE buren IS NOT NULL
        ) WHERE trim(buur) <> ''
        """,
    )
    _execute(
        con,
        f"""
        UPDATE typed_geografie SET __fail = d.rule FROM (
            SELECT b.{ROW}, min(CASE {case} END) AS rule
            FROM kk_pairs b
            LEFT JOIN (SELECT DISTINCT wijkcode FROM typed_geografie) a ON a.wijkcode = b.buur
            LEFT JOIN (
                SELECT wijkcode, any_value(gemeentecode) AS gemeentecode
                FROM typed_geografie WHERE __fail IS NULL GROUP BY wijkcode
            ) g ON g.wijkcode = b.buur
            WHERE b.ok
            GROUP BY b.{ROW}
        ) d
        WHERE typed_geografie.{ROW} = d.{ROW} AND d.rule IS NOT NULL
        """,
    )
    _execute(con, "DROP TABLE kk_pairs")


def _failures(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, int]:
    """Failing rows per rule id."""
    counts = con.execute(
        f"SELECT __fail, count(*) FROM typed_{table} WHERE __fail IS NOT NULL GROUP BY ALL"
    ).fetchall()
    return {int(rid): int(n) for rid, n in counts}


def _listed(
    con: duckdb.DuckDBPyConnection,
    rules: _Rules,
    source: TableSource,
    table: str,
    limit: int,
    quarantine: bool,
) -> list[Problem]:
    """The first failing rows of ``table`` as problems, in row order."""
    if limit <= 0:
        return []
    # The first row of a duplicated key is named in the others' messages, not listed itself.
    rows = con.execute(
        f"SELECT {ROW}, __fail, __first FROM typed_{table} "
        f"WHERE __fail IS NOT NULL AND (__first IS NULL OR __first <> {ROW}) "
        f"ORDER BY {ROW} LIMIT {int(limit)}"
    ).fetchall()
    problems = []
    for row, rid, first in rows:
        rule = rules.rules[int(rid)]
        hint = source.hint(table, rule.column, rule.code) or rule.hint
        if quarantine:  # only geografie refuses a quarantine ingest
            hint += "; geografie is reference data: --quarantine cannot set its rows aside"
        file, at = source.locate(table, int(row))
        text = rule.text
        if first is not None:
            first_file, first_at = source.locate(table, int(first))
            shown = str(first_at) if first_file == file else f"{first_at} of {first_file}"
            text = text.replace("{first}", shown)
        column = " and ".join(source.column(table, c) for c in rule.column.split(" and "))
        problems.append(Problem(rule.code, file, text, hint, row=at, column=column))
    return problems


def probe_source(path: Path, table: str, limits: IngestLimits = DEFAULT_LIMITS) -> None:
    """Cheap checks of one file (size, header or metadata, columns); raises ``_FileProblem``."""
    _check_size(path, limits)
    _PROBES[path.name.rpartition(".")[2].lower()](path, table, limits)


def ingest_batch(
    batch_dir: Path,
    pseudonym_secret: bytes,
    sink: Sink,
    quarantine: bool = False,
    limits: IngestLimits = DEFAULT_LIMITS,
    progress: Progress | None = None,
    source: TableSource | None = None,
) -> IngestOutcome:
    """Read, check and pseudonymise a batch, handing each accepted table to ``sink``.

    Raises one ``UserError`` that lists the problems (at most ``limits.max_problems_shown``) if
    the batch is refused; the sink may then have received some tables, which the caller throws
    away. Without ``quarantine`` any problem refuses the batch; with it, only problems in files or
    in ``geografie`` (reference data) do, and failing rows are returned in ``quarantine``.
    ``source`` reads the tables from another layout (default: one file per table in
    ``batch_dir``).
    """
    say = progress or (lambda _: None)
    source = source or FolderSource(batch_dir)
    try:
        source.prepare(limits, say)
        con = _connect(limits)
        try:
            return _check_tables(con, source, pseudonym_secret, sink, quarantine, limits, say)
        finally:
            con.close()
    finally:
        source.close()


class TableSource(Protocol):
    """Where ``ingest_batch`` gets the input tables from, and how it names their origin."""

    def prepare(self, limits: IngestLimits, say: Progress) -> None:
        """Cheap checks of every file; raises one ``UserError`` listing the problems."""

    def read(self, table: str, limits: IngestLimits) -> pa.Table:
        """One table in input column order plus ``__row``; raises ``FileProblem``."""
        raise NotImplementedError

    def label(self, table: str) -> str:
        """What progress messages call the table's source."""
        raise NotImplementedError

    def locate(self, table: str, row: int) -> tuple[str, int]:
        """The file and data row that ``__row`` value ``row`` of ``table`` came from."""
        raise NotImplementedError

    def column(self, table: str, column: str) -> str:
        """The source column behind a input column, for messages."""
        raise NotImplementedError

    def hint(self, table: str, column: str, code: str) -> str | None:
        """A layout-specific fix for a rule (None: the rule's own hint)."""
        raise NotImplementedError

    def notes(self) -> Mapping[str, int]:
        """Counts the layout reports besides the tables (e.g. rows it could not link)."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what ``prepare`` and ``read`` held."""


class FolderSource:
    """The default layout: one ``<table>.parquet|csv|sav`` file per input table."""

    def __init__(self, batch_dir: Path) -> None:
        self.batch_dir = batch_dir
        self.files: dict[str, Path] = {}

    def prepare(self, limits: IngestLimits, say: Progress) -> None:
        self.files = find_batch_files(self.batch_dir)
        problems: list[Problem] = []
        for table in CHECK_ORDER:
            try:
                probe_source(self.files[table], table, limits)
            except _FileProblem as e:
                problems.append(e.problem)
        raise_problems(problems)

    def read(self, table: str, limits: IngestLimits) -> pa.Table:
        return read_source_table(self.files[table], table, limits)

    def label(self, table: str) -> str:
        return self.files[table].name

    def locate(self, table: str, row: int) -> tuple[str, int]:
        return self.files[table].name, row

    def column(self, table: str, column: str) -> str:
        return column

    def hint(self, table: str, column: str, code: str) -> str | None:
        return None

    def notes(self) -> Mapping[str, int]:
        return {}

    def close(self) -> None:
        return None


def _check_tables(
    con: duckdb.DuckDBPyConnection,
    source: TableSource,
    secret: bytes,
    sink: Sink,
    quarantine: bool,
    limits: IngestLimits,
    say: Progress,
) -> IngestOutcome:
    rules = _Rules()
    pseudo = SqlPseudonymiser(secret)
    pseudonyms = pa.array([], pa.string())
    file_problems: list[Problem] = []
    row_problems: list[Problem] = []
    refused: dict[str, int] = {}  # rule code -> rows, for the refusal message
    set_aside: dict[str, dict[int, int]] = {}
    parts: list[pa.Table] = []
    for i, table in enumerate(CHECK_ORDER, start=1):
        say(f"reading {source.label(table)} ({i}/{len(CHECK_ORDER)})")
        try:
            raw = source.read(table, limits)
        except _FileProblem as e:
            file_problems.append(e.problem)
            continue
        if file_problems:
            continue  # later checks need every earlier table; just look for more broken files
        say(f"checking {table}")
        types = {f.name: f.type for f in raw.schema}
        con.register(f"raw_{table}", raw)
        del raw
        _typed_table(con, rules, table, quarantine, types)
        if table == "persoon":
            pseudonyms = _people(con, rules, pseudo)
        else:
            _mark_duplicates(con, rules, table)
        if table == "geografie":
            _check_geografie_consistency(con, rules)
            _execute(
                con,
                "CREATE TABLE kk_wijken AS SELECT DISTINCT wijkcode FROM typed_geografie "
                "WHERE wijkcode IS NOT NULL",
            )
        failures = _failures(con, table)
        if failures and (not quarantine or table == "geografie"):
            for rid, n in failures.items():
                code = rules.rules[rid].code
                refused[code] = refused.get(code, 0) + n
            room = limits.max_problems_shown - len(row_problems)
            row_problems += _listed(con, rules, source, table, room, quarantine)
        elif failures:
            set_aside[table] = failures
            parts.append(_quarantine_rows(con, rules, pseudo, table, types, source))
        con.unregister(f"raw_{table}")
        if not refused:
            say(f"pseudonymising {table}")
            sink(table, _with_pseudonyms(_arrow(con, _output_sql(table)), pseudonyms, table))
        _execute(con, f"DROP TABLE typed_{table}")

    if file_problems or refused:
        total = len(file_problems) + sum(refused.values())
        raise_problems((file_problems + row_problems)[: limits.max_problems_shown], total, refused)
    quarantined: dict[str, int] = {}
    for failures in set_aside.values():
        for rid, n in failures.items():
            code = rules.rules[rid].code
            quarantined[code] = quarantined.get(code, 0) + n
    return IngestOutcome(
        notes=dict(source.notes()),
        quarantined=dict(sorted(quarantined.items())),
        quarantined_per_table={t: sum(f.values()) for t, f in sorted(set_aside.items())},
        quarantine=(pa.concat_tables(parts) if parts else QUARANTINE_SCHEMA.empty_table()),
    )


# --- fingerprint -----------------------------------------------------------------------------

FINGERPRINT_VERSION = b"kansenkluis-data-fingerprint-v1\n"


class Fingerprint:
    """SHA-256 over a canonical text form of the pseudonymised tables.

    The canonical text of a table is a line ``table <name> <columns> <rows>`` followed by each
    row as its values joined by U+001F and ended by a newline, NULL written as U+0000, integers in
    decimal, booleans as ``true``/``false``, rows sorted on all columns (NULLs last). Values cannot
    hold control characters (validation refuses them), so the form is unambiguous, and it does
    not depend on the source format. The fingerprint is the SHA-256 of the version line followed
    by ``<name> <sha256 of its canonical text>`` for every table in input-table order, so
    tables can be added in any order.
    """

    def __init__(self) -> None:
        self._tables: dict[str, str] = {}

    def add(self, name: str, table: pa.Table) -> None:
        h = hashlib.sha256(
            f"table {name} {','.join(table.column_names)} {table.num_rows}\n".encode()
        )
        for batch in table.to_batches(max_chunksize=1 << 20):
            h.update(canonical_lines(batch))
        self._tables[name] = h.hexdigest()

    def hexdigest(self) -> str:
        if set(self._tables) != set(INPUT_TABLES):
            raise InternalError("FINGERPRINT", "the fingerprint needs every input table")
        h = hashlib.sha256(FINGERPRINT_VERSION)
        for name in INPUT_TABLES:
            h.update(f"{name} {self._tables[name]}\n".encode())
        return h.hexdigest()


def canonical_lines(batch: pa.RecordBatch) -> bytes:
    if batch.num_rows == 0:
        return b""
    texts = []
    for col in batch.columns:
        if pa.types.is_boolean(col.type):
            col = pc.if_else(col, "true", "false")
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        texts.append(pc.fill_null(col, "\x00"))
    joined = pc.binary_join_element_wise(*texts, "\x1f")
    lines = pc.binary_join_element_wise(joined, "", "\n")
    return _string_bytes(lines)


def _string_bytes(arr: pa.Array) -> bytes:
    """The concatenated UTF-8 bytes of a string array, without copying per value."""
    out = io.BytesIO()
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        offsets_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        _, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=offsets_type)
        start, end = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
        out.write(memoryview(data_buf)[start:end])
    return out.getvalue()
