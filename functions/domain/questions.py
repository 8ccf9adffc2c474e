"""Additional questions (docs/questions.md): up to five per survey, asked after the score on the
thank-you page, every one optional.

A question is `select_one` or `select_many` (with `options`), `free_response`, or `scale`
(`1-5` or `0-10`). An answer is stored on the response as the list of its values as text (the
chosen options' texts, the scale point, the free text). The scores count the choices of
select and scale questions by *position* — question n, option (or point) v — so a tally item
stays small whatever the texts (docs/scale.md): that is why a question's key, type, options
and scale never change once the survey has it (new questions may be added after the others).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.domain.errors import InvalidInput

SELECT_ONE = "select_one"
SELECT_MANY = "select_many"
FREE_RESPONSE = "free_response"
SCALE = "scale"
TYPES = (SELECT_ONE, SELECT_MANY, FREE_RESPONSE, SCALE)
SCALES = {"1-5": (1, 5), "0-10": (0, 10)}
MAX_QUESTIONS = 5
MAX_OPTIONS = 10
MAX_OPTION_LENGTH = 100
MAX_FREE_RESPONSE = 2000
FORM_PREFIX = "q."
# The thank-you form's hidden field: its questions were on the page, so what is not sent was
# left unanswered (a cleared choice is taken back), as for the comment.
FORM_MARKER = "q"
_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
# In a condition token, "<key>=*" admits any text (a free response), "<key>=+" several values.
ANY_TEXT = "*"
SEVERAL = "+"


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    text: str
    options: tuple[str, ...] = ()
    scale: str | None = None

    @property
    def counted(self) -> bool:
        """Select and scale answers are counted in the summaries; free responses only stored."""
        return self.type != FREE_RESPONSE

    def values(self) -> tuple[str, ...]:
        """The answers a counted question accepts, as posted: option texts or scale points."""
        if self.type == SCALE:
            low, high = SCALES[self.scale or "1-5"]
            return tuple(str(n) for n in range(low, high + 1))
        return self.options

    def position(self, value: str) -> int | None:
        """The counted position of one answer value (the option's index, the scale point)."""
        if self.type == SCALE:
            return int(value) if value in self.values() else None
        return self.options.index(value) if value in self.options else None

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "type": self.type, "text": self.text}
        if self.type in (SELECT_ONE, SELECT_MANY):
            out["options"] = list(self.options)
        if self.type == SCALE:
            out["scale"] = self.scale
        return out


def questions_from_plain(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Question, ...]:
    """Questions from their stored (or page-copy) form."""
    return tuple(
        Question(
            key=str(q["key"]),
            type=str(q["type"]),
            text=str(q.get("text") or ""),
            options=tuple(str(o) for o in q.get("options") or ()),
            scale=q.get("scale"),
        )
        for q in raw or ()
    )


def condition_tokens(questions: Sequence[Question]) -> set[str]:
    """What an invitation item holds so that one conditional write can check an answer."""
    tokens: set[str] = set()
    for q in questions:
        if q.type == FREE_RESPONSE:
            tokens.add(f"{q.key}={ANY_TEXT}")
        else:
            tokens.update(f"{q.key}={value}" for value in q.values())
        if q.type == SELECT_MANY:
            tokens.add(f"{q.key}={SEVERAL}")
    return tokens


def answers_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]] | None:
    """The `q.<key>` fields of a form (repeated for select_many), blanks dropped.

    None: the form carried no question at all (keep the stored answers); otherwise the answers
    replace the stored ones, so a choice taken back is removed.
    """
    found: dict[str, list[str]] = {}
    seen = False
    for name, value in pairs:
        if name == FORM_MARKER:
            seen = True
            continue
        if not name.startswith(FORM_PREFIX):
            continue
        seen = True
        key = name[len(FORM_PREFIX) :]
        if not _KEY.match(key):
            raise InvalidInput(f"unknown question {key!r}", field=name, code="invalid_question")
        text = value.replace("\r\n", "\n").strip()
        if len(text) > MAX_FREE_RESPONSE:
            raise InvalidInput(
                f"an answer must be at most {MAX_FREE_RESPONSE} characters",
                field=name,
                code="answer_too_long",
            )
        if text:
            if key not in found and len(found) >= MAX_QUESTIONS:
                raise InvalidInput(
                    f"a survey asks at most {MAX_QUESTIONS} questions", field=name, code="invalid_question"
                )
            values = found.setdefault(key, [])
            if text not in values:
                values.append(text)
            if len(values) > MAX_OPTIONS:
                raise InvalidInput(
                    f"at most {MAX_OPTIONS} choices per question", field=name, code="invalid_question"
                )
    return found if seen else None


def answer_problem(
    questions: Sequence[Question], answers: Mapping[str, Sequence[str]]
) -> InvalidInput | None:
    """Why `answers` do not fit `questions` (the first problem), or None."""
    by_key = {q.key: q for q in questions}
    for key, values in answers.items():
        question = by_key.get(key)
        field = FORM_PREFIX + key
        if question is None:
            return InvalidInput(f"unknown question {key!r}", field=field, code="invalid_question")
        if len(values) > 1 and question.type != SELECT_MANY:
            return InvalidInput(f"question {key!r} takes one answer", field=field, code="invalid_question")
        if question.counted:
            for value in values:
                if question.position(value) is None:
                    return InvalidInput(
                        f"{value!r} is not one of the choices of question {key!r}",
                        field=field,
                        code="invalid_question",
                    )
    return None


def picks(questions: Sequence[Question], answers: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The counted choices of a response: ``"<question position>#<value position>"``, sorted.

    Raises ValueError for an answer its questions do not admit (the aggregator then reports
    the record instead of counting it wrongly).
    """
    problem = answer_problem(questions, answers)
    if problem is not None:
        raise ValueError(problem.message)
    out: list[str] = []
    for n, question in enumerate(questions):
        if not question.counted:
            continue
        for value in answers.get(question.key, ()):
            out.append(f"{n}#{question.position(value)}")
    return tuple(sorted(out))


def additional_counts(questions: Sequence[Question], counted: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """The summary's `additional`: question key → option (or scale point) → answers.

    `counted` maps ``"<question position>#<value position>"`` to its count (a tally's picks).
    """
    out: dict[str, dict[str, int]] = {}
    for n, question in enumerate(questions):
        if not question.counted:
            continue
        out[question.key] = {
            value: counted.get(f"{n}#{question.position(value)}", 0) for value in question.values()
        }
    return out


def localized_questions(
    questions: Iterable[Mapping[str, Any]], texts: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The page copy's questions with their texts in a translation (`translations.<lang>.questions`).

    Options keep their value (the source text, which is what is stored and counted) and gain
    a `labels` list in the language.
    """
    out = []
    for q in questions:
        mine = texts.get(str(q["key"])) or {}
        copy = dict(q)
        if mine.get("text"):
            copy["text"] = mine["text"]
        labels = list(mine.get("options") or ())
        if q.get("options") and len(labels) == len(q["options"]):
            copy["labels"] = labels
        out.append(copy)
    return out


def translation_gap(questions: Iterable[Mapping[str, Any]], texts: Mapping[str, Any]) -> str | None:
    """The first question text a translation lacks (key, or key.options), or None."""
    mine = texts.get("questions") or {}
    keys = set()
    for q in questions:
        key = str(q["key"])
        keys.add(key)
        found = mine.get(key) or {}
        if not found.get("text"):
            return key
        if q.get("options") and len(found.get("options") or ()) != len(q["options"]):
            return f"{key}.options"
    for key in mine:
        if key not in keys:
            return str(key)
    return None
