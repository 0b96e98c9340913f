"""The tiny valid batch of input tables, and writing tables as CSV, Parquet or SPSS .sav."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kansenkluis.domain import INPUT_TABLES

Tables = dict[str, pd.DataFrame]


def tiny_tables() -> Tables:
    """A small batch that passes every ingest rule; 5 pupils, 5 parents, 2 gemeenten.

    Rows are listed in the order tests refer to them (row 1 is the first data row).
    """

    def frame(table: str, rows: list[tuple[object, ...]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=list(INPUT_TABLES[table]), dtype=object)

    return {
        "geografie": frame(
            "geografie",
            [
                ("WK036300", "Centrum", "GM0363", "Amsterdam", "Groot-Amsterdam", "WK036301"),
                ("WK036301", "West", "GM0363", "Amsterdam", "Groot-Amsterdam", "WK036300"),
                ("WK001400", "Centrum", "GM0014", "Groningen", "Overig Groningen", "WK001401"),
                ("WK001401", "Oud-Zuid", "GM0014", "Groningen", "Overig Groningen", "WK001400"),
            ],
        ),
        "persoon": frame(
            "persoon",
            [
                ("100000001", 2005, 3),
                ("100000002", 2006, 11),
                ("100000003", 2007, 6),
                ("100000004", 2010, 1),
                ("100000005", 2003, 8),
                ("200000001", 1975, 5),
                ("200000002", 1976, 9),
                ("200000003", 1980, 12),
                ("200000005", 1978, 2),
                ("200000006", 1977, 7),
            ],
        ),
        "kind_ouder": frame(
            "kind_ouder",
            [
                ("100000001", "200000001", "200000002"),
                ("100000002", "200000003", None),
                ("100000003", None, None),
                ("100000004", "200000005", "200000006"),
            ],
        ),
        "hoogste_opleiding": frame(
            "hoogste_opleiding",
            [
                ("200000001", "hbo"),
                ("200000002", "mbo3"),
                ("200000003", "wo"),
                ("200000005", "basis"),
            ],
        ),  # fmt: skip
        "adres": frame(
            "adres",
            [
                ("100000001", 2021, "WK036300"),
                ("100000001", 2022, "WK036300"),
                ("100000002", 2021, "WK036301"),
                ("100000002", 2022, "WK001400"),
                ("100000003", 2021, "WK001401"),
                ("100000004", 2021, "WK001400"),
                ("100000005", 2022, "WK036301"),
            ],
        ),
        "po_advies": frame(
            "po_advies", [("100000004", 2021, "00AA", "havo", "havo_vwo", "havo_vwo")]
        ),
        "vo_inschrijving": frame(
            "vo_inschrijving",
            [
                ("100000001", 2021, "01BB", "vmbo_gt", 4),
                ("100000001", 2022, "01BB", "havo", 4),
                ("100000002", 2021, "02CC", "havo", 3),
                ("100000002", 2022, "02CC", "havo", 4),
                ("100000003", 2021, "02CC", "vwo", 2),
                ("100000003", 2022, "02CC", "vwo", 3),
            ],
        ),
        "vo_examen": frame("vo_examen", [("100000001", 2021, "vmbo_gt", True)]),
        "mbo_inschrijving": frame("mbo_inschrijving", [("100000005", 2021, 4)]),
        "mbo_diploma": frame("mbo_diploma", [("100000005", 2021, 4)]),
        "ho_inschrijving": frame("ho_inschrijving", [("100000005", 2022, "hbo")]),
    }


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write one table as CSV, Parquet or SPSS .sav, chosen by the file extension."""
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        columns = {}
        for name in frame.columns:
            values = [None if pd.isna(v) else v for v in frame[name].tolist()]
            try:
                columns[name] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # a test put text in a number column
                columns[name] = pa.array([None if v is None else str(v) for v in values])
        pq.write_table(pa.table(columns), path)
    elif fmt == "sav":
        import pyreadstat

        out = frame.copy()
        for name in out.columns:
            values = [None if pd.isna(v) else v for v in out[name].tolist()]
            if all(isinstance(v, bool) or v is None for v in values):
                out[name] = pd.array([None if v is None else int(v) for v in values], "Float64")
            elif all(isinstance(v, int) or v is None for v in values):
                out[name] = pd.array(values, dtype="Float64")
            else:
                out[name] = pd.array(["" if v is None else str(v) for v in values], dtype=object)
        pyreadstat.write_sav(out, str(path))
    else:
        raise ValueError(fmt)


def write_batch(directory: Path, tables: Tables | None = None, fmt: str = "csv") -> Path:
    """Write ``tables`` (default: ``tiny_tables()``) as one file per table into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in (tables or tiny_tables()).items():
        write_table(frame, directory / f"{name}.{fmt}")
    return directory
