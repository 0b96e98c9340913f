"""Key rotation from the command line: releases made before still verify, data stay readable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import kluis
from tests.support.fixtures import SynthWorld

pytestmark = pytest.mark.slow


def test_rotations_keep_old_exports_verifying_and_the_store_readable(
    synth_world: Callable[[int], SynthWorld], tmp_path: Path
) -> None:
    home = synth_world(5).copy_home(tmp_path / "home").home  # synthetic data, init, ingest
    before = kluis(home, "run", "--year", "2021").stdout.strip().splitlines()[-1]
    kek_before = sorted(p.name for p in (home / "keys").glob("kek-*.key"))
    pub_before = (home / "signing" / "release_signing.pub").read_text()

    kluis(home, "keys", "rotate-signing")
    kluis(home, "keys", "rotate-data")

    assert sorted(p.name for p in (home / "keys").glob("kek-*.key")) != kek_before
    assert (home / "signing" / "release_signing.pub").read_text() != pub_before
    # the rotated store is still readable: a new release can be computed from it
    after = kluis(home, "run", "--year", "2021").stdout.strip().splitlines()[-1]
    for release_id in (before, after):
        out = tmp_path / release_id
        kluis(home, "release", "export", release_id, "--out", str(out))
        kluis(home, "audit", "verify", str(out))
    old_pub = (tmp_path / before / "release.pub").read_text()
    new_pub = (tmp_path / after / "release.pub").read_text()
    assert old_pub == pub_before and new_pub != pub_before
