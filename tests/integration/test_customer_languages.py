"""Customers answer in their own language, end to end on moto (docs/languages.md, issue 19)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import Api, Emulator, path_of
from tests.integration.test_sms_replies import (  # our_number: each test registers a number of its own
    new_phone,
    our_number,  # noqa: F401 (an autouse fixture: replies reach a tenant only through its number)
    post_twilio,
    twilio_form,
    twiml_message,
)
from tests.unit.test_language_choice import english_catalog_texts

pytestmark = pytest.mark.integration

QUESTION = "How likely are you to recommend Acme?"
FOLLOW_UP = "What is the main reason for your score?"
FR = {
    "question": "Quelle est la probabilité que vous recommandiez Acme ?",
    "follow_up_question": "Quelle est la raison principale de votre note ?",
}
AR = {
    "question": "ما مدى احتمال أن توصي بـ Acme؟",
    "follow_up_question": "ما السبب الرئيسي لتقييمك؟",
    "scale_low": "غير محتمل أبدًا",
    "scale_high": "محتمل جدًا",
}


def create_survey(api: Api, key: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "NPS",
        "kind": "nps",
        "question": QUESTION,
        "follow_up_question": FOLLOW_UP,
        "translations": {"fr": FR, "ar": AR},
        **extra,
    }
    return api.json("POST", "/v1/surveys", key, body, expect=201)


def invite(api: Api, key: str, survey_id: str, *recipients: dict[str, Any]) -> list[dict[str, Any]]:
    out = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, {"recipients": list(recipients)}, 201)
    assert out["errors"] == [], out
    return list(out["invitations"])


def invited_to_the_translated_survey(api: Api, key: str) -> dict[str, Any]:
    """One customer with no locale, invited by email to a new survey (English, French, Arabic)."""
    survey = create_survey(api, key)
    (link,) = invite(api, key, survey["id"], {"customer_id": "c-1", "email": "c@example.com"})
    return link


def page(api: Api, url: str, **headers: str) -> str:
    response = api.call("GET", path_of(url) if url.startswith("http") else url, headers=headers)
    assert response.headers["Content-Type"].startswith("text/html")
    return str(response.body.decode())


def html_tag(body: str) -> str:
    found = re.search(r"<html[^>]*>", body)
    assert found
    return found.group(0)


def test_french_and_arabic_recipients_get_their_pages_in_one_language(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    fr, ar = invite(
        api,
        key,
        survey["id"],
        {"customer_id": "c-fr", "email": "fr@example.com", "locale": "fr-CA"},
        {"customer_id": "c-ar", "email": "ar@example.com", "locale": "ar"},
    )

    # The fr-CA recipient reads French throughout, whatever their browser asks for
    french = page(api, fr["score_urls"]["9"], **{"Accept-Language": "en-US,en;q=0.9"})
    assert html_tag(french) == '<html lang="fr" dir="ltr">'
    assert FR["question"] in french and "Pas du tout probable" in french and ">Envoyer</button>" in french
    assert QUESTION not in french and english_catalog_texts(french) == []

    # The Arabic recipient reads Arabic, right to left, with the survey's own scale words
    arabic = page(api, ar["url"])
    assert html_tag(arabic) == '<html lang="ar" dir="rtl">'
    assert AR["question"] in arabic and AR["scale_low"] in arabic and "إرسال" in arabic
    assert english_catalog_texts(arabic) == [] and QUESTION not in arabic

    # A refused answer, sent with the page's own form, is explained in Arabic too
    action = re.search(r'<form method="post" action="([^"]+)"', arabic)
    assert action and action.group(1).endswith("?lang=ar")
    form_url = path_of(ar["url"]).rsplit("/", 1)[0] + "/" + action.group(1)
    refused = api.form(form_url, {"comment": "x" * 2001})
    assert refused.status_code == 400 and "تعليقك طويل جدًا" in refused.body.decode()
    assert english_catalog_texts(refused.body.decode()) == []

    # and after answering, the thank-you page (and its follow-up question) is Arabic too
    posted = api.form(path_of(ar["url"]), {"score": "9"})
    assert posted.status_code == 303
    thanks = page(api, posted.headers["Location"])
    assert html_tag(thanks) == '<html lang="ar" dir="rtl">' and AR["follow_up_question"] in thanks
    assert "شكرًا لك!" in thanks and english_catalog_texts(thanks) == []


def test_a_german_browser_on_a_survey_without_german_gets_the_default_language_throughout(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    link = invited_to_the_translated_survey(api, tenant["api_key"])

    # Given a customer with no locale whose browser speaks German only
    body = page(api, link["url"], **{"Accept-Language": "de-DE,de;q=0.9"})

    # Then the whole page is in the survey's default language: no German button round English
    assert html_tag(body) == '<html lang="en" dir="ltr">'
    assert QUESTION in body and ">Send</button>" in body
    assert "Senden" not in body and "Überhaupt nicht wahrscheinlich" not in body

    # while a browser that also accepts French gets the survey's French
    french = page(api, link["url"], **{"Accept-Language": "de, fr;q=0.5, en;q=0.1"})
    assert html_tag(french) == '<html lang="fr" dir="ltr">' and FR["question"] in french


def test_lang_in_the_link_picks_the_language_and_stays_through_the_answer(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    link = invited_to_the_translated_survey(api, tenant["api_key"])
    landing = page(api, link["url"] + "?lang=ar", **{"Accept-Language": "fr"})
    assert html_tag(landing) == '<html lang="ar" dir="rtl">'
    action = re.search(r'<form method="post" action="([^"]+)"', landing)
    assert action and action.group(1).endswith("?lang=ar")
    posted = api.form(path_of(link["url"]) + "?lang=ar", {"score": "10"})
    assert posted.status_code == 303 and posted.headers["Location"].endswith("/thanks?lang=ar")
    assert html_tag(page(api, posted.headers["Location"])) == '<html lang="ar" dir="rtl">'
    # and a bad answer is refused in that language
    refused = api.form(path_of(link["url"]) + "?lang=ar", {"comment": "x" * 2001})
    assert refused.status_code == 400 and "تعليقك طويل جدًا" in refused.body.decode()


def test_a_survey_in_another_default_language_speaks_it_everywhere(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(
        api,
        key,
        question="Wie wahrscheinlich empfehlen Sie uns?",
        follow_up_question="Warum?",
        default_locale="de",
        translations={},
    )
    assert survey["default_locale"] == "de"
    (link,) = invite(api, key, survey["id"], {"customer_id": "c-1", "email": "c@example.com", "locale": "ja"})
    body = page(api, link["url"], **{"Accept-Language": "ja"})
    assert html_tag(body) == '<html lang="de" dir="ltr">' and ">Senden</button>" in body


def test_unknown_pages_speak_the_browsers_language(api: Api, emulator: Emulator) -> None:
    body = page(api, "/s/AAAAAAAAAA", **{"Accept-Language": "ja-JP"})
    assert html_tag(body) == '<html lang="ja" dir="ltr">' and english_catalog_texts(body) == []


def test_translations_are_validated_and_returned(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    assert survey["translations"] == {"fr": FR, "ar": AR} and survey["default_locale"] == "en"

    def refused(body: dict[str, Any], method: str = "POST", path: str = "/v1/surveys") -> dict[str, Any]:
        response = api.call(method, path, key, body)
        assert response.status_code == 422, response.body
        return dict(json.loads(response.body)["error"])

    base = {"name": "N", "kind": "nps", "question": "Q?", "follow_up_question": "Why?"}
    error = refused({**base, "translations": {"xx": FR}})
    assert error["field"] == "translations.xx" and "unknown locale 'xx'" in error["message"]
    error = refused({**base, "translations": {"fr-CA": FR}})
    assert "'fr'" in error["message"]
    error = refused({**base, "translations": {"fr": {"question": "Q ?"}}})
    assert error["field"] == "translations.fr.follow_up_question"
    error = refused({**base, "default_locale": "tlh"})
    assert error["field"] == "default_locale" and "tlh" in error["message"]
    csi = {
        "name": "C",
        "kind": "csi",
        "question": "Q?",
        "attributes": [{"key": "speed", "label": "Speed"}],
    }
    error = refused({**csi, "translations": {"fr": {"question": "Q ?", "attributes": {"sped": "Vitesse"}}}})
    assert error["field"] == "translations.fr.attributes.sped" and "unknown attribute key" in error["message"]

    # A patch replaces the translations, validated against the survey's own texts
    path = f"/v1/surveys/{survey['id']}"
    patched = api.json(
        "PATCH", path, key, {"translations": {"ja": {"question": "Q？", "follow_up_question": "?"}}}
    )
    assert list(patched["translations"]) == ["ja"]
    assert refused({"translations": {"zz": FR}}, "PATCH", path)["field"] == "translations.zz"
    assert api.json("GET", path, key)["translations"] == patched["translations"]
    # A follow-up question added without its translations would show English on a Japanese page
    plain = create_survey(api, key, follow_up_question=None, translations={"ja": {"question": "Q？"}})
    error = refused({"follow_up_question": "Why?"}, "PATCH", f"/v1/surveys/{plain['id']}")
    assert error["field"] == "translations.ja.follow_up_question"
    both = {
        "follow_up_question": "Why?",
        "translations": {"ja": {"question": "Q？", "follow_up_question": "なぜ？"}},
    }
    assert api.json("PATCH", f"/v1/surveys/{plain['id']}", key, both)["follow_up_question"] == "Why?"


def test_a_twilio_reply_in_arabic_digits_records_the_score_and_answers_in_arabic(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    phone = new_phone()
    invite(api, key, survey["id"], {"customer_id": "c-ar", "channel": "sms", "phone": phone, "locale": "ar"})

    # When the customer replies "٩ شكرا" (nine, thanks)
    reply = twiml_message(post_twilio(api, twilio_form(phone, "٩ شكرا")))

    # Then 9 is recorded with the comment, and the thanks is Arabic
    assert reply == "شكرًا لك! سجّلنا تقييمك 9 وتعليقك."
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert summary["counts"]["9"] == 1
    listed = api.json("GET", f"/v1/surveys/{survey['id']}/responses", key)
    assert [(r["score"], r["comment"]) for r in listed["data"]] == [(9, "شكرا")]


def test_a_french_customer_answers_by_text_with_a_word(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    phone = new_phone()
    invite(
        api, key, survey["id"], {"customer_id": "c-fr", "channel": "sms", "phone": phone, "locale": "fr-CA"}
    )
    reply = twiml_message(post_twilio(api, twilio_form(phone, "Neuf")))
    assert reply.startswith("Merci ! Nous avons enregistré votre note 9.")
    assert FR["follow_up_question"] in reply
    unclear = twiml_message(post_twilio(api, twilio_form(phone, "7 ou 8 ?")))
    assert unclear.startswith("Désolé")


def test_locale_segments_appear_in_summaries_and_the_breakdown(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key)
    links = invite(
        api,
        key,
        survey["id"],
        {"customer_id": "a", "email": "a@example.com", "locale": "fr-CA"},
        {"customer_id": "b", "email": "b@example.com", "locale": "fr"},
        {"customer_id": "c", "email": "c@example.com", "locale": "ar"},
        {"customer_id": "d", "email": "d@example.com"},
    )
    for link, score in zip(links, ["10", "6", "9", "8"], strict=True):
        assert api.form(path_of(link["url"]), {"score": score}).status_code == 303
    emulator.drain()
    base = f"/v1/surveys/{survey['id']}"
    french = api.json("GET", f"{base}/scores?window=all&segment=locale:fr", key)
    assert (french["responses"], french["invited"], french["nps"]) == (2, 2, 0.0)
    breakdown = api.json("GET", f"{base}/breakdown?by=locale&window=all", key)
    by_segment = {row["segment"]: row["responses"] for row in breakdown["segments"]}
    assert by_segment == {"locale:ar": 1, "locale:fr": 2}
    bad = api.call("GET", f"{base}/scores?segment=locale:xx", key)
    assert bad.status_code == 400


def test_delighteds_locale_property_sets_the_invitations_language(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    from functions.logic.tenants import create_key

    survey = create_survey(api, tenant["api_key"])
    secret = create_key(tenant["tenant_id"], frozenset({"admin"}), survey["id"])["api_key"]
    person = api.json(
        "POST",
        "/v1/people",
        secret,
        {"email": "p@example.com", "properties": {"locale": "ar-EG", "plan": "gold"}},
        expect=201,
    )
    body = page(api, person["url"])
    assert html_tag(body) == '<html lang="ar" dir="rtl">' and AR["question"] in body
