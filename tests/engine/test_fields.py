"""Hierarchical field paths: coverage at dot boundaries and prohibited patterns."""

from __future__ import annotations

import pytest

from registry.engine.fields import (
    covered_by_any,
    covers,
    pattern_matches,
    prohibiting_pattern,
    reaches_into,
)

# --- covers ------------------------------------------------------------------------------


def test_a_field_covers_itself() -> None:
    assert covers("taxpayer.address", "taxpayer.address")


@pytest.mark.parametrize("field", ["taxpayer.address.zip", "taxpayer.address.street.line1"])
def test_a_field_covers_its_sub_fields(field: str) -> None:
    assert covers("taxpayer.address", field)


@pytest.mark.parametrize(
    "field", ["taxpayer.address_history", "taxpayer.addresses", "taxpayer.address-old.zip"]
)
def test_coverage_stops_at_the_dot_boundary(field: str) -> None:
    assert not covers("taxpayer.address", field)


def test_a_sub_field_does_not_cover_its_parent() -> None:
    assert not covers("taxpayer.address.zip", "taxpayer.address")
    assert not covers("taxpayer.address", "taxpayer")


def test_a_field_does_not_cover_a_sibling() -> None:
    assert not covers("taxpayer.name", "taxpayer.address")


def test_covered_by_any_finds_a_covering_parent() -> None:
    permitted = ["taxpayer.name", "taxpayer.address"]
    assert covered_by_any("taxpayer.address.zip", permitted)
    assert not covered_by_any("taxpayer.address_history", permitted)
    assert not covered_by_any("taxpayer", permitted)


def test_nothing_is_covered_by_an_empty_list() -> None:
    assert not covered_by_any("taxpayer.name", [])


# --- pattern_matches ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["return.wages", "return.wages.box1", "return.agi"])
def test_a_star_segment_matches_every_child_and_what_is_below(field: str) -> None:
    assert pattern_matches("return.*", field)


def test_a_star_segment_does_not_match_the_parent_itself() -> None:
    assert not pattern_matches("return.*", "return")


@pytest.mark.parametrize("field", ["returns.wages", "tax_return.wages", "taxpayer.return"])
def test_a_pattern_matches_whole_segments_only(field: str) -> None:
    assert not pattern_matches("return.*", field)


def test_a_leading_star_matches_any_first_segment() -> None:
    assert pattern_matches("*.ssn", "individual.ssn")
    assert pattern_matches("*.ssn", "spouse.ssn.last4")
    assert not pattern_matches("*.ssn", "ssn")
    assert not pattern_matches("*.ssn", "individual.ssn_verification")


def test_a_star_does_not_cross_a_dot() -> None:
    assert not pattern_matches("*.ssn", "a.b.ssn")


def test_a_star_inside_a_segment_matches_within_that_segment() -> None:
    assert pattern_matches("earn*.amount", "earnings.amount")
    assert not pattern_matches("earn*.amount", "earnings.total")


def test_a_pattern_without_star_matches_the_field_and_what_is_below() -> None:
    assert pattern_matches("taxpayer.tin", "taxpayer.tin")
    assert pattern_matches("taxpayer.tin", "taxpayer.tin.check_digit")
    assert not pattern_matches("taxpayer.tin", "taxpayer.tin_type")


def test_matching_is_case_sensitive() -> None:
    assert not pattern_matches("return.*", "Return.wages")


# --- reaches_into --------------------------------------------------------------------------


def test_asking_for_the_parent_of_a_prohibited_field_reaches_into_it() -> None:
    assert reaches_into("return", "return.*")


def test_asking_for_a_prohibited_field_reaches_into_it() -> None:
    assert reaches_into("return.wages", "return.*")
    assert reaches_into("return.wages.box1", "return.*")


def test_asking_for_an_ancestor_of_a_deep_pattern_reaches_into_it() -> None:
    assert reaches_into("return", "return.wages.*")
    assert reaches_into("return.wages", "return.wages.*")


def test_a_parent_reaches_into_a_leading_star_pattern() -> None:
    assert reaches_into("individual", "*.ssn")


@pytest.mark.parametrize(
    ("field", "pattern"),
    [
        ("returns", "return.*"),
        ("taxpayer", "return.*"),
        ("taxpayer.name", "return.*"),
        ("return.other", "return.wages.*"),
        ("individual.name", "*.ssn"),
    ],
)
def test_unrelated_fields_do_not_reach_into_a_pattern(field: str, pattern: str) -> None:
    assert not reaches_into(field, pattern)


# --- prohibiting_pattern -----------------------------------------------------------------------


def test_prohibiting_pattern_names_the_first_matching_pattern() -> None:
    prohibited = ["earnings.*", "return.*", "return.wages"]
    assert prohibiting_pattern("return.wages", prohibited) == "return.*"


def test_prohibiting_pattern_is_none_when_nothing_matches() -> None:
    assert prohibiting_pattern("taxpayer.name", ["return.*", "earnings.*"]) is None


def test_prohibiting_pattern_does_not_flag_a_parent_of_a_prohibited_field() -> None:
    assert prohibiting_pattern("return", ["return.*"]) is None


def test_prohibiting_pattern_with_no_patterns_is_none() -> None:
    assert prohibiting_pattern("return.wages", []) is None
