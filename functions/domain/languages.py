"""Which language a customer page or text speaks (docs/languages.md). Pure: no I/O.

Hark ships a gettext catalog for each of `LANGUAGES`; a survey speaks its `default_locale`
and every language it has complete translations for. The choice, first that applies:
the recipient's `locale` → `?lang=` → `Accept-Language` → the survey's default → `en`. A
region falls back to its language (`pt-BR` → `pt`; `zh-TW` → `zh-Hant`). A page speaks one
language throughout: an explicit choice the survey cannot speak gives the survey's default
language for everything (catalog texts included), never catalog buttons around a question in
another language.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from functions.domain.questions import localized_questions, translation_gap

SOURCE = "en"  # the language of the catalogs' message ids
# Every language with a catalog (functions/locales/<code with _>/LC_MESSAGES/hark.po).
LANGUAGES = (
    "en", "ar", "cs", "da", "de", "el", "es", "fa", "fi", "fr", "he", "hi", "hu", "id", "it", "ja",
    "ko", "nb", "nl", "pl", "pt", "ro", "ru", "sv", "th", "tr", "uk", "ur", "vi", "zh-Hans", "zh-Hant",
)  # fmt: skip
RIGHT_TO_LEFT = frozenset({"ar", "he", "fa", "ur"})
# Old or macro-language codes people still send.
_ALIASES = {"iw": "he", "in": "id", "no": "nb", "nn": "nb", "zh": "zh-Hans"}
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})
_BY_LOWER = {code.lower(): code for code in LANGUAGES}
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,5}$")
TAG_PATTERN = _TAG.pattern
# Survey texts a translation carries; `attributes` maps each CSI attribute key to its label.
TRANSLATED_TEXTS = ("question", "follow_up_question", "scale_low", "scale_high")


def is_tag(text: str) -> bool:
    """A well-formed BCP 47 language tag (`fr`, `pt-BR`, `zh-Hant-TW`, `fr_CA`)."""
    return bool(_TAG.match(text))


def language_of(tag: str | None) -> str | None:
    """The catalog language a tag falls back to, or None when Hark has no catalog for it.

    `fr-CA` → `fr`; `zh-TW`, `zh-HK`, `zh-Hant` → `zh-Hant`; `zh`, `zh-CN` → `zh-Hans`.
    """
    if not tag or not _TAG.match(tag.strip()):
        return None
    parts = tag.strip().replace("_", "-").lower().split("-")
    base = _ALIASES.get(parts[0], parts[0])
    if base == "zh-Hans":  # Chinese: the script decides, else the region, else Simplified
        rest = parts[1:]
        if "hant" in rest or (rest and "hans" not in rest and rest[0] in _TRADITIONAL_REGIONS):
            return "zh-Hant"
        return "zh-Hans"
    return _BY_LOWER.get(base)


def canonical(code: str) -> str | None:
    """`code` when it names a catalog language exactly (any case, `_` or `-`), else None.

    Survey texts are per language: `fr-CA` is not a survey language (`fr` is).
    """
    return _BY_LOWER.get(code.strip().replace("_", "-").lower())


def accept_language(header: str | None) -> Iterator[str]:
    """The catalog languages an `Accept-Language` header asks for, best first (q-values honoured,
    `q=0` refused, ties in the header's order, each language once)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = language_of(tag.strip())
        if language and 0 < quality <= 1:
            weighted.append((-quality, position, language))
    seen: set[str] = set()
    for _, _, language in sorted(weighted):
        if language not in seen:
            seen.add(language)
            yield language


def choose(
    *,
    recipient: str | None,
    requested: str | None,
    accept: str | None,
    default: str | None,
    available: Collection[str],
) -> str:
    """The one language a page or text speaks.

    `available` are the languages the survey has all its texts in (its default among them).
    An explicit choice (the recipient's locale, then `?lang=`) the survey cannot speak gives
    the default language; `Accept-Language` takes the best language the survey speaks.
    """
    fallback = canonical(default or "") or SOURCE
    for explicit in (recipient, requested):
        language = language_of(explicit)
        if language is not None:
            return language if language in available or language == fallback else fallback
    for language in accept_language(accept):
        if language in available or language == fallback:
            return language
    return fallback


def is_right_to_left(language: str) -> bool:
    return language in RIGHT_TO_LEFT


def invitation_language(page: Mapping[str, Any]) -> str:
    """The language a message about an invitation speaks (its email, its texts, its unsubscribe
    pages): the recipient's `locale` if the survey speaks it, else the survey's default."""
    return choose(
        recipient=page.get("locale"),
        requested=None,
        accept=None,
        default=page.get("default_locale"),
        available=survey_languages(page),
    )


# ---- a survey's own texts in a language -----------------------------------------------------------


def _complete(texts: Mapping[str, Any], page: Mapping[str, Any]) -> bool:
    """A translation has every text the page shows (else the page would be half translated)."""
    if not texts.get("question"):
        return False
    if page.get("follow_up_question") and not texts.get("follow_up_question"):
        return False
    labels = texts.get("attributes") or {}
    if not all(labels.get(a["key"]) for a in page.get("attributes") or ()):
        return False
    return translation_gap(page.get("questions") or (), texts) is None


def survey_languages(page: Mapping[str, Any]) -> set[str]:
    """The languages a survey's page (its public view) can speak throughout."""
    out = {canonical(str(page.get("default_locale") or SOURCE)) or SOURCE}
    for code, texts in (page.get("translations") or {}).items():
        language = canonical(code)
        if language and _complete(texts, page):
            out.add(language)
    return out


def localized(page: Mapping[str, Any], language: str) -> dict[str, Any]:
    """The page with its survey texts in `language` (its own texts when that is its default).

    `scale_low` / `scale_high` are None unless the survey names its scale ends (the catalog's
    words for the kind are used then).
    """
    out = dict(page)
    texts = (page.get("translations") or {}).get(language)
    default = canonical(str(page.get("default_locale") or SOURCE)) or SOURCE
    if language == default or not texts:
        return out
    out["question"] = texts["question"]
    out["follow_up_question"] = texts.get("follow_up_question") if page.get("follow_up_question") else None
    out["scale_low"] = texts.get("scale_low")
    out["scale_high"] = texts.get("scale_high")
    labels = texts.get("attributes") or {}
    out["attributes"] = [
        {**a, "label": labels.get(a["key"], a["label"])} for a in page.get("attributes") or ()
    ]
    if page.get("questions"):
        out["questions"] = localized_questions(page["questions"], texts.get("questions") or {})
    return out


def translation_problem(
    translations: Mapping[str, Mapping[str, Any]],
    attribute_keys: Collection[str],
    has_follow_up: bool,
) -> tuple[str, str] | None:
    """(field, message) of the first problem in a survey's `translations`, or None.

    Each key is a catalog language; each translation has the question, the follow-up question
    when the survey asks one, and a label for every attribute (no unknown key).
    """
    for code, texts in translations.items():
        if canonical(code) != code:
            known = canonical(code) or language_of(code)
            hint = f" (use {known!r})" if known else f"; supported: {', '.join(LANGUAGES)}"
            return f"translations.{code}", f"unknown locale {code!r}{hint}"
        field = f"translations.{code}"
        if not texts.get("question"):
            return f"{field}.question", f"the {code} translation needs the question"
        if has_follow_up and not texts.get("follow_up_question"):
            return f"{field}.follow_up_question", f"the {code} translation needs the follow-up question"
        labels = texts.get("attributes") or {}
        for key in labels:
            if key not in attribute_keys:
                return f"{field}.attributes.{key}", f"unknown attribute key {key!r} in the {code} translation"
        for key in attribute_keys:
            if key not in labels:
                return f"{field}.attributes.{key}", f"the {code} translation needs a label for {key!r}"
    return None
