"""Stage 3, groep 8: school advice, test advice, the final advice, and everyone's schools.

The school advice leans on the wijk's SES (schools advise pupils from low-SES wijken more
cautiously); the test does not, so low-SES wijken see more heroverwegingen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kansenkluis.synth.calibration import (
    BIJSTELLING_BASE,
    CUTS,
    SCHOOL_NOISE,
    SCHOOL_SES_BIAS,
    TOETS_MISSING,
    TOETS_MISSING_PRO,
    TOETS_NOISE,
    TOETS_SHIFT,
)
from kansenkluis.synth.codes import PRO, B
from kansenkluis.synth.geography import Geography
from kansenkluis.synth.people import People
from kansenkluis.synth.sampling import sigmoid


@dataclass(frozen=True)
class Groep8:
    """Per pupil: advice positions (ADVICE_CODES index, toetsadvies -1 when no test was
    taken) and global school numbers (the tables turn them into BRIN codes)."""

    schooladvies: np.ndarray
    toetsadvies: np.ndarray
    definitief: np.ndarray
    po_school: np.ndarray
    vo_school: np.ndarray


def advise(people: People, geo: Geography, rng: np.random.Generator) -> Groep8:
    """schooladvies, toetsadvies, advies_definitief, and the po and vo school of everyone."""
    n, z, ses = people.n, people.ability.astype(float), people.ses
    school_lat = (z + SCHOOL_NOISE * rng.normal(size=n) + SCHOOL_SES_BIAS * ses) / np.sqrt(
        1 + SCHOOL_NOISE**2 + SCHOOL_SES_BIAS**2
    )
    school = np.searchsorted(CUTS, school_lat).astype(np.int8)
    toets_lat = (z + TOETS_NOISE * rng.normal(size=n)) / np.sqrt(1 + TOETS_NOISE**2) + TOETS_SHIFT
    # the final test has no pro outcome; pro pupils often take no test at all
    toets = np.maximum(np.searchsorted(CUTS, toets_lat), B).astype(np.int8)
    missing = rng.random(n) < np.where(school == PRO, TOETS_MISSING_PRO, TOETS_MISSING)
    toets[missing] = -1
    gap = toets.astype(np.int16) - school
    p_bij = sigmoid(BIJSTELLING_BASE + 0.5 * (gap - 1) + 0.35 * ses + 0.3 * z)
    bijstelling = (gap > 0) & (rng.random(n) < p_bij)
    # a raised advice is the test advice, or one step up when the test was far above
    raised = np.where((gap == 1) | (rng.random(n) < 0.5), toets, school + 1)
    definitief = np.where(bijstelling, raised, school).astype(np.int8)

    # Schools: about 28 groep-8 pupils per po school in a wijk, about 170 brugklassers per vo
    # school in a gemeente. School numbers are global; the tables turn them into BRIN codes.
    po_n = np.maximum(1, np.round(geo.cohort / 28)).astype(np.int64)
    po_first = np.concatenate([[0], np.cumsum(po_n)[:-1]])
    w = people.home
    po_school = po_first[w] + (rng.random(n) * po_n[w]).astype(np.int64)
    gem_cohort = np.bincount(geo.gem, weights=geo.cohort)
    vo_n = np.maximum(1, np.round(gem_cohort / 170)).astype(np.int64)
    vo_first = po_n.sum() + np.concatenate([[0], np.cumsum(vo_n)[:-1]])
    g = geo.gem[w]
    vo_school = vo_first[g] + (rng.random(n) * vo_n[g]).astype(np.int64)
    return Groep8(
        schooladvies=school,
        toetsadvies=toets,
        definitief=definitief,
        po_school=po_school,
        vo_school=vo_school,
    )
