"""Customer pages (docs/pages.md): small, server-rendered, accessible HTML with no framework.

Every page carries a per-response nonce for its one inline style and script, and is served with
a strict Content-Security-Policy, ``Referrer-Policy: no-referrer`` (the token is in the URL) and
``Cache-Control: no-store``. All text from surveys and customers is escaped. Forms and links
use relative URLs, so a page works whatever host or API stage prefix it is reached through.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from html import escape
from typing import Any

from chalice.app import Response

from functions.domain.colours import brand_colours
from functions.domain.kinds import CSI_ATTRIBUTE_SCALE, Kind, scale_points
from functions.domain.languages import SOURCE, is_right_to_left
from functions.i18n import N_, Translate, translator

# Shown under the ends of each scale, and read out with the end points by screen readers
# (a survey may name its own ends per language: `scale_low`, `scale_high`).
SCALE_HINTS = {
    Kind.NPS: (N_("Not at all likely"), N_("Extremely likely")),
    Kind.CSAT: (N_("Very unsatisfied"), N_("Very satisfied")),
    Kind.CES: (N_("Very difficult"), N_("Very easy")),
    Kind.CSI: (N_("Very poor"), N_("Excellent")),
}
# Before the automatic POST of a score chosen in an email, the page must have been visible
# this long: link scanners that only fetch never record, those that run scripts rarely wait,
# and a hidden page (a background tab, a prefetch) never posts.
AUTO_SUBMIT_DELAY_MS = 1200

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1b1f24;background:#f6f7f9}main{max-width:34rem;margin:0 auto;padding:1.25rem}
header{border-top:6px solid var(--brand);padding:.75rem 1.25rem;background:#fff;font-weight:600}
h1{font-size:1.35rem;margin:.5rem 0 1rem}fieldset{border:0;margin:0 0 1.25rem;padding:0;min-width:0}
legend{font-weight:600;margin-bottom:.5rem;padding:0}legend h1{margin:0}
.scale{display:grid;grid-template-columns:repeat(auto-fill,minmax(2.75rem,1fr));gap:.4rem}
.scale label{position:relative}
.scale input{position:absolute;top:0;inset-inline-start:0;opacity:0;width:1px;height:1px;margin:0}
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
.opts label{display:block;padding:.4rem 0}.opts input{width:1.2rem;height:1.2rem;margin-inline-end:.5rem;
vertical-align:-.15rem}.opts input:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
"""


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


def _document(
    title: str, page: Mapping[str, Any], body: str, nonce: str, language: str, script: str = ""
) -> str:
    brand, on_brand = brand_colours(str(page.get("brand_color") or ""))
    script_tag = f'<script nonce="{nonce}">{script}</script>' if script else ""
    # Right-to-left pages mirror through dir alone: the style uses logical properties only.
    direction = "rtl" if is_right_to_left(language) else "ltr"
    return (
        f'<!doctype html><html lang="{escape(language)}" dir="{direction}"><head><meta charset="utf-8">'
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


def _hints(page: Mapping[str, Any], kind: Kind, _: Translate) -> tuple[str, str]:
    """The scale's end labels: the survey's own in this language, else the catalog's."""
    low, high = SCALE_HINTS[kind]
    return str(page.get("scale_low") or _(low)), str(page.get("scale_high") or _(high))


def _attribute_scales(page: Mapping[str, Any], chosen: Mapping[str, int], _: Translate) -> str:
    low, high = CSI_ATTRIBUTE_SCALE
    hints = (_(SCALE_HINTS[Kind.CSI][0]), _(SCALE_HINTS[Kind.CSI][1]))
    return "".join(
        _scale(
            f"attr.{attribute['key']}",
            escape(str(attribute["label"])),
            range(low, high + 1),
            chosen.get(str(attribute["key"])),
            hints,
            required=False,
        )
        for attribute in page.get("attributes") or ()
    )


def _question_fields(page: Mapping[str, Any], answers: Mapping[str, list[str]], _: Translate) -> str:
    """The additional questions as plain form fields (no script): radios, checkboxes, a scale,
    a text box. Each is optional; the hidden ``q`` field says the questions were on the page,
    so a choice taken back is removed (docs/questions.md)."""
    questions = page.get("questions") or ()
    if not questions:
        return ""
    parts = ['<input type="hidden" name="q" value="1">']
    no_answer = _("No answer")
    for number, question in enumerate(questions):
        key = str(question["key"])
        name = f"q.{key}"
        text = escape(str(question.get("text") or ""))
        given = list(answers.get(key) or ())
        kind = question.get("type")
        if kind == "scale":
            low, high = (1, 5) if question.get("scale") == "1-5" else (0, 10)
            chosen = int(given[0]) if given and given[0].isdigit() else None
            parts.append(_scale(name, text, range(low, high + 1), chosen, ("", ""), required=False))
        elif kind == "free_response":
            field_id = f"q{number}"
            parts.append(
                f'<p><label for="{field_id}"><strong>{text}</strong></label>'
                f'<textarea id="{field_id}" name="{escape(name)}" maxlength="2000">'
                f"{escape(given[0] if given else '')}</textarea></p>"
            )
        else:
            many = kind == "select_many"
            options = [str(o) for o in question.get("options") or ()]
            labels = [str(o) for o in question.get("labels") or options]
            input_type = "checkbox" if many else "radio"
            rows = []
            if not many:
                empty = "" if given else " checked"
                rows.append(
                    f'<label><input type="radio" name="{escape(name)}" value=""{empty}>'
                    f"{escape(no_answer)}</label>"
                )
            for value, label in zip(options, labels, strict=False):
                checked = " checked" if value in given else ""
                field = f'type="{input_type}" name="{escape(name)}" value="{escape(value)}"'
                rows.append(f"<label><input {field}{checked}>{escape(label)}</label>")
            parts.append(f'<fieldset class="opts"><legend>{text}</legend>{"".join(rows)}</fieldset>')
    return "".join(parts)


def _script_string(text: str) -> str:
    """A JavaScript string literal that cannot close the script element."""
    return json.dumps(text).replace("<", "\\u003c")


def _auto_submit_script(sending: str) -> str:
    """Post the emailed choice once the page has been visible for a moment (never while hidden)."""
    return (
        "(function(){var f=document.getElementById('answer'),s=document.getElementById('status'),"
        "t=null,done=false;function go(){if(done)return;done=true;"
        f"s.textContent={_script_string(sending)};f.submit();}}"
        "function check(){if(document.visibilityState==='visible'){if(!t&&!done)"
        f"t=setTimeout(go,{AUTO_SUBMIT_DELAY_MS});}}else if(t){{clearTimeout(t);t=null;}}}}"
        "f.addEventListener('submit',function(){done=true;if(t)clearTimeout(t);});"
        "document.addEventListener('visibilitychange',check);check();})();"
    )


def _html_response(body: str, status: int, nonce: str) -> Response:
    headers = page_headers(nonce)
    return Response(body=body, status_code=status, headers=headers)


def survey_page(
    page: Mapping[str, Any],
    action: str,
    chosen: int | None,
    current: int | None,
    current_attrs: Mapping[str, int] | None = None,
    language: str = SOURCE,
) -> Response:
    """The question and its scale, in `language` throughout (`page` already localized).

    With a score `chosen` in the email, the page shows it selected and posts it automatically
    after a visible delay (a Send button does the same without script); a csi survey then asks
    for its attribute ratings on the thank-you page. Without one, the whole form is shown,
    `current` (an earlier answer) preselected, for a first answer or a change.
    """
    _ = translator(language)
    nonce = secrets.token_urlsafe(16)
    kind = Kind(page["kind"])
    question = escape(str(page["question"]))
    selected = chosen if chosen is not None else current
    parts = [f'<form method="post" action="{escape(action)}" id="answer">']
    parts.append(
        _scale("score", f"<h1>{question}</h1>", scale_points(kind), selected, _hints(page, kind, _), True)
    )
    script = ""
    if chosen is None:
        parts.append(_attribute_scales(page, current_attrs or {}, _))
    else:
        status = escape(_("You chose {score}. Press Send to record your answer.", score=chosen))
        parts.append(f'<p class="status" role="status" id="status">{status}</p>')
        script = _auto_submit_script(_("Sending your answer…"))
    send = _("Send")
    parts.append(f'<button type="submit">{escape(send)}</button></form>')
    brand_name = page.get("brand_name") or _("Survey")
    title = f"{brand_name}: {page['question']}"
    return _html_response(_document(title, page, "".join(parts), nonce, language, script), 200, nonce)


def thanks_page(
    page: Mapping[str, Any],
    action: str,
    score: int | None,
    comment: str | None,
    attrs: Mapping[str, int] | None = None,
    language: str = SOURCE,
    answers: Mapping[str, list[str]] | None = None,
) -> Response:
    """Thank-you, with the follow-up question (csi attribute ratings, additional questions) and
    a way to change: one form, one POST, no script needed."""
    _ = translator(language)
    nonce = secrets.token_urlsafe(16)
    follow_up = page.get("follow_up_question") or _("Anything you would like to add?")
    # The score goes in after escaping, so the catalog text stays plain text.
    answered = (
        "<p>" + escape(_("You answered {score}.")).replace("{score}", f"<strong>{score}</strong>") + "</p>"
        if score is not None
        else ""
    )
    # (Babel reads no calls inside f-strings: every text is translated outside them.)
    have_comment = _("We have your comment. You can change it below.")
    saved = f'<p class="status" role="status">{escape(have_comment)}</p>' if comment else ""
    details = ""
    if page.get("attributes"):
        rate_details = _("Would you rate a few details? Each is optional.")
        details = f'<p class="note">{escape(rate_details)}</p>' + _attribute_scales(page, attrs or {}, _)
    questions = _question_fields(page, answers or {}, _)
    if questions:
        more = _("A few more questions. Each is optional.")
        details += f'<p class="note">{escape(more)}</p>' + questions
    send = _("Send") if details else _("Send comment")
    thanks = _("Thank you!")
    change = _("Change your answer")
    body = (
        f'<h1 id="thanks">{escape(thanks)}</h1>'
        f"{answered}{saved}"
        f'<form method="post" action="{escape(action)}">{details}'
        f'<label for="comment"><strong>{escape(str(follow_up))}</strong></label>'
        f'<textarea id="comment" name="comment" maxlength="2000">{escape(comment or "")}</textarea>'
        f'<p><button type="submit">{escape(send)}</button></p></form>'
        f'<p class="note"><a href="{escape(action)}">{escape(change)}</a></p>'
    )
    return _html_response(_document(thanks, page, body, nonce, language), 200, nonce)


def unsubscribe_page(action: str, language: str = SOURCE) -> Response:
    """One button: a GET never unsubscribes (link scanners fetch every link), the click does."""
    _ = translator(language)
    nonce = secrets.token_urlsafe(16)
    title, question = _("Unsubscribe"), _("Unsubscribe from these surveys?")
    no_more = _("You will get no more survey emails from this sender.")
    body = (
        f"<h1>{escape(question)}</h1>"
        f'<p class="note">{escape(no_more)}</p>'
        f'<form method="post" action="{escape(action)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{escape(title)}</button></form>'
    )
    page = _document(title, {"brand_name": "Hark"}, body, nonce, language)
    return _html_response(page, 200, nonce)


def unsubscribed_page(language: str = SOURCE) -> Response:
    _ = translator(language)
    nonce = secrets.token_urlsafe(16)
    done = _("You are unsubscribed")
    no_more = _("You will get no more survey emails from this sender.")
    thanks = _("Thank you for letting us know.")
    body = f'<h1 id="done">{escape(done)}</h1><p role="status">{escape(no_more)} {escape(thanks)}</p>'
    page = _document(_("Unsubscribed"), {"brand_name": "Hark"}, body, nonce, language)
    return _html_response(page, 200, nonce)


ERROR_TEXT = {
    400: (
        N_("This link is damaged"),
        N_("The survey link looks incomplete or changed. Please open it again from your message."),
    ),
    404: (
        N_("Survey not found"),
        N_("We could not find this survey. The link may be wrong or the survey removed."),
    ),
    410: (N_("This survey has closed"), N_("Thanks for wanting to answer — this survey is no longer open.")),
    413: (N_("That was too long"), N_("Your answer was too long to send. Please shorten it and try again.")),
    429: (
        N_("One moment, please"),
        N_("We are receiving a lot of answers. Please try again in a few seconds."),
    ),
    503: (
        N_("One moment, please"),
        N_("We could not save your answer just now. Please try again in a few seconds."),
    ),
}
UNKNOWN_ERROR = (N_("Something is not right"), N_("Please try again."))
# A 400 about the answer itself (the error's code), said in the customer's language.
ANSWER_TEXT = {
    "score_required": N_("Choose a score first."),
    "invalid_score": N_("Please choose one of the numbers shown."),
    "invalid_attribute": N_("Please choose one of the numbers shown."),
    "comment_too_long": N_("Your comment is too long. Please shorten it."),
    "invalid_form": N_("Please answer with the buttons on the survey page."),
    "invalid_question": N_("Please choose one of the answers shown."),
    "answer_too_long": N_("Your answer was too long to send. Please shorten it and try again."),
}


OUT_OF_SCALE = N_("Please choose a whole number from {low} to {high}.")


def error_page(
    status: int,
    problem: str | None = None,
    back: str | None = None,
    language: str = SOURCE,
    values: Mapping[str, int] | None = None,
) -> Response:
    """A friendly page for a problem with a customer link: never a stack trace or JSON.

    `problem` (an answer error's code) replaces the text of a 400, with the scale's ends from
    `values` when it names them; `back` links to the form.
    """
    _ = translator(language)
    nonce = secrets.token_urlsafe(16)
    title, text = ERROR_TEXT.get(status, UNKNOWN_ERROR)
    if status == 400 and problem in ANSWER_TEXT:
        title, text = N_("Please check your answer"), ANSWER_TEXT[problem]
    if status == 400 and problem == "invalid_score" and values and {"low", "high"} <= set(values):
        text = _(OUT_OF_SCALE, low=values["low"], high=values["high"])
    else:
        text = _(text)
    title = _(title)
    back_text = _("Back to the question")
    link = f'<p><a href="{escape(back)}">{escape(back_text)}</a></p>' if back else ""
    body = f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{link}"
    response = _html_response(_document(title, {"brand_name": "Hark"}, body, nonce, language), status, nonce)
    if status in (429, 503):
        response.headers["Retry-After"] = "2"
    return response
