"""SMS text that fits one segment: the GSM-7 alphabet, its length rules, the invitation body.

One SMS segment holds 160 characters only while every character is in the GSM 03.38 default
alphabet; a single character outside it (a curly quote, an emoji, ``á``) switches the whole
message to UCS-2 and 70 characters a segment. Characters of the extension table (``€ [ ] { }
^ ~ | \\`` and form feed) are sent as an escape plus the character, so they count twice.
"""

from __future__ import annotations

import unicodedata

from functions.i18n import N_

SEGMENT_SEPTETS = 160
# An SMS short URL must leave room for the brand and the question in one segment.
SHORT_URL_LIMIT = 40

# GSM 03.38 default alphabet, in code order (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Common characters outside GSM-7 that have a faithful GSM-7 spelling.
_SPELLINGS = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u00b7": "-",
    "\t": " ",
}
ELLIPSIS = "..."


def septets(text: str) -> int | None:
    """The length of `text` in GSM-7 septets, or None when it needs UCS-2."""
    total = 0
    for char in text:
        if char in GSM7_BASIC:
            total += 1
        elif char in GSM7_EXTENSION:
            total += 2
        else:
            return None
    return total


def fits_one_segment(text: str) -> bool:
    length = septets(text)
    return length is not None and length <= SEGMENT_SEPTETS


def to_gsm7(text: str) -> str:
    """`text` spelled in GSM-7: one line, typographic marks and accents simplified, the rest '?'."""
    out: list[str] = []
    for char in " ".join(text.split()):
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in _SPELLINGS:
            out.append(_SPELLINGS[char])
        elif char.isspace():
            out.append(" ")
        else:
            # "á" -> "a": drop the accents GSM-7 lacks, keep the letter.
            base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            out.append(base if base and septets(base) is not None else "?")
    return "".join(out)


def needs_unicode(text: str) -> bool:
    """A letter GSM-7 cannot spell (Arabic, Cyrillic, Chinese…): the text must go as UCS-2,
    or the customer would read '????'. A stray emoji alone does not switch (it becomes '?')."""
    return any(unicodedata.category(c).startswith("L") and to_gsm7(c) == "?" for c in text)


def _units(text: str) -> int:
    """UTF-16 code units: what a UCS-2 segment counts."""
    return len(text.encode("utf-16-le")) // 2


def _shorten(text: str, budget: int, unicode: bool = False) -> str:
    """`text` cut to at most `budget` septets (UTF-16 units when `unicode`), at a word
    boundary when it can, with '...'."""
    length = _units(text) if unicode else septets(text)
    assert length is not None
    if length <= budget:
        return text
    room = budget - len(ELLIPSIS)
    if room <= 0:
        return ""
    cut, used = 0, 0
    for index, char in enumerate(text):
        cost = _units(char) if unicode else 2 if char in GSM7_EXTENSION else 1
        if used + cost > room:
            break
        used += cost
        cut = index + 1
    kept = text[:cut]
    # Prefer a whole word, unless that would throw most of the text away.
    space = kept.rfind(" ")
    if space > len(kept) // 2:
        kept = kept[:space]
    return kept.rstrip(" ,;:-") + ELLIPSIS


OPT_OUT_TEXT = N_("Reply STOP to opt out.")  # translated where it is sent
# A text in a script GSM-7 lacks goes as UCS-2: 70 units in one segment, 67 a part when
# concatenated. Two parts leave the question room beside the link.
UNICODE_UNITS = 2 * 67


def sms_body(brand: str, question: str, url: str, suffix: str = "") -> str:
    """The invitation text ``<brand>: <question> <url>`` in one 160-character GSM-7 segment
    (in UCS-2 within two parts when a text is in a script GSM-7 lacks), with `suffix` (the
    opt-out wording Hark's own texts carry) after the link when it fits.

    The URL is never cut; the question (then the brand) is shortened with '...' to fit.
    A URL too long for any room at all is returned alone.
    """
    if needs_unicode(f"{brand} {question} {suffix}"):
        return _unicode_body(brand, question, url, suffix)
    link = to_gsm7(url)
    tail = " " + link
    if suffix:
        with_suffix = f"{tail} {to_gsm7(suffix)}"
        room = septets(with_suffix)
        if room is not None and room < SEGMENT_SEPTETS - 20:  # leave the question some room
            tail = with_suffix
    tail_length = septets(tail)
    assert tail_length is not None
    brand_text, question_text = to_gsm7(brand).strip(), to_gsm7(question).strip()
    head = f"{brand_text}: {question_text}" if brand_text else question_text
    head = _shorten(head, SEGMENT_SEPTETS - tail_length)
    return head + tail if head else tail.strip()


def _unicode_body(brand: str, question: str, url: str, suffix: str) -> str:
    """`sms_body` in UCS-2 (docs/languages.md): the texts unchanged, within `UNICODE_UNITS`."""
    tail = " " + url
    with_suffix = f"{tail} {' '.join(suffix.split())}" if suffix else tail
    if suffix and _units(with_suffix) < UNICODE_UNITS - 20:
        tail = with_suffix
    brand_text, question_text = " ".join(brand.split()), " ".join(question.split())
    head = f"{brand_text}: {question_text}" if brand_text else question_text
    head = _shorten(head, UNICODE_UNITS - _units(tail), unicode=True)
    return head + tail if head else tail.strip()


def short_url_problem(short_url: str) -> str | None:
    """Why an SMS short URL is too long for Hark's one-segment promise, or None when it is fine."""
    if len(short_url) <= SHORT_URL_LIMIT:
        return None
    return (
        f"SMS short links are {len(short_url)} characters (limit {SHORT_URL_LIMIT}): give "
        "HARK_PUBLIC_BASE_URL a short custom domain (at most 27 characters, e.g. https://hk.example.com) "
        "so an SMS with its link fits one segment"
    )
