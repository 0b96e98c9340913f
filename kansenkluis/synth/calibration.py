"""The size of the synthetic world and the knobs that calibrate it.

The school years written, the cohorts simulated, the national and ``small`` scale, and the
rates and shares tuned so that the national indicator rates land near ``TARGETS``
(``docs/synthetic-data.md`` has the rates they produce). Every other stage reads its numbers
from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist

import numpy as np

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

# --- calibration knobs (tuned so that the national rates land near TARGETS) -------------------

#: Shares of the ten schooladvies codes (DUO-like), in advice position order.
SCHOOLADVIES_SHARE = (0.03, 0.09, 0.05, 0.085, 0.05, 0.18, 0.09, 0.135, 0.095, 0.195)
CUTS = np.array([NormalDist().inv_cdf(c) for c in np.cumsum(SCHOOLADVIES_SHARE)[:-1]])
#: Brugklas given the definitive advice: row = advice position, column = class position.
BRUGKLAS_ENTRY = np.array(
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
PARENT_CUTS = np.array([NormalDist().inv_cdf(c) for c in np.cumsum(PARENT_LEVEL_SHARE)[:-1]])

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

#: Where a pupil who leaves vo starts in mbo: rows are origins (pro, leaving a vo level
#: without a diploma, with a diploma, an adult), columns mbo level 1-4.
MBO_ENTRY = np.array(
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

# addresses: share of pupils who move in a year; share of pupil-years without an adres row
MOVE_SHARE = 0.045
NO_ADRES_SHARE = 0.006
