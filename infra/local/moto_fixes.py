"""A fix for the embedded emulator (moto 5.2.5), applied where we start it.

moto's TransactWriteItems snapshots a table for rollback once per *action*, deep-copying the
whole table each time: a 100-item transaction on a table of 10,000 items copies a million
items. The snapshots are all taken before any action runs, so they are identical: this keeps
the first snapshot of each table for the rest of the call. Semantics are unchanged (the
rollback restores the same state); only the cost drops from actions × table to table.
The product code never sees this: it only ever talks to `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_local = threading.local()


def _snapshot_once(table: Any, memo: dict[int, Any]) -> Any:
    snapshots: dict[int, Any] | None = getattr(_local, "snapshots", None)
    if snapshots is not None and id(table) in snapshots:
        return snapshots[id(table)]
    clone = object.__new__(type(table))
    memo[id(table)] = clone
    clone.__dict__.update(copy.deepcopy(table.__dict__, memo))
    if snapshots is not None:
        snapshots[id(table)] = clone
    return clone


def apply() -> None:
    """Install the fix (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "_hark_fixed", False):
        return
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _local.snapshots = {}
        try:
            original(self, transact_items)
        finally:
            _local.snapshots = None

    transact_write_items._hark_fixed = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.__deepcopy__ = _snapshot_once  # type: ignore[attr-defined]
