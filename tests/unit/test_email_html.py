"""The survey email's HTML holds up in the common mail clients (docs/sending.md, "The email").

The real invitation emails (every kind, several languages, right-to-left among them, and a
reminder) are rendered as the sender renders them and checked three ways:

- **caniemail's data**, through the doiuse-email linter (`make email-lint`; npm, a test tool
  only): for Gmail, Outlook, Apple Mail and Yahoo, nothing is flagged beyond the few known
  losses listed in KNOWN_LOSSES, each harmless and explained;
- **css-inline** (a dev dependency): inlining the email's CSS changes nothing, so it has no
  <style> block or stylesheet that a client dropping them (Gmail's older apps, Outlook.com,
  many webmails) would lose;
- **the standard library's html.parser**, against DROPPED, the constructs those clients strip
  (scripts, forms, embeds, event handlers, stylesheets, CSS they ignore): none appear; the
  layout is tables; the unsubscribe link is visible; and the message is under 100 KB with a
  plain-text part and RFC 8058's one-click headers.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import css_inline
import pytest

from functions.domain.email_message import MAX_BYTES, build_message
from functions.domain.survey import Invitation
from functions.logic import sending
from tests.unit.test_email_languages import PAGE, SENDER, _invitation, _settings  # noqa: F401 (fixture)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LINTER = ROOT / ".cache" / "email-lint" / "node_modules" / "@jsx-email" / "doiuse-email"
CLIENTS = ("gmail.*", "outlook.*", "apple-mail.*", "yahoo.*")

# caniemail's findings the email accepts, each with why it is harmless. Anything else it
# reports fails the test.
KNOWN_LOSSES = {
    # These apps replace <body> with a <div>: the body's background is repeated on the outer
    # table and its dir and lang on the inner <div> and every table, so nothing is lost.
    "<body> element": {"outlook.macos", "outlook.ios", "outlook.android", "yahoo.ios", "yahoo.android"},
    # An accessibility hint (layout tables read as layout); ignoring it changes no rendering.
    "role attribute": {"outlook.windows-mail"},
    # Outlook for Windows draws square buttons; their colour, size and links are unchanged.
    "border-radius": {"outlook.windows", "outlook.windows-mail"},
}

# What Gmail, Outlook (desktop, Outlook.com) and Yahoo drop or refuse, per caniemail.com and
# the clients' own documentation: elements, attributes and CSS that the email must not rely on.
DROPPED_ELEMENTS = {
    "script", "noscript", "style", "link", "base", "form", "input", "button", "select", "textarea",
    "iframe", "frame", "frameset", "object", "embed", "applet", "video", "audio", "canvas", "svg",
    "math", "template",
}  # fmt: skip
DROPPED_CSS = re.compile(
    r"(display\s*:\s*(flex|grid|inline-flex|inline-grid))|position\s*:|float\s*:|@import|url\(|"
    r"expression\(|var\(|calc\(|-webkit-|animation|transition|transform",
    re.IGNORECASE,
)
HIDING_CSS = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0")


class Audit(HTMLParser):
    """Every element, attribute and inline style of a document, and each link's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []  # (tag, name, value)
        self.links: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        if tag == "a":
            self._open = {
                "href": dict(attrs).get("href") or "",
                "style": dict(attrs).get("style") or "",
                "text": "",
            }
            self.links.append(self._open)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data


def _page(kind: str) -> dict[str, Any]:
    page = dict(PAGE, kind=kind)
    if kind == "csi":
        page["attributes"] = [{"key": "speed", "label": "Speed", "weight": 1.0}]
        labels = {"fr": "Rapidité", "ar": "السرعة"}
        page["translations"] = {
            code: {**texts, "attributes": {"speed": labels[code]}}
            for code, texts in PAGE["translations"].items()
        }
    return page


def _email(kind: str, locale: str | None, *, reminder: bool = False) -> tuple[Invitation, bytes]:
    inv = replace(_invitation(locale), page={**_invitation(locale).page, **_page(kind)})
    return inv, build_message(sending.survey_email(inv, SENDER, "ada@example.com", reminder=reminder))


CASES = [
    pytest.param("nps", None, False, id="nps-en"),
    pytest.param("nps", "fr", True, id="nps-fr-reminder"),
    pytest.param("nps", "ar", False, id="nps-ar-rtl"),
    pytest.param("csat", "fr", False, id="csat-fr"),
    pytest.param("ces", "ar", False, id="ces-ar-rtl"),
    pytest.param("csi", None, False, id="csi-en"),
    pytest.param("csi", "ar", True, id="csi-ar-rtl-reminder"),
]


def _parts(raw: bytes) -> tuple[email.message.EmailMessage, str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return message, plain.get_content(), html.get_content()


@pytest.mark.parametrize(("kind", "locale", "reminder"), CASES)
def test_the_email_has_nothing_the_common_clients_drop(kind: str, locale: str | None, reminder: bool) -> None:
    inv, raw = _email(kind, locale, reminder=reminder)
    message, plain, html = _parts(raw)
    audit = Audit()
    audit.feed(html)

    # No script, form, embed or stylesheet; no event handler or javascript: link; no class
    # (there is no stylesheet for it to name); no CSS the clients ignore
    assert not set(audit.tags) & DROPPED_ELEMENTS
    assert not [a for a in audit.attributes if a[1].startswith("on") or a[1] in ("class", "id", "srcset")]
    urls = [value for _, name, value in audit.attributes if name in ("href", "src", "action", "background")]
    assert all(u.startswith("https://") for u in urls), urls
    styles = [value for _, name, value in audit.attributes if name == "style"]
    assert styles and not [s for s in styles if DROPPED_CSS.search(s)]
    assert "<!--" not in html  # conditional comments and the like are for Outlook hacks we avoid
    # Table layout: every block sits in presentation tables, no <div> but the language wrapper
    assert audit.tags.count("table") >= 2 and audit.tags.count("div") == 1
    assert all(v == "presentation" for t, n, v in audit.attributes if t == "table" and n == "role")
    # Under 100 KB, with a plain-text part that carries every link
    assert len(raw) < MAX_BYTES
    assert message.get_content_type() == "multipart/alternative"
    links = sending.links_for(inv)
    score_urls = list(links["score_urls"].values()) if kind != "csi" else [links["url"]]  # type: ignore[union-attr]
    for url in score_urls:
        assert url in plain and url in [link["href"] for link in audit.links]
    # A visible unsubscribe link, the one the RFC 8058 headers name (one click, no session)
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>" and unsubscribe.startswith("https://")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [link] = [a for a in audit.links if a["href"] == unsubscribe]
    assert link["text"].strip() and not HIDING_CSS.search(link["style"])
    assert unsubscribe in plain
    if locale == "ar":
        assert 'dir="rtl"' in html and html.count('dir="rtl"') == html.count("dir=")


def _same_document(html: str) -> str:
    """The HTML as an HTML5 parser writes it back (css-inline serialises its parse): the
    doctype's case and the <tbody> every parser adds are the only differences it may show."""
    return re.sub(r"</?tbody>", "", html).replace("<!DOCTYPE html>", "<!doctype html>")


@pytest.mark.parametrize(("kind", "locale", "reminder"), CASES)
def test_inlining_the_emails_css_changes_nothing(kind: str, locale: str | None, reminder: bool) -> None:
    _, raw = _email(kind, locale, reminder=reminder)
    html = _parts(raw)[2].rstrip()  # the MIME part's final line end
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False)
    assert _same_document(inliner.inline(html)) == html
    # The check has teeth: a <style> block would be inlined, so the HTML would change
    styled = html.replace("</title>", "</title><style>td{color:red}</style>", 1)
    assert _same_document(inliner.inline(styled)) != styled


def _lint(html: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not LINTER.is_dir():
        pytest.skip("the email linter is not installed: run `make email-lint` (npm, @jsx-email/doiuse-email)")
    out = subprocess.run(
        [node, str(ROOT / "tests" / "email_lint.cjs"), str(LINTER), ",".join(CLIENTS)],
        input=html,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _unexpected(errors: list[str]) -> list[str]:
    left = []
    for error in errors:
        found = re.fullmatch(r"`(.+)` is not supported by `(.+)`", error)
        if found is None or found.group(2) not in KNOWN_LOSSES.get(found.group(1), set()):
            left.append(error)
    return left


@pytest.mark.parametrize(("kind", "locale", "reminder"), CASES)
def test_caniemails_data_finds_nothing_the_common_clients_drop(
    kind: str, locale: str | None, reminder: bool
) -> None:
    _, raw = _email(kind, locale, reminder=reminder)
    result = _lint(_parts(raw)[2])
    assert _unexpected(result["errors"]) == []


def test_the_linter_flags_what_the_clients_drop() -> None:
    # The linter is wired up: constructs Gmail or Outlook drop are reported, and not accepted
    _, raw = _email("nps", None)
    html = _parts(raw)[2].replace(
        '<div lang="en"',
        '<form action="https://x.example"><input type="text"></form>'
        '<div style="display:flex;position:absolute"></div><div lang="en"',
        1,
    )
    found = " ".join(_unexpected(_lint(html)["errors"]))
    for construct in ("<form> element", "display:flex", "position"):
        assert construct in found
