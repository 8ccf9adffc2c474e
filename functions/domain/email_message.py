"""The survey email (docs/sending.md): one MIME multipart/alternative message, no I/O.

Built for the mail clients people actually use: a table layout with inline styles only (Gmail
and Outlook drop <style> blocks and flexbox), no script, no images, no web fonts, a plain-text
part with the same links, a visible unsubscribe link, and RFC 8058 one-click unsubscribe
headers, which the large mailbox providers require of bulk senders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

MAX_BYTES = 100_000
SUBJECT_LENGTH = 120
# Shown under the ends of the scale (as on the customer page).
SCALE_HINTS = {
    "nps": ("Not at all likely", "Extremely likely"),
    "csat": ("Very unsatisfied", "Very satisfied"),
    "ces": ("Very difficult", "Very easy"),
}


@dataclass(frozen=True)
class SurveyEmail:
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


def subject_of(mail: SurveyEmail) -> str:
    text = f"{mail.brand_name}: {mail.question}" if mail.brand_name else mail.question
    text = " ".join(("Reminder: " + text if mail.reminder else text).split())
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1].rstrip() + "…"


def _button(href: str, label: str, mail: SurveyEmail, width: str = "") -> str:
    size = f"width:{width};" if width else ""
    return (
        f'<td align="center" style="padding:2px;{size}">'
        f'<a href="{escape(href)}" style="display:block;padding:10px 0;{size}min-width:28px;'
        f"background:{mail.brand_color};color:{mail.on_brand};border-radius:4px;"
        'font:bold 16px Arial,Helvetica,sans-serif;text-decoration:none;text-align:center">'
        f"{escape(label)}</a></td>"
    )


def _buttons(mail: SurveyEmail) -> str:
    if mail.kind == "csi":  # several ratings: one button to the page that asks them
        row = _button(mail.url, "Answer the survey", mail, "220px")
        return f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>{row}</tr></table>'
    cells = "".join(_button(url, score, mail) for score, url in mail.score_urls.items())
    low, high = SCALE_HINTS.get(mail.kind, ("", ""))
    hints = (
        '<tr><td style="font:12px Arial,Helvetica,sans-serif;color:#454c54;padding-top:4px">'
        f'{escape(low)}</td><td align="right" style="font:12px Arial,Helvetica,sans-serif;color:#454c54;'
        f'padding-top:4px">{escape(high)}</td></tr>'
    )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td colspan="2"><table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'border="0"><tr>{cells}</tr></table></td></tr>{hints}</table>'
    )


def html_body(mail: SurveyEmail) -> str:
    font = "font-family:Arial,Helvetica,sans-serif"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(subject_of(mail))}</title></head>"
        '<body style="margin:0;padding:0;background:#f6f7f9">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f6f7f9"><tr><td align="center" style="padding:16px 8px">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:560px;background:#ffffff">'
        f'<tr><td style="border-top:6px solid {mail.brand_color};padding:14px 20px;{font};font-size:16px;'
        f'font-weight:bold;color:#1b1f24">{escape(mail.brand_name)}</td></tr>'
        f'<tr><td style="padding:8px 20px 16px;{font};font-size:20px;line-height:1.4;color:#1b1f24">'
        f"{escape(mail.question)}</td></tr>"
        f'<tr><td style="padding:0 20px 20px">{_buttons(mail)}</td></tr>'
        f'<tr><td style="padding:12px 20px 20px;{font};font-size:12px;color:#454c54;border-top:1px solid '
        f'#e3e6ea">You received this because of your recent experience with {escape(mail.brand_name)}. '
        f'<a href="{escape(mail.unsubscribe_url)}" style="color:#0b57d0">Unsubscribe</a></td></tr>'
        "</table></td></tr></table></body></html>"
    )


def text_body(mail: SurveyEmail) -> str:
    lines = [mail.brand_name, "", mail.question, ""]
    if mail.kind == "csi":
        lines.append(f"Answer the survey: {mail.url}")
    else:
        low, high = SCALE_HINTS.get(mail.kind, ("", ""))
        lines.append(f"Choose a score ({low} to {high}):" if low else "Choose a score:")
        lines += [f"  {score}: {url}" for score, url in mail.score_urls.items()]
    lines += ["", f"Unsubscribe: {mail.unsubscribe_url}", ""]
    return "\n".join(lines)


def build_message(mail: SurveyEmail) -> bytes:
    """The whole message as SES's Raw content takes it (RFC 5322, CRLF line ends)."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = subject_of(mail)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text_body(mail))
    message.add_alternative(html_body(mail), subtype="html")
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    if len(raw) > MAX_BYTES:  # a survey's texts are bounded; this guards the promise
        raise ValueError(f"the email is {len(raw):,} bytes, over {MAX_BYTES:,}")
    return raw
