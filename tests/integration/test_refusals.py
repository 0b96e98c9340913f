"""Faults an operator can cause, refused clearly (exit 3, naming the path), never as a "bug".

A read-only KLUIS_HOME, state folders that others may write, CSV files with absurdly long
headers, lines or values, and names that a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import ctypes
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from kansenkluis import pipeline
from kansenkluis.config import Settings, geo_dir
from kansenkluis.errors import ExitCode, UserError
from secure.ingest import MAX_CSV_VALUE, MAX_HEADER_BYTES
from tests.support.batches import write_batch

Tables = dict[str, pd.DataFrame]


Preexec = Callable[[], None] | None


def kluis(home: Path, *args: str, preexec: Preexec = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kansenkluis.cli", *args],
        env={**os.environ, "KLUIS_HOME": str(home), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
        check=False,
    )


def refused(proc: subprocess.CompletedProcess[str], code: str) -> str:
    """The one-line stderr of a clear refusal with exit 3 and ``code``."""
    err = " ".join(proc.stderr.split())
    assert proc.returncode == ExitCode.BAD_INPUT, err
    assert f"error {code}:" in err, err
    assert "internal error" not in err
    return err


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised home holding the tiny batch, made once (shared: tests use ``home``)."""
    root = tmp_path_factory.mktemp("refusals")
    settings = Settings(home=root / "home")
    pipeline.init_home(settings)
    pipeline.ingest(settings, write_batch(root / "batch"))
    return settings.home


@pytest.fixture
def home(tiny_home: Path, tmp_path: Path) -> Settings:
    """A private copy of the initialised home holding the tiny batch."""
    shutil.copytree(tiny_home, tmp_path / "home")
    return Settings(home=tmp_path / "home")


# --- CSV files that are not what they claim ---------------------------------------------------


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def test_a_header_longer_than_the_csv_field_limit_is_refused_naming_the_file(
    home: Settings, make_batch: Callable[..., Path]
) -> None:
    batch = make_batch(name="long-header")
    path = batch / "mbo_diploma.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    long_name = "x" * (MAX_CSV_VALUE + 10)
    _rewrite(path, f"{header},{long_name}\n" + rest.replace("\n", ",\n"))
    err = refused(kluis(home.home, "ingest", str(batch)), "INGEST_MALFORMED_FILE")
    assert "mbo_diploma.csv header" in err and long_name not in err


def test_a_file_that_is_one_long_line_is_refused_naming_the_file(
    home: Settings, make_batch: Callable[..., Path]
) -> None:
    # a 200 MB line refuses the same way: only the first MAX_HEADER_BYTES are ever read
    batch = make_batch(name="one-line")
    _rewrite(batch / "geografie.csv", "WK036300," * (MAX_HEADER_BYTES // 9 + 10))
    err = refused(kluis(home.home, "ingest", str(batch)), "INGEST_MALFORMED_FILE")
    assert "geografie.csv header: is longer than 1,048,576 bytes" in err


@pytest.mark.parametrize("quoted", [True, False], ids=["one-field", "one-line"])
def test_a_value_longer_than_any_real_one_is_refused_with_its_row(
    home: Settings, make_batch: Callable[..., Path], quoted: bool
) -> None:
    # 20 MB, longer than the reader's 16 MB block; a 200 MB value once tried takes the same path
    batch = make_batch(name="long-value")
    path = batch / "mbo_diploma.csv"
    value = "4" * (20 * 2**20)
    row = f'"{value}",2021,4\n' if quoted else f"{value}\n"
    _rewrite(path, path.read_text(encoding="utf-8") + row)
    err = refused(kluis(home.home, "ingest", str(batch)), "INGEST_VALUE_TOO_LONG")
    assert "mbo_diploma.csv row 2: " in err
    assert "holds a value longer than 131,072 characters" in err and value not in err


# --- names that a spreadsheet would run -------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@")


@pytest.mark.parametrize("start", FORMULA_STARTS)
@pytest.mark.parametrize("column", ["wijknaam", "gemeentenaam", "regio"])
def test_a_name_that_would_run_as_a_formula_is_refused_at_ingest(
    home: Settings,
    make_batch: Callable[..., Path],
    batch_tables: Tables,
    column: str,
    start: str,
) -> None:
    geo = batch_tables["geografie"]
    geo.loc[1, column] = f' {start}HYPERLINK("http://evil.example","klik")'
    before = home.sealed_dir.joinpath("CURRENT").read_bytes()
    with pytest.raises(UserError) as exc:
        pipeline.ingest(home, make_batch(batch_tables, name="formula"))
    assert exc.value.code == "INGEST_FORMULA_TEXT" and exc.value.exit_code == 3
    assert f"geografie.csv row 2: {column} starts with =, +, - or @" in exc.value.message
    assert "HYPERLINK" not in str(exc.value)
    assert home.sealed_dir.joinpath("CURRENT").read_bytes() == before  # nothing changed


def test_no_shipped_cbs_name_starts_like_a_formula() -> None:
    # refusing at ingest costs real data nothing: no CBS 2025 wijk or gemeente name starts so
    for name, columns in (("wijken.csv", ("wijknaam",)), ("gemeenten.csv", ("gemeentenaam",))):
        with (geo_dir() / name).open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) > 300
        for row in rows:
            for c in columns:
                assert not row[c].startswith((*FORMULA_STARTS, "\t", "\r")), (name, row[c])


# --- state folders that others may write ------------------------------------------------------


@pytest.mark.parametrize("where", ["home", "sealed", "signing", "sealed/CURRENT"])
def test_group_or_world_writable_state_is_refused_like_key_files(
    home: Settings, where: str
) -> None:
    path = home.home if where == "home" else home.home / where
    path.chmod(path.stat().st_mode | stat.S_IWOTH)
    err = refused(kluis(home.home, "run", "--year", "2021"), "KLUIS_HOME_PERMISSIONS")
    assert f"{path} can be written by group or others" in err


# --- a read-only KLUIS_HOME -------------------------------------------------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _drop_root_overrides() -> None:
    """In the child before exec: root without the capabilities that ignore permission bits.

    As root (CI), a folder without write bits does not stop a process; without
    CAP_DAC_OVERRIDE and CAP_FOWNER it does, exactly as for any other user.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _tree(root: Path) -> Iterator[Path]:
    yield root
    yield from root.rglob("*")


@pytest.fixture
def read_only_home(home: Settings) -> Iterator[tuple[Settings, Preexec]]:
    """The home with every write bit removed, and what makes that binding for a child."""
    pipeline.run(home, 2021)  # a release store exists, as on a real machine
    modes = {p: p.stat().st_mode for p in _tree(home.home)}
    for path, mode in modes.items():
        path.chmod(stat.S_IMODE(mode) & ~0o222)
    preexec = _drop_root_overrides if os.geteuid() == 0 else None
    probe = subprocess.run(
        [sys.executable, "-c", f"open({str(home.home / 'probe')!r}, 'w')"],
        capture_output=True,
        check=False,
        preexec_fn=preexec,
    )
    try:
        if probe.returncode == 0:
            pytest.skip("this platform lets the test user write a folder without write bits")
        yield home, preexec
    finally:
        for path, mode in modes.items():
            path.chmod(stat.S_IMODE(mode))


@pytest.mark.parametrize(
    "command",
    [
        ("run", "--year", "2021"),
        ("ingest", "BATCH"),
        ("worker", "--once"),
        ("token", "create", "--role", "auditor", "--person", "someone"),
    ],
    ids=["run", "ingest", "worker", "token-create"],
)
def test_a_read_only_home_is_refused_naming_the_path(
    read_only_home: tuple[Settings, Preexec],
    make_batch: Callable[..., Path],
    command: tuple[str, ...],
) -> None:
    settings, preexec = read_only_home
    args = [str(make_batch(name="again")) if a == "BATCH" else a for a in command]
    err = refused(kluis(settings.home, *args, preexec=preexec), "HOME_NOT_WRITABLE")
    assert f"{settings.home}/releases cannot be written" in err or (
        f"{settings.home}/sealed cannot be written" in err
    )
