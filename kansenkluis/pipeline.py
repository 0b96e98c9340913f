"""The ONLY place that joins the sealed module and disclosure control.

ingest -> link -> compute -> protect -> seal -> publish. Raw aggregates travel from ``secure`` to
``disclosure`` as a ``domain.AggregateTable`` value; only a signed ``Release`` comes out.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import re
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from disclosure import log as release_log
from disclosure.export import export_release
from disclosure.policy import Policy, load_policy
from disclosure.protect import protect
from disclosure.release import EarlierRelease, Release
from disclosure.store import ReleaseStore, decision_lock, not_writable
from kansenkluis import __version__
from kansenkluis.config import Settings
from kansenkluis.errors import PolicyRefusal, UsageError, UserError
from secure.engine import compute_aggregates
from secure.ingest import DEFAULT_LIMITS, IngestLimits, IngestReport
from secure.keys import check_key_permissions, create_sealed_keys
from secure.link import open_linked
from secure.store import SealedStore

if TYPE_CHECKING:
    from disclosure.noise import NoiseSource

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def init_home(settings: Settings) -> Path:
    """Create KLUIS_HOME with fresh sealed keys and a release signing key; never overwrite."""
    home = settings.home
    if settings.keys_dir.exists() or settings.signing_dir.exists():
        raise UserError(
            "INIT_KEYS_EXIST",
            f"{home} already holds keys; refusing to overwrite them",
            hint="use another KLUIS_HOME, or rotate keys as described in docs/sealed-module.md",
        )
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    create_sealed_keys(settings.keys_dir)
    release_log.create_commitment_key(settings.keys_dir)
    release_log.create_signing_key(settings.signing_dir)
    settings.release_dir.mkdir(parents=True, exist_ok=True)
    with ReleaseStore(settings.release_db):
        pass  # creates the store's tables
    return home


#: Byte strings that mark a secret someone pasted in from an example instead of generating it.
PLACEHOLDER_MARKERS = (b"change", b"placeholder", b"example", b"secret", b"xxxx", b"todo")


def check_no_placeholder_secrets(*folders: Path) -> None:
    """Refuse key files that were not generated: constant bytes or placeholder text."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix != ".key":
                continue
            data = path.read_bytes()
            lowered = data.lower()
            if len(set(data)) <= 2 or any(m in lowered for m in PLACEHOLDER_MARKERS):
                raise UserError(
                    "KEY_PLACEHOLDER",
                    f"{path} looks like a placeholder, not a generated key",
                    hint="create keys with `kluis init` in a fresh KLUIS_HOME; "
                    "never copy example keys",
                )


def check_state_permissions(settings: Settings) -> None:
    """Refuse state that others may change: ``KLUIS_HOME``, ``sealed/``, ``signing/``, ``CURRENT``.

    Whoever may write these folders may swap the sealed store's generation, the signing key or
    the keys folder itself, so they are checked like key files are: group- or world-writable
    is refused. (``releases/`` is shared with the API's user by design and not checked here.)
    """
    sealed_current = settings.sealed_dir / "CURRENT"
    for path, fix in (
        (settings.home, "chmod 700"),
        (settings.sealed_dir, "chmod 700"),
        (settings.signing_dir, "chmod 700"),
        (sealed_current, "chmod 600"),
    ):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UserError(
                "KLUIS_HOME_PERMISSIONS",
                f"{path} can be written by group or others",
                hint=f"{fix} {path}; only the user that runs the sealed side may write it",
            )


def preflight_sealed(settings: Settings) -> None:
    """What the sealed side checks before it touches data: keys present, private, generated."""
    if not settings.keys_dir.exists():
        raise UserError(
            "HOME_NOT_INITIALISED",
            f"{settings.home} has no keys",
            hint="run `kluis init` first (or set KLUIS_HOME to an initialised folder)",
        )
    check_state_permissions(settings)
    check_key_permissions(settings.keys_dir)
    check_no_placeholder_secrets(settings.keys_dir)
    release_log.load_signer(settings.signing_dir)  # refuses a group/world-readable signing key
    release_log.load_commitment_key(settings.keys_dir)


def sealed_store(settings: Settings, limits: IngestLimits = DEFAULT_LIMITS) -> SealedStore:
    preflight_sealed(settings)
    return SealedStore(settings.sealed_dir, settings.keys_dir, limits)


def ingest(
    settings: Settings,
    batch_dir: Path,
    quarantine: bool = False,
    progress: Progress = _quiet,
    memory_limit: str | None = None,
    layout: str = "spec",
    mapping: Path | None = None,
) -> IngestReport:
    """``kluis ingest``; ``memory_limit`` (e.g. "8GB") raises validation's DuckDB memory limit.

    ``layout`` ``cbs`` reads the CBS remote-access tables through ``mapping`` (default: the
    shipped ``cbs-layout.toml``; see docs/cbs-layout.md) instead of one file per input table.
    """
    source = None
    if layout == "cbs":
        from secure.cbs import CbsSource, load_mapping

        source = CbsSource(batch_dir, load_mapping(mapping))
    elif layout != "spec":
        raise UsageError("BAD_LAYOUT", "--layout must be spec or cbs", hint="e.g. --layout cbs")
    elif mapping is not None:
        raise UsageError(
            "MAPPING_WITHOUT_CBS", "--mapping applies to --layout cbs only", hint="add --layout cbs"
        )
    limits = DEFAULT_LIMITS
    if memory_limit is not None:
        limit = memory_limit.strip().upper().replace(" ", "")
        if not re.fullmatch(r"[1-9][0-9]*(MB|GB|TB)", limit):
            raise UsageError(
                "BAD_MEMORY_LIMIT",
                "--memory-limit must be a whole number of MB, GB or TB",
                hint="e.g. --memory-limit 8GB",
            )
        limits = dataclasses.replace(DEFAULT_LIMITS, duckdb_memory_limit=limit)
    store = sealed_store(settings, limits)
    _require_writable(settings.sealed_dir)
    with _home_errors(settings.home):
        return store.ingest(batch_dir, quarantine=quarantine, progress=progress, source=source)


def _require_writable(folder: Path) -> None:
    """Fail fast, naming the folder, where a command could not write its result.

    A probe file is the only test that holds for every user: ``os.access`` answers for the
    real uid only, and root passes permission bits that a read-only mount still refuses.
    """
    target = folder
    while not target.exists() and target != target.parent:
        target = target.parent  # the folder does not exist yet: its creation is the write
    with _home_errors(target):
        if not target.is_dir():
            raise UserError(
                "HOME_NOT_A_FOLDER",
                f"{target} is not a folder",
                hint="set KLUIS_HOME to a folder (run `kluis init` to create one)",
            )
        try:
            fd, probe = tempfile.mkstemp(dir=target, prefix=".kluis-write-probe-")
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise not_writable(target) from None
            raise
        os.close(fd)
        os.unlink(probe)


@contextmanager
def _home_errors(folder: Path) -> Iterator[None]:
    """A permission or read-only error on a file under ``folder`` becomes a clear refusal.

    Errors on other files (an unreadable input file) are left to the code that reads them.
    """
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        where = Path(e.filename) if e.filename else folder
        if not where.is_relative_to(folder):
            raise
        raise not_writable(where) from None


def _commitment_key(settings: Settings) -> bytes:
    return release_log.load_commitment_key(settings.keys_dir)


def _release_id(year: int, created_at: str, fingerprint: str, epsilon: float | None) -> str:
    stamp = created_at.replace("-", "").replace(":", "").split(".")[0]
    digest = hashlib.sha256(f"{year}|{created_at}|{fingerprint}|{epsilon}".encode()).hexdigest()
    return f"R{year}-{stamp}-{digest[:8]}"


def run(
    settings: Settings,
    year: int,
    policy_path: Path | None = None,
    epsilon: float | None = None,
    progress: Progress = _quiet,
) -> Release:
    """Compute, protect, sign and store a release for reference year ``year``."""
    return publish(settings, (year,), policy_path, epsilon, progress, holder=f"run --year {year}")[
        0
    ]


def publish(
    settings: Settings,
    years: Sequence[int],
    policy_path: Path | None = None,
    epsilon: float | None = None,
    progress: Progress = _quiet,
    *,
    holder: str = "a release",
    also: Callable[[sqlite3.Connection, Sequence[Release]], None] | None = None,
) -> list[Release]:
    """One release per year in ``years``: all of them stored, or none.

    The indicators are computed first, for every year, without any lock (the slow part that
    can run side by side). Deciding is serial: under the store's exclusive decision lock the
    privacy ledger and the earlier releases are read afresh, each year is protected against
    them (and against the years before it in this call), and all releases are saved in one
    transaction together with ``also`` (the worker marks its request answered there). A second
    process deciding at the same time waits, then decides against what the first one stored.
    """
    store = sealed_store(settings)
    policy = load_policy(policy_path)
    _require_writable(settings.release_dir)
    with ReleaseStore(settings.release_db) as releases:
        fingerprint = store.current_fingerprint()
        if fingerprint is None:
            raise UserError(
                "NO_DATA",
                "the sealed store is empty",
                hint="ingest a batch with `kluis ingest DIR`",
            )
        if epsilon is not None:
            # early, so that a spent budget is refused before the slow part; checked again
            # under the lock, which is what counts
            _check_budget(policy, epsilon * len(years), fingerprint, releases)
        progress("linking tables")
        computed = []
        with open_linked(store) as linked:
            for year in years:
                progress(f"computing indicators for {year}")
                agg = compute_aggregates(
                    linked.con, linked.geography, year, linked.data_fingerprint
                )
                _require_covered(agg.run_report, year)
                computed.append(agg)
            link_report = dict(linked.link_report)
        # the CBS layout reads wijken in one boundary year; the release says which
        ingested = store.current_report()
        if ingested is not None and "geografie_jaar" in ingested.source:
            link_report["geografie_jaar"] = int(ingested.source["geografie_jaar"])
        signer = release_log.load_signer(settings.signing_dir)
        commitment_key = _commitment_key(settings)
        with decision_lock(settings.release_db, f"kluis {holder}", waiting=progress):
            made: list[Release] = []
            for agg in computed:
                year = agg.schooljaar
                noise = None
                if epsilon is not None:
                    spent_here = epsilon * len(made)
                    _check_budget(policy, epsilon + spent_here, agg.data_fingerprint, releases)
                    noise = _noise_source(policy, epsilon)
                # earlier releases of this year enter the audit (figures, statuses, pooling map,
                # each under its own policy); last year's steer the choice of complementary
                # cells towards those withheld then too (stable statuses). Read under the lock:
                # what another process stored a moment ago counts.
                prior = releases.earlier_releases((year, year - 1), agg.data_fingerprint)
                prior += [EarlierRelease.of(r) for r in made if r.schooljaar in (year, year - 1)]
                progress(f"disclosure control for {year}")
                draft = protect(agg, policy, prior=prior, noise=noise)
                created_at = datetime.now(UTC).isoformat(timespec="microseconds")
                made.append(
                    release_log.seal(
                        draft,
                        release_id=_release_id(year, created_at, agg.data_fingerprint, epsilon),
                        created_at=created_at,
                        data_fingerprint=agg.data_fingerprint,
                        geography_fingerprint=agg.geography.fingerprint(),
                        code_version=__version__,
                        run_report={**link_report, **dict(agg.run_report)},
                        signer=signer,
                        commitment_key=commitment_key,
                    )
                )
            progress("storing " + ("release" if len(made) == 1 else f"{len(made)} releases"))
            releases.save_all(
                made,
                epsilon_spent=epsilon,
                also=None if also is None else (lambda con: also(con, made)),
            )
        return made


def _require_covered(run_report: Mapping[str, int], year: int) -> None:
    # stapelen, op- en afstroom and zittenblijven follow pupils into t+1: a release without
    # t+1 would publish zeros that look like real figures
    if run_report.get("vo_pupils_t", 0) == 0 or run_report.get("vo_pupils_t_plus_1", 0) == 0:
        raise UserError(
            "RUN_YEAR_NOT_COVERED",
            f"the data hold no vo enrolment for {year}/{str(year + 1)[-2:]} or for "
            f"{year + 1}/{str(year + 2)[-2:]}, which the transition indicators need",
            hint="choose a reference year T whose year T+1 was ingested too",
        )


def _check_budget(policy: Policy, epsilon: float, fingerprint: str, releases: ReleaseStore) -> None:
    """Refuse ``epsilon`` more for this dataset if the ledger cannot pay for it."""
    if epsilon <= 0:
        raise UserError("DP_BAD_EPSILON", "--epsilon must be positive", hint="e.g. --epsilon 1")
    spent = releases.epsilon_spent(fingerprint)
    limit = float(policy.dp.epsilon_limit)
    remaining = limit - spent
    if epsilon > remaining + 1e-12:
        raise PolicyRefusal(
            "DP_BUDGET_EXHAUSTED",
            f"privacy budget exceeded: requested epsilon {epsilon:g}, remaining {remaining:g} "
            f"of {limit:g} for this dataset, short by {epsilon - remaining:g}",
            hint="ask for a smaller --epsilon, or ingest a new dataset; the limit is in the policy",
        )


def _noise_source(policy: Policy, epsilon: float) -> NoiseSource:
    # imported when asked for: only a run with --epsilon needs the noise source
    from disclosure.noise import noise_for_release

    return noise_for_release(policy, epsilon)


def export(settings: Settings, release_id: str, out: Path) -> Path:
    with ReleaseStore(settings.release_db) as releases:
        export_release(releases.get(release_id), out)
    return out


def open_commitments(settings: Settings, release_id: str) -> list[dict[str, object]]:
    """Sealed side only: the rule and true count behind each committed log entry of a release.

    This is what a sealed-side auditor uses to check a withheld cell; its output contains true
    small counts and must never leave the sealed environment.
    """
    import json

    key = _commitment_key(settings)
    with ReleaseStore(settings.release_db) as releases:
        release = releases.get(release_id)
    opened: list[dict[str, object]] = []
    for line in release.suppression_log:
        entry = json.loads(line)
        if "commitment" not in entry:
            continue
        result = release_log.open_commitment_rule(entry, key, max_count=100_000)
        opened.append(
            {
                "seq": entry.get("seq"),
                "cell": "/".join(
                    str(entry.get(k, ""))
                    for k in ("indicator", "breakdown", "schooljaar", "geo_level", "geo_code")
                ),
                "status": entry.get("status"),
                "rule": None if result is None else result[0],
                "count": None if result is None else result[1],
            }
        )
    return opened


def rotate_signing_key(settings: Settings) -> str:
    """Rotate the release signing key (old releases keep verifying with their own release.pub)."""
    return release_log.rotate_signing_key(settings.signing_dir)


def rotate_data_key(settings: Settings, progress: Progress = _quiet) -> None:
    """New key-encryption and data keys for the sealed store; the data are re-encrypted."""
    sealed_store(settings).rotate_data_key(progress=progress)


def backup_releases(settings: Settings, target: Path) -> Path:
    """A consistent copy of the release store (SQLite online backup), safe while serving."""
    with ReleaseStore(settings.release_db) as releases:
        releases.backup(target)
    return target


def restore_releases(settings: Settings, source: Path) -> None:
    ReleaseStore.restore(source, settings.release_db)


def reset_home(home: Path) -> None:
    """Remove a demo home (only ever called on the demo's own folder)."""
    if home.exists():
        shutil.rmtree(home)


def work(
    settings: Settings,
    once: bool = False,
    interval: float = 10.0,
    progress: Progress = _quiet,
    lease_seconds: float | None = None,
) -> list[str]:
    """The sealed worker: answer each approved aggregate request with new releases.

    A request names an indicator, breakdown, years and gemeenten; the answer is a full release of
    each requested year through the whole disclosure pipeline, audited against every earlier
    release of that year, so what a request adds can never undo earlier protection.

    The worker claims one request at a time (another worker skips it and takes the next) and
    answers it all or nothing: every year is computed and protected before any is stored, and
    the releases are stored in the same transaction that marks the request answered. A request
    that cannot be answered (a year without t+1, a refusal) is marked failed with nothing
    published. Returns the ids of the requests this worker answered.
    """
    import time

    from disclosure import requests as aggregate_requests

    db = settings.release_db
    lease = aggregate_requests.DEFAULT_LEASE_SECONDS if lease_seconds is None else lease_seconds
    worker_id = aggregate_requests.new_worker_id()
    preflight_sealed(settings)
    _require_writable(settings.release_dir)
    progress(f"worker {worker_id} started")
    answered: list[str] = []
    while True:
        while (request := aggregate_requests.claim_next(db, worker_id, lease)) is not None:
            progress(f"request {request.id} claimed")

            def answer(
                con: sqlite3.Connection, made: Sequence[Release], rid: str = request.id
            ) -> None:
                aggregate_requests.answer_in(con, rid, worker_id, [r.id for r in made])

            try:
                with aggregate_requests.keep_lease(db, request.id, worker_id, lease):
                    made = publish(
                        settings,
                        request.years,
                        progress=progress,
                        holder=f"worker for request {request.id}",
                        also=answer,
                    )
            except UserError as e:
                try:
                    if e.code != "REQUEST_CLAIMED_BY_ANOTHER":
                        aggregate_requests.mark_failed(db, request.id, e.message, worker_id)
                        progress(f"request {request.id} failed: {e.code}")
                        continue
                except UserError as lost:
                    if lost.code != "REQUEST_CLAIMED_BY_ANOTHER":
                        raise
                # this worker was too slow to renew its lease: the other worker answers it
                progress(f"request {request.id}: another worker took it over")
                continue
            progress(f"request {request.id} answered by {', '.join(r.id for r in made)}")
            answered.append(request.id)
        if once:
            return answered
        time.sleep(interval)
