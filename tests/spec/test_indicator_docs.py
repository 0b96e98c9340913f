"""docs/indicators.md is generated from the specs and the worked examples and must be current."""

import pytest

from indicators.docs import DOC_PATH, SpecCase, render, spec_modules
from indicators.specs import INDICATORS


def test_committed_docs_match_the_specs_and_spec_tests():
    assert DOC_PATH.exists(), "run `python -m indicators.docs` to generate docs/indicators.md"
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/indicators.md is stale: run `python -m indicators.docs`"
    )


def test_every_indicator_and_breakdown_has_a_worked_example_with_pupils():
    covered = set()
    for module in spec_modules():
        for case in module.CASES:
            for key, (_numerator, denominator) in case.expect.items():
                indicator, breakdown, _wijk = case.target(key)
                if denominator > 0:
                    covered.add((indicator, breakdown))
    wanted = {(spec.id, b) for spec in INDICATORS.values() for b in spec.breakdowns}
    assert wanted - covered == set()


def test_rendered_docs_show_each_case_table_and_expectation():
    text = render()
    for module in spec_modules():
        for case in module.CASES:
            assert f"#### {case.title}" in text


def test_a_case_naming_an_unknown_indicator_or_breakdown_is_refused():
    with pytest.raises(ValueError, match="bad expect key"):
        SpecCase("x", "x", {}, {"opstroming": (0, 0)})
    with pytest.raises(ValueError, match="no breakdown vwo"):
        SpecCase("x", "x", {}, {"opstroom[vwo]": (0, 0)})
    with pytest.raises(ValueError, match="unknown run-report keys"):
        SpecCase("x", "x", {}, {"opstroom[havo]": (0, 0)}, report={"no_such_count": 1})
