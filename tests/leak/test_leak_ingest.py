"""Canary leak tests for ingest: planted pseudonyms and strings must never show up in error
messages, exception chains, tracebacks, stdout/stderr, log records, progress messages, or any
file under KLUIS_HOME (the store is encrypted), and ingest writes nothing anywhere else.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kansenkluis.errors import InternalError, KluisError, UserError
from secure import ingest as ingest_module
from secure.keys import create_sealed_keys, load_pseudonym_secret
from secure.link import open_linked
from secure.pseudonym import pseudonymise
from secure.store import SealedStore
from tests.support.batches import tiny_tables, write_batch

CANARY_RIN = "999999999"  # a real person of the batch
CANARY_STRANGER = "999999998"  # a rin that is in no persoon row
CANARY_BRIN = "CANARYBRIN"
CANARY_WIJK = "CANARYWIJKNAAM"
CANARY_CODE = "CANARYNIVEAU"
CANARY_YEAR = "CANARYJAAR"
CANARIES = (CANARY_RIN, CANARY_STRANGER, CANARY_BRIN, CANARY_WIJK, CANARY_CODE, CANARY_YEAR)


def with_canaries(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A valid batch in which a canary pupil lives in a canary-named wijk at a canary school."""

    def add(table: str, *rows: tuple[object, ...]) -> None:
        extra = pd.DataFrame(list(rows), columns=tables[table].columns, dtype=object)
        tables[table] = pd.concat([tables[table], extra], ignore_index=True)

    tables["geografie"].loc[3, "wijknaam"] = CANARY_WIJK
    add("persoon", (CANARY_RIN, 2008, 4))
    add("kind_ouder", (CANARY_RIN, "200000001", None))
    add("adres", (CANARY_RIN, 2021, "WK001401"))
    add("vo_inschrijving", (CANARY_RIN, 2021, CANARY_BRIN, "havo", 1))
    return tables


def leaks_in(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def file_leaks(root: Path, secret: bytes | None = None) -> list[tuple[str, str]]:
    """Canaries (and their pseudonyms) in the bytes of any file under ``root``."""
    needles = {c: c.encode() for c in CANARIES}
    if secret is not None:
        needles |= {f"pseudonym of {c}": pseudonymise(secret, c).encode() for c in CANARIES}
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [(str(path.relative_to(root)), n) for n, b in needles.items() if b in data]
    return found


def exception_text(exc: BaseException) -> str:
    """Everything an operator or a crash reporter could see of an exception."""
    parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
    if isinstance(exc, KluisError):
        parts += [exc.message, exc.hint, repr(exc.as_dict())]
    seen: BaseException | None = exc
    while seen is not None:  # the whole chain, even parts a traceback would hide
        parts += [str(seen), repr(seen.args)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "kluis"
    create_sealed_keys(home / "keys")
    return home


def setv(table: str, row: int, column: str, value: object) -> Callable[[dict], None]:
    def change(t: dict[str, pd.DataFrame]) -> None:
        t[table].loc[row - 1, column] = value

    return change


def canary_row(table: str, index: int, column: str, value: object) -> Callable[[dict], None]:
    """Change the canary pupil's own row (the last row of ``table``)."""

    def change(t: dict[str, pd.DataFrame]) -> None:
        t[table].loc[len(t[table]) - 1 + index, column] = value

    return change


BAD_BATCHES = {
    "unknown-code": canary_row("vo_inschrijving", 0, "niveau", CANARY_CODE),
    "unknown-person": canary_row("adres", 0, "rin", CANARY_STRANGER),
    "control-character": canary_row("vo_inschrijving", 0, "brin", "CANARY\tBRIN" + CANARY_BRIN),
    "bad-year": canary_row("adres", 0, "schooljaar", CANARY_YEAR),
    "bad-birth-month": canary_row("persoon", 0, "geboortemaand", 13),
    "duplicate-key": lambda t: t.__setitem__(
        "persoon", pd.concat([t["persoon"], t["persoon"].tail(1)], ignore_index=True)
    ),
    "self-parent": canary_row("kind_ouder", 0, "rin_ouder2", CANARY_RIN),
    "wijk-name-control": setv("geografie", 4, "wijknaam", CANARY_WIJK + "\x07"),
}


CASES = [pytest.param(change, "csv", id=f"csv-{name}") for name, change in BAD_BATCHES.items()]
CASES += [
    pytest.param(BAD_BATCHES[name], fmt, id=f"{fmt}-{name}")
    for name in ("unknown-code", "bad-year")
    for fmt in ("parquet", "sav")
]


@pytest.mark.parametrize(("change", "fmt"), CASES)
def test_refused_batches_never_repeat_canaries(home, tmp_path, capsys, caplog, change, fmt):
    caplog.set_level(logging.DEBUG)
    tables = with_canaries(tiny_tables())
    change(tables)
    batch = write_batch(tmp_path / "batch", tables, fmt)
    said: list[str] = []
    store = SealedStore(home / "sealed", home / "keys")
    with pytest.raises(UserError) as info:
        store.ingest(batch, progress=said.append)
    assert info.value.exit_code == 3
    assert leaks_in(exception_text(info.value)) == []
    out, err = capsys.readouterr()
    assert leaks_in(out + err + caplog.text + "\n".join(said)) == []
    assert file_leaks(home) == []


def test_broken_files_never_repeat_canaries(home, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    batch = write_batch(tmp_path / "batch", with_canaries(tiny_tables()))
    store = SealedStore(home / "sealed", home / "keys")
    cases = {
        # a row with an extra field, quoting the canaries around it
        "adres.csv": lambda p: p.write_text(
            p.read_text() + f'{CANARY_RIN},2022,WK001401,"{CANARY_BRIN}"\n'
        ),
        # latin-1 bytes next to canary text
        "geografie.csv": lambda p: p.write_bytes(
            p.read_bytes().replace(CANARY_WIJK.encode(), CANARY_WIJK.encode() + b"\xe9")
        ),
        # an unterminated quote opening a canary value
        "vo_inschrijving.csv": lambda p: p.write_text(
            p.read_text() + f'"{CANARY_RIN},2022,{CANARY_BRIN},havo,2\n'
        ),
    }
    for name, spoil in cases.items():
        fresh = write_batch(tmp_path / f"b-{name}", with_canaries(tiny_tables()))
        spoil(fresh / name)
        with pytest.raises(UserError) as info:
            store.ingest(fresh)
        assert info.value.code in ("INGEST_MALFORMED_FILE", "INGEST_NOT_UTF8"), name
        assert leaks_in(exception_text(info.value)) == [], name
    out, err = capsys.readouterr()
    assert leaks_in(out + err + caplog.text) == []
    assert file_leaks(home) == []
    assert batch.exists()


def test_accepted_canaries_are_only_in_the_encrypted_store(
    home, tmp_path, capsys, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    batch = write_batch(tmp_path / "batch", with_canaries(tiny_tables()))
    batch_files = {p.name: p.read_bytes() for p in batch.iterdir()}
    said: list[str] = []
    store = SealedStore(home / "sealed", home / "keys")

    report = store.ingest(batch, progress=said.append)

    secret = load_pseudonym_secret(home / "keys")
    assert pseudonymise(secret, CANARY_RIN) in store.read_table("persoon").column("rin").to_pylist()
    assert CANARY_BRIN in store.read_table("vo_inschrijving").column("brin").to_pylist()
    with open_linked(store) as linked:
        visible = repr(linked.link_report) + repr(report.as_dict()) + repr(report)
    out, err = capsys.readouterr()
    assert leaks_in(visible + out + err + caplog.text + "\n".join(said)) == []
    assert file_leaks(home, secret) == []
    # ingest wrote nothing outside KLUIS_HOME/sealed: not in the working folder, not in the batch
    assert list(cwd.iterdir()) == []
    assert {p.name: p.read_bytes() for p in batch.iterdir()} == batch_files
    assert sorted(p.name for p in home.iterdir()) == ["keys", "sealed", "sealed.staging"]
    assert [p.name for p in (home / "sealed.staging").iterdir()] == ["WRITE.LOCK"]


def test_quarantined_canaries_stay_sealed(home, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    tables = with_canaries(tiny_tables())
    canary_row("vo_inschrijving", 0, "niveau", CANARY_CODE)(tables)
    canary_row("adres", 0, "rin", CANARY_STRANGER)(tables)
    batch = write_batch(tmp_path / "batch", tables)
    store = SealedStore(home / "sealed", home / "keys")

    report = store.ingest(batch, quarantine=True)

    assert report.quarantined == {"INGEST_UNKNOWN_CODE": 1, "INGEST_UNKNOWN_PERSON": 1}
    quarantine = store.read_quarantine().to_pandas()
    secret = load_pseudonym_secret(home / "keys")
    values = "\n".join(quarantine.waarden)
    assert CANARY_CODE in values  # kept for the operator, inside the sealed store
    assert CANARY_STRANGER not in values and pseudonymise(secret, CANARY_STRANGER) in values
    out, err = capsys.readouterr()
    assert leaks_in(repr(report) + out + err + caplog.text) == []
    assert file_leaks(home, secret) == []


def test_database_errors_are_withheld_and_not_chained():
    con = duckdb.connect()
    with pytest.raises(InternalError) as info:
        ingest_module._arrow(con, f"SELECT CAST('{CANARY_CODE}' AS INTEGER)")
    assert leaks_in(exception_text(info.value)) == []
    assert info.value.__context__ is None and info.value.__cause__ is None
    with pytest.raises(InternalError) as info:
        ingest_module._execute(con, f"SELECT CAST('{CANARY_BRIN}' AS INTEGER)")
    assert leaks_in(exception_text(info.value)) == []


def _cli() -> Path | None:
    kluis = Path(sys.executable).with_name("kluis")
    return kluis if kluis.exists() else None


@pytest.mark.skipif(_cli() is None, reason="the kluis command is not installed in this venv")
def test_the_kluis_command_never_prints_canaries(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "KLUIS_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"}

    def kluis(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_cli()), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    init = kluis("init")
    assert init.returncode == 0, init.stderr[-2000:]
    good = write_batch(tmp_path / "good", with_canaries(tiny_tables()))
    bad_tables = with_canaries(tiny_tables())
    canary_row("vo_inschrijving", 0, "niveau", CANARY_CODE)(bad_tables)
    canary_row("adres", 0, "rin", CANARY_STRANGER)(bad_tables)
    bad = write_batch(tmp_path / "bad", bad_tables)

    refused = kluis("ingest", str(bad))
    quarantined = kluis("ingest", str(bad), "--quarantine")
    accepted = kluis("ingest", str(good))

    assert refused.returncode == 3, refused.stderr[-2000:]
    assert "INGEST_UNKNOWN_PERSON" in refused.stdout + refused.stderr
    assert quarantined.returncode == 0 and accepted.returncode == 0
    for run in (init, refused, quarantined, accepted):
        assert leaks_in(run.stdout + run.stderr) == []
    secret = load_pseudonym_secret(home / "keys")
    assert file_leaks(home, secret) == []
    shutil.rmtree(home)
