"""Segments and the cardinality guard's pure half: which dimension a segment is in, and folding."""

from __future__ import annotations

import pytest

from functions.domain.errors import InvalidInput
from functions.domain.segments import (
    breakdown_prefix,
    fold,
    guarded,
    is_other,
    other_segment,
    parse_breakdown_by,
    parse_segment,
    segments_for,
)

pytestmark = pytest.mark.unit


def test_an_invitation_counts_in_all_its_channel_touchpoint_and_each_property() -> None:
    assert segments_for("sms", "delivery", {"region": "eu", "plan": "pro"}) == [
        "all",
        "channel:sms",
        "touchpoint:delivery",
        "prop:plan=pro",
        "prop:region=eu",
    ]


@pytest.mark.parametrize(
    ("segment", "dimension"),
    [
        ("all", None),
        ("channel:sms", None),
        ("touchpoint:delivery", ("touchpoint", "delivery")),
        ("prop:plan=pro", ("prop:plan", "pro")),
        ("prop:note=a=b", ("prop:note", "a=b")),
    ],
)
def test_touchpoints_and_properties_are_guarded_channels_are_not(
    segment: str, dimension: tuple[str, str] | None
) -> None:
    assert guarded(segment) == dimension


def test_other_segments() -> None:
    assert other_segment("touchpoint") == "touchpoint:__other__"
    assert other_segment("prop:plan") == "prop:plan=__other__"
    assert is_other("prop:plan=__other__") and not is_other("prop:plan=pro") and not is_other("all")


def test_a_value_folds_only_when_it_is_left_out_of_a_full_dimension() -> None:
    assert fold("prop:plan=pro", {"pro"}, full=True) == "prop:plan=pro"
    assert fold("prop:plan=team", {"pro"}, full=False) == "prop:plan=team"
    assert fold("prop:plan=team", {"pro"}, full=True) == "prop:plan=__other__"
    assert fold("channel:sms", set(), full=True) == "channel:sms"


def test_other_segments_can_be_asked_for() -> None:
    assert parse_segment("touchpoint:__other__") == "touchpoint:__other__"
    assert parse_segment("prop:plan=__other__") == "prop:plan=__other__"
    assert parse_segment(None) == "all"


@pytest.mark.parametrize("bad", ["everything", "channel:fax", "touchpoint:Bad Name", "prop:=x", "prop:k=\n"])
def test_a_bad_segment_is_a_clear_error(bad: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_segment(bad)
    assert error.value.field == "segment"


def test_breakdown_dimensions() -> None:
    assert [parse_breakdown_by(b) for b in ("channel", "touchpoint", "prop:plan")] == [
        "channel",
        "touchpoint",
        "prop:plan",
    ]
    # the prefix ends with its separator, so prop:plan never matches prop:planet=…
    assert [breakdown_prefix(b) for b in ("channel", "touchpoint", "prop:plan")] == [
        "channel:",
        "touchpoint:",
        "prop:plan=",
    ]


@pytest.mark.parametrize("bad", [None, "", "all", "prop:", "prop:Plan", "segment"])
def test_a_bad_breakdown_is_a_clear_error(bad: str | None) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_breakdown_by(bad)
    assert (error.value.field, error.value.code) == ("by", "invalid_breakdown")


def test_a_recipients_locale_counts_in_its_catalog_languages_segment() -> None:
    assert segments_for("email", None, {}, "fr-CA") == ["all", "channel:email", "locale:fr"]
    assert segments_for("sms", "delivery", {}, "zh-TW") == [
        "all",
        "channel:sms",
        "locale:zh-Hant",
        "touchpoint:delivery",
    ]
    # no locale, or one Hark has no catalog for: no locale segment
    assert (
        segments_for("email", None, {}, None)
        == segments_for("email", None, {}, "sw")
        == ["all", "channel:email"]
    )
    assert guarded("locale:fr") is None  # at most one series per catalog language: no guard


@pytest.mark.parametrize("segment", ["locale:fr", "locale:zh-Hant", "locale:ar"])
def test_locale_segments_can_be_asked_for(segment: str) -> None:
    assert parse_segment(segment) == segment


@pytest.mark.parametrize("bad", ["locale:", "locale:xx", "locale:fr-CA", "locale:FR"])
def test_a_locale_segment_names_a_catalog_language(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_segment(bad)


def test_a_breakdown_by_locale() -> None:
    assert parse_breakdown_by("locale") == "locale" and breakdown_prefix("locale") == "locale:"
