"""Differential privacy through the whole pipeline: noisy releases and the budget ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from disclosure.store import ReleaseStore
from kansenkluis import pipeline
from kansenkluis.config import Settings
from kansenkluis.domain import CellStatus
from kansenkluis.errors import ExitCode, PolicyRefusal
from tests.support.cli import kluis
from tests.support.fixtures import SynthWorld
from tests.support.policies import default_policy_with

pytestmark = pytest.mark.slow


@pytest.fixture
def home(synth_world: Callable[[int], SynthWorld], tmp_path: Path) -> Settings:
    """A fresh KLUIS_HOME per test (a copy of the ingested world): the whole budget to spend."""
    return synth_world(11).copy_home(tmp_path / "home")


@pytest.fixture(scope="module")
def strict_budget(tmp_path_factory: pytest.TempPathFactory) -> Path:
    policy = tmp_path_factory.mktemp("policy") / "policy.toml"
    return default_policy_with(policy, "epsilon_limit = 4.0", "epsilon_limit = 2.0")


def test_budget_is_accounted_exactly_and_a_third_release_is_refused(
    home: Settings, strict_budget: Path
) -> None:
    first = pipeline.run(home, 2022, policy_path=strict_budget, epsilon=1.0)
    second = pipeline.run(home, 2021, policy_path=strict_budget, epsilon=1.0)
    with ReleaseStore(home.release_db) as store:
        assert store.epsilon_spent(first.data_fingerprint) == pytest.approx(2.0)
        before = (len(store.list()), store.epsilon_spent(first.data_fingerprint))
    with pytest.raises(PolicyRefusal) as info:
        pipeline.run(home, 2022, policy_path=strict_budget, epsilon=0.5)
    assert info.value.exit_code == ExitCode.POLICY_REFUSAL
    message = info.value.message
    assert (
        "requested epsilon 0.5" in message
        and "remaining 0" in message
        and "short by 0.5" in message
    )
    with ReleaseStore(home.release_db) as store:
        assert (len(store.list()), store.epsilon_spent(first.data_fingerprint)) == before
    assert first.dp is not None and second.dp is not None
    assert first.dp.epsilon == 1.0
    assert sum(first.dp.weights.values()) == pytest.approx(1.0)


def test_noisy_release_publishes_intervals_and_keeps_numerator_within_denominator(
    home: Settings,
) -> None:
    release = pipeline.run(home, 2022, epsilon=1.0)
    published = [c for c in release.cells if c.status == CellStatus.PUBLISHED]
    assert published
    for cell in published:
        assert cell.numerator is not None and cell.denominator is not None
        assert 0 <= cell.numerator <= cell.denominator
        assert cell.noise_scale is not None and cell.noise_scale > 0
        assert cell.ci_low is not None and cell.ci_high is not None
        assert cell.ci_low <= (cell.percentage or 0.0) <= cell.ci_high
    noise_entries = [line for line in release.suppression_log if '"kind":"noise"' in line]
    assert len(noise_entries) == 5  # one per population table


def test_budget_refusal_from_the_command_line_exits_4(home: Settings, strict_budget: Path) -> None:
    proc = kluis(
        home.home,
        "run",
        "--year",
        "2022",
        "--epsilon",
        "9",
        "--policy",
        str(strict_budget),
        check=False,
    )
    assert proc.returncode == 4
    assert "DP_BUDGET_EXHAUSTED" in proc.stderr
