"""Hypothesis's CI profile and the shared fixtures of ``tests/support/fixtures.py``."""

from __future__ import annotations

import os

from hypothesis import settings

pytest_plugins = ["tests.support.fixtures"]

# CI (`CI` set, as `.ci/run` on the build machine does) draws the same examples on every run, so
# a red build points at a change in the code, not at the luck of the draw. Local runs draw new
# examples each time and keep failing ones in .hypothesis/ (that is how new cases are found).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
