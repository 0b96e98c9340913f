"""Stapelen in vo and in mbo

Stapelen in vo: of the pupils who passed a vmbo_gt exam in t, the share enrolled in havo on
1 October of t+1. Stapelen in mbo: of the students with an mbo level-4 diploma in t, the share
enrolled in hbo in t+1.
"""

import pytest

from indicators.docs import SpecCase

CASES = (
    SpecCase(
        name="vmbo_gt_naar_havo_of_mbo",
        title="vmbo-gt graduates who go to havo count, those who go to mbo do not",
        tables={
            "vo_examen": """
                rin | schooljaar | niveau  | geslaagd | toelichting
                a   | 2022       | vmbo_gt | ja       | passed, havo next year
                b   | 2022       | vmbo_gt | ja       | passed, mbo next year
                c   | 2022       | vmbo_gt | nee      | failed: not in the population
                d   | 2022       | vmbo_k  | ja       | other level
                e   | 2021       | vmbo_gt | ja       | other exam year
                f   | 2022       | vmbo_gt | ja       | passed, havo only in t+2
                g   | 2022       | vmbo_gt | ja       | passed, straight to vwo
            """,
            "vo_inschrijving": """
                rin | schooljaar | niveau  | leerjaar
                a   | 2022       | vmbo_gt | 4
                a   | 2023       | havo    | 4
                c   | 2023       | vmbo_gt | 4
                e   | 2022       | havo    | 4
                f   | 2024       | havo    | 4
                g   | 2023       | vwo     | 4
            """,
            "mbo_inschrijving": """
                rin | schooljaar | niveau
                b   | 2023       | 4
                f   | 2023       | 4
            """,
        },
        expect={"stapelen_vo": (1, 4)},
        why="a, b, f and g passed a vmbo_gt exam in 2022 (4). Only a is in havo on "
        "1 October 2023; f goes to havo a year later, g to vwo, b to mbo.",
        report={"vmbo_gt_geslaagd_population": 4, "vmbo_gt_geslaagd_found_next_year": 4},
    ),
    SpecCase(
        name="twee_examenrijen",
        title="A pupil with two exam rows counts once",
        tables={
            "vo_examen": """
                rin | schooljaar | niveau  | geslaagd | toelichting
                a   | 2022       | vmbo_gt | nee      | first attempt failed
                a   | 2022       | vmbo_gt | ja       | herexamen passed
                b   | 2022       | vmbo_gt | ja       | duplicate row
                b   | 2022       | vmbo_gt | ja       | duplicate row
            """,
            "vo_inschrijving": """
                rin | schooljaar | niveau | leerjaar
                a   | 2023       | havo   | 4
                b   | 2023       | havo   | 4
                b   | 2023       | havo   | 4
            """,
        },
        expect={"stapelen_vo": (2, 2)},
    ),
    SpecCase(
        name="mbo4_naar_hbo",
        title="mbo-4 graduates who enrol in hbo the next year count",
        tables={
            "mbo_diploma": """
                rin | schooljaar | niveau | toelichting
                a   | 2022       | 4      | hbo next year
                b   | 2022       | 4      | wo next year: not hbo
                c   | 2022       | 3      | level 3: not in the population
                d   | 2022       | 4      | hbo only in t+2
                e   | 2022       | 4      | two level-4 diplomas, hbo next year
                e   | 2022       | 4      |
                f   | 2022       | 4      | hbo and wo next year
                g   | 2021       | 4      | other diploma year
            """,
            "ho_inschrijving": """
                rin | schooljaar | soort
                a   | 2023       | hbo
                b   | 2023       | wo
                c   | 2023       | hbo
                d   | 2024       | hbo
                e   | 2023       | hbo
                f   | 2023       | hbo
                f   | 2023       | wo
                g   | 2022       | hbo
            """,
        },
        expect={"stapelen_mbo": (3, 5)},
        why="a, b, d, e and f have a level-4 diploma in 2022 (5); a, e and f are in hbo on "
        "1 October 2023 (3).",
        report={"mbo4_diploma_population": 5, "mbo4_diploma_found_next_year": 4},
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_stapelen(spec, case):
    spec(case)
