"""Vectorised random draws shared by the stages (each stage passes its own generator)."""

from __future__ import annotations

import numpy as np


def draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of an index with probabilities ``p`` (faster than ``rng.choice``)."""
    cum = np.cumsum(p)
    return np.minimum(
        np.searchsorted(cum, rng.random(size) * cum[-1], side="right"), len(p) - 1
    ).astype(np.int32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float | np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element, from the probability row ``rows[i]`` of ``probs``."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] >= cum[rows]).sum(axis=1)
