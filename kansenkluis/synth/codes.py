"""The simulation's codes as small integers: vo classes, their ranks and moves, ho kinds and
parents' education groups (the tables turn them back into the codes of docs/input-tables.md).

A vo class is its position in ``ADVICE_CODES``, so an advice and a brugklas share one number.
"""

from __future__ import annotations

import numpy as np

from kansenkluis.domain import OPLEIDINGSNIVEAUS, PARENT_GROUP, PARENT_GROUPS

PRO, B, BK, K, KGT, GT, GTH, HAVO, HV, VWO = range(10)
SINGLE = np.array([B, K, GT, HAVO, VWO])
#: rank index 0-4 of a single level (vmbo_b ... vwo), -1 for pro and combined classes
RANK = np.full(10, -1, np.int8)
RANK[SINGLE] = np.arange(5)
UP = np.full(10, -1, np.int8)
UP[[B, K, GT, HAVO]] = [K, GT, HAVO, VWO]
DOWN = np.full(10, -1, np.int8)
DOWN[[K, GT, HAVO, VWO]] = [B, K, GT, HAVO]
#: the two single levels a combined brugklas splits into
LO = np.full(10, -1, np.int8)
HI = np.full(10, -1, np.int8)
LO[[BK, KGT, GTH, HV]] = [B, K, GT, HAVO]
HI[[BK, KGT, GTH, HV]] = [K, GT, HAVO, VWO]
#: last leerjaar per class: the exam year of a single level, the last pro year; combined
#: classes only exist in leerjaar 1-2 so their value is never reached
FINAL_LJ = np.array([5, 4, 9, 4, 9, 4, 9, 5, 9, 6], np.int8)

#: kinds of higher education, and their codes in ho_inschrijving
HBO, WO = 0, 1
SOORT = ("hbo", "wo")

#: parents' education group (PARENT_GROUPS index) of each OPLEIDINGSNIVEAUS index
PARENT_GROUP_INDEX = np.array(
    [PARENT_GROUPS.index(PARENT_GROUP[lvl]) for lvl in OPLEIDINGSNIVEAUS], np.int8
)
ONBEKEND = PARENT_GROUPS.index("onbekend")
