"""Stage 7, rates: the national indicator percentages of docs/indicators.md, from the simulation.

They go into the summary of ``generate`` next to the calibration ``TARGETS``; the tests
recompute them from the written tables independently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kansenkluis.domain import PARENT_GROUPS
from kansenkluis.synth.addresses import Addresses
from kansenkluis.synth.calibration import SCHOOLJAREN
from kansenkluis.synth.careers import Careers
from kansenkluis.synth.codes import GT, HAVO, HBO, HV, ONBEKEND, RANK, VWO
from kansenkluis.synth.groep8 import Groep8
from kansenkluis.synth.people import People


@dataclass(frozen=True)
class Rates:
    """National percentages by indicator key, and the reference years each pools."""

    rates: Mapping[str, float]
    years: Mapping[str, tuple[int, ...]]


def _pct(num: int, den: int) -> float:
    return round(100.0 * num / den, 2) if den else float("nan")


def national_rates(people: People, groep8: Groep8, c: Careers, addresses: Addresses) -> Rates:
    """The national indicator percentages of docs/indicators.md, pooled over reference years."""
    y0 = SCHOOLJAREN[0]
    with_next = SCHOOLJAREN[:-1]
    rates: dict[str, float] = {}
    years: dict[str, tuple[int, ...]] = {}

    po = np.flatnonzero(~people.adult & ~people.no_po & (people.cohort >= y0))
    po = po[addresses.adres[people.cohort[po] - y0, po]]
    school, toets, final = groep8.schooladvies[po], groep8.toetsadvies[po], groep8.definitief[po]
    tested = toets >= 0
    her = tested & (toets > school)
    rates["heroverweging"] = _pct(int(her.sum()), int(tested.sum()))
    rates["bijstelling"] = _pct(int((her & (final > school)).sum()), int(her.sum()))
    years["heroverweging"] = years["bijstelling"] = SCHOOLJAREN

    counts: dict[str, list[int]] = {}

    def add(key: str, num: int, den: int) -> None:
        tot = counts.setdefault(key, [0, 0])
        tot[0] += num
        tot[1] += den

    origin_of_rank = np.array(["vmbo", "vmbo", "vmbo", "havo", "vwo"])
    for t in with_next:
        col = t - y0
        here = addresses.adres[col]
        gt = here & (c.ex_niv[col] == GT) & c.ex_pass[col]
        add("stapelen_vo", int((gt & (c.vo_niv[col + 1] == HAVO)).sum()), int(gt.sum()))
        m4 = here & (c.mbo_dipl[col] == 4)
        add("stapelen_mbo", int((m4 & (c.ho[col + 1] == HBO)).sum()), int(m4.sum()))

        now, nxt = c.vo_niv[col], c.vo_niv[col + 1]
        rank_now = np.where(now >= 0, RANK[np.maximum(now, 0)], -1)
        rank_nxt = np.where(nxt >= 0, RANK[np.maximum(nxt, 0)], -1)
        passed_now = (c.ex_niv[col] >= 0) & c.ex_pass[col]
        pop = here & (rank_now >= 0) & (c.vo_lj[col] >= 3) & ~passed_now & (nxt >= 0)
        op = pop & (rank_nxt > rank_now)
        af = pop & (rank_nxt >= 0) & (rank_nxt < rank_now)
        zit = pop & (nxt == now) & (c.vo_lj[col + 1] == c.vo_lj[col])
        for origin in ("vmbo", "havo", "vwo"):
            grp = pop & (origin_of_rank[np.maximum(rank_now, 0)] == origin)
            den = int(grp.sum())
            for name, hit in (("opstroom", op), ("afstroom", af), ("zittenblijven", zit)):
                if name == "opstroom" and origin == "vwo":
                    continue
                add(f"{name}.{origin}", int((grp & hit).sum()), den)
                add(name, int((grp & hit).sum()), den)
    for key in ("stapelen_vo", "stapelen_mbo", "opstroom", "afstroom", "zittenblijven"):
        for k in [k for k in counts if k == key or k.startswith(key + ".")]:
            rates[k] = _pct(*counts[k])
            years[k] = with_next

    for t in SCHOOLJAREN:
        col = t - y0
        age = t - people.birth_year - (people.birth_month >= 10)
        pop14 = addresses.adres[col] & (age == 14) & (c.vo_niv[col] >= 0)
        hv = pop14 & np.isin(c.vo_niv[col], (HAVO, HV, VWO))
        add("opleidingsmobiliteit", int(hv.sum()), int(pop14.sum()))
        for gi, gname in enumerate(PARENT_GROUPS):
            in_group = pop14 & (people.group == gi)
            add(f"opleidingsmobiliteit.{gname}", int((hv & in_group).sum()), int(in_group.sum()))
        add("ouders_onbekend", int((pop14 & (people.group == ONBEKEND)).sum()), int(pop14.sum()))
    for k in [k for k in counts if k.startswith("opleidingsmobiliteit")] + ["ouders_onbekend"]:
        rates[k] = _pct(*counts[k])
        years[k] = SCHOOLJAREN
    return Rates(rates, years)
