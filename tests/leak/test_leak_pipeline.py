"""Canary leak test for the whole chain, as an operator runs it.

A canary pupil (unmistakable rin, school code) is planted in synthetic microdata. After
ingest -> run -> export -> audit verify -> factsheet, neither the canary rin, its pseudonym, nor
the canary school code, nor any key, may appear in stdout/stderr, the release store, the export,
the factsheet, or any file outside the encrypted sealed store.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from secure.keys import load_pseudonym_secret
from secure.pseudonym import pseudonymise
from tests.support.cli import kluis
from tests.support.fixtures import SynthWorld

pytestmark = pytest.mark.slow

CANARY_RIN = "987654321"
CANARY_BRIN = "CANARYSCHOOL"


def plant_canary(data: Path) -> str:
    """Rename one real pupil to the canary rin everywhere; give their school a canary code."""
    po = pq.read_table(data / "po_advies.parquet")
    victim = po.column("rin")[0].as_py()
    for path in sorted(data.glob("*.parquet")):
        table = pq.read_table(path)
        for name in [c for c in table.column_names if c.startswith("rin")]:
            col = table.column(name)
            replaced = pc.if_else(pc.equal(col, victim), pa.scalar(CANARY_RIN), col)
            table = table.set_column(table.column_names.index(name), name, replaced)
        if path.stem == "po_advies":
            is_victim = pc.equal(table.column("rin"), CANARY_RIN)
            brin = pc.if_else(is_victim, pa.scalar(CANARY_BRIN), table.column("brin"))
            table = table.set_column(table.column_names.index("brin"), "brin", brin)
        pq.write_table(table, path)
    return victim


def test_canary_pupil_never_leaves_the_sealed_store(
    synth_world: Callable[[int], SynthWorld], tmp_path: Path
) -> None:
    data, home, export = tmp_path / "data", tmp_path / "home", tmp_path / "export"
    shutil.copytree(synth_world(5).data, data)  # the synthetic microdata, before ingest
    victim = plant_canary(data)
    transcript = []
    transcript.append(kluis(home, "init"))
    transcript.append(kluis(home, "ingest", str(data)))
    run = kluis(home, "run", "--year", "2022")
    transcript.append(run)
    release_id = run.stdout.strip().splitlines()[-1]
    transcript.append(kluis(home, "release", "export", release_id, "--out", str(export)))
    transcript.append(kluis(home, "audit", "verify", str(export)))
    sheet = tmp_path / "sheet.html"
    transcript.append(
        kluis(home, "factsheet", "GM0917", "--release", release_id, "--out", str(sheet))
    )

    secret = load_pseudonym_secret(home / "keys")
    needles = {
        "canary rin": CANARY_RIN.encode(),
        "canary school": CANARY_BRIN.encode(),
        "canary pseudonym": pseudonymise(secret, CANARY_RIN).encode(),
        "original rin of the canary": victim.encode(),
        "pseudonymisation key (hex)": secret.hex().encode(),
    }
    for key_file in (home / "keys").glob("*.key"):
        needles[f"key {key_file.name} (hex)"] = key_file.read_bytes().hex().encode()

    for proc in transcript:
        for stream in (proc.stdout, proc.stderr):
            for what, needle in needles.items():
                assert needle.decode() not in stream, f"{what} printed by kluis"

    outside_sealed = (
        [
            p
            for p in (home.rglob("*"))
            if p.is_file() and "keys" not in p.parts and "sealed" not in p.parts
        ]
        + [p for p in export.rglob("*") if p.is_file()]
        + [sheet]
    )
    assert outside_sealed
    for path in outside_sealed:
        content = path.read_bytes()
        for what, needle in needles.items():
            assert needle not in content, f"{what} found in {path.relative_to(tmp_path)}"

    # the sealed store itself is encrypted: not even the canary's pseudonym is in plaintext
    for path in (home / "sealed").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for what, needle in needles.items():
                assert needle not in content, f"{what} in plaintext in the sealed store"
