"""Public API models (pydantic v2): what business apps send and receive under /v1.

They are separate from the domain entities and the stored items; routes convert.
Reusable constrained types live here once instead of the same Field(...) in ten places.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from functions.domain.commands import (
    AnswerChanges,
    DelightedPage,
    NewAnswer,
    NewPerson,
    NewSurvey,
    NoteIn,
    PeoplePage,
    ResponsesPage,
    SurveyChanges,
)
from functions.domain.event_names import EVENTS
from functions.domain.follow_ups import FollowUpRule, rule_problem
from functions.domain.kinds import Kind
from functions.domain.languages import LANGUAGES
from functions.domain.questions import Question
from functions.domain.sending import QuietHours
from functions.domain.survey import Attribute, Brand
from functions.logic.commands import (
    MAX_RECIPIENTS,
    Channel,
    Delay,
    Email,
    Locale,
    Phone,
    RecipientModel,
    SendAt,
    Slug,
    Strict,
    _one_time,
)
from functions.logic.commands import validation_error as validation_error

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]

# A language Hark has a catalog for (a survey's default and its translations' keys).
Language = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20),
    Field(description="a language with a catalog: " + ", ".join(LANGUAGES)),
]
ScaleLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


Weight = Annotated[float, Field(ge=0.001, le=100, description="relative importance, 0.001 to 100")]
Cooldown = Annotated[int, Field(ge=0, le=3650, description="days before a customer may be invited again")]
# A plain address (no display name): it must be an SES-verified identity or on a verified domain.
SenderAddress = Annotated[
    str,
    StringConstraints(max_length=254, pattern=r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$"),
    Field(description="the address emails are sent from (verified in SES); default: the deployment's"),
]


class AttributeModel(Strict):
    key: Slug
    label: Text
    weight: Weight = 1.0


class BrandModel(Strict):
    name: Name
    color: Color = "#1f6feb"


OptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class QuestionTextModel(Strict):
    """One additional question in another language: its text, and its options' labels in the
    survey's order (what is stored and counted stays the option in the default language)."""

    text: Text
    options: list[OptionText] = Field(default_factory=list, max_length=10)


class QuestionModel(Strict):
    """An additional question, asked after the score on the thank-you page; answering is optional
    (docs/questions.md). Its key, type, options and scale cannot change once the survey has it."""

    key: Slug
    type: Literal["select_one", "select_many", "free_response", "scale"]
    text: Text
    options: list[OptionText] = Field(
        default_factory=list, max_length=10, description="select_one and select_many: 2 to 10 choices"
    )
    scale: Literal["1-5", "0-10"] | None = Field(default=None, description="scale questions: 1-5 or 0-10")

    @model_validator(mode="after")
    def _shape_fits_type(self) -> QuestionModel:
        selects = self.type in ("select_one", "select_many")
        if selects and len(self.options) < 2:
            raise ValueError(f"a {self.type} question needs 2 to 10 options")
        if not selects and self.options:
            raise ValueError("only select_one and select_many questions have options")
        if len(set(self.options)) != len(self.options):
            raise ValueError("a question's options must be different")
        if self.type == "scale" and self.scale is None:
            raise ValueError('a scale question needs "scale": "1-5" or "0-10"')
        if self.type != "scale" and self.scale is not None:
            raise ValueError("only scale questions have a scale")
        return self


Questions = Annotated[
    list[QuestionModel], Field(max_length=5, description="up to 5 additional questions, all optional")
]


def _unique_questions(questions: list[QuestionModel]) -> None:
    keys = [q.key for q in questions]
    if len(set(keys)) != len(keys):
        raise ValueError("question keys must be unique")


class TranslationModel(Strict):
    """A survey's own texts in one language; the page falls back to the default language for
    everything unless the question, the follow-up question (when asked) and every attribute
    label are given."""

    question: Text
    follow_up_question: Text | None = None
    scale_low: ScaleLabel | None = Field(default=None, description="the label of the scale's low end")
    scale_high: ScaleLabel | None = Field(default=None, description="the label of the scale's high end")
    attributes: dict[Slug, Text] = Field(default_factory=dict, description="csi: attribute key → label")
    questions: dict[Slug, QuestionTextModel] = Field(
        default_factory=dict, description="additional questions: key → their text (and options) here"
    )


Translations = Annotated[
    dict[Language, TranslationModel],
    Field(max_length=len(LANGUAGES), description="per language (e.g. fr, ar, zh-Hant): the survey's texts"),
]


ReminderDays = Annotated[
    int,
    Field(
        ge=0,
        le=30,
        description="days after a sent email to remind a customer who has not answered, once; 0: never",
    ),
]
LocalTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class QuietHoursModel(Strict):
    """Local times between which no email is sent (in each recipient's `time_zone`, else UTC);
    a send that falls inside moves to `end`. `start` after `end` spans midnight."""

    start: LocalTime = Field(description="HH:MM, e.g. 21:00")
    end: LocalTime = Field(description="HH:MM, e.g. 08:00")


SlaHours = Annotated[
    int, Field(ge=1, le=720, description="hours from opening to the follow-up's deadline (due_at)")
]


class FollowUpRuleModel(Strict):
    """Which answers open a follow-up (docs/follow-ups.md). Absent: the kind's default — NPS 0–6,
    CSAT 1–2, CES 1–3 (`max_score`), CSI an answer index below 50 (`below_index`)."""

    enabled: bool = True
    max_score: int | None = Field(
        default=None, description="nps, csat, ces: answers at or below this score open a follow-up"
    )
    below_index: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="csi: answers whose own index (their ratings, weighted) is below this open one",
    )
    sla_hours: SlaHours = 24


def _rule_fits_kind(kind: Kind, rule: FollowUpRuleModel | None) -> None:
    problem = None if rule is None else rule_problem(kind, rule.max_score, rule.below_index)
    if problem:
        raise ValueError(problem)


def _question_of(q: QuestionModel) -> Question:
    return Question(q.key, q.type, q.text, tuple(q.options), q.scale)


def _texts_of(translations: dict[str, TranslationModel]) -> dict[str, dict[str, Any]]:
    return {code: t.model_dump(exclude_none=True) for code, t in translations.items()}


def _rule_of(rule: FollowUpRuleModel | None) -> FollowUpRule | None:
    return (
        None if rule is None else FollowUpRule(rule.enabled, rule.max_score, rule.below_index, rule.sla_hours)
    )


def _quiet_of(quiet: QuietHoursModel | None) -> QuietHours | None:
    return None if quiet is None else QuietHours(quiet.start, quiet.end)


class SurveyCreate(Strict):
    name: Name
    kind: Kind
    question: Text
    follow_up_question: Text | None = None
    attributes: list[AttributeModel] = Field(default_factory=list, max_length=12)
    brand: BrandModel | None = None
    cooldown_days: Cooldown | None = None
    default_locale: Language = "en"
    translations: Translations = Field(default_factory=dict)
    email_from: SenderAddress | None = None
    quiet_hours: QuietHoursModel | None = None
    reminder_after_days: ReminderDays = 0
    follow_up_rule: FollowUpRuleModel | None = None
    questions: Questions = Field(default_factory=list)

    @model_validator(mode="after")
    def _questions_unique(self) -> SurveyCreate:
        _unique_questions(self.questions)
        return self

    @model_validator(mode="after")
    def _attributes_fit_kind(self) -> SurveyCreate:
        _rule_fits_kind(self.kind, self.follow_up_rule)
        if self.kind is Kind.CSI and not self.attributes:
            raise ValueError("a csi survey needs at least one attribute")
        if self.kind is not Kind.CSI and self.attributes:
            raise ValueError("only csi surveys have attributes")
        keys = [a.key for a in self.attributes]
        if len(set(keys)) != len(keys):
            raise ValueError("attribute keys must be unique")
        return self

    def command(self) -> NewSurvey:
        """The survey to create, as the logic takes it."""
        return NewSurvey(
            name=self.name,
            kind=self.kind,
            question=self.question,
            follow_up_question=self.follow_up_question,
            attributes=tuple(Attribute(a.key, a.label, a.weight) for a in self.attributes),
            brand=Brand(self.brand.name, self.brand.color) if self.brand else None,
            cooldown_days=self.cooldown_days,
            default_locale=self.default_locale,
            translations=_texts_of(self.translations),
            email_from=self.email_from,
            quiet_hours=_quiet_of(self.quiet_hours),
            reminder_after_days=self.reminder_after_days,
            follow_up_rule=_rule_of(self.follow_up_rule),
            questions=tuple(_question_of(q) for q in self.questions),
        )


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent() -> Any:
    """A field that may be left out but not sent as null (its schema shows no null)."""
    return Field(default=None, json_schema_extra=_no_default)


class SurveyPatch(Strict):
    """The fields to change; absent fields stay as they are.

    `kind` and `attributes` cannot change: stored scores depend on them.
    """

    name: Name = absent()
    question: Text = absent()
    follow_up_question: Text | None = None
    brand: BrandModel = absent()
    cooldown_days: Cooldown | None = None
    email_from: SenderAddress | None = None
    quiet_hours: QuietHoursModel | None = None
    reminder_after_days: ReminderDays = absent()
    status: Literal["active", "archived"] = absent()
    default_locale: Language = absent()
    translations: Translations = absent()
    follow_up_rule: FollowUpRuleModel | None = Field(
        default=None, description="null: back to the kind's default; checked against the survey's kind"
    )
    # The survey's questions: those it has first (same key, type, options and scale; texts may
    # change), then any new ones (logic.surveys refuses other changes: 422 questions_fixed).
    questions: Questions = absent()

    @model_validator(mode="after")
    def _questions_unique(self) -> SurveyPatch:
        if self.questions is not None:
            _unique_questions(self.questions)
        return self

    @model_validator(mode="before")
    @classmethod
    def _immutable_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("kind", "attributes"):
                if name in data:
                    raise ValueError(f"{name} cannot change after a survey is created; create a new survey")
        return data

    def command(self) -> SurveyChanges:
        """The changes, as the logic takes them: only the fields the body names."""
        return SurveyChanges(
            given=frozenset(self.model_fields_set),
            name=self.name,
            question=self.question,
            follow_up_question=self.follow_up_question,
            brand=Brand(self.brand.name, self.brand.color) if self.brand is not None else None,
            cooldown_days=self.cooldown_days,
            email_from=self.email_from,
            quiet_hours=_quiet_of(self.quiet_hours),
            reminder_after_days=self.reminder_after_days,
            status=self.status,
            default_locale=self.default_locale,
            translations=_texts_of(self.translations) if self.translations is not None else None,
            follow_up_rule=_rule_of(self.follow_up_rule),
            questions=tuple(_question_of(q) for q in self.questions) if self.questions is not None else None,
        )


class InvitationsRequest(Strict):
    """Each recipient is validated on its own as a `Recipient`: a bad row is reported in
    `errors` by its index and the good rows are still created."""

    # More than MAX_RECIPIENTS is refused with 413 by the logic, with a message that says so.
    recipients: list[Any] = Field(
        min_length=1,
        description="up to 1,000 recipients, each a Recipient (see components)",
        json_schema_extra={"maxItems": MAX_RECIPIENTS},
    )
    send: bool = Field(
        default=False,
        description="send each invitation (email, or text for sms) instead of only returning its links; "
        "a recipient's own `send` wins",
    )
    delay: Delay | None = None
    send_at: SendAt | None = None

    @model_validator(mode="after")
    def _one_send_time(self) -> InvitationsRequest:
        _one_time(self.delay, self.send_at)
        return self


# The names live once, in functions/domain/event_names.py: pydantic (and the OpenAPI enum)
# sees the Literal of them; a Literal built from a tuple is beyond static types.
Event = Literal[EVENTS]  # type: ignore[valid-type]


class WebhookCreate(Strict):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)] = Field(
        description="https URL that resolves to public addresses (the dev stage also allows http://127.0.0.1)"
    )
    events: list[Event] = Field(min_length=1, max_length=len(EVENTS))


MessagingServiceSid = Annotated[str, StringConstraints(pattern=r"^MG[0-9a-fA-F]{32}$")]


class SmsSettingsPatch(Strict):
    """Absent fields stay; null clears one."""

    provider: Literal["sns", "twilio"] = absent()
    number: Phone | None = Field(
        default=None,
        description="E.164; where the tenant's texts come from and its customers' replies arrive. "
        "One tenant per number (409 when another holds it)",
    )
    messaging_service_sid: MessagingServiceSid | None = Field(
        default=None, description="Twilio Messaging Service (MG…) whose replies route to this tenant"
    )


class SettingsPatch(Strict):
    """The settings to change; absent fields stay, null clears one (`"sms": null` clears all
    SMS settings and releases the number)."""

    email_from: Email | None = None
    reply_to: Email | None = None
    default_locale: Locale | None = None
    sms: SmsSettingsPatch | None = None


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate `data` as `model`, turning the first problem into one clear InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


# ---- follow-ups (docs/follow-ups.md) ------------------------------------------------------------

Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00-\x1f]+$")
]
Owner = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FollowUpPatch(Strict):
    """Absent fields stay. `owner: null` clears the owner; `tags` replaces the tags."""

    status: Literal["open", "in_progress", "closed"] = absent()
    owner: Owner | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] = absent()


class NoteCreate(Strict):
    text: NoteText
    author: Owner | None = Field(default=None, description="who wrote it; default: the API key's id")


class ReplyCreate(Strict):
    text: NoteText
    author: Owner | None = Field(default=None, description="who wrote it; default: the API key's id")
    email: Email | None = Field(
        default=None,
        description="the customer's address (Hark keeps none after an invitation's last send); "
        "default: the customer's person record, if one has an email",
    )
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = (
        None
    )


# ---- query parameters ---------------------------------------------------------------------------


class Query(BaseModel):
    """Query parameters: unknown ones are ignored (clients written for other APIs send extras)."""

    model_config = ConfigDict(extra="ignore")


Limit = Annotated[int, Field(ge=1, le=100, description="page size, 1 to 100")]
Cursor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    Field(description="next_cursor of the previous page"),
]


class PageQuery(Query):
    limit: Limit = 50
    cursor: Cursor | None = None


class ScoresQuery(Query):
    window: Literal["7d", "30d", "90d", "365d", "all"] = "30d"
    segment: Annotated[
        str,
        Field(
            description=(
                "all, channel:<email|sms|link>, locale:<language>, touchpoint:<name> or prop:<key>=<value>"
            ),
            max_length=160,
        ),
    ] = "all"


class BreakdownQuery(Query):
    by: Annotated[
        str | None, Field(description="channel, locale, touchpoint or prop:<key>", max_length=60)
    ] = None
    window: Annotated[str, Field(description="7d, 30d, 90d, 365d or all", max_length=8)] = "30d"


class TrendQuery(Query):
    interval: Annotated[str | None, Field(description="day (default), week or month", max_length=8)] = None
    from_: Annotated[str | None, Field(alias="from", description="first day, YYYY-MM-DD (UTC)")] = None
    to: Annotated[str | None, Field(description="last day, YYYY-MM-DD (UTC); default today")] = None
    segment: Annotated[str, Field(max_length=160)] = "all"


class CompareQuery(Query):
    a: str | None = Field(
        default=None, description="window a: 7d, 30d, 90d, 365d, all or YYYY-MM-DD..YYYY-MM-DD"
    )
    b: str | None = Field(default=None, description="window b, sharing no day with a")
    segment: Annotated[
        str | None, Field(description="the segment both windows are read in (default all)")
    ] = None
    a_segment: str | None = Field(
        default=None, description="instead of windows: segment a, e.g. channel:email"
    )
    b_segment: str | None = Field(
        default=None, description="segment b: another value of a_segment's dimension"
    )
    window: str | None = Field(default=None, description="the window both segments are read in (default 30d)")


class RollUpQuery(Query):
    survey_ids: str | None = Field(
        default=None, description="up to 100 survey ids of one kind, comma-separated"
    )
    window: Annotated[str | None, Field(description="7d, 30d (default), 90d, 365d or all")] = None
    segment: Annotated[str | None, Field(description="all (default), channel:…, touchpoint:… or prop:…")] = (
        None
    )


Instant = Annotated[
    str,
    StringConstraints(max_length=40),
    Field(description="unix seconds, or an ISO 8601 date or UTC date-time"),
]


class FollowUpsQuery(PageQuery):
    status: Literal["open", "in_progress", "closed"] | None = Field(
        default=None, description="default: open and in progress"
    )
    owner: Owner | None = None
    survey_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    overdue: bool = Field(default=False, description="only those past due_at (open or in progress)")


class ResponsesQuery(PageQuery):
    since: Instant | None = Field(
        default=None, description="first answered at or after this (inclusive): unix seconds or ISO 8601"
    )
    until: Instant | None = Field(
        default=None, description="first answered before this (exclusive): unix seconds or ISO 8601"
    )
    format: Literal["json", "csv", "ndjson"] | None = Field(
        default=None, description="an alternative to the Accept header (text/csv, application/x-ndjson)"
    )


class MetricsQuery(Query):
    survey_id: str | None = Field(
        default=None, max_length=40, description="the survey; default: the API key's default survey"
    )
    since: Annotated[int, Field(ge=0, le=253402300799)] | None = Field(
        default=None, description="unix seconds; counts from this UTC day (inclusive)"
    )
    until: Annotated[int, Field(ge=0, le=253402300799)] | None = Field(
        default=None, description="unix seconds; counts up to this UTC day (inclusive)"
    )


# ---- Delighted-compatible requests (docs/delighted.md) ---------------------------------------------


class Lenient(BaseModel):
    """A Delighted request body: its clients send fields Hark does not use (they are ignored)."""

    model_config = ConfigDict(extra="ignore")


Unix = Annotated[int, Field(ge=0, le=253402300799)]
PerPage = Annotated[int, Field(ge=1, le=100, description="page size, 1 to 100 (Delighted's default: 20)")]
PageNumber = Annotated[
    int,
    Field(
        ge=1,
        le=100_000,
        description="page number, from 1; pages reach the first 1,000 rows (422 `page_too_deep` "
        'past them): follow the `Link: <…>; rel="next"` header to go further',
    ),
]
DelightedSurvey = Annotated[
    str | None,
    Field(
        default=None,
        max_length=40,
        description="Hark's extension: the survey; default: the key's default survey",
    ),
]


C = TypeVar("C")


def _as(command: type[C], model: BaseModel) -> C:
    """The command of the same field names as `model` (a Delighted request, validated)."""
    return command(**{f.name: getattr(model, f.name) for f in fields(command)})  # type: ignore[arg-type]


class PersonCreate(Lenient):
    email: Email | None = None
    phone_number: Phone | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    channel: Literal["email", "sms"] | None = Field(
        default=None, description="default: email when an email is given, else sms"
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="become the invitation's properties: text values, at most 10 "
        "(keys are lower-cased to [a-z0-9_]); the rest are returned in `ignored_properties`",
    )
    send: bool = Field(
        default=True,
        description="send the survey by email or text (as Delighted did); false: links only",
    )
    delay: Delay | None = Field(default=None, description="seconds to wait before sending (up to 30 days)")

    @model_validator(mode="after")
    def _contact(self) -> PersonCreate:
        if not self.email and not self.phone_number:
            raise ValueError("a person needs an email or a phone_number (E.164, +15551234567)")
        if self.channel == "sms" and not self.phone_number:
            raise ValueError("channel sms needs a phone_number (E.164, +15551234567)")
        if self.channel == "email" and not self.email:
            raise ValueError("channel email needs an email")
        return self

    def command(self) -> NewPerson:
        return _as(NewPerson, self)


class SurveyResponseCreate(Lenient):
    person: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)] = Field(
        description="the person's id or email"
    )
    score: int
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    person_properties: dict[str, Any] = Field(default_factory=dict)
    additional_answers: list[Any] | None = Field(
        default=None,
        max_length=20,
        description="answers to the survey's additional questions: Delighted's shape, or "
        '{"question_id": key, "value": "Speed"} (a list for select_many, a number for a scale)',
    )

    def command(self) -> NewAnswer:
        return _as(NewAnswer, self)


class DelightedNoteIn(Lenient):
    """A note as `SurveyResponse.save()` sends it back: one without an `id` is a new note."""

    id: Annotated[str, StringConstraints(max_length=64)] | None = None
    text: NoteText
    user_email: Annotated[str, StringConstraints(max_length=254)] | None = None


class SurveyResponseUpdate(Lenient):
    """What `SurveyResponse.save()` sends (the whole response); score, comment and the additional
    questions' answers change (`additional_answers`, when sent, replace the stored ones); `tags`
    replaces the response's tags and a note without an `id` is added (docs/follow-ups.md#delighted)."""

    score: int | None = None
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None
    additional_answers: list[Any] | None = Field(default=None, max_length=20)
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    notes: Annotated[list[DelightedNoteIn], Field(max_length=50)] | None = None

    def command(self) -> AnswerChanges:
        notes = None if self.notes is None else tuple(_as(NoteIn, n) for n in self.notes)
        return AnswerChanges(self.score, self.comment, self.additional_answers, self.tags, notes)


class UnsubscribeCreate(Lenient):
    person_email: Email


class DelightedPageQuery(Query):
    per_page: PerPage = 20
    page: PageNumber = 1
    page_info: Cursor | None = Field(
        default=None, description="from the previous page's Link header (then `page` is ignored)"
    )

    def command(self) -> DelightedPage:
        return _as(DelightedPage, self)


class PeopleQuery(Query):
    per_page: PerPage = 20
    page_info: Cursor | None = Field(default=None, description="from the previous page's Link header")
    email: Email | None = None

    def command(self) -> PeoplePage:
        return _as(PeoplePage, self)


class SurveyResponsesQuery(DelightedPageQuery):
    survey_id: DelightedSurvey = None
    since: Unix | None = Field(default=None, description="created at or after (unix seconds)")
    until: Unix | None = Field(default=None, description="created at or before (unix seconds)")
    order: Literal["asc", "desc"] = "asc"
    person_id: Annotated[str, StringConstraints(max_length=254)] | None = None
    person_email: Annotated[str, StringConstraints(max_length=254)] | None = None
    expand: Literal["person"] | None = Field(
        default=None, alias="expand[]", description="`expand[]=person` embeds the person object"
    )

    def command(self) -> ResponsesPage:
        return _as(ResponsesPage, self)


class SurveyQuery(Query):
    survey_id: DelightedSurvey = None


class ExpandQuery(Query):
    expand: Literal["person"] | None = Field(default=None, alias="expand[]")


# ---- responses (what the API returns) ----------------------------------------------------------


class Out(BaseModel):
    """A response body. Clients must accept fields added later."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(Out):
    code: str
    message: str
    field: str | None = None


class ErrorBody(Out):
    error: ErrorDetail


class AttributeOut(Out):
    key: str
    label: str
    weight: float


class BrandOut(Out):
    name: str
    color: str


class TranslationOut(Out):
    question: str
    follow_up_question: str | None = None
    scale_low: str | None = None
    scale_high: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    questions: dict[str, QuestionTextOut] = Field(default_factory=dict)


class QuestionTextOut(Out):
    text: str
    options: list[str] = Field(default_factory=list)


class QuestionOut(Out):
    key: str
    type: Literal["select_one", "select_many", "free_response", "scale"]
    text: str
    options: list[str] | None = None
    scale: Literal["1-5", "0-10"] | None = None


class SurveyOut(Out):
    id: str
    name: str
    kind: Kind
    question: str
    follow_up_question: str | None
    attributes: list[AttributeOut]
    brand: BrandOut
    cooldown_days: int | None
    status: Literal["active", "archived"]
    created_at: str
    default_locale: str
    translations: dict[str, TranslationOut]
    email_from: str | None
    quiet_hours: QuietHoursOut | None
    reminder_after_days: int
    follow_up_rule: FollowUpRuleOut


class FollowUpRuleOut(Out):
    """The survey's rule with the kind's defaults filled in."""

    enabled: bool
    sla_hours: int
    max_score: int | None = None
    below_index: float | None = None
    questions: list[QuestionOut] = Field(default_factory=list)


class SmsSettingsOut(Out):
    provider: Literal["sns", "twilio"] | None
    number: str | None
    messaging_service_sid: str | None


class SettingsOut(Out):
    email_from: str | None
    reply_to: str | None
    default_locale: str | None
    sms: SmsSettingsOut


class QuietHoursOut(Out):
    start: str
    end: str


class SurveyPage(Out):
    data: list[SurveyOut]
    next_cursor: str | None


DeliveryStatus = Literal[
    "links_only", "scheduled", "sending", "sent", "failed", "bounced", "complained", "suppressed", "cancelled"
]


class ReminderOut(Out):
    status: DeliveryStatus
    send_at: str | None
    sent_at: str | None
    error: str | None


class DeliveryOut(Out):
    status: Literal[
        "links_only",
        "scheduled",
        "sending",
        "sent",
        "failed",
        "bounced",
        "complained",
        "suppressed",
        "cancelled",
    ] = Field(description="links_only: nothing is sent (the caller sends the links)")
    send_at: str | None
    sent_at: str | None
    provider_message_id: str | None
    error: str | None = Field(description="why it failed, was suppressed or cancelled")
    reminder: ReminderOut | None = Field(
        default=None, description="the one reminder, once the email was sent (survey `reminder_after_days`)"
    )


class InvitationOut(Out):
    index: int = Field(description="the recipient's position in the request")
    invitation_id: str
    customer_id: str
    channel: Channel
    url: str
    score_urls: dict[str, str] = Field(description="email: one URL per score; empty otherwise")
    short_url: str | None = Field(description="sms: the short link; null otherwise")
    expires_at: str
    delivery: DeliveryOut


class SkippedOut(Out):
    index: int
    customer_id: str
    reason: str = Field(description="a stable code, e.g. cooldown")
    message: str
    last_invited_at: str | None = None


class RowErrorOut(Out):
    index: int
    error: ErrorDetail


class InvitationsOut(Out):
    invitations: list[InvitationOut]
    skipped: list[SkippedOut]
    errors: list[RowErrorOut]


class AttributeScoreOut(Out):
    key: str
    mean: float | None
    index: float | None
    weight: float


class BreakdownOut(Out):
    survey_id: str
    kind: Kind
    by: str
    window: str
    as_of: str
    folded: bool
    segments: list[ScoreSummaryOut]


class TrendBucketOut(Out):
    period: str
    start: str
    end: str
    responses: int
    invited: int
    margin_of_error: float | None = Field(description="95% margin of error of the headline score")
    significant_change: bool | None = Field(
        description="the headline differs from the bucket before at 95% "
        "(null: the first bucket, or too few answers to test)"
    )


class TrendOut(Out):
    survey_id: str
    kind: Kind
    segment: str
    interval: str
    from_: str = Field(alias="from")
    to: str
    as_of: str
    buckets: list[TrendBucketOut]


class ScoreSummaryOut(Out):
    """A score summary (docs/architecture.md). The fields after `counts` depend on the survey's kind."""

    survey_id: str
    kind: Kind
    segment: str
    window: str
    as_of: str
    responses: int
    invited: int
    response_rate: float | None
    counts: dict[str, int]
    nps: float | None = None
    promoter_count: int | None = None
    promoter_percent: float | None = None
    passive_count: int | None = None
    passive_percent: float | None = None
    detractor_count: int | None = None
    detractor_percent: float | None = None
    margin_of_error: float | None = None
    csat: float | None = None
    ces: float | None = None
    csi: float | None = None
    mean: float | None = None
    attributes: list[AttributeScoreOut] | None = None
    follow_ups: FollowUpFiguresOut | None = None
    additional: dict[str, dict[str, int]] | None = Field(
        default=None,
        description="additional questions: key → option (or scale point) → answers; free responses "
        "are not counted",
    )


class FollowUpFiguresOut(Out):
    """The loop's figures (docs/follow-ups.md), counted on the day of the answer followed up."""

    opened: int
    closed: int
    closed_within_sla: int
    median_hours_to_close: float | None = Field(
        description="from the hours-to-close histogram, interpolated inside its bucket"
    )


class ComparisonOut(Out):
    """One metric of a against b: difference = a − b, in the metric's units (docs/insight.md)."""

    metric: str = Field(description="nps, csat, ces, csi or mean")
    test: Literal["adjusted_wald_z", "two_proportion_z", "welch_t", "conservative_z"]
    a: float | None
    b: float | None
    difference: float | None
    confidence_interval: list[float] | None = Field(description="95% interval of the difference [low, high]")
    p_value: float | None = Field(description="two-sided")
    significant: bool | None = Field(description="p_value < 0.05; null when the test is undefined")
    statistic: float | None = Field(description="z or t")
    df: float | None = Field(default=None, description="Welch–Satterthwaite degrees of freedom (welch_t)")
    attribute: str | None = Field(default=None, description="the CSI attribute whose mean is compared")


class CompareSideOut(ScoreSummaryOut):
    from_: str = Field(alias="from")
    to: str


class CompareOut(Out):
    survey_id: str
    kind: Kind
    as_of: str
    a: CompareSideOut
    b: CompareSideOut
    metric: str = Field(description="the headline compared: nps, csat, ces or csi")
    test: str
    difference: float | None
    confidence_interval: list[float] | None
    p_value: float | None
    significant: bool | None
    statistic: float | None
    comparisons: list[ComparisonOut] = Field(description="the headline first, then the means")


class RollUpSurveyOut(Out):
    survey_id: str
    responses: int
    invited: int


class RollUpOut(Out):
    """A summary (docs/insight.md) of several surveys of one kind: their histograms added."""

    survey_ids: list[str]
    kind: Kind
    segment: str
    window: str
    as_of: str
    responses: int
    invited: int
    response_rate: float | None
    counts: dict[str, int]
    nps: float | None = None
    promoter_count: int | None = None
    promoter_percent: float | None = None
    passive_count: int | None = None
    passive_percent: float | None = None
    detractor_count: int | None = None
    detractor_percent: float | None = None
    margin_of_error: float | None = None
    csat: float | None = None
    ces: float | None = None
    csi: float | None = None
    mean: float | None = None
    attributes: list[AttributeScoreOut] | None = None
    surveys: list[RollUpSurveyOut]


class ResponseOut(Out):
    id: str = Field(description="the invitation's id (one response per invitation)")
    invitation_id: str
    survey_id: str
    customer_id: str
    channel: Channel
    touchpoint: str | None
    properties: dict[str, str]
    score: int | None
    comment: str | None
    attributes: dict[str, int]
    answers: dict[str, list[str]] = Field(
        default_factory=dict, description="additional questions: key → the answer's values (choices as text)"
    )
    created_at: str = Field(description="first answer (UTC); editing the answer keeps it")
    updated_at: str = Field(description="last answer or comment (UTC)")
    invited_at: str


class NoteOut(Out):
    id: str
    text: str
    author: str | None
    created_at: str
    kind: Literal["note", "reply"]
    reply: dict[str, Any] | None = Field(
        default=None,
        description="a reply's delivery: status (scheduled, sent, failed, suppressed), sent_at, error",
    )


class FollowUpOut(Out):
    status: Literal["open", "in_progress", "closed"]
    owner: str | None
    due_at: str
    opened_at: str
    closed_at: str | None
    sla_hours: int | None
    overdue: bool = Field(description="open or in progress, and past due_at")
    overdue_at: str | None = Field(description="when the sweep raised follow_up.overdue")
    no_longer_matching: bool = Field(description="the answer changed and the rule no longer matches it")


class FollowUpResponseOut(Out):
    id: str = Field(description="the response's id (PATCH /v1/responses/{id}); Delighted's response id too")
    invitation_id: str
    survey_id: str
    survey_kind: Kind | None
    customer_id: str
    channel: Channel
    touchpoint: str | None
    properties: dict[str, str]
    score: int | None
    comment: str | None
    attributes: dict[str, int]
    created_at: str | None
    updated_at: str | None
    follow_up: FollowUpOut | None
    notes: list[NoteOut]
    tags: list[str]


class FollowUpChangedOut(Out):
    """The response after a change: every field of FollowUpResponseOut for a key with
    `responses:read`, else only these three."""

    id: str
    follow_up: FollowUpOut | None
    tags: list[str]


class FollowUpPage(Out):
    data: list[FollowUpResponseOut]
    next_cursor: str | None


class ResponsePage(Out):
    data: list[ResponseOut]
    next_cursor: str | None


class ErasureOut(Out):
    customer_id: str
    status: Literal["accepted"]
    erased: int = Field(description="invitations and responses deleted; scores follow within seconds")


class WebhookOut(Out):
    id: str
    url: str
    events: list[Event]
    created_at: str


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="whsec_…: shown once; verify deliveries with it (Standard Webhooks)")


class WebhookPage(Out):
    data: list[WebhookOut]
    next_cursor: str | None


class MetricsOut(Out):
    """Delighted's metrics shape: whole-number percentages and NPS."""

    nps: int
    promoter_count: int
    promoter_percent: int
    passive_count: int
    passive_percent: int
    detractor_count: int
    detractor_percent: int
    response_count: int


class PersonOut(Out):
    """Delighted's person (timestamps in unix seconds) plus, on create, the invitation's links."""

    id: str = Field(description="the customer id: the lower-cased email, else the phone number")
    email: str | None
    name: str | None
    phone_number: str | None
    created_at: int
    last_sent_at: int | None = Field(description="when Hark last made this person an invitation")
    survey_scheduled: bool | None = None
    next_survey_scheduled_at: int | None = Field(
        default=None, description="when the scheduled email goes out (unix seconds)"
    )
    delivery: DeliveryOut | None = None
    url: str | None = None
    score_urls: dict[str, str] | None = None
    short_url: str | None = None


class SurveyResponseOut(Out):
    """Delighted's survey response (timestamps in unix seconds)."""

    id: str
    person: str | PersonOut = Field(description="the person's id, or the person with expand[]=person")
    survey_type: str
    score: int | None
    comment: str | None
    permalink: str
    created_at: int | None
    updated_at: int | None
    person_properties: dict[str, str]
    notes: list[Any]
    tags: list[Any]
    additional_answers: list[dict[str, Any]]


class OkOut(Out):
    ok: bool


PUBLIC_MODELS: tuple[type[BaseModel], ...] = (
    SurveyCreate,
    SurveyPatch,
    RecipientModel,
    InvitationsRequest,
    WebhookCreate,
    ErrorBody,
    SurveyOut,
    SurveyPage,
    InvitationsOut,
    ScoreSummaryOut,
    BreakdownOut,
    TrendOut,
    CompareOut,
    RollUpOut,
    ResponseOut,
    ResponsePage,
    ErasureOut,
    WebhookOut,
    WebhookCreatedOut,
    WebhookPage,
    MetricsOut,
    PersonCreate,
    SurveyResponseCreate,
    SurveyResponseUpdate,
    UnsubscribeCreate,
    PersonOut,
    SurveyResponseOut,
    OkOut,
    SettingsPatch,
    SettingsOut,
    FollowUpPatch,
    NoteCreate,
    ReplyCreate,
    NoteOut,
    FollowUpResponseOut,
    FollowUpChangedOut,
    FollowUpPage,
)
