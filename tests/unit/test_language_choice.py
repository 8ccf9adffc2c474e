"""Choosing a page's language, and the pages that speak it (docs/languages.md)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.api import pages
from functions.domain import languages
from functions.domain.kinds import Kind
from functions.domain.languages import LANGUAGES, accept_language, choose, language_of, localized
from infra import messages

pytestmark = pytest.mark.unit

FR = {"question": "Nous recommanderiez-vous ?", "follow_up_question": "Pourquoi ?"}
AR = {"question": "هل تنصح بنا؟", "follow_up_question": "لماذا؟", "scale_low": "مستبعد", "scale_high": "مؤكد"}


def page(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "nps",
        "question": "Would you recommend us?",
        "follow_up_question": "Why?",
        "brand_name": "Acme",
        "brand_color": "#0a7d3b",
        "attributes": [],
        "translations": {"fr": FR, "ar": AR},
        **extra,
    }


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("pt-BR", "pt"),
        ("pt_PT", "pt"),
        ("DE-at", "de"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-Hant", "zh-Hant"),
        ("zh-Hant-CN", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh-Hans-HK", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("iw", "he"),
        ("no", "nb"),
        ("sw", None),
        ("", None),
        ("not a tag", None),
        (None, None),
    ],
)
def test_a_region_falls_back_to_its_language(tag: str | None, language: str | None) -> None:
    assert language_of(tag) == language


def test_accept_language_honours_q_values_and_refuses_q_zero() -> None:
    header = "de;q=0.3, fr-CA;q=0.9, en;q=0, ja, sw, fr;q=0.1, *;q=0.5"
    assert list(accept_language(header)) == ["ja", "fr", "de"]
    assert list(accept_language("es;q=abc, it")) == ["it"]
    assert list(accept_language(None)) == []


@given(st.text(max_size=200))
def test_any_accept_language_header_gives_catalog_languages_only(header: str) -> None:
    found = list(accept_language(header))
    assert set(found) <= set(LANGUAGES) and len(found) == len(set(found))


def test_the_choice_takes_the_first_that_applies() -> None:
    speaks = {"en", "fr", "ar"}
    kw: dict[str, Any] = {"default": "en", "available": speaks}
    # the recipient's locale beats ?lang= and the browser
    assert choose(recipient="fr-CA", requested="ar", accept="ar", **kw) == "fr"
    # an unsupported recipient locale does not apply: ?lang= then the browser decide
    assert choose(recipient="sw", requested="ar", accept="fr", **kw) == "ar"
    assert choose(recipient=None, requested="xx", accept="de, fr;q=0.8", **kw) == "fr"
    # an explicit choice the survey cannot speak gives the default for everything
    assert choose(recipient="de", requested="fr", accept="fr", **kw) == "en"
    assert choose(recipient=None, requested=None, accept="de", **kw) == "en"
    assert choose(recipient=None, requested=None, accept=None, default="fr", available={"fr"}) == "fr"
    assert choose(recipient=None, requested=None, accept=None, default=None, available=set()) == "en"


@given(
    recipient=st.one_of(st.none(), st.sampled_from([*LANGUAGES, "fr-CA", "zh-TW", "sw", "x"])),
    requested=st.one_of(st.none(), st.sampled_from([*LANGUAGES, "pt-BR", "??"])),
    accept=st.one_of(st.none(), st.text(max_size=40)),
    default=st.sampled_from(LANGUAGES),
    available=st.sets(st.sampled_from(LANGUAGES)),
)
def test_a_page_only_ever_speaks_a_language_the_survey_has_all_its_texts_in(
    recipient: str | None, requested: str | None, accept: str | None, default: str, available: set[str]
) -> None:
    chosen = choose(
        recipient=recipient, requested=requested, accept=accept, default=default, available=available
    )
    assert chosen == default or chosen in available


def test_a_translation_missing_a_text_the_page_shows_is_not_spoken() -> None:
    assert languages.survey_languages(page()) == {"en", "fr", "ar"}
    incomplete = page(translations={"fr": {"question": "Q ?"}})  # no follow-up question
    assert languages.survey_languages(incomplete) == {"en"}
    csi = page(kind="csi", attributes=[{"key": "speed", "label": "Speed"}], translations={"fr": FR})
    assert languages.survey_languages(csi) == {"en"}


def test_translation_problems_name_the_locale_or_the_attribute() -> None:
    problem = languages.translation_problem
    assert problem({"fr": FR}, [], True) is None
    field, message = problem({"xx": FR}, [], True) or ("", "")
    assert field == "translations.xx" and "'xx'" in message and "unknown locale" in message
    field, message = problem({"fr-CA": FR}, [], True) or ("", "")
    assert "unknown locale 'fr-CA'" in message and "'fr'" in message
    field, message = problem(
        {"fr": {**FR, "attributes": {"speed": "Vitesse", "x": "?"}}}, ["speed"], True
    ) or (
        "",
        "",
    )
    assert field == "translations.fr.attributes.x" and "unknown attribute key 'x'" in message
    assert problem({"fr": {"question": "Q"}}, [], True) == (
        "translations.fr.follow_up_question",
        "the fr translation needs the follow-up question",
    )


# ---- pages ---------------------------------------------------------------------------------------

SOURCE_TEXTS = sorted((m.id for m in messages.extract() if m.id), key=len, reverse=True)


def visible_text(body: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def english_catalog_texts(body: str) -> list[str]:
    """Catalog source (English) texts found in a page, placeholders filled by anything."""
    text = " ".join(visible_text(body).split())
    found = []
    for source in SOURCE_TEXTS:
        pattern = r"\s*".join(re.escape(part) for part in source.split())
        pattern = re.sub(r"\\\{\w+\\\}", r"\\S+\\s*", pattern)
        if len(source) >= 4 and re.search(r"(?<!\w)" + pattern + r"(?!\w)", text):
            found.append(source)
    return found


def test_an_arabic_page_is_right_to_left_and_has_no_english_catalog_text() -> None:
    arabic = localized(page(), "ar")
    landing = pages.survey_page(arabic, "T", 9, None, language="ar").body
    thanks = pages.thanks_page(arabic, "../T", 9, "شكرا", language="ar").body
    for body in (landing, thanks):
        assert '<html lang="ar" dir="rtl">' in body
        assert english_catalog_texts(body) == []
        assert "Would you recommend us?" not in body and "Why?" not in body
    assert "هل تنصح بنا؟" in landing and "مستبعد" in landing and "مؤكد" in landing
    assert "لماذا؟" in thanks
    # the scale keeps its order in the document (the direction mirrors it on screen)
    assert re.findall(r'value="(\d+)"', landing) == [str(n) for n in range(11)]


def test_the_english_page_finds_its_own_catalog_texts() -> None:
    # The check above can fail: on an English page it finds the English texts.
    body = pages.thanks_page(page(), "../T", 9, "ok").body
    assert {"Thank you!", "Change your answer", "You answered {score}."} <= set(english_catalog_texts(body))
    assert '<html lang="en" dir="ltr">' in body


@pytest.mark.parametrize("language", ["he", "fa", "ur"])
def test_every_right_to_left_language_sets_dir(language: str) -> None:
    body = pages.error_page(404, language=language).body
    assert f'<html lang="{language}" dir="rtl">' in body and english_catalog_texts(body) == []


def test_the_style_mirrors_through_logical_properties_only() -> None:
    body = pages.survey_page(page(), "T", None, None).body
    style = body.split("<style", 1)[1].split("</style>", 1)[0]
    assert not re.search(r"(?<![\w-])(left|right)\s*:", style)
    assert not re.search(r"(margin|padding|border)-(left|right)", style)


def test_a_japanese_page_translates_the_kinds_scale_words_and_the_script() -> None:
    japanese = localized(page(translations={"ja": {**FR, "question": "おすすめしますか？"}}), "ja")
    body = pages.survey_page(japanese, "T", 9, None, language="ja").body
    assert '<html lang="ja" dir="ltr">' in body and "まったくそう思わない" in body and "送信" in body
    assert english_catalog_texts(body) == []
    assert "\\u56de\\u7b54\\u3092\\u9001\\u4fe1" in body  # "回答を送信…" in the script, escaped


@pytest.mark.parametrize("kind", list(Kind))
def test_scale_words_come_from_the_catalog_unless_the_survey_names_them(kind: Kind) -> None:
    german = pages.survey_page({**page(), "kind": kind.value}, "T", None, None, language="de").body
    assert '<html lang="de"' in german and english_catalog_texts(german) == []


def test_an_invitation_copies_only_the_translation_its_recipients_locale_needs() -> None:
    from functions.domain.kinds import Kind
    from functions.domain.survey import Brand, Survey

    survey = Survey(
        id="srv_1", tenant_id="t", name="N", kind=Kind.NPS, question="Q?", follow_up_question="Why?",
        attributes=(), brand=Brand("B", "#000000"), cooldown_days=None, status="active", created_at="",
        translations={"fr": FR, "ar": AR},
    )  # fmt: skip
    assert survey.public_view(locale="fr-CA")["translations"] == {"fr": FR}
    assert "translations" not in survey.public_view(locale="de")  # the default language speaks
    assert set(survey.public_view(locale="sw")["translations"]) == {"fr", "ar"}  # decides nothing
    assert set(survey.public_view()["translations"]) == {"fr", "ar"}
