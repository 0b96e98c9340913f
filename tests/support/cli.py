"""Run the ``kluis`` command line in a subprocess, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def kluis(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``KLUIS_HOME=home kluis ARGS``; with ``check`` a non-zero exit fails the test with stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "kansenkluis.cli", *args],
        env={**os.environ, "KLUIS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kluis {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc
