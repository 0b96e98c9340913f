"""The shared pytest fixtures, loaded for every test by ``tests/conftest.py``.

Function-scoped fixtures give each test its own copy to change; the session-scoped ones build
something expensive once and are shared **read-only** (copy before you change, as
``ingested_home`` does for the homes it hands out).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from disclosure import log
from kansenkluis.config import Settings
from tests.support.batches import Tables, tiny_tables, write_batch


@pytest.fixture
def batch_tables() -> Tables:
    """A fresh copy of ``tiny_tables()`` to change in a test."""
    return tiny_tables()


@pytest.fixture
def make_batch(tmp_path: Path) -> Callable[..., Path]:
    """``make_batch(tables=None, fmt="csv", name="batch")`` writes a batch folder under tmp_path."""

    def make(
        tables: dict[str, pd.DataFrame] | None = None, fmt: str = "csv", name: str = "batch"
    ) -> Path:
        return write_batch(tmp_path / name, tables, fmt)

    return make


@dataclass(frozen=True)
class SealedHome:
    home: Path
    keys_dir: Path
    sealed_dir: Path


@pytest.fixture
def sealed_home(tmp_path: Path) -> SealedHome:
    """A fresh KLUIS_HOME with sealed keys and an empty store."""
    from secure.keys import create_sealed_keys

    home = tmp_path / "kluis"
    home.mkdir(mode=0o700)
    create_sealed_keys(home / "keys")
    return SealedHome(home, home / "keys", home / "sealed")


@dataclass(frozen=True)
class SynthWorld:
    """A small synthetic world, generated and ingested once per seed for the whole run.

    Both folders are shared read-only: a test that runs, ingests or plants anything works on a
    copy (``copy_home``, or ``shutil.copytree`` of ``data``).
    """

    seed: int
    #: the synthetic input tables (Parquet), as ``kluis synth --seed <seed>`` writes them
    data: Path
    #: a KLUIS_HOME after ``kluis init`` and ``kluis ingest <data>``: keys, sealed store, no release
    home: Path

    def copy_home(self, target: Path) -> Settings:
        """A private copy of ``home`` at ``target`` (same keys, same sealed data)."""
        shutil.copytree(self.home, target)
        return Settings(home=target)


@pytest.fixture(scope="session")
def synth_world(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], SynthWorld]:
    """``synth_world(seed)``: the small synthetic world of that seed, made at first use."""
    from kansenkluis import pipeline
    from kansenkluis.synth import generate

    worlds: dict[int, SynthWorld] = {}

    def world(seed: int) -> SynthWorld:
        if seed not in worlds:
            root = tmp_path_factory.mktemp(f"synth-world-{seed}")
            generate(root / "data", "small", seed=seed)
            settings = Settings(home=root / "home")
            pipeline.init_home(settings)
            pipeline.ingest(settings, root / "data")
            worlds[seed] = SynthWorld(seed, root / "data", settings.home)
        return worlds[seed]

    return world


@pytest.fixture(scope="session")
def signer() -> log.Signer:
    """A throwaway release signing key (in memory only), one for the whole run."""
    return log.Signer(Ed25519PrivateKey.generate())
