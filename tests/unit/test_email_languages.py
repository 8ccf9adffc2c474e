"""The survey email, its text and its unsubscribe pages speak the invitation's one language
(docs/languages.md): French for a French-speaking survey and locale, Arabic right to left."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from typing import Any

import pytest

from functions.api import pages
from functions.domain.languages import SOURCE
from functions.domain.sender import DEPLOYMENT, SenderIdentity
from functions.domain.sms import needs_unicode
from functions.domain.survey import Invitation
from functions.logic import sending, unsubscribes
from functions.settings import reset_settings
from infra import messages

SENDER = SenderIdentity("s@acme.example", None, DEPLOYMENT)

pytestmark = pytest.mark.unit

PAGE: dict[str, Any] = {
    "kind": "nps",
    "question": "How likely are you to recommend Acme?",
    "follow_up_question": "What is the main reason for your score?",
    "brand_name": "Acme",
    "brand_color": "#6b3e26",
    "attributes": [],
    "translations": {
        "fr": {
            "question": "Quelle est la probabilité que vous recommandiez Acme ?",
            "follow_up_question": "Quelle est la raison principale de votre note ?",
        },
        "ar": {
            "question": "ما مدى احتمال أن توصي بـ Acme؟",
            "follow_up_question": "ما السبب الرئيسي لتقييمك؟",
        },
    },
}


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "HARK_STAGE": "test",
        "HARK_CORE_TABLE": "core",
        "HARK_RESPONSES_TABLE": "responses",
        "HARK_SCORES_TABLE": "scores",
        "HARK_SIGNING_KEYS": "k1:" + "a" * 40,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARK_PUBLIC_BASE_URL", "https://hk.example.com")
    reset_settings()
    yield
    reset_settings()


@pytest.fixture(scope="module")
def english_texts() -> list[str]:
    """Every catalog source text, as it would appear (placeholders cut out, HTML-escaped too)."""
    out = []
    for message in messages.extract():
        if message.id:
            out += [part.strip() for part in re.split(r"\{\w*\}", str(message.id)) if len(part.strip()) > 3]
    return out


def _invitation(locale: str | None, channel: str = "email") -> Invitation:
    page = {**PAGE, "locale": locale} if locale else dict(PAGE)
    return Invitation(
        code="ABCDEFGH",
        invitation_id="inv_1",
        tenant_id="t_1",
        survey_id="srv_1",
        customer_id="c_1",
        channel=channel,
        touchpoint=None,
        properties={},
        created_at="2026-12-01T00:00:00Z",
        expires_at=2_000_000_000,
        rev=1,
        page=page,
    )


def _parts(raw: bytes) -> tuple[str, str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return str(message["Subject"]), plain.get_content(), html.get_content()


def _english_left(text: str, english: list[str], language: str) -> list[str]:
    from functions.i18n import translator

    _ = translator(language)
    # A source text its translation keeps word for word ("Excellent" in French) is not English left.
    same = {m.id for m in messages.read_catalog(language) if m.id and _(str(m.id)) == m.id}
    return [e for e in english if e in text and not any(e in str(s) for s in same)]


@pytest.mark.parametrize("reminder", [False, True])
def test_a_french_locale_invitations_email_has_no_english_catalog_text(
    english_texts: list[str], reminder: bool
) -> None:
    mail = sending.survey_email(_invitation("fr-CA"), SENDER, "ada@example.com", reminder=reminder)
    subject, plain, html = _parts(sending.build_message(mail))
    assert mail.language == "fr"
    assert "Quelle est la probabilité" in subject and ("Rappel" in subject) == reminder
    assert (
        '<html lang="fr" dir="ltr">' in html and "Se désabonner" in html and "Pas du tout probable" in plain
    )
    for part in (subject, plain, html):
        assert _english_left(part, english_texts, "fr") == [], part
    assert "How likely" not in subject + plain + html  # the survey's own text is French too


def test_an_arabic_email_is_right_to_left_in_arabic_throughout(english_texts: list[str]) -> None:
    mail = sending.survey_email(_invitation("ar"), SENDER, "ada@example.com")
    subject, plain, html = _parts(sending.build_message(mail))
    assert '<html lang="ar" dir="rtl">' in html and 'dir="ltr"' not in html
    assert 'table role="presentation" dir="rtl"' in html
    assert "ما مدى احتمال" in subject and "إلغاء الاشتراك" in html and "إلغاء الاشتراك" in plain
    for part in (subject, plain, html):
        assert _english_left(part, english_texts, "ar") == [], part


def test_a_locale_the_survey_does_not_speak_gives_its_default_language_throughout() -> None:
    # German locale, no German texts: all English, never German buttons around an English question.
    mail = sending.survey_email(_invitation("de"), SENDER, "ada@example.com")
    subject, plain, html = _parts(sending.build_message(mail))
    assert mail.language == SOURCE and '<html lang="en" dir="ltr">' in html
    assert "How likely" in subject and "Unsubscribe" in html and "Abmelden" not in html + plain


def test_the_unsubscribe_link_carries_the_emails_language_and_its_pages_speak_it() -> None:
    mail = sending.survey_email(_invitation("ar"), SENDER, "ada@example.com")
    token = mail.unsubscribe_url.rpartition("/u/")[2]
    who = unsubscribes.read_token(token)
    assert who.language == "ar" and who.email == "ada@example.com"
    assert unsubscribes.read_token(unsubscribes.token_for("t_1", "a@b.c", "c_1")).language is None
    page = str(pages.unsubscribe_page(token, language="fr").body)
    assert '<html lang="fr" dir="ltr">' in page and "Se désabonner" in page and ">Unsubscribe" not in page
    done = str(pages.unsubscribed_page(language="ar").body)
    assert 'dir="rtl"' in done and "تم إلغاء اشتراكك" in done and "unsubscribed" not in done


def test_an_sms_invitation_text_speaks_its_language_and_keeps_its_script() -> None:
    url = "https://hk.example.com/s/ABCDEFGH"
    french = sending.sms_text(_invitation("fr", "sms"), url, reminder=True)
    assert french.startswith("Acme: Rappel : Quelle est la probabilité") and url in french
    assert "STOP" in french and "opt out" not in french
    arabic = sending.sms_text(_invitation("ar", "sms"), url, reminder=False)
    assert "ما مدى احتمال" in arabic and url in arabic and "?" not in arabic.replace("؟", "")
    assert needs_unicode(arabic) and not needs_unicode("Zoë 👍")
    assert len(arabic.encode("utf-16-le")) // 2 <= 2 * 67
