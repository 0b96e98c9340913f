"""Stage 5, addresses: the wijk of every pupil per school year, and whether it is on record.

Mostly stable, some moves (to a neighbouring wijk, within the gemeente, or anywhere), and a
few enrolled pupils without an ``adres`` row in a year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kansenkluis.synth.calibration import MOVE_SHARE, NO_ADRES_SHARE, SCHOOLJAREN
from kansenkluis.synth.careers import Careers
from kansenkluis.synth.geography import Geography
from kansenkluis.synth.people import People
from kansenkluis.synth.sampling import draw


@dataclass(frozen=True)
class Addresses:
    """Per written school year (rows, SCHOOLJAREN order) and pupil (columns)."""

    wijk: np.ndarray  # wijk index into the geography
    adres: np.ndarray  # has an adres row (enrolled somewhere, and not a gap)


def place(people: People, c: Careers, geo: Geography, rng: np.random.Generator) -> Addresses:
    """The wijk of every pupil per school year: mostly stable, some moves, a few gaps."""
    n, n_years = people.n, len(SCHOOLJAREN)
    p_wijk = geo.cohort / geo.cohort.sum()
    wijk = np.empty((n_years, n), np.int32)
    wijk[0] = people.home
    for col in range(1, n_years):
        wijk[col] = wijk[col - 1]
        movers = np.flatnonzero(rng.random(n) < MOVE_SHARE)
        cur = wijk[col, movers]
        kind, u = rng.random(len(movers)), rng.random(len(movers))
        deg = geo.nb_ptr[cur + 1] - geo.nb_ptr[cur]
        to_bur = (kind < 0.65) & (deg > 0)
        same_gem = ~to_bur & (kind < 0.85)
        anywhere = ~to_bur & ~same_gem
        new = cur.copy()
        new[to_bur] = geo.nb_idx[geo.nb_ptr[cur[to_bur]] + (u[to_bur] * deg[to_bur]).astype(int)]
        g = geo.gem[cur[same_gem]]
        size = geo.gw_ptr[g + 1] - geo.gw_ptr[g]
        new[same_gem] = geo.gw_idx[geo.gw_ptr[g] + (u[same_gem] * size).astype(int)]
        new[anywhere] = draw(rng, p_wijk, int(anywhere.sum()))
        wijk[col, movers] = new
    in_po = np.zeros((n_years, n), bool)
    po = np.flatnonzero(~people.adult & ~people.no_po & (people.cohort >= SCHOOLJAREN[0]))
    in_po[people.cohort[po] - SCHOOLJAREN[0], po] = True
    enrolled = in_po | (c.vo_niv >= 0) | (c.mbo > 0)
    p_gap = np.where(people.adult, 3 * NO_ADRES_SHARE, NO_ADRES_SHARE)
    return Addresses(wijk=wijk, adres=enrolled & ~(rng.random((n_years, n)) < p_gap))
