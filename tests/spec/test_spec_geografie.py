"""Geography: the wijk in the reference year

Every population is placed by the pupil's adres in the reference year t. A pupil without an
adres row in t, with rows naming two wijken, or with a wijkcode outside the geography is left
out of every cell and counted in the run report, so that the nation is exactly the sum of its
wijken.
"""

import pytest

from indicators.docs import SpecCase

ADVIEZEN = """
    rin | schooljaar | schooladvies | toetsadvies | advies_definitief
    a   | 2022       | vmbo_gt      | havo        | havo
    b   | 2022       | vmbo_gt      | havo        | vmbo_gt
    c   | 2022       | havo         | havo        | havo
    d   | 2022       | vmbo_gt      | havo        | havo
    e   | 2022       | vmbo_gt      | havo        | havo
    f   | 2022       | havo         | vwo         | havo
    g   | 2022       | havo         | havo        | havo
"""

CASES = (
    SpecCase(
        name="geen_adres",
        title="Pupils without a usable address are left out of every cell",
        tables={
            "po_advies": ADVIEZEN,
            "adres": """
                rin | schooljaar | wijkcode | toelichting
                a   | 2022       | WK000100 |
                b   | 2022       | WK000101 |
                c   | 2022       | WK000200 | another gemeente
                d   | 2021       | WK000100 | address only in another year: no address in t
                e   | 2022       | WK999999 | wijk not in the geography
                f   | 2022       | WK000100 | two wijken in t: ambiguous
                f   | 2022       | WK000101 |
                g   | 2022       | WK000200 | the same row twice is one address
                g   | 2022       | WK000200 |
            """,
        },
        expect={
            "heroverweging": (2, 4),
            "heroverweging@WK000100": (1, 1),
            "heroverweging@WK000101": (1, 1),
            "heroverweging@WK000200": (0, 2),
            "bijstelling": (1, 2),
        },
        why="Of the seven groep-8 pupils, d, e and f cannot be placed in a wijk. The four "
        "others are counted where they live; the national figure is their sum.",
        report={
            "groep8_population": 7,
            "groep8_counted": 4,
            "groep8_left_out_no_address": 1,
            "groep8_left_out_unknown_wijk": 1,
            "groep8_left_out_ambiguous_address": 1,
        },
    ),
    SpecCase(
        name="verhuizing",
        title="A pupil who moves between t and t+1 counts in the wijk of t",
        tables={
            "vo_inschrijving": """
                rin | schooljaar | niveau | leerjaar
                a   | 2022       | havo   | 3
                a   | 2023       | vwo    | 4
                b   | 2022       | havo   | 3
                b   | 2023       | havo   | 4
            """,
            "adres": """
                rin | schooljaar | wijkcode | toelichting
                a   | 2022       | WK000100 | moves to WK000200 in 2023
                a   | 2023       | WK000200 |
                b   | 2023       | WK000100 | address only in t+1: left out
            """,
        },
        expect={
            "opstroom[havo]@WK000100": (1, 1),
            "opstroom[havo]@WK000200": (0, 0),
            "opstroom[havo]": (1, 1),
        },
        report={"transitie_population": 2, "transitie_left_out_no_address": 1},
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_geografie(spec, case):
    spec(case)
