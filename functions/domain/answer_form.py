"""Parsing a customer's answer form (score, optional comment, optional attr.<key> ratings,
optional q.<key> answers to additional questions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from functions.domain.errors import InvalidInput
from functions.domain.questions import answers_from_pairs

MAX_COMMENT = 2000
_INT = re.compile(r"^\s*(\d{1,2})\s*$")
_ATTR_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")


@dataclass(frozen=True)
class AnswerForm:
    score: int | None
    # None: the form had no comment field (keep the stored one); "": it was emptied (remove it).
    comment: str | None
    attrs: dict[str, int] = field(default_factory=dict)
    # None: the form asked no additional question (keep the stored answers); else they replace them.
    answers: dict[str, list[str]] | None = None


def _rating(text: str, name: str) -> int:
    match = _INT.match(text)
    if not match:
        raise InvalidInput(f"{name} must be a whole number", field=name, code="invalid_score")
    return int(match.group(1))


def parse_answer_form(form: Mapping[str, str], pairs: Iterable[tuple[str, str]] = ()) -> AnswerForm:
    """The answer in a form; ranges are checked against the invitation by the store.

    An empty comment field clears a stored comment, so a customer can take a comment back.
    `pairs` are the form's fields in order, repeated ones included (the `q.<key>` answers).
    """
    answers = answers_from_pairs(pairs)
    raw_score = form.get("score", "")
    score = _rating(raw_score, "score") if raw_score.strip() else None
    comment = form.get("comment")
    if comment is not None:
        comment = comment.replace("\r\n", "\n").strip()
        if len(comment) > MAX_COMMENT:
            raise InvalidInput(
                f"comment must be at most {MAX_COMMENT} characters", field="comment", code="comment_too_long"
            )
    attrs: dict[str, int] = {}
    for name, value in form.items():
        if name.startswith("attr."):
            key = name[len("attr.") :]
            if not _ATTR_KEY.match(key):
                raise InvalidInput(f"unknown attribute {key!r}", field=name, code="invalid_attribute")
            if value.strip():
                attrs[key] = _rating(value, name)
    if score is None and comment is None and not attrs and answers is None:
        raise InvalidInput("choose a score", field="score", code="score_required")
    return AnswerForm(score, comment, attrs, answers)
