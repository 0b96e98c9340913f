"""Realistic synthetic microdata in the input-table format (docs/input-tables.md) (``kluis synth``).

The generator simulates people, not tables (``docs/synthetic-data.md`` has the full story and
the rates it produces):

1. **Geography.** The shipped CBS 2025 gemeenten and wijken. Every wijk gets a size (children
   per birth cohort, heavily skewed) and a latent SES score that is smooth in space: it has a
   COROP, a gemeente and a wijk component and is averaged with its ``buren``.
2. **Persons.** Birth cohorts of children (named by the school year in which they sit in
   groep 8), a few pupils who enter vo without a groep-8 record, adults who enrol in mbo, and
   the parents of all of them. Parents' education follows the family's SES; a child's latent
   ability follows the parents' education and the wijk.
3. **School careers.** One vectorised step per school year moves every pupil at once through
   groep 8 (schooladvies, toetsadvies, heroverweging, bijstelling), vo (brugklas with combined
   classes, zittenblijven, op- and afstroom, exams), mbo (levels, diplomas) and hbo/wo.
4. **Tables.** The states of school years 2018-2023 become the 11 input tables.

There are no per-pupil Python loops: the national scale (about 11 million persons) is a few
dozen numpy operations per school year. Everything is drawn from ``seed`` through a fixed
tree of ``numpy.random.SeedSequence`` streams, so the same seed gives byte-identical output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kansenkluis.config import GEO_ATTRIBUTION, geo_dir
from kansenkluis.domain import (
    ADVICE_CODES,
    EXAM_LEVELS,
    INPUT_TABLES,
    OPLEIDINGSNIVEAUS,
    PARENT_GROUP,
    PARENT_GROUPS,
)
from kansenkluis.errors import InternalError, UsageError

SCALES: tuple[str, ...] = ("small", "national")
FORMATS: tuple[str, ...] = ("parquet", "csv", "sav")
#: ``spec``: one file per input table; ``cbs``: the CBS remote-access files (synth_cbs.py)
LAYOUTS: tuple[str, ...] = ("spec", "cbs")

#: School years written to the tables (2022 means 2022/23); t+1 exists for t up to 2022.
SCHOOLJAREN: tuple[int, ...] = tuple(range(2018, 2024))
#: Groep-8 years of the oldest and youngest simulated cohort. The oldest cohorts only show up
#: in mbo (and late vo) from 2018 on, but they must be simulated from groep 8 so that their
#: mbo level and timing follow from a vo career.
FIRST_COHORT = 2006
LAST_COHORT = SCHOOLJAREN[-1]
#: Adults enrol in mbo from this year on, so that 2018 already has a steady state.
FIRST_ADULT_ENTRY = 2012

#: Calibration targets at national level, in percent (see docs/synthetic-data.md).
TARGETS: Mapping[str, float] = {
    "heroverweging": 35.0,
    "bijstelling": 20.0,
    "stapelen_vo": 17.0,
    "stapelen_mbo": 38.0,
    "zittenblijven.vmbo": 4.0,
    "zittenblijven.havo": 9.0,
    "zittenblijven.vwo": 4.5,
    "opleidingsmobiliteit": 45.0,
    "opleidingsmobiliteit.max_mbo2": 20.0,
    "opleidingsmobiliteit.mbo3_4": 40.0,
    "opleidingsmobiliteit.hoger_onderwijs": 70.0,
    "ouders_onbekend": 10.0,
}

# --- scale -----------------------------------------------------------------------------------

#: Groep-8 pupils (with a po_advies row) per school year at national scale.
NATIONAL_GROEP8 = 175_000
#: Inhabitants of the Netherlands, to turn gemeente populations into cohort sizes.
NATIONAL_POPULATION = 17_900_000
#: Share of each cohort that enters vo without a groep-8 record (arrived from abroad, special
#: education); they make vo larger than groep 8, as in the real registers.
NO_PO_SHARE = 0.09
#: Adults (19+) who start an mbo programme per school year at national scale (mostly bbl).
NATIONAL_ADULT_MBO = 56_000

#: Approximate population (rounded) of the largest gemeenten, so that the national picture
#: has its big cities where a Dutch reader expects them. Other gemeenten get a modelled size
#: from their area and number of wijken. Synthetic realism only, not a statistic.
APPROX_POPULATION: Mapping[str, int] = {
    "GM0363": 930_000,  # Amsterdam
    "GM0599": 670_000,  # Rotterdam
    "GM0518": 560_000,  # 's-Gravenhage
    "GM0344": 370_000,  # Utrecht
    "GM0772": 240_000,  # Eindhoven
    "GM0014": 240_000,  # Groningen
    "GM0855": 230_000,  # Tilburg
    "GM0034": 220_000,  # Almere
    "GM0758": 185_000,  # Breda
    "GM0268": 180_000,  # Nijmegen
    "GM0200": 165_000,  # Apeldoorn
    "GM0202": 165_000,  # Arnhem
    "GM0392": 165_000,  # Haarlem
    "GM0394": 160_000,  # Haarlemmermeer
    "GM0307": 160_000,  # Amersfoort
    "GM0153": 160_000,  # Enschede
    "GM0479": 160_000,  # Zaanstad
    "GM0796": 160_000,  # 's-Hertogenbosch
    "GM0193": 130_000,  # Zwolle
    "GM0546": 128_000,  # Leiden
    "GM0637": 126_000,  # Zoetermeer
    "GM0080": 125_000,  # Leeuwarden
    "GM0935": 122_000,  # Maastricht
    "GM0505": 120_000,  # Dordrecht
    "GM0228": 120_000,  # Ede
    "GM0917": 87_000,  # Heerlen
    "GM1883": 91_000,  # Sittard-Geleen
}

#: ``small``: five real gemeenten in two COROP regions and their groep-8 pupils per year
#: (about 60% of the real size, so that a real part of the wijken has 10+ pupils per
#: indicator per year while generation stays under a few seconds).
MAX_MODELLED_POPULATION = 118_000
#: children per cohort in the largest wijk (about 60,000 inhabitants)
WIJK_MAX_COHORT = 650.0

SMALL_GROEP8: Mapping[str, int] = {
    "GM0917": 480,  # Heerlen (Zuid-Limburg)
    "GM1883": 500,  # Sittard-Geleen (Zuid-Limburg)
    "GM0882": 200,  # Landgraaf (Zuid-Limburg)
    "GM0957": 340,  # Roermond (Midden-Limburg)
    "GM1711": 190,  # Echt-Susteren (Midden-Limburg)
}
#: Pupil-weighted mean SES of each small region (Zuid- and Midden-Limburg sit a little below
#: the national average).
SMALL_REGION_SES = -0.15
#: Adults starting mbo per year at small scale (same share of the cohort as nationally).
SMALL_ADULT_SHARE = NATIONAL_ADULT_MBO / NATIONAL_GROEP8

# --- codes as small integers -----------------------------------------------------------------

PRO, B, BK, K, KGT, GT, GTH, HAVO, HV, VWO = range(10)
_SINGLE = np.array([B, K, GT, HAVO, VWO])
#: rank index 0-4 of a single level (vmbo_b ... vwo), -1 for pro and combined classes
_RANK = np.full(10, -1, np.int8)
_RANK[_SINGLE] = np.arange(5)
_UP = np.full(10, -1, np.int8)
_UP[[B, K, GT, HAVO]] = [K, GT, HAVO, VWO]
_DOWN = np.full(10, -1, np.int8)
_DOWN[[K, GT, HAVO, VWO]] = [B, K, GT, HAVO]
#: the two single levels a combined brugklas splits into
_LO = np.full(10, -1, np.int8)
_HI = np.full(10, -1, np.int8)
_LO[[BK, KGT, GTH, HV]] = [B, K, GT, HAVO]
_HI[[BK, KGT, GTH, HV]] = [K, GT, HAVO, VWO]
#: last leerjaar per class: the exam year of a single level, the last pro year; combined
#: classes only exist in leerjaar 1-2 so their value is never reached
_FINAL_LJ = np.array([5, 4, 9, 4, 9, 4, 9, 5, 9, 6], np.int8)

HBO, WO = 0, 1
_SOORT = ("hbo", "wo")

# Phases of a person's school career.
_WAITING, _VO, _MBO, _HO, _GONE = 0, 1, 2, 3, 9

# --- calibration knobs (tuned so that the national rates land near TARGETS) -------------------

#: Shares of the ten schooladvies codes (DUO-like), in advice position order.
SCHOOLADVIES_SHARE = (0.03, 0.09, 0.05, 0.085, 0.05, 0.18, 0.09, 0.135, 0.095, 0.195)
_CUTS = np.array([NormalDist().inv_cdf(c) for c in np.cumsum(SCHOOLADVIES_SHARE)[:-1]])
#: Brugklas given the definitive advice: row = advice position, column = class position.
_ENTRY = np.array(
    [
        # pro   b     bk    k     kgt   gt    gth   havo  hv    vwo
        [1.00, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0.75, 0.25, 0, 0, 0, 0, 0, 0, 0],
        [0, 0.25, 0.60, 0.15, 0, 0, 0, 0, 0, 0],
        [0, 0, 0.15, 0.60, 0.25, 0, 0, 0, 0, 0],
        [0, 0, 0, 0.20, 0.55, 0.25, 0, 0, 0, 0],
        [0, 0, 0, 0, 0.15, 0.55, 0.30, 0, 0, 0],
        [0, 0, 0, 0, 0, 0.25, 0.60, 0.15, 0, 0],
        [0, 0, 0, 0, 0, 0, 0.15, 0.45, 0.40, 0],
        [0, 0, 0, 0, 0, 0, 0, 0.20, 0.65, 0.15],
        [0, 0, 0, 0, 0, 0, 0, 0, 0.25, 0.75],
    ]
)
#: Highest education of a parent (OPLEIDINGSNIVEAUS order), before family SES shifts it.
PARENT_LEVEL_SHARE = (0.16, 0.05, 0.14, 0.09, 0.20, 0.08, 0.19, 0.09)
_PARENT_CUTS = np.array([NormalDist().inv_cdf(c) for c in np.cumsum(PARENT_LEVEL_SHARE)[:-1]])
_PARENT_GROUP_INDEX = np.array(
    [PARENT_GROUPS.index(PARENT_GROUP[lvl]) for lvl in OPLEIDINGSNIVEAUS], np.int8
)
_ONBEKEND = PARENT_GROUPS.index("onbekend")

# a child's latent ability: weight of the parents' (true) education and of the wijk's SES
ABILITY_PARENTS = 0.60
ABILITY_SES = 0.22
ABILITY_PARENTS_SQ = 0.10

# groep 8: test advice sits above the school advice (heroverweging), more so in low-SES wijken
TOETS_SHIFT = 0.04
SCHOOL_NOISE = 0.42
TOETS_NOISE = 0.42
SCHOOL_SES_BIAS = 0.15
TOETS_MISSING = 0.025
TOETS_MISSING_PRO = 0.60
BIJSTELLING_BASE = -1.75

# vo, per single rank (vmbo_b, vmbo_k, vmbo_gt, havo, vwo), in a non-exam bovenbouw year
VO_UP = np.array([0.035, 0.035, 0.020, 0.022, 0.0])
VO_DOWN = np.array([0.0, 0.020, 0.025, 0.035, 0.060])
VO_ZIT = np.array([0.010, 0.012, 0.012, 0.055, 0.030])
VO_LEAVE = np.array([0.030, 0.030, 0.020, 0.020, 0.008])
EXAM_PASS = np.array([0.98, 0.96, 0.93, 0.87, 0.90])
EXAM_FAIL_REPEAT = 0.50
STAPELEN_VO_BASE = 0.13
HAVO_TO_VWO = 0.04
#: combined brugklassen split a little more often to the lower level than the advice suggests
SPLIT_SHIFT = 0.2

# mbo
MBO_DROPOUT = 0.06
MBO_PASS = 0.85
STAPELEN_MBO_BASE = 0.57
ADULT_TO_HBO = 0.10


@dataclass(frozen=True)
class SynthSummary:
    """What ``generate`` wrote: scale, seed, years, rows per table and national rates.

    ``rates`` holds national percentages computed from the generated data exactly as
    docs/indicators.md defines the indicators, pooled over the reference years in
    ``rate_years`` (pupils without an ``adres`` row in the reference year left out). Keys are
    indicator ids, with ``.<breakdown>`` for breakdowns, plus ``ouders_onbekend`` (share of
    14-year-olds whose parents' education is unknown). The ``opstroom`` total pools vmbo and
    havo (a vwo pupil cannot go up); ``afstroom`` and ``zittenblijven`` pool all three origins.
    ``TARGETS`` holds the calibration targets.
    """

    scale: str
    seed: int
    fmt: str
    out: Path
    years: tuple[int, ...]
    rows: Mapping[str, int]
    rates: Mapping[str, float]
    rate_years: Mapping[str, tuple[int, ...]]
    gemeenten: int
    wijken: int
    attribution: str = GEO_ATTRIBUTION


def generate(
    out: Path, scale: str = "small", seed: int = 0, fmt: str = "parquet", layout: str = "spec"
) -> SynthSummary:
    """Write the 11 input tables as ``<table>.<fmt>`` into ``out`` and summarise them.

    With ``layout`` ``cbs`` the same world is written as CBS remote-access ``.sav`` files
    instead (``kansenkluis.synth_cbs``); ``fmt`` is then ignored.
    """
    if layout not in LAYOUTS:
        raise UsageError(
            "SYNTH_UNKNOWN_LAYOUT", "--layout is not a known layout", hint="use spec or cbs"
        )
    if scale not in SCALES:
        raise UsageError(
            "SYNTH_UNKNOWN_SCALE", "--scale is not a known scale", hint="use small or national"
        )
    if fmt not in FORMATS:
        raise UsageError(
            "SYNTH_UNKNOWN_FORMAT", "--format is not a known format", hint="use parquet, csv or sav"
        )
    if seed < 0:
        raise UsageError("SYNTH_BAD_SEED", "--seed must not be negative", hint="use 0 or higher")
    streams = np.random.SeedSequence(seed).spawn(6)
    rng_geo, rng_people, rng_po, rng_careers, rng_adres, rng_out = (
        np.random.default_rng(s) for s in streams
    )
    geo = _geography(scale, rng_geo)
    people = _people(geo, rng_people)
    _groep8(people, geo, rng_po)
    careers = _careers(people, rng_careers)
    _addresses(people, careers, geo, rng_adres)
    tables = _tables(people, careers, geo, rng_out)
    rates, rate_years = _rates(people, careers)
    del people, careers  # only the tables are written: free the simulation's arrays first
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if layout == "cbs":
        from kansenkluis.synth_cbs import write_cbs

        # its own stream: the world (and the spec layout of it) stays the same for a seed
        write_cbs(tables, out, np.random.default_rng(np.random.SeedSequence(seed).spawn(7)[6]))
        fmt = "sav"
    for name, table in tables.items() if layout == "spec" else ():
        _write(table, out / f"{name}.{fmt}", fmt)
    return SynthSummary(
        scale=scale,
        seed=seed,
        fmt=fmt,
        out=out,
        years=SCHOOLJAREN,
        rows={name: t.num_rows for name, t in tables.items()},
        rates=rates,
        rate_years=rate_years,
        gemeenten=int(geo.frame["gemeentecode"].nunique()),
        wijken=len(geo.frame),
    )


# --- geography -------------------------------------------------------------------------------


@dataclass
class _Geo:
    frame: pd.DataFrame  # the docs/input-tables.md geografie table, sorted by wijkcode
    gem: np.ndarray  # wijk -> gemeente index (0..n_gem-1 of the selection)
    nb_ptr: np.ndarray  # buren as CSR
    nb_idx: np.ndarray
    gw_ptr: np.ndarray  # wijken of a gemeente as CSR (wijken are sorted by gemeente)
    gw_idx: np.ndarray
    ses: np.ndarray  # latent SES per wijk, pupil-weighted mean 0 and sd 1 nationally
    unknown: np.ndarray  # propensity for unknown parents' education, per wijk (from gemeente)
    cohort: np.ndarray  # expected children per birth cohort per wijk
    adults: float  # adults starting mbo per year in the selection


def _read_geo() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = geo_dir()
    gem = pd.read_csv(folder / "gemeenten.csv", dtype=str, keep_default_na=False)
    wijk = pd.read_csv(folder / "wijken.csv", dtype=str, keep_default_na=False)
    for frame in (gem, wijk):
        frame["area_km2"] = frame["area_km2"].astype(float)
    gem["aantal_wijken"] = gem["aantal_wijken"].astype(int)
    gem = gem.sort_values("gemeentecode", ignore_index=True)
    wijk = wijk.sort_values(["gemeentecode", "wijkcode"], ignore_index=True)
    return gem, wijk


def _csr(groups: np.ndarray, members: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(groups, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(groups, minlength=n), out=ptr[1:])
    return ptr, members[order]


def _geography(scale: str, rng: np.random.Generator) -> _Geo:
    """National SES and sizes first (so a wijk looks the same at both scales), then select."""
    gem, wijk = _read_geo()
    n_w, n_g = len(wijk), len(gem)
    gi = pd.Index(gem["gemeentecode"]).get_indexer(wijk["gemeentecode"])
    if (gi < 0).any():
        raise InternalError("SYNTH_GEO", "wijken.csv names a gemeente missing in gemeenten.csv")
    corop = pd.factorize(gem["corop_code"], sort=True)[0]

    buren = wijk["buren"].str.split(";").explode()
    buren = buren[buren != ""]
    src = buren.index.to_numpy()
    dst = pd.Index(wijk["wijkcode"]).get_indexer(buren.to_numpy())
    nb_ptr, nb_idx = _csr(src, dst, n_w)

    # Size: gemeente population (known for the largest, modelled for the rest), split over
    # its wijken by area and a heavy lognormal, so that many wijken are tiny.
    log_pop = (
        0.4 * np.log(gem["aantal_wijken"].to_numpy())
        + 0.2 * np.log(gem["area_km2"].to_numpy())
        + rng.normal(0, 0.5, n_g)
    )
    pop = np.exp(log_pop)
    known = gem["gemeentecode"].map(APPROX_POPULATION).to_numpy(dtype=float, na_value=np.nan)
    fixed = ~np.isnan(known)
    # every gemeente not in APPROX_POPULATION has fewer than about 120,000 inhabitants
    for _ in range(5):
        pop[~fixed] *= (NATIONAL_POPULATION - known[fixed].sum()) / pop[~fixed].sum()
        pop = np.minimum(pop, MAX_MODELLED_POPULATION)
    pop[fixed] = known[fixed]
    # Within a gemeente: a heavy (clipped) lognormal; area matters little, since a large wijk
    # is often rural or industrial land rather than many homes.
    w_raw = wijk["area_km2"].to_numpy() ** 0.1 * np.exp(np.clip(rng.normal(0, 0.9, n_w), -2.5, 1.5))
    share = w_raw / np.bincount(gi, weights=w_raw, minlength=n_g)[gi]
    children_per_cohort = NATIONAL_GROEP8 / (1 - NO_PO_SHARE)
    cohort = share * pop[gi] * children_per_cohort / NATIONAL_POPULATION
    # no wijk above WIJK_MAX_COHORT: the excess goes to the gemeente's other wijken
    for _ in range(5):
        excess = np.bincount(gi, weights=np.maximum(cohort - WIJK_MAX_COHORT, 0), minlength=n_g)
        cohort = np.minimum(cohort, WIJK_MAX_COHORT)
        room = np.where(cohort < WIJK_MAX_COHORT, cohort, 0.0)
        room_g = np.bincount(gi, weights=room, minlength=n_g)
        cohort += np.divide(excess[gi] * room, room_g[gi], out=np.zeros(n_w), where=room_g[gi] > 0)

    # Latent SES: COROP + gemeente + wijk, then averaged with the buren twice.
    raw = (
        0.35 * rng.normal(size=corop.max() + 1)[corop[gi]]
        + 0.55 * rng.normal(size=n_g)[gi]
        + 0.85 * rng.normal(size=n_w)
    )
    deg = np.diff(nb_ptr)
    src_rep = np.repeat(np.arange(n_w), deg)
    for _ in range(2):
        nb_sum = np.bincount(src_rep, weights=raw[nb_idx], minlength=n_w)
        nb_mean = np.divide(nb_sum, deg, out=raw.copy(), where=deg > 0)
        raw = 0.55 * raw + 0.45 * nb_mean
    mean = np.average(raw, weights=cohort)
    sd = np.sqrt(np.average((raw - mean) ** 2, weights=cohort))
    ses = (raw - mean) / sd

    # Unknown parents' education clusters by gemeente, with a few gemeenten far above the rest.
    unknown_g = rng.normal(0, 0.6, n_g) + np.where(rng.random(n_g) < 0.05, 1.6, 0.0)
    unknown = unknown_g[gi]

    if scale == "small":
        keep = wijk["gemeentecode"].isin(list(SMALL_GROEP8)).to_numpy()
        per_gem = gem["gemeentecode"].map(SMALL_GROEP8).fillna(0).to_numpy() / (1 - NO_PO_SHARE)
        cohort = share * per_gem[gi]
        adults = SMALL_ADULT_SHARE * sum(SMALL_GROEP8.values())
        # Re-centre each region on SMALL_REGION_SES: a whole region drawn far from average
        # would make the small rates (and its pooling) depend on the seed; the differences
        # between its gemeenten and wijken stay as drawn.
        region = corop[gi]
        mass = np.bincount(region, weights=cohort * keep, minlength=corop.max() + 1)
        mean_ses = np.bincount(region, weights=ses * cohort * keep, minlength=corop.max() + 1)
        ses = ses - np.divide(mean_ses, mass, out=np.zeros_like(mass), where=mass > 0)[region]
        ses = ses + SMALL_REGION_SES
    else:
        keep = np.ones(n_w, bool)
        adults = float(NATIONAL_ADULT_MBO)

    sel = np.flatnonzero(keep)
    new_index = np.full(n_w, -1)
    new_index[sel] = np.arange(len(sel))
    # buren never cross a gemeente border, so a selection of whole gemeenten keeps them all
    nb_src_new = new_index[src]
    nb_dst_new = new_index[dst]
    both = (nb_src_new >= 0) & (nb_dst_new >= 0)
    nb_ptr_s, nb_idx_s = _csr(nb_src_new[both], nb_dst_new[both], len(sel))
    gem_sel, gem_local = np.unique(gi[sel], return_inverse=True)
    gw_ptr, gw_idx = _csr(gem_local, np.arange(len(sel)), len(gem_sel))

    w = wijk.iloc[sel]
    g = gem.set_index("gemeentecode").loc[w["gemeentecode"]]
    frame = pd.DataFrame(
        {
            "wijkcode": w["wijkcode"].to_numpy(),
            "wijknaam": w["wijknaam"].to_numpy(),
            "gemeentecode": w["gemeentecode"].to_numpy(),
            "gemeentenaam": g["gemeentenaam"].to_numpy(),
            "regio": g["corop_naam"].to_numpy(),
            "buren": w["buren"].to_numpy(),
        }
    )
    return _Geo(
        frame=frame,
        gem=gem_local,
        nb_ptr=nb_ptr_s,
        nb_idx=nb_idx_s,
        gw_ptr=gw_ptr,
        gw_idx=gw_idx,
        ses=ses[sel],
        unknown=unknown[sel],
        cohort=cohort[sel],
        adults=adults,
    )


# --- persons ---------------------------------------------------------------------------------


@dataclass
class _People:
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
    # groep 8 (filled by _groep8)
    schooladvies: np.ndarray | None = None
    toetsadvies: np.ndarray | None = None
    definitief: np.ndarray | None = None
    po_school: np.ndarray | None = None
    vo_school: np.ndarray | None = None


def _draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws of an index with probabilities ``p`` (faster than ``rng.choice``)."""
    cum = np.cumsum(p)
    return np.minimum(
        np.searchsorted(cum, rng.random(size) * cum[-1], side="right"), len(p) - 1
    ).astype(np.int32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float | np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def _people(geo: _Geo, rng: np.random.Generator) -> _People:
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
    home = _draw(rng, p_wijk, n)
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
    parent_level = np.searchsorted(_PARENT_CUTS, latent).astype(np.int8)
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
    unknown_family = rng.random(n) < _sigmoid(-2.95 + geo.unknown[home] - 0.35 * ses)
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
    delay = np.where(rng.random(n) < _sigmoid(-2.2 - 0.6 * ability), 1, 0)
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
    group = np.where(best >= 0, _PARENT_GROUP_INDEX[np.maximum(best, 0)], _ONBEKEND)
    return _People(
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


# --- groep 8 ---------------------------------------------------------------------------------


def _groep8(people: _People, geo: _Geo, rng: np.random.Generator) -> None:
    """schooladvies, toetsadvies, advies_definitief, and the po and vo school of everyone.

    The school advice leans on the wijk's SES (schools advise pupils from low-SES wijken more
    cautiously); the test does not, so low-SES wijken see more heroverwegingen.
    """
    n, z, ses = people.n, people.ability.astype(float), people.ses
    school_lat = (z + SCHOOL_NOISE * rng.normal(size=n) + SCHOOL_SES_BIAS * ses) / np.sqrt(
        1 + SCHOOL_NOISE**2 + SCHOOL_SES_BIAS**2
    )
    school = np.searchsorted(_CUTS, school_lat).astype(np.int8)
    toets_lat = (z + TOETS_NOISE * rng.normal(size=n)) / np.sqrt(1 + TOETS_NOISE**2) + TOETS_SHIFT
    # the final test has no pro outcome; pro pupils often take no test at all
    toets = np.maximum(np.searchsorted(_CUTS, toets_lat), B).astype(np.int8)
    missing = rng.random(n) < np.where(school == PRO, TOETS_MISSING_PRO, TOETS_MISSING)
    toets[missing] = -1
    gap = toets.astype(np.int16) - school
    p_bij = _sigmoid(BIJSTELLING_BASE + 0.5 * (gap - 1) + 0.35 * ses + 0.3 * z)
    bijstelling = (gap > 0) & (rng.random(n) < p_bij)
    # a raised advice is the test advice, or one step up when the test was far above
    raised = np.where((gap == 1) | (rng.random(n) < 0.5), toets, school + 1)
    people.schooladvies = school
    people.toetsadvies = toets
    people.definitief = np.where(bijstelling, raised, school).astype(np.int8)

    # Schools: about 28 groep-8 pupils per po school in a wijk, about 170 brugklassers per vo
    # school in a gemeente. School numbers are global; _tables turns them into BRIN codes.
    po_n = np.maximum(1, np.round(geo.cohort / 28)).astype(np.int64)
    po_first = np.concatenate([[0], np.cumsum(po_n)[:-1]])
    w = people.home
    people.po_school = po_first[w] + (rng.random(n) * po_n[w]).astype(np.int64)
    gem_cohort = np.bincount(geo.gem, weights=geo.cohort)
    vo_n = np.maximum(1, np.round(gem_cohort / 170)).astype(np.int64)
    vo_first = po_n.sum() + np.concatenate([[0], np.cumsum(vo_n)[:-1]])
    g = geo.gem[w]
    people.vo_school = vo_first[g] + (rng.random(n) * vo_n[g]).astype(np.int64)


# --- school careers --------------------------------------------------------------------------

# Where a pupil who leaves vo starts in mbo: rows are origins, columns mbo level 1-4.
_O_PRO = 0
_O_DROPOUT = 1  # + rank of the vo level left without a diploma (1-5)
_O_DIPLOMA = 6  # + rank of the passed exam (6-10)
_O_ADULT = 11
_MBO_ENTRY = np.array(
    [
        [1.00, 0.00, 0.00, 0.00],  # pro
        [0.50, 0.50, 0.00, 0.00],  # dropout vmbo_b
        [0.30, 0.60, 0.10, 0.00],  # dropout vmbo_k
        [0.10, 0.50, 0.30, 0.10],  # dropout vmbo_gt
        [0.00, 0.15, 0.35, 0.50],  # dropout havo
        [0.00, 0.00, 0.30, 0.70],  # dropout vwo
        [0.03, 0.85, 0.12, 0.00],  # diploma vmbo_b
        [0.00, 0.20, 0.40, 0.40],  # diploma vmbo_k
        [0.00, 0.03, 0.20, 0.77],  # diploma vmbo_gt
        [0.00, 0.00, 0.10, 0.90],  # diploma havo
        [0.00, 0.00, 0.00, 1.00],  # diploma vwo
        [0.05, 0.30, 0.30, 0.35],  # adult
    ]
)


@dataclass
class _Careers:
    """Per written school year (rows, SCHOOLJAREN order) and pupil (columns)."""

    vo_niv: np.ndarray  # class position, -1 not in vo
    vo_lj: np.ndarray
    ex_niv: np.ndarray  # exam level position, -1 no exam
    ex_pass: np.ndarray
    mbo: np.ndarray  # mbo level, 0 not in mbo
    mbo_dipl: np.ndarray  # mbo diploma level, 0 none
    ho: np.ndarray  # HBO / WO, -1 none
    wijk: np.ndarray | None = None  # filled by _addresses
    adres: np.ndarray | None = None


def _pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element, from the probability row ``rows[i]`` of ``probs``."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] >= cum[rows]).sum(axis=1)


def _careers(people: _People, rng: np.random.Generator) -> _Careers:
    n, n_years = people.n, len(SCHOOLJAREN)
    z = people.ability.astype(float)
    ses = people.ses
    adult = people.adult
    c = _Careers(
        vo_niv=np.full((n_years, n), -1, np.int8),
        vo_lj=np.zeros((n_years, n), np.int8),
        ex_niv=np.full((n_years, n), -1, np.int8),
        ex_pass=np.zeros((n_years, n), bool),
        mbo=np.zeros((n_years, n), np.int8),
        mbo_dipl=np.zeros((n_years, n), np.int8),
        ho=np.full((n_years, n), -1, np.int8),
    )
    assert people.definitief is not None
    brugklas = _pick(rng, _ENTRY, people.definitief).astype(np.int8)
    mid_cut = np.zeros(10)
    for comb in (BK, KGT, GTH, HV):
        mid_cut[comb] = (_CUTS[comb - 1] + _CUTS[comb]) / 2 + SPLIT_SHIFT

    phase = np.full(n, _WAITING, np.int8)
    niv = np.full(n, -1, np.int8)
    lj = np.zeros(n, np.int8)
    mlev = np.zeros(n, np.int8)
    myear = np.zeros(n, np.int8)
    mdur = np.zeros(n, np.int8)
    hsoort = np.full(n, -1, np.int8)
    hyear = np.zeros(n, np.int8)
    hdur = np.zeros(n, np.int8)

    def start_mbo(idx: np.ndarray, origin: np.ndarray | int) -> None:
        rows = np.broadcast_to(np.asarray(origin), idx.shape)
        level = (_pick(rng, _MBO_ENTRY, rows) + 1).astype(np.int8)
        start_level(idx, level)

    def start_level(idx: np.ndarray, level: np.ndarray) -> None:
        u = rng.random(len(idx))
        dur = np.select(
            [level == 1, level == 2, level == 3],
            [1, 2, np.where(u < 0.7, 3, 2)],
            np.where(u < 0.55, 4, 3),
        )
        phase[idx], mlev[idx], myear[idx], mdur[idx] = _MBO, level, 1, dur

    def start_ho(idx: np.ndarray, soort: int) -> None:
        phase[idx], hsoort[idx], hyear[idx] = _HO, soort, 1
        hdur[idx] = 4 if soort == HBO else 5

    def leave_vo(idx: np.ndarray, origin: np.ndarray, p_mbo: float) -> None:
        to_mbo = rng.random(len(idx)) < p_mbo
        start_mbo(idx[to_mbo], origin[to_mbo])
        phase[idx[~to_mbo]] = _GONE

    kids_by_cohort = ~adult
    for year in range(FIRST_COHORT + 1, LAST_COHORT + 1):
        col = year - SCHOOLJAREN[0]
        # 1 October of `year`: last year's groep 8 enters the brugklas, adults enter mbo
        new = np.flatnonzero(kids_by_cohort & (people.cohort == year - 1))
        phase[new], niv[new], lj[new] = _VO, brugklas[new], 1
        start_mbo(np.flatnonzero(adult & (people.mbo_entry == year)), _O_ADULT)

        vo = np.flatnonzero(phase == _VO)
        mb = np.flatnonzero(phase == _MBO)
        hs = np.flatnonzero(phase == _HO)
        if col >= 0:
            c.vo_niv[col, vo], c.vo_lj[col, vo] = niv[vo], lj[vo]
            c.mbo[col, mb] = mlev[mb]
            c.ho[col, hs] = hsoort[hs]

        # ---- vo
        v_niv, v_lj = niv[vo], lj[vo]
        rank = _RANK[v_niv]
        single = rank >= 0
        # ability relative to the others at the same level this year
        r = np.where(single, rank, 0)
        cnt = np.bincount(r[single], minlength=5).astype(float)
        mu = np.bincount(r[single], weights=z[vo][single], minlength=5) / np.maximum(cnt, 1)
        sq = np.bincount(r[single], weights=z[vo][single] ** 2, minlength=5)
        sd = np.sqrt(np.maximum(sq / np.maximum(cnt, 1) - mu**2, 1e-6))
        zc = np.where(single, (z[vo] - mu[r]) / sd[r], 0.0)
        s_vo = ses[vo]
        final = v_lj >= _FINAL_LJ[v_niv]
        u = rng.random(len(vo))

        # exams in the final year of a single level
        ex = single & final
        e_idx, e_rank, e_zc = vo[ex], rank[ex], zc[ex]
        passed = rng.random(len(e_idx)) < _sigmoid(_logit(EXAM_PASS[e_rank]) + 0.6 * e_zc)
        if col >= 0:
            c.ex_niv[col, e_idx] = _SINGLE[e_rank]
            c.ex_pass[col, e_idx] = passed
        ue = u[ex]
        # passed vmbo: mbo, except the vmbo_gt pupils who stack on to havo 4
        gt = passed & (e_rank == 2)
        stapel = gt & (ue < _sigmoid(_logit(STAPELEN_VO_BASE) + 0.9 * e_zc + 0.35 * s_vo[ex]))
        niv[e_idx[stapel]], lj[e_idx[stapel]] = HAVO, 4
        vmbo_out = passed & (e_rank <= 2) & ~stapel
        leave_vo(e_idx[vmbo_out], _O_DIPLOMA + e_rank[vmbo_out], 0.95)
        # passed havo: a few stack on to vwo 5, most go to hbo, some to mbo
        havo = passed & (e_rank == 3)
        to_vwo = havo & (ue < HAVO_TO_VWO)
        niv[e_idx[to_vwo]], lj[e_idx[to_vwo]] = VWO, 5
        start_ho(e_idx[havo & (ue >= HAVO_TO_VWO) & (ue < HAVO_TO_VWO + 0.72)], HBO)
        h_mbo = havo & (ue >= HAVO_TO_VWO + 0.72) & (ue < HAVO_TO_VWO + 0.85)
        start_mbo(e_idx[h_mbo], _O_DIPLOMA + 3)
        phase[e_idx[havo & (ue >= HAVO_TO_VWO + 0.85)]] = _GONE
        # passed vwo: wo or hbo
        vwo = passed & (e_rank == 4)
        start_ho(e_idx[vwo & (ue < 0.68)], WO)
        start_ho(e_idx[vwo & (ue >= 0.68) & (ue < 0.90)], HBO)
        phase[e_idx[vwo & (ue >= 0.90)]] = _GONE
        # failed: most repeat the exam year, some vwo pupils move to havo 5, the rest leave
        failed = ~passed
        uf = rng.random(len(e_idx))
        repeat = failed & (uf < EXAM_FAIL_REPEAT)  # state unchanged
        to_havo5 = failed & ~repeat & (e_rank == 4) & (uf < EXAM_FAIL_REPEAT + 0.12)
        niv[e_idx[to_havo5]], lj[e_idx[to_havo5]] = HAVO, 5
        f_leave = failed & ~repeat & ~to_havo5
        leave_vo(e_idx[f_leave], _O_DROPOUT + e_rank[f_leave], 0.85)

        # pro ends after leerjaar 5 without a central exam
        pro = v_niv == PRO
        leave_vo(vo[pro & final], np.full(int((pro & final).sum()), _O_PRO), 0.45)
        lj[vo[pro & ~final]] += 1

        # bovenbouw, non-exam year: opstroom, afstroom, zittenblijven, leaving, or on
        bb = single & ~final & (v_lj >= 3)
        b_idx, b_rank, b_zc, b_s, ub = vo[bb], rank[bb], zc[bb], s_vo[bb], u[bb]
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
        b_niv, b_lj = v_niv[bb], v_lj[bb]
        up_niv = _UP[b_niv]
        # into havo or vwo at the same leerjaar; within vmbo one leerjaar on
        up_lj = np.where(up_niv >= HAVO, b_lj, b_lj + 1)
        niv[b_idx[up]], lj[b_idx[up]] = up_niv[up], up_lj[up]
        down_niv = _DOWN[b_niv]
        down_lj = np.minimum(b_lj + 1, _FINAL_LJ[np.maximum(down_niv, 0)])
        niv[b_idx[down]], lj[b_idx[down]] = down_niv[down], down_lj[down]
        leave_vo(b_idx[out], _O_DROPOUT + b_rank[out], 0.85)
        lj[b_idx[on]] += 1

        # onderbouw (leerjaar 1-2): combined classes split by ability, singles move a little
        ob = ~pro & (v_lj <= 2)
        o_idx, o_niv, o_lj, o_u = vo[ob], v_niv[ob], v_lj[ob], u[ob]
        comb = _RANK[o_niv] < 0
        keep = comb & (o_lj == 1) & (o_u < 0.55)
        split = comb & ~keep
        hi = z[o_idx] + 0.35 * rng.normal(size=len(o_idx)) > mid_cut[o_niv]
        niv[o_idx[split]] = np.where(hi, _HI[o_niv], _LO[o_niv])[split]
        lj[o_idx[comb]] += 1
        o_single = ~comb
        o_zc = zc[ob]
        o_up = o_single & (_UP[o_niv] >= 0) & (o_u < 0.03 * np.exp(0.5 * o_zc - 0.12))
        o_down = (
            o_single & ~o_up & (_DOWN[o_niv] >= 0) & (o_u > 1 - 0.035 * np.exp(-0.5 * o_zc - 0.12))
        )
        o_rep = o_single & ~o_up & ~o_down & (o_u >= 0.5) & (o_u < 0.515)
        niv[o_idx[o_up]] = _UP[o_niv][o_up]
        niv[o_idx[o_down]] = _DOWN[o_niv][o_down]
        lj[o_idx[o_single & ~o_rep]] += 1

        # ---- mbo
        fin = myear[mb] >= mdur[mb]
        nf, f = mb[~fin], mb[fin]
        drop = rng.random(len(nf)) < MBO_DROPOUT * np.where(adult[nf], 1.4, 1.0)
        phase[nf[drop]] = _GONE
        myear[nf[~drop]] += 1
        f_lev = mlev[f]
        ok = rng.random(len(f)) < _sigmoid(_logit(MBO_PASS) + 0.5 * z[f])
        if col >= 0:
            c.mbo_dipl[col, f[ok]] = f_lev[ok]
        uf = rng.random(len(f))
        f_adult = adult[f]
        p_hbo = np.where(
            f_adult,
            ADULT_TO_HBO,
            _sigmoid(_logit(STAPELEN_MBO_BASE) + 0.8 * z[f] + 0.3 * ses[f]),
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
        start_level(f[cont], next_level[cont])
        hbo = ok & (f_lev == 4) & (uf < p_hbo)
        start_ho(f[hbo], HBO)
        phase[f[ok & ~cont & ~hbo]] = _GONE
        phase[f[~ok & (uf >= 0.5)]] = _GONE  # the others repeat the final year

        # ---- hbo / wo
        quit_ho = (hyear[hs] == 1) & (rng.random(len(hs)) < np.where(hsoort[hs] == HBO, 0.15, 0.08))
        done = quit_ho | (hyear[hs] >= hdur[hs])
        phase[hs[done]] = _GONE
        hyear[hs[~done]] += 1
    return c


# --- addresses -------------------------------------------------------------------------------

MOVE_SHARE = 0.045
NO_ADRES_SHARE = 0.006


def _addresses(people: _People, c: _Careers, geo: _Geo, rng: np.random.Generator) -> None:
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
        new[anywhere] = _draw(rng, p_wijk, int(anywhere.sum()))
        wijk[col, movers] = new
    in_po = np.zeros((n_years, n), bool)
    po = np.flatnonzero(~people.adult & ~people.no_po & (people.cohort >= SCHOOLJAREN[0]))
    in_po[people.cohort[po] - SCHOOLJAREN[0], po] = True
    enrolled = in_po | (c.vo_niv >= 0) | (c.mbo > 0)
    p_gap = np.where(people.adult, 3 * NO_ADRES_SHARE, NO_ADRES_SHARE)
    c.wijk = wijk
    c.adres = enrolled & ~(rng.random((n_years, n)) < p_gap)


# --- tables ----------------------------------------------------------------------------------

_LETTERS = [chr(ord("A") + i) for i in range(26)]


#: "000" ... "999" as bytes: a rin is three lookups instead of nine divisions
_TRIPLETS = np.frombuffer("".join(f"{i:03d}" for i in range(1000)).encode(), np.uint8).reshape(
    1000, 3
)


def _rin_digits(values: np.ndarray) -> np.ndarray:
    """The 9-digit zero-padded decimal ASCII of each rin number, one row of 9 bytes each."""
    v = values.astype(np.int32)  # rin numbers are below 10**9 < 2**31
    hi, rest = np.divmod(v, 1_000_000)
    mid, lo = np.divmod(rest, 1000)
    out = np.empty((len(v), 9), np.uint8)
    out[:, 0:3] = _TRIPLETS[hi]
    out[:, 3:6] = _TRIPLETS[mid]
    out[:, 6:9] = _TRIPLETS[lo]
    return out


def _ascii_rows(codes: list[str]) -> np.ndarray:
    """Fixed-width ASCII codes (wijkcode, BRIN) as one row of bytes each."""
    width = len(codes[0])
    if any(len(code) != width or not code.isascii() for code in codes):
        raise InternalError("SYNTH_CODE_WIDTH", "codes of one kind must be ASCII of one width")
    return np.frombuffer("".join(codes).encode("ascii"), np.uint8).reshape(len(codes), width)


def _strings(rows: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array straight from fixed-width byte rows (much faster than a string take).

    Rows where ``valid`` is False become null.
    """
    n, width = rows.shape
    if n * width >= 2**31:  # pragma: no cover - 200 million rows, far beyond national scale
        raise InternalError("SYNTH_TOO_LARGE", "a string column exceeds 2 GB")
    if valid is None:
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows))
        )
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.where(valid, width, 0), out=offsets[1:])
    return pa.StringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        pa.py_buffer(np.ascontiguousarray(rows[valid])),
        pa.py_buffer(np.packbits(valid, bitorder="little")),
        null_count=int(n - valid.sum()),
    )


def _codes(names: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """String codes by index; a negative index becomes null."""
    return pa.array(list(names), pa.string()).take(pa.array(idx, pa.int64(), mask=idx < 0))


def _rins(n_pupils: int, n_parents: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Unique random rins, increasing with the pupil number and with the parent number.

    Pupils and parents are numbered in random order (see ``_people``), so rows in number order
    are rows in rin order, as CBS files are, while the rin says nothing about the person.
    """
    total = n_pupils + n_parents
    mean_gap = int(0.9e9 // total)
    values = np.cumsum(rng.integers(1, 2 * mean_gap, total, dtype=np.int64))
    if values[-1] >= 10**9:  # pragma: no cover - needs ~sqrt(total) standard deviations
        raise InternalError("SYNTH_RIN_RANGE", "rin numbers ran past 9 digits")
    # an exact-size random subset of the sorted numbers goes to pupils
    is_pupil = np.zeros(total, bool)
    if n_pupils:
        is_pupil[np.argpartition(rng.random(total), n_pupils - 1)[:n_pupils]] = True
    return values[is_pupil], values[~is_pupil]


def _tables(
    people: _People, c: _Careers, geo: _Geo, rng: np.random.Generator
) -> dict[str, pa.Table]:
    assert c.adres is not None and c.wijk is not None
    assert people.schooladvies is not None and people.toetsadvies is not None
    assert people.definitief is not None
    assert people.po_school is not None and people.vo_school is not None
    n, n_parents = people.n, len(people.parent_level)
    y0 = SCHOOLJAREN[0]
    pupil_rin, parent_rin = _rins(n, n_parents, rng)
    pupil_digits = _rin_digits(pupil_rin)

    n_schools = int(max(people.po_school.max(), people.vo_school.max())) + 1
    pool = [f"{d:02d}{a}{b}" for d in range(100) for a in _LETTERS for b in _LETTERS]
    brin = _ascii_rows([pool[i] for i in rng.choice(len(pool), n_schools, replace=False)])
    wijkcode = _ascii_rows(geo.frame["wijkcode"].tolist())

    def rows(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # flat positions, pupil numbers and year rows of the True cells, by year then by rin
        flat = np.flatnonzero(mask)
        col = flat // n
        return flat, flat - col * n, col

    def table(name: str, columns: list[pa.Array]) -> pa.Table:
        return pa.Table.from_arrays(columns, names=list(INPUT_TABLES[name]))

    def int32(values: np.ndarray) -> pa.Array:
        return pa.array(values.astype(np.int32), pa.int32())

    def rin(idx: np.ndarray) -> pa.Array:
        return _strings(pupil_digits[idx])

    out: dict[str, pa.Table] = {}
    po = np.flatnonzero(~people.adult & ~people.no_po & (people.cohort >= y0))
    po = po[np.argsort(people.cohort[po], kind="stable")]
    out["po_advies"] = table(
        "po_advies",
        [
            rin(po),
            int32(people.cohort[po]),
            _strings(brin[people.po_school[po]]),
            _codes(ADVICE_CODES, people.schooladvies[po].astype(np.int64)),
            _codes(ADVICE_CODES, people.toetsadvies[po].astype(np.int64)),
            _codes(ADVICE_CODES, people.definitief[po].astype(np.int64)),
        ],
    )

    flat, idx, col = rows(c.vo_niv >= 0)
    out["vo_inschrijving"] = table(
        "vo_inschrijving",
        [
            rin(idx),
            int32(col + y0),
            _strings(brin[people.vo_school[idx]]),
            _codes(ADVICE_CODES, c.vo_niv.ravel()[flat].astype(np.int64)),
            int32(c.vo_lj.ravel()[flat]),
        ],
    )

    flat, idx, col = rows(c.ex_niv >= 0)
    out["vo_examen"] = table(
        "vo_examen",
        [
            rin(idx),
            int32(col + y0),
            _codes(EXAM_LEVELS, _RANK[c.ex_niv.ravel()[flat]].astype(np.int64)),
            pa.array(c.ex_pass.ravel()[flat], pa.bool_()),
        ],
    )

    for name, matrix in (("mbo_inschrijving", c.mbo), ("mbo_diploma", c.mbo_dipl)):
        flat, idx, col = rows(matrix > 0)
        out[name] = table(name, [rin(idx), int32(col + y0), int32(matrix.ravel()[flat])])

    flat, idx, col = rows(c.ho >= 0)
    out["ho_inschrijving"] = table(
        "ho_inschrijving",
        [rin(idx), int32(col + y0), _codes(_SOORT, c.ho.ravel()[flat].astype(np.int64))],
    )

    # Persons: every pupil who shows up in a table, and their parents.
    appears = np.zeros(n, bool)
    appears[po] = True
    appears |= (c.vo_niv >= 0).any(axis=0) | (c.mbo > 0).any(axis=0) | (c.ho >= 0).any(axis=0)
    kids = np.flatnonzero(appears)
    par = people.parents[kids]
    parent_seen = np.zeros(n_parents, bool)
    parent_seen[par[par >= 0]] = True
    pars = np.flatnonzero(parent_seen)
    parent_digits = _rin_digits(parent_rin)

    rin_all = np.concatenate([pupil_rin[kids], parent_rin[pars]])
    order = np.argsort(rin_all, kind="stable")
    out["persoon"] = table(
        "persoon",
        [
            _strings(np.concatenate([pupil_digits[kids], parent_digits[pars]])[order]),
            int32(np.concatenate([people.birth_year[kids], people.parent_birth_year[pars]])[order]),
            int32(
                np.concatenate([people.birth_month[kids], people.parent_birth_month[pars]])[order]
            ),
        ],
    )
    out["kind_ouder"] = table(
        "kind_ouder",
        [
            rin(kids),
            _strings(parent_digits[np.maximum(par[:, 0], 0)], valid=par[:, 0] >= 0),
            _strings(parent_digits[np.maximum(par[:, 1], 0)], valid=par[:, 1] >= 0),
        ],
    )
    known = pars[people.parent_known[pars]]
    out["hoogste_opleiding"] = table(
        "hoogste_opleiding",
        [
            _strings(parent_digits[known]),
            _codes(OPLEIDINGSNIVEAUS, people.parent_level[known].astype(np.int64)),
        ],
    )

    flat, idx, col = rows(c.adres)
    out["adres"] = table(
        "adres", [rin(idx), int32(col + y0), _strings(wijkcode[c.wijk.ravel()[flat]])]
    )

    out["geografie"] = pa.Table.from_pandas(
        geo.frame[list(INPUT_TABLES["geografie"])], preserve_index=False
    )
    return {name: out[name] for name in INPUT_TABLES}


# --- national rates --------------------------------------------------------------------------


def _pct(num: int, den: int) -> float:
    return round(100.0 * num / den, 2) if den else float("nan")


def _rates(people: _People, c: _Careers) -> tuple[dict[str, float], dict[str, tuple[int, ...]]]:
    """The national indicator percentages of docs/indicators.md, pooled over reference years."""
    assert c.adres is not None and people.schooladvies is not None
    assert people.toetsadvies is not None and people.definitief is not None
    y0 = SCHOOLJAREN[0]
    with_next = SCHOOLJAREN[:-1]
    rates: dict[str, float] = {}
    years: dict[str, tuple[int, ...]] = {}

    po = np.flatnonzero(~people.adult & ~people.no_po & (people.cohort >= y0))
    po = po[c.adres[people.cohort[po] - y0, po]]
    school, toets, final = people.schooladvies[po], people.toetsadvies[po], people.definitief[po]
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
        here = c.adres[col]
        gt = here & (c.ex_niv[col] == GT) & c.ex_pass[col]
        add("stapelen_vo", int((gt & (c.vo_niv[col + 1] == HAVO)).sum()), int(gt.sum()))
        m4 = here & (c.mbo_dipl[col] == 4)
        add("stapelen_mbo", int((m4 & (c.ho[col + 1] == HBO)).sum()), int(m4.sum()))

        now, nxt = c.vo_niv[col], c.vo_niv[col + 1]
        rank_now = np.where(now >= 0, _RANK[np.maximum(now, 0)], -1)
        rank_nxt = np.where(nxt >= 0, _RANK[np.maximum(nxt, 0)], -1)
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
        pop14 = c.adres[col] & (age == 14) & (c.vo_niv[col] >= 0)
        hv = pop14 & np.isin(c.vo_niv[col], (HAVO, HV, VWO))
        add("opleidingsmobiliteit", int(hv.sum()), int(pop14.sum()))
        for gi, gname in enumerate(PARENT_GROUPS):
            in_group = pop14 & (people.group == gi)
            add(f"opleidingsmobiliteit.{gname}", int((hv & in_group).sum()), int(in_group.sum()))
        add("ouders_onbekend", int((pop14 & (people.group == _ONBEKEND)).sum()), int(pop14.sum()))
    for k in [k for k in counts if k.startswith("opleidingsmobiliteit")] + ["ouders_onbekend"]:
        rates[k] = _pct(*counts[k])
        years[k] = SCHOOLJAREN
    return rates, years


# --- writing ---------------------------------------------------------------------------------


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        # dictionary-encode the code columns only: a rin column has no repeats worth a dictionary
        codes = [name for name in table.column_names if not name.startswith("rin")]
        pq.write_table(table, path, use_dictionary=codes)
    elif fmt == "csv":
        pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    else:
        import pyreadstat  # slow to import; only needed for .sav

        frame = pd.DataFrame({name: _sav_column(table.column(name)) for name in table.column_names})
        pyreadstat.write_sav(frame, str(path))


def _sav_column(column: pa.ChunkedArray) -> pd.Series:
    """SPSS has numbers and strings only: booleans become 0/1, a missing string is empty.

    Strings stay plain Python objects: pyreadstat reads an Arrow-backed column far slower.
    """
    if pa.types.is_boolean(column.type):
        return pd.Series(column.to_numpy().astype(np.int8))
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pd.Series(column.fill_null("").to_pylist(), dtype=object)
    return pd.Series(column.to_numpy())
