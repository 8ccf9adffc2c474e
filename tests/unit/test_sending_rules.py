"""Sending, the pure parts: sealed addresses, send times, and the survey email's MIME."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from functions.domain import sealing
from functions.domain.email_message import MAX_BYTES, SurveyEmail, build_message
from functions.domain.sending import QuietHours, SendPlan, outside_quiet_hours
from functions.domain.tokens import SigningKeys

pytestmark = pytest.mark.unit

KEYS = SigningKeys.parse("k2:" + "b" * 40 + ",k1:" + "a" * 40)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# ---- sealed addresses -------------------------------------------------------------------------


def test_a_sealed_address_opens_only_for_its_purpose_and_invitation() -> None:
    sealed = sealing.seal("ada@example.com", KEYS, sealing.ADDRESS, "inv_1")
    assert "ada" not in sealed and "example" not in sealed
    assert sealing.open_sealed(sealed, KEYS, sealing.ADDRESS, "inv_1") == "ada@example.com"
    with pytest.raises(sealing.SealBroken):
        sealing.open_sealed(sealed, KEYS, sealing.ADDRESS, "inv_2")
    with pytest.raises(sealing.SealBroken):
        sealing.open_sealed(sealed, KEYS, sealing.UNSUBSCRIBE, "inv_1")


def test_a_changed_or_unknown_key_seal_is_refused_and_rotated_keys_still_open() -> None:
    sealed = sealing.seal("ada@example.com", KEYS, sealing.ADDRESS)
    kid, body = sealed.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for broken in (f"{kid}.{flipped}", f"zz.{body}", "k2", "k2.", "k2.!!!"):
        with pytest.raises(sealing.SealBroken):
            sealing.open_sealed(broken, KEYS, sealing.ADDRESS)
    rotated = SigningKeys.parse("k3:" + "c" * 40 + ",k2:" + "b" * 40)
    assert sealing.open_sealed(sealed, rotated, sealing.ADDRESS) == "ada@example.com"
    assert sealing.seal("x@y.z", rotated, sealing.ADDRESS).startswith("k3.")


# ---- when ------------------------------------------------------------------------------------


def test_a_recipients_own_time_replaces_the_calls_and_a_past_send_at_means_now() -> None:
    call = SendPlan(send=True, delay=60)
    assert call.override(None, None, None) == call
    assert call.override(False, None, None).send is False
    own = call.override(None, None, NOW + timedelta(hours=1))
    assert own.delay is None and own.moment(NOW) == NOW + timedelta(hours=1)
    assert call.moment(NOW) == NOW + timedelta(seconds=60)
    assert SendPlan(send=True, send_at=NOW - timedelta(days=1)).moment(NOW) == NOW


# ---- the email -------------------------------------------------------------------------------

SCORE_URLS = {str(n): f"http://localhost:8000/r/tok?score={n}" for n in range(11)}


def _mail(kind: str = "nps", question: str = "How likely are you to recommend Demo Coffee?") -> SurveyEmail:
    return SurveyEmail(
        sender="surveys@hark.localhost",
        to="ada@example.com",
        brand_name="Demo <Coffee> & Co.",
        brand_color="#6b3e26",
        on_brand="#ffffff",
        kind=kind,
        question=question,
        url="http://localhost:8000/r/tok",
        score_urls=SCORE_URLS if kind != "csi" else {},
        unsubscribe_url="http://localhost:8000/u/k2.sealed",
    )


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def _parts(raw: bytes) -> tuple[email.message.EmailMessage, str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return message, plain.get_content(), html.get_content()


def test_the_email_is_multipart_alternative_with_one_click_unsubscribe_headers() -> None:
    raw = build_message(_mail())
    message, _, _ = _parts(raw)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == "surveys@hark.localhost" and message["To"] == "ada@example.com"
    assert message["Subject"] == "Demo <Coffee> & Co.: How likely are you to recommend Demo Coffee?"
    assert message["List-Unsubscribe"] == "<http://localhost:8000/u/k2.sealed>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@hark.localhost>") and message["Date"]
    assert len(raw) < MAX_BYTES and b"\r\n" in raw


def test_the_html_has_the_score_buttons_inline_styles_a_table_layout_and_no_script() -> None:
    _, plain, html = _parts(build_message(_mail()))
    links = _Links()
    links.feed(html)
    assert links.hrefs == [*SCORE_URLS.values(), "http://localhost:8000/u/k2.sealed"]
    assert "table" in links.tags and not links.tags & {"script", "style", "link", "img", "iframe", "form"}
    assert "<script" not in html.lower() and "javascript:" not in html.lower()
    assert "Demo &lt;Coffee&gt; &amp; Co." in html and "Unsubscribe</a>" in html
    for url in [*SCORE_URLS.values(), "http://localhost:8000/u/k2.sealed"]:
        assert url in plain


def test_a_csi_email_has_one_answer_button_to_the_survey_page() -> None:
    _, plain, html = _parts(build_message(_mail("csi")))
    links = _Links()
    links.feed(html)
    assert links.hrefs == ["http://localhost:8000/r/tok", "http://localhost:8000/u/k2.sealed"]
    assert "Answer the survey" in html and "Answer the survey: http://localhost:8000/r/tok" in plain


def test_long_questions_keep_the_subject_short_and_the_message_small() -> None:
    raw = build_message(_mail(question="Why? " * 100))
    message, _, _ = _parts(raw)
    assert len(message["Subject"]) <= 120 and len(raw) < MAX_BYTES


# ---- quiet hours -----------------------------------------------------------------------------

NIGHT = QuietHours("21:00", "08:00")


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2026, 12, 1, 22, 0, tzinfo=UTC), None, datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 7, 59, tzinfo=UTC), None, datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 8, 0, tzinfo=UTC), None, datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 20, 59, tzinfo=UTC), None, datetime(2026, 12, 1, 20, 59, tzinfo=UTC)),
        # 03:00 UTC is 22:00 the evening before in New York: held until 08:00 there (13:00 UTC)
        (
            datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
        ),
        (
            datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        ),
        # 23:30 in Tokyo (14:30 UTC) waits for 08:00 Tokyo (23:00 UTC)
        (datetime(2026, 12, 1, 14, 30, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),
    ],
)
def test_a_send_inside_quiet_hours_moves_to_their_end_in_the_recipients_zone(
    moment: datetime, zone: str | None, expected: datetime
) -> None:
    assert outside_quiet_hours(moment, NIGHT, zone) == expected


def test_quiet_hours_within_one_day_and_across_a_dst_change() -> None:
    lunch = QuietHours("12:00", "13:30")
    assert outside_quiet_hours(datetime(2026, 12, 1, 12, 15, tzinfo=UTC), lunch, None) == datetime(
        2026, 12, 1, 13, 30, tzinfo=UTC
    )
    assert outside_quiet_hours(NOW, None, "Europe/Paris") == NOW
    assert outside_quiet_hours(NOW, QuietHours("09:00", "09:00"), None) == NOW
    # New York skips 02:00-03:00 on 2026-03-08: an end at 02:30 resolves forward, to 03:30 EDT
    early = QuietHours("01:00", "02:30")
    assert outside_quiet_hours(
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC), early, "America/New_York"
    ) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


# ---- the sender ------------------------------------------------------------------------------


def test_the_most_specific_sender_wins_and_reply_to_is_the_tenants() -> None:
    from functions.domain.sender import DEPLOYMENT, SURVEY, TENANT, SenderIdentity, resolve_sender

    def pick(survey: str | None, tenant: str | None, reply: str | None = "help@acme.example") -> Any:
        return resolve_sender(
            survey_from=survey, tenant_from=tenant, tenant_reply_to=reply, deployment_from="d@hark.example"
        )

    assert pick("s@acme.example", "t@acme.example") == SenderIdentity(
        "s@acme.example", "help@acme.example", SURVEY
    )
    assert pick(None, "t@acme.example") == SenderIdentity("t@acme.example", "help@acme.example", TENANT)
    assert pick(None, None, None) == SenderIdentity("d@hark.example", None, DEPLOYMENT)
    assert pick(None, "help@acme.example").reply_to is None  # no Reply-To equal to From
    none = resolve_sender(survey_from=None, tenant_from="", tenant_reply_to=None, deployment_from=None)
    assert none is None


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("surveys@acme.example", True),
        ("first.last+nps@mail.acme-co.example", True),
        ("Acme <surveys@acme.example>", False),
        ("surveys@acme.example\nBcc: x@y.example", False),
        (".lead@acme.example", False),
        ("two..dots@acme.example", False),
        ("surveys@acme", False),
        ("surveys@acme.example.", False),
        ("surveys@-acme.example", False),
        ("surveys@acme.42", False),
        ("x" * 65 + "@acme.example", False),
        ("surveys@" + "a" * 250 + ".example", False),
    ],
)
def test_a_sender_is_a_plain_address(address: str, ok: bool) -> None:
    from functions.domain.sender import address_problem

    assert (address_problem(address) is None) is ok


def test_a_sender_must_be_on_the_ses_identity_when_one_is_configured() -> None:
    from functions.domain.sender import identity_problem

    assert identity_problem("x@anything.example", None) is None
    assert identity_problem("x@acme.example", "acme.example") is None
    assert identity_problem("x@mail.acme.example", "ACME.example") is None  # subdomains are covered
    assert identity_problem("x@notacme.example", "acme.example")
    assert identity_problem("x@acme.example.evil", "acme.example")
    assert identity_problem("Surveys@acme.example", "surveys@acme.example") is None
    assert identity_problem("other@acme.example", "surveys@acme.example")


def test_the_email_carries_the_tenants_reply_to() -> None:
    from dataclasses import replace

    message, _, _ = _parts(build_message(replace(_mail(), reply_to="help@acme.example")))
    assert message["Reply-To"] == "help@acme.example"
    assert _parts(build_message(_mail()))[0]["Reply-To"] is None


def test_a_phone_in_the_outbox_shows_only_its_ends() -> None:
    from functions.domain.phones import mask_phone

    assert mask_phone("+15555550123") == "+1••••••••23"
    assert mask_phone("+447700900123").endswith("23") and "7700900" not in mask_phone("+447700900123")
    assert mask_phone("+123") == "••••"
