"""Who a tenant's emails come from (docs/sending.md, "The sender address"). No I/O.

One rule for every email Hark sends on a tenant's behalf (survey invitations, their reminders,
and replies to customers): the most specific `email_from` wins — the survey's own, then the
tenant's settings (`GET/PATCH /v1/settings`), then the deployment's `HARK_EMAIL_FROM` — and
`Reply-To` is the tenant's `reply_to` whichever address sends. An address must be a plain
address (no display name, nothing a mail header could be split on) and, when the deployment
names its SES identity (`HARK_SES_IDENTITY`), one SES lets it send from: that address, or an
address on that domain or a subdomain of it (a verified domain covers its subdomains).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SURVEY = "survey"
TENANT = "tenant"
DEPLOYMENT = "deployment"

# A dot-atom local part and a host name of letters, digits and hyphens (RFC 5321 limits): what
# SES accepts as a sender and every mail client shows as it is. No quoted local parts, no
# comments, no display names, no whitespace or line breaks.
_LOCAL = re.compile(r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TOP = re.compile(r"^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$")  # no all-digit top-level domain


@dataclass(frozen=True)
class SenderIdentity:
    """The `From` and `Reply-To` of a tenant's email, and which setting chose `From`."""

    email_from: str
    reply_to: str | None
    source: str  # SURVEY, TENANT or DEPLOYMENT


def resolve_sender(
    *,
    survey_from: str | None,
    tenant_from: str | None,
    tenant_reply_to: str | None,
    deployment_from: str | None,
) -> SenderIdentity | None:
    """The sender of one email: the survey's `email_from`, else the tenant's, else the
    deployment's; None when none is set (the send fails, saying so)."""
    reply_to = tenant_reply_to or None
    for source, address in ((SURVEY, survey_from), (TENANT, tenant_from), (DEPLOYMENT, deployment_from)):
        if address:
            return SenderIdentity(address, reply_to if reply_to != address else None, source)
    return None


def address_problem(address: str) -> str | None:
    """Why `address` cannot be a sender or reply-to address, or None."""
    if len(address) > 254:
        return "must be at most 254 characters"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "must be an email address such as surveys@example.com"
    if len(local) > 64 or not _LOCAL.match(local):
        return "must be a plain email address (letters, digits and . _ % + - before the @; no name or quotes)"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or not _TOP.match(labels[-1]):
        return "must end in a domain name such as example.com"
    return None


def identity_problem(address: str, identity: str | None) -> str | None:
    """Why SES, with only `identity` (a verified domain or address) to send from, would refuse
    `address` as a sender; None when it would not, or when no identity is configured."""
    if not identity:
        return None
    wanted = identity.strip().lower()
    address = address.lower()
    if "@" in wanted:
        return None if address == wanted else f"must be {wanted}, the SES identity this deployment sends from"
    domain = address.rpartition("@")[2]
    if domain == wanted or domain.endswith("." + wanted):
        return None
    return f"must be an address on {wanted}, the SES identity this deployment sends from"
