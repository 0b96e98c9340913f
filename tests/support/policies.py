"""Policy files for tests: the shipped default with one setting changed."""

from __future__ import annotations

from pathlib import Path

from disclosure.policy import default_policy_path


def default_policy_with(path: Path, old: str, new: str) -> Path:
    """Write the default policy with the text ``old`` replaced by ``new`` to ``path``.

    Fails when the default no longer holds ``old``: the test would silently run the default.
    """
    text = default_policy_path().read_text(encoding="utf-8")
    assert old in text, f"the default policy no longer holds {old!r}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path
