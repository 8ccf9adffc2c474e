"""Parsing JSON from outside (request bodies, SNS messages): one parser, bounded.

Python's parser accepts things the rest of the system cannot hold, and one of them escapes as
an exception no handler expects (docs/security.md, "Crafted input"):
- nesting deep enough to exhaust the stack raises RecursionError, not ValueError;
- lone surrogates (``"\\ud800"``) parse, then fail to encode as UTF-8 when stored or logged;
- ``NaN`` and ``Infinity`` parse, and ``1e400`` becomes infinity;
- integers have no bound, though JSON peers (and DynamoDB's 38 digits) do.
Each is refused here as InvalidJson (400), so every caller gets the one error shape.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from functions.domain.errors import InvalidInput

MAX_DEPTH = 32  # Hark's deepest body (survey translations) is 5 levels
# RFC 7493 (I-JSON): integers beyond ±(2**53 − 1) are not exchanged reliably.
MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(InvalidInput):
    code = "invalid_json"


def _integer(text: str) -> int:
    if len(text) > 17:  # decided before int() parses thousands of digits
        raise InvalidJson(f"integers must lie within ±{MAX_SAFE_INTEGER}")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidJson(f"integers must lie within ±{MAX_SAFE_INTEGER}")
    return value


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson("numbers must be finite")
    return value


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not JSON")


def _check(value: Any) -> None:
    """Depth and lone surrogates, walked with a stack of its own (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise InvalidJson("the body holds a lone surrogate (\\ud800-\\udfff), which is not text")
        elif isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJson(f"JSON may nest at most {MAX_DEPTH} levels deep")
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            pending.extend((child, depth + 1) for child in children)


def parse_json(data: bytes | str) -> Any:
    """The JSON value in `data` (UTF-8 bytes or text), or InvalidJson saying what is wrong."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_int=_integer, parse_float=_number, parse_constant=_constant)
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson(f"JSON may nest at most {MAX_DEPTH} levels deep") from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidJson("the body is not valid UTF-8 JSON") from None
    _check(value)
    return value
