"""Public API models (pydantic v2): what business apps send and receive under /v1.

They are separate from the domain entities and the stored items; routes convert.
Reusable constrained types live here once instead of the same Field(...) in ten places.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
CUSTOMER_ID_PATTERN = re.compile(r"^[\w.@+\-:]{1,128}$")
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.@+\-:]+$")]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
PropertyValue = Annotated[str, StringConstraints(min_length=1, max_length=100)]
PropertyKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]
Weight = Annotated[float, Field(ge=0.001, le=100, description="relative importance, 0.001 to 100")]
Channel = Literal["email", "sms", "link"]
Cooldown = Annotated[int, Field(ge=0, le=3650, description="days before a customer may be invited again")]
MAX_RECIPIENTS = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttributeModel(Strict):
    key: Slug
    label: Text
    weight: Weight = 1.0


class BrandModel(Strict):
    name: Name
    color: Color = "#1f6feb"


class SurveyCreate(Strict):
    name: Name
    kind: Kind
    question: Text
    follow_up_question: Text | None = None
    attributes: list[AttributeModel] = Field(default_factory=list, max_length=12)
    brand: BrandModel | None = None
    cooldown_days: Cooldown | None = None

    @model_validator(mode="after")
    def _attributes_fit_kind(self) -> SurveyCreate:
        if self.kind is Kind.CSI and not self.attributes:
            raise ValueError("a csi survey needs at least one attribute")
        if self.kind is not Kind.CSI and self.attributes:
            raise ValueError("only csi surveys have attributes")
        keys = [a.key for a in self.attributes]
        if len(set(keys)) != len(keys):
            raise ValueError("attribute keys must be unique")
        return self


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
    status: Literal["active", "archived"] = absent()

    @model_validator(mode="before")
    @classmethod
    def _immutable_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("kind", "attributes"):
                if name in data:
                    raise ValueError(f"{name} cannot change after a survey is created; create a new survey")
        return data


class RecipientModel(Strict):
    customer_id: CustomerId
    channel: Channel = "email"
    email: Email | None = None
    phone: Phone | None = None
    touchpoint: Slug | None = None
    properties: dict[PropertyKey, PropertyValue] = Field(default_factory=dict, max_length=10)
    expires_in_days: Annotated[int, Field(ge=1, le=365)] | None = None

    @model_validator(mode="after")
    def _contact_fits_channel(self) -> RecipientModel:
        if self.channel == "sms" and not self.phone:
            raise ValueError("an sms recipient needs a phone number in E.164 form (+15551234567)")
        return self


class InvitationsRequest(Strict):
    """Each recipient is validated on its own as a `Recipient`: a bad row is reported in
    `errors` by its index and the good rows are still created."""

    # More than MAX_RECIPIENTS is refused with 413 by the logic, with a message that says so.
    recipients: list[Any] = Field(
        min_length=1,
        description="up to 1,000 recipients, each a Recipient (see components)",
        json_schema_extra={"maxItems": MAX_RECIPIENTS},
    )


EVENTS = ("response.created", "response.updated", "response.detractor")
Event = Literal["response.created", "response.updated", "response.detractor"]


class WebhookCreate(Strict):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)] = Field(
        description="https URL that resolves to public addresses (the dev stage also allows http://127.0.0.1)"
    )
    events: list[Event] = Field(min_length=1, max_length=len(EVENTS))


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate `data` as `model`, turning the first problem into one clear InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    message = str(first.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    text = f"{field}: {message}" if field else message
    return InvalidInput(text, field=field, code="validation_error")


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
            description="all, channel:<email|sms|link>, touchpoint:<name> or prop:<key>=<value>",
            max_length=160,
        ),
    ] = "all"


Instant = Annotated[
    str,
    StringConstraints(max_length=40),
    Field(description="unix seconds, or an ISO 8601 date or UTC date-time"),
]


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


class SurveyPage(Out):
    data: list[SurveyOut]
    next_cursor: str | None


class InvitationOut(Out):
    index: int = Field(description="the recipient's position in the request")
    invitation_id: str
    customer_id: str
    channel: Channel
    url: str
    score_urls: dict[str, str] = Field(description="email: one URL per score; empty otherwise")
    short_url: str | None = Field(description="sms: the short link; null otherwise")
    expires_at: str


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


class ScoreSummaryOut(Out):
    """SPEC §5. The fields after `counts` depend on the survey's kind."""

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
    created_at: str = Field(description="first answer (UTC); editing the answer keeps it")
    updated_at: str = Field(description="last answer or comment (UTC)")
    invited_at: str


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
    ResponseOut,
    ResponsePage,
    ErasureOut,
    WebhookOut,
    WebhookCreatedOut,
    WebhookPage,
    MetricsOut,
)
