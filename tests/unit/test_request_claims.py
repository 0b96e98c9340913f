"""Workers claim requests: one worker per request, and a dead worker's claim runs out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from disclosure import requests as queue
from kansenkluis.errors import UserError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "releases" / "releases.sqlite"


def approved(db: Path, year: int = 2022) -> str:
    rid = queue.file_request(db, "tok_coord", "heroverweging", "totaal", [year], ["GM0917"])
    queue.decide_request(db, rid, "tok_checker", True, "binnen het beleid")
    return rid


def test_a_claimed_request_is_skipped_by_the_next_worker(db: Path) -> None:
    first, second = approved(db, 2021), approved(db, 2022)
    a = queue.claim_next(db, "w-a")
    b = queue.claim_next(db, "w-b")
    assert a is not None and b is not None
    assert (a.id, a.worker_id, b.id, b.worker_id) == (first, "w-a", second, "w-b")
    assert queue.claim_next(db, "w-c") is None  # nothing left: carry on, do not crash
    assert {r.state for r in queue.list_requests(db)} == {queue.RequestState.RUNNING}


def test_a_dead_workers_lease_runs_out_and_another_worker_takes_over(db: Path) -> None:
    rid = approved(db)
    # a worker that claims and is then killed never renews: here its lease is already over
    dead = queue.claim_next(db, "w-dead", lease_seconds=0)
    assert dead is not None and dead.id == rid
    taken = queue.claim_next(db, "w-live")
    assert taken is not None and taken.id == rid and taken.worker_id == "w-live"
    # the first worker, should it come back, can no longer answer or fail it
    with pytest.raises(UserError) as exc:
        queue.mark_failed(db, rid, "te laat", "w-dead")
    assert exc.value.code == "REQUEST_CLAIMED_BY_ANOTHER"
    queue.mark_failed(db, rid, "RUN_YEAR_NOT_COVERED: geen t+1", "w-live")
    history = queue.request_history(db, rid)
    assert [(e["from_state"], e["to_state"], e["actor"]) for e in history[2:]] == [
        ("approved", "running", "worker:w-dead"),
        ("running", "running", "worker:w-live"),
        ("running", "failed", "worker:w-live"),
    ]
    assert "w-dead" in history[3]["reason"]


def test_a_working_worker_keeps_its_claim(db: Path) -> None:
    rid = approved(db)
    claim = queue.claim_next(db, "w-busy", lease_seconds=2.0)
    assert claim is not None
    with queue.keep_lease(db, rid, "w-busy", lease_seconds=2.0):
        time.sleep(2.5)  # longer than the lease: only the renewals keep it
        assert queue.claim_next(db, "w-other") is None
    assert queue.get_request(db, rid).worker_id == "w-busy"


def test_only_a_running_request_can_be_answered_or_failed(db: Path) -> None:
    rid = approved(db)
    for act in (
        lambda: queue.mark_failed(db, rid, "reden", "w-x"),
        lambda: queue.mark_answered(db, rid, "rel-x", "w-x"),
    ):
        with pytest.raises(UserError) as exc:
            act()
        assert exc.value.code == "REQUEST_WRONG_STATE"
