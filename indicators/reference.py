"""The reference engine: docs/indicators.md in plain Python, obviously right, not fast.

It walks the pupils one by one with dictionaries and small per-pupil functions that read like
the definitions in ``indicators.specs``. The fast engine (``secure.engine``, DuckDB) must give
exactly the same ``AggregateTable``; the property tests check that on generated pupil tables.
No I/O: tables come in as pandas frames named and shaped as in docs/input-tables.md (missing
tables count as empty).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pandas as pd

from indicators.specs import POPULATIONS, RUN_REPORT
from kansenkluis.domain import (
    ADVICE_POSITION,
    COUNT_COLUMNS,
    HAVO_VWO_LEVELS,
    INPUT_TABLES,
    OPLEIDINGSNIVEAUS,
    ORIGIN_GROUP,
    PARENT_GROUP,
    SINGLE_LEVEL_RANK,
    TOTAAL,
    AggregateTable,
    Geography,
    PopulationId,
)
from kansenkluis.errors import InternalError

NO_ADDRESS = "no_address"
AMBIGUOUS_ADDRESS = "ambiguous_address"
UNKNOWN_WIJK = "unknown_wijk"


# --- one pupil at a time ------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def advice_position(code: Any) -> int | None:
    """Advice position 0-9 of an advice or level code; None when missing or unknown."""
    if is_missing(code):
        return None
    return ADVICE_POSITION.get(code)


def groep8_category(schooladvies: Any, toetsadvies: Any, advies_definitief: Any) -> str | None:
    """The groep-8 outcome of one po_advies row; None if it lacks one of the two advices."""
    school = advice_position(schooladvies)
    toets = advice_position(toetsadvies)
    definitief = advice_position(advies_definitief)
    if school is None or toets is None:
        return None
    if toets <= school:
        return "geen_heroverweging"
    if definitief is not None and definitief > school:
        return "heroverweging_met_bijstelling"
    return "heroverweging_zonder_bijstelling"


#: Groep-8 categories from lowest to highest: a pupil with several rows gets the highest.
GROEP8_ORDER = (
    "geen_heroverweging",
    "heroverweging_zonder_bijstelling",
    "heroverweging_met_bijstelling",
)


def transition_category(niveau_t: str, leerjaar_t: int, niveau_t1: str, leerjaar_t1: int) -> str:
    """Where a pupil of the transition population went from t to t+1."""
    rank_t = SINGLE_LEVEL_RANK[niveau_t]
    rank_t1 = SINGLE_LEVEL_RANK.get(niveau_t1)  # None for pro and combined classes
    if rank_t1 is not None and rank_t1 > rank_t:
        return "opstroom"
    if rank_t1 is not None and rank_t1 < rank_t:
        return "afstroom"
    if niveau_t1 == niveau_t and leerjaar_t1 == leerjaar_t:
        return "zittenblijven"
    return "overig"


def age_on_1_october(t: int, geboortejaar: Any, geboortemaand: Any) -> int | None:
    """Age on 1 October of school year t; None when the birth date is not known."""
    if is_missing(geboortejaar) or is_missing(geboortemaand):
        return None
    born_after_1_october = int(geboortemaand) >= 10
    return t - int(geboortejaar) - (1 if born_after_1_october else 0)


def parents_group(levels: Iterable[str]) -> str:
    """Parents' group of the highest known opleidingsniveau, or onbekend if none is known."""
    known = [level for level in levels if level in OPLEIDINGSNIVEAUS]
    if not known:
        return "onbekend"
    highest = max(known, key=OPLEIDINGSNIVEAUS.index)
    return PARENT_GROUP[highest]


# --- reading the tables -------------------------------------------------------------------------


def rows(
    tables: Mapping[str, pd.DataFrame],
    name: str,
    year: int | None = None,
    rins: Collection[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of an input table as dicts, optionally only those of school ``year`` and of
    the persons in ``rins`` (an absent table has no rows)."""
    frame = tables.get(name)
    if frame is None:
        return iter(())
    columns = list(INPUT_TABLES[name])
    frame = frame[columns]
    if year is not None:
        frame = frame[frame["schooljaar"].isin([year])]
    if rins is not None:
        frame = frame[frame["rin"].isin(list(rins))]
    values = zip(*(frame[column].tolist() for column in columns), strict=True)
    return (dict(zip(columns, row, strict=True)) for row in values)


@dataclass
class Inputs:
    """The input tables seen from reference year t; each piece is read once, when first needed."""

    tables: Mapping[str, pd.DataFrame]
    t: int
    geography: Geography

    @cached_property
    def enrolment_t(self) -> dict[str, tuple[str, int]]:
        return main_enrolments(self.tables, self.t)

    @cached_property
    def enrolment_t1(self) -> dict[str, tuple[str, int]]:
        return main_enrolments(self.tables, self.t + 1)

    @cached_property
    def found_next_year(self) -> set[str]:
        """Pupils enrolled in vo, mbo or ho in t+1."""
        found = set(self.enrolment_t1)
        for name in ("mbo_inschrijving", "ho_inschrijving"):
            found |= {row["rin"] for row in rows(self.tables, name, self.t + 1)}
        return found

    @cached_property
    def passed_exam_t(self) -> dict[str, set[str]]:
        """Exam levels at which each pupil passed an exam in t (geslaagd true)."""
        passed: dict[str, set[str]] = defaultdict(set)
        for row in rows(self.tables, "vo_examen", self.t):
            if not is_missing(row["geslaagd"]) and bool(row["geslaagd"]):
                passed[row["rin"]].add(row["niveau"])
        return passed

    @cached_property
    def home(self) -> dict[str, str]:
        """rin -> wijkcode in t, or the reason the address cannot be used."""
        wijken: dict[str, set[str]] = defaultdict(set)
        for row in rows(self.tables, "adres", self.t):
            if not is_missing(row["wijkcode"]):
                wijken[row["rin"]].add(row["wijkcode"])
        placed = {}
        for rin, codes in wijken.items():
            if len(codes) > 1:
                placed[rin] = AMBIGUOUS_ADDRESS
            else:
                (code,) = codes
                placed[rin] = code if code in self.geography.wijken else UNKNOWN_WIJK
        return placed


def main_enrolments(tables: Mapping[str, pd.DataFrame], year: int) -> dict[str, tuple[str, int]]:
    """rin -> (niveau, leerjaar) of the hoofdinschrijving in ``year``: the vo row with the
    highest advice position, then the highest leerjaar (a missing leerjaar counts as 0)."""
    best: dict[str, tuple[str, int]] = {}
    for row in rows(tables, "vo_inschrijving", year):
        position = advice_position(row["niveau"])
        if position is None:
            continue
        leerjaar = 0 if is_missing(row["leerjaar"]) else int(row["leerjaar"])
        current = best.get(row["rin"])
        if current is None or (position, leerjaar) > (ADVICE_POSITION[current[0]], current[1]):
            best[row["rin"]] = (row["niveau"], leerjaar)
    return best


# --- the populations ----------------------------------------------------------------------------

#: A pupil placed in a population: (rin, breakdown, category)
Member = tuple[str, str, str]


def groep8(inputs: Inputs, report: dict[str, int]) -> list[Member]:
    outcomes: dict[str, list[str | None]] = defaultdict(list)
    for row in rows(inputs.tables, "po_advies", inputs.t):
        category = groep8_category(
            row["schooladvies"], row["toetsadvies"], row["advies_definitief"]
        )
        outcomes[row["rin"]].append(category)
    members = []
    for rin, categories in outcomes.items():
        with_both = [c for c in categories if c is not None]
        if not with_both:
            report["groep8_missing_advice"] += 1
            continue
        members.append((rin, TOTAAL, max(with_both, key=GROEP8_ORDER.index)))
    return members


def vmbo_gt_geslaagd(inputs: Inputs, report: dict[str, int]) -> list[Member]:
    members = []
    for rin, levels in inputs.passed_exam_t.items():
        if "vmbo_gt" not in levels:
            continue
        niveau_t1 = inputs.enrolment_t1.get(rin, (None, 0))[0]
        members.append((rin, TOTAAL, "havo" if niveau_t1 == "havo" else "geen_havo"))
        report["vmbo_gt_geslaagd_found_next_year"] += rin in inputs.found_next_year
    return members


def mbo4_diploma(inputs: Inputs, report: dict[str, int]) -> list[Member]:
    diploma = {
        row["rin"]
        for row in rows(inputs.tables, "mbo_diploma", inputs.t)
        if not is_missing(row["niveau"]) and int(row["niveau"]) == 4
    }
    hbo = {
        row["rin"]
        for row in rows(inputs.tables, "ho_inschrijving", inputs.t + 1)
        if row["soort"] == "hbo"
    }
    members = []
    for rin in diploma:
        members.append((rin, TOTAAL, "hbo" if rin in hbo else "geen_hbo"))
        report["mbo4_diploma_found_next_year"] += rin in inputs.found_next_year
    return members


def transitie(inputs: Inputs, report: dict[str, int]) -> list[Member]:
    members = []
    for rin, (niveau, leerjaar) in inputs.enrolment_t.items():
        if leerjaar < 3 or niveau not in SINGLE_LEVEL_RANK:
            continue
        report["transitie_candidates"] += 1
        if rin in inputs.passed_exam_t:
            report["transitie_candidates_passed_exam"] += 1
        elif rin not in inputs.enrolment_t1:
            report["transitie_candidates_not_enrolled_next_year"] += 1
        else:
            niveau_t1, leerjaar_t1 = inputs.enrolment_t1[rin]
            category = transition_category(niveau, leerjaar, niveau_t1, leerjaar_t1)
            members.append((rin, ORIGIN_GROUP[niveau], category))
    return members


def veertienjarigen(inputs: Inputs, report: dict[str, int]) -> list[Member]:
    pupils = inputs.enrolment_t
    aged_14 = {
        row["rin"]
        for row in rows(inputs.tables, "persoon", rins=pupils)
        if age_on_1_october(inputs.t, row["geboortejaar"], row["geboortemaand"]) == 14
    }
    parents: dict[str, set[str]] = defaultdict(set)
    for row in rows(inputs.tables, "kind_ouder", rins=aged_14):
        for parent in (row["rin_ouder1"], row["rin_ouder2"]):
            if not is_missing(parent) and parent != "":
                parents[row["rin"]].add(parent)
    all_parents = {parent for of_pupil in parents.values() for parent in of_pupil}
    levels: dict[str, list[str]] = defaultdict(list)
    for row in rows(inputs.tables, "hoogste_opleiding", rins=all_parents):
        if not is_missing(row["opleidingsniveau"]):
            levels[row["rin"]].append(row["opleidingsniveau"])

    members = []
    for rin in aged_14:
        niveau, _leerjaar = pupils[rin]
        group = parents_group(level for parent in parents[rin] for level in levels[parent])
        category = "havo_vwo" if niveau in HAVO_VWO_LEVELS else "overig"
        members.append((rin, group, category))
        report["veertienjarigen_with_parent_link"] += bool(parents[rin])
        report["veertienjarigen_parents_education_known"] += group != "onbekend"
    return members


POPULATION_FUNCTIONS = {
    PopulationId.GROEP8: groep8,
    PopulationId.VMBO_GT_GESLAAGD: vmbo_gt_geslaagd,
    PopulationId.MBO4_DIPLOMA: mbo4_diploma,
    PopulationId.TRANSITIE: transitie,
    PopulationId.VEERTIENJARIGEN: veertienjarigen,
}


# --- counting -------------------------------------------------------------------------------------


def compute_aggregates(
    tables: Mapping[str, pd.DataFrame],
    geography: Geography,
    schooljaar: int,
    data_fingerprint: str = "",
) -> AggregateTable:
    """Exact counts per wijk x population x breakdown x category for reference year t."""
    t = int(schooljaar)
    inputs = Inputs(tables, t, geography)
    report: dict[str, int] = dict.fromkeys(RUN_REPORT, 0)
    counter: Counter[tuple[str, str, str, str]] = Counter()

    for population, members_of in POPULATION_FUNCTIONS.items():
        p = population.value
        for rin, breakdown, category in members_of(inputs, report):
            report[f"{p}_population"] += 1
            place = inputs.home.get(rin, NO_ADDRESS)
            if place in (NO_ADDRESS, AMBIGUOUS_ADDRESS, UNKNOWN_WIJK):
                report[f"{p}_left_out_{place}"] += 1
            else:
                report[f"{p}_counted"] += 1
                counter[(p, breakdown, category, place)] += 1

    with_birth_date = {
        row["rin"]
        for row in rows(tables, "persoon", rins=inputs.enrolment_t)
        if not is_missing(row["geboortejaar"]) and not is_missing(row["geboortemaand"])
    }
    report["vo_pupils_t"] = len(inputs.enrolment_t)
    report["vo_pupils_t_plus_1"] = len(inputs.enrolment_t1)
    report["vo_pupils_t_age_unknown"] = len(set(inputs.enrolment_t) - with_birth_date)

    cells = []
    for population in sorted(POPULATIONS, key=lambda p: p.value):
        spec = POPULATIONS[population]
        for breakdown in sorted(spec.breakdowns):
            for category in sorted(spec.categories):
                for wijkcode in sorted(geography.wijken):
                    key = (population.value, breakdown, category, wijkcode)
                    cells.append((*key, counter.pop(key, 0)))
    if counter:
        raise InternalError("REFERENCE_CATEGORY", "a pupil was counted outside the population keys")
    counts = pd.DataFrame(cells, columns=list(COUNT_COLUMNS))
    counts = counts.astype({**dict.fromkeys(COUNT_COLUMNS[:-1], "str"), "count": "int64"})
    return AggregateTable(
        schooljaar=t,
        counts=counts,
        geography=geography,
        data_fingerprint=data_fingerprint,
        run_report=report,
    )
