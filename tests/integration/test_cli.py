"""The command line (docs/cli.md) end to end, as an operator would type it, in subprocesses."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import kluis
from tests.support.digests import tree_digest
from tests.support.policies import default_policy_with

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    base = tmp_path_factory.mktemp("cli")
    home = base / "home"
    data = base / "microdata"
    kluis(home, "synth", "--out", str(data), "--scale", "small", "--seed", "3")
    kluis(home, "init")
    kluis(home, "ingest", str(data))
    proc = kluis(home, "run", "--year", "2022")
    release_id = proc.stdout.strip().splitlines()[-1]
    return {"base": base, "home": home, "data": data, "release_id": release_id}


def test_run_prints_the_release_id_last_and_list_shows_it(world: dict) -> None:
    listing = kluis(world["home"], "release", "list").stdout
    assert world["release_id"].startswith("R2022-")
    assert world["release_id"] in listing


def test_export_has_the_contract_files_and_columns_and_verifies(world: dict) -> None:
    out = world["base"] / "export"
    kluis(world["home"], "release", "export", world["release_id"], "--out", str(out))
    assert {p.name for p in out.iterdir()} >= {
        "release.json",
        "cells.csv",
        "suppression_log.jsonl",
        "release.pub",
    }
    with (out / "cells.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == [
            "indicator",
            "breakdown",
            "schooljaar",
            "geo_level",
            "geo_code",
            "geo_name",
            "numerator",
            "denominator",
            "percentage",
            "status",
            "pooled_into",
        ]
        rows = list(reader)
    statuses = {r["status"] for r in rows}
    assert statuses <= {"published", "suppressed_primary", "suppressed_secondary", "pooled"}
    assert "published" in statuses
    land = [r for r in rows if r["geo_level"] == "land"]
    assert land and all(r["geo_code"] == "NL" for r in land)
    for r in rows:
        if r["status"] != "published":
            assert r["numerator"] == r["denominator"] == r["percentage"] == ""
        else:
            assert int(r["numerator"]) % 5 == 0 and int(r["denominator"]) % 5 == 0
    verify = kluis(world["home"], "audit", "verify", str(out), check=False)
    assert verify.returncode == 0, verify.stderr


def test_release_show_utility_reads_whole_in_an_80_column_terminal(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # afstroom/vmbo and afstroom/vwo must not both read "afstroom/v…"
    monkeypatch.setenv("COLUMNS", "80")
    meta = json.loads(kluis(world["home"], "release", "show", world["release_id"]).stdout)
    shown = kluis(world["home"], "release", "show", world["release_id"], "--utility").stdout
    assert "…" not in shown
    assert all(len(line) <= 80 for line in shown.splitlines())
    keys = [k for k in meta["utility"] if len(k) <= 20]
    assert "afstroom/vmbo" in keys and "afstroom/vwo" in keys
    missing = [k for k in keys if k not in shown]
    assert not missing, shown


def test_tampered_export_fails_verification(world: dict) -> None:
    out = world["base"] / "tampered"
    kluis(world["home"], "release", "export", world["release_id"], "--out", str(out))
    path = out / "cells.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split(",")
        if fields[9] == "published" and fields[7] not in ("", "0"):
            fields[7] = str(int(fields[7]) + 5)
            lines[i] = ",".join(fields)
            break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    verify = kluis(world["home"], "audit", "verify", str(out), check=False)
    assert verify.returncode != 0


def test_factsheet_html_names_the_gemeente_in_the_programme_sentence(world: dict) -> None:
    target = world["base"] / "heerlen.html"
    kluis(
        world["home"],
        "factsheet",
        "GM0917",
        "--release",
        world["release_id"],
        "--format",
        "html",
        "--out",
        str(target),
    )
    html = target.read_text(encoding="utf-8")
    assert "De gemeente Heerlen laat een gemiddelde zien van" in html


def test_init_refuses_to_overwrite_keys(world: dict) -> None:
    proc = kluis(world["home"], "init", check=False)
    assert proc.returncode == 3
    assert "INIT_KEYS_EXIST" in proc.stderr


def test_bad_batch_is_rejected_with_exit_3_and_changes_nothing(world: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in Path(world["data"]).iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    # drop a required column from one table
    import pyarrow.parquet as pq

    table = pq.read_table(bad / "vo_inschrijving.parquet")
    pq.write_table(table.drop(["leerjaar"]), bad / "vo_inschrijving.parquet")
    before = tree_digest(Path(world["home"]))
    proc = kluis(world["home"], "ingest", str(bad), check=False)
    assert proc.returncode == 3
    assert "vo_inschrijving" in proc.stderr and "leerjaar" in proc.stderr
    assert tree_digest(Path(world["home"])) == before


def test_run_without_init_is_a_clear_user_error(tmp_path: Path) -> None:
    proc = kluis(tmp_path / "nowhere", "run", "--year", "2022", check=False)
    assert proc.returncode == 3
    assert "kluis init" in proc.stderr


def test_usage_error_exits_2(tmp_path: Path) -> None:
    proc = kluis(tmp_path, "run", check=False)
    assert proc.returncode == 2


def test_a_year_without_its_next_year_is_refused(world: dict) -> None:
    # the synthetic data cover school years up to 2023, so 2023 has no t+1
    proc = kluis(world["home"], "run", "--year", "2023", check=False)
    assert proc.returncode == 3
    assert "RUN_YEAR_NOT_COVERED" in proc.stderr


def test_a_second_release_of_a_year_under_a_stricter_policy_passes_the_joint_audit_or_is_refused(
    world: dict, tmp_path: Path
) -> None:
    stricter = default_policy_with(tmp_path / "stricter.toml", "min_cell = 10", "min_cell = 15")
    home = tmp_path / "home"  # a copy: other tests read the module's release list
    shutil.copytree(world["home"], home)
    listing_before = kluis(home, "release", "list").stdout
    proc = kluis(home, "run", "--year", "2022", "--policy", str(stricter), check=False)
    listing_after = kluis(home, "release", "list").stdout
    if proc.returncode == 4:
        # refused: the audit found that, next to the first release, it would narrow a cell
        assert "RELEASE_WOULD_NARROW" in proc.stderr
        assert listing_after == listing_before
    else:
        assert proc.returncode == 0, proc.stderr
        new_id = proc.stdout.strip().split()[-1]
        assert new_id not in listing_before and new_id in listing_after
        out = tmp_path / "export"
        kluis(home, "release", "export", new_id, "--out", str(out))
        assert kluis(home, "audit", "verify", str(out)).returncode == 0


def test_ingest_memory_limit_is_checked_and_used(world: dict, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(world["home"], home)
    listing = kluis(home, "release", "list").stdout
    bad = kluis(home, "ingest", "--memory-limit", "lots", str(world["data"]), check=False)
    assert bad.returncode == 2
    assert "BAD_MEMORY_LIMIT" in bad.stderr
    # a limit too small for validation: refused with the way out named, nothing changed
    tiny = kluis(home, "ingest", "--memory-limit", "1MB", str(world["data"]), check=False)
    assert tiny.returncode == 3, tiny.stderr
    assert "INGEST_OUT_OF_MEMORY" in tiny.stderr and "--memory-limit" in tiny.stderr
    assert kluis(home, "release", "list").stdout == listing
    ok = kluis(home, "ingest", "--memory-limit", "2GB", str(world["data"]))
    assert "ingested" in ok.stdout
