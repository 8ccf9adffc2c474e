"""A reply to a customer's answer (docs/follow-ups.md): one person's email to one customer, no I/O.

Plain text first, with the same words as simple HTML (escaped, inline styles only), from the
tenant's sender. It is not bulk mail, but it still carries the unsubscribe link and the RFC 8058
headers, so a customer who would rather hear nothing more can say so in one click.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from functions.domain.email_message import addressed_message

SUBJECT_LENGTH = 120
MAX_BYTES = 100_000


@dataclass(frozen=True)
class ReplyEmail:
    sender: str
    to: str
    subject: str
    text: str
    brand_name: str
    unsubscribe_url: str
    reply_to: str | None = None


def subject_for(brand_name: str, question: str, chosen: str | None) -> str:
    """The reply's subject: the one asked for, else ``Re: <brand>: <question>``."""
    text = chosen or (f"Re: {brand_name}: {question}" if brand_name else f"Re: {question}")
    text = " ".join(text.split())
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1].rstrip() + "…"


def build_reply(mail: ReplyEmail) -> bytes:
    """The whole message as SES's Raw content takes it (RFC 5322, CRLF line ends)."""
    message = addressed_message(mail.sender, mail.to, mail.reply_to, mail.subject)
    message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    footer = f"Unsubscribe: {mail.unsubscribe_url}"
    message.set_content(f"{mail.text}\n\n-- \n{mail.brand_name}\n{footer}\n")
    paragraphs = "".join(
        f'<p style="margin:0 0 12px">{escape(p).replace(chr(10), "<br>")}</p>'
        for p in mail.text.split("\n\n")
    )
    message.add_alternative(
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1b1f24">'
        f'{paragraphs}<p style="margin:16px 0 0;color:#454c54">{escape(mail.brand_name)}</p>'
        f'<p style="font-size:12px;color:#454c54">'
        f'<a href="{escape(mail.unsubscribe_url)}">Unsubscribe</a></p>'
        "</body></html>",
        subtype="html",
    )
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    if len(raw) > MAX_BYTES:
        raise ValueError(f"the reply is {len(raw):,} bytes, over {MAX_BYTES:,}")
    return raw
