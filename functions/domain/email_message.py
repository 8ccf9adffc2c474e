"""The survey email (docs/sending.md): one MIME multipart/alternative message, no I/O.

Built for the mail clients people actually use: a table layout with inline styles only (Gmail
and Outlook drop <style> blocks and flexbox), no script, no images, no web fonts, a plain-text
part with the same links, a visible unsubscribe link, and RFC 8058 one-click unsubscribe
headers, which the large mailbox providers require of bulk senders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from functions.domain.languages import SOURCE, is_right_to_left
from functions.i18n import N_, Translate, translator

MAX_BYTES = 100_000
SUBJECT_LENGTH = 120
# Shown under the ends of the scale (the customer page's words, from the same catalogs).
SCALE_HINTS = {
    "nps": (N_("Not at all likely"), N_("Extremely likely")),
    "csat": (N_("Very unsatisfied"), N_("Very satisfied")),
    "ces": (N_("Very difficult"), N_("Very easy")),
}
REMINDER = N_("Reminder: {text}")


@dataclass(frozen=True)
class SurveyEmail:
    """One survey email, in `language` throughout (docs/languages.md): `question` and the
    survey's own scale ends (`scale_low`, `scale_high`, None for the catalog's) already in it."""

    sender: str
    to: str
    brand_name: str
    brand_color: str
    on_brand: str  # text colour on the brand colour (contrast checked by the caller)
    kind: str
    question: str
    url: str
    score_urls: Mapping[str, str]
    unsubscribe_url: str
    reminder: bool = False  # the one reminder to a customer who has not answered
    language: str = SOURCE
    scale_low: str | None = None
    scale_high: str | None = None
    reply_to: str | None = None  # the tenant's reply_to (functions/domain/sender.py)


def subject_of(mail: SurveyEmail) -> str:
    _ = translator(mail.language)
    text = f"{mail.brand_name}: {mail.question}" if mail.brand_name else mail.question
    text = " ".join((_(REMINDER, text=text) if mail.reminder else text).split())
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1].rstrip() + "…"


def _hints(mail: SurveyEmail, _: Translate) -> tuple[str, str]:
    """The scale's end labels: the survey's own in this language, else the catalog's."""
    if mail.kind not in SCALE_HINTS:
        return "", ""
    low, high = SCALE_HINTS[mail.kind]
    return mail.scale_low or _(low), mail.scale_high or _(high)


def _button(href: str, label: str, mail: SurveyEmail, width: str = "") -> str:
    size = f"width:{width};" if width else ""
    return (
        f'<td align="center" style="padding:2px;{size}">'
        f'<a href="{escape(href)}" style="display:block;padding:10px 0;{size}min-width:28px;'
        f"background:{mail.brand_color};color:{mail.on_brand};border-radius:4px;"
        'font:bold 16px Arial,Helvetica,sans-serif;text-decoration:none;text-align:center">'
        f"{escape(label)}</a></td>"
    )


def _buttons(mail: SurveyEmail, _: Translate, direction: str) -> str:
    # Every table carries the direction: mail clients that drop <html dir> still mirror the
    # layout (the scale runs in the reading direction, 0 at the right in Arabic, as on the page).
    table = f'<table role="presentation" dir="{direction}" cellpadding="0" cellspacing="0" border="0"'
    if mail.kind == "csi":  # several ratings: one button to the page that asks them
        row = _button(mail.url, _("Answer the survey"), mail, "220px")
        return f"{table}><tr>{row}</tr></table>"
    cells = "".join(_button(url, score, mail) for score, url in mail.score_urls.items())
    low, high = _hints(mail, _)
    start, end = ("right", "left") if direction == "rtl" else ("left", "right")
    hint = "font:12px Arial,Helvetica,sans-serif;color:#454c54;padding-top:4px"
    hints = (
        f'<tr><td align="{start}" style="{hint};text-align:start">{escape(low)}</td>'
        f'<td align="{end}" style="{hint};text-align:end">{escape(high)}</td></tr>'
    )
    return (
        f'{table} width="100%"><tr><td colspan="2">{table} width="100%"><tr>{cells}</tr></table>'
        f"</td></tr>{hints}</table>"
    )


def _footer(mail: SurveyEmail, _: Translate) -> str:
    if mail.brand_name:
        return _("You received this because of your recent experience with {brand}.", brand=mail.brand_name)
    return _("You received this because of a recent experience with this sender.")


def html_body(mail: SurveyEmail) -> str:
    _ = translator(mail.language)
    font = "font-family:Arial,Helvetica,sans-serif"
    direction = "rtl" if is_right_to_left(mail.language) else "ltr"
    lang = escape(mail.language)
    table = (
        f'<table role="presentation" dir="{direction}" width="100%" cellpadding="0" cellspacing="0" '
        'border="0"'
    )
    unsubscribe = _("Unsubscribe")
    return (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(subject_of(mail))}</title></head>"
        f'<body dir="{direction}" style="margin:0;padding:0;background:#f6f7f9">'
        f'<div lang="{lang}" dir="{direction}">'
        f'{table} style="background:#f6f7f9"><tr><td align="center" style="padding:16px 8px">'
        f'{table} style="max-width:560px;background:#ffffff">'
        f'<tr><td style="border-top:6px solid {mail.brand_color};padding:14px 20px;{font};font-size:16px;'
        f'font-weight:bold;color:#1b1f24;text-align:start">{escape(mail.brand_name)}</td></tr>'
        f'<tr><td style="padding:8px 20px 16px;{font};font-size:20px;line-height:1.4;color:#1b1f24;'
        f'text-align:start">{escape(mail.question)}</td></tr>'
        f'<tr><td style="padding:0 20px 20px">{_buttons(mail, _, direction)}</td></tr>'
        f'<tr><td style="padding:12px 20px 20px;{font};font-size:12px;color:#454c54;border-top:1px solid '
        f'#e3e6ea;text-align:start">{escape(_footer(mail, _))} '
        f'<a href="{escape(mail.unsubscribe_url)}" style="color:#0b57d0">{escape(unsubscribe)}</a></td></tr>'
        "</table></td></tr></table></div></body></html>"
    )


def text_body(mail: SurveyEmail) -> str:
    _ = translator(mail.language)
    lines = [mail.brand_name, "", mail.question, ""]
    if mail.kind == "csi":
        lines.append(_("Answer the survey: {url}", url=mail.url))
    else:
        low, high = _hints(mail, _)
        lines.append(
            _("Choose a score ({low} to {high}):", low=low, high=high) if low else _("Choose a score:")
        )
        lines += [f"  {score}: {url}" for score, url in mail.score_urls.items()]
    lines += ["", _footer(mail, _), _("Unsubscribe: {url}", url=mail.unsubscribe_url), ""]
    return "\n".join(lines)


def addressed_message(sender: str, to: str, reply_to: str | None, subject: str) -> EmailMessage:
    """A new message from `sender` to `to` (answers going to `reply_to`, if any), with its
    subject, its date and a Message-ID in the sender's domain."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    return message


def build_message(mail: SurveyEmail) -> bytes:
    """The whole message as SES's Raw content takes it (RFC 5322, CRLF line ends)."""
    message = addressed_message(mail.sender, mail.to, mail.reply_to, subject_of(mail))
    # Raw, and never refolded: the URL is one token longer than a folded line, which the email
    # package would otherwise turn into RFC 2047 encoded words that no mail client reads as
    # the RFC 8058 URL. One line of ~250 characters is within RFC 5322's 998.
    message.set_raw("List-Unsubscribe", f"<{mail.unsubscribe_url}>")
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text_body(mail))
    message.add_alternative(html_body(mail), subtype="html")
    # refold_source="none" leaves only that raw header as written: every other header was set
    # through the policy and folds as before.
    raw = message.as_bytes(policy=email_policy.default.clone(linesep="\r\n", refold_source="none"))
    if len(raw) > MAX_BYTES:  # a survey's texts are bounded; this guards the promise
        raise ValueError(f"the email is {len(raw):,} bytes, over {MAX_BYTES:,}")
    return raw
