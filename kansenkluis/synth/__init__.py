"""Realistic synthetic microdata in the input-table format (docs/input-tables.md) (``kluis synth``).

The generator simulates people, not tables (``docs/synthetic-data.md`` has the full story and
the rates it produces). ``generate`` runs the stages in order; each is a module whose public
function returns its own frozen result:

==================  ==============================================================================
``calibration``     the school years, the two scales and the knobs tuned to land near ``TARGETS``
``codes``           vo classes, ho kinds and parents' groups as small integers
``geography``       stage 1: the CBS 2025 gemeenten and wijken, a size and a smooth SES per wijk
``people``          stage 2: birth cohorts, adults who enrol in mbo, their parents and ability
``groep8``          stage 3: school advice, test advice, the final advice, po and vo schools
``careers``         stage 4: one vectorised step per school year through vo, mbo and hbo/wo
``addresses``       stage 5: the wijk of every pupil per school year, moves and gaps
``tables``          stage 6: the states of school years 2018-2023 as the 11 input tables
``rates``           stage 7: the national indicator rates of the summary
``write``           the default layout's files (Parquet, CSV, ``.sav``)
``cbs``             the same world as CBS remote-access files (``--layout cbs``)
``savfile``         the small SPSS ``.sav`` writer ``cbs`` uses
``columns``         Arrow columns from fixed-width bytes (rins, codes)
``sampling``        vectorised random draws shared by the stages
==================  ==============================================================================

There are no per-pupil Python loops: the national scale (about 11 million persons) is a few
dozen numpy operations per school year. Everything is drawn from ``seed`` through a fixed
tree of ``numpy.random.SeedSequence`` streams (one per stage), so the same seed gives
byte-identical output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kansenkluis.config import GEO_ATTRIBUTION
from kansenkluis.errors import UsageError
from kansenkluis.synth.addresses import place
from kansenkluis.synth.calibration import SCHOOLJAREN, TARGETS
from kansenkluis.synth.careers import simulate_careers
from kansenkluis.synth.geography import build_geography
from kansenkluis.synth.groep8 import advise
from kansenkluis.synth.people import draw_people
from kansenkluis.synth.rates import national_rates
from kansenkluis.synth.tables import build_tables
from kansenkluis.synth.write import write_table

__all__ = ["FORMATS", "LAYOUTS", "SCALES", "SCHOOLJAREN", "TARGETS", "SynthSummary", "generate"]

SCALES: tuple[str, ...] = ("small", "national")
FORMATS: tuple[str, ...] = ("parquet", "csv", "sav")
#: ``spec``: one file per input table; ``cbs``: the CBS remote-access files (``cbs.py``)
LAYOUTS: tuple[str, ...] = ("spec", "cbs")


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
    instead (``kansenkluis.synth.cbs``); ``fmt`` is then ignored.
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
    geo = build_geography(scale, rng_geo)
    people = draw_people(geo, rng_people)
    groep8 = advise(people, geo, rng_po)
    careers = simulate_careers(people, groep8, rng_careers)
    addresses = place(people, careers, geo, rng_adres)
    built = build_tables(people, groep8, careers, addresses, geo, rng_out)
    tables = built.tables
    rates = national_rates(people, groep8, careers, addresses)
    # only the tables are written: free the simulation's arrays first
    del people, groep8, careers, addresses
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if layout == "cbs":
        from kansenkluis.synth.cbs import write_cbs

        # its own stream: the world (and the spec layout of it) stays the same for a seed
        write_cbs(tables, out, np.random.default_rng(np.random.SeedSequence(seed).spawn(7)[6]))
        fmt = "sav"
    for name, table in tables.items() if layout == "spec" else ():
        write_table(table, out / f"{name}.{fmt}", fmt)
    return SynthSummary(
        scale=scale,
        seed=seed,
        fmt=fmt,
        out=out,
        years=SCHOOLJAREN,
        rows=built.rows,
        rates=rates.rates,
        rate_years=rates.years,
        gemeenten=int(geo.frame["gemeentecode"].nunique()),
        wijken=len(geo.frame),
    )
