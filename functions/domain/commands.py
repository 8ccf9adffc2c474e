"""What a caller asks the survey use cases to do, as plain data (docs/architecture.md, "Layers").

The business API validates a request body with its pydantic model and converts it to one of
these at the edge (`functions/api/models.py`), so `functions.logic` needs nothing of the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.domain.follow_ups import FollowUpRule
from functions.domain.kinds import Kind
from functions.domain.questions import Question
from functions.domain.sending import QuietHours
from functions.domain.survey import Attribute, Brand

# A survey's translations as sent: language → its texts, with no field left null.
Translations = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class NewSurvey:
    """A survey to create; `brand` None takes the survey's name and the default colour, and
    `follow_up_rule` None the kind's default rule."""

    name: str
    kind: Kind
    question: str
    follow_up_question: str | None = None
    attributes: tuple[Attribute, ...] = ()
    brand: Brand | None = None
    cooldown_days: int | None = None
    default_locale: str = "en"
    translations: Translations = field(default_factory=dict)
    email_from: str | None = None
    quiet_hours: QuietHours | None = None
    reminder_after_days: int = 0
    follow_up_rule: FollowUpRule | None = None
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class SurveyChanges:
    """The fields of a survey to change: only those named in `given` change (a given field that
    is None clears it, where the API allows null)."""

    given: frozenset[str]
    name: str | None = None
    question: str | None = None
    follow_up_question: str | None = None
    brand: Brand | None = None
    cooldown_days: int | None = None
    email_from: str | None = None
    quiet_hours: QuietHours | None = None
    reminder_after_days: int | None = None
    status: str | None = None
    default_locale: str | None = None
    translations: Translations | None = None
    follow_up_rule: FollowUpRule | None = None
    questions: tuple[Question, ...] | None = None


# ---- the Delighted-compatible calls (docs/delighted.md) ---------------------------------------


@dataclass(frozen=True)
class NewPerson:
    """A person to add (and, unless `send` is false, to send the survey)."""

    email: str | None = None
    phone_number: str | None = None
    name: str | None = None
    channel: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    send: bool = True
    delay: int | None = None


@dataclass(frozen=True)
class DelightedPage:
    """A page of a Delighted list: by number (`page`) or from the previous page (`page_info`)."""

    per_page: int = 20
    page: int = 1
    page_info: str | None = None


@dataclass(frozen=True)
class PeoplePage:
    per_page: int = 20
    page_info: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ResponsesPage(DelightedPage):
    """A page of Delighted's survey responses, with its filters."""

    survey_id: str | None = None
    since: int | None = None
    until: int | None = None
    order: str = "asc"
    person_id: str | None = None
    person_email: str | None = None
    expand: str | None = None


@dataclass(frozen=True)
class NewAnswer:
    """An answer recorded through the API rather than through a link."""

    person: str
    score: int
    comment: str | None = None
    person_properties: dict[str, Any] = field(default_factory=dict)
    additional_answers: list[Any] | None = None


@dataclass(frozen=True)
class NoteIn:
    """A note as a Delighted client sends it back: one without an `id` is new."""

    text: str
    id: str | None = None
    user_email: str | None = None


@dataclass(frozen=True)
class AnswerChanges:
    score: int | None = None
    comment: str | None = None
    additional_answers: list[Any] | None = None
    tags: list[str] | None = None
    notes: tuple[NoteIn, ...] | None = None
