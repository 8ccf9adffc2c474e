"""Customer pages (SPEC §3): small, server-rendered, accessible HTML with no framework.

Every page carries a per-response nonce for its one inline style and script, and is served with
a strict Content-Security-Policy, ``Referrer-Policy: no-referrer`` (the token is in the URL) and
``Cache-Control: no-store``. All text from surveys and customers is escaped.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import Any

from chalice.app import Response

from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, Kind, scale_points

# Shown under the ends of each scale, so a screen-reader user hears what the numbers mean.
SCALE_HINTS = {
    Kind.NPS: ("Not at all likely", "Extremely likely"),
    Kind.CSAT: ("Very unsatisfied", "Very satisfied"),
    Kind.CES: ("Very difficult", "Very easy"),
    Kind.CSI: ("Very poor", "Excellent"),
}
# Before the automatic POST of a score chosen in an email, the page must have been visible
# this long: link scanners that run scripts rarely wait, and never while hidden.
AUTO_SUBMIT_DELAY_MS = 1200

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1b1f24;background:#f6f7f9}main{max-width:34rem;margin:0 auto;padding:1.25rem}
header{border-top:6px solid var(--brand);padding:.75rem 1.25rem;background:#fff;font-weight:600}
h1{font-size:1.35rem;margin:.5rem 0 1rem}fieldset{border:0;margin:0 0 1rem;padding:0}
legend{font-weight:600;margin-bottom:.5rem}.scale{display:flex;flex-wrap:wrap;gap:.35rem}
.scale label{flex:1 0 2.6rem;min-width:2.6rem}.scale input{position:absolute;opacity:0;width:1px;height:1px}
.scale span{display:block;text-align:center;padding:.7rem 0;border:2px solid #59636e;border-radius:.4rem;
background:#fff;font-weight:600;cursor:pointer}.scale input:checked+span{background:var(--brand);
border-color:var(--brand);color:var(--on-brand)}.scale input:focus-visible+span{outline:3px solid #0b57d0;
outline-offset:2px}.hints{display:flex;justify-content:space-between;font-size:.85rem;color:#454c54;margin-top:.3rem}
textarea{width:100%;min-height:7rem;font:inherit;padding:.6rem;border:2px solid #59636e;
border-radius:.4rem}button{font:inherit;font-weight:600;padding:.75rem 1.4rem;border:0;border-radius:.4rem;
background:var(--brand);color:var(--on-brand);cursor:pointer}
button:focus-visible,a:focus-visible,textarea:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.note{color:#454c54}.status{font-weight:600}a{color:#0b57d0}
"""


def _luminance(hex_color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def brand_colours(color: str) -> tuple[str, str]:
    """(brand, text on brand) with at least 4.5:1 contrast; too-light brands are darkened."""
    brand = color if len(color) == 7 and color.startswith("#") else "#1f6feb"
    lum = _luminance(brand)
    if _contrast(lum, 1.0) >= 4.5:
        return brand, "#ffffff"
    if _contrast(lum, 0.0) >= 4.5:
        return brand, "#000000"
    return "#1f4fbf", "#ffffff"


def _headers(nonce: str) -> dict[str, str | list[str]]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; img-src 'self'"
        ),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def _document(title: str, page: dict[str, Any], body: str, nonce: str, script: str = "") -> str:
    brand, on_brand = brand_colours(str(page.get("brand_color", "")))
    script_tag = f'<script nonce="{nonce}">{script}</script>' if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<style nonce="{nonce}">:root{{--brand:{brand};--on-brand:{on_brand}}}{_STYLE}</style></head>'
        f'<body><header>{escape(str(page.get("brand_name", "")))}</header><main id="main">{body}</main>'
        f"{script_tag}</body></html>"
    )


def _scale(name: str, legend: str, points: range, chosen: int | None, hints: tuple[str, str]) -> str:
    items = "".join(
        f'<label><input type="radio" name="{escape(name)}" value="{n}"'
        f"{' checked' if chosen == n else ''} required><span>{n}</span></label>"
        for n in points
    )
    return (
        f'<fieldset><legend>{escape(legend)}</legend><div class="scale">{items}</div>'
        f'<div class="hints" aria-hidden="true"><span>{escape(hints[0])}</span>'
        f"<span>{escape(hints[1])}</span></div></fieldset>"
    )


def survey_page(page: dict[str, Any], action: str, chosen: int | None, current: int | None) -> Response:
    """The question with its scale; with a chosen score, a visible-delay automatic POST."""
    nonce = secrets.token_urlsafe(16)
    kind = Kind(page["kind"])
    selected = chosen if chosen is not None else current
    parts = [f'<form method="post" action="{escape(action)}" id="answer">']
    parts.append(_scale("score", page["question"], scale_points(kind), selected, SCALE_HINTS[kind]))
    low, high = CSI_ATTRIBUTE_SCALE
    for attribute in page.get("attributes") or ():
        parts.append(
            _scale(
                f"attr.{attribute['key']}",
                attribute["label"],
                range(low, high + 1),
                None,
                SCALE_HINTS[Kind.CSI],
            )
        )
    if chosen is not None and not page.get("attributes"):
        parts.append(
            f'<p class="status" role="status" id="status">You chose {chosen}. '
            "Press Send to record your answer.</p>"
        )
    parts.append('<button type="submit">Send</button></form>')
    script = ""
    if chosen is not None and not page.get("attributes"):
        # Record the emailed choice automatically, but only after the page has been visible
        # for a moment: scanners that fetch links never record anything.
        script = (
            "(function(){var f=document.getElementById('answer'),t=null,done=false;"
            "function go(){if(done)return;done=true;"
            "document.getElementById('status').textContent='Sending your answer…';f.submit();}"
            "function arm(){if(document.visibilityState==='visible'&&!t){"
            f"t=setTimeout(go,{AUTO_SUBMIT_DELAY_MS});}}"
            "function disarm(){if(document.visibilityState!=='visible'&&t){clearTimeout(t);t=null;}}"
            "document.addEventListener('visibilitychange',function(){arm();disarm();});arm();})();"
        )
    title = f"{page.get('brand_name', '')}: a quick question"
    return Response(
        body=_document(title, page, f"<h1>{escape(page['question'])}</h1>{''.join(parts)}", nonce, script),
        status_code=200,
        headers=_headers(nonce),
    )


def thanks_page(page: dict[str, Any], action: str, score: int | None, comment: str | None) -> Response:
    """Thank-you, with the follow-up question for a comment and a way to change the answer."""
    nonce = secrets.token_urlsafe(16)
    follow_up = page.get("follow_up_question") or "Anything you would like to add?"
    answered = f"<p>You answered <strong>{score}</strong>.</p>" if score is not None else ""
    body = (
        '<h1 tabindex="-1" id="thanks">Thank you!</h1>'
        f"{answered}"
        f'<form method="post" action="{escape(action)}">'
        f'<label for="comment"><strong>{escape(follow_up)}</strong></label>'
        f'<textarea id="comment" name="comment" maxlength="2000">{escape(comment or "")}</textarea>'
        '<p><button type="submit">Send comment</button></p></form>'
        f'<p class="note"><a href="{escape(action)}">Change your answer</a></p>'
    )
    return Response(body=_document("Thank you", page, body, nonce), status_code=200, headers=_headers(nonce))


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


def error_page(status: int, message: str | None = None) -> Response:
    """A friendly page for a problem with a customer link: never a stack trace or JSON."""
    nonce = secrets.token_urlsafe(16)
    title, text = ERROR_TEXT.get(status, ("Something is not right", "Please try again."))
    if status == 400 and message:
        title, text = "Please check your answer", message
    body = f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
    headers = _headers(nonce)
    if status in (429, 503):
        headers["Retry-After"] = "2"
    return Response(
        body=_document(title, {"brand_name": "Hark"}, body, nonce), status_code=status, headers=headers
    )
