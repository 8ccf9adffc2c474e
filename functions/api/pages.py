"""Customer pages (SPEC §3): small, server-rendered, accessible HTML with no framework.

Every page carries a per-response nonce for its one inline style and script, and is served with
a strict Content-Security-Policy, ``Referrer-Policy: no-referrer`` (the token is in the URL) and
``Cache-Control: no-store``. All text from surveys and customers is escaped. Forms and links
use relative URLs, so a page works whatever host or API stage prefix it is reached through.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from html import escape
from typing import Any

from chalice.app import Response

from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, Kind, scale_points

# Shown under the ends of each scale, and read out with the end points by screen readers.
SCALE_HINTS = {
    Kind.NPS: ("Not at all likely", "Extremely likely"),
    Kind.CSAT: ("Very unsatisfied", "Very satisfied"),
    Kind.CES: ("Very difficult", "Very easy"),
    Kind.CSI: ("Very poor", "Excellent"),
}
# Before the automatic POST of a score chosen in an email, the page must have been visible
# this long: link scanners that only fetch never record, those that run scripts rarely wait,
# and a hidden page (a background tab, a prefetch) never posts.
AUTO_SUBMIT_DELAY_MS = 1200
DEFAULT_BRAND = "#1f6feb"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1b1f24;background:#f6f7f9}main{max-width:34rem;margin:0 auto;padding:1.25rem}
header{border-top:6px solid var(--brand);padding:.75rem 1.25rem;background:#fff;font-weight:600}
h1{font-size:1.35rem;margin:.5rem 0 1rem}fieldset{border:0;margin:0 0 1.25rem;padding:0;min-width:0}
legend{font-weight:600;margin-bottom:.5rem;padding:0}legend h1{margin:0}
.scale{display:grid;grid-template-columns:repeat(auto-fill,minmax(2.75rem,1fr));gap:.4rem}
.scale label{position:relative}
.scale input{position:absolute;top:0;left:0;opacity:0;width:1px;height:1px;margin:0}
.scale span.n{display:block;text-align:center;padding:.7rem 0;border:2px solid #59636e;border-radius:.4rem;
background:#fff;font-weight:600;cursor:pointer}.scale input:checked+span.n{background:var(--brand);
color:var(--on-brand);border-color:#1b1f24;box-shadow:0 0 0 2px #1b1f24}
.scale input:focus-visible+span.n{outline:3px solid #0b57d0;outline-offset:2px}
.hints{display:flex;justify-content:space-between;font-size:.85rem;color:#454c54;margin-top:.3rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
textarea{display:block;width:100%;min-height:7rem;font:inherit;padding:.6rem;margin-top:.4rem;
border:2px solid #59636e;border-radius:.4rem}button{font:inherit;font-weight:600;padding:.75rem 1.4rem;
border:2px solid #1b1f24;border-radius:.4rem;background:var(--brand);color:var(--on-brand);cursor:pointer}
button:focus-visible,a:focus-visible,textarea:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.note{color:#454c54}.status{font-weight:600}a{color:#0b57d0}
"""


def _luminance(hex_color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def brand_colours(color: str) -> tuple[str, str]:
    """(brand, text on brand): white or black, whichever reads better (always >= 4.5:1)."""
    brand = color.lower() if _HEX.match(color) else DEFAULT_BRAND
    white, black = contrast_ratio(brand, "#ffffff"), contrast_ratio(brand, "#000000")
    return brand, "#ffffff" if white >= black else "#000000"


def page_headers(nonce: str) -> dict[str, str | list[str]]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "X-Robots-Tag": "noindex, nofollow",
    }


def _document(title: str, page: Mapping[str, Any], body: str, nonce: str, script: str = "") -> str:
    brand, on_brand = brand_colours(str(page.get("brand_color") or ""))
    script_tag = f'<script nonce="{nonce}">{script}</script>' if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow"><link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title>"
        f'<style nonce="{nonce}">:root{{--brand:{brand};--on-brand:{on_brand}}}{_STYLE}</style></head>'
        f"<body><header>{escape(str(page.get('brand_name') or ''))}</header>"
        f'<main id="main">{body}</main>{script_tag}</body></html>'
    )


def _scale(
    name: str,
    legend: str,
    points: range,
    chosen: int | None,
    hints: tuple[str, str],
    required: bool,
) -> str:
    def point(n: int) -> str:
        # The ends say what they mean to screen readers too; the visible hints are decoration.
        hint = hints[0] if n == points[0] else hints[1] if n == points[-1] else ""
        spoken = f'<span class="vh"> ({escape(hint)})</span>' if hint else ""
        checked = " checked" if chosen == n else ""
        needed = " required" if required else ""
        return (
            f'<label><input type="radio" name="{escape(name)}" value="{n}"{checked}{needed}>'
            f'<span class="n">{n}{spoken}</span></label>'
        )

    return (
        f"<fieldset><legend>{legend}</legend>"
        f'<div class="scale">{"".join(point(n) for n in points)}</div>'
        f'<div class="hints" aria-hidden="true"><span>{escape(hints[0])}</span>'
        f"<span>{escape(hints[1])}</span></div></fieldset>"
    )


def _attribute_scales(page: Mapping[str, Any], chosen: Mapping[str, int]) -> str:
    low, high = CSI_ATTRIBUTE_SCALE
    return "".join(
        _scale(
            f"attr.{attribute['key']}",
            escape(str(attribute["label"])),
            range(low, high + 1),
            chosen.get(str(attribute["key"])),
            SCALE_HINTS[Kind.CSI],
            required=False,
        )
        for attribute in page.get("attributes") or ()
    )


def _auto_submit_script() -> str:
    """Post the emailed choice once the page has been visible for a moment (never while hidden)."""
    return (
        "(function(){var f=document.getElementById('answer'),s=document.getElementById('status'),"
        "t=null,done=false;function go(){if(done)return;done=true;"
        "s.textContent='Sending your answer…';f.submit();}"
        "function check(){if(document.visibilityState==='visible'){if(!t&&!done)"
        f"t=setTimeout(go,{AUTO_SUBMIT_DELAY_MS});}}else if(t){{clearTimeout(t);t=null;}}}}"
        "f.addEventListener('submit',function(){done=true;if(t)clearTimeout(t);});"
        "document.addEventListener('visibilitychange',check);check();})();"
    )


def _html_response(body: str, status: int, nonce: str) -> Response:
    return Response(body=body, status_code=status, headers=page_headers(nonce))


def survey_page(
    page: Mapping[str, Any],
    action: str,
    chosen: int | None,
    current: int | None,
    current_attrs: Mapping[str, int] | None = None,
) -> Response:
    """The question and its scale.

    With a score `chosen` in the email, the page shows it selected and posts it automatically
    after a visible delay (a Send button does the same without script); a csi survey then asks
    for its attribute ratings on the thank-you page. Without one, the whole form is shown,
    `current` (an earlier answer) preselected, for a first answer or a change.
    """
    nonce = secrets.token_urlsafe(16)
    kind = Kind(page["kind"])
    question = escape(str(page["question"]))
    selected = chosen if chosen is not None else current
    parts = [f'<form method="post" action="{escape(action)}" id="answer">']
    parts.append(
        _scale("score", f"<h1>{question}</h1>", scale_points(kind), selected, SCALE_HINTS[kind], True)
    )
    script = ""
    if chosen is None:
        parts.append(_attribute_scales(page, current_attrs or {}))
    else:
        parts.append(
            f'<p class="status" role="status" id="status">You chose {chosen}. '
            "Press Send to record your answer.</p>"
        )
        script = _auto_submit_script()
    parts.append('<button type="submit">Send</button></form>')
    title = f"{page.get('brand_name') or 'Survey'}: {page['question']}"
    return _html_response(_document(title, page, "".join(parts), nonce, script), 200, nonce)


def thanks_page(
    page: Mapping[str, Any],
    action: str,
    score: int | None,
    comment: str | None,
    attrs: Mapping[str, int] | None = None,
) -> Response:
    """Thank-you, with the follow-up question (and csi attribute ratings) and a way to change."""
    nonce = secrets.token_urlsafe(16)
    follow_up = page.get("follow_up_question") or "Anything you would like to add?"
    answered = f"<p>You answered <strong>{score}</strong>.</p>" if score is not None else ""
    saved = (
        '<p class="status" role="status">We have your comment. You can change it below.</p>'
        if comment
        else ""
    )
    details = ""
    if page.get("attributes"):
        details = '<p class="note">Would you rate a few details? Each is optional.</p>' + _attribute_scales(
            page, attrs or {}
        )
    body = (
        '<h1 id="thanks">Thank you!</h1>'
        f"{answered}{saved}"
        f'<form method="post" action="{escape(action)}">{details}'
        f'<label for="comment"><strong>{escape(str(follow_up))}</strong></label>'
        f'<textarea id="comment" name="comment" maxlength="2000">{escape(comment or "")}</textarea>'
        f'<p><button type="submit">{"Send" if details else "Send comment"}</button></p></form>'
        f'<p class="note"><a href="{escape(action)}">Change your answer</a></p>'
    )
    return _html_response(_document("Thank you", page, body, nonce), 200, nonce)


def unsubscribe_page(action: str) -> Response:
    """One button: a GET never unsubscribes (link scanners fetch every link), the click does."""
    nonce = secrets.token_urlsafe(16)
    body = (
        "<h1>Unsubscribe from these surveys?</h1>"
        '<p class="note">You will get no more survey emails from this sender.</p>'
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _html_response(_document("Unsubscribe", {"brand_name": "Hark"}, body, nonce), 200, nonce)


def unsubscribed_page() -> Response:
    nonce = secrets.token_urlsafe(16)
    body = (
        '<h1 id="done">You are unsubscribed</h1>'
        '<p role="status">You will get no more survey emails from this sender. '
        "Thank you for letting us know.</p>"
    )
    return _html_response(_document("Unsubscribed", {"brand_name": "Hark"}, body, nonce), 200, nonce)


ERROR_TEXT = {
    400: (
        "This link is damaged",
        "The survey link looks incomplete or changed. Please open it again from your message.",
    ),
    404: ("Survey not found", "We could not find this survey. The link may be wrong or the survey removed."),
    410: ("This survey has closed", "Thanks for wanting to answer — this survey is no longer open."),
    413: ("That was too long", "Your answer was too long to send. Please shorten it and try again."),
    429: ("One moment, please", "We are receiving a lot of answers. Please try again in a few seconds."),
    503: ("One moment, please", "We could not save your answer just now. Please try again in a few seconds."),
}


def error_page(status: int, message: str | None = None, back: str | None = None) -> Response:
    """A friendly page for a problem with a customer link: never a stack trace or JSON.

    `message` replaces the text of a 400 about the answer itself; `back` links to the form.
    """
    nonce = secrets.token_urlsafe(16)
    title, text = ERROR_TEXT.get(status, ("Something is not right", "Please try again."))
    if status == 400 and message:
        title, text = "Please check your answer", message[:1].upper() + message[1:] + "."
    link = f'<p><a href="{escape(back)}">Back to the question</a></p>' if back else ""
    body = f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{link}"
    response = _html_response(_document(title, {"brand_name": "Hark"}, body, nonce), status, nonce)
    if status in (429, 503):
        response.headers["Retry-After"] = "2"
    return response
