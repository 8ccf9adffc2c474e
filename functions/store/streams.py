"""The one decoder of the responses table's stream records (docs/architecture.md, "Pipeline").

A stream record carries the item before (`OldImage`) and after (`NewImage`) a change, as
DynamoDB attribute values. Every consumer (the aggregator, the webhook events, the follow-up
decision, the detractor metric) reads them here, as plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.store.items import from_item

Image = dict[str, Any]


def _image(body: Mapping[str, Any], which: str) -> Image | None:
    raw = body.get(which)
    return from_item(raw) if raw else None


def images(record: Mapping[str, Any]) -> tuple[Image | None, Image | None]:
    """(old, new) plain values of a Lambda-shaped stream record; None where it has no image.
    A record without its `dynamodb` body raises KeyError (a poison record)."""
    body = record["dynamodb"]
    return _image(body, "OldImage"), _image(body, "NewImage")


def new_image(record: Mapping[str, Any]) -> Image | None:
    """The item after the change, as plain values (None when the record has none)."""
    return _image(record.get("dynamodb") or {}, "NewImage")


def old_image(record: Mapping[str, Any]) -> Image | None:
    """The item before the change, as plain values (None when the record has none)."""
    return _image(record.get("dynamodb") or {}, "OldImage")
