"""One synthetic world in both input layouts gives the same data and the same release.

``kluis synth --layout cbs`` writes the world as CBS remote-access files (other variable names,
CBS codes, address spells instead of addresses per year, quirks); ``kluis ingest --layout cbs``
derives the input tables from them inside the sealed module. With the same keys, the pseudonymised
tables (the data fingerprint) and the release cells must equal those of the default layout.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from kansenkluis import pipeline
from kansenkluis.config import Settings, package_data
from tests.support.cli import kluis
from tests.support.fixtures import SynthWorld

YEAR = 2021


def test_one_world_in_both_layouts_gives_one_release(
    synth_world: Callable[[int], SynthWorld], tmp_path: Path
) -> None:
    world = synth_world(5)  # seed 5 in the default layout, initialised and ingested
    kluis(tmp_path, "synth", "--out", str(tmp_path / "cbs"), "--seed", "5", "--layout", "cbs")
    assert not list((tmp_path / "cbs").glob("*.parquet"))
    assert (tmp_path / "cbs/Bevolking/GBAADRESOBJECTBUS").is_dir()

    spec_home = world.copy_home(tmp_path / "spec-home")
    cbs_home = Settings(home=tmp_path / "cbs-home")
    # the same keys, so the same pseudonyms; nothing ingested yet
    shutil.copytree(world.home, cbs_home.home, ignore=shutil.ignore_patterns("sealed"))

    spec = pipeline.sealed_store(spec_home).current_report()
    assert spec is not None
    out = kluis(cbs_home.home, "ingest", str(tmp_path / "cbs"), "--layout", "cbs").stdout
    cbs = pipeline.sealed_store(cbs_home).current_report()
    assert cbs is not None
    assert spec.data_fingerprint in out
    assert cbs.data_fingerprint == spec.data_fingerprint
    assert cbs.rows == spec.rows
    assert cbs.source["geografie_jaar"] == 2025

    a = pipeline.run(spec_home, YEAR)
    b = pipeline.run(cbs_home, YEAR)
    assert [c.csv_row() for c in b.cells] == [c.csv_row() for c in a.cells]
    assert sum(c.status.value == "published" for c in a.cells) > 100
    assert b.run_report["geografie_jaar"] == 2025
    assert {k: v for k, v in b.run_report.items() if k != "geografie_jaar"} == a.run_report


def test_layout_and_mapping_options_are_checked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kluis(home, "init")
    wrong = kluis(home, "ingest", str(tmp_path), "--layout", "sas", check=False)
    assert wrong.returncode == 2 and "BAD_LAYOUT" in wrong.stderr
    alone = kluis(home, "ingest", str(tmp_path), "--mapping", "m.toml", check=False)
    assert alone.returncode == 2 and "MAPPING_WITHOUT_CBS" in alone.stderr
    mapping = tmp_path / "mine.toml"
    text = package_data("cbs-layout.toml").read_text()
    mapping.write_text(text.replace("geography_year = 2025", "geography_year = 25"))
    bad = kluis(
        home, "ingest", str(tmp_path), "--layout", "cbs", "--mapping", str(mapping), check=False
    )
    assert bad.returncode == 3
    assert "MAPPING_INVALID" in bad.stderr and "geography_year" in bad.stderr
