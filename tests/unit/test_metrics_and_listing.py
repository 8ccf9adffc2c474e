"""Delighted-style rounding, response time filters and cursors (pure parts)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace
from typing import cast

import pytest

from functions.domain.errors import InvalidInput
from functions.logic import responses
from functions.logic.metrics import delighted_view, round_half_away
from tests.helpers import ISSUE_METRICS

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),
        (Fraction(49, 100), 0),
    ],
)
def test_halves_round_away_from_zero(value: Fraction, expected: int) -> None:
    assert round_half_away(value) == expected


def test_delighted_view_of_the_issue_example() -> None:
    # 10,9,9,8,7,6,5,0,10,9: promoters 5, passives 2, detractors 3
    counts = {10: 2, 9: 3, 8: 1, 7: 1, 6: 1, 5: 1, 0: 1}
    assert delighted_view(counts) == ISSUE_METRICS


def test_delighted_view_rounds_thirds_and_uses_exact_shares_for_nps() -> None:
    view = delighted_view({10: 1, 7: 1, 0: 1})
    assert (view["promoter_percent"], view["passive_percent"], view["detractor_percent"]) == (33, 33, 33)
    assert view["nps"] == 0
    # 2 promoters, 1 detractor out of 8: 25% - 12.5% = 12.5 → 13 (half away from zero)
    assert delighted_view({9: 2, 0: 1, 7: 5})["nps"] == 13
    assert delighted_view({0: 2, 9: 1, 7: 5})["nps"] == -13


def test_no_responses_gives_zeros() -> None:
    assert set(delighted_view({}).values()) == {0}


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("1700000000", "2023-11-14T22:13:20.000Z"),
        ("2026-11-23", "2026-11-23T00:00:00.000Z"),
        ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00.000Z"),
        ("2026-11-23T12:00:00+02:00", "2026-11-23T10:00:00.000Z"),
        ("2026-11-23T10:00:00.5", "2026-11-23T10:00:00.500Z"),
    ],
)
def test_instants_in_unix_seconds_or_iso(text: str, iso: str) -> None:
    assert responses.parse_instant(text, "since") == iso


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "99999999999999", "1e9"])
def test_bad_instants_are_clear_errors(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        responses.parse_instant(text, "until")
    assert caught.value.field == "until"


def test_since_after_until_is_refused() -> None:
    with pytest.raises(InvalidInput):
        responses.span("2026-11-24", "2026-11-23")


def test_a_cursor_round_trips_and_foreign_ones_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.domain.survey import Survey
    from functions.domain.tokens import SigningKeys
    from functions.store import cursors

    monkeypatch.setattr(cursors, "signing_keys", lambda: SigningKeys.parse("k1:" + "a" * 40))
    survey = cast(Survey, SimpleNamespace(id="srv_AbCdEfGhIjKl", tenant_id="ten_AbCdEfGhIjKl"))
    item = {"answer_sk": "2026-11-23T10:00:00.000Z#AbCdEfGhIj"}
    everything = responses.Span()
    cursor = responses.encode_cursor(survey, item)
    assert responses.decode_cursor(survey, cursor, everything) == (
        "2026-11-23T10:00:00.000Z#AbCdEfGhIj",
        "AbCdEfGhIj",
    )
    later = responses.span("2026-11-24", None)
    for bad in ["x", "eyJhIjoxfQ", cursor[:-3]]:
        with pytest.raises(InvalidInput):
            responses.decode_cursor(survey, bad, everything)
    with pytest.raises(InvalidInput):  # a cursor from outside the since/until span
        responses.decode_cursor(survey, cursor, later)
