"""The benchmark's step registry (``benchmarks/steps/``): every step module is registered once,
says what it measures and against what, and every child process a step starts is declared.

Nothing is timed here; the benchmark itself runs with ``make bench``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def steps() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import steps

        yield steps
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_every_step_module_is_registered_once_in_run_order(steps: ModuleType) -> None:
    modules = {p.stem for p in (BENCHMARKS / "steps").glob("*.py")} - {"__init__", "base"}
    names = [step.name for step in steps.STEPS]
    assert len(names) == len(set(names))
    assert set(names) == modules
    for step in steps.STEPS:
        assert step.run.__module__ == f"steps.{step.name}"
    # later steps reuse what earlier ones leave in the work folder
    assert names.index("synth") < names.index("ingest") < names.index("run") < names.index("dp")


def test_every_step_says_what_it_measures_and_its_baseline(steps: ModuleType) -> None:
    for step in steps.STEPS:
        assert step.name and step.name == step.name.strip()
        assert len(step.measures) > 20, step.name
        assert len(step.baseline) > 10, step.name
        assert callable(step.run)


def test_every_child_is_declared_once_with_its_options(steps: ModuleType) -> None:
    declared = [child.name for step in steps.STEPS for child in step.children]
    assert len(declared) == len(set(declared)) == len(steps.CHILDREN)
    for child in steps.CHILDREN.values():
        assert callable(child.run)
        parser = argparse.ArgumentParser()
        child.options(parser)
        assert parser._actions[1:], child.name  # more than --help


def test_every_child_a_step_starts_is_declared(steps: ModuleType) -> None:
    started = set()
    for path in [*(BENCHMARKS / "steps").glob("*.py"), BENCHMARKS / "run.py"]:
        started |= set(re.findall(r'child(?:_argv)?\(\s*"([a-z-]+)"', path.read_text()))
    assert started
    assert started <= set(steps.CHILDREN)
