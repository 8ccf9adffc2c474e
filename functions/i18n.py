"""The gettext catalogs customers' texts come from (docs/languages.md).

The catalogs are `functions/locales/<language>/LC_MESSAGES/hark.po`, compiled to `hark.mo` by
`make messages` (Babel, a development tool) and committed, so the Lambda package ships them
without a build step. At run time only the standard library's `gettext` reads a `.mo`, the
first time its language is asked for: a cold start loads no catalog and imports no Babel.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from functions.domain.languages import LANGUAGES, SOURCE
from functions.lazy import lazy

if TYPE_CHECKING:
    import gettext
else:  # only when a page or text speaks, not on every cold start
    gettext = lazy("gettext")

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "hark"


class Translate(Protocol):
    def __call__(self, message: str, /, **values: object) -> str: ...


def N_(message: str) -> str:
    """Mark a module-level text for the catalogs; it is translated where it is shown."""
    return message


def catalog_dir(language: str) -> Path:
    """`zh-Hans` → functions/locales/zh_Hans (gettext's and Babel's spelling)."""
    return LOCALES / language.replace("-", "_") / "LC_MESSAGES"


@lru_cache(maxsize=len(LANGUAGES))
def _catalog(language: str) -> gettext.NullTranslations:
    if language == SOURCE or language not in LANGUAGES:
        return gettext.NullTranslations()
    with (catalog_dir(language) / f"{DOMAIN}.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)


def translator(language: str) -> Translate:
    """`_(message, **values)`: the message in `language`, with `{name}` placeholders filled."""
    catalog = _catalog(language)

    def translate(message: str, /, **values: object) -> str:
        text = catalog.gettext(message)
        return text.format(**values) if values else text

    return translate
