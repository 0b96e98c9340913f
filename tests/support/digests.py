"""What a folder holds, to show that a refused operation left it alone."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (relative path) with the SHA-256 of its bytes.

    Folders map to ``"dir"``, so a folder that appears or vanishes changes the digest too.
    Compare two digests with ``==``; a failing assert then names the files that differ.
    """
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out
