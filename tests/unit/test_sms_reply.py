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
