"""Stage 1, geography: the shipped CBS 2025 gemeenten and wijken, with a size and an SES each.

Every wijk gets a size (children per birth cohort, heavily skewed) and a latent SES score that
is smooth in space: it has a COROP, a gemeente and a wijk component and is averaged with its
``buren``. Sizes and SES are drawn for the whole country first, so that a wijk looks the same
at both scales; ``small`` then keeps its five gemeenten.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kansenkluis.config import geo_dir
from kansenkluis.errors import InternalError
from kansenkluis.synth.calibration import (
    APPROX_POPULATION,
    MAX_MODELLED_POPULATION,
    NATIONAL_ADULT_MBO,
    NATIONAL_GROEP8,
    NATIONAL_POPULATION,
    NO_PO_SHARE,
    SMALL_ADULT_SHARE,
    SMALL_GROEP8,
    SMALL_REGION_SES,
    WIJK_MAX_COHORT,
)


@dataclass(frozen=True)
class Geography:
    """The selected wijken, their sizes and SES, and their neighbours and gemeenten as CSR."""

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


def build_geography(scale: str, rng: np.random.Generator) -> Geography:
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
    return Geography(
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
