"""The eight indicators as frozen, declarative specs (docs/indicators.md).

Every pupil of a reference year falls in exactly one outcome *category* of each population it
belongs to. An indicator is then a ratio of category sums: the numerator categories over the
denominator categories of one population. This module is the only place that says which
categories make up which indicator; both engines (``secure.engine`` on DuckDB and
``indicators.reference`` in plain pandas) count pupils into the categories described here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from kansenkluis.domain import (
    PARENT_GROUPS,
    TOTAAL,
    AggregateTable,
    GeoLevel,
    IndicatorId,
    PopulationId,
)


@dataclass(frozen=True)
class PopulationSpec:
    id: PopulationId
    description: str
    reference_year: str
    breakdowns: tuple[str, ...]
    categories: tuple[str, ...]
    #: how each category is decided, in words (the engines implement exactly this)
    category_rules: Mapping[str, str]


@dataclass(frozen=True)
class IndicatorSpec:
    id: IndicatorId
    naam: str
    uitleg: str
    population: PopulationId
    numerator: frozenset[str]
    denominator: frozenset[str]
    breakdowns: tuple[str, ...]
    #: geographic levels published; opleidingsmobiliteit goes to pooled regions, never wijken
    levels: tuple[GeoLevel, ...]

    def __post_init__(self) -> None:
        pop = POPULATIONS[self.population]
        if not self.numerator <= self.denominator:
            raise ValueError(f"{self.id}: numerator categories must lie inside the denominator")
        if not self.denominator <= set(pop.categories):
            raise ValueError(f"{self.id}: unknown categories for population {pop.id}")
        derived = {TOTAAL} if pop.breakdowns != (TOTAAL,) else set()
        if not set(self.breakdowns) <= set(pop.breakdowns) | derived:
            raise ValueError(f"{self.id}: breakdown not counted by population {pop.id}")


WIJK_LEVELS = (GeoLevel.WIJK, GeoLevel.WIJKGROEP, GeoLevel.GEMEENTE, GeoLevel.LAND)
REGIO_LEVELS = (GeoLevel.REGIO, GeoLevel.LAND)

POPULATIONS: Mapping[PopulationId, PopulationSpec] = {
    p.id: p
    for p in (
        PopulationSpec(
            PopulationId.GROEP8,
            "groep-8 pupils in po_advies with both schooladvies and toetsadvies",
            "po_advies.schooljaar",
            (TOTAAL,),
            (
                "geen_heroverweging",
                "heroverweging_zonder_bijstelling",
                "heroverweging_met_bijstelling",
            ),
            {
                "geen_heroverweging": "advice position of toetsadvies <= that of schooladvies",
                "heroverweging_zonder_bijstelling": "toetsadvies above schooladvies, "
                "advies_definitief not above schooladvies (or missing)",
                "heroverweging_met_bijstelling": "toetsadvies above schooladvies and "
                "advies_definitief above schooladvies",
            },
        ),
        PopulationSpec(
            PopulationId.VMBO_GT_GESLAAGD,
            "pupils with a passed vmbo_gt exam (vo_examen) in t",
            "exam year t",
            (TOTAAL,),
            ("havo", "geen_havo"),
            {"havo": "hoofdinschrijving in vo in t+1 at niveau havo", "geen_havo": "otherwise"},
        ),
        PopulationSpec(
            PopulationId.MBO4_DIPLOMA,
            "pupils with an mbo level-4 diploma (mbo_diploma niveau 4) in t",
            "diploma year t",
            (TOTAAL,),
            ("hbo", "geen_hbo"),
            {"hbo": "ho_inschrijving with soort hbo in t+1", "geen_hbo": "otherwise"},
        ),
        PopulationSpec(
            PopulationId.TRANSITIE,
            "vo pupils in t in leerjaar >= 3 with a single level, without a passed exam in t, "
            "enrolled in vo in t+1; breakdown is the origin group of their level in t",
            "t (1 October t to 1 October t+1)",
            ("vmbo", "havo", "vwo"),
            ("opstroom", "afstroom", "zittenblijven", "overig"),
            {
                "opstroom": "single level in t+1 with a higher rank",
                "afstroom": "single level in t+1 with a lower rank",
                "zittenblijven": "same niveau and same leerjaar in t+1",
                "overig": "anything else (next leerjaar at the same level, a combined class, pro)",
            },
        ),
        PopulationSpec(
            PopulationId.VEERTIENJARIGEN,
            "pupils aged 14 on 1 October of t enrolled in vo in t; breakdown is the parents' "
            "education group (highest known level of either parent)",
            "t",
            PARENT_GROUPS,
            ("havo_vwo", "overig"),
            {"havo_vwo": "niveau in havo, havo_vwo, vwo", "overig": "any other niveau"},
        ),
    )
}

INDICATORS: Mapping[IndicatorId, IndicatorSpec] = {
    i.id: i
    for i in (
        IndicatorSpec(
            IndicatorId.HEROVERWEGING,
            "aandeel heroverwegingen",
            "Het deel van de leerlingen in groep 8 bij wie het toetsadvies hoger was dan het "
            "schooladvies, zodat de school het advies moest heroverwegen.",
            PopulationId.GROEP8,
            frozenset({"heroverweging_zonder_bijstelling", "heroverweging_met_bijstelling"}),
            frozenset(
                {
                    "geen_heroverweging",
                    "heroverweging_zonder_bijstelling",
                    "heroverweging_met_bijstelling",
                }
            ),
            (TOTAAL,),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.BIJSTELLING,
            "aandeel bijstellingen",
            "Van de leerlingen bij wie een heroverweging nodig was: het deel bij wie het "
            "schooladvies daadwerkelijk omhoog is bijgesteld.",
            PopulationId.GROEP8,
            frozenset({"heroverweging_met_bijstelling"}),
            frozenset({"heroverweging_zonder_bijstelling", "heroverweging_met_bijstelling"}),
            (TOTAAL,),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.STAPELEN_VO,
            "stapelen in vo",
            "Het deel van de geslaagde vmbo-gt-leerlingen dat het jaar erna naar de havo gaat.",
            PopulationId.VMBO_GT_GESLAAGD,
            frozenset({"havo"}),
            frozenset({"havo", "geen_havo"}),
            (TOTAAL,),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.STAPELEN_MBO,
            "stapelen in mbo",
            "Het deel van de studenten met een mbo-4-diploma dat het jaar erna naar het hbo gaat.",
            PopulationId.MBO4_DIPLOMA,
            frozenset({"hbo"}),
            frozenset({"hbo", "geen_hbo"}),
            (TOTAAL,),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.OPSTROOM,
            "opstroom vo",
            "Het deel van de leerlingen in leerjaar 3 of hoger dat het jaar erna op een hoger "
            "niveau zit.",
            PopulationId.TRANSITIE,
            frozenset({"opstroom"}),
            frozenset({"opstroom", "afstroom", "zittenblijven", "overig"}),
            ("vmbo", "havo"),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.AFSTROOM,
            "afstroom vo",
            "Het deel van de leerlingen in leerjaar 3 of hoger dat het jaar erna op een lager "
            "niveau zit.",
            PopulationId.TRANSITIE,
            frozenset({"afstroom"}),
            frozenset({"opstroom", "afstroom", "zittenblijven", "overig"}),
            ("vmbo", "havo", "vwo"),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.ZITTENBLIJVEN,
            "zittenblijven",
            "Het deel van de leerlingen in leerjaar 3 of hoger dat het jaar erna hetzelfde "
            "leerjaar op hetzelfde niveau overdoet.",
            PopulationId.TRANSITIE,
            frozenset({"zittenblijven"}),
            frozenset({"opstroom", "afstroom", "zittenblijven", "overig"}),
            ("vmbo", "havo", "vwo"),
            WIJK_LEVELS,
        ),
        IndicatorSpec(
            IndicatorId.OPLEIDINGSMOBILITEIT,
            "opleidingsmobiliteit",
            "Het deel van de 14-jarigen dat op havo of vwo zit, naar het opleidingsniveau van "
            "hun ouders.",
            PopulationId.VEERTIENJARIGEN,
            frozenset({"havo_vwo"}),
            frozenset({"havo_vwo", "overig"}),
            (*PARENT_GROUPS, TOTAAL),
            REGIO_LEVELS,
        ),
    )
}


#: Where the definitions leave a choice, the engines follow these conventions (after CBS
#: practice). Both
#: engines implement exactly these; ``docs/indicators.md`` prints them.
CONVENTIONS: tuple[tuple[str, str], ...] = (
    (
        "Hoofdinschrijving",
        "A pupil has at most one vo enrolment per school year. If `vo_inschrijving` holds several "
        "rows for the same rin and schooljaar (ingest normally rejects that as a duplicate key), "
        "the row with the highest advice position of `niveau`, then the highest `leerjaar`, "
        "counts, like CBS's main enrolment. Every use of 'enrolled in vo in year y' (transitions, "
        "stapelen in vo, opleidingsmobiliteit) means this one enrolment.",
    ),
    (
        "Several advice rows",
        "A pupil with several `po_advies` rows in t is counted once, in the highest category any "
        "of its rows with both schooladvies and toetsadvies gives (met bijstelling > zonder "
        "bijstelling > geen heroverweging).",
    ),
    (
        "Missing definitive advice",
        "A missing `advies_definitief` (or an unknown code) counts as not above the schooladvies: "
        "the heroverweging did not lead to a bijstelling. A missing or unknown schooladvies or "
        "toetsadvies keeps the pupil out of the groep-8 population.",
    ),
    (
        "Exams and diplomas",
        "'A passed exam in t' means any `vo_examen` row of t with `geslaagd` true (a missing "
        "`geslaagd` is not passed); several rows count once. The same holds for mbo diplomas "
        "and ho enrolments.",
    ),
    (
        "Address",
        "The wijk of a pupil is the `wijkcode` of its `adres` row in the reference year t, for "
        "every population (also for the t+1 outcomes). A pupil without such a row, with rows "
        "naming more than one wijk, or with a wijkcode that is not in the geography is left out "
        "of every cell and counted in the run report under that reason.",
    ),
    (
        "Age",
        "Age on 1 October of t is `t - geboortejaar`, minus one for births in October-December. "
        "A pupil without a `persoon` row with both geboortejaar and geboortemaand has no known "
        "age and is not a veertienjarige; several persoon rows count once (aged 14 if any row "
        "says so).",
    ),
    (
        "Parents",
        "The parents of a pupil are every non-empty `rin_ouder1`/`rin_ouder2` of its "
        "`kind_ouder` rows; their level is their highest `hoogste_opleiding` row. A parent "
        "without a known level is ignored, so one known parent decides the group on their own.",
    ),
    (
        "A year without t+1",
        "The engines do not refuse a reference year whose t+1 is not loaded: stapelen in vo and "
        "in mbo then count nobody in the numerator and the transition population is empty. The "
        "run report shows it (`vo_pupils_t_plus_1` is 0); such a year must not be published for "
        "those indicators.",
    ),
)

#: Pupils left out of every cell, by reason (docs/indicators.md: counted in the run report).
LEFT_OUT_REASONS: tuple[str, ...] = ("no_address", "ambiguous_address", "unknown_wijk")


def _run_report_keys() -> dict[str, str]:
    specific = {
        PopulationId.GROEP8: {
            "groep8_missing_advice": "pupils with a po_advies row in t but none with "
            "both schooladvies and toetsadvies (not in the population)",
        },
        PopulationId.VMBO_GT_GESLAAGD: {
            "vmbo_gt_geslaagd_found_next_year": "vmbo_gt_geslaagd pupils enrolled in vo, mbo or "
            "ho in t+1 (link rate of the t+1 outcome)",
        },
        PopulationId.MBO4_DIPLOMA: {
            "mbo4_diploma_found_next_year": "mbo4_diploma pupils enrolled in vo, mbo or ho in "
            "t+1 (link rate of the t+1 outcome)",
        },
        PopulationId.TRANSITIE: {
            "transitie_candidates": "pupils enrolled in vo in t in leerjaar >= 3 with a single "
            "level (population plus the two left_out counts below)",
            "transitie_candidates_passed_exam": "candidates with a passed exam in t",
            "transitie_candidates_not_enrolled_next_year": "candidates without a passed exam in "
            "t who are not enrolled in vo in t+1",
        },
        PopulationId.VEERTIENJARIGEN: {
            "veertienjarigen_with_parent_link": "veertienjarigen with a kind_ouder row naming "
            "at least one parent",
            "veertienjarigen_parents_education_known": "veertienjarigen with at least one "
            "parent of known education (breakdown other than onbekend)",
        },
    }
    keys = {
        "vo_pupils_t": "pupils enrolled in vo in t",
        "vo_pupils_t_plus_1": "pupils enrolled in vo in t+1 (0 means t+1 is not loaded yet)",
        "vo_pupils_t_age_unknown": (
            "pupils enrolled in vo in t without a persoon row that gives their age"
        ),
    }
    for p in PopulationId:
        keys[f"{p}_population"] = f"pupils in the {p} population of t, wherever they live"
        keys[f"{p}_counted"] = f"{p} pupils counted in a wijk cell (the sum of all its cells)"
        keys[f"{p}_left_out_no_address"] = f"{p} pupils without an adres row in t"
        keys[f"{p}_left_out_ambiguous_address"] = (
            f"{p} pupils whose adres rows of t name more than one wijk"
        )
        keys[f"{p}_left_out_unknown_wijk"] = (
            f"{p} pupils whose wijkcode in t is not in the geography"
        )
        keys.update(specific[p])
    return keys


#: Every key of ``AggregateTable.run_report`` and what it counts. Counts are of pupils, never of
#: rows, and cover the whole population before any geography (so ``_population`` =
#: ``_counted`` + the three ``_left_out_`` reasons). Both engines fill every key, zeros included.
RUN_REPORT: Mapping[str, str] = _run_report_keys()


def population_keys() -> pd.DataFrame:
    """Every (population, breakdown, category) that an ``AggregateTable`` must hold."""
    rows = [
        (p.id.value, b, c) for p in POPULATIONS.values() for b in p.breakdowns for c in p.categories
    ]
    return pd.DataFrame(rows, columns=["population", "breakdown", "category"])


def indicator_counts(agg: AggregateTable) -> pd.DataFrame:
    """Numerator and denominator per indicator x breakdown x wijk from the category counts.

    Columns: indicator, breakdown, wijkcode, numerator, denominator. A derived ``totaal``
    breakdown (opleidingsmobiliteit) is the sum over the population's breakdowns.
    """
    counts = agg.counts
    frames = []
    for spec in INDICATORS.values():
        pop = POPULATIONS[spec.population]
        sub = counts[counts["population"] == spec.population.value]
        num = sub[sub["category"].isin(spec.numerator)].groupby(["breakdown", "wijkcode"])["count"]
        den = sub[sub["category"].isin(spec.denominator)].groupby(["breakdown", "wijkcode"])[
            "count"
        ]
        table = pd.DataFrame({"numerator": num.sum(), "denominator": den.sum()}).reset_index()
        if TOTAAL in spec.breakdowns and pop.breakdowns != (TOTAAL,):
            tot = table.groupby("wijkcode")[["numerator", "denominator"]].sum().reset_index()
            tot["breakdown"] = TOTAAL
            table = pd.concat([table, tot], ignore_index=True)
        table = table[table["breakdown"].isin(spec.breakdowns)]
        table.insert(0, "indicator", spec.id.value)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out["numerator"] = out["numerator"].fillna(0).astype("int64")
    out["denominator"] = out["denominator"].fillna(0).astype("int64")
    return out.sort_values(["indicator", "breakdown", "wijkcode"]).reset_index(drop=True)
