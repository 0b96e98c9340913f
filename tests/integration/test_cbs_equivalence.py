"""One synthetic world in both input layouts gives the same data and the same release.

``kluis synth --layout cbs`` writes the world as CBS remote-access files (other variable names,
CBS codes, address spells instead of addresses per year, quirks); ``kluis ingest --layout cbs``
derives the input tables from them inside the sealed module. With the same keys, the pseudonymised
tables (the data fingerprint) and the release cells must equal those of the default layout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from kansenkluis import pipeline
from kansenkluis.config import Settings
from kansenkluis.synth import generate
from tests.kluis_cli import kluis

YEAR = 2021


def test_one_world_in_both_layouts_gives_one_release(tmp_path: Path) -> None:
    generate(tmp_path / "spec", scale="small", seed=5)
    kluis(tmp_path, "synth", "--out", str(tmp_path / "cbs"), "--seed", "5", "--layout", "cbs")
    assert not list((tmp_path / "cbs").glob("*.parquet"))
    assert (tmp_path / "cbs/Bevolking/GBAADRESOBJECTBUS").is_dir()

    spec_home = Settings(home=tmp_path / "spec-home")
    pipeline.init_home(spec_home)
    cbs_home = Settings(home=tmp_path / "cbs-home")
    shutil.copytree(spec_home.home, cbs_home.home)  # the same keys, so the same pseudonyms

    spec = pipeline.ingest(spec_home, tmp_path / "spec")
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
