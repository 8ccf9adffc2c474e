"""Erasing a customer (SPEC §4): every invitation and response of theirs, in every survey.

The items are found through the `by_customer` index (``<tenant>#<customer>``) and deleted;
each delete reaches the responses stream as a REMOVE made by us (not by TTL), so the
aggregator writes tombstones and the answers leave the scores within seconds (SPEC §6).
"""

from __future__ import annotations

from functions.domain.codes import CUSTOMER_ID_PATTERN
from functions.domain.errors import InvalidInput
from functions.store import responses as response_store


def erase_customer(tenant_id: str, customer_id: str) -> int:
    """Delete the customer's items in the tenant; the number deleted. Safe to repeat.

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
    codes = response_store.codes_of_customer(tenant_id, customer_id)
    return response_store.delete_items(codes)
