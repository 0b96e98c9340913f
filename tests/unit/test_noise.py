"""The OpenDP adapter, the epsilon split and the interval arithmetic.

Statistical tests draw many samples and allow 5 standard errors: a correct mechanism fails such a
test with probability below 1e-6 per assertion (two-sided normal tail at 5 sigma, ~5.7e-7).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from disclosure.noise import (
    FixedNoise,
    OpenDPNoise,
    discrete_laplace_variance,
    percentage_interval,
    split_epsilon,
)
from kansenkluis.domain import PopulationId
from kansenkluis.errors import UserError

WEIGHTS = {p.value: 1.0 for p in PopulationId}
N_DRAWS = 40_000


def counts_frame(values: list[int], population: str = "groep8") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "population": population,
            "breakdown": "totaal",
            "category": "geen_heroverweging",
            "wijkcode": [f"WK0917{i % 100:02d}" for i in range(len(values))],
            "count": np.asarray(values, dtype="int64"),
        }
    )


def test_split_epsilon_follows_the_weights_and_sums_to_epsilon() -> None:
    weights = {**WEIGHTS, "transitie": 3.0}
    parts = split_epsilon(1.4, weights)
    assert math.isclose(sum(parts.values()), 1.4)
    assert math.isclose(parts["transitie"], 3 * parts["groep8"])


def test_split_epsilon_refuses_missing_or_non_positive_weights() -> None:
    with pytest.raises(UserError):
        split_epsilon(1.0, {"groep8": 1.0})
    with pytest.raises(UserError):
        split_epsilon(1.0, {**WEIGHTS, "groep8": 0.0})


@pytest.mark.parametrize("true_value", [0, 37])
def test_discrete_laplace_has_mean_zero_and_the_stated_variance(true_value: int) -> None:
    # epsilon 1 over 5 equal weights -> 0.2 per population -> scale 5
    noise = OpenDPNoise(1.0, WEIGHTS)
    noisy, params, decisions = noise.perturb(counts_frame([true_value] * N_DRAWS))
    assert params.scales["groep8"] == pytest.approx(5.0)
    errors = noisy["count"].to_numpy() - true_value
    var = discrete_laplace_variance(5.0)
    assert abs(errors.mean()) < 5 * math.sqrt(var / N_DRAWS)
    # the sample variance of Laplace-type noise: sd of s^2 ~ sqrt((mu4 - var^2) / n), mu4 ~ 6 var^2
    assert abs(errors.var() - var) < 5 * math.sqrt(5 * var**2 / N_DRAWS)
    assert {d.detail["mechanism"] for d in decisions} == {"discrete_laplace"}
    assert {d.detail["population"] for d in decisions} == {p.value for p in PopulationId}


def test_only_counts_change_and_integers_stay_integers() -> None:
    frame = counts_frame([3, 4, 5])
    noisy, _, _ = OpenDPNoise(2.0, WEIGHTS).perturb(frame)
    assert noisy["count"].dtype == np.int64
    pd.testing.assert_frame_equal(noisy.drop(columns="count"), frame.drop(columns="count"))
    assert frame["count"].tolist() == [3, 4, 5]  # input untouched


def test_discrete_gaussian_scale_matches_rho() -> None:
    noise = OpenDPNoise(0.5, WEIGHTS, mechanism="discrete_gaussian")
    noisy, params, _ = noise.perturb(counts_frame([10] * N_DRAWS))
    rho = 0.5 / 5
    assert params.scales["groep8"] == pytest.approx(math.sqrt(1 / (2 * rho)))
    errors = noisy["count"].to_numpy() - 10
    sigma2 = params.scales["groep8"] ** 2
    assert abs(errors.mean()) < 5 * math.sqrt(sigma2 / N_DRAWS)
    assert abs(errors.var() - sigma2) < 5 * math.sqrt(2 * sigma2**2 / N_DRAWS)


def test_unknown_mechanism_is_a_user_error() -> None:
    with pytest.raises(UserError) as info:
        OpenDPNoise(1.0, WEIGHTS, mechanism="laplace_continuous")
    assert info.value.code == "POLICY_DP_MECHANISM"


def test_fixed_noise_is_deterministic() -> None:
    frame = pd.concat([counts_frame([1, 2]), counts_frame([5], population="transitie")])
    noisy, _, _ = FixedNoise({"groep8": 3, "transitie": -1}).perturb(frame)
    assert noisy["count"].tolist() == [4, 5, 4]


def test_percentage_interval_contains_the_estimate_and_narrows_with_size() -> None:
    small = percentage_interval(5, 20, num_cells=1, rest_cells=3, scale=5.0)
    large = percentage_interval(500, 2000, num_cells=1, rest_cells=3, scale=5.0)
    assert small[0] <= 25.0 <= small[1]
    assert large[0] <= 25.0 <= large[1]
    assert (large[1] - large[0]) < (small[1] - small[0])
    assert small[0] >= 0.0 and small[1] <= 100.0
