"""Opleidingsmobiliteit (veertienjarigen by parents' education)

Pupils aged 14 on 1 October of t and enrolled in vo in t; the numerator is those in havo,
havo_vwo or vwo. The breakdown is the group of the highest known opleidingsniveau of either
parent: basis, mbo1, mbo2 → max_mbo2; mbo3, mbo4, havo_vwo → mbo3_4; hbo, wo →
hoger_onderwijs; no parent with a known level → onbekend.
"""

import pytest

from indicators.docs import SpecCase

CASES = (
    SpecCase(
        name="oktoberkinderen",
        title="Age on 1 October: October births around age 14",
        tables={
            "persoon": """
                rin | geboortejaar | geboortemaand | toelichting
                a   | 2008         | 9             | 14 on 1 October 2022
                b   | 2008         | 10            | 13: turns 14 in October 2022, after 1 October
                c   | 2007         | 10            | 14: turns 15 only in October 2022
                d   | 2007         | 9             | 15
                e   | 2008         | 1             | 14, not in vo (still in primary school)
                f   | 2008         |               | birth month unknown: age unknown
            """,
            "vo_inschrijving": """
                rin | schooljaar | niveau  | leerjaar
                a   | 2022       | havo    | 2
                b   | 2022       | havo    | 2
                c   | 2022       | vmbo_k  | 3
                d   | 2022       | vwo     | 3
                f   | 2022       | vwo     | 2
            """,
        },
        expect={"opleidingsmobiliteit[onbekend]": (1, 2), "opleidingsmobiliteit": (1, 2)},
        why="CBS takes age on 1 October of t as t - geboortejaar, minus one for births in "
        "October-December: a and c are 14, b is 13 and d is 15. No parents are known, so both "
        "fall under onbekend.",
        report={
            "veertienjarigen_population": 2,
            "vo_pupils_t": 5,
            "vo_pupils_t_age_unknown": 1,
        },
    ),
    SpecCase(
        name="ouders",
        title="Parents' education: highest known parent, one parent, unknown parents",
        tables={
            "persoon": """
                rin | geboortejaar | geboortemaand
                a   | 2008         | 1
                b   | 2008         | 2
                c   | 2008         | 3
                d   | 2008         | 4
                e   | 2008         | 5
                f   | 2008         | 6
                g   | 2008         | 7
            """,
            "vo_inschrijving": """
                rin | schooljaar | niveau   | leerjaar
                a   | 2022       | havo     | 3
                b   | 2022       | vmbo_k   | 3
                c   | 2022       | havo_vwo | 2
                d   | 2022       | vwo      | 3
                e   | 2022       | pro      | 3
                f   | 2022       | havo     | 3
                g   | 2022       | vmbo_gt  | 3
            """,
            "kind_ouder": """
                rin | rin_ouder1 | rin_ouder2 | toelichting
                a   | p1         | p2         | wo and mbo2: hoger_onderwijs
                b   | p3         |            | one parent, havo_vwo: mbo3_4
                d   | p4         | p5         | p4 unknown level, p5 mbo1: max_mbo2
                e   | p6         |            | parent without a known level: onbekend
                f   | p7         | p8         | basis and mbo4: mbo3_4
                g   |            | p9         | only the second parent: basis, max_mbo2
            """,
            "hoogste_opleiding": """
                rin | opleidingsniveau
                p1  | wo
                p2  | mbo2
                p3  | havo_vwo
                p5  | mbo1
                p7  | basis
                p8  | mbo4
                p9  | basis
            """,
        },
        expect={
            "opleidingsmobiliteit[hoger_onderwijs]": (1, 1),
            "opleidingsmobiliteit[mbo3_4]": (1, 2),
            "opleidingsmobiliteit[max_mbo2]": (1, 2),
            "opleidingsmobiliteit[onbekend]": (1, 2),
            "opleidingsmobiliteit": (4, 7),
        },
        why="c has no kind_ouder row and e's parent has no known level: both onbekend. "
        "havo_vwo parents count as mbo3_4; a havo_vwo class counts as havo/vwo for c.",
        report={
            "veertienjarigen_with_parent_link": 6,
            "veertienjarigen_parents_education_known": 5,
        },
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_opleidingsmobiliteit(spec, case):
    spec(case)
