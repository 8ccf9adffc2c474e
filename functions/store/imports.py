"""Imported answers in the responses table: one item per imported response, written once.

An imported response is stored exactly like an invitation that was answered (same item, same
attributes), so scores, exports and erasure treat it like any other; it also carries an
``imported`` map (source, original id, permalink, tags, notes). Its INSERT on the stream
gives the aggregator the invitation and the answer at once.

Writing is two steps. First every code is looked up (BatchGetItem, 100 keys a call, strongly
consistent): codes are derived from the rows, so what a previous run wrote is found and left
alone. Then the rest are written with BatchWriteItem (25 items a call, 16 calls in flight).
Both steps cost a fraction of one request per row, which is what makes re-running an
import of a million rows cheap; the code derivation, not a write condition, is what makes it
idempotent (a concurrent run of the same import writes the same item again, which DynamoDB
does not even report on the stream).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from functions.domain.survey import Invitation
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.items import from_item, to_value
from functions.store.responses import WRITE_WORKERS, invitation_to_item

IMPORTED = "imported"
PRESENT = "present"
THROTTLED = "throttled"
TAKEN = "taken"  # the code belongs to something else (a collision): never overwritten
BATCH_GET = 100
BATCH_WRITE = 25
WRITE_ATTEMPTS = 8


def _table() -> str:
    return get_settings().responses_table


@dataclass(frozen=True)
class ImportItem:
    """An answered invitation to write, with where it came from."""

    invitation: Invitation
    source: Mapping[str, str]  # source, response_id and any permalink / tags / notes
    purge_at: int | None


def imported_item(item: ImportItem) -> dict[str, Any]:
    inv = item.invitation
    assert inv.score is not None and inv.first_answered_at and inv.answered_at
    raw = invitation_to_item(inv, item.purge_at)
    raw["score"] = to_value(inv.score)
    raw["scored_at"] = to_value(inv.scored_at_ms)
    raw["first_answered_at"] = to_value(inv.first_answered_at)
    raw["answered_at"] = to_value(inv.answered_at)
    raw["answer_sk"] = to_value(f"{inv.first_answered_at}#{inv.code}")
    raw[IMPORTED] = to_value(dict(item.source))
    if inv.comment:
        raw["comment"] = to_value(inv.comment)
    if inv.answers:
        raw["qa"] = to_value({key: list(values) for key, values in inv.answers.items()})
    return raw


def _same_import(old: Mapping[str, Any], item: ImportItem) -> bool:
    source = old.get(IMPORTED) or {}
    return bool(
        old.get("survey_id") == item.invitation.survey_id
        and source.get("source") == item.source.get("source")
        and source.get("response_id") == item.source.get("response_id")
    )


def find_present(items: Sequence[ImportItem]) -> dict[str, bool]:
    """Which codes already hold an item: code → True when it is this very import."""
    by_code = {item.invitation.code: item for item in items}
    codes = list(by_code)
    found: dict[str, bool] = {}
    for start in range(0, len(codes), BATCH_GET):
        request: dict[str, Any] = {
            _table(): {
                "Keys": [{"pk": {"S": code}} for code in codes[start : start + BATCH_GET]],
                "ProjectionExpression": "pk, survey_id, #imp",
                "ExpressionAttributeNames": {"#imp": IMPORTED},
                "ConsistentRead": True,
            }
        }
        while request:
            out = dynamo.request("batch_get_item", RequestItems=request)
            for raw in out.get("Responses", {}).get(_table(), []):
                old = from_item(raw)
                assert old is not None
                found[old["pk"]] = _same_import(old, by_code[old["pk"]])
            request = out.get("UnprocessedKeys") or {}
    return found


def _write_chunk(chunk: Sequence[ImportItem]) -> dict[str, str]:
    """One BatchWriteItem of up to 25 items; unprocessed items are retried with back-off.

    Returns code → ``imported``, or ``throttled`` for items still unprocessed at the end.
    """
    pending = {item.invitation.code: {"PutRequest": {"Item": imported_item(item)}} for item in chunk}
    outcomes: dict[str, str] = {}
    for attempt in range(WRITE_ATTEMPTS):
        if attempt:
            time.sleep(min(0.05 * 2**attempt, 2.0))
        try:
            out = dynamo.request("batch_write_item", RequestItems={_table(): list(pending.values())})
        except dynamo.Busy:
            continue  # botocore already retried the call itself; back off and send it again
        left = {
            request["PutRequest"]["Item"]["pk"]["S"]
            for request in (out.get("UnprocessedItems") or {}).get(_table(), [])
        }
        outcomes.update({code: IMPORTED for code in pending if code not in left})
        pending = {code: request for code, request in pending.items() if code in left}
        if not pending:
            break
    outcomes.update({code: THROTTLED for code in pending})
    return outcomes


def write_imported(
    items: Sequence[ImportItem], on_done: Callable[[int], None] | None = None
) -> dict[str, str]:
    """Write items not yet present, 25 a call and 16 calls in flight; code → outcome.

    `on_done(n)` is called as each call finishes, with the number of items it settled.
    """
    chunks = [items[i : i + BATCH_WRITE] for i in range(0, len(items), BATCH_WRITE)]
    outcomes: dict[str, str] = {}
    if not chunks:
        return outcomes
    with ThreadPoolExecutor(max_workers=min(WRITE_WORKERS, len(chunks))) as pool:
        for future in as_completed([pool.submit(_write_chunk, chunk) for chunk in chunks]):
            done = future.result()
            outcomes.update(done)
            if on_done is not None:
                on_done(len(done))
    return outcomes
