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
- Digits may be of any script ("٩", "۹", "९", "９"); number words are English plus those of the
  invitation's language when it is written in Latin script ("neuf", "nueve", "neun", "nove"),
  with or without accents ("três", "tres"). Only one language's words at a time: "tre" is 3
  in Italian and Swedish, "to" is 2 in Danish and a word in English (docs/languages.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

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
# Number words 0–10 of the catalog languages written in Latin script, one list per value
# (several forms where the language has them: gender, "ein"/"eins").
NUMBER_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "cs": (("nula",), ("jedna", "jeden"), ("dva", "dvě"), ("tři",), ("čtyři",), ("pět",), ("šest",),
           ("sedm",), ("osm",), ("devět",), ("deset",)),
    "da": (("nul",), ("en", "et"), ("to",), ("tre",), ("fire",), ("fem",), ("seks",), ("syv",), ("otte",),
           ("ni",), ("ti",)),
    "de": (("null",), ("eins", "ein", "eine"), ("zwei",), ("drei",), ("vier",), ("fünf",), ("sechs",),
           ("sieben",), ("acht",), ("neun",), ("zehn",)),
    "es": (("cero",), ("uno", "una"), ("dos",), ("tres",), ("cuatro",), ("cinco",), ("seis",), ("siete",),
           ("ocho",), ("nueve",), ("diez",)),
    "fi": (("nolla",), ("yksi",), ("kaksi",), ("kolme",), ("neljä",), ("viisi",), ("kuusi",),
           ("seitsemän",), ("kahdeksan",), ("yhdeksän",), ("kymmenen",)),
    "fr": (("zéro",), ("un", "une"), ("deux",), ("trois",), ("quatre",), ("cinq",), ("six",), ("sept",),
           ("huit",), ("neuf",), ("dix",)),
    "hu": (("nulla",), ("egy",), ("kettő", "két"), ("három",), ("négy",), ("öt",), ("hat",), ("hét",),
           ("nyolc",), ("kilenc",), ("tíz",)),
    "id": (("nol",), ("satu",), ("dua",), ("tiga",), ("empat",), ("lima",), ("enam",), ("tujuh",),
           ("delapan",), ("sembilan",), ("sepuluh",)),
    "it": (("zero",), ("uno", "una"), ("due",), ("tre",), ("quattro",), ("cinque",), ("sei",), ("sette",),
           ("otto",), ("nove",), ("dieci",)),
    "nb": (("null",), ("en", "ett", "ei"), ("to",), ("tre",), ("fire",), ("fem",), ("seks",), ("sju", "syv"),
           ("åtte",), ("ni",), ("ti",)),
    "nl": (("nul",), ("een", "één"), ("twee",), ("drie",), ("vier",), ("vijf",), ("zes",), ("zeven",),
           ("acht",), ("negen",), ("tien",)),
    "pl": (("zero",), ("jeden", "jedna"), ("dwa", "dwie"), ("trzy",), ("cztery",), ("pięć",), ("sześć",),
           ("siedem",), ("osiem",), ("dziewięć",), ("dziesięć",)),
    "pt": (("zero",), ("um", "uma"), ("dois", "duas"), ("três",), ("quatro",), ("cinco",), ("seis",),
           ("sete",), ("oito",), ("nove",), ("dez",)),
    "ro": (("zero",), ("unu", "una"), ("doi", "două"), ("trei",), ("patru",), ("cinci",), ("șase",),
           ("șapte",), ("opt",), ("nouă",), ("zece",)),
    "sv": (("noll",), ("ett", "en"), ("två",), ("tre",), ("fyra",), ("fem",), ("sex",), ("sju",), ("åtta",),
           ("nio",), ("tio",)),
    "tr": (("sıfır",), ("bir",), ("iki",), ("üç",), ("dört",), ("beş",), ("altı",), ("yedi",), ("sekiz",),
           ("dokuz",), ("on",)),
    "vi": (("không",), ("một",), ("hai",), ("ba",), ("bốn",), ("năm",), ("sáu",), ("bảy",), ("tám",),
           ("chín",), ("mười",)),
}  # fmt: skip


# "7 or 8", "7 to 8" in those languages: two numbers, so the customer is asked again.
ALTERNATIVE_WORDS: dict[str, tuple[str, ...]] = {
    "cs": ("nebo", "až"), "da": ("eller", "til"), "de": ("oder", "bis"), "es": ("o", "a"),
    "fi": ("tai",), "fr": ("ou", "à"), "hu": ("vagy",), "id": ("atau", "sampai"), "it": ("o", "a"),
    "nb": ("eller", "til"), "nl": ("of", "tot"), "pl": ("lub", "albo", "do"), "pt": ("ou", "a"),
    "ro": ("sau", "la"), "sv": ("eller", "till"), "tr": ("veya", "ya da"), "vi": ("hoặc", "đến"),
}  # fmt: skip


def _plain_letters(word: str) -> str:
    """The word without its accents ("três" → "tres", "dziewięć" → "dziewiec")."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


@lru_cache(maxsize=32)
def number_words(language: str | None) -> dict[str, int]:
    """English number words plus those of `language` (lower case, with and without accents)."""
    out = dict(WORDS)
    for value, forms in enumerate(NUMBER_WORDS.get(language or "", ())):
        for form in forms:
            # "SIFIR".lower() is "sifir", not "sıfır": keep what upper-casing makes of a word too.
            for variant in (form, form.upper().lower()):
                out[unicodedata.normalize("NFC", variant)] = value
                out.setdefault(_plain_letters(variant), value)
    return out


@dataclass(frozen=True)
class _Patterns:
    words: dict[str, int]
    word_at: re.Pattern[str]
    denominator: re.Pattern[str]
    alternative: re.Pattern[str]


@lru_cache(maxsize=32)
def _patterns(language: str | None) -> _Patterns:
    words = number_words(language)
    word = r"(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")"
    number = r"(?:\d+|" + word + r")"
    joins = [r"\bto\b", r"\bor\b", r"\band/or\b"]
    joins += [r"\b" + re.escape(w) + r"\b" for w in ALTERNATIVE_WORDS.get(language or "", ())]
    return _Patterns(
        words=words,
        word_at=re.compile(word + r"\b", re.IGNORECASE),
        denominator=re.compile(r"\s*(?:/|out\s+of\b)\s*(" + number + r")\b", re.IGNORECASE),
        alternative=re.compile(
            r"\s*(?:(?:[-–—~/]|" + "|".join(joins) + r")\s*" + number + r"\b|,?\s*\d+\b)", re.IGNORECASE
        ),
    )


# Openers people put before a score: quotes, brackets, "Score:", "I'd give you a".
_LEAD = re.compile(
    r"""[\s"'“”‘’«»(\[{#*.,!?:;~_]*
        (?:(?:my\s+)?(?:score|rating|answer|nps)(?:\s+is)?\s*[:=\-]?\s*
          |i\s*(?:would|'d|’d|will|'ll|’ll)?\s*(?:give|say|rate)\s+(?:you|it|u|this|them|us)?\s*(?:an?\s+)?
        )?""",
    re.IGNORECASE | re.VERBOSE,
)
_SIGN = re.compile(r"[-+−–—]\s*\d")
# Python's \d is any script's decimal digit (Arabic-Indic ٩, Devanagari ९, …); "٫" is Arabic's
# decimal separator. Not glued to a letter: "2nd", "9am" are text.
_DIGITS = re.compile(r"(\d+)([.,٫]\d+)?(?![^\W\d_])")
_COMMENT_OPENERS = tuple("-–—:;,.!?)،؛؟。、")
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


def _value(token: str, words: dict[str, int]) -> int:
    """The number a token names; anything longer than three digits is beyond every scale."""
    word = words.get(unicodedata.normalize("NFC", token).lower())
    if word is not None:
        return word
    if len(token) > 3:
        return HIGHEST_SCORE + 1
    return int("".join(str(unicodedata.decimal(ch)) for ch in token))


def _comment(rest: str) -> str | None:
    text = rest.lstrip(" \t\n-–—:;,.!?)]\"'’”*،؛؟。、").strip()
    if not text or _PUNCTUATION_ONLY.fullmatch(text):
        return None
    return text[:MAX_COMMENT]


def _score(text: str, language: str | None) -> SmsReply | None:
    """The score at the start of `text`, an unclear verdict, or None when it opens with text."""
    patterns = _patterns(language)
    start = _LEAD.match(text)
    at = start.end() if start else 0
    if _SIGN.match(text, at):
        return SmsReply(Intent.UNCLEAR, problem=OUT_OF_RANGE)
    digits = _DIGITS.match(text, at)
    word = None if digits else patterns.word_at.match(text, at)
    if digits:
        if digits.group(2):
            return SmsReply(Intent.UNCLEAR, problem=NOT_WHOLE)
        value, rest = _value(digits.group(1), patterns.words), text[digits.end() :]
    elif word:
        value, rest = _value(word.group(0), patterns.words), text[word.end() :]
    else:
        return None
    out_of = None
    denominator = patterns.denominator.match(rest)
    if denominator:
        out_of, rest = _value(denominator.group(1), patterns.words), rest[denominator.end() :]
    if patterns.alternative.match(rest):
        return SmsReply(Intent.UNCLEAR, problem=AMBIGUOUS)
    # "ten minutes late", "one more thing": a number word running into words is text; a
    # comment after a number word needs punctuation between ("Ten, lovely staff").
    runs_into_words = not _PUNCTUATION_ONLY.fullmatch(rest) and rest.lstrip(" \t")[:1] not in _COMMENT_OPENERS
    if word and out_of is None and runs_into_words:
        return None
    if value > HIGHEST_SCORE or (out_of is not None and not value <= out_of <= HIGHEST_SCORE):
        return SmsReply(Intent.UNCLEAR, problem=OUT_OF_RANGE)
    return SmsReply(Intent.SCORE, score=value, comment=_comment(rest), out_of=out_of)


def parse_reply(text: str, language: str | None = None) -> SmsReply:
    """What a customer meant by an SMS reply (pure; never raises).

    `language` (a catalog language) adds its number words to English ones.
    """
    cleaned = _clean(text or "")
    if not cleaned:
        return SmsReply(Intent.UNCLEAR, problem=EMPTY)
    keyword = _keyword(cleaned)
    if keyword is not None:
        return SmsReply(keyword)
    scored = _score(cleaned, language)
    if scored is not None:
        return scored
    if _PUNCTUATION_ONLY.fullmatch(cleaned):
        return SmsReply(Intent.UNCLEAR, problem=EMPTY)
    return SmsReply(Intent.COMMENT, comment=cleaned[:MAX_COMMENT])
