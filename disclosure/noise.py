"""Differential privacy: noise on the category counts, from OpenDP (the only OpenDP import).

Unit of privacy: one pupil (adding or removing all of one pupil's records). Each population's
contingency table (wijk x breakdown x category) puts a pupil in exactly one cell, so under
add/remove it has L1 sensitivity 1 and discrete Laplace noise with scale 1/epsilon_p makes it
epsilon_p-DP. A pupil can be in several populations of one year, so the release's epsilon is split
over the populations by the policy's weights and the parts add up (basic composition).

Noise is added once, at the finest level. Wijkgroepen, gemeenten, regions and the nation are sums
of the noisy (unclamped) wijk cells: post-processing, no extra budget, and unbiased — clamping each
small cell at zero first would add about scale/2 per empty cell and bias national figures badly.
Only a published figure is clamped (0 <= numerator <= denominator).

Parents' education enters as an attribute of the pupil. A parent is not the unit of privacy: a
parent with k children in one year's 14-year-olds could move up to 2k cells (see the DP docs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from kansenkluis.domain import PopulationId, Rule
from kansenkluis.errors import UserError

from .policy import Policy
from .release import Decision, DPParams

if TYPE_CHECKING:
    from opendp.mod import Measurement

MECHANISMS = ("discrete_laplace", "discrete_gaussian")


class NoiseSource(Protocol):
    """Perturbs a copy of ``AggregateTable.counts`` (column ``count``) and says how."""

    def perturb(self, counts: pd.DataFrame) -> tuple[pd.DataFrame, DPParams, list[Decision]]: ...


def split_epsilon(epsilon: float, weights: Mapping[str, float]) -> dict[str, float]:
    """epsilon per population; weights are normalised so the parts sum to ``epsilon`` exactly."""
    missing = {p.value for p in PopulationId} - set(weights)
    if missing:
        raise UserError(
            "POLICY_DP_WEIGHTS",
            f"the policy's dp weights lack populations {sorted(missing)}",
            hint="give a weight for every population in [dp.weights]",
        )
    total = sum(float(weights[p.value]) for p in PopulationId)
    if total <= 0 or any(float(weights[p.value]) <= 0 for p in PopulationId):
        raise UserError(
            "POLICY_DP_WEIGHTS", "dp weights must all be positive", hint="e.g. 1 for each"
        )
    return {p.value: epsilon * float(weights[p.value]) / total for p in PopulationId}


def discrete_laplace_variance(scale: float) -> float:
    t = math.exp(-1.0 / scale)
    return 2.0 * t / (1.0 - t) ** 2


@dataclass
class OpenDPNoise:
    """Discrete Laplace (pure epsilon-DP) or discrete Gaussian (rho-zCDP, rho = epsilon here)."""

    epsilon: float
    weights: Mapping[str, float]
    mechanism: str = "discrete_laplace"

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISMS:
            raise UserError(
                "POLICY_DP_MECHANISM",
                "unknown dp mechanism in the policy",
                hint=f"use one of {', '.join(MECHANISMS)}",
            )
        if not self.epsilon > 0:
            raise UserError("DP_BAD_EPSILON", "epsilon must be positive", hint="e.g. 1")

    def _scale(self, budget: float) -> float:
        if self.mechanism == "discrete_laplace":
            return 1.0 / budget  # L1 sensitivity 1: scale 1/epsilon gives epsilon-DP
        return math.sqrt(1.0 / (2.0 * budget))  # L2 sensitivity 1: rho = 1 / (2 scale^2)

    def _measurement(self, budget: float) -> Measurement:
        import opendp.prelude as dp

        dp.enable_features("contrib")
        domain = dp.vector_domain(dp.atom_domain(T=int))
        if self.mechanism == "discrete_laplace":
            m = dp.m.make_laplace(domain, dp.l1_distance(T=int), scale=self._scale(budget))
        else:
            m = dp.m.make_gaussian(domain, dp.l2_distance(T=int), scale=self._scale(budget))
        if m.map(1) > budget * (1 + 1e-9):
            raise AssertionError(
                "OpenDP privacy map exceeds the budget part"
            )  # pragma: no cover - OpenDP guarantee
        return m

    def perturb(self, counts: pd.DataFrame) -> tuple[pd.DataFrame, DPParams, list[Decision]]:
        parts = split_epsilon(self.epsilon, self.weights)
        noisy = counts.copy()
        scales: dict[str, float] = {}
        decisions: list[Decision] = []
        for population, budget in parts.items():
            mask = (noisy["population"] == population).to_numpy()
            measurement = self._measurement(budget)
            values = [int(v) for v in noisy.loc[mask, "count"].to_numpy()]
            released = measurement(values)
            noisy.loc[mask, "count"] = np.asarray(released, dtype="int64")
            scale = self._scale(budget)
            scales[population] = scale
            decisions.append(
                Decision(
                    kind="noise",
                    rule=Rule.NOISE,
                    detail={
                        "population": population,
                        "mechanism": self.mechanism,
                        "scale": scale,
                        "epsilon": budget,
                        "cells": int(mask.sum()),
                    },
                )
            )
        params = DPParams(
            epsilon=self.epsilon,
            mechanism=self.mechanism,
            weights={p: b / self.epsilon for p, b in parts.items()},
            scales=scales,
        )
        return noisy, params, decisions


@dataclass
class FixedNoise:
    """A deterministic stand-in for pipeline tests: adds a fixed offset per population."""

    offsets: Mapping[str, int]
    scale: float = 1.0

    def perturb(self, counts: pd.DataFrame) -> tuple[pd.DataFrame, DPParams, list[Decision]]:
        noisy = counts.copy()
        noisy["count"] = noisy["count"] + noisy["population"].map(
            lambda p: int(self.offsets.get(p, 0))
        ).astype("int64")
        params = DPParams(
            epsilon=1.0,
            mechanism="fixed_test_offsets",
            weights={p.value: 1.0 / len(PopulationId) for p in PopulationId},
            scales={p.value: self.scale for p in PopulationId},
        )
        return noisy, params, []


def percentage_interval(
    numerator: float,
    denominator: float,
    num_cells: int,
    rest_cells: int,
    scale: float,
    mechanism: str = "discrete_laplace",
) -> tuple[float, float]:
    """A 95% interval of a noisy percentage N / (N + R) by the delta method.

    ``num_cells`` noisy cells were summed into N and ``rest_cells`` into R = D - N.
    """
    var_cell = scale**2 if mechanism == "discrete_gaussian" else discrete_laplace_variance(scale)
    if denominator <= 0:
        return (0.0, 100.0)
    n = max(numerator, 0.0)
    r = max(denominator - numerator, 0.0)
    d = n + r
    if d <= 0:
        return (0.0, 100.0)
    var_p = (r**2 * num_cells * var_cell + n**2 * rest_cells * var_cell) / d**4
    half = 1.96 * math.sqrt(var_p) * 100.0
    pct = 100.0 * n / d
    return (round(max(0.0, pct - half), 1), round(min(100.0, pct + half), 1))


def noise_for_release(policy: Policy, epsilon: float) -> OpenDPNoise:
    """The noise source a policy asks for (weights and mechanism from its dp section)."""
    dp_section = policy.dp
    return OpenDPNoise(
        epsilon=epsilon, weights=dict(dp_section.weights), mechanism=dp_section.mechanism
    )
