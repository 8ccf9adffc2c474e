"""Reading SMS replies: examples a customer would send, and properties over many more."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from functions.domain.sms_reply import (
    AMBIGUOUS,
    EMPTY,
    MAX_COMMENT,
    NOT_WHOLE,
    OUT_OF_RANGE,
    WORDS,
    Intent,
    SmsReply,
    parse_reply,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "score", "comment"),
    [
        ("9", 9, None),
        (" 9 ", 9, None),
        ("9/10", 9, None),
        ("9 / 10", 9, None),
        ("nine", 9, None),
        ("NINE!", 9, None),
        ("9 fast delivery", 9, "fast delivery"),
        ("9 great", 9, "great"),
        ("10", 10, None),
        ("ten", 10, None),
        ("0", 0, None),
        ("zero", 0, None),
        ("10 - lovely staff", 10, "lovely staff"),
        ("9. Fast delivery", 9, "Fast delivery"),
        ("Ten, lovely staff", 10, "lovely staff"),
        ("ten out of ten amazing", 10, "amazing"),
        ("Score: 9", 9, None),
        ("I'd give you a 9 but the driver was late", 9, "but the driver was late"),
        ('"8"', 8, None),
        ("(7)", 7, None),
        ("10/10!!", 10, None),
        ("９", 9, None),  # full-width digit, as some phone keyboards send
        ("9\nThe driver was\nlovely", 9, "The driver was\nlovely"),
    ],
)
def test_a_score_and_maybe_a_comment(text: str, score: int, comment: str | None) -> None:
    reply = parse_reply(text)
    assert (reply.intent, reply.score, reply.comment) == (Intent.SCORE, score, comment)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("9 or 10", AMBIGUOUS),
        ("7-8", AMBIGUOUS),
        ("7 to 8", AMBIGUOUS),
        ("9 10", AMBIGUOUS),
        ("9, 10", AMBIGUOUS),
        ("eight or nine", AMBIGUOUS),
        ("11", OUT_OF_RANGE),
        ("100%", OUT_OF_RANGE),
        ("-1", OUT_OF_RANGE),
        ("12/10", OUT_OF_RANGE),
        ("8.5", NOT_WHOLE),
        ("8,5", NOT_WHOLE),
        ("", EMPTY),
        ("   ", EMPTY),
        ("?!", EMPTY),
        ("\u200b", EMPTY),
    ],
)
def test_unclear_replies_say_why(text: str, problem: str) -> None:
    assert parse_reply(text) == SmsReply(Intent.UNCLEAR, problem=problem)


@pytest.mark.parametrize(
    "text",
    [
        "great service",
        "ten minutes late",
        "one more thing: the box was wet",
        "zero complaints",
        "9am was perfect",
    ],
)
def test_text_that_does_not_open_with_a_score_is_a_comment(text: str) -> None:
    assert parse_reply(text) == SmsReply(Intent.COMMENT, comment=text)


def test_a_denominator_is_reported_so_the_caller_can_check_the_scale() -> None:
    assert parse_reply("4/5") == SmsReply(Intent.SCORE, score=4, out_of=5)
    assert parse_reply("9 out of 10") == SmsReply(Intent.SCORE, score=9, out_of=10)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", Intent.OPT_OUT),
        ("stop", Intent.OPT_OUT),
        (" Stop. ", Intent.OPT_OUT),
        ("UNSUBSCRIBE", Intent.OPT_OUT),
        ("Cancel", Intent.OPT_OUT),
        ("end", Intent.OPT_OUT),
        ("QUIT", Intent.OPT_OUT),
        ("stop all", Intent.OPT_OUT),
        ("Stop texting me", Intent.OPT_OUT),
        ("START", Intent.OPT_IN),
        ("unstop", Intent.OPT_IN),
        ("HELP", Intent.HELP),
        ("info", Intent.HELP),
    ],
)
def test_carrier_keywords(text: str, intent: Intent) -> None:
    assert parse_reply(text).intent is intent


def test_keywords_inside_a_sentence_are_not_keywords() -> None:
    assert parse_reply("Cancel my order please").intent is Intent.COMMENT
    assert parse_reply("9 but please end the calls").intent is Intent.SCORE


# ---- properties -------------------------------------------------------------------------------

SCORES = st.integers(min_value=0, max_value=10)
PADDING = st.text(alphabet=" \t\n", max_size=4)
TRAILING = st.text(alphabet=" .!?)", max_size=4)
LEADING = st.text(alphabet=" \"'(#*", max_size=3)


@given(SCORES, LEADING, PADDING, TRAILING)
def test_any_score_in_range_with_surrounding_whitespace_and_punctuation_parses(
    score: int, lead: str, pad: str, trail: str
) -> None:
    reply = parse_reply(f"{pad}{lead}{score}{trail}{pad}")
    assert (reply.intent, reply.score, reply.comment) == (Intent.SCORE, score, None)


@given(SCORES, st.sampled_from(["lower", "upper", "title"]), TRAILING)
def test_any_score_written_as_a_word_parses(score: int, case: str, trail: str) -> None:
    word = next(w for w, n in WORDS.items() if n == score)
    reply = parse_reply(getattr(word, case)() + trail)
    assert (reply.intent, reply.score) == (Intent.SCORE, score)


COMMENT = st.from_regex(r"[A-Za-z][A-Za-z ,.'!]{0,60}", fullmatch=True)


@given(SCORES, COMMENT)
def test_a_score_followed_by_words_keeps_the_words_as_the_comment(score: int, comment: str) -> None:
    first = comment.split()[0].strip(",.'!").lower()
    assume(first not in {"to", "or"} | set(WORDS))
    reply = parse_reply(f"{score} {comment}")
    assert (reply.intent, reply.score, reply.comment) == (Intent.SCORE, score, comment.strip())


@given(st.integers(min_value=11, max_value=10**12), PADDING)
def test_numbers_beyond_every_scale_are_refused(number: int, pad: str) -> None:
    assert parse_reply(f"{pad}{number}{pad}") == SmsReply(Intent.UNCLEAR, problem=OUT_OF_RANGE)


@given(SCORES, SCORES, st.sampled_from([" or ", "-", " - ", " to ", "–", "/", " "]))
def test_two_numbers_are_ambiguous_unless_the_second_is_a_plausible_denominator(
    first: int, second: int, joint: str
) -> None:
    reply = parse_reply(f"{first}{joint}{second}")
    if joint == "/":
        assert reply.intent in (Intent.SCORE, Intent.UNCLEAR)
        if reply.intent is Intent.SCORE:
            assert (reply.score, reply.out_of) == (first, second) and first <= second
    else:
        assert reply == SmsReply(Intent.UNCLEAR, problem=AMBIGUOUS)


@given(st.text(max_size=3000))
def test_any_unicode_gets_a_verdict_and_never_an_exception(text: str) -> None:
    reply = parse_reply(text)
    assert isinstance(reply.intent, Intent)
    if reply.intent is Intent.SCORE:
        assert reply.score is not None and 0 <= reply.score <= 10
    if reply.comment is not None:
        assert reply.comment.strip() and len(reply.comment) <= MAX_COMMENT
        reply.comment.encode("utf-8")  # storable: no lone surrogates or control characters survive
    if reply.intent is Intent.UNCLEAR:
        assert reply.problem in (EMPTY, AMBIGUOUS, OUT_OF_RANGE, NOT_WHOLE)


# ---- other scripts and languages (docs/languages.md) ---------------------------------------------

# The zero of each script's decimal digits: Arabic-Indic, Extended Arabic-Indic (Persian, Urdu),
# Devanagari, Bengali, Thai, full-width.
DIGIT_ZEROS = {"arabic": 0x660, "persian": 0x6F0, "devanagari": 0x966, "bengali": 0x9E6, "thai": 0xE50,
               "fullwidth": 0xFF10}  # fmt: skip


def in_script(number: int, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in str(number))


@pytest.mark.parametrize(
    ("text", "score", "comment"),
    [
        ("٩ شكرا", 9, "شكرا"),
        ("۹", 9, None),
        ("९ बहुत अच्छा", 9, "बहुत अच्छा"),
        ("９", 9, None),
        ("１０", 10, None),
        ("١٠، خدمة ممتازة", 10, "خدمة ممتازة"),
        ("٨/١٠", 8, None),
    ],
)
def test_digits_of_any_script_are_scores(text: str, score: int, comment: str | None) -> None:
    reply = parse_reply(text)
    assert (reply.intent, reply.score, reply.comment) == (Intent.SCORE, score, comment)


def test_an_arabic_decimal_is_not_a_whole_score() -> None:
    assert parse_reply("٨٫٥").problem == NOT_WHOLE


@given(number=st.integers(min_value=0, max_value=10), zero=st.sampled_from(sorted(DIGIT_ZEROS.values())),
       comment=st.sampled_from(["", " شكرا", " très bien", " 素晴らしい", " - great"]))  # fmt: skip
def test_any_scripts_digits_read_as_the_same_score(number: int, zero: int, comment: str) -> None:
    assert parse_reply(in_script(number, zero) + comment) == parse_reply(str(number) + comment)


@pytest.mark.parametrize(
    ("language", "text", "score"),
    [
        ("fr", "neuf", 9),
        ("fr", "Dix !", 10),
        ("fr", "zéro", 0),
        ("fr", "zero", 0),
        ("es", "nueve", 9),
        ("es", "Diez, muy bien", 10),
        ("de", "neun", 9),
        ("de", "Fünf", 5),
        ("de", "funf", 5),
        ("it", "nove", 9),
        ("pt", "nove", 9),
        ("pt", "três", 3),
        ("nl", "negen", 9),
        ("pl", "dziewięć", 9),
        ("sv", "nio", 9),
        ("tr", "dokuz", 9),
        ("vi", "chín", 9),
        ("fr", "nine", 9),  # English words work everywhere
    ],
)
def test_number_words_of_the_invitations_language_are_scores(language: str, text: str, score: int) -> None:
    reply = parse_reply(text, language)
    assert (reply.intent, reply.score) == (Intent.SCORE, score)


def test_number_words_of_another_language_are_text() -> None:
    # "tre" is 3 in Italian, a comment on an English invitation; "neuf" is only French
    assert parse_reply("tre", "it").score == 3
    assert parse_reply("tre").intent is Intent.COMMENT
    assert parse_reply("neuf", "de").intent is Intent.COMMENT


def test_a_number_word_running_into_words_stays_text_in_every_language() -> None:
    # "neuf" also means "new": "tout neuf" and "neuf jours de retard" are comments
    assert parse_reply("neuf jours de retard", "fr").intent is Intent.COMMENT
    assert parse_reply("nueve, rápido", "es").comment == "rápido"


@pytest.mark.parametrize("language", ["cs", "da", "de", "es", "fi", "fr", "hu", "id", "it", "nb", "nl", "pl",
                                      "pt", "ro", "sv", "tr", "vi"])  # fmt: skip
def test_every_latin_script_language_reads_its_own_words_zero_to_ten(language: str) -> None:
    from functions.domain.sms_reply import NUMBER_WORDS

    for value, forms in enumerate(NUMBER_WORDS[language]):
        for form in forms:
            for written in (form, form.upper(), form.capitalize() + "!"):
                reply = parse_reply(written, language)
                assert (reply.intent, reply.score) == (Intent.SCORE, value), (language, written)


JOINED = [("fr", "7 ou 8 ?"), ("de", "7 oder 8"), ("es", "nueve o diez"), ("pl", "7 lub 8"), ("fr", "9 à 10")]


@pytest.mark.parametrize(("language", "text"), JOINED)
def test_two_numbers_joined_in_the_invitations_language_are_asked_again(language: str, text: str) -> None:
    assert parse_reply(text, language).problem == AMBIGUOUS
