"""Delighted's `additional_answers` (docs/delighted.md): additional questions' answers in the
shape Delighted's API gave them, read back when a client sends them.

One entry per answered question: ``{"id", "value": {"free_response", "scale", "select_one",
"select_many"}, "question": {"id", "type", "text"}}``, with only the value of the question's
type set; a choice is ``{"id", "text"}`` (the id is the option's position). A client may send
the same shape, or simply ``{"question_id": key, "value": "Speed"}`` (a list for select_many,
a number for a scale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from functions.domain.errors import Unprocessable
from functions.domain.questions import (
    FREE_RESPONSE,
    MAX_FREE_RESPONSE,
    SCALE,
    SELECT_MANY,
    SELECT_ONE,
    TYPES,
    Question,
    answer_problem,
)

FIELD = "additional_answers"


def answers_view(questions: Sequence[Question], answers: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """The additional answers of a response, in question order."""
    out = []
    for question in questions:
        given = list(answers.get(question.key) or ())
        if not given:
            continue
        value: dict[str, Any] = dict.fromkeys(TYPES)
        if question.type == FREE_RESPONSE:
            value[FREE_RESPONSE] = given[0]
        elif question.type == SCALE:
            value[SCALE] = int(given[0])
        else:
            choices = [
                {"id": str(question.options.index(v)), "text": v} for v in given if v in question.options
            ]
            value[question.type] = choices if question.type == SELECT_MANY else next(iter(choices), None)
        out.append(
            {
                "id": question.key,
                "value": value,
                "question": {"id": question.key, "type": question.type, "text": question.text},
            }
        )
    return out


def _problem(message: str, index: int) -> Unprocessable:
    return Unprocessable(message, field=f"{FIELD}.{index}", code="invalid_question")


def _choice(question: Question, raw: Any, index: int) -> str:
    """An option given as its text, or as ``{"id": position}`` / ``{"text": …}``."""
    if isinstance(raw, Mapping):
        if raw.get("text") is not None:
            raw = raw["text"]
        elif str(raw.get("id", "")).isdigit() and int(raw["id"]) < len(question.options):
            return question.options[int(raw["id"])]
        else:
            raise _problem(f"a choice of {question.key!r} needs its text or its id", index)
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise _problem(f"a choice of {question.key!r} must be text", index)
    return str(raw)


def _values(question: Question, raw: Any, index: int) -> list[str]:
    if isinstance(raw, Mapping):  # Delighted's typed value: the entry of the question's type
        raw = raw.get(question.type)
    if raw is None or raw == "" or raw == []:
        return []
    if question.type == SELECT_MANY:
        items = raw if isinstance(raw, list) else [raw]
        return list(dict.fromkeys(_choice(question, item, index) for item in items))
    if question.type == SELECT_ONE:
        return [_choice(question, raw, index)]
    if question.type == SCALE:
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).strip().isdigit():
            raise _problem(f"{question.key!r} takes a whole number", index)
        return [str(int(str(raw).strip()))]
    if not isinstance(raw, str):
        raise _problem(f"{question.key!r} takes text", index)
    text = raw.strip()
    if len(text) > MAX_FREE_RESPONSE:
        raise _problem(f"{question.key!r} takes at most {MAX_FREE_RESPONSE} characters", index)
    return [text] if text else []


def answers_from_request(
    questions: Sequence[Question], raw: Any, ignored_ids: Sequence[str] = ()
) -> dict[str, list[str]]:
    """The answers a request's `additional_answers` give (they replace the stored ones), or 422.

    Entries whose id is in `ignored_ids` (a CSI survey's attribute ratings, which Hark returns
    in `additional_answers` but does not change here) are skipped, so a client's `save()` of a
    response it read works.
    """
    if not isinstance(raw, list):
        raise Unprocessable(f"{FIELD} must be a list", field=FIELD, code="invalid_question")
    by_key = {q.key: q for q in questions}
    out: dict[str, list[str]] = {}
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise _problem("each additional answer is an object", index)
        question_ref = entry.get("question")
        key = entry.get("question_id")
        if key is None and isinstance(question_ref, Mapping):
            key = question_ref.get("id")
        if key is None:
            key = entry.get("id")
        if not isinstance(key, str):
            raise _problem("an additional answer names its question (question_id)", index)
        if key in ignored_ids and key not in by_key:
            continue
        question = by_key.get(key)
        if question is None:
            raise _problem(f"unknown question {key[:40]!r}", index)
        values = _values(question, entry.get("value"), index)
        if values:
            out[key] = values
    problem = answer_problem(questions, out)
    if problem is not None:
        raise Unprocessable(problem.message, field=FIELD, code="invalid_question")
    return out
