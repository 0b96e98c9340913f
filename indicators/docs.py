"""Worked examples of the indicators and the generator of ``docs/indicators.md``.

A ``SpecCase`` is a small set of input tables in pipe-table form with hand-computed numerators
and denominators. The spec tests (``tests/spec/test_spec_*.py``, each exposing a ``CASES``
tuple) run both engines on every case; this module prints the same cases, together with the
specs of ``indicators.specs``, into ``docs/indicators.md``. So the definitions people read are
the ones that are tested. Regenerate with ``python -m indicators.docs``; a spec test fails when
the committed file is stale.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent
from types import ModuleType

import pandas as pd

from indicators.specs import CONVENTIONS, INDICATORS, POPULATIONS, RUN_REPORT
from kansenkluis.domain import INPUT_COLUMNS, INPUT_TABLES, TOTAAL, Geography, IndicatorId

ROOT = Path(__file__).resolve().parents[1]
SPEC_TEST_DIR = ROOT / "tests" / "spec"
DOC_PATH = ROOT / "docs" / "indicators.md"

#: Reference year of the worked examples unless a case says otherwise.
DEFAULT_YEAR = 2022
#: Where every pupil of a case lives in the reference year when the case gives no adres table.
DEFAULT_WIJK = "WK000100"

#: The geography of the worked examples: two gemeenten, three wijken.
SPEC_GEOGRAFIE = """
    wijkcode | wijknaam  | gemeentecode | gemeentenaam | regio  | buren
    WK000100 | Centrum   | GM0001       | Aadorp       | Oost   | WK000101
    WK000101 | Buitenwijk| GM0001       | Aadorp       | Oost   | WK000100
    WK000200 | Dorp      | GM0002       | Beekdal      | Oost   |
"""

_BOOL_VALUES = {"ja": True, "nee": False, "true": True, "false": False}
#: ``indicator``, ``indicator[breakdown]`` or either followed by ``@wijkcode``.
_EXPECT_KEY = re.compile(r"^(?P<ind>[a-z_]+)(\[(?P<bd>[a-z_0-9]+)\])?(@(?P<wijk>WK\d{6}))?$")


def _column_kind(table: str, column: str) -> str:
    # the type the input schema declares; an extra column (a ``toelichting``) is text
    kind = next((c.kind for c in INPUT_COLUMNS[table] if c.name == column), "text")
    return kind if kind in ("int", "bool") else "str"


def _split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("|")]


def parse_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a pipe table (cells between `|`, blank lines ignored)."""
    lines = [line for line in dedent(text).splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty pipe table")
    header = _split_row(lines[0])
    rows = [_split_row(line) for line in lines[1:]]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"pipe table line {number}: {len(row)} cells, header has {len(header)}"
            )
    return header, rows


def parse_table(table: str, text: str) -> pd.DataFrame:
    """A input table from a pipe table: empty cells are missing, ``ja``/``nee`` booleans.

    input columns the pipe table leaves out are added as missing; extra columns (such as a
    ``toelichting``) are kept and, as docs/input-tables.md says for extra columns, ignored by
    the engines.
    """
    header, rows = parse_rows(text)
    data: dict[str, list[object]] = {column: [] for column in header}
    for row in rows:
        for column, cell in zip(header, row, strict=True):
            kind = _column_kind(table, column)
            value: object = None
            if cell != "":
                value = (
                    int(cell) if kind == "int" else _BOOL_VALUES[cell] if kind == "bool" else cell
                )
            data[column].append(value)
    frame = pd.DataFrame(data)
    for column in INPUT_TABLES[table]:
        if column not in frame:
            frame[column] = None
        kind = _column_kind(table, column)
        dtype = {"int": "Int64", "bool": "boolean", "str": "str"}[kind]
        frame[column] = frame[column].astype(dtype)
    return frame


def spec_geography() -> Geography:
    header, rows = parse_rows(SPEC_GEOGRAFIE)
    return Geography.from_frame(pd.DataFrame(rows, columns=header))


@dataclass(frozen=True)
class SpecCase:
    """One worked example: input tables and the hand-computed results they must give.

    ``expect`` maps ``indicator``, ``indicator[breakdown]`` or either with ``@wijkcode`` to
    (numerator, denominator); without ``@wijkcode`` it is the sum over every wijk. ``report``
    lists run-report counts the case pins down. Pupils live in ``DEFAULT_WIJK`` in the
    reference year unless the case gives its own ``adres`` table.
    """

    name: str
    title: str
    tables: Mapping[str, str]
    expect: Mapping[str, tuple[int, int]]
    why: str = ""
    report: Mapping[str, int] = field(default_factory=dict)
    schooljaar: int = DEFAULT_YEAR

    def __post_init__(self) -> None:
        unknown_tables = set(self.tables) - set(INPUT_TABLES)
        if unknown_tables:
            raise ValueError(f"{self.name}: unknown tables {sorted(unknown_tables)}")
        for key in self.expect:
            self.target(key)
        unknown_keys = set(self.report) - set(RUN_REPORT)
        if unknown_keys:
            raise ValueError(f"{self.name}: unknown run-report keys {sorted(unknown_keys)}")

    def target(self, key: str) -> tuple[IndicatorId, str, str | None]:
        """(indicator, breakdown, wijkcode or None) named by an ``expect`` key."""
        match = _EXPECT_KEY.match(key)
        if not match or match["ind"] not in set(IndicatorId):
            raise ValueError(f"{self.name}: bad expect key {key!r}")
        indicator = IndicatorId(match["ind"])
        breakdown = match["bd"] or TOTAAL
        if breakdown not in INDICATORS[indicator].breakdowns:
            raise ValueError(f"{self.name}: {indicator} has no breakdown {breakdown}")
        return indicator, breakdown, match["wijk"]

    def frames(self) -> dict[str, pd.DataFrame]:
        """The input tables as frames, with the default adres rows if the case has none."""
        frames = {table: parse_table(table, text) for table, text in self.tables.items()}
        if "adres" not in frames:
            rins = sorted({rin for frame in frames.values() for rin in frame["rin"].dropna()})
            frames["adres"] = pd.DataFrame(
                {
                    "rin": pd.Series(rins, dtype="str"),
                    "schooljaar": pd.Series([self.schooljaar] * len(rins), dtype="Int64"),
                    "wijkcode": pd.Series([DEFAULT_WIJK] * len(rins), dtype="str"),
                }
            )
        return frames


# --- collecting the cases -------------------------------------------------------------------------


def _load(path: Path) -> ModuleType:
    name = f"_kansenkluis_spec_cases.{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def spec_modules() -> list[ModuleType]:
    """The spec test modules that expose ``CASES``, in file-name order."""
    modules = [_load(path) for path in sorted(SPEC_TEST_DIR.glob("test_spec_*.py"))]
    return [m for m in modules if hasattr(m, "CASES")]


# --- rendering ----------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _pct(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:.1f}" if denominator else "—"


def _render_case(case: SpecCase) -> list[str]:
    out = [f"#### {case.title}", ""]
    if case.why:
        out += [case.why, ""]
    out += [f"Reference year t = {case.schooljaar}."]
    if "adres" not in case.tables:
        out[-1] += f" Every pupil lives in wijk {DEFAULT_WIJK} in t."
    out.append("")
    for table, text in case.tables.items():
        header, rows = parse_rows(text)
        out += [f"`{table}`", "", *_md_table(header, rows), ""]
    rows = []
    for key, (numerator, denominator) in case.expect.items():
        indicator, breakdown, wijk = case.target(key)
        rows.append(
            [
                f"`{indicator}`",
                breakdown,
                wijk or "all wijken",
                str(numerator),
                str(denominator),
                _pct(numerator, denominator),
            ]
        )
    out += ["Expected:", ""]
    out += _md_table(["indicator", "breakdown", "where", "numerator", "denominator", "%"], rows)
    if case.report:
        out += ["", "Run report:", ""]
        out += _md_table(["count", "value"], [[f"`{k}`", str(v)] for k, v in case.report.items()])
    return [*out, ""]


def render(modules: list[ModuleType] | None = None) -> str:
    """The full text of ``docs/indicators.md``."""
    modules = spec_modules() if modules is None else modules
    out = [
        "# The eight Gelijke Kansen indicators",
        "",
        "<!-- Generated by `python -m indicators.docs` from indicators/specs.py and "
        "tests/spec/. Do not edit by hand. -->",
        "",
        "Every pupil of a reference year t falls in exactly one outcome *category* of each",
        "*population* it belongs to; an indicator is the pupils of its numerator categories",
        "over those of its denominator categories, `100 * numerator / denominator`.",
        "Two engines count the categories: `secure/engine.py` (DuckDB; one SELECT per",
        "population, all counted in one statement) and `indicators/reference.py` (plain",
        "Python, pupil by pupil). Every worked example below is a spec test that runs both",
        "engines; property tests check that they agree on generated tables.",
        "",
        "## Indicators",
        "",
    ]
    rows = []
    for spec in INDICATORS.values():
        rows.append(
            [
                f"`{spec.id}`",
                spec.naam,
                f"`{spec.population}`",
                ", ".join(f"`{c}`" for c in sorted(spec.numerator)),
                ", ".join(f"`{c}`" for c in sorted(spec.denominator)),
                ", ".join(spec.breakdowns),
                ", ".join(level.value for level in spec.levels),
            ]
        )
    out += _md_table(
        ["id", "naam", "population", "numerator", "denominator", "breakdown", "published at"], rows
    )
    out.append("")
    for spec in INDICATORS.values():
        out += [f"- **{spec.naam}** (`{spec.id}`): {spec.uitleg}"]
    out += ["", "## Populations and their categories", ""]
    for pop in POPULATIONS.values():
        out += [
            f"### `{pop.id}`",
            "",
            f"{pop.description[0].upper()}{pop.description[1:]}. Reference year: "
            f"{pop.reference_year}. Breakdown: {', '.join(pop.breakdowns)}.",
            "",
        ]
        out += _md_table(
            ["category", "rule"], [[f"`{c}`", pop.category_rules[c]] for c in pop.categories]
        )
        out.append("")
    out += ["## Conventions where the definitions leave a choice", ""]
    for title, text in CONVENTIONS:
        out += [f"- **{title}.** {text}"]
    out += [
        "",
        "## Run report",
        "",
        "`AggregateTable.run_report` holds these counts of pupils (never rows), every key",
        "filled by both engines, zeros included. They cover each population before any",
        "geography: `<population>_population` = `<population>_counted` + its three",
        "`_left_out_` counts (no address, ambiguous address, unknown wijk).",
        "",
    ]
    out += _md_table(["key", "counts"], [[f"`{k}`", v] for k, v in RUN_REPORT.items()])
    out += ["", "## Worked examples", ""]
    geo_header, geo_rows = parse_rows(SPEC_GEOGRAFIE)
    out += [
        "The examples use this geography. A `toelichting` column in an example is a note for",
        "the reader; like any extra column (docs/input-tables.md) the engines ignore it. An empty",
        "cell is a missing value.",
        "",
        *_md_table(geo_header, geo_rows),
        "",
    ]
    for module in modules:
        doc = (module.__doc__ or module.__name__).strip()
        title, _, body = doc.partition("\n")
        out += [f"### {title.strip()}", ""]
        if body.strip():
            out += [dedent(body).strip(), ""]
        for case in module.CASES:
            out += _render_case(case)
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
