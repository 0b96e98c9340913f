"""Opstroom, afstroom and zittenblijven (the transition population)

The transition population of t: pupils in vo on 1 October of t in leerjaar 3 or higher at a
single level (vmbo_b 1 < vmbo_k 2 < vmbo_gt 3 < havo 4 < vwo 5), without a passed exam in t,
who are in vo again on 1 October of t+1. Each falls in exactly one of opstroom, afstroom,
zittenblijven and overig; the breakdown is the origin group of the level in t.
"""

# The pipe tables are data that double as docs: aligned rows beat wrapped ones.
# ruff: noqa: E501

import pytest

from indicators.docs import SpecCase

CASES = (
    SpecCase(
        name="havo",
        title="Havo pupils: up, down, repeating, and who is not in the population",
        tables={
            "vo_inschrijving": """
                rin | schooljaar | niveau       | leerjaar | toelichting
                a   | 2022       | havo         | 3        | to vwo 4: opstroom
                a   | 2023       | vwo          | 4        |
                b   | 2022       | havo         | 3        | havo 3 again: zittenblijven
                b   | 2023       | havo         | 3        |
                c   | 2022       | havo         | 4        | to vmbo_gt 4: afstroom
                c   | 2023       | vmbo_gt      | 4        |
                d   | 2022       | havo         | 4        | to havo 5: overig (normal progress)
                d   | 2023       | havo         | 5        |
                e   | 2022       | havo         | 2        | leerjaar 2: not in the population
                e   | 2023       | vwo          | 3        |
                f   | 2022       | havo         | 5        | passed exam: not in the population
                f   | 2023       | vwo          | 5        |
                g   | 2022       | havo         | 5        | failed exam, havo 5 again: zittenblijven
                g   | 2023       | havo         | 5        |
                h   | 2022       | vmbo_gt_havo | 3        | combined class: not in the population
                h   | 2023       | havo         | 4        |
                i   | 2022       | havo         | 3        | left vo: not in the population
            """,
            "vo_examen": """
                rin | schooljaar | niveau | geslaagd
                f   | 2022       | havo   | ja
                g   | 2022       | havo   | nee
            """,
        },
        expect={
            "opstroom[havo]": (1, 5),
            "afstroom[havo]": (1, 5),
            "zittenblijven[havo]": (2, 5),
        },
        why="a, b, c, d and g form the population (5). A failed exam year repeated (g) is "
        "zittenblijven, as CBS counts it.",
        report={
            "transitie_candidates": 7,
            "transitie_candidates_passed_exam": 1,
            "transitie_candidates_not_enrolled_next_year": 1,
            "transitie_population": 5,
        },
    ),
    SpecCase(
        name="vmbo",
        title="Vmbo pupils: b, k and gt are one origin group",
        tables={
            "vo_inschrijving": """
                rin | schooljaar | niveau       | leerjaar | toelichting
                a   | 2022       | vmbo_b       | 3        | to vmbo_k: opstroom
                a   | 2023       | vmbo_k       | 4        |
                b   | 2022       | vmbo_gt      | 4        | to havo 4 without exam: opstroom
                b   | 2023       | havo         | 4        |
                c   | 2022       | vmbo_k       | 3        | to vmbo_b: afstroom
                c   | 2023       | vmbo_b       | 4        |
                d   | 2022       | vmbo_gt      | 3        | to a combined class: overig
                d   | 2023       | vmbo_gt_havo | 4        |
                e   | 2022       | vmbo_gt      | 4        | passed, to havo: stapelen, not opstroom
                e   | 2023       | havo         | 4        |
                f   | 2022       | vmbo_k       | 3        | to pro: overig (pro has no rank)
                f   | 2023       | pro          | 4        |
                g   | 2022       | vmbo_gt      | 4        | failed exam, to mbo: not in the population
            """,
            "vo_examen": """
                rin | schooljaar | niveau  | geslaagd
                e   | 2022       | vmbo_gt | ja
                g   | 2022       | vmbo_gt | nee
            """,
        },
        expect={
            "opstroom[vmbo]": (2, 5),
            "afstroom[vmbo]": (1, 5),
            "zittenblijven[vmbo]": (0, 5),
            "stapelen_vo": (1, 1),
        },
        why="a, b, c, d and f form the population (5). e passed the vmbo_gt exam, so e counts "
        "for stapelen in vo and not for opstroom.",
        report={"transitie_candidates": 7, "transitie_population": 5},
    ),
    SpecCase(
        name="vwo",
        title="Vwo pupils can only go down or stay",
        tables={
            "vo_inschrijving": """
                rin | schooljaar | niveau | leerjaar | toelichting
                a   | 2022       | vwo    | 4        | to havo 4: afstroom
                a   | 2023       | havo   | 4        |
                b   | 2022       | vwo    | 4        | to havo 5: afstroom
                b   | 2023       | havo   | 5        |
                c   | 2022       | vwo    | 5        | vwo 5 again: zittenblijven
                c   | 2023       | vwo    | 5        |
                d   | 2022       | vwo    | 3        | to vwo 4: overig
                d   | 2023       | vwo    | 4        |
            """
        },
        expect={"afstroom[vwo]": (2, 4), "zittenblijven[vwo]": (1, 4)},
        why="There is no opstroom for vwo: the indicator has no vwo breakdown.",
    ),
    SpecCase(
        name="hoofdinschrijving",
        title="Two enrolments in one year: the highest level counts, once",
        tables={
            "vo_inschrijving": """
                rin | schooljaar | niveau | leerjaar | toelichting
                a   | 2022       | havo   | 3        | two schools in 2022
                a   | 2022       | vwo    | 3        | the hoofdinschrijving: vwo 3
                a   | 2023       | havo   | 4        | afstroom from vwo
                b   | 2022       | havo   | 4        |
                b   | 2023       | havo   | 4        | duplicate row: still one pupil
                b   | 2023       | havo   | 4        | zittenblijven
                c   | 2022       | havo   | 3        |
                c   | 2023       | havo   | 3        | same level, leerjaar 3 and 4:
                c   | 2023       | havo   | 4        | leerjaar 4 counts, so overig
            """
        },
        expect={
            "afstroom[vwo]": (1, 1),
            "zittenblijven[havo]": (1, 2),
            "opstroom[havo]": (0, 2),
        },
        why="Ingest rejects duplicate keys; this guards the engines. Like CBS's "
        "hoofdinschrijving, the enrolment with the highest level, then the highest leerjaar, "
        "is the pupil's enrolment of that year.",
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_transitie(spec, case):
    spec(case)
