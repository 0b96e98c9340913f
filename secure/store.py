"""The encrypted store of the sealed module: generations, atomic swaps, AES-256-GCM at rest.

Layout in ``KLUIS_HOME`` (folders 0700, files 0600)::

    sealed/
        CURRENT                name of the current generation (swapped with os.replace)
        LOCK                   flock: readers (shared) against the swap and clean-up (exclusive)
        generations/<gen>/
            datakey.json       the generation's random data key, wrapped by a key-encryption key
            manifest.enc       fingerprint, row counts, ingest report (encrypted)
            <table>.enc        each input table as Parquet, encrypted
            quarantine.enc     the quarantined rows (possibly none), encrypted
    sealed.staging/
        WRITE.LOCK             flock: one writer (ingest or key rotation) at a time
        <gen>/                 a generation being written; never read

An ``.enc`` file is ``MAGIC`` followed by segments ``[last:1][length:4][nonce:12][ciphertext]``
of at most 16 MiB plaintext each. The associated data of a segment binds the generation, the
object name, the segment index and the last-segment flag, so a file cannot be moved to another
generation or name, reordered, or truncated without failing authentication.

An ingest encrypts the new generation into ``sealed.staging/`` while it checks the batch, fsyncs
it, renames it into ``sealed/generations/`` and only then swaps ``CURRENT``; the previous
generation is removed after the swap. A refused batch leaves ``sealed/`` untouched; a crash or
``kill -9`` at any point leaves ``CURRENT`` and the generation it names untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import struct
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kansenkluis.domain import INPUT_TABLES
from kansenkluis.errors import UserError
from secure.ingest import (
    DEFAULT_LIMITS,
    QUARANTINE_SCHEMA,
    Fingerprint,
    IngestLimits,
    IngestReport,
    TableSource,
    ingest_batch,
)
from secure.keys import (
    check_key_permissions,
    create_kek,
    kek_ids,
    load_kek,
    load_pseudonym_secret,
    remove_kek,
)

MAGIC = b"KKSEAL1\n"
SEGMENT_BYTES = 16 << 20
QUARANTINE = "quarantine"
MANIFEST = "manifest"
FORMAT_VERSION = 1
_GENERATION = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")
_SEGMENT_HEADER = struct.Struct(">BI12s")

#: Test seam: called with a stage name ("table_written", "before_swap", "after_swap") so that a
#: test can kill the process at exactly that point. Always None in production.
_stage_hook: Callable[[str], None] | None = None


def _reached(stage: str) -> None:
    if _stage_hook is not None:
        _stage_hook(stage)


# --- files and encryption --------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[BinaryIO]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def _aad(generation: str, name: str, index: int, last: bool) -> bytes:
    return f"kansenkluis-sealed-v1|{generation}|{name}|{index}|{int(last)}".encode()


def _encrypt_to(
    f: BinaryIO, dek: bytes, generation: str, name: str, data: bytes | bytearray | memoryview
) -> None:
    aes = AESGCM(dek)
    view = memoryview(data).cast("B")  # Arrow buffers export format 'b', which AESGCM refuses
    f.write(MAGIC)
    starts = range(0, max(len(view), 1), SEGMENT_BYTES)
    for index, start in enumerate(starts):
        last = index == len(starts) - 1
        nonce = secrets.token_bytes(12)
        ct = aes.encrypt(
            nonce, view[start : start + SEGMENT_BYTES], _aad(generation, name, index, last)
        )
        f.write(_SEGMENT_HEADER.pack(int(last), len(ct), nonce))
        f.write(ct)


def _corrupt(path: Path) -> UserError:
    return UserError(
        "KLUIS_STORE_CORRUPT",
        f"{path.name} of the sealed store failed its integrity check",
        hint="restore KLUIS_HOME/sealed from a backup, or ingest the batch again",
    )


def _decrypt_file(path: Path, dek: bytes, generation: str, name: str) -> bytearray:
    """The authenticated plaintext of an ``.enc`` file, in one buffer without further copies.

    Each segment is decrypted into its place in a buffer sized from the file (the plaintext is
    never longer than the ciphertext). A segment that fails authentication is wiped before the
    error is raised and the buffer is dropped, so no unauthenticated byte is ever handed out.
    """
    aes = AESGCM(dek)
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if f.read(len(MAGIC)) != MAGIC:
                raise _corrupt(path)
            out = bytearray(max(size - len(MAGIC), 0))
            target = memoryview(out)
            ct = bytearray(SEGMENT_BYTES + 16)
            ct_view = memoryview(ct)
            filled, index = 0, 0
            try:
                while True:
                    header = f.read(_SEGMENT_HEADER.size)
                    if len(header) != _SEGMENT_HEADER.size:
                        raise _corrupt(path)  # truncated before the last segment
                    last, length, nonce = _SEGMENT_HEADER.unpack(header)
                    plain = length - 16
                    if plain < 0 or length > len(ct) or filled + plain > len(out):
                        raise _corrupt(path)
                    if f.readinto(ct_view[:length]) != length:
                        raise _corrupt(path)
                    segment = target[filled : filled + plain]
                    try:
                        aes.decrypt_into(
                            nonce, ct_view[:length], _aad(generation, name, index, bool(last)),
                            segment,
                        )  # fmt: skip
                    except InvalidTag:
                        segment[:] = bytes(plain)  # wipe whatever was written before the check
                        raise
                    finally:
                        segment.release()
                    filled += plain
                    index += 1
                    if last:
                        break
                if f.read(1):
                    raise _corrupt(path)  # bytes after the last segment
            finally:
                target.release()
                ct_view.release()
    except InvalidTag:
        raise _corrupt(path) from None
    except FileNotFoundError:
        raise _corrupt(path) from None
    del out[filled:]  # the slack of the segment headers; shrinking in place copies nothing
    return out


@contextlib.contextmanager
def _decoding_pool() -> Iterator[None]:
    """Decode Parquet with jemalloc (or the system allocator) instead of pyarrow's default.

    pyarrow's default mimalloc pool spends most of a national load in the kernel (page faults
    and purges: 5.5 s of system time against 1.5 s with jemalloc) and keeps more memory. Only
    the default pool is swapped, only for the decoding; every buffer remembers the pool it came
    from, so it is freed correctly afterwards. An operator's ``ARROW_DEFAULT_MEMORY_POOL`` wins.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield
        return
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc
        pool = pa.system_memory_pool()
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _parquet_bytes(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


# --- generations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Generation:
    name: str
    path: Path
    dek: bytes
    kek_id: str
    manifest: Mapping[str, object]

    def read(self, name: str) -> bytearray:
        return _decrypt_file(self.path / f"{name}.enc", self.dek, self.name, name)

    def table(self, name: str, dictionary: Collection[str] = ()) -> pa.Table:
        # py_buffer wraps the decrypted bytes without copying them; they are freed as soon as
        # the Parquet reader is done with them.
        source = pa.BufferReader(pa.py_buffer(self.read(name)))
        if dictionary:
            schema = pq.read_schema(source)
            source.seek(0)
            dictionary = [c for c in dictionary if c in schema.names
                          and pa.types.is_string(schema.field(c).type)]  # fmt: skip
        with _decoding_pool():
            return pq.read_table(source, read_dictionary=list(dictionary) or None)


class _GenerationWriter:
    def __init__(self, path: Path, name: str, kek_id: str, kek: bytes) -> None:
        self.path, self.name = path, name
        self.dek = AESGCM.generate_key(bit_length=256)
        self._kek_id, self._kek = kek_id, kek

    def put(self, name: str, data: bytes | bytearray | memoryview) -> None:
        with _new_file(self.path / f"{name}.enc") as f:
            _encrypt_to(f, self.dek, self.name, name, data)

    def put_table(self, name: str, table: pa.Table) -> None:
        self.put(name, memoryview(_parquet_bytes(table)))

    def finish(self, manifest: Mapping[str, object]) -> None:
        self.put(MANIFEST, json.dumps(manifest, sort_keys=True).encode())
        nonce = secrets.token_bytes(12)
        wrapped = AESGCM(self._kek).encrypt(nonce, self.dek, _dek_aad(self.name, self._kek_id))
        record = {
            "format": FORMAT_VERSION,
            "generation": self.name,
            "kek_id": self._kek_id,
            "nonce": nonce.hex(),
            "wrapped_key": wrapped.hex(),
        }
        with _new_file(self.path / "datakey.json") as f:
            f.write(json.dumps(record, sort_keys=True).encode())
        _fsync_dir(self.path)


def _dek_aad(generation: str, kek_id: str) -> bytes:
    return f"kansenkluis-datakey-v1|{generation}|{kek_id}".encode()


def _new_generation_name() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


class OpenSnapshot:
    """One generation being read; see ``SealedStore.snapshot``."""

    def __init__(self, generation: _Generation) -> None:
        self._gen = generation
        report = generation.manifest["report"]
        assert isinstance(report, dict)
        self.generation = generation.name
        self.data_fingerprint = str(report["data_fingerprint"])

    def table(self, name: str, dictionary: Collection[str] = ()) -> pa.Table:
        """One input table. String columns named in ``dictionary`` stay dictionary-encoded
        (as Parquet stores them): much smaller for code columns with few distinct values."""
        if name not in INPUT_TABLES:
            raise _unknown_table(name)
        return self._gen.table(name, dictionary)


class SealedStore:
    """The encrypted microdata store in ``sealed_dir``, decrypted with the keys in ``keys_dir``."""

    def __init__(
        self, sealed_dir: Path, keys_dir: Path, limits: IngestLimits = DEFAULT_LIMITS
    ) -> None:
        self.sealed_dir = Path(sealed_dir)
        self.keys_dir = Path(keys_dir)
        self.limits = limits

    # paths and locks ------------------------------------------------------------------------

    @property
    def _generations(self) -> Path:
        return self.sealed_dir / "generations"

    @property
    def _staging(self) -> Path:
        # Beside the sealed folder (same file system, so a rename moves a generation in), so that
        # a refused or killed ingest leaves the sealed folder itself untouched.
        return self.sealed_dir.with_name(self.sealed_dir.name + ".staging")

    @property
    def _pointer(self) -> Path:
        return self.sealed_dir / "CURRENT"

    @contextlib.contextmanager
    def _lock(self, path: Path, mode: int) -> Iterator[None]:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def _writer(self) -> Iterator[None]:
        """One writer at a time; leftovers of an earlier killed writer are removed first."""
        _private_dir(self._staging)
        lock = self._staging / "WRITE.LOCK"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy = True
            else:
                busy = False
                for path in self._staging.iterdir():
                    if path != lock:
                        shutil.rmtree(path, ignore_errors=True)
                yield
        finally:
            os.close(fd)
        if busy:
            raise UserError(
                "KLUIS_STORE_BUSY",
                "another ingest or key rotation is writing the sealed store",
                hint="wait until it has finished and try again",
            )

    def _current_name(self) -> str | None:
        try:
            name = self._pointer.read_text().strip()
        except FileNotFoundError:
            return None
        if not _GENERATION.match(name):
            raise _corrupt(self._pointer)
        return name

    def _open(self, name: str) -> _Generation:
        path = self._generations / name
        try:
            record = json.loads((path / "datakey.json").read_text())
            kek_id = str(record["kek_id"])
            nonce, wrapped = bytes.fromhex(record["nonce"]), bytes.fromhex(record["wrapped_key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise _corrupt(path / "datakey.json") from None
        if record.get("generation") != name:
            raise _corrupt(path / "datakey.json")
        kek = load_kek(self.keys_dir, kek_id)
        try:
            dek = AESGCM(kek).decrypt(nonce, wrapped, _dek_aad(name, kek_id))
        except InvalidTag:
            raise UserError(
                "KLUIS_WRONG_KEY",
                f"the data key of the sealed store cannot be unwrapped with kek-{kek_id}.key",
                hint="restore the keys folder that belongs to this sealed store",
            ) from None
        manifest = json.loads(
            _decrypt_file(path / f"{MANIFEST}.enc", dek, name, MANIFEST).decode("utf-8")
        )
        return _Generation(name, path, dek, kek_id, manifest)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[_Generation | None]:
        """The current generation, protected from removal while it is being read."""
        if not self._pointer.exists():
            yield None
            return
        check_key_permissions(self.keys_dir)
        with self._lock(self.sealed_dir / "LOCK", fcntl.LOCK_SH):
            name = self._current_name()
            yield None if name is None else self._open(name)

    def _publish(self, staged: Path, name: str) -> None:
        """Move a finished generation in and make it current (writer lock held)."""
        _private_dir(self.sealed_dir)
        _private_dir(self._generations)
        os.rename(staged, self._generations / name)
        _fsync_dir(self._generations)
        _fsync_dir(self._staging)
        _reached("before_swap")
        with self._lock(self.sealed_dir / "LOCK", fcntl.LOCK_EX):
            tmp = self.sealed_dir / "CURRENT.tmp"
            tmp.unlink(missing_ok=True)
            with _new_file(tmp) as f:
                f.write(f"{name}\n".encode())
            os.replace(tmp, self._pointer)
            _fsync_dir(self.sealed_dir)
            _reached("after_swap")
            # Every other generation is garbage now, including one renamed in by a writer that
            # was killed before its swap; readers hold LOCK shared, so none is being read.
            for path in self._generations.iterdir():
                if path.name != name:
                    shutil.rmtree(path, ignore_errors=True)

    def _active_kek(self, current: str | None) -> tuple[str, bytes]:
        if current is not None:
            kek_id = self._open(current).kek_id
        else:
            ids = kek_ids(self.keys_dir)
            if len(ids) != 1:
                raise UserError(
                    "KLUIS_KEYS_AMBIGUOUS",
                    f"{self.keys_dir} holds {len(ids)} key-encryption keys and no store uses one",
                    hint="keep exactly one kek-*.key (see docs/sealed-module.md, key rotation)",
                )
            kek_id = ids[0]
        return kek_id, load_kek(self.keys_dir, kek_id)

    # public API -----------------------------------------------------------------------------

    def ingest(
        self,
        batch_dir: Path,
        quarantine: bool = False,
        progress: Callable[[str], None] | None = None,
        source: TableSource | None = None,
    ) -> IngestReport:
        """Validate ``batch_dir`` and make it the current dataset, or change nothing at all."""
        say = progress or (lambda _: None)
        check_key_permissions(self.keys_dir)
        secret = load_pseudonym_secret(self.keys_dir)
        with self._writer():
            current = self._current_name()
            kek_id, kek = self._active_kek(current)
            name = _new_generation_name()
            staged = self._staging / name
            _private_dir(staged)
            try:
                writer = _GenerationWriter(staged, name, kek_id, kek)
                fingerprint = Fingerprint()
                rows: dict[str, int] = {}

                def keep(table: str, data: pa.Table) -> None:
                    say(f"encrypting {table}")
                    fingerprint.add(table, data)
                    rows[table] = data.num_rows
                    writer.put_table(table, data)
                    _reached("table_written")

                # Accepted tables are encrypted into staging (outside the sealed folder) while
                # the rest is still being checked; a refused batch only leaves staging to clean.
                outcome = ingest_batch(
                    Path(batch_dir), secret, keep, quarantine, self.limits, say, source
                )
                writer.put_table(QUARANTINE, outcome.quarantine)
                report = IngestReport(
                    data_fingerprint=fingerprint.hexdigest(),
                    rows={t: rows[t] for t in INPUT_TABLES},
                    quarantined=dict(outcome.quarantined),
                    quarantined_per_table=dict(outcome.quarantined_per_table),
                    source=dict(outcome.notes),
                )
                writer.finish(
                    {
                        "format": FORMAT_VERSION,
                        "generation": name,
                        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "report": report.as_dict(),
                        "objects": [*INPUT_TABLES, QUARANTINE],
                    }
                )
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                raise
            say("swapping in the new generation")
            self._publish(staged, name)
        return report

    def current_fingerprint(self) -> str | None:
        """The data fingerprint of the current dataset, or None before the first ingest."""
        report = self.current_report()
        return None if report is None else report.data_fingerprint

    def current_report(self) -> IngestReport | None:
        """The ingest report of the current dataset (counts only)."""
        with self._reading() as gen:
            if gen is None:
                return None
            r = gen.manifest["report"]
            assert isinstance(r, dict)
            return IngestReport(
                data_fingerprint=str(r["data_fingerprint"]),
                rows=dict(r["rows"]),
                quarantined=dict(r["quarantined"]),
                quarantined_per_table=dict(r["quarantined_per_table"]),
                source=dict(r.get("source", {})),
            )

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[OpenSnapshot]:
        """The current generation, held open (and safe from removal) for reading table by table.

        Use it to load a large store one table at a time; an ingest waits for its swap until
        the ``with`` block ends.
        """
        with self._reading() as gen:
            if gen is None:
                raise _no_data()
            yield OpenSnapshot(gen)

    def read_table(self, name: str) -> pa.Table:
        """One input table of the current generation (decrypted, pseudonymised)."""
        if name not in INPUT_TABLES:
            raise _unknown_table(name)
        with self.snapshot() as snap:
            return snap.table(name)

    def read_quarantine(self) -> pa.Table:
        """The rows set aside by ``ingest(..., quarantine=True)`` (``QUARANTINE_SCHEMA``)."""
        with self._reading() as gen:
            if gen is None:
                return QUARANTINE_SCHEMA.empty_table()
            return gen.table(QUARANTINE)

    def rotate_data_key(self, progress: Callable[[str], None] | None = None) -> None:
        """Re-encrypt the store under a fresh data key wrapped by a fresh key-encryption key.

        The data and its fingerprint stay the same; every older kek-*.key is removed after the
        swap, so a stolen old key-encryption key no longer opens the current store.
        """
        say = progress or (lambda _: None)
        check_key_permissions(self.keys_dir)
        with self._writer():
            current = self._current_name()
            old_keks = kek_ids(self.keys_dir)
            new_kek = create_kek(self.keys_dir)
            if current is not None:
                old = self._open(current)
                name = _new_generation_name()
                staged = self._staging / name
                _private_dir(staged)
                try:
                    writer = _GenerationWriter(
                        staged, name, new_kek, load_kek(self.keys_dir, new_kek)
                    )
                    for obj in [*INPUT_TABLES, QUARANTINE]:
                        say(f"re-encrypting {obj}")
                        writer.put(obj, old.read(obj))
                    writer.finish(
                        {
                            **old.manifest,
                            "generation": name,
                            "rotated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        }
                    )
                except BaseException:
                    shutil.rmtree(staged, ignore_errors=True)
                    remove_kek(self.keys_dir, new_kek)
                    raise
                self._publish(staged, name)
            for kek_id in old_keks:
                remove_kek(self.keys_dir, kek_id)


def _unknown_table(name: str) -> UserError:
    return UserError(
        "KLUIS_UNKNOWN_TABLE",
        f"{name} is not an input table",
        hint=f"use one of {', '.join(INPUT_TABLES)}",
    )


def _no_data() -> UserError:
    return UserError(
        "KLUIS_NO_DATA",
        "the sealed store holds no data yet",
        hint="ingest a batch with `kluis ingest DIR`",
    )
