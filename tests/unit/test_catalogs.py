"""The gettext catalogs (docs/languages.md): complete, consistent, compiled, and light at run time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.plurals import get_plural

from functions.domain.languages import LANGUAGES, RIGHT_TO_LEFT, SOURCE
from functions.i18n import DOMAIN, catalog_dir, translator
from infra import messages

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code in LANGUAGES if code != SOURCE]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
REQUIRED = {
    "ar",
    "he",
    "fa",
    "ur",
    "zh-Hans",
    "zh-Hant",
    "ja",
    "ko",
    "hi",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "ru",
}


@pytest.fixture(scope="module")
def template():  # type: ignore[no-untyped-def]
    return messages.extract()


def test_there_are_thirty_languages_besides_english_among_them_the_required_ones() -> None:
    assert len(TRANSLATED) >= 30
    assert set(LANGUAGES) >= REQUIRED
    assert {"ar", "he", "fa", "ur"} == RIGHT_TO_LEFT


def test_the_committed_catalogs_are_those_the_sources_and_po_files_give() -> None:
    # Given the committed .pot, .po and .mo files, When `make messages --check` runs,
    # Then nothing is stale (a new text without `make messages`, or a .po edited but not compiled)
    result = subprocess.run(
        [sys.executable, "-m", "infra.messages", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_marked_text_in_the_code_reaches_the_catalogs(template) -> None:  # type: ignore[no-untyped-def]
    # Babel's extractor does not read calls inside f-strings: a text marked there would stay
    # English in every language. Every `_("…")` / `N_("…")` literal must be in the template.
    ids = {m.id for m in template if m.id}
    missing = []
    for path in (ROOT / "functions").rglob("*.py"):
        for found in re.finditer(r'\b(?:_|N_)\(\s*"((?:[^"\\]|\\.)*)"', path.read_text()):
            if found.group(1) not in ids:
                missing.append((path.name, found.group(1)))
    assert not missing


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(code: str, template) -> None:  # type: ignore[no-untyped-def]
    catalog = messages.read_catalog(code)
    translated = {m.id: m.string for m in catalog if m.id}
    for message in template:
        if not message.id:
            continue
        assert message.id in translated, f"{code}: missing {message.id!r}"
        text = translated[message.id]
        assert text and text.strip(), f"{code}: empty translation of {message.id!r}"
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message.id)), (code, text)
        if "STOP" in message.id or "START" in message.id:
            # Carrier keywords are English whatever the language: the reply must still name them.
            for keyword in ("STOP", "START"):
                assert (keyword in text) == (keyword in message.id), (code, text)


@pytest.mark.parametrize("code", TRANSLATED)
def test_plural_forms_in_each_header_are_cldrs(code: str) -> None:
    catalog = messages.read_catalog(code)
    plural = get_plural(Locale.parse(code.replace("-", "_")))
    assert catalog.plural_forms == plural.plural_forms
    assert catalog.num_plurals == plural.num_plurals


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_runtime_reads_the_compiled_catalog(code: str) -> None:
    assert (catalog_dir(code) / f"{DOMAIN}.mo").is_file()
    _ = translator(code)
    assert _("Send") != "Send" or code in {"da", "nb"}  # "Send" is Danish and Norwegian too
    assert _("Thank you!") != "Thank you!"
    assert "9" in _("You answered {score}.", score=9)


def test_english_is_the_message_ids_themselves() -> None:
    assert translator("en")("You answered {score}.", score=3) == "You answered 3."


def test_a_cold_start_imports_neither_babel_nor_a_catalog() -> None:
    # The click path stays light: no Babel at run time, and gettext only when a page speaks.
    code = (
        "import sys, app; from functions import i18n; "
        "print(any(m.split('.')[0] == 'babel' for m in sys.modules), i18n._catalog.cache_info().currsize)"
    )
    env_cmd = [sys.executable, "-c", code]
    result = subprocess.run(
        env_cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert result.stdout.split() == ["False", "0"]


@pytest.mark.parametrize("code", TRANSLATED)
def test_a_text_that_names_the_send_button_names_it_as_the_button_says(code: str) -> None:
    _ = translator(code)
    assert _("Send") in _("You chose {score}. Press Send to record your answer.", score=9), code
