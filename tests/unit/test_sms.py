"""SMS text: the GSM-7 alphabet, septet counting, and an invitation body in one segment."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.codes import BASE62
from functions.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SEGMENT_SEPTETS,
    SHORT_URL_LIMIT,
    UNICODE_UNITS,
    fits_one_segment,
    needs_unicode,
    septets,
    short_url_problem,
    sms_body,
    to_gsm7,
)

pytestmark = pytest.mark.unit

URL = "https://hk.example.com/s/AbCdEf1234"


def test_the_alphabets_have_the_sizes_of_gsm_03_38() -> None:
    # 128 code points less the escape; 9 printable extension characters plus form feed
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hello", 5),
        ("Café à Zürich", 13),  # é, à, ü are in the default alphabet
        ("Price: 5€", 10),  # € is an extension character: two septets
        ("{[~]}", 10),
        ("", 0),
        ("naïve", None),  # ï is not: the message would go UCS-2
        ("“quoted”", None),
        ("thumbs 👍", None),
    ],
)
def test_septets_count_extension_characters_twice(text: str, length: int | None) -> None:
    assert septets(text) == length


def test_to_gsm7_keeps_what_fits_and_spells_the_rest() -> None:
    assert to_gsm7("“Acme’s” – naïve…\n next  line 👍") == '"Acme\'s" - naive... next line ?'
    assert to_gsm7("Zoë & Åsa — 5 €") == "Zoe & Åsa - 5 €"


def test_a_typical_body_is_brand_question_and_link() -> None:
    body = sms_body("Demo Coffee Co.", "How likely are you to recommend us?", URL)
    assert body == f"Demo Coffee Co.: How likely are you to recommend us? {URL}"


def test_a_long_question_is_shortened_at_a_word_and_the_link_kept_whole() -> None:
    question = "On a scale from zero to ten, how likely is it that you would recommend " * 3
    body = sms_body("Acme", question, URL)
    assert fits_one_segment(body) and body.endswith(" " + URL)
    head = body[: -len(URL) - 1]
    assert head.startswith("Acme: On a scale") and head.endswith("...")
    assert head[:-3].split(" ")[-1] in question.split(" ")


def test_extension_characters_count_double_when_fitting() -> None:
    body = sms_body("", "€" * 200, URL)
    assert septets(body) is not None and septets(body) <= SEGMENT_SEPTETS  # type: ignore[operator]
    assert body.count("€") == (SEGMENT_SEPTETS - len(URL) - 1 - 3) // 2


def test_a_link_too_long_for_anything_else_is_sent_alone() -> None:
    url = "https://example.com/s/" + "a" * 150
    assert sms_body("Acme", "Rate us", url) == url


@given(
    brand=st.text(max_size=200),
    question=st.text(max_size=600),
    code=st.text(alphabet=BASE62, min_size=8, max_size=10),
    base=st.sampled_from(["http://localhost:8000", "https://hk.example.com", "https://a.io"]),
)
def test_any_brand_and_question_fit_one_segment_with_the_whole_link(
    brand: str, question: str, code: str, base: str
) -> None:
    # One GSM-7 segment, unless a letter GSM-7 cannot spell (Arabic, Chinese…) needs UCS-2:
    # then two UCS-2 parts at most (docs/languages.md).
    url = f"{base}/s/{code}"
    body = sms_body(brand, question, url)
    if needs_unicode(f"{brand} {question}"):
        assert len(body.encode("utf-16-le")) // 2 <= UNICODE_UNITS
    else:
        assert fits_one_segment(body)
    assert body == url or body.endswith(" " + url)
    assert "\n" not in body


def test_short_urls_longer_than_the_limit_are_reported_with_the_fix() -> None:
    assert short_url_problem("http://localhost:8000/s/AbCdEf1234") is None
    assert short_url_problem("x" * SHORT_URL_LIMIT) is None
    long_url = "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/api/s/AbCdEf1234"
    problem = short_url_problem(long_url)
    assert problem and "HARK_PUBLIC_BASE_URL" in problem and str(len(long_url)) in problem


def test_a_long_public_base_url_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    from functions.logic.links import warn_if_short_urls_too_long

    warn_if_short_urls_too_long.cache_clear()
    long_base = "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/api"
    with caplog.at_level("WARNING", logger="hark.links"):
        assert warn_if_short_urls_too_long("https://hk.example.com") is None
        assert warn_if_short_urls_too_long(long_base)
        warn_if_short_urls_too_long(long_base)
    assert [r.message for r in caplog.records if "HARK_PUBLIC_BASE_URL" in r.message] == [
        warn_if_short_urls_too_long(long_base)
    ]


def test_hark_s_own_texts_carry_the_opt_out_wording_within_one_segment() -> None:
    from functions.domain.sms import OPT_OUT_TEXT, SEGMENT_SEPTETS, sms_body

    url = "https://hk.example.com/s/AbCdEfGhIj"
    long_question = "How likely are you to recommend our delivery service to a friend or a colleague? " * 3
    for question in ("Recommend us?", long_question):
        body = sms_body("Acme", question, url, OPT_OUT_TEXT)
        assert body.endswith(f"{url} {OPT_OUT_TEXT}") and len(body) <= SEGMENT_SEPTETS
    assert sms_body("Acme", "Recommend us?", url) == f"Acme: Recommend us? {url}"


def test_a_question_in_a_script_gsm7_lacks_keeps_its_letters_in_ucs2() -> None:
    body = sms_body("Acme", "ما مدى احتمال أن توصي بـ Acme؟", URL, "أرسل STOP لإيقاف الرسائل.")
    assert body == "Acme: ما مدى احتمال أن توصي بـ Acme؟ " + URL + " أرسل STOP لإيقاف الرسائل."
    long = sms_body("Acme", "ですか" * 100, URL)
    assert long.endswith("... " + URL) and len(long.encode("utf-16-le")) // 2 <= UNICODE_UNITS
