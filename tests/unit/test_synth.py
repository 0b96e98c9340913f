"""The synthetic microdata generator (``kluis synth``): invariants, formats, calibration.

Everything runs on the ``small`` scale with a fixed seed. The calibration test recomputes the
indicator rates (docs/indicators.md) from the written tables with plain pandas,
independently of the generator's own summary code, and then also checks that the two agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from kansenkluis.config import geo_dir
from kansenkluis.domain import (
    ADVICE_CODES,
    ADVICE_POSITION,
    EXAM_LEVELS,
    HAVO_VWO_LEVELS,
    HO_SOORTEN,
    INPUT_TABLES,
    MBO_LEVELS,
    OPLEIDINGSNIVEAUS,
    ORIGIN_GROUP,
    PARENT_GROUP,
    PERSON_KEY_COLUMNS,
    SINGLE_LEVEL_RANK,
)
from kansenkluis.errors import ExitCode, UsageError
from kansenkluis.synth import SCHOOLJAREN, TARGETS, SynthSummary, generate

SEED = 1
SMALL_GEMEENTEN = {"GM0917", "GM1883"}  # the two the brief names; the rest may change
COMBINED = {"vmbo_bk", "vmbo_kgt", "vmbo_gt_havo", "havo_vwo"}
FINAL_LEERJAAR = {"vmbo_b": 4, "vmbo_k": 4, "vmbo_gt": 4, "havo": 5, "vwo": 6}

#: Calibration tolerance on the small scale (seed 1), in percentage points from the target.
#: Five gemeenten in Limburg are a few thousand pupils per year, so the rates carry sampling
#: noise (about 1 point) and the region's own SES on top of the national calibration.
TOLERANCE = 3.0
TOLERANCE_PARENT_GROUPS = 5.0
#: "a few percent per year" for op- and afstroom
FEW_PERCENT = (0.5, 8.0)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[SynthSummary, Path]:
    out = tmp_path_factory.mktemp("synth_parquet")
    return generate(out, "small", SEED), out


@pytest.fixture(scope="module")
def summary(generated: tuple[SynthSummary, Path]) -> SynthSummary:
    return generated[0]


@pytest.fixture(scope="module")
def tables(generated: tuple[SynthSummary, Path]) -> dict[str, pd.DataFrame]:
    out = generated[1]
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in INPUT_TABLES}


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth_csv")
    generate(out, "small", SEED, fmt="csv")
    return out


# --- shape and referential integrity ---------------------------------------------------------


def test_writes_the_eleven_tables_with_exactly_the_spec_columns(
    generated: tuple[SynthSummary, Path], tables: dict[str, pd.DataFrame]
) -> None:
    summary, out = generated
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in INPUT_TABLES)
    for name, frame in tables.items():
        assert tuple(frame.columns) == INPUT_TABLES[name], name
        assert summary.rows[name] == len(frame) > 0, name
    assert summary.scale == "small" and summary.seed == SEED
    assert summary.years == SCHOOLJAREN == tuple(range(2018, 2024))


def test_every_rin_is_a_nine_digit_string_and_exists_in_persoon(
    tables: dict[str, pd.DataFrame],
) -> None:
    persoon = tables["persoon"]["rin"]
    assert persoon.is_unique
    known = set(persoon)
    for table, columns in PERSON_KEY_COLUMNS.items():
        for column in columns:
            values = tables[table][column].dropna()
            assert values.str.fullmatch(r"\d{9}").all(), f"{table}.{column}"
            assert set(values) <= known, f"{table}.{column} has a rin missing from persoon"


def test_keys_are_unique_one_vo_enrolment_per_pupil_per_year(
    tables: dict[str, pd.DataFrame],
) -> None:
    keys = {
        "vo_inschrijving": ["rin", "schooljaar"],
        "vo_examen": ["rin", "schooljaar"],
        "mbo_inschrijving": ["rin", "schooljaar"],
        "mbo_diploma": ["rin", "schooljaar"],
        "ho_inschrijving": ["rin", "schooljaar"],
        "adres": ["rin", "schooljaar"],
        "po_advies": ["rin"],
        "kind_ouder": ["rin"],
        "hoogste_opleiding": ["rin"],
        "geografie": ["wijkcode"],
    }
    for table, key in keys.items():
        assert not tables[table].duplicated(key).any(), table
    # a pupil is in at most one of vo, mbo and ho in a school year
    stages = pd.concat(
        tables[t][["rin", "schooljaar"]]
        for t in ("vo_inschrijving", "mbo_inschrijving", "ho_inschrijving")
    )
    assert not stages.duplicated().any()


def test_every_wijkcode_is_in_geografie_and_buren_are_symmetric(
    tables: dict[str, pd.DataFrame],
) -> None:
    geo = tables["geografie"]
    codes = set(geo["wijkcode"])
    assert geo["wijkcode"].str.fullmatch(r"WK\d{4}[0-9A-Z]{2}").all()
    assert set(tables["adres"]["wijkcode"]) <= codes
    pairs = {
        (row.wijkcode, b)
        for row in geo.itertuples()
        for b in (row.buren.split(";") if isinstance(row.buren, str) and row.buren else [])
    }
    assert pairs, "the small geography has buren"
    assert {b for _, b in pairs} <= codes
    assert all((b, a) in pairs for a, b in pairs)


def test_small_geografie_is_the_shipped_geography_of_the_chosen_gemeenten(
    tables: dict[str, pd.DataFrame],
) -> None:
    geo = tables["geografie"]
    assert set(geo["gemeentecode"]) >= SMALL_GEMEENTEN
    assert 5 <= geo["gemeentecode"].nunique() <= 6
    assert geo["regio"].nunique() == 2
    wijken = pd.read_csv(geo_dir() / "wijken.csv", dtype=str, keep_default_na=False)
    gemeenten = pd.read_csv(geo_dir() / "gemeenten.csv", dtype=str, keep_default_na=False)
    expected = wijken[wijken["gemeentecode"].isin(set(geo["gemeentecode"]))].merge(
        gemeenten, on="gemeentecode"
    )
    assert len(expected) == len(geo)  # every wijk of the chosen gemeenten, nothing else
    got = geo.fillna("").set_index("wijkcode").sort_index()
    want = expected.set_index("wijkcode").sort_index()
    assert (got["wijknaam"] == want["wijknaam"]).all()
    assert (got["gemeentenaam"] == want["gemeentenaam"]).all()
    assert (got["regio"] == want["corop_naam"]).all()
    assert (got["buren"] == want["buren"]).all()


# --- codes and content ------------------------------------------------------------------------


def test_codes_and_years_are_valid(tables: dict[str, pd.DataFrame]) -> None:
    for name, frame in tables.items():
        if "schooljaar" in frame:
            assert frame["schooljaar"].isin(SCHOOLJAREN).all(), name
    po = tables["po_advies"]
    for column in ("schooladvies", "advies_definitief"):
        assert po[column].isin(ADVICE_CODES).all(), column
    toets = po["toetsadvies"]
    assert toets.dropna().isin(ADVICE_CODES).all()
    assert 0 < toets.isna().mean() < 0.1, "toetsadvies is sometimes, not often, missing"
    assert set(po["schooladvies"]) == set(ADVICE_CODES), "all ten codes incl. combined advices"
    assert po["brin"].str.fullmatch(r"\d{2}[A-Z]{2}").all()

    vo = tables["vo_inschrijving"]
    assert vo["niveau"].isin(ADVICE_CODES).all()
    assert set(vo["niveau"]) == set(ADVICE_CODES)
    assert vo["leerjaar"].between(1, 6).all()
    assert set(vo["leerjaar"]) == {1, 2, 3, 4, 5, 6}
    assert (vo.loc[vo["niveau"].isin(COMBINED), "leerjaar"] <= 2).all()
    single = vo[vo["niveau"].isin(FINAL_LEERJAAR)]
    assert (single["leerjaar"] <= single["niveau"].map(FINAL_LEERJAAR)).all()

    ex = tables["vo_examen"]
    assert ex["niveau"].isin(EXAM_LEVELS).all()
    assert ex["geslaagd"].dtype == bool
    assert 0.8 < ex["geslaagd"].mean() < 0.99
    assert tables["mbo_inschrijving"]["niveau"].isin(MBO_LEVELS).all()
    assert set(tables["mbo_diploma"]["niveau"]) == set(MBO_LEVELS)
    assert tables["ho_inschrijving"]["soort"].isin(HO_SOORTEN).all()
    assert tables["hoogste_opleiding"]["opleidingsniveau"].isin(OPLEIDINGSNIVEAUS).all()
    persoon = tables["persoon"]
    assert persoon["geboortemaand"].between(1, 12).all()
    assert persoon["geboortejaar"].between(1900, max(SCHOOLJAREN) - 10).all()


def test_exams_are_taken_in_the_final_leerjaar_of_the_enrolled_level(
    tables: dict[str, pd.DataFrame],
) -> None:
    ex = tables["vo_examen"].merge(
        tables["vo_inschrijving"], on=["rin", "schooljaar"], suffixes=("", "_vo")
    )
    assert len(ex) == len(tables["vo_examen"])
    assert (ex["niveau"] == ex["niveau_vo"]).all()
    assert (ex["leerjaar"] == ex["niveau"].map(FINAL_LEERJAAR)).all()
    dipl = tables["mbo_diploma"].merge(
        tables["mbo_inschrijving"], on=["rin", "schooljaar"], suffixes=("", "_ins")
    )
    assert len(dipl) == len(tables["mbo_diploma"])
    assert (dipl["niveau"] == dipl["niveau_ins"]).all()


def test_families_parents_and_addresses_look_like_the_registers(
    tables: dict[str, pd.DataFrame],
) -> None:
    ko = tables["kind_ouder"]
    n_parents = ko[["rin_ouder1", "rin_ouder2"]].notna().sum(axis=1)
    assert (n_parents == 2).mean() > 0.7
    assert (n_parents == 1).any() and (n_parents == 0).any()
    assert (ko["rin_ouder1"].isna() & ko["rin_ouder2"].notna()).any()
    parents = set(ko["rin_ouder1"].dropna()) | set(ko["rin_ouder2"].dropna())
    opl = tables["hoogste_opleiding"]
    assert set(opl["rin"]) <= parents
    share_known = len(opl) / len(parents)
    assert 0.75 < share_known < 0.97, "most parents, not all, have a known education"
    pupils = set(ko["rin"])
    assert not pupils & parents, "pupils and parents are different people"
    assert set(tables["vo_inschrijving"]["rin"]) <= pupils
    # a few pupils lack an adres row in a year; some move between wijken
    vo = tables["vo_inschrijving"][["rin", "schooljaar"]]
    with_adres = vo.merge(tables["adres"], on=["rin", "schooljaar"], how="left")
    missing = with_adres["wijkcode"].isna().mean()
    assert 0 < missing < 0.03
    wijken_per_pupil = tables["adres"].groupby("rin")["wijkcode"].nunique()
    assert 0.02 < (wijken_per_pupil > 1).mean() < 0.4


def test_vmbo_gt_graduates_stack_to_havo_and_mbo4_graduates_to_hbo(
    tables: dict[str, pd.DataFrame],
) -> None:
    ex, vo = tables["vo_examen"], tables["vo_inschrijving"]
    gt = ex[(ex["niveau"] == "vmbo_gt") & ex["geslaagd"]].assign(
        schooljaar=lambda d: d.schooljaar + 1
    )
    nxt = gt.merge(vo, on=["rin", "schooljaar"], suffixes=("_ex", ""))
    assert ((nxt["niveau"] == "havo") & (nxt["leerjaar"] == 4)).any()
    m4 = tables["mbo_diploma"].query("niveau == 4").assign(schooljaar=lambda d: d.schooljaar + 1)
    hbo = m4.merge(tables["ho_inschrijving"], on=["rin", "schooljaar"])
    assert (hbo["soort"] == "hbo").any()


def test_wijken_differ_more_heroverwegingen_where_fewer_parents_studied(
    tables: dict[str, pd.DataFrame],
) -> None:
    """The latent SES of a wijk drives both parents' education and advice: wijken must differ."""
    po = _with_adres(tables["po_advies"], tables["adres"])
    tested = po.dropna(subset=["toetsadvies"])
    her = tested["toetsadvies"].map(ADVICE_POSITION) > tested["schooladvies"].map(ADVICE_POSITION)
    per_wijk = tested.assign(her=her).groupby("wijkcode")["her"].agg(["mean", "size"])
    groups = _parent_groups(tables)
    kids = tables["adres"].drop_duplicates("rin").merge(groups, on="rin")
    high = (kids["groep"] == "hoger_onderwijs").groupby(kids["wijkcode"]).mean()
    big = per_wijk[per_wijk["size"] >= 100].join(high.rename("hoog"))
    assert len(big) >= 15
    assert big["mean"].max() - big["mean"].min() > 0.10
    assert big["mean"].corr(big["hoog"]) < -0.3


# --- determinism, formats, errors ---------------------------------------------------------------


def test_same_seed_gives_byte_identical_csv(csv_dir: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", "small", SEED, fmt="csv")
    for name in INPUT_TABLES:
        first = (csv_dir / f"{name}.csv").read_bytes()
        assert first == (tmp_path / "again" / f"{name}.csv").read_bytes(), name
    generate(tmp_path / "other", "small", SEED + 1, fmt="csv")
    assert (tmp_path / "other" / "adres.csv").read_bytes() != (csv_dir / "adres.csv").read_bytes()


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """One textual form for all three formats: missing -> "", booleans and numbers as ints."""
    out = {}
    for name, column in frame.items():
        if pd.api.types.is_bool_dtype(column):
            text = column.astype(int).astype(str)
        elif pd.api.types.is_numeric_dtype(column):
            text = column.astype("Int64").astype(str).replace("<NA>", "")
        else:
            text = column.astype(object).where(column.notna(), "").astype(str)
            text = text.replace({"true": "1", "false": "0"})
        out[name] = text.reset_index(drop=True)
    return pd.DataFrame(out)


def test_csv_and_sav_read_back_to_the_same_tables(
    csv_dir: Path, tmp_path: Path, tables: dict[str, pd.DataFrame]
) -> None:
    sav_dir = tmp_path / "sav"
    generate(sav_dir, "small", SEED, fmt="sav")
    assert sorted(p.name for p in sav_dir.iterdir()) == sorted(f"{t}.sav" for t in INPUT_TABLES)
    for name, frame in tables.items():
        want = _as_text(frame)
        from_csv = pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        from_sav, _ = pyreadstat.read_sav(str(sav_dir / f"{name}.sav"))
        assert list(from_csv.columns) == list(from_sav.columns) == list(INPUT_TABLES[name])
        pd.testing.assert_frame_equal(_as_text(from_csv), want, obj=f"{name}.csv")
        pd.testing.assert_frame_equal(_as_text(from_sav), want, obj=f"{name}.sav")


def test_parquet_keeps_types(generated: tuple[SynthSummary, Path]) -> None:
    schema = pq.read_schema(generated[1] / "vo_examen.parquet")
    assert str(schema.field("geslaagd").type) == "bool"
    assert str(schema.field("rin").type) == "string"
    assert str(schema.field("schooljaar").type).startswith("int")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"scale": "huge"}, "SYNTH_UNKNOWN_SCALE"),
        ({"fmt": "xlsx"}, "SYNTH_UNKNOWN_FORMAT"),
        ({"seed": -1}, "SYNTH_BAD_SEED"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path: Path, kwargs: dict, code: str) -> None:
    with pytest.raises(UsageError) as info:
        generate(tmp_path / "out", **kwargs)
    assert info.value.code == code
    assert info.value.exit_code == ExitCode.USAGE
    assert not (tmp_path / "out").exists(), "nothing is written on a usage error"


# --- calibration, recomputed independently with pandas -----------------------------------------


def _with_adres(frame: pd.DataFrame, adres: pd.DataFrame) -> pd.DataFrame:
    """Pupils with an adres row in the reference year (docs/indicators.md leaves the others out)."""
    return frame.merge(adres, on=["rin", "schooljaar"], how="inner")


def _parent_groups(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ko = tables["kind_ouder"].melt(id_vars="rin", value_name="ouder").dropna(subset=["ouder"])
    level = tables["hoogste_opleiding"].set_index("rin")["opleidingsniveau"]
    ko["rank"] = ko["ouder"].map(level).map({lvl: i for i, lvl in enumerate(OPLEIDINGSNIVEAUS)})
    best = ko.dropna(subset=["rank"]).groupby("rin")["rank"].max()
    groups = tables["kind_ouder"][["rin"]].copy()
    groups["groep"] = (
        groups["rin"].map(best).map(dict(enumerate(OPLEIDINGSNIVEAUS))).map(PARENT_GROUP)
    )
    groups["groep"] = groups["groep"].fillna("onbekend")
    return groups


def _pct(num: int, den: int) -> float:
    return 100.0 * num / den


def rates_from_tables(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """docs/indicators.md national rates, pooled over the reference years, in plain pandas."""
    adres = tables["adres"]
    with_next = [t for t in SCHOOLJAREN if t + 1 in SCHOOLJAREN]
    pos = ADVICE_POSITION
    rates: dict[str, float] = {}

    po = _with_adres(tables["po_advies"], adres).dropna(subset=["schooladvies", "toetsadvies"])
    her = po[po["toetsadvies"].map(pos) > po["schooladvies"].map(pos)]
    bij = her[her["advies_definitief"].map(pos) > her["schooladvies"].map(pos)]
    rates["heroverweging"] = _pct(len(her), len(po))
    rates["bijstelling"] = _pct(len(bij), len(her))

    vo = tables["vo_inschrijving"]
    vo_next = vo.assign(schooljaar=vo["schooljaar"] - 1)
    ex = tables["vo_examen"]
    gt = ex[(ex["niveau"] == "vmbo_gt") & ex["geslaagd"] & ex["schooljaar"].isin(with_next)]
    gt = _with_adres(gt[["rin", "schooljaar"]], adres)
    nxt = gt.merge(vo_next, on=["rin", "schooljaar"], how="left")
    rates["stapelen_vo"] = _pct(int((nxt["niveau"] == "havo").sum()), len(gt))

    dipl = tables["mbo_diploma"]
    m4 = dipl[(dipl["niveau"] == 4) & dipl["schooljaar"].isin(with_next)]
    m4 = _with_adres(m4[["rin", "schooljaar"]], adres)
    ho = tables["ho_inschrijving"]
    hbo_next = ho[ho["soort"] == "hbo"].assign(schooljaar=ho["schooljaar"] - 1)
    got_hbo = m4.merge(hbo_next[["rin", "schooljaar"]], on=["rin", "schooljaar"])
    rates["stapelen_mbo"] = _pct(len(got_hbo), len(m4))

    passed = ex[ex["geslaagd"]][["rin", "schooljaar"]].assign(passed=True)
    trans = vo[
        vo["schooljaar"].isin(with_next)
        & (vo["leerjaar"] >= 3)
        & vo["niveau"].isin(SINGLE_LEVEL_RANK)
    ]
    trans = _with_adres(trans, adres).merge(passed, on=["rin", "schooljaar"], how="left")
    trans = trans[trans["passed"].isna()]
    trans = trans.merge(vo_next, on=["rin", "schooljaar"], suffixes=("", "_next"))
    rank, rank_next = (
        trans["niveau"].map(SINGLE_LEVEL_RANK),
        trans["niveau_next"].map(SINGLE_LEVEL_RANK),
    )
    trans = trans.assign(
        origin=trans["niveau"].map(ORIGIN_GROUP),
        opstroom=rank_next > rank,
        afstroom=rank_next < rank,
        zittenblijven=(trans["niveau_next"] == trans["niveau"])
        & (trans["leerjaar_next"] == trans["leerjaar"]),
    )
    for name, origins in (
        ("opstroom", ("vmbo", "havo")),
        ("afstroom", ("vmbo", "havo", "vwo")),
        ("zittenblijven", ("vmbo", "havo", "vwo")),
    ):
        for origin in origins:
            grp = trans[trans["origin"] == origin]
            rates[f"{name}.{origin}"] = _pct(int(grp[name].sum()), len(grp))
        grp = trans[trans["origin"].isin(origins)]
        rates[name] = _pct(int(grp[name].sum()), len(grp))

    persoon = tables["persoon"].set_index("rin")
    v14 = _with_adres(vo, adres)
    birth_year = v14["rin"].map(persoon["geboortejaar"])
    late = v14["rin"].map(persoon["geboortemaand"]) >= 10
    v14 = v14[v14["schooljaar"] - birth_year - late.astype(int) == 14]
    v14 = v14.merge(_parent_groups(tables), on="rin", how="left")
    v14["groep"] = v14["groep"].fillna("onbekend")
    v14["hv"] = v14["niveau"].isin(HAVO_VWO_LEVELS)
    rates["opleidingsmobiliteit"] = _pct(int(v14["hv"].sum()), len(v14))
    for group, grp in v14.groupby("groep"):
        rates[f"opleidingsmobiliteit.{group}"] = _pct(int(grp["hv"].sum()), len(grp))
    rates["ouders_onbekend"] = _pct(int((v14["groep"] == "onbekend").sum()), len(v14))
    return rates


def test_calibration_on_the_small_scale_is_within_tolerance(
    tables: dict[str, pd.DataFrame],
) -> None:
    rates = rates_from_tables(tables)
    for key, target in TARGETS.items():
        tol = TOLERANCE_PARENT_GROUPS if key.startswith("opleidingsmobiliteit.") else TOLERANCE
        assert abs(rates[key] - target) <= tol, f"{key}: {rates[key]:.1f} vs target {target}"
    for key in ("opstroom.vmbo", "opstroom.havo", "afstroom.vmbo", "afstroom.havo", "afstroom.vwo"):
        assert FEW_PERCENT[0] <= rates[key] <= FEW_PERCENT[1], key
    # the gradient by parents' education is steep, as in the published figures
    assert (
        rates["opleidingsmobiliteit.max_mbo2"]
        < rates["opleidingsmobiliteit.mbo3_4"]
        < rates["opleidingsmobiliteit.hoger_onderwijs"]
    )


def test_summary_rates_match_an_independent_computation(
    summary: SynthSummary, tables: dict[str, pd.DataFrame]
) -> None:
    rates = rates_from_tables(tables)
    assert set(TARGETS) <= set(summary.rates)
    for key, value in summary.rates.items():
        assert value == pytest.approx(rates[key], abs=0.01), key
    assert summary.rate_years["heroverweging"] == SCHOOLJAREN
    assert summary.rate_years["stapelen_vo"] == SCHOOLJAREN[:-1]


def test_each_region_has_fifty_pupils_per_parents_group_each_year(
    tables: dict[str, pd.DataFrame],
) -> None:
    """opleidingsmobiliteit is published per region once every group has 50 pupils."""
    persoon = tables["persoon"].set_index("rin")
    vo = _with_adres(tables["vo_inschrijving"], tables["adres"])
    age = (
        vo["schooljaar"]
        - vo["rin"].map(persoon["geboortejaar"])
        - (vo["rin"].map(persoon["geboortemaand"]) >= 10).astype(int)
    )
    v14 = vo[age == 14].merge(_parent_groups(tables), on="rin")
    v14 = v14.merge(tables["geografie"][["wijkcode", "regio"]], on="wijkcode")
    known = v14[v14["groep"] != "onbekend"]
    counts = known.groupby(["schooljaar", "regio", "groep"]).size()
    assert len(counts) == len(SCHOOLJAREN) * 2 * 3
    assert counts.min() >= 50


def test_a_real_part_of_the_wijken_reaches_ten_pupils(tables: dict[str, pd.DataFrame]) -> None:
    """Demo factsheets need wijken with 10+ pupils per indicator per year, and small ones."""
    adres = tables["adres"]
    n_wijken = len(tables["geografie"])
    ex = tables["vo_examen"]
    gt = ex[(ex["niveau"] == "vmbo_gt") & ex["geslaagd"] & (ex["schooljaar"] == 2021)]
    per_wijk = _with_adres(gt[["rin", "schooljaar"]], adres).groupby("wijkcode").size()
    assert (per_wijk >= 10).sum() >= 0.2 * n_wijken  # the smallest population
    po = _with_adres(tables["po_advies"].query("schooljaar == 2021"), adres)
    groep8 = po.groupby("wijkcode").size().reindex(tables["geografie"]["wijkcode"], fill_value=0)
    assert (groep8 < 10).any() and (groep8 >= 10).mean() > 0.6
