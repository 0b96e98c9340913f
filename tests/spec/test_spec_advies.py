"""Heroverweging and bijstelling (groep 8)

Both indicators come from one population: groep-8 pupils with a schooladvies and a
toetsadvies. Advice positions run pro 0, vmbo_b 1, vmbo_bk 2, vmbo_k 3, vmbo_kgt 4,
vmbo_gt 5, vmbo_gt_havo 6, havo 7, havo_vwo 8, vwo 9.
"""

# The pipe tables are data that double as docs: aligned rows beat wrapped ones.
# ruff: noqa: E501

import pytest

from indicators.docs import SpecCase

CASES = (
    SpecCase(
        name="heroverweging_basis",
        title="A toetsadvies above the schooladvies means a heroverweging",
        tables={
            "po_advies": """
                rin | schooljaar | schooladvies | toetsadvies | advies_definitief | toelichting
                a   | 2022       | havo         | havo        | havo              | equal: no heroverweging
                b   | 2022       | vmbo_gt      | havo        | havo              | heroverweging, bijgesteld
                c   | 2022       | vmbo_gt      | havo        | vmbo_gt           | heroverweging, not bijgesteld
                d   | 2022       | havo         | vmbo_gt     | havo              | toets lower: no heroverweging
                e   | 2022       | vmbo_k       | vmbo_gt     | vmbo_k            | heroverweging, not bijgesteld
                f   | 2022       | havo         |             | havo              | no toetsadvies: not counted
                g   | 2021       | vmbo_b       | vmbo_k      | vmbo_k            | other school year
            """
        },
        expect={"heroverweging": (3, 5), "bijstelling": (1, 3)},
        why="Pupils a-e have both advices (denominator 5); b, c and e got a higher toetsadvies "
        "(3). Of those three only b's definitive advice went up (1 of 3).",
        report={"groep8_population": 5, "groep8_missing_advice": 1},
    ),
    SpecCase(
        name="gecombineerde_adviezen",
        title="A combined advice sits between its two levels",
        tables={
            "po_advies": """
                rin | schooljaar | schooladvies | toetsadvies  | advies_definitief | toelichting
                a   | 2022       | vmbo_gt      | vmbo_gt_havo | vmbo_gt_havo      | 6 > 5: heroverweging, bijgesteld
                b   | 2022       | vmbo_gt_havo | havo         | vmbo_gt_havo      | 7 > 6: heroverweging, not bijgesteld
                c   | 2022       | havo_vwo     | havo         | havo_vwo          | 7 < 8: no heroverweging
                d   | 2022       | vmbo_k       | vmbo_kgt     | vmbo_gt           | 4 > 3: heroverweging, bijgesteld
                e   | 2022       | vmbo_kgt     | vmbo_k       | vmbo_kgt          | 3 < 4: no heroverweging
                f   | 2022       | havo         | havo_vwo     | havo_vwo          | 8 > 7: heroverweging, bijgesteld
            """
        },
        expect={"heroverweging": (4, 6), "bijstelling": (3, 4)},
        why="CBS counts a combined advice as 'afwijkend': vmbo_gt_havo is above vmbo_gt and "
        "below havo, so a toetsadvies of vmbo_gt_havo after a schooladvies of vmbo_gt asks for "
        "a heroverweging.",
    ),
    SpecCase(
        name="definitief_ontbreekt",
        title="A missing or lower definitive advice is no bijstelling",
        tables={
            "po_advies": """
                rin | schooljaar | schooladvies | toetsadvies | advies_definitief | toelichting
                a   | 2022       | vmbo_gt      | havo        |                   | definitive advice missing
                b   | 2022       | vmbo_gt      | havo        | vmbo_k            | school lowered the advice
                c   | 2022       | vmbo_gt      | havo        | havo              | bijgesteld
                d   | 2022       |              | havo        | havo              | no schooladvies: not counted
            """
        },
        expect={"heroverweging": (3, 3), "bijstelling": (1, 3)},
        report={"groep8_missing_advice": 1},
    ),
    SpecCase(
        name="dubbele_adviesrij",
        title="A pupil with two advice rows counts once, in the highest category",
        tables={
            "po_advies": """
                rin | schooljaar | schooladvies | toetsadvies | advies_definitief | toelichting
                a   | 2022       | vmbo_gt      | havo        | havo              | met bijstelling
                a   | 2022       | vmbo_gt      | vmbo_gt     | vmbo_gt           | geen heroverweging
                b   | 2022       | havo         | vwo         | havo              | zonder bijstelling
                b   | 2022       | havo         | vwo         | havo              | exact duplicate
                c   | 2022       | havo         |             |                   | row without toetsadvies
                c   | 2022       | havo         | havo        | havo              | geen heroverweging
            """
        },
        expect={"heroverweging": (2, 3), "bijstelling": (1, 2)},
        why="Ingest rejects duplicate keys, so this only guards the engines: a, b and c are "
        "three pupils, whatever the number of rows.",
        report={"groep8_population": 3, "groep8_missing_advice": 0},
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_groep8(spec, case):
    spec(case)
