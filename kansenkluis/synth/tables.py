"""Stage 6, tables: the states of school years 2018-2023 become the 11 input tables.

Rows come in the order CBS files have (by year, then by rin); rins are random 9-digit numbers
that say nothing about the person; school numbers become random BRIN codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kansenkluis.domain import ADVICE_CODES, EXAM_LEVELS, INPUT_TABLES, OPLEIDINGSNIVEAUS
from kansenkluis.errors import InternalError
from kansenkluis.synth.addresses import Addresses
from kansenkluis.synth.calibration import SCHOOLJAREN
from kansenkluis.synth.careers import Careers
from kansenkluis.synth.codes import RANK, SOORT
from kansenkluis.synth.columns import ascii_rows, code_column, rin_digits, string_column
from kansenkluis.synth.geography import Geography
from kansenkluis.synth.groep8 import Groep8
from kansenkluis.synth.people import People

_LETTERS = [chr(ord("A") + i) for i in range(26)]


@dataclass(frozen=True)
class Tables:
    """The input tables by name, in ``INPUT_TABLES`` order."""

    tables: Mapping[str, pa.Table]

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables.items()}


def _rins(n_pupils: int, n_parents: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Unique random rins, increasing with the pupil number and with the parent number.

    Pupils and parents are numbered in random order (see ``people.py``), so rows in number order
    are rows in rin order, as CBS files are, while the rin says nothing about the person.
    """
    total = n_pupils + n_parents
    mean_gap = int(0.9e9 // total)
    values = np.cumsum(rng.integers(1, 2 * mean_gap, total, dtype=np.int64))
    if values[-1] >= 10**9:  # pragma: no cover - needs ~sqrt(total) standard deviations
        raise InternalError("SYNTH_RIN_RANGE", "rin numbers ran past 9 digits")
    # an exact-size random subset of the sorted numbers goes to pupils
    is_pupil = np.zeros(total, bool)
    if n_pupils:
        is_pupil[np.argpartition(rng.random(total), n_pupils - 1)[:n_pupils]] = True
    return values[is_pupil], values[~is_pupil]


def build_tables(
    people: People,
    groep8: Groep8,
    c: Careers,
    addresses: Addresses,
    geo: Geography,
    rng: np.random.Generator,
) -> Tables:
    """Every input table of one simulated world."""
    n, n_parents = people.n, len(people.parent_level)
    y0 = SCHOOLJAREN[0]
    pupil_rin, parent_rin = _rins(n, n_parents, rng)
    pupil_digits = rin_digits(pupil_rin)

    n_schools = int(max(groep8.po_school.max(), groep8.vo_school.max())) + 1
    pool = [f"{d:02d}{a}{b}" for d in range(100) for a in _LETTERS for b in _LETTERS]
    brin = ascii_rows([pool[i] for i in rng.choice(len(pool), n_schools, replace=False)])
    wijkcode = ascii_rows(geo.frame["wijkcode"].tolist())

    def rows(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # flat positions, pupil numbers and year rows of the True cells, by year then by rin
        flat = np.flatnonzero(mask)
        col = flat // n
        return flat, flat - col * n, col

    def table(name: str, columns: list[pa.Array]) -> pa.Table:
        return pa.Table.from_arrays(columns, names=list(INPUT_TABLES[name]))

    def int32(values: np.ndarray) -> pa.Array:
        return pa.array(values.astype(np.int32), pa.int32())

    def rin(idx: np.ndarray) -> pa.Array:
        return string_column(pupil_digits[idx])

    out: dict[str, pa.Table] = {}
    po = np.flatnonzero(~people.adult & ~people.no_po & (people.cohort >= y0))
    po = po[np.argsort(people.cohort[po], kind="stable")]
    out["po_advies"] = table(
        "po_advies",
        [
            rin(po),
            int32(people.cohort[po]),
            string_column(brin[groep8.po_school[po]]),
            code_column(ADVICE_CODES, groep8.schooladvies[po].astype(np.int64)),
            code_column(ADVICE_CODES, groep8.toetsadvies[po].astype(np.int64)),
            code_column(ADVICE_CODES, groep8.definitief[po].astype(np.int64)),
        ],
    )

    flat, idx, col = rows(c.vo_niv >= 0)
    out["vo_inschrijving"] = table(
        "vo_inschrijving",
        [
            rin(idx),
            int32(col + y0),
            string_column(brin[groep8.vo_school[idx]]),
            code_column(ADVICE_CODES, c.vo_niv.ravel()[flat].astype(np.int64)),
            int32(c.vo_lj.ravel()[flat]),
        ],
    )

    flat, idx, col = rows(c.ex_niv >= 0)
    out["vo_examen"] = table(
        "vo_examen",
        [
            rin(idx),
            int32(col + y0),
            code_column(EXAM_LEVELS, RANK[c.ex_niv.ravel()[flat]].astype(np.int64)),
            pa.array(c.ex_pass.ravel()[flat], pa.bool_()),
        ],
    )

    for name, matrix in (("mbo_inschrijving", c.mbo), ("mbo_diploma", c.mbo_dipl)):
        flat, idx, col = rows(matrix > 0)
        out[name] = table(name, [rin(idx), int32(col + y0), int32(matrix.ravel()[flat])])

    flat, idx, col = rows(c.ho >= 0)
    out["ho_inschrijving"] = table(
        "ho_inschrijving",
        [rin(idx), int32(col + y0), code_column(SOORT, c.ho.ravel()[flat].astype(np.int64))],
    )

    # Persons: every pupil who shows up in a table, and their parents.
    appears = np.zeros(n, bool)
    appears[po] = True
    appears |= (c.vo_niv >= 0).any(axis=0) | (c.mbo > 0).any(axis=0) | (c.ho >= 0).any(axis=0)
    kids = np.flatnonzero(appears)
    par = people.parents[kids]
    parent_seen = np.zeros(n_parents, bool)
    parent_seen[par[par >= 0]] = True
    pars = np.flatnonzero(parent_seen)
    parent_digits = rin_digits(parent_rin)

    rin_all = np.concatenate([pupil_rin[kids], parent_rin[pars]])
    order = np.argsort(rin_all, kind="stable")
    out["persoon"] = table(
        "persoon",
        [
            string_column(np.concatenate([pupil_digits[kids], parent_digits[pars]])[order]),
            int32(np.concatenate([people.birth_year[kids], people.parent_birth_year[pars]])[order]),
            int32(
                np.concatenate([people.birth_month[kids], people.parent_birth_month[pars]])[order]
            ),
        ],
    )
    out["kind_ouder"] = table(
        "kind_ouder",
        [
            rin(kids),
            string_column(parent_digits[np.maximum(par[:, 0], 0)], valid=par[:, 0] >= 0),
            string_column(parent_digits[np.maximum(par[:, 1], 0)], valid=par[:, 1] >= 0),
        ],
    )
    known = pars[people.parent_known[pars]]
    out["hoogste_opleiding"] = table(
        "hoogste_opleiding",
        [
            string_column(parent_digits[known]),
            code_column(OPLEIDINGSNIVEAUS, people.parent_level[known].astype(np.int64)),
        ],
    )

    flat, idx, col = rows(addresses.adres)
    out["adres"] = table(
        "adres", [rin(idx), int32(col + y0), string_column(wijkcode[addresses.wijk.ravel()[flat]])]
    )

    out["geografie"] = pa.Table.from_pandas(
        geo.frame[list(INPUT_TABLES["geografie"])], preserve_index=False
    )
    return Tables({name: out[name] for name in INPUT_TABLES})
