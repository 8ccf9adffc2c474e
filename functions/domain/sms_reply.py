"""Reading a customer's SMS reply: a score, a comment, a keyword, or something to ask again.

Generous where the meaning is clear, careful where it is not: nothing is recorded from a
reply we had to guess at.

- A score is a whole number 0–10 at the start of the reply, in digits or as a word
  ("9", " 9 ", "9/10", "nine", "NINE!", "Score: 9", "I'd give you a 9"). Text after it is
  the comment ("9 fast delivery", "10 - lovely staff").
- A number word opens a score only when nothing but punctuation follows it, or when
  punctuation separates the comment ("Ten!", "ten, lovely staff"): "one more thing…",
  "ten minutes late" and "zero complaints" are comments, not scores.
- Two numbers ("9 or 10", "7-8", "9 10"), a fraction ("8.5"), a sign ("-1") or a number
  beyond every scale ("11") is unclear: the customer is asked again.
- "9/10", "4/5": the denominator is returned so the caller can refuse one that is not the
  survey's scale (a "4/5" on a 0–10 survey is asked again, never rescaled).
- Carrier keywords, as the whole message (any case, surrounding punctuation ignored): STOP,
  STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT-OUT, REMOVE, ARRET → opt out;
  START, UNSTOP → opt back in; HELP, INFO → help. "Stop texting me" (STOP, UNSUBSCRIBE,
  STOPALL or OPTOUT followed by more words) opts out too: we err on the side of not texting.
- Anything else with a letter or digit in it is a comment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_COMMENT = 2000
HIGHEST_SCORE = 10  # the top of every scale (nps 0–10, csat 1–5, ces 1–7, csi 1–10)

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT-OUT",
     "OPT OUT", "REMOVE", "ARRET"}
)  # fmt: skip
OPT_OUT_LEADING = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_WORD = r"(?:" + "|".join(WORDS) + r")"
_NUMBER = r"(?:\d+|" + _WORD + r")"

# Openers people put before a score: quotes, brackets, "Score:", "I'd give you a".
_LEAD = re.compile(
    r"""[\s"'“”‘’«»(\[{#*.,!?:;~_]*
        (?:(?:my\s+)?(?:score|rating|answer|nps)(?:\s+is)?\s*[:=\-]?\s*
          |i\s*(?:would|'d|’d|will|'ll|’ll)?\s*(?:give|say|rate)\s+(?:you|it|u|this|them|us)?\s*(?:an?\s+)?
        )?""",
    re.IGNORECASE | re.VERBOSE,
)
_SIGN = re.compile(r"[-+−–—]\s*\d")
_DIGITS = re.compile(r"(\d+)([.,]\d+)?(?![^\W\d_])")  # not glued to a letter: "2nd", "9am" are text
_WORD_AT = re.compile(_WORD + r"\b", re.IGNORECASE)
_DENOMINATOR = re.compile(r"\s*(?:/|out\s+of\b)\s*(" + _NUMBER + r")\b", re.IGNORECASE)
_ALTERNATIVE = re.compile(
    r"\s*(?:(?:[-–—~/]|\bto\b|\bor\b|\band/or\b)\s*" + _NUMBER + r"\b|,?\s*\d+\b)", re.IGNORECASE
)
_COMMENT_OPENERS = tuple("-–—:;,.!?)")
_PUNCTUATION_ONLY = re.compile(r"[\s\W_]*")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


class Intent(StrEnum):
    SCORE = "score"
    COMMENT = "comment"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNCLEAR = "unclear"


# Why a reply is unclear (the answer asking again says what we need).
EMPTY = "empty"
AMBIGUOUS = "ambiguous"
OUT_OF_RANGE = "out_of_range"
NOT_WHOLE = "not_whole"


@dataclass(frozen=True)
class SmsReply:
    intent: Intent
    score: int | None = None
    comment: str | None = None
    out_of: int | None = None  # the denominator of "9/10", if given
    problem: str | None = None  # why it is unclear


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def _keyword(text: str) -> Intent | None:
    bare = " ".join(text.strip(" \t\n.!?,;:'\"()[]*").upper().split())
    if bare in OPT_OUT_KEYWORDS:
        return Intent.OPT_OUT
    if bare in OPT_IN_KEYWORDS:
        return Intent.OPT_IN
    if bare in HELP_KEYWORDS:
        return Intent.HELP
    first = re.split(r"[\s.,!?;:]+", bare, maxsplit=1)[0]
    if first in OPT_OUT_LEADING and bare != first:
        return Intent.OPT_OUT
    return None


def _value(token: str) -> int:
    """The number a token names; anything longer than three digits is beyond every scale."""
    if token.lower() in WORDS:
        return WORDS[token.lower()]
    return int(token) if len(token) <= 3 else HIGHEST_SCORE + 1


def _comment(rest: str) -> str | None:
    text = rest.lstrip(" \t\n-–—:;,.!?)]\"'’”*").strip()
    if not text or _PUNCTUATION_ONLY.fullmatch(text):
        return None
    return text[:MAX_COMMENT]


def _score(text: str) -> SmsReply | None:
    """The score at the start of `text`, an unclear verdict, or None when it opens with text."""
    start = _LEAD.match(text)
    at = start.end() if start else 0
    if _SIGN.match(text, at):
        return SmsReply(Intent.UNCLEAR, problem=OUT_OF_RANGE)
    digits = _DIGITS.match(text, at)
    word = None if digits else _WORD_AT.match(text, at)
    if digits:
        if digits.group(2):
            return SmsReply(Intent.UNCLEAR, problem=NOT_WHOLE)
        value, rest = _value(digits.group(1)), text[digits.end() :]
    elif word:
        value, rest = _value(word.group(0)), text[word.end() :]
    else:
        return None
    out_of = None
    denominator = _DENOMINATOR.match(rest)
    if denominator:
        out_of, rest = _value(denominator.group(1)), rest[denominator.end() :]
    if _ALTERNATIVE.match(rest):
        return SmsReply(Intent.UNCLEAR, problem=AMBIGUOUS)
    # "ten minutes late", "one more thing": a number word running into words is text; a
    # comment after a number word needs punctuation between ("Ten, lovely staff").
    runs_into_words = not _PUNCTUATION_ONLY.fullmatch(rest) and rest.lstrip(" \t")[:1] not in _COMMENT_OPENERS
    if word and out_of is None and runs_into_words:
        return None
    if value > HIGHEST_SCORE or (out_of is not None and not value <= out_of <= HIGHEST_SCORE):
        return SmsReply(Intent.UNCLEAR, problem=OUT_OF_RANGE)
    return SmsReply(Intent.SCORE, score=value, comment=_comment(rest), out_of=out_of)


def parse_reply(text: str) -> SmsReply:
    """What a customer meant by an SMS reply (pure; never raises)."""
    cleaned = _clean(text or "")
    if not cleaned:
        return SmsReply(Intent.UNCLEAR, problem=EMPTY)
    keyword = _keyword(cleaned)
    if keyword is not None:
        return SmsReply(keyword)
    scored = _score(cleaned)
    if scored is not None:
        return scored
    if _PUNCTUATION_ONLY.fullmatch(cleaned):
        return SmsReply(Intent.UNCLEAR, problem=EMPTY)
    return SmsReply(Intent.COMMENT, comment=cleaned[:MAX_COMMENT])
