"""Stage 4, school careers: one vectorised step per school year moves every pupil at once.

Through vo (brugklas with combined classes, zittenblijven, op- and afstroom, exams), mbo
(levels, diplomas) and hbo/wo. The state of every pupil lives in a few arrays (``_State``);
each part of a school year is a function of that state, run in a fixed order so that the
random streams, and so the output, stay the same for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kansenkluis.synth.calibration import (
    ADULT_TO_HBO,
    BRUGKLAS_ENTRY,
    CUTS,
    EXAM_FAIL_REPEAT,
    EXAM_PASS,
    FIRST_COHORT,
    HAVO_TO_VWO,
    LAST_COHORT,
    MBO_DROPOUT,
    MBO_ENTRY,
    MBO_PASS,
    SCHOOLJAREN,
    SPLIT_SHIFT,
    STAPELEN_MBO_BASE,
    STAPELEN_VO_BASE,
    VO_DOWN,
    VO_LEAVE,
    VO_UP,
    VO_ZIT,
)
from kansenkluis.synth.codes import (
    BK,
    DOWN,
    FINAL_LJ,
    GTH,
    HAVO,
    HBO,
    HI,
    HV,
    KGT,
    LO,
    PRO,
    RANK,
    SINGLE,
    UP,
    VWO,
    WO,
)
from kansenkluis.synth.groep8 import Groep8
from kansenkluis.synth.people import People
from kansenkluis.synth.sampling import logit, pick, sigmoid

# Phases of a person's school career.
_WAITING, _VO, _MBO, _HO, _GONE = 0, 1, 2, 3, 9

# Where a pupil who leaves vo comes from: the row of MBO_ENTRY (calibration.py).
_O_PRO = 0
_O_DROPOUT = 1  # + rank of the vo level left without a diploma (1-5)
_O_DIPLOMA = 6  # + rank of the passed exam (6-10)
_O_ADULT = 11


@dataclass(frozen=True)
class Careers:
    """Per written school year (rows, SCHOOLJAREN order) and pupil (columns)."""

    vo_niv: np.ndarray  # class position, -1 not in vo
    vo_lj: np.ndarray
    ex_niv: np.ndarray  # exam level position, -1 no exam
    ex_pass: np.ndarray
    mbo: np.ndarray  # mbo level, 0 not in mbo
    mbo_dipl: np.ndarray  # mbo diploma level, 0 none
    ho: np.ndarray  # HBO / WO, -1 none


@dataclass
class _State:
    """Where every pupil is now (changed in place, year by year), and the random stream."""

    rng: np.random.Generator
    z: np.ndarray  # ability
    ses: np.ndarray
    adult: np.ndarray
    phase: np.ndarray
    niv: np.ndarray  # vo class position
    lj: np.ndarray  # vo leerjaar
    mlev: np.ndarray  # mbo level, year in it and its duration
    myear: np.ndarray
    mdur: np.ndarray
    hsoort: np.ndarray  # HBO / WO, year in it and its duration
    hyear: np.ndarray
    hdur: np.ndarray

    @classmethod
    def start(cls, people: People, rng: np.random.Generator) -> _State:
        n = people.n
        return cls(
            rng=rng,
            z=people.ability.astype(float),
            ses=people.ses,
            adult=people.adult,
            phase=np.full(n, _WAITING, np.int8),
            niv=np.full(n, -1, np.int8),
            lj=np.zeros(n, np.int8),
            mlev=np.zeros(n, np.int8),
            myear=np.zeros(n, np.int8),
            mdur=np.zeros(n, np.int8),
            hsoort=np.full(n, -1, np.int8),
            hyear=np.zeros(n, np.int8),
            hdur=np.zeros(n, np.int8),
        )


def simulate_careers(people: People, groep8: Groep8, rng: np.random.Generator) -> Careers:
    """Every school year from the first cohort's brugklas to the last written year."""
    n, n_years = people.n, len(SCHOOLJAREN)
    c = Careers(
        vo_niv=np.full((n_years, n), -1, np.int8),
        vo_lj=np.zeros((n_years, n), np.int8),
        ex_niv=np.full((n_years, n), -1, np.int8),
        ex_pass=np.zeros((n_years, n), bool),
        mbo=np.zeros((n_years, n), np.int8),
        mbo_dipl=np.zeros((n_years, n), np.int8),
        ho=np.full((n_years, n), -1, np.int8),
    )
    brugklas = pick(rng, BRUGKLAS_ENTRY, groep8.definitief).astype(np.int8)
    s = _State.start(people, rng)
    for year in range(FIRST_COHORT + 1, LAST_COHORT + 1):
        col = year - SCHOOLJAREN[0]
        _enter(s, people, brugklas, year)
        vo = np.flatnonzero(s.phase == _VO)
        mb = np.flatnonzero(s.phase == _MBO)
        hs = np.flatnonzero(s.phase == _HO)
        if col >= 0:
            c.vo_niv[col, vo], c.vo_lj[col, vo] = s.niv[vo], s.lj[vo]
            c.mbo[col, mb] = s.mlev[mb]
            c.ho[col, hs] = s.hsoort[hs]
        _vo_year(s, c, col, vo)
        _mbo_year(s, c, col, mb)
        _ho_year(s, hs)
    return c


# --- moves between phases ----------------------------------------------------------------------


def _start_mbo(s: _State, idx: np.ndarray, origin: np.ndarray | int) -> None:
    rows = np.broadcast_to(np.asarray(origin), idx.shape)
    level = (pick(s.rng, MBO_ENTRY, rows) + 1).astype(np.int8)
    _start_level(s, idx, level)


def _start_level(s: _State, idx: np.ndarray, level: np.ndarray) -> None:
    u = s.rng.random(len(idx))
    dur = np.select(
        [level == 1, level == 2, level == 3],
        [1, 2, np.where(u < 0.7, 3, 2)],
        np.where(u < 0.55, 4, 3),
    )
    s.phase[idx], s.mlev[idx], s.myear[idx], s.mdur[idx] = _MBO, level, 1, dur


def _start_ho(s: _State, idx: np.ndarray, soort: int) -> None:
    s.phase[idx], s.hsoort[idx], s.hyear[idx] = _HO, soort, 1
    s.hdur[idx] = 4 if soort == HBO else 5


def _leave_vo(s: _State, idx: np.ndarray, origin: np.ndarray, p_mbo: float) -> None:
    to_mbo = s.rng.random(len(idx)) < p_mbo
    _start_mbo(s, idx[to_mbo], origin[to_mbo])
    s.phase[idx[~to_mbo]] = _GONE


def _enter(s: _State, people: People, brugklas: np.ndarray, year: int) -> None:
    """1 October of ``year``: last year's groep 8 enters the brugklas, adults enter mbo."""
    new = np.flatnonzero(~s.adult & (people.cohort == year - 1))
    s.phase[new], s.niv[new], s.lj[new] = _VO, brugklas[new], 1
    _start_mbo(s, np.flatnonzero(s.adult & (people.mbo_entry == year)), _O_ADULT)


# --- vo ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VoYear:
    """The vo pupils of one school year as they were at its start."""

    idx: np.ndarray
    niv: np.ndarray
    lj: np.ndarray
    rank: np.ndarray  # RANK of the class, -1 for pro and combined classes
    single: np.ndarray
    zc: np.ndarray  # ability relative to the others at the same level this year
    ses: np.ndarray
    final: np.ndarray  # in the last leerjaar of the class
    u: np.ndarray  # one uniform draw each, shared by the exclusive outcomes of the year


def _vo_year(s: _State, c: Careers, col: int, vo: np.ndarray) -> None:
    """Exams, pro leavers, the bovenbouw and the onderbouw, in that order."""
    v_niv, v_lj = s.niv[vo], s.lj[vo]
    rank = RANK[v_niv]
    single = rank >= 0
    # ability relative to the others at the same level this year
    r = np.where(single, rank, 0)
    z = s.z[vo]
    cnt = np.bincount(r[single], minlength=5).astype(float)
    mu = np.bincount(r[single], weights=z[single], minlength=5) / np.maximum(cnt, 1)
    sq = np.bincount(r[single], weights=z[single] ** 2, minlength=5)
    sd = np.sqrt(np.maximum(sq / np.maximum(cnt, 1) - mu**2, 1e-6))
    v = _VoYear(
        idx=vo,
        niv=v_niv,
        lj=v_lj,
        rank=rank,
        single=single,
        zc=np.where(single, (z - mu[r]) / sd[r], 0.0),
        ses=s.ses[vo],
        final=v_lj >= FINAL_LJ[v_niv],
        u=s.rng.random(len(vo)),
    )
    _exams(s, c, col, v)
    _pro(s, v)
    _bovenbouw(s, v)
    _onderbouw(s, v)


def _exams(s: _State, c: Careers, col: int, v: _VoYear) -> None:
    """Exams in the final year of a single level, and where the candidates go next."""
    ex = v.single & v.final
    e_idx, e_rank, e_zc = v.idx[ex], v.rank[ex], v.zc[ex]
    passed = s.rng.random(len(e_idx)) < sigmoid(logit(EXAM_PASS[e_rank]) + 0.6 * e_zc)
    if col >= 0:
        c.ex_niv[col, e_idx] = SINGLE[e_rank]
        c.ex_pass[col, e_idx] = passed
    ue = v.u[ex]
    # passed vmbo: mbo, except the vmbo_gt pupils who stack on to havo 4
    gt = passed & (e_rank == 2)
    stapel = gt & (ue < sigmoid(logit(STAPELEN_VO_BASE) + 0.9 * e_zc + 0.35 * v.ses[ex]))
    s.niv[e_idx[stapel]], s.lj[e_idx[stapel]] = HAVO, 4
    vmbo_out = passed & (e_rank <= 2) & ~stapel
    _leave_vo(s, e_idx[vmbo_out], _O_DIPLOMA + e_rank[vmbo_out], 0.95)
    # passed havo: a few stack on to vwo 5, most go to hbo, some to mbo
    havo = passed & (e_rank == 3)
    to_vwo = havo & (ue < HAVO_TO_VWO)
    s.niv[e_idx[to_vwo]], s.lj[e_idx[to_vwo]] = VWO, 5
    _start_ho(s, e_idx[havo & (ue >= HAVO_TO_VWO) & (ue < HAVO_TO_VWO + 0.72)], HBO)
    h_mbo = havo & (ue >= HAVO_TO_VWO + 0.72) & (ue < HAVO_TO_VWO + 0.85)
    _start_mbo(s, e_idx[h_mbo], _O_DIPLOMA + 3)
    s.phase[e_idx[havo & (ue >= HAVO_TO_VWO + 0.85)]] = _GONE
    # passed vwo: wo or hbo
    vwo = passed & (e_rank == 4)
    _start_ho(s, e_idx[vwo & (ue < 0.68)], WO)
    _start_ho(s, e_idx[vwo & (ue >= 0.68) & (ue < 0.90)], HBO)
    s.phase[e_idx[vwo & (ue >= 0.90)]] = _GONE
    # failed: most repeat the exam year, some vwo pupils move to havo 5, the rest leave
    failed = ~passed
    uf = s.rng.random(len(e_idx))
    repeat = failed & (uf < EXAM_FAIL_REPEAT)  # state unchanged
    to_havo5 = failed & ~repeat & (e_rank == 4) & (uf < EXAM_FAIL_REPEAT + 0.12)
    s.niv[e_idx[to_havo5]], s.lj[e_idx[to_havo5]] = HAVO, 5
    f_leave = failed & ~repeat & ~to_havo5
    _leave_vo(s, e_idx[f_leave], _O_DROPOUT + e_rank[f_leave], 0.85)


def _pro(s: _State, v: _VoYear) -> None:
    """pro ends after leerjaar 5 without a central exam."""
    pro = v.niv == PRO
    _leave_vo(s, v.idx[pro & v.final], np.full(int((pro & v.final).sum()), _O_PRO), 0.45)
    s.lj[v.idx[pro & ~v.final]] += 1


def _bovenbouw(s: _State, v: _VoYear) -> None:
    """A non-exam bovenbouw year: opstroom, afstroom, zittenblijven, leaving, or on."""
    bb = v.single & ~v.final & (v.lj >= 3)
    b_idx, b_rank, b_zc, b_s, ub = v.idx[bb], v.rank[bb], v.zc[bb], v.ses[bb], v.u[bb]
    p_up = VO_UP[b_rank] * np.exp(0.5 * b_zc + 0.3 * b_s - 0.17)
    p_down = VO_DOWN[b_rank] * np.exp(-0.5 * b_zc - 0.3 * b_s - 0.17)
    p_zit = VO_ZIT[b_rank] * np.exp(-0.3 * b_zc - 0.15 * b_s - 0.056)
    p_leave = VO_LEAVE[b_rank] * np.exp(-0.5 * b_zc - 0.3 * b_s - 0.17)
    c1 = p_up
    c2 = c1 + p_down
    c3 = c2 + p_zit
    c4 = c3 + p_leave
    up, down = ub < c1, (ub >= c1) & (ub < c2)
    # c2 <= u < c3: zittenblijven, niveau and leerjaar stay as they are
    out = (ub >= c3) & (ub < c4)
    on = ub >= c4
    b_niv, b_lj = v.niv[bb], v.lj[bb]
    up_niv = UP[b_niv]
    # into havo or vwo at the same leerjaar; within vmbo one leerjaar on
    up_lj = np.where(up_niv >= HAVO, b_lj, b_lj + 1)
    s.niv[b_idx[up]], s.lj[b_idx[up]] = up_niv[up], up_lj[up]
    down_niv = DOWN[b_niv]
    down_lj = np.minimum(b_lj + 1, FINAL_LJ[np.maximum(down_niv, 0)])
    s.niv[b_idx[down]], s.lj[b_idx[down]] = down_niv[down], down_lj[down]
    _leave_vo(s, b_idx[out], _O_DROPOUT + b_rank[out], 0.85)
    s.lj[b_idx[on]] += 1


def _mid_cuts() -> np.ndarray:
    """Ability cut at which a combined brugklas splits to its higher level, per class."""
    cut = np.zeros(10)
    for comb in (BK, KGT, GTH, HV):
        cut[comb] = (CUTS[comb - 1] + CUTS[comb]) / 2 + SPLIT_SHIFT
    return cut


_MID_CUT = _mid_cuts()


def _onderbouw(s: _State, v: _VoYear) -> None:
    """Leerjaar 1-2: combined classes split by ability, singles move a little."""
    ob = (v.niv != PRO) & (v.lj <= 2)
    o_idx, o_niv, o_lj, o_u = v.idx[ob], v.niv[ob], v.lj[ob], v.u[ob]
    comb = RANK[o_niv] < 0
    keep = comb & (o_lj == 1) & (o_u < 0.55)
    split = comb & ~keep
    hi = s.z[o_idx] + 0.35 * s.rng.normal(size=len(o_idx)) > _MID_CUT[o_niv]
    s.niv[o_idx[split]] = np.where(hi, HI[o_niv], LO[o_niv])[split]
    s.lj[o_idx[comb]] += 1
    o_single = ~comb
    o_zc = v.zc[ob]
    o_up = o_single & (UP[o_niv] >= 0) & (o_u < 0.03 * np.exp(0.5 * o_zc - 0.12))
    o_down = o_single & ~o_up & (DOWN[o_niv] >= 0) & (o_u > 1 - 0.035 * np.exp(-0.5 * o_zc - 0.12))
    o_rep = o_single & ~o_up & ~o_down & (o_u >= 0.5) & (o_u < 0.515)
    s.niv[o_idx[o_up]] = UP[o_niv][o_up]
    s.niv[o_idx[o_down]] = DOWN[o_niv][o_down]
    s.lj[o_idx[o_single & ~o_rep]] += 1


# --- mbo and ho --------------------------------------------------------------------------------


def _mbo_year(s: _State, c: Careers, col: int, mb: np.ndarray) -> None:
    """Dropout or the next year; in the final year a diploma, then a next level, hbo or out."""
    fin = s.myear[mb] >= s.mdur[mb]
    nf, f = mb[~fin], mb[fin]
    drop = s.rng.random(len(nf)) < MBO_DROPOUT * np.where(s.adult[nf], 1.4, 1.0)
    s.phase[nf[drop]] = _GONE
    s.myear[nf[~drop]] += 1
    f_lev = s.mlev[f]
    ok = s.rng.random(len(f)) < sigmoid(logit(MBO_PASS) + 0.5 * s.z[f])
    if col >= 0:
        c.mbo_dipl[col, f[ok]] = f_lev[ok]
    uf = s.rng.random(len(f))
    f_adult = s.adult[f]
    p_hbo = np.where(
        f_adult,
        ADULT_TO_HBO,
        sigmoid(logit(STAPELEN_MBO_BASE) + 0.8 * s.z[f] + 0.3 * s.ses[f]),
    )
    next_level = np.select(
        [
            (f_lev == 1) & (uf < 0.55),
            (f_lev == 2) & (uf < 0.25),
            (f_lev == 2) & (uf < 0.40),
            (f_lev == 3) & (uf < 0.20),
        ],
        [2, 3, 4, 4],
        0,
    ).astype(np.int8)
    cont = ok & (next_level > 0)
    _start_level(s, f[cont], next_level[cont])
    hbo = ok & (f_lev == 4) & (uf < p_hbo)
    _start_ho(s, f[hbo], HBO)
    s.phase[f[ok & ~cont & ~hbo]] = _GONE
    s.phase[f[~ok & (uf >= 0.5)]] = _GONE  # the others repeat the final year


def _ho_year(s: _State, hs: np.ndarray) -> None:
    """Some quit after the first year; the others go on until their programme's length."""
    hsoort, hyear = s.hsoort[hs], s.hyear[hs]
    quit_ho = (hyear == 1) & (s.rng.random(len(hs)) < np.where(hsoort == HBO, 0.15, 0.08))
    done = quit_ho | (hyear >= s.hdur[hs])
    s.phase[hs[done]] = _GONE
    s.hyear[hs[~done]] += 1
