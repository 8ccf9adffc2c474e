"""One-click unsubscribe links (docs/sending.md): `/u/{token}`, no session, no second step.

The token is the tenant, the address and the customer id sealed together (domain.sealing):
an email's unsubscribe link keeps working after Hark has deleted the address it sent to,
it names nothing a reader of the URL can see, and it cannot be forged or changed. The
unsubscribe lands on the tenant's list that Delighted's `Unsubscribe.all()` reads, and the
sender checks that list before every send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from functions.domain import languages, sealing
from functions.domain.errors import InvalidInput
from functions.logic import clock
from functions.settings import get_settings
from functions.store import people
from functions.store.parameters import signing_keys


@dataclass(frozen=True)
class Unsubscriber:
    tenant_id: str
    email: str
    customer_id: str
    language: str | None = None  # the invitation's, when the link came in one of its emails


def token_for(tenant_id: str, email: str, customer_id: str, language: str | None = None) -> str:
    """`language` is the language of the email the link is in (its invitation's): the
    unsubscribe pages speak it (docs/languages.md)."""
    fields = {"t": tenant_id, "e": email.lower(), "c": customer_id}
    if language:
        fields["l"] = language
    return sealing.seal(json.dumps(fields, separators=(",", ":")), signing_keys(), sealing.UNSUBSCRIBE)


def url_for(tenant_id: str, email: str, customer_id: str, language: str | None = None) -> str:
    return f"{get_settings().public_base_url}/u/{token_for(tenant_id, email, customer_id, language)}"


def read_token(token: str) -> Unsubscriber:
    """Who an unsubscribe token names; InvalidInput (a friendly 400 page) for anything else."""
    try:
        body = json.loads(sealing.open_sealed(token, signing_keys(), sealing.UNSUBSCRIBE))
        language = languages.canonical(str(body.get("l") or ""))
        return Unsubscriber(str(body["t"]), str(body["e"]), str(body["c"]), language)
    except (sealing.SealBroken, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("this unsubscribe link is not valid", code="invalid_token") from exc


def unsubscribe(token: str) -> Unsubscriber:
    """Record the unsubscribe (the first time is kept; repeating it is harmless)."""
    who = read_token(token)
    people.add_unsubscribe(who.tenant_id, who.email, who.customer_id, clock.iso(clock.now()))
    return who
