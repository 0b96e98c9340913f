"""The shared pytest fixtures, loaded for every test by ``tests/conftest.py``.

Function-scoped fixtures give each test its own copy to change; the session-scoped ones build
something expensive once and are shared **read-only** (copy before you change, as
``ingested_home`` does for the homes it hands out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from disclosure import log
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


@pytest.fixture(scope="session")
def signer() -> log.Signer:
    """A throwaway release signing key (in memory only), one for the whole run."""
    return log.Signer(Ed25519PrivateKey.generate())
