"""Public API models (pydantic v2): what business apps send and receive under /v1.

They are separate from the domain entities and the stored items; routes convert.
Reusable constrained types live here once instead of the same Field(...) in ten places.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from functions.domain.errors import InvalidInput
from functions.domain.kinds import Kind
from functions.domain.segments import OTHER

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.@+\-:]+$")]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]


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
Weight = Annotated[float, Field(gt=0, le=100)]
Channel = Literal["email", "sms", "link"]


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
    cooldown_days: Annotated[int, Field(ge=0, le=3650)] | None = None

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


class SurveyPatch(Strict):
    name: Name | None = None
    question: Text | None = None
    follow_up_question: Text | None = None
    brand: BrandModel | None = None
    cooldown_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    status: Literal["active", "archived"] | None = None


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
    recipients: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


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
