"""Erasing a customer: everything held about them in the tenant (docs/security.md, "Erasure").

- invitations and responses in every survey: found through the `by_customer` index
  (``<tenant>#<customer>``) and deleted; each delete reaches the responses stream as a REMOVE
  made by us (not by TTL), so the aggregator writes tombstones and the answers leave the scores
  within seconds;
- the person record of the Delighted-compatible API (name, email, phone);
- the unsubscribe and bounce lists keep the suppression but only as the keyed hash of the
  address: the address and customer id beside it go, whether erasure names the address (the
  customer id is an email, or the Delighted person had one) or not (the rows recorded for the
  customer id, found by walking the tenant's two lists).

What cannot be erased item by item (the stream's 24 hours, queued webhook deliveries, failed
stream records) expires on its own bounded retention, listed in docs/security.md.
"""

from __future__ import annotations

from functions.domain.codes import CUSTOMER_ID_PATTERN
from functions.domain.errors import InvalidInput
from functions.store import people as people_store
from functions.store import responses as response_store


def erase_customer(tenant_id: str, customer_id: str) -> int:
    """Erase the customer in the tenant; the number of invitations deleted. Safe to repeat.

    Another tenant's customer with the same id is untouched: the index key holds the tenant.
    The index is eventually consistent: an invitation created within about a second before
    the call may be missed; calling again erases it.
    """
    if not CUSTOMER_ID_PATTERN.match(customer_id):
        raise InvalidInput(
            "customer_id must be 1 to 128 letters, digits or . @ + - : _",
            field="customer_id",
            code="invalid_customer_id",
        )
    person = people_store.get_people(tenant_id, {customer_id}).get(customer_id)
    codes = response_store.codes_of_customer(tenant_id, customer_id)
    erased = response_store.delete_items(codes)
    emails = {customer_id.lower()} if "@" in customer_id else set()
    if person and person.get("email"):
        emails.add(str(person["email"]).lower())
    for email in sorted(emails):
        people_store.forget_unsubscribed_address(tenant_id, email)
        people_store.forget_bounced_address(tenant_id, email)
    people_store.forget_contact_of(tenant_id, customer_id)
    # Last: a failure above leaves the person findable, so calling again finishes the job.
    people_store.delete_person(tenant_id, customer_id)
    return erased
