"""`make messages`: the gettext catalogs of customers' texts (docs/languages.md).

1. extracts every text marked with `_(…)` or `N_(…)` under functions/ into
   functions/locales/hark.pot;
2. updates each language's `functions/locales/<language>/LC_MESSAGES/hark.po` from it (a new
   language gets a new file whose header carries CLDR's plural rule for it);
3. compiles each `.po` to the `.mo` beside it, which the functions read with stdlib gettext.

Babel is a development dependency only. The `.mo` files are committed, so the Lambda package
(which copies functions/ through vendor/) and a fresh clone's tests have them without a build
step; tests/unit/test_catalogs.py fails when a committed `.mo` or `.po` is stale.
`--check` only reports what is stale (exit status 1).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from functions.domain.languages import LANGUAGES, SOURCE
from functions.i18n import DOMAIN, LOCALES, catalog_dir

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
TRANSLATED = tuple(code for code in LANGUAGES if code != SOURCE)


def _babel_locale(code: str) -> Locale:
    return Locale.parse(code.replace("-", "_"))


def extract() -> Catalog:
    """Every marked text in functions/, with where it is used (the .po files keep file names only)."""
    template = Catalog(project="Hark", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(FUNCTIONS), method_map=[("**.py", "python")], comment_tags=("Translators:",)
    ):
        template.add(
            message, None, [(f"functions/{filename}", lineno)], auto_comments=comments, context=context
        )
    return template


def _po_text(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_lineno=False, omit_header=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def po_path(code: str) -> Path:
    return catalog_dir(code) / f"{DOMAIN}.po"


def read_catalog(code: str) -> Catalog:
    with po_path(code).open("rb") as handle:
        return read_po(handle, locale=_babel_locale(code), domain=DOMAIN)


def updated(code: str, template: Catalog) -> Catalog:
    """The language's catalog with the template's messages (new ones untranslated)."""
    if po_path(code).exists():
        catalog = read_catalog(code)
    else:
        catalog = Catalog(
            locale=_babel_locale(code),
            domain=DOMAIN,
            project="Hark",
            version="1",
            copyright_holder="Hark contributors",
            msgid_bugs_address="",
            last_translator="Hark contributors",
            language_team=code,
            charset="utf-8",
            fuzzy=False,
        )
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
    catalog.obsolete.clear()
    return catalog


def _stable(text: bytes) -> bytes:
    """The file without its date headers, which change on every run."""
    return b"\n".join(
        line for line in text.splitlines() if not line.startswith((b'"POT-Creation', b'"PO-Revision'))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, change nothing")
    args = parser.parse_args(argv)
    template = extract()
    files: dict[Path, bytes] = {TEMPLATE: _po_text(template)}
    for code in TRANSLATED:
        catalog = updated(code, template)
        files[po_path(code)] = _po_text(catalog)
        files[catalog_dir(code) / f"{DOMAIN}.mo"] = _mo_bytes(catalog)
    stale = []
    for path, content in files.items():
        old = path.read_bytes() if path.exists() else b""
        same = _stable(old) == _stable(content) if path.suffix != ".mo" else old == content
        if same:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    verb = "stale" if args.check else "written"
    for path in stale:
        print(f"make messages: {verb}: {path}")
    untranslated = sum(1 for code in TRANSLATED for m in updated(code, template) if m.id and not m.string)
    print(f"make messages: {len(template)} texts, {len(TRANSLATED)} languages, {untranslated} untranslated")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
