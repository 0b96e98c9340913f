"""Promises that hold when processes run at the same time: real `kluis` processes, not threads.

Each round starts two processes on one KLUIS_HOME at the same moment. The suite runs
``KLUIS_CONCURRENCY_ROUNDS`` rounds (default 3); the soak run of docs/threat-model.md sets it
to 20::

    KLUIS_CONCURRENCY_ROUNDS=20 .venv/bin/python -m pytest tests/integration/test_concurrency.py
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from disclosure import requests as queue
from disclosure.store import ReleaseStore, decision_lock
from kansenkluis import pipeline
from kansenkluis.config import Settings
from tests.support.fixtures import SynthWorld
from tests.support.policies import default_policy_with

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("KLUIS_CONCURRENCY_ROUNDS", "3"))


@pytest.fixture(scope="module")
def base_home(synth_world: Callable[[int], SynthWorld]) -> Path:
    """An initialised home with the small synthetic world ingested and no release yet (shared:
    every test works on a ``fresh_home`` copy)."""
    return synth_world(11).home


@pytest.fixture(scope="module")
def stricter_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    policy = tmp_path_factory.mktemp("policy") / "stricter.toml"
    return default_policy_with(policy, "\nmin_cell = 10\n", "\nmin_cell = 15\n")


def fresh_home(base_home: Path, target: Path) -> Path:
    shutil.copytree(base_home, target)
    return target


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kansenkluis.cli", *args],
        env={**os.environ, "KLUIS_HOME": str(home), "COLUMNS": "400"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def together(home: Path, *commands: tuple[str, ...]) -> list[tuple[int, str]]:
    """Start every command at once on ``home``; (exit code, stderr) of each, in order."""
    procs = [start(home, *c) for c in commands]
    results = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        results.append((p.returncode, " ".join(err.split())))
    return results


def stored(home: Path) -> list[dict[str, object]]:
    with ReleaseStore(Settings(home=home).release_db) as store:
        return store.list()


def ledger(home: Path) -> list[float]:
    con = sqlite3.connect(Settings(home=home).release_db)
    try:
        return [r[0] for r in con.execute("SELECT epsilon FROM privacy_ledger")]
    finally:
        con.close()


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_two_runs_started_together_never_overspend_the_budget(
    base_home: Path, tmp_path: Path, round_no: int
) -> None:
    # the default budget is epsilon 4: one run of 3 fits, two do not
    home = fresh_home(base_home, tmp_path / "home")
    run = ("run", "--year", "2021", "--epsilon", "3")
    results = together(home, run, run)
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 4], results
    loser = next(err for rc, err in results if rc == 4)
    assert "DP_BUDGET_EXHAUSTED" in loser and "requested epsilon 3, remaining 1" in loser
    assert ledger(home) == [3.0]
    assert len(stored(home)) == 1


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_default_and_stricter_policy_together_never_store_a_narrowing_pair(
    base_home: Path, stricter_policy: Path, tmp_path: Path, round_no: int
) -> None:
    # run one after the other, either order, the second is refused (RELEASE_WOULD_NARROW): the
    # pair would let an attacker narrow withheld cells. Started together, one must still lose.
    home = fresh_home(base_home, tmp_path / "home")
    results = together(
        home,
        ("run", "--year", "2021"),
        ("run", "--year", "2021", "--policy", str(stricter_policy)),
    )
    assert sorted(rc for rc, _ in results) == [0, 4], results
    assert "RELEASE_WOULD_NARROW" in next(err for rc, err in results if rc == 4)
    assert len(stored(home)) == 1


def test_a_waiting_run_says_what_it_waits_for_and_then_decides(
    base_home: Path, tmp_path: Path
) -> None:
    home = fresh_home(base_home, tmp_path / "home")
    db = Settings(home=home).release_db
    with decision_lock(db, "the test that holds the lock"):
        proc = start(home, "run", "--year", "2021")
        assert proc.stderr is not None
        seen = ""
        deadline = time.monotonic() + 300
        while "the test that holds the lock" not in " ".join(seen.split()):
            line = proc.stderr.readline()
            assert line and time.monotonic() < deadline, f"no waiting message in: {seen}"
            seen += line
        assert proc.poll() is None  # still waiting while the lock is held
        assert stored(home) == []
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "waiting for process" in " ".join(seen.split())
    assert [r["id"] for r in stored(home)] == [out.split()[-1]]


def _approved(db: Path, years: list[int], breakdown: str = "totaal") -> str:
    rid = queue.file_request(db, "tok_coord", "heroverweging", breakdown, years, ["GM0917"])
    queue.decide_request(db, rid, "tok_checker", True, "binnen het beleid")
    return rid


def test_two_workers_answer_each_request_exactly_once(base_home: Path, tmp_path: Path) -> None:
    home = fresh_home(base_home, tmp_path / "home")
    db = Settings(home=home).release_db
    rids = [_approved(db, [2021]), _approved(db, [2022]), _approved(db, [2021])]
    results = together(home, ("worker", "--once"), ("worker", "--once"))
    assert [rc for rc, _ in results] == [0, 0], results
    answers: Counter[str] = Counter()
    for rid in rids:
        req = queue.get_request(db, rid)
        assert req.state == queue.RequestState.ANSWERED, (rid, req.failure_reason)
        answers.update(req.release_ids)
        states = [e["to_state"] for e in queue.request_history(db, rid)]
        assert states == ["pending", "approved", "running", "answered"]
    # every stored release answers exactly one request: no release that nobody asked for
    assert set(answers) == {r["id"] for r in stored(home)}
    assert set(answers.values()) == {1} and len(answers) == 3


def test_a_multi_year_request_is_answered_whole_or_not_at_all(
    base_home: Path, tmp_path: Path
) -> None:
    home = fresh_home(base_home, tmp_path / "home")
    settings = Settings(home=home)
    db = settings.release_db
    # the small world has vo enrolment 2018-2023: 2023 has no t+1, so [2022, 2023] cannot be
    # answered, and its 2022 release must not be published either
    partial = _approved(db, [2022, 2023])
    whole = _approved(db, [2021, 2022], breakdown="totaal")
    assert pipeline.work(settings, once=True) == [whole]

    failed = queue.get_request(db, partial)
    assert failed.state == queue.RequestState.FAILED and failed.release_ids == []
    assert failed.failure_reason is not None and "2023/24" in failed.failure_reason
    assert [e["release_id"] for e in queue.request_history(db, partial)] == [None] * 4

    answered = queue.get_request(db, whole)
    releases = {str(r["id"]): int(str(r["schooljaar"])) for r in stored(home)}
    assert sorted(releases.values()) == [2021, 2022]  # nothing of the failed request
    assert set(answered.release_ids) == set(releases)
    last = queue.request_history(db, whole)[-1]
    assert last["to_state"] == "answered" and set(last["release_id"].split(",")) == set(releases)
