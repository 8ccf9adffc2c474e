"""Parsing customers' answer forms."""

from __future__ import annotations

import pytest

from functions.domain.answer_form import parse_answer_form
from functions.domain.errors import InvalidInput

pytestmark = pytest.mark.unit


def test_score_comment_and_attributes() -> None:
    answer = parse_answer_form({"score": "9", "comment": "  fast \r\n", "attr.speed": "7"})
    assert (answer.score, answer.comment, answer.attrs) == (9, "fast", {"speed": 7})


def test_comment_alone_is_allowed() -> None:
    assert parse_answer_form({"comment": "late"}).score is None


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"score": "nine"},
        {"score": "-1"},
        {"score": "1e3"},
        {"comment": "x" * 2001},
        {"attr.../x": "3"},
        {"score": ""},
    ],
)
def test_bad_forms_are_refused_clearly(form: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        parse_answer_form(form)


def test_an_emptied_comment_box_means_remove_the_comment() -> None:
    answer = parse_answer_form({"comment": "  \r\n "})
    assert (answer.score, answer.comment) == (None, "")
    assert parse_answer_form({"score": "3"}).comment is None
