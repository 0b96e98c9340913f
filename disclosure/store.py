"""The release store: an embedded SQLite database of releases, their cells and the ledgers.

It holds only protected output (what a Release holds), never microdata or sealed keys, so the
API process may read it. Tables:
- ``releases``: metadata (release.json), the signed suppression log and its public key;
- ``cells``: every cell of every release (the ledger the cross-release audit reads);
- ``pooling``: the pooling map of each release;
- ``privacy_ledger``: epsilon spent per data fingerprint (differential privacy).
Other modules (aggregate requests, API tokens) keep their own tables in the same file via
``connect``. Writing a release is one transaction: a crash leaves the store as it was.

Deciding a release is serial: ``decision_lock`` is an exclusive lock on a file next to the
database, held from reading the ledger and the earlier releases until the new release is saved,
so two processes can never both spend the same remaining budget or both pass the cross-release
audit against a store that holds neither of their releases.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kansenkluis.errors import UserError

from .release import EarlierRelease, Release, ReleaseCell

_SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    schooljaar INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    data_fingerprint TEXT NOT NULL,
    policy_hash TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    log_jsonl TEXT NOT NULL,
    public_key_pem TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    release_id TEXT NOT NULL REFERENCES releases(id),
    seq INTEGER NOT NULL,
    indicator TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    schooljaar INTEGER NOT NULL,
    geo_level TEXT NOT NULL,
    geo_code TEXT NOT NULL,
    geo_name TEXT NOT NULL,
    numerator INTEGER,
    denominator INTEGER,
    percentage REAL,
    status TEXT NOT NULL,
    pooled_into TEXT,
    rule TEXT NOT NULL,
    parent_code TEXT,
    noise_scale REAL,
    ci_low REAL,
    ci_high REAL,
    PRIMARY KEY (release_id, seq)
);
CREATE INDEX IF NOT EXISTS cells_lookup ON cells (release_id, indicator, geo_level, parent_code);
CREATE TABLE IF NOT EXISTS pooling (
    release_id TEXT NOT NULL REFERENCES releases(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    members_json TEXT NOT NULL,
    gemeentecode TEXT,
    PRIMARY KEY (release_id, code)
);
CREATE TABLE IF NOT EXISTS privacy_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    data_fingerprint TEXT NOT NULL,
    release_id TEXT NOT NULL,
    epsilon REAL NOT NULL,
    created_at TEXT NOT NULL
);
"""

_CELL_FIELDS = (
    "indicator",
    "breakdown",
    "schooljaar",
    "geo_level",
    "geo_code",
    "geo_name",
    "numerator",
    "denominator",
    "percentage",
    "status",
    "pooled_into",
    "rule",
    "parent_code",
    "noise_scale",
    "ci_low",
    "ci_high",
)


#: The lock file of ``decision_lock``, next to the database.
DECISION_LOCK = "decide.lock"


def connect(db_path: Path) -> sqlite3.Connection:
    """Open the release store, creating its schema; rows come back as ``sqlite3.Row``."""
    with store_errors(db_path):
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA foreign_keys=ON")
            con.executescript(_SCHEMA)
        except BaseException:
            con.close()
            raise
    return con


#: SQLite's words for "this file or folder cannot be written or opened".
_NOT_WRITABLE_SQLITE = ("readonly", "read-only", "unable to open")


@contextmanager
def store_errors(db_path: Path) -> Iterator[None]:
    """Turn "cannot write the release store" into a ``UserError`` that names its folder.

    A read-only ``KLUIS_HOME`` (a read-only mount, or a folder the user may not write) is an
    operator's mistake with a clear fix, not a bug; SQLite and the OS report it in many ways.
    """
    try:
        yield
    except sqlite3.OperationalError as e:
        if not any(word in str(e).lower() for word in _NOT_WRITABLE_SQLITE):
            raise
        raise not_writable(db_path.parent) from None
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        raise not_writable(Path(e.filename) if e.filename else db_path.parent) from None


def not_writable(path: Path) -> UserError:
    return UserError(
        "HOME_NOT_WRITABLE",
        f"{path} cannot be written (a read-only file system, or no write permission)",
        hint="give the user that runs kluis write access to KLUIS_HOME, or set KLUIS_HOME to a "
        "writable folder",
    )


@contextmanager
def decision_lock(
    db_path: Path, holder: str, waiting: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the store's exclusive decision lock (``flock``); wait for it, saying so.

    ``holder`` (e.g. "kluis run --year 2021") is written into the lock file, so that a process
    that has to wait can tell its operator what it waits for. The kernel drops the lock when the
    holder exits, however it exits (``kill -9`` included): a stale lock file never blocks.
    """
    path = db_path.parent / DECISION_LOCK
    with store_errors(db_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                other = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                waiting(
                    f"waiting for {other} to finish deciding and storing its release "
                    f"(lock {path}); releases of one store are decided one at a time"
                )
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} ({holder})".encode()[:200], 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class ReleaseStore:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.con = connect(db_path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> ReleaseStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the whole store to ``target`` (must not exist yet)."""
        if target.exists():
            raise UserError(
                "BACKUP_EXISTS", f"{target} already exists", hint="choose a new backup file name"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        dest = sqlite3.connect(partial)
        try:
            self.con.backup(dest)
        finally:
            dest.close()
        os.replace(partial, target)

    @staticmethod
    def restore(source: Path, db_path: Path) -> None:
        """Replace the store at ``db_path`` with a backup, atomically, after checking the backup."""
        if not source.is_file():
            raise UserError(
                "RESTORE_MISSING", f"{source} does not exist", hint="give a backup file"
            )
        try:
            probe = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                ok = probe.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master")}
            finally:
                probe.close()
        except sqlite3.DatabaseError:
            ok, tables = False, set()
        if not ok or not {"releases", "cells"} <= tables:
            raise UserError(
                "RESTORE_NOT_A_STORE",
                f"{source} is not an intact Kansenkluis release store",
                hint="restore from a file written by `kluis release backup`",
            )
        db_path.parent.mkdir(parents=True, exist_ok=True)
        staged = db_path.with_name(db_path.name + ".restore")
        shutil.copyfile(source, staged)
        for suffix in ("-wal", "-shm"):
            stale = db_path.with_name(db_path.name + suffix)
            if stale.exists():
                stale.unlink()
        os.replace(staged, db_path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with store_errors(self.db_path):
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield self.con
            except BaseException:
                if self.con.in_transaction:
                    self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    # --- writing ---------------------------------------------------------------------------

    def save(self, release: Release, epsilon_spent: float | None = None) -> None:
        """Store a release, its cells and pooling map (and its epsilon spend) atomically."""
        self.save_all([release], epsilon_spent)

    def save_all(
        self,
        releases: Sequence[Release],
        epsilon_spent: float | None = None,
        also: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """Store several releases (and ``also``'s writes, e.g. a request's answer) in one step.

        All of them or none: a request for several school years never leaves some published.
        """
        with self.transaction() as con:
            for release in releases:
                self._insert(con, release, epsilon_spent)
            if also is not None:
                also(con)

    def _insert(self, con: sqlite3.Connection, release: Release, epsilon: float | None) -> None:
        con.execute(
            "INSERT INTO releases VALUES (?,?,?,?,?,?,?,?)",
            (
                release.id,
                release.schooljaar,
                release.created_at,
                release.data_fingerprint,
                release.policy_hash,
                json.dumps(release.metadata(), sort_keys=True),
                "\n".join(release.suppression_log),
                release.public_key_pem,
            ),
        )
        con.executemany(
            f"INSERT INTO cells VALUES (?,?,{','.join('?' * len(_CELL_FIELDS))})",
            ((release.id, seq, *_cell_values(cell)) for seq, cell in enumerate(release.cells)),
        )
        con.executemany(
            "INSERT INTO pooling VALUES (?,?,?,?,?,?)",
            (
                (release.id, g.code, g.name, g.level.value, json.dumps(g.members), g.gemeentecode)
                for g in release.pooling
            ),
        )
        if epsilon is not None:
            con.execute(
                "INSERT INTO privacy_ledger (data_fingerprint, release_id, epsilon, created_at) "
                "VALUES (?,?,?,?)",
                (release.data_fingerprint, release.id, epsilon, release.created_at),
            )

    # --- reading ---------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        rows = self.con.execute(
            "SELECT id, schooljaar, created_at, data_fingerprint, policy_hash FROM releases "
            "ORDER BY created_at, id"
        ).fetchall()
        return [dict(r) for r in rows]

    def exists(self, release_id: str) -> bool:
        row = self.con.execute("SELECT 1 FROM releases WHERE id = ?", (release_id,)).fetchone()
        return row is not None

    def get(self, release_id: str) -> Release:
        row = self.con.execute("SELECT * FROM releases WHERE id = ?", (release_id,)).fetchone()
        if row is None:
            raise UserError(
                "RELEASE_NOT_FOUND",
                "no release with that id in this store",
                hint="list the releases with `kluis release list`",
            )
        # release.json (metadata) holds the pooling map in the order it was sealed in; the
        # ``pooling`` table is an index of the same map for queries.
        meta = json.loads(row["metadata_json"])
        cells = tuple(self.iter_cells(release_id))
        log = tuple(row["log_jsonl"].split("\n")) if row["log_jsonl"] else ()
        return Release(
            **meta,
            cells=cells,
            suppression_log=log,
            public_key_pem=row["public_key_pem"],
        )

    def iter_cells(self, release_id: str, **filters: Any) -> Iterator[ReleaseCell]:
        for r in self.query_cells(release_id, **filters):
            yield ReleaseCell(**r)

    def query_cells(
        self,
        release_id: str,
        *,
        indicator: str | None = None,
        breakdown: str | None = None,
        geo_level: str | None = None,
        parent_code: str | None = None,
        geo_code: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[dict[str, Any]]:
        """Cells of a release as dicts, filtered; in release order."""
        where = ["release_id = ?"]
        args: builtins.list[Any] = [release_id]
        for column, value in (
            ("indicator", indicator),
            ("breakdown", breakdown),
            ("geo_level", geo_level),
            ("parent_code", parent_code),
            ("geo_code", geo_code),
            ("status", status),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = (
            f"SELECT {', '.join(_CELL_FIELDS)} FROM cells WHERE {' AND '.join(where)} ORDER BY seq"
        )
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [dict(r) for r in self.con.execute(sql, args)]

    def earlier_releases(
        self, schooljaren: Sequence[int], data_fingerprint: str
    ) -> builtins.list[EarlierRelease]:
        """Every release of these schooljaren, whole, as ``protect`` takes them as prior.

        Statuses only count for releases of the same dataset (``data_fingerprint``).
        """
        wanted = sorted(set(schooljaren))
        rows = self.con.execute(
            "SELECT id, schooljaar, data_fingerprint, metadata_json FROM releases "
            f"WHERE schooljaar IN ({','.join('?' * len(wanted))}) ORDER BY created_at, id",
            wanted,
        ).fetchall()
        out: builtins.list[EarlierRelease] = []
        for r in rows:
            meta = json.loads(r["metadata_json"])
            out.append(
                EarlierRelease(
                    schooljaar=r["schooljaar"],
                    policy=meta["policy"],
                    cells=tuple(self.iter_cells(r["id"])),
                    noisy=meta.get("dp") is not None,
                    same_data=r["data_fingerprint"] == data_fingerprint,
                )
            )
        return out

    def epsilon_spent(self, data_fingerprint: str) -> float:
        row = self.con.execute(
            "SELECT COALESCE(SUM(epsilon), 0) AS spent FROM privacy_ledger "
            "WHERE data_fingerprint = ?",
            (data_fingerprint,),
        ).fetchone()
        return float(row["spent"])


def _cell_values(cell: ReleaseCell) -> tuple[Any, ...]:
    d = cell.model_dump(mode="json")
    return tuple(d[f] for f in _CELL_FIELDS)
