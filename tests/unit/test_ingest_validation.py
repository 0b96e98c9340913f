"""Every ingest validation rule: a bad batch is refused whole, with the rule's code, a message
naming file, row and column (never the value), exit code 3, and a sealed store that is
byte-for-byte what it was. With --quarantine, bad rows are set aside and counted by rule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kansenkluis.errors import ExitCode, UserError
from secure.ingest import IngestLimits
from secure.keys import create_sealed_keys, load_pseudonym_secret
from secure.pseudonym import pseudonymise
from secure.store import SealedStore
from tests.support.batches import tiny_tables, write_batch, write_table
from tests.support.digests import tree_digest

Tables = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SealedStore:
    """A store holding one valid generation; every refused ingest below must leave it alone."""
    home = tmp_path_factory.mktemp("home")
    create_sealed_keys(home / "keys")
    s = SealedStore(home / "sealed", home / "keys")
    s.ingest(write_batch(home / "valid"))
    return s


def refuse(store: SealedStore, batch: Path, limits: IngestLimits | None = None) -> UserError:
    before = tree_digest(store.sealed_dir)
    fingerprint = store.current_fingerprint()
    target = store if limits is None else SealedStore(store.sealed_dir, store.keys_dir, limits)
    with pytest.raises(UserError) as info:
        target.ingest(batch)
    assert tree_digest(store.sealed_dir) == before
    assert store.current_fingerprint() == fingerprint
    assert info.value.exit_code == ExitCode.BAD_INPUT == 3
    return info.value


def setv(table: str, row: int, column: str, value: object) -> Callable[[Tables], None]:
    """Set ``column`` of data row ``row`` (1-based, as in the messages)."""

    def change(t: Tables) -> None:
        t[table].loc[row - 1, column] = value

    return change


def append(table: str, *rows: tuple[object, ...]) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        extra = pd.DataFrame(list(rows), columns=t[table].columns, dtype=object)
        t[table] = pd.concat([t[table], extra], ignore_index=True)

    return change


def copy_row(table: str, row: int, **changes: object) -> Callable[[Tables], None]:
    def change(t: Tables) -> None:
        extra = t[table].iloc[[row - 1]].copy()
        for column, value in changes.items():
            extra[column] = value
        t[table] = pd.concat([t[table], extra], ignore_index=True)

    return change


C1, C2, C3, C4 = "100000001", "100000002", "100000003", "100000004"
NOORD = ("WK036302", "Noord", "GM0014", "Groningen", "Overig Groningen", None)

# (id, change, code, "<file> row <n>: <column> <rule text start>", value that must not leak)
ROW_CASES = [
    ("missing-niveau", setv("vo_inschrijving", 2, "niveau", None), "INGEST_MISSING_VALUE",
     "vo_inschrijving.csv row 2: niveau is empty", None),
    ("missing-rin", setv("persoon", 3, "rin", None), "INGEST_MISSING_VALUE",
     "persoon.csv row 3: rin is empty", None),
    ("missing-wijknaam", setv("geografie", 2, "wijknaam", None), "INGEST_MISSING_VALUE",
     "geografie.csv row 2: wijknaam is empty", None),
    ("int-text", setv("vo_inschrijving", 3, "leerjaar", "vier"), "INGEST_BAD_TYPE",
     "vo_inschrijving.csv row 3: leerjaar is not a whole number", "vier"),
    ("int-fraction", setv("adres", 4, "schooljaar", "2022.5"), "INGEST_BAD_TYPE",
     "adres.csv row 4: schooljaar is not a whole number", "2022.5"),
    ("bool", setv("vo_examen", 1, "geslaagd", "misschien"), "INGEST_BAD_TYPE",
     "vo_examen.csv row 1: geslaagd is not a yes/no value", "misschien"),
    ("control-char", setv("vo_inschrijving", 5, "brin", "02\tQX"), "INGEST_BAD_TYPE",
     "vo_inschrijving.csv row 5: brin contains control characters", "QX"),
    ("niveau-code", setv("vo_inschrijving", 6, "niveau", "gymnasium"), "INGEST_UNKNOWN_CODE",
     "vo_inschrijving.csv row 6: niveau is not a known vo level", "gymnasium"),
    ("advice-code", setv("po_advies", 1, "toetsadvies", "vmbo_xyz"), "INGEST_UNKNOWN_CODE",
     "po_advies.csv row 1: toetsadvies is not a known advice code", "vmbo_xyz"),
    ("exam-code", setv("vo_examen", 1, "niveau", "havo_vwo"), "INGEST_UNKNOWN_CODE",
     "vo_examen.csv row 1: niveau is not a known exam level", None),
    ("mbo-code", setv("mbo_diploma", 1, "niveau", 5), "INGEST_UNKNOWN_CODE",
     "mbo_diploma.csv row 1: niveau is not a known mbo level", None),
    ("ho-code", setv("ho_inschrijving", 1, "soort", "universiteit"), "INGEST_UNKNOWN_CODE",
     "ho_inschrijving.csv row 1: soort is not a known kind of higher education", "universiteit"),
    ("opleiding-code", setv("hoogste_opleiding", 2, "opleidingsniveau", "phd"),
     "INGEST_UNKNOWN_CODE", "hoogste_opleiding.csv row 2: opleidingsniveau is not a known", "phd"),
    ("leerjaar", setv("vo_inschrijving", 4, "leerjaar", 7), "INGEST_OUT_OF_RANGE",
     "vo_inschrijving.csv row 4: leerjaar is outside 1-6", None),
    ("maand", setv("persoon", 2, "geboortemaand", 13), "INGEST_OUT_OF_RANGE",
     "persoon.csv row 2: geboortemaand is outside 1-12", None),
    ("schooljaar", setv("adres", 5, "schooljaar", 1999), "INGEST_IMPLAUSIBLE_YEAR",
     "adres.csv row 5: schooljaar is not a plausible year", "1999"),
    ("geboortejaar", setv("persoon", 7, "geboortejaar", 1850), "INGEST_IMPLAUSIBLE_YEAR",
     "persoon.csv row 7: geboortejaar is not a plausible year", "1850"),
    ("wijkcode-format", setv("adres", 6, "wijkcode", "WK36300"), "INGEST_BAD_FORMAT",
     "adres.csv row 6: wijkcode is not a CBS wijkcode", "WK36300"),
    ("gemeentecode-format", setv("geografie", 4, "gemeentecode", "G0014"), "INGEST_BAD_FORMAT",
     "geografie.csv row 4: gemeentecode is not a gemeentecode", "G0014"),
    ("unknown-person", setv("adres", 7, "rin", "300000009"), "INGEST_UNKNOWN_PERSON",
     "adres.csv row 7: rin is not in persoon", "300000009"),
    ("unknown-parent", setv("kind_ouder", 2, "rin_ouder2", "300000008"), "INGEST_UNKNOWN_PERSON",
     "kind_ouder.csv row 2: rin_ouder2 is not in persoon", "300000008"),
    ("unknown-wijk", setv("adres", 1, "wijkcode", "WK099999"), "INGEST_UNKNOWN_WIJK",
     "adres.csv row 1: wijkcode is not in geografie", "WK099999"),
    ("age-groep8", setv("po_advies", 1, "rin", C1), "INGEST_IMPLAUSIBLE_AGE",
     "po_advies.csv row 1: schooljaar gives an age on 1 October outside 9-15", C1),
    ("age-exam", setv("vo_examen", 1, "schooljaar", 2016), "INGEST_IMPLAUSIBLE_AGE",
     "vo_examen.csv row 1: schooljaar gives an age", "2016"),
    ("self-parent", setv("kind_ouder", 1, "rin_ouder1", C1), "INGEST_SELF_PARENT",
     "kind_ouder.csv row 1: rin_ouder1 is the child itself", C1),
    ("same-parents", setv("kind_ouder", 4, "rin_ouder2", "200000005"), "INGEST_DUPLICATE_PARENT",
     "kind_ouder.csv row 4: rin_ouder2 is the same person as rin_ouder1", "200000005"),
    ("parent-age", setv("kind_ouder", 3, "rin_ouder1", C4), "INGEST_IMPLAUSIBLE_PARENT_AGE",
     "kind_ouder.csv row 3: rin_ouder1 is born less than 12", C4),
    ("dup-persoon", copy_row("persoon", 2), "INGEST_DUPLICATE_KEY",
     "persoon.csv row 11: rin occurs more than once (first at row 2)", C2),
    ("dup-adres", copy_row("adres", 3, wijkcode="WK001401"), "INGEST_DUPLICATE_KEY",
     "adres.csv row 8: rin and schooljaar occurs more than once (first at row 3)", None),
    ("dup-vo", append("vo_inschrijving", (C1, 2021, "02CC", "havo", 4)), "INGEST_DUPLICATE_KEY",
     "vo_inschrijving.csv row 7: rin and schooljaar occurs more than once (first at row 1)", C1),
    ("dup-po", copy_row("po_advies", 1, brin="00AB"), "INGEST_DUPLICATE_KEY",
     "po_advies.csv row 2: rin and schooljaar occurs more than once (first at row 1)", None),
    ("dup-kind", append("kind_ouder", (C3, None, None)), "INGEST_DUPLICATE_KEY",
     "kind_ouder.csv row 5: rin occurs more than once (first at row 3)", C3),
    ("dup-opleiding", append("hoogste_opleiding", ("200000001", "wo")), "INGEST_DUPLICATE_KEY",
     "hoogste_opleiding.csv row 5: rin occurs more than once (first at row 1)", "200000001"),
    ("dup-wijk", copy_row("geografie", 4), "INGEST_DUPLICATE_KEY",
     "geografie.csv row 5: wijkcode occurs more than once (first at row 4)", None),
    ("wijk-gemeente", append("geografie", NOORD), "INGEST_WIJK_GEMEENTE_MISMATCH",
     "geografie.csv row 5: wijkcode does not lie in gemeentecode", None),
    ("gemeentenaam", setv("geografie", 2, "gemeentenaam", "Amsterdam-West"),
     "INGEST_INCONSISTENT_GEMEENTE", "geografie.csv row 2: gemeentenaam differs", "-West"),
    ("regio", setv("geografie", 4, "regio", "Noord-Nederland"), "INGEST_INCONSISTENT_GEMEENTE",
     "geografie.csv row 4: regio differs", "Noord-Nederland"),
    ("buren-format", setv("geografie", 1, "buren", "WK036301;Noordwijk"), "INGEST_BAD_FORMAT",
     "geografie.csv row 1: buren holds a non-wijkcode", "Noordwijk"),
    ("buren-self", setv("geografie", 2, "buren", "WK036300;WK036301"), "INGEST_BUREN_SELF",
     "geografie.csv row 2: buren lists the wijk itself", None),
    ("buren-unknown", setv("geografie", 3, "buren", "WK001401;WK001402"), "INGEST_UNKNOWN_WIJK",
     "geografie.csv row 3: buren lists a wijk not in geografie", "WK001402"),
    ("buren-gemeente", setv("geografie", 4, "buren", "WK001400;WK036300"),
     "INGEST_BUREN_OTHER_GEMEENTE", "geografie.csv row 4: buren lists a wijk of another", None),
    ("buren-symmetry", setv("geografie", 4, "buren", None), "INGEST_BUREN_NOT_SYMMETRIC",
     "geografie.csv row 3: buren lists a wijk that does not list this wijk back", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "code", "where", "value"),
    [pytest.param(*case[1:], id=case[0]) for case in ROW_CASES],
)
def test_bad_row_refuses_the_batch_and_changes_nothing(
    store, batch_tables, make_batch, change, code, where, value
):
    change(batch_tables)
    err = refuse(store, make_batch(batch_tables))
    assert err.code == code
    assert where in err.message
    assert err.hint
    if value is not None:
        assert value not in str(err)
        assert value not in repr(err.as_dict())


@pytest.mark.parametrize("fmt", ["parquet", "sav"])
def test_row_numbers_are_data_rows_in_every_format(store, batch_tables, make_batch, fmt):
    setv("vo_inschrijving", 6, "niveau", "gymnasium")(batch_tables)
    err = refuse(store, make_batch(batch_tables, fmt=fmt))
    assert err.code == "INGEST_UNKNOWN_CODE"
    assert f"vo_inschrijving.{fmt} row 6: niveau is not a known vo level" in err.message


def test_all_problems_are_reported_in_one_error(store, batch_tables, make_batch):
    setv("vo_inschrijving", 2, "niveau", "gymnasium")(batch_tables)
    setv("adres", 1, "wijkcode", "WK099999")(batch_tables)
    setv("persoon", 4, "geboortemaand", 0)(batch_tables)
    err = refuse(store, make_batch(batch_tables))
    # references first: persoon before adres before vo_inschrijving
    assert err.code == "INGEST_OUT_OF_RANGE"
    assert err.message.startswith("3 problems in the batch; nothing was changed.")
    lines = err.message.splitlines()
    assert "  persoon.csv row 4: geboortemaand is outside 1-12 [INGEST_OUT_OF_RANGE]" in lines
    assert "  adres.csv row 1: wijkcode is not in geografie [INGEST_UNKNOWN_WIJK]" in lines
    assert any(line.startswith("  vo_inschrijving.csv row 2: niveau") for line in lines)


def test_only_the_first_twenty_problems_are_listed_but_all_are_counted(
    store, batch_tables, make_batch
):
    rows = [(f"4{i:08d}", 2001, 13) for i in range(30)]
    append("persoon", *rows)(batch_tables)
    err = refuse(store, make_batch(batch_tables))
    assert err.message.startswith("30 problems in the batch")
    assert "per rule: INGEST_OUT_OF_RANGE 30" in err.message
    assert err.message.count("[INGEST_OUT_OF_RANGE]") == 20
    assert "persoon.csv row 11: geboortemaand" in err.message  # the first appended row


def test_values_are_compared_after_trimming_and_case_insensitive_headers(store, make_batch):
    """Padding (as SPSS exports add) and upper-case headers are not errors."""
    tables = {}
    for name, frame in tiny_tables().items():
        tables[name] = frame.map(lambda v: f" {v}  " if isinstance(v, str) else v)
        tables[name].columns = [c.upper() for c in frame.columns]
    batch = make_batch(tables)
    fingerprint = store.current_fingerprint()
    store.ingest(batch)
    assert store.current_fingerprint() == fingerprint


# --- file-level problems ---------------------------------------------------------------------


def test_missing_table(store, make_batch):
    batch = make_batch()
    (batch / "persoon.csv").unlink()
    err = refuse(store, batch)
    assert err.code == "INGEST_MISSING_TABLE"
    assert "persoon" in err.message


def test_two_files_for_one_table(store, make_batch):
    batch = make_batch()
    write_table(tiny_tables()["adres"], batch / "adres.parquet")
    err = refuse(store, batch)
    assert err.code == "INGEST_DUPLICATE_TABLE"
    assert "adres.csv" in err.message and "adres.parquet" in err.message


def test_not_a_folder(store, tmp_path):
    err = refuse(store, tmp_path / "nowhere")
    assert err.code == "INGEST_NOT_A_DIRECTORY"


def test_empty_file(store, make_batch):
    batch = make_batch()
    (batch / "vo_examen.csv").write_bytes(b"")
    err = refuse(store, batch)
    assert err.code == "INGEST_EMPTY_FILE"
    assert err.message.startswith("vo_examen.csv")


def test_header_without_rows(store, make_batch):
    batch = make_batch()
    (batch / "vo_examen.csv").write_text("rin,schooljaar,niveau,geslaagd\n")
    err = refuse(store, batch)
    assert err.code == "INGEST_EMPTY_TABLE"


def test_absurdly_large_file(store, make_batch):
    err = refuse(store, make_batch(), IngestLimits(max_file_bytes=150))
    assert err.code == "INGEST_FILE_TOO_LARGE"
    assert "persoon.csv" in err.message


@pytest.mark.parametrize("fmt", ["csv", "parquet", "sav"])
def test_absurdly_many_rows(store, make_batch, fmt):
    err = refuse(store, make_batch(fmt=fmt), IngestLimits(max_rows=8))
    assert err.code == "INGEST_TOO_MANY_ROWS"
    assert f"persoon.{fmt} has more than 8 rows" in err.message


def test_not_utf8(store, batch_tables, make_batch):
    batch = make_batch()
    text = (batch / "geografie.csv").read_text().replace("West", "W\u00e9st")
    (batch / "geografie.csv").write_bytes(text.encode("latin-1"))
    err = refuse(store, batch)
    assert err.code == "INGEST_NOT_UTF8"
    assert "geografie.csv row 2: holds bytes that are not UTF-8" in err.message


def test_row_with_too_many_fields(store, make_batch):
    batch = make_batch()
    lines = (batch / "adres.csv").read_text().splitlines()
    lines[3] += ",extra"
    (batch / "adres.csv").write_text("\n".join(lines) + "\n")
    err = refuse(store, batch)
    assert err.code == "INGEST_MALFORMED_FILE"
    assert "adres.csv row 3: has a different number of fields" in err.message


def test_unterminated_quote(store, make_batch):
    batch = make_batch()
    with (batch / "adres.csv").open("a") as f:
        f.write('"100000005,2021,WK036301\n')
    err = refuse(store, batch)
    assert err.code == "INGEST_MALFORMED_FILE"
    assert "adres.csv" in err.message


def test_truncated_parquet(store, make_batch):
    batch = make_batch(fmt="parquet")
    data = (batch / "persoon.parquet").read_bytes()
    (batch / "persoon.parquet").write_bytes(data[: len(data) // 2])
    err = refuse(store, batch)
    assert err.code == "INGEST_MALFORMED_FILE"
    assert "persoon.parquet is not a readable Parquet file" in err.message


def test_damaged_sav(store, make_batch):
    batch = make_batch(fmt="sav")
    data = (batch / "adres.sav").read_bytes()
    (batch / "adres.sav").write_bytes(data[:200])
    err = refuse(store, batch)
    assert err.code == "INGEST_MALFORMED_FILE"
    assert "adres.sav" in err.message


def test_missing_column(store, batch_tables, make_batch):
    batch_tables["persoon"] = batch_tables["persoon"].drop(columns="geboortemaand")
    err = refuse(store, make_batch(batch_tables))
    assert err.code == "INGEST_MISSING_COLUMN"
    assert "persoon.csv header: column geboortemaand is missing" in err.message


def test_semicolon_separated_file_gets_a_pointed_hint(store, make_batch):
    batch = make_batch()
    text = (batch / "adres.csv").read_text().replace(",", ";")
    (batch / "adres.csv").write_text(text)
    err = refuse(store, batch)
    assert err.code == "INGEST_MISSING_COLUMN"
    assert "semicolon" in err.hint


def test_column_twice(store, batch_tables, make_batch):
    batch_tables["adres"]["RIN"] = batch_tables["adres"]["rin"]
    err = refuse(store, make_batch(batch_tables))
    assert err.code == "INGEST_MALFORMED_FILE"
    assert "adres.csv header: column rin appears more than once" in err.message


def test_unknown_extra_columns_and_files_are_ignored(store, batch_tables, make_batch):
    batch_tables["persoon"]["geslacht"] = "v"
    batch = make_batch(batch_tables)
    (batch / "LEESMIJ.txt").write_text("toelichting")
    fingerprint = store.current_fingerprint()
    store.ingest(batch)
    assert store.current_fingerprint() == fingerprint


# --- quarantine ------------------------------------------------------------------------------


def test_quarantine_sets_bad_rows_aside_and_counts_them_by_rule(tmp_path, batch_tables):
    create_sealed_keys(tmp_path / "keys")
    store = SealedStore(tmp_path / "sealed", tmp_path / "keys")
    setv("persoon", 2, "geboortemaand", 13)(batch_tables)  # C2: dependent rows follow
    setv("adres", 5, "wijkcode", "WK099999")(batch_tables)
    setv("vo_inschrijving", 6, "niveau", "gymnasium")(batch_tables)
    copy_row("hoogste_opleiding", 1)(batch_tables)  # both rows of a duplicate key go
    batch = write_batch(tmp_path / "batch", batch_tables)

    report = store.ingest(batch, quarantine=True)

    # C2 has 1 kind_ouder, 2 adres and 2 vo_inschrijving rows
    assert report.quarantined == {
        "INGEST_DUPLICATE_KEY": 2,
        "INGEST_OUT_OF_RANGE": 1,
        "INGEST_QUARANTINED_PERSON": 5,
        "INGEST_UNKNOWN_CODE": 1,
        "INGEST_UNKNOWN_WIJK": 1,
    }
    assert report.quarantined_per_table == {
        "adres": 3,
        "hoogste_opleiding": 2,
        "kind_ouder": 1,
        "persoon": 1,
        "vo_inschrijving": 3,
    }
    assert report.rows["persoon"] == 9
    assert report.rows["adres"] == 4
    assert report.rows["vo_inschrijving"] == 3
    assert report.rows["hoogste_opleiding"] == 3
    assert store.current_report() == report

    secret = load_pseudonym_secret(tmp_path / "keys")
    q = store.read_quarantine().to_pandas()
    assert len(q) == report.quarantined_total
    assert set(zip(q.tabel, q.rij, q.regel, strict=True)) >= {
        ("persoon", 2, "INGEST_OUT_OF_RANGE"),
        ("adres", 5, "INGEST_UNKNOWN_WIJK"),
        ("vo_inschrijving", 6, "INGEST_UNKNOWN_CODE"),
        ("hoogste_opleiding", 1, "INGEST_DUPLICATE_KEY"),
        ("hoogste_opleiding", 5, "INGEST_DUPLICATE_KEY"),
    }
    # quarantined rows keep their values, but with the rin pseudonymised
    persoon_row = q[(q.tabel == "persoon")].waarden.iloc[0]
    assert C2 not in persoon_row
    assert pseudonymise(secret, C2) in persoon_row
    assert not any(C2 in w for w in q.waarden)
    # and the accepted tables no longer hold the quarantined person anywhere
    pseudo_c2 = pseudonymise(secret, C2)
    for table in ("adres", "vo_inschrijving", "kind_ouder", "persoon"):
        assert pseudo_c2 not in store.read_table(table).column("rin").to_pylist()


def test_quarantine_takes_the_rows_of_a_quarantined_parent_along(tmp_path, batch_tables):
    create_sealed_keys(tmp_path / "keys")
    store = SealedStore(tmp_path / "sealed", tmp_path / "keys")
    setv("persoon", 6, "geboortemaand", 0)(batch_tables)  # parent 200000001 of child C1
    report = store.ingest(write_batch(tmp_path / "b", batch_tables), quarantine=True)
    assert report.quarantined == {"INGEST_OUT_OF_RANGE": 1, "INGEST_QUARANTINED_PERSON": 2}
    q = store.read_quarantine().to_pandas()
    assert set(zip(q.tabel, q.rij, q.regel, q.kolom, strict=True)) == {
        ("persoon", 6, "INGEST_OUT_OF_RANGE", "geboortemaand"),
        ("kind_ouder", 1, "INGEST_QUARANTINED_PERSON", "rin_ouder1"),
        ("hoogste_opleiding", 1, "INGEST_QUARANTINED_PERSON", "rin"),
    }
    # the whole kind_ouder row goes: C1 is left without parents rather than with half of them
    secret = load_pseudonym_secret(tmp_path / "keys")
    assert pseudonymise(secret, C1) not in store.read_table("kind_ouder").column("rin").to_pylist()
    assert pseudonymise(secret, C1) in store.read_table("persoon").column("rin").to_pylist()


def test_quarantine_cannot_set_geografie_rows_aside(tmp_path, batch_tables):
    create_sealed_keys(tmp_path / "keys")
    store = SealedStore(tmp_path / "sealed", tmp_path / "keys")
    setv("geografie", 3, "buren", "WK001401;WK001402")(batch_tables)
    with pytest.raises(UserError) as info:
        store.ingest(write_batch(tmp_path / "b", batch_tables), quarantine=True)
    assert info.value.code == "INGEST_UNKNOWN_WIJK"
    assert "cannot set its rows aside" in info.value.hint
    assert not (tmp_path / "sealed").exists()  # staging beside it is cleaned up
    assert [p.name for p in (tmp_path / "sealed.staging").iterdir()] == ["WRITE.LOCK"]


def test_quarantine_still_refuses_broken_files(tmp_path, make_batch):
    create_sealed_keys(tmp_path / "keys")
    store = SealedStore(tmp_path / "sealed", tmp_path / "keys")
    batch = make_batch(fmt="parquet")
    pq.write_table(pa.table({"rin": ["1"]}), batch / "persoon.parquet")
    with pytest.raises(UserError) as info:
        store.ingest(batch, quarantine=True)
    assert info.value.code == "INGEST_MISSING_COLUMN"
    assert not (tmp_path / "sealed").exists()  # staging beside it is cleaned up
    assert [p.name for p in (tmp_path / "sealed.staging").iterdir()] == ["WRITE.LOCK"]


def test_a_refused_first_ingest_creates_nothing(tmp_path, batch_tables, make_batch):
    create_sealed_keys(tmp_path / "keys")
    store = SealedStore(tmp_path / "sealed", tmp_path / "keys")
    setv("persoon", 1, "geboortemaand", 14)(batch_tables)
    with pytest.raises(UserError):
        store.ingest(make_batch(batch_tables))
    assert not (tmp_path / "sealed").exists()  # staging beside it is cleaned up
    assert [p.name for p in (tmp_path / "sealed.staging").iterdir()] == ["WRITE.LOCK"]
    assert store.current_fingerprint() is None
