"""Survey and invitation entities (docs/architecture.md, Design choices)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from functions.domain.automation import is_suspect_automation
from functions.domain.follow_ups import FollowUpRule
from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, SCALES, Kind
from functions.domain.languages import SOURCE, language_of
from functions.domain.questions import Question
from functions.domain.sending import QuietHours
from functions.lazy import lazy

ACTIVE = "active"
ARCHIVED = "archived"

if TYPE_CHECKING:
    from functions.domain import scoring
    from functions.domain.scoring import AttributeWeight
else:  # the scores' path only (a click's cold start skips the score maths)
    scoring = lazy("functions.domain.scoring")


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    weight: float = 1.0


@dataclass(frozen=True)
class Brand:
    name: str
    color: str


@dataclass(frozen=True)
class Survey:
    id: str
    tenant_id: str
    name: str
    kind: Kind
    question: str
    follow_up_question: str | None
    attributes: tuple[Attribute, ...]
    brand: Brand
    cooldown_days: int | None
    status: str
    created_at: str
    # The language of the survey's own texts, and their translations per catalog language
    # ({"fr": {"question", "follow_up_question", "scale_low", "scale_high", "attributes"}}).
    default_locale: str = SOURCE
    translations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The address Hark sends this survey's emails from (a verified SES identity); None: the
    # deployment's HARK_EMAIL_FROM (docs/sending.md).
    email_from: str | None = None
    # Local times nobody is emailed between (domain.sending.QuietHours), or None.
    quiet_hours: QuietHours | None = None
    # Days after a sent email to remind a customer who has not answered (once); 0: never.
    reminder_after_days: int = 0
    # Which answers open a follow-up, and its deadline (docs/follow-ups.md).
    follow_up_rule: FollowUpRule = field(default_factory=FollowUpRule)
    # Additional questions, asked after the score (domain.questions, docs/questions.md).
    questions: tuple[Question, ...] = ()

    @property
    def scale(self) -> tuple[int, int]:
        return SCALES[self.kind]

    @property
    def weights(self) -> tuple[AttributeWeight, ...]:
        return tuple(scoring.AttributeWeight(a.key, a.weight) for a in self.attributes)

    def plain(self) -> dict[str, Any]:
        """The survey as plain JSON values: its one shape. The API answers it as it is
        (docs/api.md; functions/logic/surveys.py, `survey_view`) and the store writes it with its
        keys, its tenant and the follow-up rule as set (functions/store/core.py). What a
        customer page needs is `public_view`."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "question": self.question,
            "follow_up_question": self.follow_up_question,
            "attributes": [{"key": a.key, "label": a.label, "weight": a.weight} for a in self.attributes],
            "brand": {"name": self.brand.name, "color": self.brand.color},
            "cooldown_days": self.cooldown_days,
            "status": self.status,
            "created_at": self.created_at,
            "default_locale": self.default_locale,
            "translations": {code: dict(texts) for code, texts in self.translations.items()},
            "email_from": self.email_from,
            "reminder_after_days": self.reminder_after_days,
            "follow_up_rule": self.follow_up_rule.view(self.kind),
            "quiet_hours": (
                {"start": self.quiet_hours.start, "end": self.quiet_hours.end} if self.quiet_hours else None
            ),
            "questions": [q.view() for q in self.questions],
        }

    def public_view(self, locale: str | None = None, *, opens_follow_ups: bool = True) -> dict[str, Any]:
        """What a customer page needs, copied onto each invitation so a page costs one read.

        With the recipient's `locale` (one Hark has a catalog for), only that language's
        translation is copied (it decides the page's language whatever the browser asks for),
        so an invitation item stays small; otherwise every translation is (docs/languages.md).
        `opens_follow_ups=False` (imported history) keeps the rule but switches it off.
        """
        view: dict[str, Any] = {
            "kind": self.kind.value,
            "question": self.question,
            "follow_up_question": self.follow_up_question,
            "brand_name": self.brand.name,
            "brand_color": self.brand.color,
            "attributes": [{"key": a.key, "label": a.label} for a in self.attributes],
            # The follow-up rule travels with the invitation, so the aggregator needs no survey read.
            "fu": self.follow_up_rule.page_copy(self.kind, {a.key: a.weight for a in self.attributes}),
        }
        if not opens_follow_ups:
            view["fu"]["on"] = False
        if self.questions:
            view["questions"] = [q.view() for q in self.questions]
        if self.default_locale != SOURCE:
            view["default_locale"] = self.default_locale
        translations = {k: dict(v) for k, v in self.translations.items()}
        if locale:
            view["locale"] = locale
            language = language_of(locale)
            if language is not None:  # a locale without a catalog decides nothing: keep them all
                translations = {k: v for k, v in translations.items() if k == language}
        if translations:
            view["translations"] = translations
        return view


@dataclass(frozen=True)
class Recipient:
    customer_id: str
    channel: str
    email: str | None = None
    phone: str | None = None
    touchpoint: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    expires_in_days: int | None = None
    locale: str | None = None


# Delivery states (docs/sending.md). LINKS_ONLY: nothing was asked to be sent.
LINKS_ONLY = "links_only"
SCHEDULED = "scheduled"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
BOUNCED = "bounced"
COMPLAINED = "complained"
SUPPRESSED = "suppressed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Delivery:
    status: str = LINKS_ONLY
    send_at: str | None = None
    sent_at: str | None = None
    provider_message_id: str | None = None
    error: str | None = None
    # The one reminder (survey `reminder_after_days`), once the send went out.
    reminder_status: str | None = None
    reminder_at: str | None = None
    reminder_sent_at: str | None = None
    reminder_error: str | None = None

    def view(self) -> dict[str, object]:
        reminder = None
        if self.reminder_status:
            reminder = {
                "status": self.reminder_status,
                "send_at": self.reminder_at,
                "sent_at": self.reminder_sent_at,
                "error": self.reminder_error,
            }
        return {
            "status": self.status,
            "send_at": self.send_at,
            "sent_at": self.sent_at,
            "provider_message_id": self.provider_message_id,
            "error": self.error,
            "reminder": reminder,
        }


@dataclass(frozen=True)
class Invitation:
    """An invitation as stored: one customer, one survey, one channel; maybe answered."""

    code: str
    invitation_id: str
    tenant_id: str
    survey_id: str
    customer_id: str
    channel: str
    touchpoint: str | None
    properties: dict[str, str]
    created_at: str
    expires_at: int
    rev: int
    page: dict[str, Any]
    score: int | None = None
    comment: str | None = None
    attrs: dict[str, int] = field(default_factory=dict)
    # Additional questions' answers: question key → its values as text (domain.questions).
    answers: dict[str, list[str]] = field(default_factory=dict)
    first_answered_at: str | None = None
    answered_at: str | None = None
    # The last two scores and when they arrived (epoch ms), for spotting automated bursts.
    scored_at_ms: int | None = None
    previous_score: int | None = None
    previous_scored_at_ms: int | None = None
    # SMS invitations: the keyed hash of the phone (never the number), for text replies.
    phone_key: str | None = None
    delivery: Delivery = field(default_factory=Delivery)
    # While a send is pending: the address, sealed (domain.sealing); never shown, deleted after.
    sealed_to: str | None = None

    @property
    def suspect_automation(self) -> bool:
        """The current score replaced a different one within seconds (see domain.automation)."""
        return is_suspect_automation(
            self.score, self.scored_at_ms, self.previous_score, self.previous_scored_at_ms
        )

    @property
    def kind(self) -> Kind:
        return Kind(self.page["kind"])

    @property
    def locale(self) -> str | None:
        """The recipient's locale (BCP 47), kept on the page copy (the by_phone index holds it)."""
        locale = self.page.get("locale")
        return str(locale) if locale else None

    @property
    def scale(self) -> tuple[int, int]:
        return SCALES[self.kind]

    @property
    def attribute_scale(self) -> tuple[int, int]:
        return CSI_ATTRIBUTE_SCALE
