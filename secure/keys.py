"""The secrets of the sealed side, kept as small files in ``KLUIS_HOME/keys``.

- ``pseudonym.key``: 32 random bytes, the HMAC-SHA256 secret that turns a source ``rin`` into a
  pseudonym. Losing it means a new batch can no longer be linked to earlier pseudonyms.
- ``kek-<id>.key``: 32 random bytes, a key-encryption key (AES-256-GCM) that wraps the random data
  key of each store generation. Normally exactly one exists; during a rotation briefly two.

The folder is 0700 and every file 0600, owned by the user that runs ``kluis``. Key bytes never
appear in an error message: messages name the file and the fix only.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from kansenkluis.errors import UsageError, UserError

KEY_BYTES = 32
PSEUDONYM_KEY_FILE = "pseudonym.key"
_KEK_PATTERN = re.compile(r"^kek-([0-9a-f]{16})\.key$")


def _kek_file(keys_dir: Path, kek_id: str) -> Path:
    return keys_dir / f"kek-{kek_id}.key"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_secret(path: Path, secret: bytes) -> None:
    # O_EXCL: a key file is never overwritten, not even by a race between two `kluis init`s.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secret)
        os.fsync(fd)
    finally:
        os.close(fd)


def kek_ids(keys_dir: Path) -> list[str]:
    """The ids of the key-encryption keys present, sorted."""
    if not keys_dir.is_dir():
        return []
    found = (_KEK_PATTERN.match(p.name) for p in keys_dir.iterdir())
    return sorted(m.group(1) for m in found if m)


def create_sealed_keys(keys_dir: Path) -> None:
    """Create ``keys_dir`` (0700) with a fresh pseudonymisation secret and one key-encryption key.

    Refuses to touch a folder that already holds sealed keys: overwriting the pseudonymisation
    secret would silently break linkage with everything ingested before.
    """
    if (keys_dir / PSEUDONYM_KEY_FILE).exists() or kek_ids(keys_dir):
        raise UsageError(
            "KLUIS_KEYS_EXIST",
            f"{keys_dir} already holds sealed keys; refusing to overwrite them",
            hint="use another KLUIS_HOME, or rotate keys as described in docs/sealed-module.md",
        )
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    _write_secret(keys_dir / PSEUDONYM_KEY_FILE, secrets.token_bytes(KEY_BYTES))
    create_kek(keys_dir)
    _fsync_dir(keys_dir)


def create_kek(keys_dir: Path) -> str:
    """Add a new key-encryption key and return its id (used by key rotation)."""
    kek_id = secrets.token_hex(8)
    _write_secret(_kek_file(keys_dir, kek_id), secrets.token_bytes(KEY_BYTES))
    _fsync_dir(keys_dir)
    return kek_id


def remove_kek(keys_dir: Path, kek_id: str) -> None:
    _kek_file(keys_dir, kek_id).unlink(missing_ok=True)
    _fsync_dir(keys_dir)


def _check_private(path: Path, what: str, fix: str) -> None:
    st = path.stat()
    if st.st_mode & 0o077:
        raise UserError(
            "KLUIS_KEYS_PERMISSIONS",
            f"{what} {path} can be read or entered by group or others",
            hint=fix,
        )
    if st.st_uid != os.getuid():
        raise UserError(
            "KLUIS_KEYS_PERMISSIONS",
            f"{what} {path} belongs to another user",
            hint=f"run kluis as the owner of {path}, or chown it to the user that runs kluis",
        )


def check_key_permissions(keys_dir: Path) -> None:
    """Raise ``UserError`` if the sealed keys are missing or readable by anyone but their owner."""
    if not keys_dir.is_dir():
        raise UserError(
            "KLUIS_KEYS_MISSING",
            f"the keys folder {keys_dir} does not exist",
            hint="run `kluis init`, or set KLUIS_HOME to an initialised folder",
        )
    _check_private(keys_dir, "keys folder", f"chmod 700 {keys_dir}")
    if not (keys_dir / PSEUDONYM_KEY_FILE).is_file():
        raise UserError(
            "KLUIS_KEYS_MISSING",
            f"{keys_dir / PSEUDONYM_KEY_FILE} is missing",
            hint="restore it from the key backup; without it new data cannot be linked to old",
        )
    if not kek_ids(keys_dir):
        raise UserError(
            "KLUIS_KEYS_MISSING",
            f"{keys_dir} holds no key-encryption key (kek-*.key)",
            hint="restore it from the key backup; without it the sealed store cannot be read",
        )
    for path in sorted(keys_dir.iterdir()):
        if path.is_file() and path.suffix == ".key":
            _check_private(path, "key file", f"chmod 600 {path}")


def _read_secret(path: Path) -> bytes:
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        raise UserError(
            "KLUIS_KEYS_MISSING",
            f"{path} is missing",
            hint="restore it from the key backup (see docs/sealed-module.md)",
        ) from None
    if len(secret) != KEY_BYTES or not stat.S_ISREG(path.stat().st_mode):
        raise UserError(
            "KLUIS_KEYS_CORRUPT",
            f"{path} is not a {KEY_BYTES}-byte key file",
            hint="restore it from the key backup (see docs/sealed-module.md)",
        )
    return secret


def load_pseudonym_secret(keys_dir: Path) -> bytes:
    return _read_secret(keys_dir / PSEUDONYM_KEY_FILE)


def load_kek(keys_dir: Path, kek_id: str) -> bytes:
    return _read_secret(_kek_file(keys_dir, kek_id))
