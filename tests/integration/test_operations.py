"""Operational safety: refusals before touching data, backup and restore."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import kluis as run_kluis
from tests.support.fixtures import SynthWorld

pytestmark = pytest.mark.slow


def kluis(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_kluis(home, *args, check=False)


@pytest.fixture(scope="module")
def released(
    synth_world: Callable[[int], SynthWorld], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str]:
    base = tmp_path_factory.mktemp("ops")
    home = synth_world(5).copy_home(base / "home").home  # synthetic data, init, ingest
    proc = kluis(home, "run", "--year", "2021")
    assert proc.returncode == 0, proc.stderr
    return base, home, proc.stdout.strip().splitlines()[-1]


def test_backup_then_restore_keeps_releases_verifiable(released: tuple[Path, Path, str]) -> None:
    base, home, release_id = released
    backup = base / "backup.sqlite"
    assert kluis(home, "release", "backup", "--out", str(backup)).returncode == 0
    # lose the store entirely, then restore it
    for f in (home / "releases").glob("releases.sqlite*"):
        f.unlink()
    assert release_id not in kluis(home, "release", "list").stdout
    proc = kluis(home, "release", "restore", str(backup))
    assert proc.returncode == 0, proc.stderr
    assert release_id in kluis(home, "release", "list").stdout
    out = base / "after-restore"
    assert kluis(home, "release", "export", release_id, "--out", str(out)).returncode == 0
    verify = kluis(home, "audit", "verify", str(out))
    assert verify.returncode == 0, verify.stderr


def test_restore_refuses_a_file_that_is_not_a_store(released: tuple[Path, Path, str]) -> None:
    base, home, release_id = released
    junk = base / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    proc = kluis(home, "release", "restore", str(junk))
    assert proc.returncode == 3
    assert "RESTORE_NOT_A_STORE" in proc.stderr
    assert release_id in kluis(home, "release", "list").stdout  # the store is untouched


def test_world_readable_key_is_refused(released: tuple[Path, Path, str]) -> None:
    _, home, _ = released
    key = home / "keys" / "pseudonym.key"
    os.chmod(key, 0o644)
    try:
        proc = kluis(home, "run", "--year", "2021")
        assert proc.returncode == 3
        assert "pseudonym.key" in proc.stderr and "chmod 600" in proc.stderr
    finally:
        os.chmod(key, 0o600)


def test_placeholder_key_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert kluis(home, "init").returncode == 0
    commitment = home / "keys" / "commitment.key"
    commitment.write_bytes(b"CHANGE_ME_CHANGE_ME_CHANGE_ME_32")
    proc = kluis(home, "run", "--year", "2021")
    assert proc.returncode == 3
    assert "KEY_PLACEHOLDER" in proc.stderr


def test_weaker_policy_without_the_flag_is_refused(
    released: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, home, _ = released
    policy = tmp_path / "weak.toml"
    policy.write_text("version = 1\n[primary]\nmin_cell = 5\n", encoding="utf-8")
    proc = kluis(home, "run", "--year", "2021", "--policy", str(policy))
    assert proc.returncode == 4, proc.stderr
    assert "min_cell" in proc.stderr
