"""Conversion between Python values and DynamoDB attribute values."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dynamo(v) for v in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item from plain values (None values are left out)."""
    return {k: _serializer.serialize(_dynamo(v)) for k, v in values.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    serialized: dict[str, Any] = _serializer.serialize(_dynamo(value))
    return serialized


def from_item(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Plain Python values (ints, floats, str, dict, list, set) from a DynamoDB item."""
    if item is None:
        return None
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}
