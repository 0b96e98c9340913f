"""The synthetic world as CBS remote-access files (``kluis synth --layout cbs``).

``kansenkluis.synth.generate`` simulates the world and builds the input tables; this module
writes the same world the way CBS delivers it (``docs/cbs-layout.md``): SPSS ``.sav`` files with CBS
variable names, CBS codes with value labels, version suffixes, one file per school year, and the
quirks of the real files. It deliberately does not read the ingest mapping
(``kansenkluis/data/cbs-layout.toml``): the codes here are written from CBS's code lists, so a
mistake in the mapping shows up as a difference between the two layouts of one world.

Quirks written on purpose: RINPERSOONS other than ``R`` (with the RINPERSOON of a real pupil),
``WPOLEERJAAR`` as ``" 8"`` and groep-7 rows, LWOO and combined advice codes, a revised advice
only where the advice changed, missing parents as ``---------``, ``----`` and ``9999`` for an
unknown level, HOOGSTEOPLTAB as a sample spread over two years with two column names, OPLNR with
leading zeros against a numeric reference list, address spells that end 20501231 when open,
back-to-back spells at one address, gaps abroad and objects without a wijk (``----``), objects
outside the BAG in NIETVSLGWBTAB, wijk columns of two boundary years, and stale older versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from kansenkluis.domain import ADVICE_CODES, OPLEIDINGSNIVEAUS
from kansenkluis.synth.columns import rin_digits
from kansenkluis.synth.savfile import write_sav

GEOGRAPHY_YEAR = 2025
PERSON_YEAR = 2023  # GBAPERSOONTAB, KINDOUDERTAB and GBAADRESOBJECTBUS of this year
HOOGSTEOPL_YEARS = (2018, 2022)  # SOI 2016 column up to 2018, SOI 2021 column from 2019

#: CBS advice codes per advice class (LWOO variants and combined advices included).
ADVICE_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "pro": ("10", "11"),
    "vmbo_b": ("20", "21"),
    "vmbo_bk": ("22", "23"),
    "vmbo_k": ("30", "31"),
    "vmbo_kgt": ("32", "33", "34", "35"),
    "vmbo_gt": ("40", "41", "42", "43", "50", "51"),
    "vmbo_gt_havo": ("44", "52"),
    "havo": ("60",),
    "havo_vwo": ("61",),
    "vwo": ("70",),
}
ADVICE_LABELS: Mapping[str, str] = {
    "01": "VSO", "10": "Praktijkonderwijs", "11": "Pro t/m VMBO-BL", "20": "VMBO BL",
    "21": "VMBO BL met LWOO", "22": "VMBO BL t/m KL", "23": "VMBO BL t/m KL met LWOO",
    "30": "VMBO KL", "31": "KL met LWOO", "32": "KL t/m GL", "33": "KL t/m GL met LWOO",
    "34": "KL t/m TL", "35": "KL t/m TL met LWOO", "40": "VMBO GL", "41": "GL met LWOO",
    "42": "GL t/m TL", "43": "GL t/m TL met LWOO", "44": "GL t/m HAVO", "50": "VMBO TL",
    "51": "TL met LWOO", "52": "TL t/m HAVO", "60": "HAVO", "61": "HAVO-VWO", "70": "VWO",
    "80": "Geen specifiek advies mogelijk",
}  # fmt: skip
#: ONDERWIJSSOORTVO per vo class (as the shipped mapping believes them).
VO_SOORT: Mapping[str, str] = {
    "pro": "PRO", "vmbo_b": "VMBO-B", "vmbo_bk": "VMBO-BK", "vmbo_k": "VMBO-K",
    "vmbo_kgt": "VMBO-KGT", "vmbo_gt": "VMBO-GT", "vmbo_gt_havo": "VMBO-GT/HAVO",
    "havo": "HAVO", "havo_vwo": "HAVO/VWO", "vwo": "VWO",
}  # fmt: skip
#: SOI 2016/2021 level codes per opleidingsniveau (HOOGSTEOPLTAB) and per mbo level / ho kind.
SOI_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "basis": ("1111", "1112", "1211", "1212", "1221", "1222"),
    "mbo1": ("1213",),
    "mbo2": ("2111",),
    "mbo3": ("2112",),
    "mbo4": ("2121",),
    "havo_vwo": ("2131", "2132"),
    "hbo": ("3111", "3112", "3211"),
    "wo": ("3113", "3212", "3213"),
}
MBO_SOI = {1: "1213", 2: "2111", 3: "2112", 4: "2121"}
HO_SOI = {"hbo": ("3112", "3211", "3111"), "wo": ("3113", "3212")}
OBJECTS_PER_WIJK = 24
OTHER_TYPE_SHARE = 0.01  # rows of a non-R person (RINPERSOONS "O") added to a table


def write_cbs(tables: Mapping[str, pa.Table], out: Path, rng: np.random.Generator) -> int:
    """Write ``tables`` (one synthetic world) as CBS files under ``out``; returns files written."""
    return _Writer(out, rng).write(tables)


def _obj(values: np.ndarray | list[str] | pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A text column for ``savfile.write_sav`` (fixed-width bytes are written fastest)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    arr = np.asarray(values)
    return arr if arr.dtype.kind in "SU" else np.asarray(values, dtype=object)


def _str(values: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)


def _numbers(keys: pa.ChunkedArray) -> np.ndarray:
    """RINPERSOON keys (nine digits) as numbers, parsed by Arrow."""
    return keys.cast(pa.int64()).to_numpy()


def _keys(numbers: np.ndarray) -> np.ndarray:
    """Numbers back as nine-digit RINPERSOON keys with leading zeros (fixed-width bytes)."""
    return rin_digits(numbers).view("S9").ravel()


def _ymd(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as YYYYMMDD text."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = (d.astype("datetime64[M]") - d.astype("datetime64[Y]")).astype(np.int64) + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return (y * 10000 + m * 100 + dd).astype(str).astype(object)


def _oct1(years: np.ndarray) -> np.ndarray:
    """Day number of 1 October of each year."""
    return (
        (np.asarray(years, np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
        + np.timedelta64(273, "D")
        + np.where(_leap(np.asarray(years)), 1, 0).astype("timedelta64[D]")
    ).astype(np.int64)


def _isin(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``np.isin`` for strings (numpy compares object arrays pairwise)."""
    return pd.Series(values, dtype=object).isin(pd.Series(pool, dtype=object)).to_numpy()


def _leap(y: np.ndarray) -> np.ndarray:
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


class _Writer:
    def __init__(self, out: Path, rng: np.random.Generator) -> None:
        self.out = out
        self.rng = rng
        self.files = 0
        self._catalogue()

    # --- helpers ---------------------------------------------------------------------------

    def _sav(
        self,
        folder: str,
        name: str,
        columns: Mapping[str, np.ndarray],
        labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        path = self.out / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_sav(path, columns, labels)
        self.files += 1

    def _pick(self, variants: Mapping[str, tuple[str, ...]], codes: np.ndarray) -> np.ndarray:
        """A random CBS code of each class (None stays None)."""
        out = np.full(len(codes), None, dtype=object)
        u = self.rng.random(len(codes))
        for cls, options in variants.items():
            hit = codes == cls
            if hit.any():
                out[hit] = np.asarray(options, dtype=object)[
                    (u[hit] * len(options)).astype(np.int64)
                ]
        return out

    def _others(self, n: int) -> np.ndarray:
        """Row numbers to copy as rows of non-R persons (same RINPERSOON, another type)."""
        k = int(round(n * OTHER_TYPE_SHARE))
        return self.rng.choice(n, size=k, replace=False) if k else np.zeros(0, np.int64)

    def _catalogue(self) -> None:
        """OPLNR numbers per class and the reference lists OPLEIDINGSNRREF and CTOREF."""
        oplnr: list[str] = []
        cto: list[str] = []
        soort: list[str] = []
        cto_rows: list[tuple[str, str]] = []
        self.vo_oplnr: dict[str, tuple[str, ...]] = {}
        for i, cls in enumerate(ADVICE_CODES):
            nums: tuple[str, ...] = (str(1000 + 10 * i), str(1001 + 10 * i))
            self.vo_oplnr[cls] = nums
            oplnr += nums
            cto += ["", ""]
            soort += [VO_SOORT[cls]] * 2
        self.mbo_oplnr: dict[int, tuple[str, ...]] = {}
        for level, soi in MBO_SOI.items():
            nums = tuple(str(20000 + 100 * level + j) for j in range(3))
            self.mbo_oplnr[level] = nums
            for j, n in enumerate(nums):
                c = str(30000 + 100 * level + j)
                oplnr.append(n)
                cto.append(c)
                soort.append("")
                cto_rows.append((c, soi))
        self.ho_oplnr: dict[str, tuple[str, ...]] = {}
        for k, (kind, sois) in enumerate(HO_SOI.items()):
            nums = tuple(str(50000 + 100 * k + j) for j in range(len(sois)))
            self.ho_oplnr[kind] = nums
            for j, (n, soi) in enumerate(zip(nums, sois, strict=True)):
                c = str(60000 + 100 * k + j)
                oplnr.append(n)
                cto.append(c)
                soort.append("")
                cto_rows.append((c, soi))
        self.ref_oplnr = (oplnr, cto, soort)
        self.ref_cto = cto_rows

    # --- tables ----------------------------------------------------------------------------

    def write(self, t: Mapping[str, pa.Table]) -> int:
        self._references()
        self._po(t["po_advies"])
        self._onderwijs(t["vo_inschrijving"], t["mbo_inschrijving"], t["ho_inschrijving"])
        self._diplomas(t["mbo_diploma"])
        self._exams(t["vo_examen"])
        self._persons(t["persoon"], t["kind_ouder"])
        self._education_levels(t["hoogste_opleiding"], t["kind_ouder"])
        need = [t[name] for name in ("po_advies", "vo_inschrijving", "mbo_inschrijving")]
        self._addresses(t["adres"], t["geografie"], need)
        geo = t["geografie"].to_pandas()
        geo.to_csv(self.out / "geografie.csv", index=False)
        self.files += 1
        return self.files

    def _references(self) -> None:
        oplnr, cto, soort = self.ref_oplnr
        folder = "Referentiebestanden"
        # the list is numeric (no leading zeros); the enrolments write OPLNR as text with them
        self._sav(
            folder,
            "OPLEIDINGSNRREFV34.sav",
            {
                "OPLNR": np.asarray(oplnr, dtype=float),
                "CTO": _obj(cto),
                "ONDERWIJSSOORTVO": _obj(soort),
            },
        )
        # an older version with nothing in it that fits: reading it would fail loudly
        self._sav(
            folder,
            "OPLEIDINGSNRREFV33.sav",
            {"OPLNR": np.array([1.0]), "CTO": _obj(["1"]), "ONDERWIJSSOORTVO": _obj(["X"])},
        )
        self._sav(
            folder,
            "CTOREFV12.sav",
            {
                "CTO": _obj([c for c, _ in self.ref_cto]),
                "OPLNIVSOI2016AGG4HB": _obj([s for _, s in self.ref_cto]),
            },
        )

    def _po(self, po: pa.Table) -> None:
        years = po.column("schooljaar").to_numpy()
        rin = _str(po.column("rin"))
        brin = _str(po.column("brin"))
        school = _str(po.column("schooladvies"))
        toets = _str(po.column("toetsadvies"))
        final = _str(po.column("advies_definitief"))
        labels = {
            c: dict(ADVICE_LABELS) for c in ("WPOADVIESVO", "WPOTOETSADVIES", "WPOADVIESHERZ")
        }
        for year in np.unique(years):
            g8 = np.flatnonzero(years == year)
            g7 = np.flatnonzero(years == year + 1)  # next year's groep 8 sits in groep 7
            n8, n7 = len(g8), len(g7)
            advies = self._pick(ADVICE_VARIANTS, school[g8])
            advies[advies == None] = ""  # noqa: E711 - element-wise
            test = self._pick(ADVICE_VARIANTS, toets[g8])
            no_test = test == None  # noqa: E711
            test[no_test] = np.where(self.rng.random(int(no_test.sum())) < 0.5, "", "80")
            revised = (final[g8] != school[g8]) & (final[g8] != None)  # noqa: E711
            herz = np.full(n8, "", dtype=object)
            herz[revised] = self._pick(ADVICE_VARIANTS, final[g8][revised])
            others = self._others(n8)
            cols = {
                "RINPERSOONS": np.concatenate([np.full(n8 + n7, "R", object),
                                               np.full(len(others), "O", object)]),
                "RINPERSOON": np.concatenate([rin[g8], rin[g7], rin[g8][others]]),
                "WPOLEERJAAR": np.concatenate([np.full(n8, " 8", object),
                                               np.full(n7, " 7", object),
                                               np.full(len(others), " 8", object)]),
                "WPOBRIN_crypt": np.concatenate([brin[g8], brin[g7], brin[g8][others]]),
                # a non-R row carries a code no mapping knows: reading it would be an error
                "WPOADVIESVO": np.concatenate([advies, np.full(n7, "", object),
                                               np.full(len(others), "99", object)]),
                "WPOTOETSADVIES": np.concatenate([test, np.full(n7 + len(others), "", object)]),
                "WPOADVIESHERZ": np.concatenate([herz, np.full(n7 + len(others), "", object)]),
            }  # fmt: skip
            order = np.argsort(cols["RINPERSOON"], kind="stable")
            self._sav(
                "Onderwijs/INSCHRWPOTAB",
                f"INSCHRWPOTAB{year}V2.sav",
                {k: _obj(v[order]) for k, v in cols.items()},
                labels,
            )
            if year == years.min():  # a superseded version
                self._sav(
                    "Onderwijs/INSCHRWPOTAB",
                    f"INSCHRWPOTAB{year}V1.sav",
                    {k: _obj(v[order][:5]) if k != "WPOADVIESVO" else _obj(["99"] * min(5, n8))
                     for k, v in cols.items()},
                )  # fmt: skip

    def _onderwijs(self, vo: pa.Table, mbo: pa.Table, ho: pa.Table) -> None:
        vo_y, mbo_y, ho_y = (x.column("schooljaar").to_numpy() for x in (vo, mbo, ho))
        vo_rin, mbo_rin, ho_rin = (_str(x.column("rin")) for x in (vo, mbo, ho))
        vo_niv = _str(vo.column("niveau"))
        vo_lj = vo.column("leerjaar").to_numpy()
        vo_brin = _str(vo.column("brin"))
        mbo_niv = mbo.column("niveau").to_numpy()
        ho_soort = _str(ho.column("soort"))
        for year in np.unique(np.concatenate([vo_y, mbo_y, ho_y])):
            v, m, h = (np.flatnonzero(y == year) for y in (vo_y, mbo_y, ho_y))
            vo_opl = self._pick(self.vo_oplnr, vo_niv[v])
            mbo_opl = self._pick({str(k): o for k, o in self.mbo_oplnr.items()},
                                 mbo_niv[m].astype(str).astype(object))  # fmt: skip
            ho_opl = self._pick(self.ho_oplnr, ho_soort[h])
            # OPLNR with leading zeros; the reference list has them as numbers
            opl = np.concatenate([vo_opl, mbo_opl, ho_opl])
            padded = {o: o.zfill(6) for o in set(opl.tolist())}
            opl = pd.Series(opl, dtype=object).map(padded).to_numpy(dtype=object)
            kind = np.concatenate([
                np.full(len(v), "VO", object), np.full(len(m), "MBO", object),
                np.where(ho_soort[h] == "hbo", "HBO", "WO").astype(object),
            ])  # fmt: skip
            rin = np.concatenate([vo_rin[v], mbo_rin[m], ho_rin[h]])
            leerjaar = np.concatenate([vo_lj[v].astype(str).astype(object),
                                       np.full(len(m) + len(h), "", object)])  # fmt: skip
            brin = np.concatenate([vo_brin[v], np.full(len(m) + len(h), "", object)])
            soort = np.full(len(rin), "R", object)
            # adults in vavo (ignored by the mapping) and non-R rows with an unknown programme
            vavo = self.rng.choice(len(rin), size=max(1, len(rin) // 200), replace=False)
            others = self._others(len(rin))
            extra = len(vavo) + len(others)
            cols = {
                "RINPERSOONS": np.concatenate([soort, np.full(len(vavo), "R", object),
                                               np.full(len(others), "O", object)]),
                "RINPERSOON": np.concatenate([rin, rin[vavo], rin[others]]),
                "OPLNR": np.concatenate([opl, np.full(len(vavo), "000001", object),
                                         np.full(len(others), "999999", object)]),
                "TYPEONDERWIJS": np.concatenate([kind, np.full(len(vavo), "VAVO", object),
                                                 np.full(len(others), "VO", object)]),
                "VOLEERJAAR": np.concatenate([leerjaar, np.full(extra, "", object)]),
                "BRIN_crypt": np.concatenate([brin, np.full(extra, "", object)]),
            }  # fmt: skip
            order = np.argsort(cols["RINPERSOON"], kind="stable")
            self._sav(
                "Onderwijs/ONDERWIJSINSCHRTAB",
                f"ONDERWIJSINSCHRTAB{year}V1.sav",
                {k: _obj(c[order]) for k, c in cols.items()},
            )

    def _diplomas(self, dipl: pa.Table) -> None:
        years = dipl.column("schooljaar").to_numpy()
        rin = _str(dipl.column("rin"))
        level = dipl.column("niveau").to_numpy()
        for year in np.unique(years):
            d = np.flatnonzero(years == year)
            # diplomas between mid January and the end of September of the school year
            start = _oct1(np.array([year]))[0] + 106
            days = start + self.rng.integers(0, 258, len(d))
            opl = self._pick({str(k): o for k, o in self.mbo_oplnr.items()},
                             level[d].astype(str).astype(object))  # fmt: skip
            self._sav(
                "Onderwijs/DIPLOMAMBOTAB",
                f"DIPLOMAMBO{year}TABV1.sav",
                {
                    "RINPERSOONS": _obj(np.full(len(d), "R", object)),
                    "RINPERSOON": _obj(rin[d]),
                    "OPLNR": _obj(opl),
                    "EXAMENDATUMMBO": _obj(_ymd(days)),
                },
            )

    def _exams(self, exams: pa.Table) -> None:
        years = exams.column("schooljaar").to_numpy()
        rin = _str(exams.column("rin"))
        level = _str(exams.column("niveau"))
        passed = exams.column("geslaagd").to_numpy(zero_copy_only=False)
        for year in np.unique(years):
            x = np.flatnonzero(years == year)
            self._sav(
                "Onderwijs/VOEXAMENTAB",
                f"VOEXAMEN{year}TABV1.sav",
                {
                    "RINPERSOONS": _obj(np.full(len(x), "R", object)),
                    "RINPERSOON": _obj(rin[x]),
                    "OPLNR": _obj(self._pick(self.vo_oplnr, level[x])),
                    "EXAMENUITSLAG": _obj(np.where(passed[x], "G", "A").astype(object)),
                },
                {"EXAMENUITSLAG": {"G": "Geslaagd", "A": "Afgewezen"}},
            )

    def _persons(self, persoon: pa.Table, kind_ouder: pa.Table) -> None:
        rin = _str(persoon.column("rin"))
        gj = persoon.column("geboortejaar").to_numpy()
        gm = persoon.column("geboortemaand").to_numpy()
        n = len(rin)
        # everyone in the register, not only those needed: unrelated persons and non-R rows
        # that share a RINPERSOON with a real person but not the birth year
        extra = max(1, n // 100)
        extra_rin = np.asarray(
            [f"{v:09d}" for v in self.rng.integers(0, 10**9, extra)], dtype=object
        )
        extra_rin = extra_rin[~_isin(extra_rin, rin)]
        others = self._others(n)
        cols = {
            "RINPERSOONS": np.concatenate([np.full(n + len(extra_rin), "R", object),
                                           np.full(len(others), "O", object)]),
            "RINPERSOON": np.concatenate([rin, extra_rin, rin[others]]),
            "GBAGEBOORTEJAAR": np.concatenate([
                gj.astype(str).astype(object),
                self.rng.integers(1930, 2020, len(extra_rin)).astype(str).astype(object),
                (gj[others] - 40).astype(str).astype(object),
            ]),
            "GBAGEBOORTEMAAND": np.concatenate([
                np.char.zfill(gm.astype(str), 2).astype(object),
                np.full(len(extra_rin), "06", object), np.full(len(others), "--", object),
            ]),
        }  # fmt: skip
        cols["GBAGESLACHT"] = self.rng.choice(
            np.array(["1", "2"], dtype=object), len(cols["RINPERSOON"])
        )
        order = np.argsort(cols["RINPERSOON"], kind="stable")
        self._sav(
            f"Bevolking/GBAPERSOONTAB/{PERSON_YEAR}",
            f"GBAPERSOON{PERSON_YEAR}TABV1.sav",
            {k: _obj(c[order]) for k, c in cols.items()},
            {"GBAGESLACHT": {"1": "Mannen", "2": "Vrouwen"}},
        )

        child = _str(kind_ouder.column("rin"))
        ma = _str(kind_ouder.column("rin_ouder1"))
        pa_ = _str(kind_ouder.column("rin_ouder2"))
        k = len(child)

        def parent(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            known = keys != None  # noqa: E711
            return (
                np.where(known, "R", "").astype(object),
                np.where(known, keys, "---------").astype(object),
            )

        sma, rma = parent(ma)
        spa, rpa = parent(pa_)
        others = self._others(k)
        o = len(others)
        self._sav(
            "Bevolking/KINDOUDERTAB",
            f"KINDOUDER{PERSON_YEAR}TABV1.sav",
            {
                "RINPERSOONS": _obj(
                    np.concatenate([np.full(k, "R", object), np.full(o, "O", object)])
                ),
                "RINPERSOON": _obj(np.concatenate([child, child[others]])),
                "RINPERSOONSMa": _obj(np.concatenate([sma, np.full(o, "R", object)])),
                "RINPERSOONMa": _obj(np.concatenate([rma, child[others]])),
                "RINPERSOONSpa": _obj(np.concatenate([spa, np.full(o, "", object)])),
                "RINPERSOONpa": _obj(np.concatenate([rpa, np.full(o, "---------", object)])),
                "XKOPPELNUMMER": _obj(np.full(k + o, "", object)),
            },
        )

    def _education_levels(self, levels: pa.Table, kind_ouder: pa.Table) -> None:
        """A weighted sample over two years: newest year first, an older year for the rest."""
        rin = _str(levels.column("rin"))
        level = _str(levels.column("opleidingsniveau"))
        n = len(rin)
        u = self.rng.random(n)
        in_new = u < 0.75  # known in the newest year
        dash_new = (u >= 0.75) & (u < 0.85)  # newest year '----', known in the older year
        old_only = u >= 0.85
        in_old = dash_new | old_only | (self.rng.random(n) < 0.3)
        # parents of unknown education: some are in the sample with an unknown level
        parents = np.concatenate(
            [_str(kind_ouder.column(c).drop_null()) for c in ("rin_ouder1", "rin_ouder2")]
        )
        parents = np.unique(parents.astype(str)).astype(object)
        unknown = parents[~_isin(parents, rin)]
        unk = unknown[self.rng.random(len(unknown)) < 0.3]
        unk_code = np.where(self.rng.random(len(unk)) < 0.5, "9999", "----").astype(object)
        for year, column in zip(
            HOOGSTEOPL_YEARS,
            ("OPLNIVSOI2016AGG4HBMETNIRWO", "OPLNIVSOI2021AGG4HBmetNIRWO"),
            strict=True,
        ):
            if year == HOOGSTEOPL_YEARS[-1]:
                keep = in_new | dash_new
                codes = self._pick(SOI_VARIANTS, level[keep])
                codes[dash_new[keep]] = "----"
                keys = np.concatenate([rin[keep], unk])
                codes = np.concatenate([codes, unk_code])
            else:
                keep = in_old
                keys = rin[keep]
                codes = self._pick(SOI_VARIANTS, level[keep])
            order = np.argsort(keys, kind="stable")
            self._sav(
                f"Onderwijs/HOOGSTEOPLTAB/{year}",
                f"HOOGSTEOPL{year}TABV{2 if year == HOOGSTEOPL_YEARS[-1] else 1}.sav",
                {
                    "RINPERSOONS": _obj(np.full(len(keys), "R", object)),
                    "RINPERSOON": _obj(keys[order]),
                    column: _obj(codes[order]),
                    "GEWICHTHOOGSTEOPL": 1.0 + 3.0 * self.rng.random(len(keys)),
                },
            )
        assert set(OPLEIDINGSNIVEAUS) == set(SOI_VARIANTS)

    def _addresses(self, adres: pa.Table, geografie: pa.Table, need: list[pa.Table]) -> None:
        """Address spells that put every pupil in its wijk on 1 October of each year.

        Years in which a pupil is in groep 8, vo or mbo but has no ``adres`` row get no spell
        on 1 October (abroad, or at an object without a wijk), also before the first and after
        the last spell.
        """
        rng = self.rng
        wijken = _str(geografie.column("wijkcode"))
        rin = _numbers(adres.column("rin"))  # sorting numbers is sorting the 9-digit keys
        year = adres.column("schooljaar").to_numpy().astype(np.int64)
        wijk = pd.Index(wijken).get_indexer(_str(adres.column("wijkcode"))).astype(np.int64)
        order = np.lexsort((year, rin))
        rin, year, wijk = rin[order], year[order], wijk[order]
        n = len(rin)
        new_person = np.ones(n, bool)
        new_person[1:] = rin[1:] != rin[:-1]
        cont = np.zeros(n, bool)
        cont[1:] = ~new_person[1:] & (year[1:] == year[:-1] + 1) & (wijk[1:] == wijk[:-1])
        first = np.flatnonzero(~cont)  # first row of each spell
        last = np.append(first[1:] - 1, n - 1)
        s_rin, s_wijk = rin[first], wijk[first]
        fy, ly = year[first], year[last]
        ns = len(first)
        starts_person = new_person[first]
        ends_person = np.append(starts_person[1:], True)
        oct1_f = _oct1(fy)
        begin = np.empty(ns, np.int64)
        end = np.full(ns, _oct1(np.array([2050]))[0] + 91, np.int64)  # 20501231: open
        need_rin = np.concatenate([_numbers(x.column("rin")) for x in need])
        need_year = np.concatenate([x.column("schooljaar").to_numpy() for x in need])
        spans = pd.DataFrame({"r": need_rin, "y": need_year}).groupby("r")["y"].agg(["min", "max"])
        at = spans.index.get_indexer(s_rin)
        first_need = spans["min"].to_numpy()[at]
        last_need = spans["max"].to_numpy()[at]
        early = starts_person & (first_need < fy)
        begin[starts_person] = oct1_f[starts_person] - rng.integers(0, 3650, starts_person.sum())
        begin[early] = _oct1(fy[early] - 1) + rng.integers(1, 365, int(early.sum()))
        late = ends_person & (last_need > ly)
        end[late] = _oct1(ly[late]) + rng.integers(1, 364, int(late.sum()))
        # a spell that follows another: moved between the two reference days
        nxt = np.flatnonzero(~starts_person)
        prev_ly = ly[nxt - 1]
        adjacent = fy[nxt] == prev_ly + 1
        moved = _oct1(prev_ly) + rng.integers(1, 366, len(nxt))
        moved = np.minimum(moved, _oct1(fy[nxt]))
        begin[nxt] = np.where(adjacent, moved, _oct1(fy[nxt] - 1) + rng.integers(1, 365, len(nxt)))
        end[nxt - 1] = np.where(
            adjacent, begin[nxt] - 1, _oct1(prev_ly) + rng.integers(1, 364, len(nxt))
        )
        # address objects: a pool per wijk in VSLGWBTAB, a few outside the BAG
        n_w = len(wijken)
        pool = OBJECTS_PER_WIJK
        obj = s_wijk * pool + rng.integers(0, pool, ns)
        # gaps abroad: half of them spent at an object that has no wijk ('----')
        gap = nxt[~adjacent]
        gap = gap[rng.random(len(gap)) < 0.5]
        g_begin, g_end = end[gap - 1] + 1, begin[gap] - 1
        g_obj = n_w * pool + rng.integers(0, 50, len(gap))
        # back-to-back spells at one address: a spell cut in two, the second starting next day
        cut = np.flatnonzero((ly > fy) & (rng.random(ns) < 0.05))
        c_day = _oct1(fy[cut]) + rng.integers(1, 364, len(cut))
        c_end = end[cut].copy()
        end[cut] = c_day
        all_rin = np.concatenate([s_rin, s_rin[gap - 1] if len(gap) else s_rin[:0], s_rin[cut]])
        all_obj = np.concatenate([obj, g_obj, obj[cut]])
        all_begin = np.concatenate([begin, g_begin, c_day + 1])
        all_end = np.concatenate([end, g_end, c_end])
        others = self._others(len(all_rin))
        kinds = np.concatenate(
            [np.full(len(all_rin), "R", object), np.full(len(others), "O", object)]
        )
        all_rin = np.concatenate([all_rin, all_rin[others]])
        all_obj = np.concatenate([all_obj, all_obj[others]])
        all_begin = np.concatenate([all_begin, all_begin[others]])
        all_end = np.concatenate([all_end, all_end[others] + 1])
        soort_obj = np.where(all_obj % pool == pool - 1, "2", "1").astype(object)  # last: non-BAG
        soort_obj[all_obj >= n_w * pool] = "2"
        order = np.lexsort((all_begin, all_rin))
        self._sav(
            "Bevolking/GBAADRESOBJECTBUS",
            f"GBAADRESOBJECT{PERSON_YEAR}BUSV1.sav",
            {
                "RINPERSOONS": _obj(kinds[order]),
                "RINPERSOON": _keys(all_rin[order]),
                "SOORTOBJECTNUMMER": _obj(soort_obj[order]),
                "RINOBJECTNUMMER": _obj(
                    np.char.zfill(all_obj[order].astype(str), 12).astype(object)
                ),
                "GBADATUMAANVANGADRESHOUDING": _obj(_ymd(all_begin[order])),
                "GBADATUMEINDEADRESHOUDING": _obj(_ymd(all_end[order])),
            },
        )
        # VSLGWBTAB (BAG objects) and NIETVSLGWBTAB (the rest and the objects without a wijk)
        ids = np.arange(n_w * pool)
        wc = np.asarray([w[2:] for w in wijken], dtype=object)[ids // pool]
        bag = ids % pool != pool - 1
        other_ids = np.arange(n_w * pool, n_w * pool + 50)

        def columns(keys: np.ndarray, wc_now: np.ndarray) -> dict[str, np.ndarray]:
            gem = np.asarray([w[:4] if w != "----" else "----" for w in wc_now], dtype=object)
            # the 2024 boundaries differ: reading them would put pupils in unknown wijken
            wc_old = np.asarray([w[:4] + "99" if w != "----" else w for w in wc_now], dtype=object)
            soort = np.where(np.isin(keys, ids[bag]), "1", "2").astype(object)
            bc_old = np.asarray([w + "00" if w != "----" else w for w in wc_old], object)
            return {
                "SOORTOBJECTNUMMER": _obj(soort),
                "RINOBJECTNUMMER": _obj(np.char.zfill(keys.astype(str), 12).astype(object)),
                "gem2024": _obj(gem), "wc2024": _obj(wc_old), "bc2024": _obj(bc_old),
                f"gem{GEOGRAPHY_YEAR}": _obj(gem), f"wc{GEOGRAPHY_YEAR}": _obj(wc_now),
                f"bc{GEOGRAPHY_YEAR}": _obj(np.asarray(
                    [w + "01" if w != "----" else w for w in wc_now], dtype=object)),
            }  # fmt: skip

        self._sav(
            "BouwenWonen/VSLGWBTAB",
            f"VSLGWB{GEOGRAPHY_YEAR}TAB03V1.sav",
            columns(ids[bag], wc[bag]),
        )
        self._sav(
            "BouwenWonen/NIETVSLGWBTAB",
            f"NIETVSLGWB{GEOGRAPHY_YEAR}TAB03V1.sav",
            columns(
                np.concatenate([ids[~bag], other_ids]),
                np.concatenate([wc[~bag], np.full(len(other_ids), "----", object)]),
            ),
        )
