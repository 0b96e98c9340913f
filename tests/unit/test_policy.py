"""The disclosure policy: the shipped default, validation, weakening and the hash."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from disclosure.policy import (
    Policy,
    default_policy_path,
    load_policy,
    policy_dict,
    policy_hash,
    weakened_knobs,
)
from kansenkluis.errors import ExitCode, PolicyRefusal, UserError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_text() -> str:
    return default_policy_path().read_text(encoding="utf-8")


def test_shipped_file_equals_the_model_defaults() -> None:
    # The file is the documented floor; the model's defaults must say the same.
    assert load_policy() == Policy()
    raw = tomllib.loads(_default_text())
    assert raw["primary"]["min_cell"] == 10
    assert raw["primary"]["group_disclosure_min"] == 20
    assert raw["rounding"]["base"] == 5
    assert raw["rounding"]["percentage_basis"] == "rounded"


def test_default_has_no_weakened_knobs() -> None:
    assert weakened_knobs(load_policy()) == []


def test_stricter_policy_loads_without_flag(tmp_path: Path) -> None:
    text = (
        _default_text().replace("min_cell = 10", "min_cell = 15").replace("base = 5", "base = 10")
    )
    policy = load_policy(_write(tmp_path, text))
    assert policy.primary.min_cell == 15
    assert policy.rounding.base == 10
    assert weakened_knobs(policy) == []


def test_switching_off_the_larger_unit_cap_is_stricter(tmp_path: Path) -> None:
    assert Policy().secondary.cap_by_published_parent is True
    text = _default_text().replace(
        "cap_by_published_parent = true", "cap_by_published_parent = false"
    )
    policy = load_policy(_write(tmp_path, text))
    assert policy.secondary.cap_by_published_parent is False
    assert weakened_knobs(policy) == []


def test_utility_knobs_are_no_safety_knobs(tmp_path: Path) -> None:
    # The cost model and the wijkgroep minimum steer what is withheld, not how safe it is (the
    # audit proves every release): changing them needs no flag, and they are named as read.
    text = (
        _default_text()
        .replace("gemeente = 100.0", "gemeente = 5.0")
        .replace("withheld_last_year = 0.5", "withheld_last_year = 1.0")
        .replace("wijkgroep_min = 15", "wijkgroep_min = 10")
    )
    policy = load_policy(_write(tmp_path, text))
    assert policy.secondary.cost.gemeente == 5.0
    assert policy.secondary.cost.withheld_last_year == 1.0
    assert policy.pooling.wijkgroep_min == 10
    assert weakened_knobs(policy) == []
    with pytest.raises(UserError, match="secondary.cost.land"):
        load_policy(_write(tmp_path, text.replace("land = 1000.0", "land = 0")))


@pytest.mark.parametrize(
    ("old", "new", "knob"),
    [
        ("min_cell = 10", "min_cell = 5", "primary.min_cell"),
        ("group_disclosure_min = 20", "group_disclosure_min = 12", "primary.group_disclosure_min"),
        ("protection_min = 3.0", "protection_min = 1.0", "secondary.protection_min"),
        ("protection_share = 0.15", "protection_share = 0.05", "secondary.protection_share"),
        ("base = 5", "base = 1", "rounding.base"),
        ('percentage_basis = "rounded"', 'percentage_basis = "exact"', "rounding.percentage_basis"),
        ("percentage_decimals = 1", "percentage_decimals = 2", "rounding.percentage_decimals"),
        ("regio_min_group = 50", "regio_min_group = 20", "pooling.regio_min_group"),
        ("epsilon_limit = 4.0", "epsilon_limit = 40.0", "dp.epsilon_limit"),
    ],
)
def test_weakening_a_knob_is_refused_without_flag(
    tmp_path: Path, old: str, new: str, knob: str
) -> None:
    assert old in _default_text()
    path = _write(tmp_path, _default_text().replace(old, new))
    with pytest.raises(PolicyRefusal) as info:
        load_policy(path)
    assert info.value.exit_code == ExitCode.POLICY_REFUSAL
    assert knob in info.value.message
    assert str(path) in info.value.message


def test_weakening_with_flag_loads_and_names_the_knobs(tmp_path: Path) -> None:
    text = (
        _default_text()
        .replace("allow_weaker_than_default = false", "allow_weaker_than_default = true")
        .replace("min_cell = 10", "min_cell = 5")
        .replace("base = 5", "base = 1")
    )
    policy = load_policy(_write(tmp_path, text))
    assert policy.primary.min_cell == 5
    assert weakened_knobs(policy) == ["primary.min_cell", "rounding.base"]


def test_dropping_a_pooling_criterion_is_weaker(tmp_path: Path) -> None:
    text = _default_text().replace(', "transitie"]', "]")
    with pytest.raises(PolicyRefusal, match="pooling.wijk_criteria"):
        load_policy(_write(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("min_cell = 10", "min_cell = 0", "primary.min_cell"),
        ("min_cell = 10", 'min_cell = "ten"', "primary.min_cell"),
        ('percentage_basis = "rounded"', 'percentage_basis = "exactly"', "percentage_basis"),
        ("protection_share = 0.15", "protection_share = 1.5", "protection_share"),
        ('"heroverweging", ', '"opleidingsmobiliteit", ', "wijk_criteria"),
        ("version = 1", "version = 2", "version"),
    ],
)
def test_malformed_value_names_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = _write(tmp_path, _default_text().replace(old, new))
    with pytest.raises(UserError) as info:
        load_policy(path)
    assert not isinstance(info.value, PolicyRefusal)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert info.value.code == "POLICY_INVALID"
    assert str(path) in info.value.message
    assert key in info.value.message


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, _default_text().replace("min_cell = 10", "min_cell = 10\nmin_cel = 3"))
    with pytest.raises(UserError, match="primary.min_cel"):
        load_policy(path)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not valid TOML"):
        load_policy(_write(tmp_path, "[primary\nmin_cell = 10"))
    with pytest.raises(UserError, match="no such policy file"):
        load_policy(tmp_path / "nope.toml")


def test_hash_is_stable_and_sensitive(tmp_path: Path) -> None:
    a = load_policy()
    b = load_policy(_write(tmp_path, _default_text()))
    assert policy_hash(a) == policy_hash(b)
    assert len(policy_hash(a)) == 64
    stricter = load_policy(_write(tmp_path, _default_text().replace("base = 5", "base = 10")))
    assert policy_hash(stricter) != policy_hash(a)


def test_hash_matches_the_suppression_log_canonical_form() -> None:
    log = pytest.importorskip("disclosure.log")
    policy = load_policy()
    assert log.policy_hash(policy_dict(policy)) == policy_hash(policy)


def test_protection_margin() -> None:
    policy = Policy()
    assert policy.protection(0) == 3
    assert policy.protection(10) == 3
    assert policy.protection(100) == pytest.approx(15)
