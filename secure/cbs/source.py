"""The CBS layout as a ``TableSource``: the input tables derived from the CBS files.

Everything happens inside the sealed module, in an in-memory DuckDB database that cannot spill
(no plaintext intermediate on disk). ``docs/cbs-layout.md`` describes each derivation; in short:

1. ``prepare`` finds the files, checks their variables, and reads the references
   (OPLEIDINGSNRREF, CTOREF) and the education tables (INSCHRWPOTAB, ONDERWIJSINSCHRTAB,
   DIPLOMAMBOTAB, the vo exams). Only rows of registered persons (RINPERSOONS ``R``) are kept,
   only the columns the mapping names. This fixes who is needed: every pupil, and per pupil
   the school years (groep 8, vo, mbo) whose address is looked up.
2. ``read`` hands the checker one table at a time. The person tables are read in chunks and
   filtered at once to the persons needed (KINDOUDERTAB to the pupils, GBAPERSOONTAB and
   HOOGSTEOPLTAB to pupils and their parents, GBAADRESOBJECTBUS to the pupils, VSLGWBTAB to
   their address objects), so a national address table never has to fit in memory.

Codes become input codes through the mapping's code lists: a code listed as missing (or made of
dashes only: ``----``, ``---------``) becomes empty, an unknown code becomes ``?`` (``0`` for
mbo levels), which the checker then reports (or quarantines) as an unknown code at the CBS file,
row and column it came from. Each derived row carries in ``__row`` the file and row of its
source (``files.ROW_BITS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from kansenkluis.domain import INPUT_TABLES
from kansenkluis.errors import UserError
from kansenkluis.geocodes import WIJK_NUMBER_PATTERN
from secure.cbs.files import ROW_BITS, CbsFile, chunks, find, match_columns, sav_columns
from secure.cbs.mapping import ROLES, CbsMapping
from secure.ingest import (
    ROW,
    FileProblem,
    IngestLimits,
    Problem,
    Progress,
    _arrow,
    _connect,
    _execute,
    probe_source,
    raise_problems,
    read_source_table,
)

UNKNOWN = "?"
#: Education tables read in ``prepare`` (per school year), then the person tables.
EDUCATION = ("INSCHRWPOTAB", "ONDERWIJSINSCHRTAB", "DIPLOMAMBOTAB", "VOEXAMENTAB")
REFERENCES = ("OPLEIDINGSNRREF", "CTOREF")

_MACROS = (
    # files.chunks hands over every value trimmed, and NULL where it was empty or dashes only
    # (----, ---------); val() marks the raw values in the queries below
    "CREATE MACRO val(x) AS x",
    # string functions, not regular expressions: these run on every cell read
    "CREATE MACRO digits(v) AS ltrim(v, '0123456789') = ''",
    # a code as the mapping lists it: without leading zeros if it is a whole number
    "CREATE MACRO code(v) AS CASE WHEN digits(v) THEN coalesce(nullif(ltrim(v, '0'), ''), '0') "
    "ELSE v END",
    # RINPERSOON: nine digits, leading zeros restored where a tool dropped them
    "CREATE MACRO rin(v) AS CASE WHEN length(v) < 9 AND digits(v) THEN lpad(v, 9, '0') ELSE v END",
    "CREATE MACRO ymd(x) AS try_strptime(x, '%Y%m%d')::DATE",
)


class CbsSource:
    """``kluis ingest --layout cbs``: see the module docstring."""

    def __init__(self, batch_dir: Path, mapping: CbsMapping) -> None:
        self.dir = batch_dir
        self.m = mapping
        self.files: list[CbsFile] = []
        self.by_table: dict[str, list[CbsFile]] = {}
        self.geografie: Path | None = None
        self.con: duckdb.DuckDBPyConnection | None = None
        self._notes: dict[str, int] = {"geografie_jaar": mapping.geography_year}
        self._ref = f"'{mapping.reference_date}'"
        month, day = mapping.reference_date.split("-")
        self._ref_date = f"make_date(schooljaar::INTEGER, {int(month)}, {int(day)})"
        self._done: set[str] = set()

    # --- TableSource ---------------------------------------------------------------------------

    def prepare(self, limits: IngestLimits, say: Progress) -> None:
        if not self.dir.is_dir():
            raise UserError(
                "INGEST_NOT_A_DIRECTORY",
                f"{self.dir} is not a folder",
                hint="pass the folder that holds the CBS tables (see docs/cbs-layout.md)",
            )
        self._find(limits)
        self.con = _connect(limits)
        for sql in _MACROS:
            _execute(self.con, sql)
        self._code_tables()
        say("reading the reference lists OPLEIDINGSNRREF and CTOREF")
        problems: list[Problem] = []
        try:
            self._references(limits)
        except FileProblem as e:
            problems.append(e.problem)
        for table in EDUCATION:
            say(f"reading {table} ({len(self.by_table.get(table, []))} files)")
            try:
                self._education(table, limits)
            except FileProblem as e:
                problems.append(e.problem)
        raise_problems(problems)
        self._derive_education()

    def read(self, table: str, limits: IngestLimits) -> pa.Table:
        if table == "geografie":
            assert self.geografie is not None
            return read_source_table(self.geografie, "geografie", limits)
        if table == "kind_ouder" or (table == "persoon" and "kind_ouder" not in self._done):
            self._kind_ouder(limits)
        if table == "persoon":
            self._persoon(limits)
        elif table == "hoogste_opleiding":
            self._hoogste_opleiding(limits)
        elif table == "adres":
            self._adres(limits)
        cols = ", ".join(f'"{c}"' for c in INPUT_TABLES[table])
        data = _arrow(self._con, f"SELECT {cols}, {ROW} FROM spec_{table}")
        if table != "kind_ouder":  # persoon and hoogste_opleiding still need the parents
            _execute(self._con, f"DROP TABLE spec_{table}")
        self._done.add(table)
        return data

    def label(self, table: str) -> str:
        if table == "geografie":
            return self.geografie.name if self.geografie else "geografie"
        return f"{table} (from {', '.join(SOURCES[table])})"

    def locate(self, table: str, row: int) -> tuple[str, int]:
        if table == "geografie":
            return self.label(table), row
        f = self.files[row >> ROW_BITS]
        return f.name, row & ((1 << ROW_BITS) - 1)

    def column(self, table: str, column: str) -> str:
        return self._column_names().get((table, column), column)

    def hint(self, table: str, column: str, code: str) -> str | None:
        if code in ("INGEST_UNKNOWN_CODE", "INGEST_BAD_TYPE", "INGEST_BAD_FORMAT"):
            return CODE_HINTS.get((table, column))
        if code == "INGEST_UNKNOWN_PERSON":
            return (
                "every pupil and parent needs a GBAPERSOONTAB row with RINPERSOONS "
                f"{self.m.person_type}; check that the newest GBAPERSOONTAB is in the folder"
            )
        if code == "INGEST_UNKNOWN_WIJK":
            return (
                f"the wijk codes of VSLGWBTAB (wc{self.m.geography_year}) must be in the "
                "geografie reference: use the geografie of geography_year, or set "
                "geography_year in the mapping"
            )
        return None

    def notes(self) -> Mapping[str, int]:
        return dict(sorted(self._notes.items()))

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    # --- files -----------------------------------------------------------------------------

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        assert self.con is not None
        return self.con

    def _find(self, limits: IngestLimits) -> None:
        problems: list[Problem] = []
        for table, spec in self.m.tables.items():
            found = find(self.dir, table, spec, self.m)
            if not found:
                if spec.required:
                    problems.append(
                        Problem(
                            "INGEST_MISSING_TABLE",
                            f"{spec.folder}/{spec.file}",
                            f"matches no file ({table})",
                            hint=f"copy {table} into that folder, or set tables.{table}.folder "
                            "and .file in the mapping",
                        )
                    )
                continue
            if table == "geografie":
                if len(found) > 1 or len(list(self._geografie_candidates(found[0][0]))) > 1:
                    problems.append(
                        Problem(
                            "INGEST_DUPLICATE_TABLE",
                            f"{spec.folder}/{spec.file}",
                            "matches more than one file",
                            hint="keep exactly one geografie file",
                        )
                    )
                    continue
                self.geografie = found[0][0]
                try:
                    probe_source(self.geografie, "geografie", limits)
                except FileProblem as e:
                    problems.append(e.problem)
                continue
            for path, year, version in found:
                wanted = {
                    role: spec.column(role, year, self.m.geography_year) for role in ROLES[table]
                }
                try:
                    names = sav_columns(path, limits)
                except FileProblem as e:
                    problems.append(e.problem)
                    continue
                columns, missing = match_columns(table, path, names, wanted)
                problems += missing
                f = CbsFile(table, path, year, version, len(self.files), columns)
                self.files.append(f)
                self.by_table.setdefault(table, []).append(f)
        raise_problems(problems)

    def _geografie_candidates(self, path: Path) -> list[Path]:
        spec = self.m.tables["geografie"]
        regex = spec.regex()
        return [p for p in path.parent.iterdir() if regex.fullmatch(p.name) and p.is_file()]

    def _load(
        self,
        f: CbsFile,
        limits: IngestLimits,
        target: str,
        select: str,
        where: str = "true",
        join: str = "",
        person: bool = True,
    ) -> None:
        """Append ``SELECT select FROM chunk c join WHERE where`` of every chunk to ``target``.

        With ``person``, only rows of registered persons are kept; the others are counted.
        """
        con = self._con
        source = "chunk c"
        if person:
            # the key, computed once per row for the join and the output
            source = "(SELECT *, rin(rin) AS __key FROM chunk) c"
        for i, chunk in enumerate(chunks(f, limits)):
            if person:
                registered = pc.fill_null(
                    pc.equal(chunk.column("soort"), self.m.person_type), False
                )
                skipped = chunk.num_rows - pc.sum(registered).as_py()
                if skipped:
                    key = f"rows_not_{self.m.person_type}_{f.table}"
                    self._notes[key] = self._notes.get(key, 0) + int(skipped)
                chunk = chunk.filter(registered)
            con.register("chunk", chunk)
            try:
                sql = f"SELECT {select} FROM {source} {join} WHERE {where}"
                params = {"person": self.m.person_type} if "$person" in sql else None
                if i == 0 and not self._exists(target):
                    _execute(con, f"CREATE TABLE {target} AS {sql}", params)
                else:
                    _execute(con, f"INSERT INTO {target} {sql}", params)
            finally:
                con.unregister("chunk")

    def _exists(self, table: str) -> bool:
        found = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]
        ).fetchall()
        return bool(found[0][0])

    def _empty(self, table: str, columns: str) -> None:
        if not self._exists(table):
            _execute(self._con, f"CREATE TABLE {table} ({columns})")

    # --- codes -----------------------------------------------------------------------------

    def _code_tables(self) -> None:
        con = self._con
        for name, codes in self.m.codes.items():
            mapped, missing, ignore = codes.normalised()
            _execute(con, f"CREATE TABLE codes_{name} (code VARCHAR, value VARCHAR, kind VARCHAR)")
            rows: list[tuple[str, str | None, str]] = [(k, v, "map") for k, v in mapped.items()]
            rows += [(k, None, "missing") for k in missing]
            rows += [(k, None, "ignore") for k in ignore]
            if rows:
                con.executemany(f"INSERT INTO codes_{name} VALUES (?, ?, ?)", rows)

    @staticmethod
    def _mapped(alias: str, expr: str, unknown: str = UNKNOWN, required: bool = False) -> str:
        """input value of code ``expr`` joined as ``alias``: NULL if listed as missing, ``?``
        (``unknown``) if not in the code list. An empty ``expr`` is NULL, or unknown if a
        value is ``required`` (a level looked up in a reference list that lacks it)."""
        empty = f"'{unknown}'" if required else "NULL"
        return (
            f"CASE WHEN {expr} IS NULL THEN {empty} WHEN {alias}.kind = 'map' THEN {alias}.value "
            f"WHEN {alias}.kind IS NULL THEN '{unknown}' END"
        )

    @staticmethod
    def _join_code(codes: str, alias: str, expr: str) -> str:
        return f"LEFT JOIN codes_{codes} {alias} ON {alias}.code = {expr}"

    # --- references and education ------------------------------------------------------------

    def _references(self, limits: IngestLimits) -> None:
        for f in self.by_table["OPLEIDINGSNRREF"]:
            self._load(
                f,
                limits,
                "ref_oplnr",
                "code(c.oplnr) AS oplnr, code(c.cto) AS cto, val(c.soort_vo) AS soort_vo",
                person=False,
            )
        for f in self.by_table["CTOREF"]:
            self._load(
                f, limits, "ref_cto", "code(c.cto) AS cto, code(c.niveau) AS soi", person=False
            )
        self._empty("ref_oplnr", "oplnr VARCHAR, cto VARCHAR, soort_vo VARCHAR")
        self._empty("ref_cto", "cto VARCHAR, soi VARCHAR")
        # One row per programme: a reference list lists each code once (the first row wins).
        _execute(
            self._con,
            "CREATE TABLE opleiding AS SELECT o.oplnr, o.soort_vo, t.soi FROM "
            "(SELECT oplnr, arg_min(cto, rowid) AS cto, arg_min(soort_vo, rowid) AS soort_vo "
            " FROM ref_oplnr WHERE oplnr IS NOT NULL GROUP BY oplnr) o "
            "LEFT JOIN (SELECT cto, arg_min(soi, rowid) AS soi FROM ref_cto "
            " WHERE cto IS NOT NULL GROUP BY cto) t ON t.cto = o.cto",
        )

    def _education(self, table: str, limits: IngestLimits) -> None:
        spec = self.m.tables[table]
        for f in self.by_table.get(table, []):
            year = f"'{f.year}'" if f.year is not None else "NULL"
            if table == "INSCHRWPOTAB":
                groep8 = ", ".join(f"'{g}'" for g in _sql_safe(spec.groep8))
                self._load(
                    f,
                    limits,
                    "raw_po",
                    f"c.__key AS rin, {year} AS schooljaar, val(c.brin) AS brin, "
                    "code(c.schooladvies) AS schooladvies, code(c.toetsadvies) AS toetsadvies, "
                    f"code(c.herzien) AS herzien, c.{ROW}",
                    where=f"code(c.leerjaar) IN ({groep8})",
                )
            elif table == "ONDERWIJSINSCHRTAB":
                self._load(
                    f,
                    limits,
                    "raw_onderwijs",
                    f"c.__key AS rin, {year} AS schooljaar, val(c.brin) AS brin, "
                    "code(c.oplnr) AS oplnr, val(c.type) AS type, val(c.leerjaar) AS leerjaar, "
                    f"c.{ROW}",
                )
            elif table == "DIPLOMAMBOTAB":
                self._load(
                    f,
                    limits,
                    "raw_mbo_diploma",
                    f"c.__key AS rin, ymd(c.datum) AS datum, code(c.oplnr) AS oplnr, c.{ROW}",
                )
            else:
                self._load(
                    f,
                    limits,
                    "raw_vo_examen",
                    f"c.__key AS rin, {year} AS schooljaar, code(c.oplnr) AS oplnr, "
                    f"code(c.uitslag) AS uitslag, c.{ROW}",
                )

    def _derive_education(self) -> None:
        con = self._con
        self._empty(
            "raw_po",
            f"rin VARCHAR, schooljaar VARCHAR, brin VARCHAR, schooladvies VARCHAR, "
            f"toetsadvies VARCHAR, herzien VARCHAR, {ROW} BIGINT",
        )
        self._empty(
            "raw_onderwijs",
            f"rin VARCHAR, schooljaar VARCHAR, brin VARCHAR, oplnr VARCHAR, type VARCHAR, "
            f"leerjaar VARCHAR, {ROW} BIGINT",
        )
        self._empty("raw_mbo_diploma", f"rin VARCHAR, datum DATE, oplnr VARCHAR, {ROW} BIGINT")
        self._empty(
            "raw_vo_examen",
            f"rin VARCHAR, schooljaar VARCHAR, oplnr VARCHAR, uitslag VARCHAR, {ROW} BIGINT",
        )
        # A revised advice (WPOADVIESHERZ) replaces the school advice; no revision keeps it.
        _execute(
            con,
            f"""
            CREATE TABLE spec_po_advies AS
            SELECT p.rin, p.schooljaar, p.brin,
                   {self._mapped("a", "p.schooladvies")} AS schooladvies,
                   {self._mapped("t", "p.toetsadvies")} AS toetsadvies,
                   coalesce({self._mapped("h", "p.herzien")}, {self._mapped("a", "p.schooladvies")})
                       AS advies_definitief,
                   p.{ROW}
            FROM raw_po p {self._join_code("advies", "a", "p.schooladvies")}
                 {self._join_code("advies", "t", "p.toetsadvies")}
                 {self._join_code("advies", "h", "p.herzien")}
            """,
        )
        _execute(con, "DROP TABLE raw_po")
        _execute(
            con,
            f"""
            CREATE TABLE onderwijs AS
            SELECT e.rin, e.schooljaar, e.brin, e.leerjaar, e.{ROW}, o.soort_vo, o.soi,
                   CASE WHEN s.kind = 'map' THEN s.value WHEN s.kind = 'ignore' THEN 'ignore'
                   END AS sector
            FROM raw_onderwijs e LEFT JOIN opleiding o ON o.oplnr = e.oplnr
                 {self._join_code("onderwijstype", "s", "e.type")}
            """,
        )
        _execute(con, "DROP TABLE raw_onderwijs")
        ignored = con.execute("SELECT count(*) FROM onderwijs WHERE sector = 'ignore'").fetchall()
        self._notes["rows_ignored_ONDERWIJSINSCHRTAB"] = int(ignored[0][0])
        # An enrolment of an unknown type goes to vo, where its level is reported as unknown.
        _execute(
            con,
            f"""
            CREATE TABLE spec_vo_inschrijving AS
            SELECT e.rin, e.schooljaar, e.brin,
                   CASE WHEN e.sector = 'vo' THEN {self._mapped("v", "e.soort_vo", required=True)}
                        ELSE '{UNKNOWN}' END
                       AS niveau,
                   e.leerjaar, e.{ROW}
            FROM onderwijs e {self._join_code("vo_niveau", "v", "e.soort_vo")}
            WHERE e.sector IS DISTINCT FROM 'ignore' AND e.sector NOT IN ('mbo', 'ho')
            """,
        )
        _execute(
            con,
            f"""
            CREATE TABLE spec_mbo_inschrijving AS
            SELECT e.rin, e.schooljaar, {self._mapped("m", "e.soi", "0", True)} AS niveau, e.{ROW}
            FROM onderwijs e {self._join_code("soi_mbo", "m", "e.soi")}
            WHERE e.sector = 'mbo'
            """,
        )
        _execute(
            con,
            f"""
            CREATE TABLE spec_ho_inschrijving AS
            SELECT e.rin, e.schooljaar, {self._mapped("h", "e.soi", required=True)} AS soort,
                   e.{ROW}
            FROM onderwijs e {self._join_code("soi_ho", "h", "e.soi")}
            WHERE e.sector = 'ho'
            """,
        )
        _execute(con, "DROP TABLE onderwijs")
        # A diploma dated before the reference day belongs to the school year before.
        _execute(
            con,
            f"""
            CREATE TABLE spec_mbo_diploma AS
            SELECT d.rin,
                   CASE WHEN d.datum IS NULL THEN '{UNKNOWN}'
                        ELSE (year(d.datum) - CASE WHEN strftime(d.datum, '%m-%d') < {self._ref}
                              THEN 1 ELSE 0 END)::VARCHAR END AS schooljaar,
                   {self._mapped("m", "o.soi", "0", True)} AS niveau, d.{ROW}
            FROM raw_mbo_diploma d LEFT JOIN opleiding o ON o.oplnr = d.oplnr
                 {self._join_code("soi_mbo", "m", "o.soi")}
            """,
        )
        _execute(con, "DROP TABLE raw_mbo_diploma")
        _execute(
            con,
            f"""
            CREATE TABLE spec_vo_examen AS
            SELECT x.rin, x.schooljaar, {self._mapped("v", "o.soort_vo", required=True)} AS niveau,
                   {self._mapped("u", "x.uitslag")} AS geslaagd, x.{ROW}
            FROM raw_vo_examen x LEFT JOIN opleiding o ON o.oplnr = x.oplnr
                 {self._join_code("vo_niveau", "v", "o.soort_vo")}
                 {self._join_code("uitslag", "u", "x.uitslag")}
            """,
        )
        _execute(con, "DROP TABLE raw_vo_examen")
        # Who is needed: every pupil, and the years whose address each pupil needs.
        _execute(
            con,
            "CREATE TABLE need_pupil AS SELECT DISTINCT rin FROM ("
            + " UNION ALL ".join(
                f"SELECT rin FROM spec_{t}"
                for t in (
                    "po_advies",
                    "vo_inschrijving",
                    "vo_examen",
                    "mbo_inschrijving",
                    "mbo_diploma",
                    "ho_inschrijving",
                )
            )
            + ") WHERE rin IS NOT NULL",
        )
        _execute(
            con,
            "CREATE TABLE need_adres AS SELECT DISTINCT rin, TRY_CAST(schooljaar AS INTEGER) "
            "AS schooljaar FROM ("
            + " UNION ALL ".join(
                f"SELECT rin, schooljaar FROM spec_{t}"
                for t in ("po_advies", "vo_inschrijving", "mbo_inschrijving")
            )
            + ") WHERE rin IS NOT NULL AND TRY_CAST(schooljaar AS INTEGER) BETWEEN 1900 AND 2100",
        )

    # --- persons -----------------------------------------------------------------------------

    def _kind_ouder(self, limits: IngestLimits) -> None:
        if self._exists("spec_kind_ouder"):
            return
        person = "$person"
        for f in self.by_table["KINDOUDERTAB"]:
            self._load(
                f,
                limits,
                "spec_kind_ouder",
                f"c.__key AS rin, "
                f"CASE WHEN val(c.soort_ma) = {person} THEN rin(c.rin_ma) END AS rin_ouder1, "
                f"CASE WHEN val(c.soort_pa) = {person} THEN rin(c.rin_pa) END AS rin_ouder2, "
                f"c.{ROW}",
                join="SEMI JOIN need_pupil n ON n.rin = c.__key",
            )
        self._empty(
            "spec_kind_ouder",
            f"rin VARCHAR, rin_ouder1 VARCHAR, rin_ouder2 VARCHAR, {ROW} BIGINT",
        )
        _execute(
            self._con,
            "CREATE TABLE need_parent AS SELECT DISTINCT rin FROM ("
            "SELECT rin_ouder1 AS rin FROM spec_kind_ouder UNION ALL "
            "SELECT rin_ouder2 FROM spec_kind_ouder) WHERE rin IS NOT NULL",
        )
        _execute(
            self._con,
            "CREATE TABLE need_person AS SELECT rin FROM need_pupil UNION "
            "SELECT rin FROM need_parent",
        )

    def _persoon(self, limits: IngestLimits) -> None:
        for f in self.by_table["GBAPERSOONTAB"]:
            self._load(
                f,
                limits,
                "spec_persoon",
                f"c.__key AS rin, val(c.geboortejaar) AS geboortejaar, "
                f"val(c.geboortemaand) AS geboortemaand, c.{ROW}",
                join="SEMI JOIN need_person n ON n.rin = c.__key",
            )
        self._empty(
            "spec_persoon",
            f"rin VARCHAR, geboortejaar VARCHAR, geboortemaand VARCHAR, {ROW} BIGINT",
        )
        _execute(self._con, "DROP TABLE need_person")

    def _hoogste_opleiding(self, limits: IngestLimits) -> None:
        for f in self.by_table["HOOGSTEOPLTAB"]:
            year = f.year if f.year is not None else 0
            self._load(
                f,
                limits,
                "raw_opleiding",
                f"c.__key AS rin, {year} AS jaar, code(c.niveau) AS niveau, c.{ROW}",
                join="SEMI JOIN need_parent n ON n.rin = c.__key",
            )
        self._empty("raw_opleiding", f"rin VARCHAR, jaar INTEGER, niveau VARCHAR, {ROW} BIGINT")
        # Per parent the newest year that holds a level; missing codes hold none.
        _execute(
            self._con,
            f"""
            CREATE TABLE spec_hoogste_opleiding AS
            SELECT rin, opleidingsniveau, {ROW} FROM (
                SELECT r.rin, r.jaar, {self._mapped("s", "r.niveau")} AS opleidingsniveau, r.{ROW}
                FROM raw_opleiding r {self._join_code("soi_opleiding", "s", "r.niveau")}
                WHERE r.niveau IS NOT NULL
            ) WHERE opleidingsniveau IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY rin ORDER BY jaar DESC, {ROW} DESC) = 1
            """,
        )
        _execute(self._con, "DROP TABLE raw_opleiding")
        _execute(self._con, "DROP TABLE need_parent")
        _execute(self._con, "DROP TABLE spec_kind_ouder")

    # --- addresses ---------------------------------------------------------------------------

    def _adres(self, limits: IngestLimits) -> None:
        con = self._con
        _execute(con, "CREATE TABLE need_adres_rin AS SELECT DISTINCT rin FROM need_adres")
        for f in self.by_table["GBAADRESOBJECTBUS"]:
            self._load(
                f,
                limits,
                "spell",
                "c.__key AS rin, val(c.soort_object) AS soort_object, "
                "code(c.object) AS object, ymd(c.begin) AS begin, "
                # an open spell ends 20501231 or is empty
                "coalesce(ymd(c.einde), CASE WHEN val(c.einde) IS NULL "
                "THEN DATE '9999-12-31' END) AS einde, "
                f"val(c.begin) IS NOT NULL AS has_begin, c.{ROW}",
                join="SEMI JOIN need_adres_rin n ON n.rin = c.__key",
            )
        self._empty(
            "spell",
            f"rin VARCHAR, soort_object VARCHAR, object VARCHAR, begin DATE, einde DATE, "
            f"has_begin BOOLEAN, {ROW} BIGINT",
        )
        _execute(con, "DROP TABLE need_adres_rin")
        spec = self.m.tables["GBAADRESOBJECTBUS"]
        for role, cond in (("begin", "begin IS NULL"), ("einde", "einde IS NULL")):
            bad = con.execute(f"SELECT count(*), min({ROW}) FROM spell WHERE {cond}").fetchall()[0]
            if bad[0]:
                file, row = self.locate("adres", int(bad[1]))
                raise FileProblem(
                    Problem(
                        "INGEST_BAD_TYPE",
                        file,
                        f"is not a date YYYYMMDD ({int(bad[0])} rows in all)",
                        hint=f"dates are written YYYYMMDD; {_key(spec.columns, role)} names the "
                        "column in the mapping",
                        row=row,
                        column=self.by_table["GBAADRESOBJECTBUS"][0].columns[role],
                    )
                )
        # The spell that holds the reference day; of overlapping spells the one begun last.
        # Back-to-back spells at one address give the same object either way.
        _execute(
            con,
            f"""
            CREATE TABLE adres_spell AS
            SELECT n.rin, n.schooljaar, s.soort_object, s.object, s.{ROW}
            FROM need_adres n JOIN spell s
              ON s.rin = n.rin AND s.begin <= {self._ref_date.replace("schooljaar", "n.schooljaar")}
             AND s.einde >= {self._ref_date.replace("schooljaar", "n.schooljaar")}
            QUALIFY row_number() OVER (PARTITION BY n.rin, n.schooljaar
                                       ORDER BY s.begin DESC, s.{ROW} DESC) = 1
            """,
        )
        _execute(con, "DROP TABLE spell")
        _execute(
            con,
            "CREATE TABLE need_object AS SELECT DISTINCT soort_object, object FROM adres_spell",
        )
        for table in ("VSLGWBTAB", "NIETVSLGWBTAB"):
            for f in self.by_table.get(table, []):
                self._load(
                    f,
                    limits,
                    "object_wijk",
                    "val(c.soort_object) AS soort_object, code(c.object) AS object, "
                    "val(c.wijk) AS wijk",
                    join="SEMI JOIN need_object o ON o.soort_object IS NOT DISTINCT FROM "
                    "val(c.soort_object) AND o.object = code(c.object)",
                    person=False,
                )
        self._empty("object_wijk", "soort_object VARCHAR, object VARCHAR, wijk VARCHAR")
        _execute(con, "DROP TABLE need_object")
        # wc<year> is gggg + ww (ww may hold letters); a numeric column loses the leading zero
        # of the gemeente.
        _execute(
            con,
            f"""
            CREATE TABLE spec_adres AS
            SELECT a.rin, a.schooljaar::VARCHAR AS schooljaar,
                   CASE WHEN regexp_full_match(w.wijk, '[0-9]{{5,6}}')
                        THEN 'WK' || lpad(w.wijk, 6, '0')
                        WHEN regexp_full_match(w.wijk, '{WIJK_NUMBER_PATTERN}')
                        THEN 'WK' || w.wijk ELSE w.wijk END AS wijkcode,
                   a.{ROW}
            FROM adres_spell a JOIN (
                SELECT soort_object, object, arg_min(wijk, wijk IS NULL) AS wijk
                FROM object_wijk GROUP BY ALL
            ) w ON w.soort_object IS NOT DISTINCT FROM a.soort_object AND w.object = a.object
            WHERE w.wijk IS NOT NULL
            """,
        )
        counts = con.execute(
            "SELECT (SELECT count(*) FROM need_adres), (SELECT count(*) FROM adres_spell), "
            "(SELECT count(*) FROM spec_adres)"
        ).fetchall()[0]
        needed, with_spell, with_wijk = (int(v) for v in counts)
        self._notes["adres_years_without_address"] = needed - with_spell
        self._notes["adres_years_without_wijk"] = with_spell - with_wijk
        for t in ("adres_spell", "object_wijk", "need_adres"):
            _execute(con, f"DROP TABLE {t}")

    def _column_names(self) -> dict[tuple[str, str], str]:
        def col(table: str, role: str) -> str:
            spec = self.m.tables[table].columns[role]
            if isinstance(spec, str):
                return spec.replace("{geojaar}", str(self.m.geography_year))
            return "/".join(o.name for o in spec)

        year = "year in the file name"
        return {
            ("persoon", "rin"): col("GBAPERSOONTAB", "rin"),
            ("persoon", "geboortejaar"): col("GBAPERSOONTAB", "geboortejaar"),
            ("persoon", "geboortemaand"): col("GBAPERSOONTAB", "geboortemaand"),
            ("kind_ouder", "rin"): col("KINDOUDERTAB", "rin"),
            ("kind_ouder", "rin_ouder1"): col("KINDOUDERTAB", "rin_ma"),
            ("kind_ouder", "rin_ouder2"): col("KINDOUDERTAB", "rin_pa"),
            ("hoogste_opleiding", "rin"): col("HOOGSTEOPLTAB", "rin"),
            ("hoogste_opleiding", "opleidingsniveau"): col("HOOGSTEOPLTAB", "niveau"),
            ("adres", "rin"): col("GBAADRESOBJECTBUS", "rin"),
            ("adres", "schooljaar"): f"{year} of the pupil's education table",
            ("adres", "wijkcode"): f"{col('VSLGWBTAB', 'wijk')} (VSLGWBTAB, by "
            f"{col('GBAADRESOBJECTBUS', 'object')})",
            ("po_advies", "rin"): col("INSCHRWPOTAB", "rin"),
            ("po_advies", "schooljaar"): year,
            ("po_advies", "brin"): col("INSCHRWPOTAB", "brin"),
            ("po_advies", "schooladvies"): col("INSCHRWPOTAB", "schooladvies"),
            ("po_advies", "toetsadvies"): col("INSCHRWPOTAB", "toetsadvies"),
            ("po_advies", "advies_definitief"): f"{col('INSCHRWPOTAB', 'herzien')} "
            f"(else {col('INSCHRWPOTAB', 'schooladvies')})",
            ("vo_inschrijving", "rin"): col("ONDERWIJSINSCHRTAB", "rin"),
            ("vo_inschrijving", "schooljaar"): year,
            ("vo_inschrijving", "brin"): col("ONDERWIJSINSCHRTAB", "brin"),
            ("vo_inschrijving", "niveau"): f"{col('ONDERWIJSINSCHRTAB', 'oplnr')} "
            f"(via {col('OPLEIDINGSNRREF', 'soort_vo')})",
            ("vo_inschrijving", "leerjaar"): col("ONDERWIJSINSCHRTAB", "leerjaar"),
            ("vo_examen", "rin"): col("VOEXAMENTAB", "rin"),
            ("vo_examen", "schooljaar"): year,
            ("vo_examen", "niveau"): f"{col('VOEXAMENTAB', 'oplnr')} "
            f"(via {col('OPLEIDINGSNRREF', 'soort_vo')})",
            ("vo_examen", "geslaagd"): col("VOEXAMENTAB", "uitslag"),
            ("mbo_inschrijving", "rin"): col("ONDERWIJSINSCHRTAB", "rin"),
            ("mbo_inschrijving", "schooljaar"): year,
            ("mbo_inschrijving", "niveau"): f"{col('ONDERWIJSINSCHRTAB', 'oplnr')} "
            f"(via {col('OPLEIDINGSNRREF', 'cto')} and {col('CTOREF', 'niveau')})",
            ("mbo_diploma", "rin"): col("DIPLOMAMBOTAB", "rin"),
            ("mbo_diploma", "schooljaar"): col("DIPLOMAMBOTAB", "datum"),
            ("mbo_diploma", "niveau"): f"{col('DIPLOMAMBOTAB', 'oplnr')} "
            f"(via {col('OPLEIDINGSNRREF', 'cto')} and {col('CTOREF', 'niveau')})",
            ("ho_inschrijving", "rin"): col("ONDERWIJSINSCHRTAB", "rin"),
            ("ho_inschrijving", "schooljaar"): year,
            ("ho_inschrijving", "soort"): f"{col('ONDERWIJSINSCHRTAB', 'oplnr')} "
            f"(via {col('OPLEIDINGSNRREF', 'cto')} and {col('CTOREF', 'niveau')})",
        }


def _key(columns: Mapping[str, object], role: str) -> str:
    return f"columns.{role}" if role in columns else role


def _sql_safe(values: list[str]) -> list[str]:
    from secure.cbs.mapping import normalise_code

    return [normalise_code(v).replace("'", "''") for v in values]


#: The CBS tables behind each input table, for progress messages.
SOURCES: Mapping[str, tuple[str, ...]] = {
    "persoon": ("GBAPERSOONTAB",),
    "kind_ouder": ("KINDOUDERTAB",),
    "hoogste_opleiding": ("HOOGSTEOPLTAB",),
    "adres": ("GBAADRESOBJECTBUS", "VSLGWBTAB", "NIETVSLGWBTAB"),
    "po_advies": ("INSCHRWPOTAB",),
    "vo_inschrijving": ("ONDERWIJSINSCHRTAB", "OPLEIDINGSNRREF"),
    "vo_examen": ("VOEXAMENTAB", "OPLEIDINGSNRREF"),
    "mbo_inschrijving": ("ONDERWIJSINSCHRTAB", "OPLEIDINGSNRREF", "CTOREF"),
    "mbo_diploma": ("DIPLOMAMBOTAB", "OPLEIDINGSNRREF", "CTOREF"),
    "ho_inschrijving": ("ONDERWIJSINSCHRTAB", "OPLEIDINGSNRREF", "CTOREF"),
}

_ADVIES = "add the code to [codes.advies] of the mapping (or to its missing list)"
_VO = (
    "OPLNR must be in OPLEIDINGSNRREF and its ONDERWIJSSOORTVO in [codes.vo_niveau] of the "
    "mapping; TYPEONDERWIJS must be in [codes.onderwijstype]"
)
_SOI = "OPLNR must be in OPLEIDINGSNRREF, its CTO in CTOREF and that level in [codes.{}]"
#: The fix for an unknown or unreadable code, per input table and column.
CODE_HINTS: Mapping[tuple[str, str], str] = {
    ("po_advies", "schooladvies"): _ADVIES,
    ("po_advies", "toetsadvies"): _ADVIES,
    ("po_advies", "advies_definitief"): _ADVIES,
    ("vo_inschrijving", "niveau"): _VO,
    ("vo_inschrijving", "leerjaar"): "VOLEERJAAR must be a school year 1-6",
    ("vo_examen", "niveau"): _VO + " (an exam is at a single level)",
    ("vo_examen", "geslaagd"): "add the result code to [codes.uitslag] of the mapping",
    ("mbo_inschrijving", "niveau"): _SOI.format("soi_mbo"),
    ("mbo_diploma", "niveau"): _SOI.format("soi_mbo"),
    ("mbo_diploma", "schooljaar"): "EXAMENDATUMMBO must be a date YYYYMMDD",
    ("ho_inschrijving", "soort"): _SOI.format("soi_ho"),
    ("hoogste_opleiding", "opleidingsniveau"): "add the code to [codes.soi_opleiding] of the "
    "mapping (or to its missing list)",
    ("adres", "wijkcode"): "the wc column of VSLGWBTAB must hold wijk codes gggg + ww",
    ("persoon", "geboortejaar"): "GBAGEBOORTEJAAR must be a year",
    ("persoon", "geboortemaand"): "GBAGEBOORTEMAAND must be a month 1-12",
}
