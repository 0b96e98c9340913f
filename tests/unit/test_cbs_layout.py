"""The CBS layout of ``kluis ingest``: each quirk of the real CBS files, read from a tiny
hand-made delivery, and its errors (file, row, column and the mapping key; never the value).

The delivery: pupils P1 and P2 in groep 8 in 2022 and in vo in 2023; P1's parents M1 and F1;
M1 has an mbo-4 diploma. Each test changes one thing and looks at the derived input tables.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyreadstat
import pytest

from kansenkluis.errors import ExitCode, UserError
from secure.cbs import CbsSource, load_mapping
from secure.cbs.mapping import default_mapping_path
from secure.ingest import CHECK_ORDER, DEFAULT_LIMITS, QUARANTINE_SCHEMA
from secure.keys import create_sealed_keys
from secure.store import SealedStore

P1, P2, M1, F1 = "000000101", "000000102", "000000201", "000000202"
Files = dict[str, dict[str, list[object]]]  # relative path -> column -> values


def delivery() -> Files:
    s = lambda *v: list(v)  # noqa: E731 - a row of text values
    return {
        "Bevolking/GBAPERSOONTAB/2023/GBAPERSOON2023TABV1.sav": {
            "RINPERSOONS": s("R", "R", "R", "R", "O"),
            "RINPERSOON": s(P1, P2, M1, F1, P1),
            "GBAGEBOORTEJAAR": s("2010", "2010", "1980", "1978", "1950"),
            "GBAGEBOORTEMAAND": s("03", "11", "05", "--", "01"),
        },
        "Bevolking/KINDOUDERTAB/KINDOUDER2023TABV1.sav": {
            "RINPERSOONS": s("R", "R"),
            "RINPERSOON": s(P1, P2),
            "RINPERSOONSMa": s("R", ""),
            "RINPERSOONMa": s(M1, "---------"),
            "RINPERSOONSpa": s("R", ""),
            "RINPERSOONpa": s(F1, "---------"),
        },
        "Onderwijs/HOOGSTEOPLTAB/2018/HOOGSTEOPL2018TABV1.sav": {
            "RINPERSOONS": s("R"),
            "RINPERSOON": s(M1),
            "OPLNIVSOI2016AGG4HBMETNIRWO": s("3112"),
        },
        "Onderwijs/HOOGSTEOPLTAB/2022/HOOGSTEOPL2022TABV1.sav": {
            "RINPERSOONS": s("R", "R"),
            "RINPERSOON": s(M1, F1),
            "OPLNIVSOI2021AGG4HBmetNIRWO": s("----", "9999"),
        },
        "Onderwijs/INSCHRWPOTAB/INSCHRWPOTAB2022V1.sav": {  # superseded by V2
            "RINPERSOONS": s("R"),
            "RINPERSOON": s(P1),
            "WPOLEERJAAR": s(" 8"),
            "WPOBRIN_crypt": s("00AA"),
            "WPOADVIESVO": s("99"),
            "WPOTOETSADVIES": s(""),
            "WPOADVIESHERZ": s(""),
        },
        "Onderwijs/INSCHRWPOTAB/INSCHRWPOTAB2022V2.sav": {
            "RINPERSOONS": s("R", "R", "O", "R"),
            "RINPERSOON": s(P1, P2, P1, M1),
            "WPOLEERJAAR": s(" 8", " 8", " 8", " 7"),
            "WPOBRIN_crypt": s("00AA", "00AB", "00AA", "00AA"),
            "WPOADVIESVO": s("41", "61", "99", "99"),
            "WPOTOETSADVIES": s("52", "80", "", ""),
            "WPOADVIESHERZ": s("44", "", "", ""),
        },
        "Onderwijs/ONDERWIJSINSCHRTAB/ONDERWIJSINSCHRTAB2023V1.sav": {
            "RINPERSOONS": s("R", "R", "R"),
            "RINPERSOON": s(P1, P2, M1),
            "OPLNR": s("001040", "1080", "000001"),
            "TYPEONDERWIJS": s("VO", "VO", "VAVO"),
            "VOLEERJAAR": s("1", "1", ""),
            "BRIN_crypt": s("01XY", "01XY", ""),
        },
        "Onderwijs/DIPLOMAMBOTAB/DIPLOMAMBO2022TABV1.sav": {
            "RINPERSOONS": s("R"),
            "RINPERSOON": s(M1),
            "OPLNR": s("20400"),
            "EXAMENDATUMMBO": s("20230615"),
        },
        "Onderwijs/VOEXAMENTAB/VOEXAMEN2022TABV1.sav": {
            "RINPERSOONS": s(),
            "RINPERSOON": s(),
            "OPLNR": s(),
            "EXAMENUITSLAG": s(),
        },
        "Referentiebestanden/OPLEIDINGSNRREFV2.sav": {
            "OPLNR": [1040.0, 1080.0, 20400.0],
            "CTO": s("", "", "30400"),
            "ONDERWIJSSOORTVO": s("VMBO-GT", "HAVO/VWO", ""),
        },
        "Referentiebestanden/CTOREFV1.sav": {"CTO": s("30400"), "OPLNIVSOI2016AGG4HB": s("2121")},
        "Bevolking/GBAADRESOBJECTBUS/GBAADRESOBJECT2023BUSV1.sav": {
            "RINPERSOONS": s("R", "R", "R", "R", "O"),
            "RINPERSOON": s(P1, P1, P1, P2, P2),
            "SOORTOBJECTNUMMER": s("1", "1", "1", "2", "1"),
            "RINOBJECTNUMMER": s("0001", "0002", "0002", "0003", "0001"),
            "GBADATUMAANVANGADRESHOUDING": s(
                "20100101", "20220816", "20230302", "20150101", "20000101"
            ),
            "GBADATUMEINDEADRESHOUDING": s(
                "20220815", "20230301", "20501231", "20501231", "20501231"
            ),
        },  # fmt: skip
        "BouwenWonen/VSLGWBTAB/VSLGWB2025TAB03V1.sav": {
            "SOORTOBJECTNUMMER": s("1", "1"),
            "RINOBJECTNUMMER": s("1", "2"),
            "wc2024": s("999999", "999999"),
            "wc2025": s("036300", "036301"),
        },
        "BouwenWonen/NIETVSLGWBTAB/NIETVSLGWB2025TAB03V1.sav": {
            "SOORTOBJECTNUMMER": s("2"),
            "RINOBJECTNUMMER": s("3"),
            "wc2024": s("----"),
            "wc2025": s("----"),
        },
    }


GEOGRAFIE = (
    "wijkcode,wijknaam,gemeentecode,gemeentenaam,regio,buren\n"
    "WK036300,Centrum,GM0363,Amsterdam,Groot-Amsterdam,WK036301\n"
    "WK036301,West,GM0363,Amsterdam,Groot-Amsterdam,WK036300\n"
)
#: value labels of a string variable: string keys (pyreadstat's stub expects number keys only)
LABELS: dict[str, dict[Any, str]] = {"WPOADVIESVO": {"41": "GL met LWOO", "61": "HAVO-VWO"}}


def write(root: Path, files: Files) -> Path:
    for rel, columns in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(
            {
                k: pd.Series(v, dtype=float if v and isinstance(v[0], float) else object)
                for k, v in columns.items()
            }
        )
        labels = {k: v for k, v in LABELS.items() if k in columns}
        pyreadstat.write_sav(frame, str(path), variable_value_labels=labels)
    (root / "geografie.csv").write_text(GEOGRAFIE)
    return root


def derive(
    tmp_path: Path, change: Callable[[Files], None] | None = None, mapping: Path | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The input tables the CBS layout derives from the (changed) delivery, rows sorted."""
    files = delivery()
    if change:
        change(files)
    source = CbsSource(write(tmp_path / "cbs", files), load_mapping(mapping))
    source.prepare(DEFAULT_LIMITS, lambda _: None)
    try:
        tables = {}
        for t in CHECK_ORDER:
            frame = source.read(t, DEFAULT_LIMITS).to_pandas().drop(columns="__row")
            tables[t] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        return tables, dict(source.notes())
    finally:
        source.close()


def rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame.itertuples(index=False)]


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, pd.DataFrame], dict]:
    return derive(tmp_path_factory.mktemp("cbs"))


def test_only_registered_persons_are_read(derived) -> None:
    """RINPERSOONS + RINPERSOON is the key: the 'O' rows sharing P1's number are left out."""
    tables, notes = derived
    assert rows(tables["persoon"]) == [
        (P1, "2010", "03"), (P2, "2010", "11"), (M1, "1980", "05"), (F1, "1978", None)
    ]  # fmt: skip
    assert notes["rows_not_R_GBAPERSOONTAB"] == 1
    assert notes["rows_not_R_INSCHRWPOTAB"] == 1
    assert notes["rows_not_R_GBAADRESOBJECTBUS"] == 1


def test_advice_codes_groep8_with_space_newest_version_and_revision(derived) -> None:
    """WPOLEERJAAR ' 8' is groep 8 (' 7' is not); V2 wins over V1; LWOO and combined codes map
    onto the advice scale; WPOADVIESHERZ replaces the advice only where present; 80 is none;
    value labels in the file are not read as codes."""
    tables, _ = derived
    assert rows(tables["po_advies"]) == [
        (P1, "2022", "00AA", "vmbo_gt", "vmbo_gt_havo", "vmbo_gt_havo"),
        (P2, "2022", "00AB", "havo_vwo", None, "havo_vwo"),
    ]


def test_missing_parents_and_the_education_sample(derived) -> None:
    """'---------' is no parent; '----' and 9999 are no level, so M1's level comes from an
    older year (SOI 2016 column) and F1, in the sample without a level, has no row
    ('onbekend' once linked)."""
    tables, _ = derived
    assert rows(tables["kind_ouder"]) == [(P1, M1, F1), (P2, None, None)]
    assert rows(tables["hoogste_opleiding"]) == [(M1, "hbo")]


def test_enrolments_via_the_reference_lists(derived) -> None:
    """OPLNR with leading zeros meets the numeric reference list; VAVO is ignored (counted);
    an mbo diploma dated June 2023 belongs to school year 2022 (1 October starts a year)."""
    tables, notes = derived
    assert rows(tables["vo_inschrijving"]) == [
        (P1, "2023", "01XY", "vmbo_gt", "1"),
        (P2, "2023", "01XY", "havo_vwo", "1"),
    ]
    assert rows(tables["mbo_diploma"]) == [(M1, "2022", "4")]
    assert notes["rows_ignored_ONDERWIJSINSCHRTAB"] == 1


def test_address_spells_and_geography_year(derived) -> None:
    """On 1 October P1 lives in the spell that started 16 August 2022 and, in 2023, in the
    back-to-back spell at the same object that stays open until 20501231; wc2025 is read, not
    wc2024. P2's object is outside the BAG (NIETVSLGWBTAB) with no wijk ('----')."""
    tables, notes = derived
    assert rows(tables["adres"]) == [(P1, "2022", "WK036301"), (P1, "2023", "WK036301")]
    assert notes["adres_years_without_wijk"] == 2
    assert notes["geografie_jaar"] == 2025


def test_object_outside_the_bag_with_a_wijk(tmp_path: Path) -> None:
    def change(f: Files) -> None:
        f["BouwenWonen/NIETVSLGWBTAB/NIETVSLGWB2025TAB03V1.sav"]["wc2025"] = ["36300"]

    tables, notes = derive(tmp_path, change)
    # a numeric wc column lost the gemeente's leading zero: it is put back
    assert (P2, "2022", "WK036300") in rows(tables["adres"])
    assert notes["adres_years_without_wijk"] == 0


def test_wijk_codes_with_letters(tmp_path: Path) -> None:
    """A wijk number may hold letters (WK0363AF): the code is taken as it is."""

    def change(f: Files) -> None:
        f["BouwenWonen/VSLGWBTAB/VSLGWB2025TAB03V1.sav"]["wc2025"] = ["0363AF", "0363AF"]

    tables, _ = derive(tmp_path, change)
    assert rows(tables["adres"]) == [(P1, "2022", "WK0363AF"), (P1, "2023", "WK0363AF")]


def test_rinpersoon_without_leading_zeros_still_links(tmp_path: Path) -> None:
    def change(f: Files) -> None:
        f["Bevolking/GBAPERSOONTAB/2023/GBAPERSOON2023TABV1.sav"]["RINPERSOON"] = [
            101.0, 102.0, 201.0, 202.0, 101.0
        ]  # fmt: skip

    tables, _ = derive(tmp_path, change)
    assert sorted(tables["persoon"]["rin"]) == [P1, P2, M1, F1]


def test_a_moved_pupil_is_in_the_spell_begun_last(tmp_path: Path) -> None:
    """Overlapping spells on 1 October: the newer address counts."""

    def change(f: Files) -> None:
        spells = f["Bevolking/GBAADRESOBJECTBUS/GBAADRESOBJECT2023BUSV1.sav"]
        spells["GBADATUMEINDEADRESHOUDING"][0] = "20230101"  # overlaps the next spell

    tables, _ = derive(tmp_path, change)
    assert (P1, "2022", "WK036301") in rows(tables["adres"])


# --- through the store: errors and quarantine ----------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> SealedStore:
    create_sealed_keys(tmp_path / "keys")
    return SealedStore(tmp_path / "sealed", tmp_path / "keys")


def ingest(store: SealedStore, root: Path, quarantine: bool = False, mapping: Path | None = None):
    source = CbsSource(root, load_mapping(mapping))
    return store.ingest(root, quarantine=quarantine, source=source)


def bad_advice(f: Files) -> None:
    f["Onderwijs/INSCHRWPOTAB/INSCHRWPOTAB2022V2.sav"]["WPOADVIESVO"][1] = "77"


def test_unknown_code_names_file_row_column_and_mapping_key(
    store: SealedStore, tmp_path: Path
) -> None:
    files = delivery()
    bad_advice(files)
    with pytest.raises(UserError) as info:
        ingest(store, write(tmp_path / "cbs", files))
    e = info.value
    assert e.exit_code == ExitCode.BAD_INPUT
    assert e.code == "INGEST_UNKNOWN_CODE"
    assert "INSCHRWPOTAB2022V2.sav row 2: WPOADVIESVO is not a known advice code" in str(e)
    assert "[codes.advies]" in (e.hint or "")
    assert "77" not in str(e) + (e.hint or "")
    assert store.current_fingerprint() is None


def test_quarantine_sets_the_row_aside_and_names_its_file(
    store: SealedStore, tmp_path: Path
) -> None:
    files = delivery()
    bad_advice(files)
    report = ingest(store, write(tmp_path / "cbs", files), quarantine=True)
    assert report.quarantined == {"INGEST_UNKNOWN_CODE": 1}
    assert report.rows["po_advies"] == 1
    q = store.read_quarantine()
    assert q.schema == QUARANTINE_SCHEMA
    assert q.column("tabel").to_pylist() == ["po_advies/INSCHRWPOTAB2022V2.sav"]
    assert q.column("rij").to_pylist() == [2]
    assert report.source["geografie_jaar"] == 2025


def test_unreadable_date_is_named_and_counted(store: SealedStore, tmp_path: Path) -> None:
    files = delivery()
    files["Bevolking/GBAADRESOBJECTBUS/GBAADRESOBJECT2023BUSV1.sav"]["GBADATUMAANVANGADRESHOUDING"][
        1
    ] = "2022-08-16"
    with pytest.raises(UserError) as info:
        ingest(store, write(tmp_path / "cbs", files))
    msg = str(info.value)
    assert "GBAADRESOBJECT2023BUSV1.sav row 2: GBADATUMAANVANGADRESHOUDING" in msg
    assert "1 rows in all" in msg and "2022-08-16" not in msg


def test_wrong_geography_year_is_refused(store: SealedStore, tmp_path: Path) -> None:
    """geography_year 2024 reads wc2024, whose wijken the 2025 geografie does not hold."""
    mapping = tmp_path / "mine.toml"
    text = default_mapping_path().read_text()
    mapping.write_text(text.replace("geography_year = 2025", "geography_year = 2024"))
    with pytest.raises(UserError) as info:
        ingest(store, write(tmp_path / "cbs", delivery()), mapping=mapping)
    assert info.value.code == "INGEST_UNKNOWN_WIJK"
    assert "wc2024" in str(info.value)


def test_missing_column_names_the_mapping_key(store: SealedStore, tmp_path: Path) -> None:
    files = delivery()
    po = files["Onderwijs/INSCHRWPOTAB/INSCHRWPOTAB2022V2.sav"]
    po["WPOADVIES"] = po.pop("WPOADVIESVO")
    with pytest.raises(UserError) as info:
        ingest(store, write(tmp_path / "cbs", files))
    assert info.value.code == "INGEST_MISSING_COLUMN"
    assert "INSCHRWPOTAB2022V2.sav header: column WPOADVIESVO is missing" in str(info.value)
    assert "tables.INSCHRWPOTAB.columns.schooladvies" in (info.value.hint or "")


def test_missing_table_names_folder_and_mapping_key(store: SealedStore, tmp_path: Path) -> None:
    root = write(tmp_path / "cbs", delivery())
    shutil.rmtree(root / "Bevolking/KINDOUDERTAB")
    with pytest.raises(UserError) as info:
        ingest(store, root)
    assert info.value.code == "INGEST_MISSING_TABLE"
    assert "Bevolking/KINDOUDERTAB/KINDOUDER{jaar}TABV{versie}.sav" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('"70" = "vwo"', '"70" = "gymnasium"', "codes.advies"),
        ('rin = "RINPERSOON", geboortejaar', "geboortejaar", "tables.GBAPERSOONTAB"),
        ("version = 1", "version = 2", "version"),
    ],
)
def test_bad_mapping_names_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    mapping = tmp_path / "mine.toml"
    text = default_mapping_path().read_text()
    assert old in text
    mapping.write_text(text.replace(old, new, 1))
    with pytest.raises(UserError) as info:
        load_mapping(mapping)
    assert info.value.code == "MAPPING_INVALID"
    assert re.search(re.escape(key), str(info.value))


def test_shipped_mapping_covers_every_cbs_advice_code() -> None:
    """Every code of CBS's advice list is either mapped or listed as missing."""
    advies = load_mapping().codes["advies"]
    listed = set(advies.map) | set(advies.missing)
    cbs_codes = set(
        [
            "01",
            "10",
            "11",
            "20",
            "21",
            "22",
            "23",
            "30",
            "31",
            "32",
            "33",
            "34",
            "35",
            "40",
            "41",
            "42",
            "43",
            "44",
            "50",
            "51",
            "52",
            "60",
            "61",
            "70",
            "80",
        ]
    )
    assert listed == cbs_codes
    assert pa.array([advies.map[c] for c in ("21", "23", "31", "41", "51")]).to_pylist() == [
        "vmbo_b", "vmbo_bk", "vmbo_k", "vmbo_gt", "vmbo_gt"
    ]  # fmt: skip
