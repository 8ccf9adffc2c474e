"""One JSON parser for bodies from outside: what Python's parser accepts but Hark cannot hold
is refused as invalid_json, and nothing escapes as another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.json_input import MAX_DEPTH, MAX_SAFE_INTEGER, InvalidJson, parse_json
from tests import hostile

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    [
        hostile.nested(40_000),
        hostile.nested(40_000, "{"),
        "[" * 40_000,
        hostile.nested(MAX_DEPTH + 1),
        '"\\ud800"',
        '{"\\udfff": 1}',
        '["ok", {"a": "x\\udc00y"}]',
        "NaN",
        "[Infinity]",
        "-Infinity",
        "1e400",
        str(MAX_SAFE_INTEGER + 1),
        str(-MAX_SAFE_INTEGER - 1),
        "9" * 5_000,
        "",
        "{",
        "{'a': 1}",
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(InvalidJson) as caught:
        parse_json(text)
    assert caught.value.code == "invalid_json"


def test_invalid_utf8_bytes_are_refused() -> None:
    with pytest.raises(InvalidJson):
        parse_json(b'{"name": "\xff"}')


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (hostile.nested(MAX_DEPTH), json.loads(hostile.nested(MAX_DEPTH))),
        (str(MAX_SAFE_INTEGER), MAX_SAFE_INTEGER),
        ("-12", -12),
        ("1.5e10", 1.5e10),
        ('"\\ud83d\\ude00 \u202e"', "\U0001f600 \u202e"),  # a surrogate pair is one character
        ('{"a": [1, {"b": null}]}', {"a": [1, {"b": None}]}),
    ],
)
def test_accepted(text: str, value: object) -> None:
    assert parse_json(text) == value
    assert parse_json(text.encode()) == value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_everything_python_would_write_reads_back(value: object) -> None:
    assert parse_json(json.dumps(value)) == value


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_as_invalid_json(text: str) -> None:
    with contextlib.suppress(InvalidJson):
        parse_json(text)


@given(hostile.hostile_values)
def test_hostile_values_parse_to_storable_json_or_are_refused(raw: str) -> None:
    try:
        value = parse_json(raw)
    except InvalidJson:
        return
    json.dumps(value, allow_nan=False).encode("utf-8")  # storable and loggable
