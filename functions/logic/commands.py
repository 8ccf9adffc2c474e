"""The recipient row: the one input the use cases validate themselves (docs/architecture.md,
"Layers").

A call to create invitations (the business API's, or a Delighted-compatible person) carries up
to 1,000 raw rows, and each row is validated on its own: a bad row becomes a row error by its
index while the good rows are still created. So the row model is the invitation logic's input
contract, not the HTTP edge's, and lives here; `functions/api/models.py` builds the request
models (and the OpenAPI document) from the same types. Pydantic is imported only with this
module, never on the customer's click path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from functions.domain.errors import InvalidInput, Unprocessable
from functions.domain.languages import TAG_PATTERN
from functions.domain.segments import OTHER
from functions.domain.sending import MAX_DELAY_SECONDS

CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.@+\-:]+$")]

Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")]

Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]

# A recipient's language (BCP 47: fr, pt-BR, zh-Hant-TW); one Hark has no catalog for is kept
# and falls back (docs/languages.md).
Locale = Annotated[
    str, StringConstraints(max_length=35, pattern=TAG_PATTERN), Field(description="BCP 47 language tag")
]


def _not_reserved(value: str) -> str:
    if value == OTHER:
        raise ValueError(f"{OTHER} is reserved for the segment that collects rare values")
    return value


# No control characters: a value must be writable in `segment=prop:<key>=<value>`.
PropertyValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$"),
    AfterValidator(_not_reserved),
]

PropertyKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]

Channel = Literal["email", "sms", "link"]

MAX_RECIPIENTS = 1000

Delay = Annotated[
    int, Field(ge=0, le=MAX_DELAY_SECONDS, description="seconds to wait before sending (up to 30 days)")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("time_zone must be an IANA time zone, e.g. Europe/Paris") from exc
    return value


TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"),
    AfterValidator(_known_zone),
]


SendAt = Annotated[
    AwareDatetime,
    Field(description="when to send (RFC 3339 with an offset), at most 30 days ahead; a past time sends now"),
]


class RecipientModel(Strict):
    customer_id: CustomerId
    channel: Channel = "email"
    email: Email | None = None
    phone: Phone | None = None
    touchpoint: Slug | None = None
    properties: dict[PropertyKey, PropertyValue] = Field(default_factory=dict, max_length=10)
    expires_in_days: Annotated[int, Field(ge=1, le=365)] | None = None
    locale: Locale | None = None
    time_zone: TimeZone | None = Field(
        default=None, description="IANA time zone, for the survey's quiet hours"
    )
    send: bool | None = Field(default=None, description="this recipient's own `send`; default: the call's")
    delay: Delay | None = None
    send_at: SendAt | None = None

    @model_validator(mode="after")
    def _contact_fits_channel(self) -> RecipientModel:
        if self.channel == "sms" and not self.phone:
            raise ValueError("an sms recipient needs a phone number in E.164 form (+15551234567)")
        _one_time(self.delay, self.send_at)
        return self


def _one_time(delay: int | None, send_at: Any) -> None:
    if delay is not None and send_at is not None:
        raise ValueError("give either delay or send_at, not both")


def validation_error(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    message = str(first.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    text = f"{field}: {message}" if field else message
    return Unprocessable(text, field=field)
