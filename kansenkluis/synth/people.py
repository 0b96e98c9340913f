"""Stage 2, people: birth cohorts of children, adults who enrol in mbo, and their parents.

Children are named by the school year in which they sit in groep 8; a few enter vo without a
groep-8 record. Parents' education follows the family's SES; a child's latent ability follows
the parents' education and the wijk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kansenkluis.synth.calibration import (
    ABILITY_PARENTS,
    ABILITY_PARENTS_SQ,
    ABILITY_SES,
    FIRST_ADULT_ENTRY,
    FIRST_COHORT,
    LAST_COHORT,
    NO_PO_SHARE,
    PARENT_CUTS,
)
from kansenkluis.synth.codes import ONBEKEND, PARENT_GROUP_INDEX
from kansenkluis.synth.geography import Geography
from kansenkluis.synth.sampling import draw, sigmoid


@dataclass(frozen=True)
class People:
    """Every simulated person: pupils by pupil number, parents by parent number."""

    n: int  # pupils (children and adult mbo students); parents are numbered after them
    cohort: np.ndarray  # groep-8 school year; 0 for adults
    adult: np.ndarray
    mbo_entry: np.ndarray  # adults: school year of mbo entry
    no_po: np.ndarray  # enters vo without a groep-8 record
    home: np.ndarray  # wijk in the first written school year
    ses: np.ndarray  # SES of the home wijk
    ability: np.ndarray  # latent, standard normal among children
    birth_year: np.ndarray
    birth_month: np.ndarray
    parents: np.ndarray  # (n, 2) parent number or -1
    parent_level: np.ndarray  # true highest education (OPLEIDINGSNIVEAUS index)
    parent_known: np.ndarray  # has a hoogste_opleiding row
    parent_birth_year: np.ndarray
    parent_birth_month: np.ndarray
    group: np.ndarray  # parents' education group (PARENT_GROUPS index) as the tables show it


def draw_people(geo: Geography, rng: np.random.Generator) -> People:
    p_wijk = geo.cohort / geo.cohort.sum()
    per_cohort = geo.cohort.sum()
    cohorts = np.arange(FIRST_COHORT, LAST_COHORT + 1)
    # slightly larger older cohorts, as births fell between 1995 and 2012
    sizes = np.round(per_cohort * (1 + 0.006 * (2018 - cohorts))).astype(np.int64)
    entries = np.arange(FIRST_ADULT_ENTRY, LAST_COHORT + 1)
    adult_sizes = np.full(len(entries), round(geo.adults), np.int64)

    cohort = np.repeat(
        np.concatenate([cohorts, np.zeros(len(entries), int)]), np.concatenate([sizes, adult_sizes])
    ).astype(np.int16)
    mbo_entry = np.repeat(
        np.concatenate([np.zeros(len(cohorts), int), entries]), np.concatenate([sizes, adult_sizes])
    ).astype(np.int16)
    n = len(cohort)
    # Shuffle once so that table row order (by rin) says nothing about cohort or wijk.
    order = rng.permutation(n)
    cohort, mbo_entry = cohort[order], mbo_entry[order]
    adult = mbo_entry > 0
    home = draw(rng, p_wijk, n)
    ses = geo.ses[home]
    no_po = ~adult & (rng.random(n) < NO_PO_SHARE)

    # Parents: two (86%), one (11%), none in the register (3%); adults' parents are often
    # missing from the child-parent link.
    u = rng.random(n)
    n_par = np.where(u < 0.86, 2, np.where(u < 0.97, 1, 0))
    n_par = np.where(adult & (rng.random(n) < 0.45), 0, n_par)
    # Family SES: the wijk plus a family part; single-parent families a bit lower.
    family = 0.55 * ses + 0.835 * rng.normal(size=n) - 0.3 * (n_par == 1)
    parent_of = np.repeat(np.arange(n), n_par)
    n_parents = len(parent_of)
    latent = 0.72 * family[parent_of] + 0.69 * rng.normal(size=n_parents)
    parent_level = np.searchsorted(PARENT_CUTS, latent).astype(np.int8)
    # ability follows the parents' true education (also when it is not recorded)
    pe = np.bincount(parent_of, weights=latent, minlength=n)
    pe = np.where(n_par > 0, pe / np.maximum(n_par, 1), 0.72 * family)
    # the square term makes the gradient flatter at the bottom and steeper at the top
    ability = (
        ABILITY_PARENTS * pe
        + ABILITY_PARENTS_SQ * pe**2
        + ABILITY_SES * ses
        + 0.75 * rng.normal(size=n)
    )
    kids = ~adult
    ability = (ability - ability[kids].mean()) / ability[kids].std()
    ability[adult] -= 0.4

    # Unknown parents' education: whole families, more in low-SES wijken and in some gemeenten.
    unknown_family = rng.random(n) < sigmoid(-2.95 + geo.unknown[home] - 0.35 * ses)
    unknown_family |= adult & (rng.random(n) < 0.4)
    parent_known = ~unknown_family[parent_of] & (rng.random(n_parents) > 0.04)

    # Parents are numbered in the order of their children (already random). The first parent
    # of a child sits in slot ouder1, the second in ouder2; a lone parent sometimes sits in
    # ouder2, as happens in the register.
    second = np.zeros(n_parents, bool)
    second[1:] = parent_of[1:] == parent_of[:-1]
    lone_in_two = (n_par == 1) & (rng.random(n) < 0.2)
    slot = (second | lone_in_two[parent_of]).astype(np.int8)
    parents = np.full((n, 2), -1, np.int64)
    parents[parent_of, slot] = np.arange(n_parents)

    # Birth dates. Children sit in groep 8 at age 11 on 1 October, some a year older (held
    # back in po, more often with low ability) or a year younger.
    month = rng.integers(1, 13, n).astype(np.int8)
    delay = np.where(rng.random(n) < sigmoid(-2.2 - 0.6 * ability), 1, 0)
    delay = np.where((delay == 0) & (rng.random(n) < 0.015 * (ability > 0.5)), -1, delay)
    birth_year = cohort.astype(np.int32) - 11 - delay - (month >= 10)
    adult_age = 19 + np.minimum(rng.exponential(7.0, n), 30).astype(np.int32)
    birth_year = np.where(adult, mbo_entry - adult_age - (month >= 10), birth_year)
    # parents: about 31 (first slot) or 33 (second slot) years older than the child
    age_at_birth = np.clip(
        np.round(rng.normal(np.where(slot == 0, 31.0, 33.5), 4.8)), 17, 55
    ).astype(np.int32)
    parent_birth_year = birth_year[parent_of] - age_at_birth
    parent_birth_month = rng.integers(1, 13, n_parents).astype(np.int8)

    has = parents >= 0
    slot_level = np.where(
        has & parent_known[np.maximum(parents, 0)], parent_level[np.maximum(parents, 0)], -1
    )
    best = slot_level.max(axis=1)
    group = np.where(best >= 0, PARENT_GROUP_INDEX[np.maximum(best, 0)], ONBEKEND)
    return People(
        n=n,
        cohort=cohort,
        adult=adult,
        mbo_entry=mbo_entry,
        no_po=no_po,
        home=home,
        ses=ses,
        ability=ability.astype(np.float32),
        birth_year=birth_year.astype(np.int32),
        birth_month=month,
        parents=parents,
        parent_level=parent_level,
        parent_known=parent_known,
        parent_birth_year=parent_birth_year.astype(np.int32),
        parent_birth_month=parent_birth_month,
        group=group.astype(np.int8),
    )
